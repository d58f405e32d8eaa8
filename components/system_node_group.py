"""SystemNodeGroup: a small CPU node group for CoreDNS, the Neuron scheduler and other add-ons.

With it, the Neuron nodes can carry the `aws.amazon.com/neuron=true:NoSchedule` taint, so no
CPU-only pod takes the memory and CPU that serving pods on a paid accelerator need. Runs the
EKS-optimized Amazon Linux 2023 AMI across all private subnets, with the same IMDSv2-only,
encrypted-root launch template as the Neuron nodes. Its metadata hop limit is always 1 (the EKS
best practice): what runs here and calls AWS with the node role (the VPC CNI's aws-node,
kube-proxy, the Pod Identity Agent) is hostNetwork, and CoreDNS and the Neuron scheduler call no
AWS API; serving pods, the only ones that may use the node role, never run here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.node_group import NODE_ROLE_LABEL
from components.node_parts import node_launch_template, node_role

STANDARD_AMI_TYPE = "AL2023_x86_64_STANDARD"
ROOT_VOLUME_GIB = 50


@dataclass(frozen=True)
class SystemNodeGroupArgs:
    cluster_name: pulumi.Input[str]
    """Name of the EKS cluster the nodes join."""
    kubernetes_version: str
    instance_type: str
    """A CPU instance type, e.g. m6i.large."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets, across zones."""
    nodes: int
    """Desired and minimum size; the maximum is one more, for node group updates."""
    tags: dict[str, str] = field(default_factory=dict)


class SystemNodeGroup(pulumi.ComponentResource):
    node_group_name: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: SystemNodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-inferentia:index:SystemNodeGroup", name, None, opts)
        role, attachments = node_role(
            name, pulumi.Output.concat("System nodes of EKS cluster ", args.cluster_name), args.tags, self)
        launch_template = node_launch_template(
            name, f"System nodes ({args.instance_type}) of EKS managed node group {name}",
            f"{name}-{args.instance_type}", ROOT_VOLUME_GIB, args.tags, self)
        node_group = aws.eks.NodeGroup(
            f"{name}-ng",
            cluster_name=args.cluster_name,
            node_role_arn=role.arn,
            subnet_ids=args.subnet_ids,
            instance_types=[args.instance_type],
            ami_type=STANDARD_AMI_TYPE,
            version=args.kubernetes_version,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                desired_size=args.nodes, min_size=args.nodes, max_size=args.nodes + 1,
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=launch_template.id, version=launch_template.latest_version.apply(str),
            ),
            labels={NODE_ROLE_LABEL: "system"},
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=attachments),
        )
        self.node_group_name = node_group.node_group_name
        self.node_role_arn = role.arn
        self.register_outputs({"node_group_name": self.node_group_name, "node_role_arn": self.node_role_arn})
