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
