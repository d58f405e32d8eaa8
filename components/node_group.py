"""InferentiaNodeGroup: the walkthrough's `ng-inf1` node group, as an EKS managed node group.

Runs `instance_type` on the EKS-optimized Amazon Linux 2023 Neuron AMI (AMI type
`AL2023_x86_64_NEURON`: Neuron driver and runtime on the host), in the private subnets of
zones that offer the type. `pulumi_eks.ManagedNodeGroup` cannot be used: it builds its own
launch template and fails on the Neuron AMI type ("Cannot determine OS of unknown AMI type",
pulumi/pulumi-eks#1561), so this uses `aws.eks.NodeGroup` with a launch template of ours.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.node_parts import IMDS_HOP_LIMIT, NODE_ROLE_IMDS_HOP_LIMIT, node_launch_template, node_role
from eks_inferentia.capacity import NODE_ROOT_VOLUME_GIB

NEURON_AMI_TYPE = "AL2023_x86_64_NEURON"
# Neuron DLC images are several GiB each, and the pods' model volumes live here too (the capacity rules count them).
ROOT_VOLUME_GIB = NODE_ROOT_VOLUME_GIB
# With a system node group, Neuron nodes carry this taint so only accelerator work lands on them.
NEURON_TAINT = aws.eks.NodeGroupTaintArgs(key="aws.amazon.com/neuron", value="true", effect="NO_SCHEDULE")
NODE_ROLE_LABEL = "eks-inferentia/role"


@dataclass(frozen=True)
class InferentiaNodeGroupArgs:
    cluster_name: pulumi.Input[str]
    """Name of the EKS cluster the nodes join."""
    kubernetes_version: str
    instance_type: str
    """A Neuron instance type (inf1, inf2, trn1, trn1n, trn2)."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Candidate private subnets; only those in `zones` are used."""
    zones: Sequence[str]
    """Zones that offer `instance_type`."""
    vpc_id: pulumi.Input[str]
    cluster_security_group_id: pulumi.Input[str]
    """The EKS-created cluster security group; nodes must carry it to reach the control plane."""
    desired_nodes: int
    min_nodes: int
    max_nodes: int
    capacity_type: str = "ON_DEMAND"
    ssh_public_key: str | None = None
    ssh_allowed_cidrs: Sequence[str] = ()
    dedicated: bool = False
    """Taint the nodes `aws.amazon.com/neuron=true:NoSchedule` (only when other nodes run CoreDNS and add-ons)."""
    pods_use_node_role: bool = False
    """Serving pods read the model with the node role (modelAccess `node-role`): IMDS answers pods (hop limit 2)."""
    tags: dict[str, str] = field(default_factory=dict)


def subnets_in_zones(subnet_ids: Sequence[str], zones: Sequence[str]) -> pulumi.Output[list[str]]:
    """The subnets among `subnet_ids` whose zone is in `zones`; fails when none is."""
    lookups = [aws.ec2.get_subnet_output(id=subnet_id) for subnet_id in subnet_ids]

    def keep(subnet_zones: list[str]) -> list[str]:
        kept = [subnet for subnet, zone in zip(subnet_ids, subnet_zones, strict=True) if zone in zones]
        if not kept:
            raise ValueError(
                f"none of the private subnets {list(subnet_ids)} is in a zone offering the instance type "
                f"({', '.join(zones)}); add a private subnet in one of those zones"
            )
        return kept

    return pulumi.Output.all(*[lookup.availability_zone for lookup in lookups]).apply(keep)


class InferentiaNodeGroup(pulumi.ComponentResource):
    node_group_name: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]
    node_role_name: pulumi.Output[str]
    subnet_ids: pulumi.Output[list[str]]
    launch_template_id: pulumi.Output[str]

    def __init__(self, name: str, args: InferentiaNodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-inferentia:index:InferentiaNodeGroup", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role, attachments = node_role(
            name, pulumi.Output.concat("Neuron nodes of EKS cluster ", args.cluster_name), args.tags, self)

        security_group_ids: list[pulumi.Input[str]] = []
        key_name: pulumi.Output[str] | None = None
        if args.ssh_public_key is not None:
            key_name = aws.ec2.KeyPair(
                f"{name}-ssh", public_key=args.ssh_public_key, tags=args.tags, opts=child
            ).key_name
            ipv4 = [c for c in args.ssh_allowed_cidrs if ipaddress.ip_network(c, strict=False).version == 4]
            ipv6 = [c for c in args.ssh_allowed_cidrs if ipaddress.ip_network(c, strict=False).version == 6]
            ssh = aws.ec2.SecurityGroup(
                f"{name}-ssh",
                vpc_id=args.vpc_id,
                description="SSH to Neuron nodes from sshAllowedCidrs only",
                ingress=[aws.ec2.SecurityGroupIngressArgs(
                    description="SSH", protocol="tcp", from_port=22, to_port=22,
                    cidr_blocks=ipv4 or None, ipv6_cidr_blocks=ipv6 or None,
                )],
                tags=args.tags,
                opts=child,
            )
            # Naming any security group in a launch template replaces EKS' default, so name the cluster's too.
            security_group_ids = [args.cluster_security_group_id, ssh.id]

        launch_template = node_launch_template(
            name, f"Neuron nodes ({args.instance_type}) of EKS managed node group {name}",
            f"{name}-{args.instance_type}", ROOT_VOLUME_GIB, args.tags, self,
            key_name=key_name, security_group_ids=security_group_ids,
            imds_hop_limit=NODE_ROLE_IMDS_HOP_LIMIT if args.pods_use_node_role else IMDS_HOP_LIMIT)

        self.subnet_ids = pulumi.Output.from_input(args.subnet_ids).apply(
            lambda ids: subnets_in_zones(ids, args.zones))
        node_group = aws.eks.NodeGroup(
            f"{name}-ng",
            cluster_name=args.cluster_name,
            node_role_arn=role.arn,
            subnet_ids=self.subnet_ids,
            instance_types=[args.instance_type],
            ami_type=NEURON_AMI_TYPE,
            capacity_type=args.capacity_type,
            version=args.kubernetes_version,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                desired_size=args.desired_nodes, min_size=args.min_nodes, max_size=args.max_nodes,
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=launch_template.id, version=launch_template.latest_version.apply(str),
            ),
            labels={NODE_ROLE_LABEL: "neuron"},
            taints=[NEURON_TAINT] if args.dedicated else None,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=attachments),
        )

        self.node_group_name = node_group.node_group_name
        self.node_role_arn = role.arn
        self.node_role_name = role.name
        self.launch_template_id = launch_template.id
        self.register_outputs({
            "node_group_name": self.node_group_name,
            "node_role_arn": self.node_role_arn,
            "node_role_name": self.node_role_name,
            "subnet_ids": self.subnet_ids,
            "launch_template_id": self.launch_template_id,
        })
