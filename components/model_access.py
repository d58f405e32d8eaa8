"""ModelAccess: the walkthrough's `aws iam attach-role-policy`, without copying a role name by hand.

TensorFlow Serving reads the model from S3 with the node's credentials (the walkthrough notes
that IAM roles for service accounts do not work with it), so the grant goes to the node role.
`bucket` (default) lets the nodes list the model prefix and read the objects under it, nothing
else; `all` attaches `AmazonS3ReadOnlyAccess`, exactly as the walkthrough does.
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
    tags: dict[str, str] = field(default_factory=dict)


def model_read_policy(partition: str, bucket: str, prefix: str) -> str:
    """IAM policy document: list `prefix` of `bucket` and read the objects below it."""
    bucket_arn = f"arn:{partition}:s3:::{bucket}"
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
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
        ],
    }, indent=2)


class ModelAccess(pulumi.ComponentResource):
    policy_arn: pulumi.Output[str]
    """ARN of the policy attached to the node role."""

    def __init__(self, name: str, args: ModelAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-inferentia:index:ModelAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        partition = aws.get_partition_output().partition

        if args.mode == "all":
            policy_arn = pulumi.Output.concat("arn:", partition, ":iam::aws:policy/", S3_READ_ONLY_POLICY)
        else:
            policy_arn = aws.iam.Policy(
                f"{name}-read-model",
                description=f"Read the model under s3://{args.bucket}/{args.prefix}/",
                policy=partition.apply(lambda p: model_read_policy(p, args.bucket, args.prefix)),
                tags=args.tags,
                opts=child,
            ).arn

        aws.iam.RolePolicyAttachment(f"{name}-attach", role=args.role_name, policy_arn=policy_arn, opts=child)
        self.policy_arn = policy_arn
        self.register_outputs({"policy_arn": self.policy_arn})
