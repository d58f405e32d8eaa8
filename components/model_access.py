"""ModelAccess: the walkthrough's `aws iam attach-role-policy`, without copying a role name by hand.

TensorFlow Serving reads the model from S3 with the node's credentials (the walkthrough notes
that IAM roles for service accounts do not work with it), so the grant goes to the node role.
`bucket` (default) lets the nodes list the model prefix and read the objects under it, nothing
else; `all` attaches `AmazonS3ReadOnlyAccess`, exactly as the walkthrough does. When the model's
objects are encrypted with a customer-managed KMS key (SSE-KMS), the nodes also get `kms:Decrypt`
on that key, and only through S3 in the key's region (`kms:ViaService`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

S3_READ_ONLY_POLICY = "AmazonS3ReadOnlyAccess"


@dataclass(frozen=True)
class ModelAccessArgs:
    role_name: pulumi.Input[str]
    """The node role that TensorFlow Serving's credentials come from."""
    bucket: str
    prefix: str
    """The model's folder in the bucket, without leading or trailing '/'."""
    mode: str = "bucket"
    """`bucket` or `all`."""
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


class ModelAccess(pulumi.ComponentResource):
    policy_arn: pulumi.Output[str]
    """ARN of the policy attached to the node role."""

    def __init__(self, name: str, args: ModelAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-inferentia:index:ModelAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        partition = aws.get_partition_output().partition

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
                aws.iam.RolePolicyAttachment(f"{name}-attach-decrypt", role=args.role_name, policy_arn=decrypt.arn,
                                             opts=child)
        else:
            policy_arn = aws.iam.Policy(
                f"{name}-read-model",
                description=f"Read the model under s3://{args.bucket}/{args.prefix}/",
                policy=partition.apply(lambda p: model_read_policy(p, args.bucket, args.prefix, args.kms_key_arn)),
                tags=args.tags,
                opts=child,
            ).arn

        aws.iam.RolePolicyAttachment(f"{name}-attach", role=args.role_name, policy_arn=policy_arn, opts=child)
        self.policy_arn = policy_arn
        self.register_outputs({"policy_arn": self.policy_arn})
