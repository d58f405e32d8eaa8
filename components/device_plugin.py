"""NeuronDevicePlugin: what eksctl installs by itself for Inf1 node groups.

The official Neuron Helm chart (oci://public.ecr.aws/neuron/neuron-helm-chart), device plugin
only. Values checked against the chart's values.yaml and templates at 1.9.0: the plugin's
DaemonSet lands in kube-system (the chart's `namespaceOverride`), its node affinity matches
the chart's `neuronInstances` list (Neuron instance types only, never Fargate, hybrid or Auto
Mode nodes), and it tolerates the `aws.amazon.com/neuron` taint. The chart's node problem
detector is off: it needs a `neuron-healthcheck-system` namespace the chart does not create.
The scheduler extension (for pods asking for several devices) is off in this release.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

NEURON_CHART = "oci://public.ecr.aws/neuron/neuron-helm-chart"
NEURON_RESOURCE = "aws.amazon.com/neuron"
DEVICE_PLUGIN_NAMESPACE = "kube-system"


@dataclass(frozen=True)
class NeuronDevicePluginArgs:
    chart_version: str
    """Version of the Neuron Helm chart."""
    provider: k8s.Provider
    """Kubernetes provider of the cluster."""


def device_plugin_values() -> dict[str, Any]:
    """Helm values: the device plugin, critical and tolerant of the Neuron taint; nothing else."""
    return {
        "devicePlugin": {
            "enabled": True,
            "priorityClassName": "system-node-critical",
            "tolerations": [
                {"key": "CriticalAddonsOnly", "operator": "Exists"},
                {"key": NEURON_RESOURCE, "operator": "Exists", "effect": "NoSchedule"},
            ],
        },
        "scheduler": {"enabled": False},
        "npd": {"enabled": False},
        "draDriver": {"enabled": False},
    }


class NeuronDevicePlugin(pulumi.ComponentResource):
    chart_version: pulumi.Output[str]
    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: NeuronDevicePluginArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-inferentia:index:NeuronDevicePlugin", name, None, opts)
        k8s.helm.v4.Chart(
            f"{name}-chart",
            chart=NEURON_CHART,
            version=args.chart_version,
            namespace=DEVICE_PLUGIN_NAMESPACE,
            values=device_plugin_values(),
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )
        self.chart_version = pulumi.Output.from_input(args.chart_version)
        self.namespace = pulumi.Output.from_input(DEVICE_PLUGIN_NAMESPACE)
        self.register_outputs({"chart_version": self.chart_version, "namespace": self.namespace})
