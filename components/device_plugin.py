"""NeuronDevicePlugin: what eksctl installs by itself for Inf1 node groups.

The official Neuron Helm chart (oci://public.ecr.aws/neuron/neuron-helm-chart). Values checked
against the chart's values.yaml and templates (1.9.0 source, 1.10.0 `helm show values`): the
plugin's DaemonSet lands in kube-system (the chart's `namespaceOverride`), its node affinity
matches the chart's `neuronInstances` list (Neuron instance types only, never Fargate, hybrid
or Auto Mode nodes), and it tolerates the `aws.amazon.com/neuron` taint. The chart's node
problem detector is off: it needs a `neuron-healthcheck-system` namespace the chart does not
create.

With `neuron_scheduler`, the chart also runs the Neuron scheduler extension and a second
kube-scheduler that consults it (`customScheduler`, the EKS Distro build of the cluster's
version, from `eks_inferentia.versions`), so pods asking for several devices get
contiguous ones (aws-neuron-sdk issue 110). Pods opt in with `schedulerName` =
`pod_scheduler_name`. The chart's `defaultScheduler` mode stays off: it reconfigures the
control plane's own scheduler, pins the extension to `node-role.kubernetes.io/master` nodes
and host networking, and EKS has no such nodes, so the extension would stay Pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from eks_inferentia.versions import kube_scheduler_image

NEURON_CHART = "oci://public.ecr.aws/neuron/neuron-helm-chart"
NEURON_RESOURCE = "aws.amazon.com/neuron"
DEVICE_PLUGIN_NAMESPACE = "kube-system"
# The chart's `neuronInstances` (1.10.0): the device plugin's node affinity admits only these types.
CHART_NEURON_INSTANCES = frozenset((
    "trn1.2xlarge", "trn1.32xlarge", "trn1n.32xlarge", "trn2.3xlarge", "trn2.48xlarge", "trn2u.48xlarge",
    "trn3.48xlarge", "trn3n.48xlarge", "trn3en.24xlarge", "trn3s-es.48xlarge", "inf1.xlarge", "inf1.2xlarge",
    "inf1.6xlarge", "inf1.24xlarge", "inf2.xlarge", "inf2.8xlarge", "inf2.24xlarge", "inf2.48xlarge",
))
# The chart's second kube-scheduler takes its profile's schedulerName from this fullnameOverride;
# set explicitly so the chart and the serving pods agree by construction.
NEURON_SCHEDULER_NAME = "my-scheduler"


@dataclass(frozen=True)
class NeuronDevicePluginArgs:
    chart_version: str
    """Version of the Neuron Helm chart."""
    provider: k8s.Provider
    """Kubernetes provider of the cluster."""
    kubernetes_version: str
    """The cluster's version: the chart's second kube-scheduler runs the matching EKS Distro build."""
    neuron_scheduler: bool = False
    """Run the Neuron scheduler extension, for pods that ask for several devices."""


def device_plugin_values(kubernetes_version: str, neuron_scheduler: bool = False) -> dict[str, Any]:
    """Helm values: the device plugin, critical and tolerant of the Neuron taint; the scheduler if asked."""
    return {
        "devicePlugin": {
            "enabled": True,
            "priorityClassName": "system-node-critical",
            "tolerations": [
                {"key": "CriticalAddonsOnly", "operator": "Exists"},
                {"key": NEURON_RESOURCE, "operator": "Exists", "effect": "NoSchedule"},
            ],
        },
        "scheduler": {
            "enabled": neuron_scheduler,
            # The chart's own kube-scheduler image is 1.31 (outside the version-skew policy on 1.32+).
            "customScheduler": {"enabled": True, "fullnameOverride": NEURON_SCHEDULER_NAME,
                                "image": kube_scheduler_image(kubernetes_version)},
            "defaultScheduler": {"enabled": False},
        },
        "npd": {"enabled": False},
        "draDriver": {"enabled": False},
    }


class NeuronDevicePlugin(pulumi.ComponentResource):
    chart_version: pulumi.Output[str]
    namespace: pulumi.Output[str]
    pod_scheduler_name: str | None
    """`schedulerName` for pods that need contiguous devices; None when the extension is off."""

    def __init__(self, name: str, args: NeuronDevicePluginArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-inferentia:index:NeuronDevicePlugin", name, None, opts)
        k8s.helm.v4.Chart(
            f"{name}-chart",
            chart=NEURON_CHART,
            version=args.chart_version,
            namespace=DEVICE_PLUGIN_NAMESPACE,
            values=device_plugin_values(args.kubernetes_version, args.neuron_scheduler),
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )
        self.pod_scheduler_name = NEURON_SCHEDULER_NAME if args.neuron_scheduler else None
        self.chart_version = pulumi.Output.from_input(args.chart_version)
        self.namespace = pulumi.Output.from_input(DEVICE_PLUGIN_NAMESPACE)
        self.register_outputs({"chart_version": self.chart_version, "namespace": self.namespace})
