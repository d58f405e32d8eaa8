"""NeuronNodePool: the Karpenter NodePool and EC2NodeClass of the Neuron nodes (`nodeProvisioner: karpenter`).

The EC2NodeClass is the launch template's counterpart (components/node_parts.py): the EKS-optimized AL2023
AMI at a pinned release (`al2023@vYYYYMMDD`; for Neuron instance types Karpenter resolves the alias to the
Neuron variant of that release, pkg/providers/amifamily/al2023.go), IMDSv2 only with the managed groups' hop
limit (1, or 2 under modelAccess node-role), an encrypted gp3 root volume of the managed group's size
(capacity.NODE_ROOT_VOLUME_GIB, which the capacity rules count), the node role Karpenter's component made,
and the private subnets and cluster security group found by the discovery tag `karpenter.sh/discovery:
<cluster>`. This component tags the EKS-created cluster security group (aws.ec2.Tag: no resource of this
stack owns that group's tags) and, in an existing VPC, its private subnets; the dedicated VPC's private
subnets carry the tag from their awsx subnet spec (NeuronClusterArgs.private_subnet_tags), as an aws.ec2.Tag
on them would be undone by the subnet's own `tags` after a refresh.

The NodePool launches `instance_types` (instanceType and extraInstanceTypes, one NeuronCore generation) of
the allowed capacity types, tainted `aws.amazon.com/neuron=true:NoSchedule` as the managed group's dedicated
nodes are (the device plugin, neuron-monitor and the serving pods tolerate it), labelled as they are
(`eks-inferentia/role: neuron`). Its limit is `aws.amazon.com/neuron` = maxNodes x the largest type's
devices. Disruption:

- budgets: one node at a time, for every reason (drift, emptiness, underuse): a Neuron node carries whole
  serving replicas, and its replacement takes minutes to launch, pull the multi-GiB serving image and load
  the model, so two at once could take the serving capacity of two nodes away together;
- consolidation `WhenEmptyOrUnderutilized` after `CONSOLIDATE_AFTER` (10 min): no shorter than bringing a
  node back costs (launch, image pull, and the serving pod's ten-minute startup budget,
  components/serving.py STARTUP_BUDGET_SECONDS), so a short dip in load does not buy the node again;
- `expireAfter: Never`: expiration is forceful (not rate-limited by budgets, no replacement launched first,
  concepts/disruption.md), so nodes launched together would all drain together. Nodes are renewed by changing
  karpenterAmiAlias instead: that is drift, which goes one node at a time within the budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.node_group import NODE_ROLE_LABEL
from components.node_parts import IMDS_HOP_LIMIT
from eks_inferentia.capacity import NODE_ROOT_VOLUME_GIB

NODE_POOL_NAME = "neuron"
NODE_CLASS_NAME = "neuron"
DISCOVERY_TAG = "karpenter.sh/discovery"
NEURON_RESOURCE = "aws.amazon.com/neuron"
NEURON_TAINT = {"key": NEURON_RESOURCE, "value": "true", "effect": "NoSchedule"}
CONSOLIDATE_AFTER = "10m"
EXPIRE_AFTER = "Never"
DISRUPTION_BUDGETS = [{"nodes": "1"}]
# capacityType as Karpenter's `karpenter.sh/capacity-type` values.
CAPACITY_TYPES = {"ON_DEMAND": ["on-demand"], "SPOT": ["spot"], "SPOT_AND_ON_DEMAND": ["spot", "on-demand"]}


@dataclass(frozen=True)
class NeuronNodePoolArgs:
    cluster_name: pulumi.Input[str]
    instance_types: Sequence[str]
    """instanceType and extraInstanceTypes, of one NeuronCore generation."""
    max_neuron_devices: int
    """The NodePool's limit on aws.amazon.com/neuron (maxNodes x the largest type's devices)."""
    capacity_type: str
    """ON_DEMAND, SPOT or SPOT_AND_ON_DEMAND."""
    ami_alias: str
    """al2023@vYYYYMMDD."""
    node_role_name: pulumi.Input[str]
    cluster_security_group_id: pulumi.Input[str]
    provider: k8s.Provider
    controller: pulumi.Resource
    """The `Karpenter` component: its chart installs the CRDs and runs the controller, so the NodePool and
    EC2NodeClass are created after it and deleted before it (the controller must process their finalizers,
    which terminate the nodes and remove the instance profile)."""
    existing_subnet_ids: Sequence[str] = ()
    """An existing VPC's private subnets, to tag for discovery (the dedicated VPC's carry the tag already)."""
    imds_hop_limit: int = IMDS_HOP_LIMIT
    tags: dict[str, str] = field(default_factory=dict)


def node_class_spec(cluster_name: str, node_role_name: str, ami_alias: str, imds_hop_limit: int,
                    tags: dict[str, str]) -> dict[str, Any]:
    """The EC2NodeClass' spec (karpenter.k8s.aws/v1)."""
    discovery = [{"tags": {DISCOVERY_TAG: cluster_name}}]
    return {
        "role": node_role_name,
        "amiSelectorTerms": [{"alias": ami_alias}],
        "subnetSelectorTerms": discovery,
        "securityGroupSelectorTerms": discovery,
        "metadataOptions": {"httpEndpoint": "enabled", "httpProtocolIPv6": "disabled",
                            "httpPutResponseHopLimit": imds_hop_limit, "httpTokens": "required"},
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {
            "volumeSize": f"{NODE_ROOT_VOLUME_GIB}Gi", "volumeType": "gp3", "encrypted": True,
            "deleteOnTermination": True}}],
        "tags": dict(tags),
    }


def node_pool_spec(instance_types: Sequence[str], capacity_type: str, max_neuron_devices: int) -> dict[str, Any]:
    """The NodePool's spec (karpenter.sh/v1)."""
    return {
        "template": {
            "metadata": {"labels": {NODE_ROLE_LABEL: "neuron"}},
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": NODE_CLASS_NAME},
                "requirements": [
                    {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": list(instance_types)},
                    {"key": "karpenter.sh/capacity-type", "operator": "In", "values": CAPACITY_TYPES[capacity_type]},
                ],
                "taints": [dict(NEURON_TAINT)],
                "expireAfter": EXPIRE_AFTER,
            },
        },
        "disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": CONSOLIDATE_AFTER,
                       "budgets": [dict(b) for b in DISRUPTION_BUDGETS]},
        "limits": {NEURON_RESOURCE: max_neuron_devices},
    }


class NeuronNodePool(pulumi.ComponentResource):
    node_pool_name: pulumi.Output[str]
    node_class_name: pulumi.Output[str]

    def __init__(self, name: str, args: NeuronNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-inferentia:index:NeuronNodePool", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.provider)

        discovery_tags = [aws.ec2.Tag(f"{name}-cluster-sg-discovery", resource_id=args.cluster_security_group_id,
                                      key=DISCOVERY_TAG, value=args.cluster_name, opts=child)]
        discovery_tags += [aws.ec2.Tag(f"{name}-{subnet}-discovery", resource_id=subnet, key=DISCOVERY_TAG,
                                       value=args.cluster_name, opts=child)
                           for subnet in args.existing_subnet_ids]

        node_class = k8s.apiextensions.CustomResource(
            f"{name}-node-class",
            api_version="karpenter.k8s.aws/v1",
            kind="EC2NodeClass",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NODE_CLASS_NAME, labels={"app.kubernetes.io/managed-by": "pulumi"}),
            spec=pulumi.Output.all(args.cluster_name, args.node_role_name).apply(
                lambda a: node_class_spec(a[0], a[1], args.ami_alias, args.imds_hop_limit, args.tags)),
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[args.controller, *discovery_tags])),
        )
        node_pool = k8s.apiextensions.CustomResource(
            f"{name}-node-pool",
            api_version="karpenter.sh/v1",
            kind="NodePool",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NODE_POOL_NAME, labels={"app.kubernetes.io/managed-by": "pulumi"}),
            spec=node_pool_spec(args.instance_types, args.capacity_type, args.max_neuron_devices),
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[args.controller, node_class])),
        )
        # Their names are fixed (known in previews too); the outputs wait for the objects.
        self.node_pool_name = node_pool.urn.apply(lambda _: NODE_POOL_NAME)
        self.node_class_name = node_class.urn.apply(lambda _: NODE_CLASS_NAME)
        self.register_outputs({"node_pool_name": self.node_pool_name, "node_class_name": self.node_class_name})
