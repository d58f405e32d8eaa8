"""NeuronMonitor: neuron-monitor and its Prometheus exporter on every Neuron node, as a DaemonSet.

The Neuron Helm chart this stack pins (1.10.0) does not ship it (its values have no `monitor`
key; docs/monitoring-facts.md §3.1), so this is the official manifest's shape
(aws-neuron-sdk `src/k8/k8s-neuron-monitor-daemonset.yml`): the Neuron project's own image,
`/opt/bin/entrypoint.sh --port 8000` (neuron-monitor piped into neuron-monitor-prometheus.py),
its resources and `GOMEMLIMIT`, in its own namespace as there.

Privileged, as in the official manifest and the AWS Neuron Operator's node-metrics DaemonSet
(which documents it as an exception): neuron-monitor reads every Neuron device of the node and
the Neuron runtimes' counters through the driver's device files, and a container reaches host
devices that the device plugin did not allocate to it only when privileged (asking the plugin
for `aws.amazon.com/neuron` would take the devices from the model). The policy pack admits
exactly this image privileged (policy/policies.py). Everything else is locked down: no service
account token, no host network, PID or IPC, resource limits, a pinned image, and a
NetworkPolicy that admits only the managed collector's subnets to the metrics port.

Placement: only nodes of the stack's Neuron instance type (node affinity on
`node.kubernetes.io/instance-type`), tolerating the `aws.amazon.com/neuron` taint.
Instance labels (instance_id, instance_type, availability_zone) come from IMDS, which answers pods
only under modelAccess `node-role` (hop limit 2); under `pod-identity` (hop limit 1, components/node_parts.py)
they stay empty, so the rules and the dashboard group by the `node` label the scrape configuration
adds from the pod's node name. How neuron-monitor 1.3.0 behaves without IMDS is not verified on hardware.

Inf1: the official manifest lists the inf1 sizes, and a real scrape on inf1.xlarge (DataDog's
fixture) shows every metric family there; that image 1.3.0 works with the Neuron driver the
inf1 nodes keep has not been verified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.pod_security import RUNTIME_DEFAULT_SECCOMP, checkov_skip_annotations
from eks_inferentia.metrics import (
    NEURON_MONITOR_CPU_LIMIT,
    NEURON_MONITOR_CPU_REQUEST,
    NEURON_MONITOR_MEMORY_LIMIT,
    NEURON_MONITOR_MEMORY_REQUEST,
    NEURON_MONITOR_PORT,
    NEURON_MONITOR_PORT_NAME,
)

NEURON_MONITOR_NAMESPACE = "neuron-monitor"
# The newest tag found in AWS's own manifests (aws-neuron-sdk k8s-neuron-monitor-daemonset.yml @ 9f6387f,
# the AWS Neuron Operator's nodeMetricsImage); ECR Public itself could not be listed from here.
NEURON_MONITOR_IMAGE = "public.ecr.aws/neuron/neuron-monitor:1.3.0"
NEURON_RESOURCE = "aws.amazon.com/neuron"
NAME = "neuron-monitor"

CHECKOV_SKIPS = {
    "CKV_K8S_16": "neuron-monitor reads every Neuron device of the node through the driver's device files: "
                  "privileged, as the official manifest runs it",
    "CKV_K8S_20": "a privileged container cannot set allowPrivilegeEscalation: false (the API refuses the pair)",
    "CKV_K8S_22": "not verified that neuron-monitor's entrypoint writes nothing to its image; a read-only root "
                  "adds little to a privileged container",
    "CKV_K8S_23": "privileged device access needs root",
    "CKV_K8S_28": "a privileged container has every capability; dropping some would not take effect",
    "CKV_K8S_37": "a privileged container has every capability; dropping some would not take effect",
    "CKV_K8S_40": "privileged device access needs root",
    "CKV_K8S_43": "pinned by its versioned tag (the digest could not be read from ECR Public here)",
}


@dataclass(frozen=True)
class NeuronMonitorArgs:
    instance_types: Sequence[str]
    """Neuron instance types of the stack's nodes: the DaemonSet runs on these and nowhere else."""
    scraper_cidrs: pulumi.Input[Sequence[str]]
    """CIDRs of the managed collector's subnets: the only sources admitted to the metrics port."""
    provider: k8s.Provider
    image: str = NEURON_MONITOR_IMAGE


class NeuronMonitor(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    daemon_set_name: pulumi.Output[str]

    def __init__(self, name: str, args: NeuronMonitorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-inferentia:index:NeuronMonitor", name, None, opts)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.provider)
        labels = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/managed-by": "pulumi"}
        selector = {"app.kubernetes.io/name": NAME}

        namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NEURON_MONITOR_NAMESPACE,
                                                labels={"app.kubernetes.io/managed-by": "pulumi"}),
            opts=k8s_opts,
        )
        namespace_name = namespace.metadata.name
        metadata = k8s.meta.v1.ObjectMetaArgs(name=NAME, namespace=namespace_name, labels=labels)
        service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=metadata, automount_service_account_token=False, opts=k8s_opts)

        metrics_get = k8s.core.v1.HTTPGetActionArgs(path="/metrics", port=NEURON_MONITOR_PORT_NAME)
        daemon_set = k8s.apps.v1.DaemonSet(
            f"{name}-daemonset",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=NAME, namespace=namespace_name, labels=labels,
                annotations=checkov_skip_annotations(CHECKOV_SKIPS)),
            spec=k8s.apps.v1.DaemonSetSpecArgs(
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                update_strategy=k8s.apps.v1.DaemonSetUpdateStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDaemonSetArgs(max_unavailable=1)),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels, annotations={
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(NEURON_MONITOR_PORT),
                        "prometheus.io/path": "/metrics",
                    }),
                    spec=k8s.core.v1.PodSpecArgs(
                        service_account_name=service_account.metadata.name,
                        automount_service_account_token=False,
                        security_context=k8s.core.v1.PodSecurityContextArgs(seccomp_profile=RUNTIME_DEFAULT_SECCOMP),
                        tolerations=[k8s.core.v1.TolerationArgs(key=NEURON_RESOURCE, operator="Exists",
                                                                effect="NoSchedule")],
                        affinity=k8s.core.v1.AffinityArgs(node_affinity=k8s.core.v1.NodeAffinityArgs(
                            required_during_scheduling_ignored_during_execution=k8s.core.v1.NodeSelectorArgs(
                                node_selector_terms=[k8s.core.v1.NodeSelectorTermArgs(match_expressions=[
                                    k8s.core.v1.NodeSelectorRequirementArgs(
                                        key="node.kubernetes.io/instance-type", operator="In",
                                        values=sorted(args.instance_types)),
                                ])]))),
                        containers=[k8s.core.v1.ContainerArgs(
                            name=NAME,
                            image=args.image,
                            image_pull_policy="Always",
                            command=["/opt/bin/entrypoint.sh"],
                            args=["--port", str(NEURON_MONITOR_PORT),
                                  "--neuron-monitor-config", "/opt/aws/neuron/bin/neuron-monitor.conf"],
                            ports=[k8s.core.v1.ContainerPortArgs(name=NEURON_MONITOR_PORT_NAME,
                                                                 container_port=NEURON_MONITOR_PORT)],
                            # The Go collector's soft memory limit, under the container's limit (official manifest).
                            env=[k8s.core.v1.EnvVarArgs(name="GOMEMLIMIT", value="160MiB")],
                            resources=k8s.core.v1.ResourceRequirementsArgs(
                                requests={"cpu": NEURON_MONITOR_CPU_REQUEST, "memory": NEURON_MONITOR_MEMORY_REQUEST},
                                limits={"cpu": NEURON_MONITOR_CPU_LIMIT, "memory": NEURON_MONITOR_MEMORY_LIMIT},
                            ),
                            security_context=k8s.core.v1.SecurityContextArgs(
                                privileged=True, seccomp_profile=RUNTIME_DEFAULT_SECCOMP),
                            readiness_probe=k8s.core.v1.ProbeArgs(http_get=metrics_get, period_seconds=30,
                                                                  timeout_seconds=5),
                            liveness_probe=k8s.core.v1.ProbeArgs(http_get=metrics_get, period_seconds=60,
                                                                 timeout_seconds=10, failure_threshold=3),
                        )],
                    ),
                ),
            ),
            opts=k8s_opts,
        )

        # Only the collector reaches the exporter (nothing else in the cluster needs it).
        k8s.networking.v1.NetworkPolicy(
            f"{name}-collector", metadata=k8s.meta.v1.ObjectMetaArgs(
                name=f"{NAME}-collector", namespace=namespace_name, labels=labels),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                policy_types=["Ingress"],
                ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    from_=pulumi.Output.from_input(args.scraper_cidrs).apply(
                        lambda cidrs: [k8s.networking.v1.NetworkPolicyPeerArgs(
                            ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr)) for cidr in cidrs]),
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=NEURON_MONITOR_PORT, protocol="TCP")],
                )],
            ),
            opts=k8s_opts,
        )

        self.namespace = namespace_name
        self.daemon_set_name = daemon_set.metadata.name
        self.register_outputs({"namespace": self.namespace, "daemon_set_name": self.daemon_set_name})
