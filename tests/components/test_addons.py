"""ClusterAddons and the add-on version table: pinned per Kubernetes version, after the nodes."""

from __future__ import annotations

import json
import re

import pytest

from eks_inferentia.config import SUPPORTED_KUBERNETES_VERSIONS, ConfigError
from eks_inferentia.versions import (
    ADDON_VERSIONS,
    ADDONS,
    COREDNS,
    KUBE_PROXY,
    POD_IDENTITY_AGENT,
    VPC_CNI,
    PinnedAddons,
    UnpinnedAddonError,
    addon_version_problems,
    addon_versions,
    kube_scheduler_image,
    unpinned_addons,
)
from tools.mock_engine import ProgramRun, Registration, run_program
from tools.render import stack_config

# Cells with no verified source (docs/day-two-facts.md §1); each refuses its kubernetesVersion.
UNVERIFIED = {("1.36", VPC_CNI), ("1.36", POD_IDENTITY_AGENT)}
DEPLOYABLE = [v for v in SUPPORTED_KUBERNETES_VERSIONS if not addon_version_problems(v)]
EKS_BUILD = re.compile(r"v\d+\.\d+\.\d+-eksbuild\.\d+")


def test_every_supported_version_has_a_row_of_every_addon() -> None:
    # A version added to SUPPORTED_KUBERNETES_VERSIONS without a row fails here.
    assert set(ADDON_VERSIONS) == set(SUPPORTED_KUBERNETES_VERSIONS)
    for version, row in ADDON_VERSIONS.items():
        assert set(row) == set(ADDONS), version


def test_the_only_unpinned_cells_are_the_known_unverified_ones() -> None:
    gaps = {(version, addon) for version, row in ADDON_VERSIONS.items() for addon, pin in row.items() if pin is None}
    assert gaps == UNVERIFIED
    for version, row in ADDON_VERSIONS.items():
        for addon, pin in row.items():
            assert pin is None or EKS_BUILD.fullmatch(pin), (version, addon, pin)
        # kube-proxy is built per Kubernetes minor: its version is the cluster's.
        assert str(row[KUBE_PROXY]).startswith(f"v{version}."), version


def test_a_version_with_an_unpinned_addon_is_refused_naming_version_and_addon() -> None:
    problems = addon_version_problems("1.36")
    assert len(problems) == 2
    assert all("kubernetesVersion 1.36" in p for p in problems)
    assert {VPC_CNI, POD_IDENTITY_AGENT} == {a for a in ADDONS for p in problems if f"the {a} add-on" in p}
    with pytest.raises(UnpinnedAddonError, match=r"kubernetesVersion 1\.36: no verified version of the vpc-cni add-on"):
        addon_versions("1.36")
    assert addon_version_problems("1.37") == [
        "kubernetesVersion 1.37: no add-on versions are pinned for it (add a row to ADDON_VERSIONS in eks_inferentia/versions.py)"]
    assert addon_version_problems("1.35") == []


def test_each_gap_is_one_exact_line_and_the_error_joins_them() -> None:
    def gap(addon: str) -> str:
        return (f"kubernetesVersion 1.36: no verified version of the {addon} add-on is pinned; find one with "
                f"`aws eks describe-addon-versions --addon-name {addon} --kubernetes-version 1.36` and set it in "
                "ADDON_VERSIONS (eks_inferentia/versions.py)")

    assert addon_version_problems("1.36") == [gap("vpc-cni"), gap("eks-pod-identity-agent")]
    with pytest.raises(UnpinnedAddonError) as caught:
        addon_versions("1.36")
    assert str(caught.value) == f"{gap('vpc-cni')}; {gap('eks-pod-identity-agent')}"
    assert unpinned_addons("1.36") == ["vpc-cni", "eks-pod-identity-agent"]
    assert unpinned_addons("1.37") == list(ADDONS) and unpinned_addons("1.35") == []


def test_a_pinned_row_is_read_cell_by_cell() -> None:
    assert addon_versions("1.35") == PinnedAddons(vpc_cni="v1.21.1-eksbuild.1", kube_proxy="v1.35.3-eksbuild.13",
                                                  coredns="v1.14.3-eksbuild.3", pod_identity_agent="v1.3.10-eksbuild.2")
    assert addon_versions("1.32") == PinnedAddons(vpc_cni="v1.20.4-eksbuild.2", kube_proxy="v1.32.13-eksbuild.16",
                                                  coredns="v1.11.4-eksbuild.40", pod_identity_agent="v1.3.10-eksbuild.2")
    assert kube_scheduler_image("1.32") == {"repository": "public.ecr.aws/eks-distro/kubernetes/kube-scheduler",
                                            "tag": "v1.32.13-eks-1-32-41"}


def test_a_stack_on_a_version_with_a_gap_deploys_nothing() -> None:
    config = {**stack_config("dev"), "eks-inferentia:kubernetesVersion": "1.36"}
    with pytest.raises(ConfigError) as caught:
        run_program(config)
    assert caught.value.problems == [
        "eks-inferentia:kubernetesVersion: '1.36' is not allowed; expected a version whose EKS add-ons are all pinned: "
        "1.32, 1.33, 1.34, 1.35 (no verified vpc-cni or eks-pod-identity-agent version for 1.36 yet; "
        "see ADDON_VERSIONS in eks_inferentia/versions.py)"]
    from pulumi.runtime import settings

    assert settings.SETTINGS.monitor.registrations == []  # refused before any resource


def addons_by_name(run: ProgramRun) -> dict[str, Registration]:
    return {a.inputs["addonName"]: a for a in run.of_type("aws:eks/addon:Addon")}


@pytest.mark.parametrize("version", DEPLOYABLE)
def test_pinned_versions_of_the_clusters_row_reach_every_addon(run_stack, version: str) -> None:
    run = run_stack(kubernetesVersion=version)
    row = ADDON_VERSIONS[version]
    cluster = run.one("eks:index:Cluster").inputs
    assert cluster["vpcCniOptions"]["addonVersion"] == row[VPC_CNI]
    assert cluster["kubeProxyAddonOptions"]["version"] == row[KUBE_PROXY]
    addons = addons_by_name(run)
    assert set(addons) == {COREDNS, POD_IDENTITY_AGENT}
    assert addons[COREDNS].inputs["addonVersion"] == row[COREDNS]
    assert addons[POD_IDENTITY_AGENT].inputs["addonVersion"] == row[POD_IDENTITY_AGENT]


def test_addons_adopt_and_overwrite_and_belong_to_the_component(run_stack) -> None:
    run = run_stack()
    (component,) = run.of_type("eks-inferentia:index:ClusterAddons")
    for addon in addons_by_name(run).values():
        assert addon.parent == component.urn
        assert addon.inputs["clusterName"] == "inferentia-dev"
        assert addon.inputs["resolveConflictsOnCreate"] == "OVERWRITE"  # takes over EKS' self-managed CoreDNS
        assert addon.inputs["resolveConflictsOnUpdate"] == "OVERWRITE"
        # terraform-provider-aws: the ID is `<cluster>:<add-on>`.
        assert addon.outputs["id"] == f"inferentia-dev:{addon.inputs['addonName']}"


@pytest.mark.parametrize("system_nodes", [0, 1])
def test_coredns_and_the_agent_wait_for_every_node_group(run_stack, system_nodes: int) -> None:
    run = run_stack(systemNodes=system_nodes)
    groups = {g.name for g in run.of_type("aws:eks/nodeGroup:NodeGroup")}
    assert groups == ({"neuron-nodes-ng", "system-nodes-ng"} if system_nodes else {"neuron-nodes-ng"})
    for addon in addons_by_name(run).values():
        waits_for = {r.name for r in run.resources if r.urn in addon.dependencies}
        assert groups <= waits_for, addon.name


def test_coredns_runs_on_the_system_nodes_when_there_are_some(run_stack) -> None:
    run = run_stack(systemNodes=2)
    coredns = addons_by_name(run)[COREDNS]
    system_group = run.named("aws:eks/nodeGroup:NodeGroup", "system-nodes-ng")
    values = json.loads(coredns.inputs["configurationValues"])
    assert values == {"nodeSelector": system_group.inputs["labels"]}


def test_without_system_nodes_coredns_keeps_the_addon_defaults(run_stack) -> None:
    run = run_stack()
    assert "configurationValues" not in addons_by_name(run)[COREDNS].inputs
    neuron = run.named("aws:eks/nodeGroup:NodeGroup", "neuron-nodes-ng")
    assert not neuron.inputs.get("taints")  # so CoreDNS needs no toleration to run there


def tolerates(toleration: dict, taint: dict) -> bool:
    """Kubernetes' ToleratesTaint; EKS writes the taint effect NO_SCHEDULE as NoSchedule."""
    effect = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
    if toleration.get("effect") and toleration["effect"] != effect[taint["effect"]]:
        return False
    if toleration.get("key") and toleration["key"] != taint["key"]:
        return False
    if toleration.get("operator", "Equal") == "Exists":
        return True
    return bool(toleration.get("key")) and toleration.get("value", "") == taint.get("value", "")


def test_the_agent_tolerates_the_neuron_taint(run_stack) -> None:
    run = run_stack(systemNodes=1)
    (taint,) = run.named("aws:eks/nodeGroup:NodeGroup", "neuron-nodes-ng").inputs["taints"]
    agent = addons_by_name(run)[POD_IDENTITY_AGENT]
    tolerations = json.loads(agent.inputs["configurationValues"])["tolerations"]
    assert any(tolerates(t, taint) for t in tolerations)
    assert not tolerates({"key": "other", "operator": "Exists"}, taint)  # the matcher can say no


def test_addons_are_tagged_and_register_their_versions(run_stack) -> None:
    run = run_stack()
    component = run.one("eks-inferentia:index:ClusterAddons")
    addons = addons_by_name(run)
    for addon in addons.values():
        assert addon.inputs["tags"] == {"project": "eks-inferentia", "cluster": "inferentia-dev"}
    row = ADDON_VERSIONS["1.35"]
    assert run.registered_outputs[component.urn] == {
        "coredns_version": row[COREDNS], "pod_identity_agent_version": row[POD_IDENTITY_AGENT]}
    assert addons[COREDNS].name == "addons-coredns"
    assert addons[POD_IDENTITY_AGENT].name == "addons-eks-pod-identity-agent"


def test_the_agent_tolerates_every_taint_without_system_nodes_too(run_stack) -> None:
    agent = addons_by_name(run_stack())[POD_IDENTITY_AGENT]
    # The add-on's configuration schema takes this JSON as is.
    assert agent.inputs["configurationValues"] == '{"tolerations": [{"operator": "Exists"}]}'


def test_the_callers_parent_and_dependencies_reach_the_addons_component() -> None:
    from components.addons import ClusterAddons, ClusterAddonsArgs
    from tests.components.options import declared_with_options

    declared = declared_with_options(lambda opts: ClusterAddons("addons", ClusterAddonsArgs(
        cluster_name="inferentia-dev", versions=addon_versions("1.35"), node_groups=[]), opts=opts))
    component = declared.component("eks-inferentia:index:ClusterAddons")
    assert component.parent == declared.owner.urn
    assert component.dependencies == [declared.before.urn]
