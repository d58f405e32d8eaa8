"""NeuronDevicePlugin: the official chart, pinned, device plugin only."""

from __future__ import annotations

import re

import pytest

from components.device_plugin import NEURON_CHART, NEURON_SCHEDULER_NAME
from eks_inferentia.config import DEFAULT_NEURON_CHART_VERSION, SUPPORTED_KUBERNETES_VERSIONS
from eks_inferentia.versions import KUBE_SCHEDULER_TAGS, addon_version_problems


def test_official_chart_pinned_in_kube_system(run_stack) -> None:
    run = run_stack()
    chart = run.one("kubernetes:helm.sh/v4:Chart")
    assert chart.inputs["chart"] == NEURON_CHART == "oci://public.ecr.aws/neuron/neuron-helm-chart"
    assert chart.inputs["version"] == DEFAULT_NEURON_CHART_VERSION
    assert chart.inputs["namespace"] == "kube-system"
    assert chart.provider.startswith(run.one("pulumi:providers:kubernetes").urn)


def test_values_run_only_the_device_plugin_critical_and_tolerant_of_the_neuron_taint(run_stack) -> None:
    values = run_stack().one("kubernetes:helm.sh/v4:Chart").inputs["values"]
    plugin = values["devicePlugin"]
    assert plugin["enabled"] is True
    assert plugin["priorityClassName"] == "system-node-critical"
    assert {"key": "aws.amazon.com/neuron", "operator": "Exists", "effect": "NoSchedule"} in plugin["tolerations"]
    # The node problem detector needs a namespace the chart does not create.
    assert values["npd"] == {"enabled": False}
    assert values["scheduler"]["enabled"] is False and values["draDriver"] == {"enabled": False}
    # The chart's own node affinity (its neuronInstances list) keeps the plugin on Neuron nodes.
    assert "affinity" not in plugin and "neuronInstances" not in values


def test_chart_version_is_configurable(run_stack) -> None:
    chart = run_stack(neuronChartVersion="1.8.0").one("kubernetes:helm.sh/v4:Chart")
    assert chart.inputs["version"] == "1.8.0"


@pytest.mark.parametrize(("overrides", "enabled"), [
    ({}, False),
    ({"neuronScheduler": "enabled"}, True),
    ({"instanceType": "inf1.6xlarge", "neuronDevicesPerReplica": 2}, True),
    ({"instanceType": "inf1.6xlarge", "neuronDevicesPerReplica": 2, "neuronScheduler": "disabled"}, False),
])
def test_neuron_scheduler_follows_the_switch(run_stack, overrides: dict, enabled: bool) -> None:
    scheduler = run_stack(**overrides).one("kubernetes:helm.sh/v4:Chart").inputs["values"]["scheduler"]
    assert scheduler["enabled"] is enabled


def test_neuron_scheduler_runs_beside_the_default_one_never_on_master_nodes(run_stack) -> None:
    scheduler = run_stack(neuronScheduler="enabled").one("kubernetes:helm.sh/v4:Chart").inputs["values"]["scheduler"]
    # defaultScheduler mode pins the extension to node-role.kubernetes.io/master nodes, which EKS does not have.
    assert scheduler["defaultScheduler"] == {"enabled": False}
    assert scheduler["customScheduler"] == {
        "enabled": True, "fullnameOverride": NEURON_SCHEDULER_NAME,
        "image": {"repository": "public.ecr.aws/eks-distro/kubernetes/kube-scheduler", "tag": "v1.35.6-eks-1-35-13"}}
    assert "nodeSelector" not in scheduler


# Versions whose add-ons are all pinned deploy; the others are refused (tests/components/test_addons.py).
@pytest.mark.parametrize("version", [v for v in SUPPORTED_KUBERNETES_VERSIONS if not addon_version_problems(v)])
def test_the_second_scheduler_matches_the_clusters_minor(run_stack, version: str) -> None:
    # Every version the config allows has a verified EKS Distro build, of that very minor.
    assert set(KUBE_SCHEDULER_TAGS) == set(SUPPORTED_KUBERNETES_VERSIONS)
    image = run_stack(kubernetesVersion=version, neuronScheduler="enabled").one(
        "kubernetes:helm.sh/v4:Chart").inputs["values"]["scheduler"]["customScheduler"]["image"]
    minor = version.replace(".", "-")
    assert re.fullmatch(rf"v{re.escape(version)}\.\d+-eks-{minor}-\d+", image["tag"])


def test_device_plugin_runs_on_tainted_and_critical_addon_nodes(run_stack) -> None:
    plugin = run_stack().one("kubernetes:helm.sh/v4:Chart").inputs["values"]["devicePlugin"]
    # The whole list: a system node group's CriticalAddonsOnly taint (any effect), and the Neuron nodes' own.
    assert plugin["tolerations"] == [
        {"key": "CriticalAddonsOnly", "operator": "Exists"},
        {"key": "aws.amazon.com/neuron", "operator": "Exists", "effect": "NoSchedule"},
    ]


def test_serving_pods_ask_for_the_neuron_scheduler_only_when_it_runs(run_stack) -> None:
    def scheduler_name(run) -> str | None:
        deployment = run.one("kubernetes:apps/v1:Deployment")
        return deployment.inputs["spec"]["template"]["spec"].get("schedulerName")

    assert scheduler_name(run_stack()) is None
    enabled = run_stack(neuronScheduler="enabled")
    assert scheduler_name(enabled) == NEURON_SCHEDULER_NAME == "my-scheduler"
    # The same name the chart's second kube-scheduler takes as its profile's schedulerName.
    chart = enabled.one("kubernetes:helm.sh/v4:Chart")
    assert chart.inputs["values"]["scheduler"]["customScheduler"]["fullnameOverride"] == scheduler_name(enabled)


def test_device_plugin_registers_its_chart_version_and_namespace(run_stack) -> None:
    run = run_stack(neuronChartVersion="1.8.0")
    component = run.one("eks-inferentia:index:NeuronDevicePlugin")
    assert run.registered_outputs[component.urn] == {"chart_version": "1.8.0", "namespace": "kube-system"}
    assert run.one("kubernetes:helm.sh/v4:Chart").parent == component.urn


def test_device_plugin_waits_for_the_neuron_nodes(run_stack) -> None:
    # __main__ passes depends_on=[node_group]: the chart's pods need nodes to land on.
    run = run_stack()
    component = run.one("eks-inferentia:index:NeuronDevicePlugin")
    assert run.named("aws:eks/nodeGroup:NodeGroup", "neuron-nodes-ng").urn in component.dependencies


def test_the_values_leave_the_scheduler_off_unless_asked() -> None:
    from components.device_plugin import device_plugin_values

    assert device_plugin_values("1.35")["scheduler"]["enabled"] is False
    assert device_plugin_values("1.35", neuron_scheduler=True)["scheduler"]["enabled"] is True
