"""Parts both node groups share: the node IAM role and the launch template.

Not a component: `InferentiaNodeGroup` and `SystemNodeGroup` call these with themselves as parent.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

# Policies every EKS node needs (join the cluster, pod networking, pull images) plus SSM,
# so operators reach nodes through Session Manager instead of SSH.
NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
    "AmazonSSMManagedInstanceCore",
)
# IMDSv2 tokens are always required. A hop limit of 1 answers the host and host-network pods only
# (the VPC CNI, kube-proxy and the Pod Identity Agent are all hostNetwork): pods in their own network
# namespace are one hop further and get no token, so no node credentials. Under modelAccess
# `node-role` the serving pods read the model with the node role, so the Neuron nodes answer them: 2.
IMDS_HOP_LIMIT = 1
NODE_ROLE_IMDS_HOP_LIMIT = 2


def node_role(name: str, description: pulumi.Input[str], tags: dict[str, str],
              parent: pulumi.Resource) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    """An EC2 role with `NODE_POLICIES`; the attachments, for node groups to wait on."""
    child = pulumi.ResourceOptions(parent=parent)
    partition = aws.get_partition_output().partition
    role = aws.iam.Role(
        f"{name}-node-role",
        assume_role_policy=aws.iam.get_policy_document_output(statements=[
            aws.iam.GetPolicyDocumentStatementArgs(
                actions=["sts:AssumeRole"],
                principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(
                    type="Service", identifiers=["ec2.amazonaws.com"])],
            )
        ]).json,
        description=description,
        tags=tags,
        opts=child,
    )
    attachments = [
        aws.iam.RolePolicyAttachment(
            f"{name}-{policy}",
            role=role.name,
            policy_arn=pulumi.Output.concat("arn:", partition, ":iam::aws:policy/", policy),
            opts=child,
        )
        for policy in NODE_POLICIES
    ]
    return role, attachments


def node_launch_template(name: str, description: str, instance_name: str, root_volume_gib: int,
                         tags: dict[str, str], parent: pulumi.Resource, key_name: pulumi.Input[str] | None = None,
                         security_group_ids: Sequence[pulumi.Input[str]] = (),
                         imds_hop_limit: int = IMDS_HOP_LIMIT) -> aws.ec2.LaunchTemplate:
    """IMDSv2 only (hop limit 1 unless told), an encrypted gp3 root volume, instances named `instance_name`."""
    return aws.ec2.LaunchTemplate(
        f"{name}-lt",
        description=description,
        key_name=key_name,
        vpc_security_group_ids=list(security_group_ids) or None,
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled",
            http_tokens="required",
            http_put_response_hop_limit=imds_hop_limit,
        ),
        block_device_mappings=[aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
            device_name="/dev/xvda",
            ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                volume_size=root_volume_gib, volume_type="gp3", encrypted="true", delete_on_termination="true",
            ),
        )],
        tag_specifications=[aws.ec2.LaunchTemplateTagSpecificationArgs(
            resource_type="instance", tags={"Name": instance_name, **tags},
        )],
        update_default_version=True,
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
