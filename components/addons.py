"""ClusterAddons: CoreDNS and the EKS Pod Identity Agent as EKS add-ons, at pinned versions.

With no default node group, pulumi-eks creates no CoreDNS add-on, so CoreDNS would stay the
self-managed copy EKS installs and would never be upgraded. Here it becomes an EKS add-on
(`resolve_conflicts_on_create="OVERWRITE"` adopts the running copy), after a node group exists:
its Deployment cannot become ACTIVE without nodes. With system nodes it runs only there
(`nodeSelector` in its configuration values); without them it keeps the add-on's defaults, as
the Neuron nodes then carry no taint.

The Pod Identity Agent is a DaemonSet that must run on every node, the Neuron nodes included
(serving pods will get AWS credentials through it). The add-on tolerates every taint by default
since `v1.2.0-eksbuild.1` (aws/amazon-vpc-cni-k8s#2780; upstream chart values `tolerations:
[{operator: Exists}]`); it is set here explicitly, so the Neuron taint
`aws.amazon.com/neuron=true:NoSchedule` never keeps it off a node whatever the default becomes.

Versions come from `eks_inferentia.versions.ADDON_VERSIONS`, one row per Kubernetes version.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.node_group import NODE_ROLE_LABEL
from eks_inferentia.versions import COREDNS, POD_IDENTITY_AGENT, PinnedAddons

# Configuration keys of the add-ons' schemas (`aws eks describe-addon-configuration`): coredns has
# `nodeSelector`, `tolerations`, `affinity`, `replicaCount`, ...; eks-pod-identity-agent has `tolerations`.
SYSTEM_NODE_SELECTOR = {NODE_ROLE_LABEL: "system"}
TOLERATE_EVERY_TAINT = [{"operator": "Exists"}]
# Pulumi is the source of truth: adopt the self-managed copy on create, and overwrite drift on update.
RESOLVE_CONFLICTS = "OVERWRITE"


@dataclass(frozen=True)
class ClusterAddonsArgs:
    cluster_name: pulumi.Input[str]
    versions: PinnedAddons
    node_groups: Sequence[pulumi.Resource]
    """Node groups the add-ons wait for (CoreDNS cannot become ACTIVE without nodes)."""
    system_nodes: bool = False
    """A system node group exists (its nodes carry `eks-inferentia/role: system`): CoreDNS runs there."""
    tags: dict[str, str] = field(default_factory=dict)


def coredns_configuration(system_nodes: bool) -> dict[str, Any] | None:
    """CoreDNS' configuration values: on the system nodes when there are some, else the defaults."""
    return {"nodeSelector": dict(SYSTEM_NODE_SELECTOR)} if system_nodes else None


def pod_identity_agent_configuration() -> dict[str, Any]:
    """The agent's configuration values: tolerate every taint, the Neuron one included."""
    return {"tolerations": [dict(t) for t in TOLERATE_EVERY_TAINT]}


class ClusterAddons(pulumi.ComponentResource):
    coredns_version: pulumi.Output[str]
    pod_identity_agent_version: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-inferentia:index:ClusterAddons", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.node_groups))

        def addon(addon_name: str, version: str, configuration: dict[str, Any] | None) -> aws.eks.Addon:
            return aws.eks.Addon(
                f"{name}-{addon_name}",
                cluster_name=args.cluster_name,
                addon_name=addon_name,
                addon_version=version,
                configuration_values=json.dumps(configuration, sort_keys=True) if configuration else None,
                resolve_conflicts_on_create=RESOLVE_CONFLICTS,
                resolve_conflicts_on_update=RESOLVE_CONFLICTS,
                tags=args.tags,
                opts=child,
            )

        coredns = addon(COREDNS, args.versions.coredns, coredns_configuration(args.system_nodes))
        agent = addon(POD_IDENTITY_AGENT, args.versions.pod_identity_agent, pod_identity_agent_configuration())
        self.coredns_version = coredns.addon_version
        self.pod_identity_agent_version = agent.addon_version
        self.register_outputs({
            "coredns_version": self.coredns_version,
            "pod_identity_agent_version": self.pod_identity_agent_version,
        })
