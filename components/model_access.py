"""ModelAccess: who may read the model from S3, and how much of S3.

Two ways (`modelAccess`):
- `pod-identity` (default): an IAM role of the model's own, trusted by EKS Pod Identity
  (`pods.eks.amazonaws.com`, `sts:AssumeRole` and `sts:TagSession`, as the EKS user guide's
  "Create IAM role with trust policy required by EKS Pod Identity" gives it) and only for the
  session tags EKS Pod Identity sets for this cluster, namespace and ServiceAccount
  (`aws:RequestTag/eks-cluster-arn`, `kubernetes-namespace`, `kubernetes-service-account`: the
  documented condition keys; `aws:SourceAccount`/`aws:SourceArn` are documented for the cluster
  role's `eks.amazonaws.com`, not for Pod Identity, so they are not used). An
  `aws.eks.PodIdentityAssociation` binds it to the serving ServiceAccount; the EKS webhook then
  injects `AWS_CONTAINER_CREDENTIALS_FULL_URI` (the node's Pod Identity Agent,
  http://169.254.170.23/v1/credentials) and `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (a projected
  ServiceAccount token, audience `pods.eks.amazonaws.com`) into pods created *after* the
  association exists: `association` is what the serving Deployment waits for. The node role gets
  no S3 access at all.
- `node-role`: the walkthrough's `aws iam attach-role-policy` on the node role, which every pod on
  the Neuron nodes can use through the instance metadata service.

Either way, `s3Access: bucket` (default) lets the role list the model prefix and read the objects
under it, nothing else; `all` attaches `AmazonS3ReadOnlyAccess`, exactly as the walkthrough does.
When the model's objects are encrypted with a customer-managed KMS key (SSE-KMS), the role also
gets `kms:Decrypt` on that key, and only through S3 in the key's region (`kms:ViaService`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

S3_READ_ONLY_POLICY = "AmazonS3ReadOnlyAccess"
POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"


@dataclass(frozen=True)
class ModelAccessArgs:
    node_role_name: pulumi.Input[str]
    """The Neuron node role; it gets the grant only under `node-role`."""
    cluster_name: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    namespace: str
    """Namespace of the serving ServiceAccount."""
    service_account: str
    """Name of the serving ServiceAccount: the only one the model's role is for."""
    bucket: str
    prefix: str
    """The model's folder in the bucket, without leading or trailing '/'."""
    mode: str = "bucket"
    """`bucket` or `all`."""
    access: str = "pod-identity"
    """`pod-identity` (a role for the serving ServiceAccount) or `node-role`."""
    kms_key_arn: str | None = None
    """The KMS key that encrypts the model's objects, if it is a customer-managed one."""
    tags: dict[str, str] = field(default_factory=dict)


_DNS_SUFFIX = {"aws-cn": "amazonaws.com.cn"}


def decrypt_statement(kms_key_arn: str) -> dict:
    """kms:Decrypt on the model's key, only for requests S3 makes in the key's region."""
    _, partition, _, region, *_ = kms_key_arn.split(":")
    return {
        "Sid": "DecryptModelObjects",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": kms_key_arn,
        "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.{_DNS_SUFFIX.get(partition, 'amazonaws.com')}"}},
    }


def model_read_policy(partition: str, bucket: str, prefix: str, kms_key_arn: str | None = None) -> str:
    """IAM policy document: list `prefix` of `bucket`, read the objects below it, decrypt them if need be."""
    bucket_arn = f"arn:{partition}:s3:::{bucket}"
    statements = [
        {
            "Sid": "ListModelPrefix",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}/*"]}},
        },
        {
            "Sid": "ReadModelObjects",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"{bucket_arn}/{prefix}/*",
        },
    ]
    if kms_key_arn:
        statements.append(decrypt_statement(kms_key_arn))
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2)


def pod_identity_trust_policy(cluster_arn: str, namespace: str, service_account: str,
                              sid: str = "EksPodIdentityForTheServingServiceAccount") -> str:
    """Trust policy of a Pod Identity role (the model's; KEDA's; Karpenter's): for one ServiceAccount of one cluster only."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": POD_IDENTITY_PRINCIPAL},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {
            "aws:RequestTag/eks-cluster-arn": cluster_arn,
            "aws:RequestTag/kubernetes-namespace": namespace,
            "aws:RequestTag/kubernetes-service-account": service_account,
        }},
    }]}, indent=2)


class ModelAccess(pulumi.ComponentResource):
    policy_arn: pulumi.Output[str]
    """ARN of the policy that grants the model's S3 access."""
    role_arn: pulumi.Output[str]
    """ARN of the model's own role under `pod-identity`; empty under `node-role`."""
    association: aws.eks.PodIdentityAssociation | None
    """The Pod Identity association (None under `node-role`): serving pods must be created after it."""

    def __init__(self, name: str, args: ModelAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-inferentia:index:ModelAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        partition = aws.get_partition_output().partition

        self.association = None
        role_name: pulumi.Input[str] = args.node_role_name
        self.role_arn = pulumi.Output.from_input("")
        if args.access == "pod-identity":
            role = aws.iam.Role(
                f"{name}-role",
                description=pulumi.Output.concat(
                    "Reads the model for ServiceAccount ", args.namespace, "/", args.service_account,
                    " of EKS cluster ", args.cluster_name, " (EKS Pod Identity)"),
                assume_role_policy=pulumi.Output.from_input(args.cluster_arn).apply(
                    lambda arn: pod_identity_trust_policy(arn, args.namespace, args.service_account)),
                tags=args.tags,
                opts=child,
            )
            role_name = role.name
            self.role_arn = role.arn

        attachments: list[aws.iam.RolePolicyAttachment] = []
        if args.mode == "all":
            policy_arn = pulumi.Output.concat("arn:", partition, ":iam::aws:policy/", S3_READ_ONLY_POLICY)
            if args.kms_key_arn:
                # AmazonS3ReadOnlyAccess has no KMS permissions: decrypting needs a policy of its own.
                decrypt = aws.iam.Policy(
                    f"{name}-decrypt-model",
                    description="Decrypt the model's objects through S3",
                    policy=json.dumps({"Version": "2012-10-17", "Statement": [decrypt_statement(args.kms_key_arn)]},
                                      indent=2),
                    tags=args.tags,
                    opts=child,
                )
                attachments.append(aws.iam.RolePolicyAttachment(
                    f"{name}-attach-decrypt", role=role_name, policy_arn=decrypt.arn, opts=child))
        else:
            policy_arn = aws.iam.Policy(
                f"{name}-read-model",
                description=f"Read the model under s3://{args.bucket}/{args.prefix}/",
                policy=partition.apply(lambda p: model_read_policy(p, args.bucket, args.prefix, args.kms_key_arn)),
                tags=args.tags,
                opts=child,
            ).arn

        attachments.append(aws.iam.RolePolicyAttachment(f"{name}-attach", role=role_name, policy_arn=policy_arn,
                                                        opts=child))
        if args.access == "pod-identity":
            # Created once the role can read the model, so the first pod's credentials already can.
            self.association = aws.eks.PodIdentityAssociation(
                f"{name}-pod-identity",
                cluster_name=args.cluster_name,
                namespace=args.namespace,
                service_account=args.service_account,
                role_arn=self.role_arn,
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=attachments),
            )
        self.policy_arn = policy_arn
        self.register_outputs({"policy_arn": self.policy_arn, "role_arn": self.role_arn})
