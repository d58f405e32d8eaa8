"""Config under nodeProvisioner (issue 11): each new rule with a failing input and its exact message, and the
NodePool's capacity rules (eks_inferentia/capacity.py NodePoolLimit)."""

from __future__ import annotations

import pytest

from eks_inferentia import config as config_module
from eks_inferentia.capacity import NodePoolLimit, ServingShape, capacity_problems, capacity_warnings, rollout_strategy
from eks_inferentia.config import ConfigError, config_warnings, load_config, node_pool_candidates
from eks_inferentia.instance_types import INSTANCE_TYPES, NeuronFamily
from eks_inferentia.quantity import parse_quantity
from eks_inferentia.versions import (
    DEFAULT_KARPENTER_AMI_ALIAS,
    KARPENTER_CHART_VERSION,
    KARPENTER_COMPATIBILITY,
    karpenter_supports,
)

MODEL = "s3://my-models/resnet50_neuron/"
KARPENTER = {"modelBasePath": MODEL, "nodeProvisioner": "karpenter", "systemNodes": "2"}


def _problems(raw: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    return caught.value.problems


def test_managed_is_the_default_and_keeps_the_node_group_keys() -> None:
    config = load_config({"modelBasePath": MODEL})
    assert (config.node_provisioner, config.uses_karpenter) == ("managed", False)
    assert config.extra_instance_types == () and config.karpenter_ami_alias == DEFAULT_KARPENTER_AMI_ALIAS
    assert config.neuron_instance_types == ("inf1.2xlarge",)
    assert config.serving_shape.node_pool is None


def test_karpenter_with_extra_types_of_the_same_generation() -> None:
    config = load_config({**KARPENTER, "instanceType": "inf2.xlarge", "modelCompiledFor": "neuronx",
                          "extraInstanceTypes": '["inf2.8xlarge", "trn1.2xlarge", "inf2.48xlarge"]',
                          "capacityType": "SPOT_AND_ON_DEMAND", "maxNodes": "3"})
    assert config.uses_karpenter and config.capacity_type == "SPOT_AND_ON_DEMAND"
    assert config.neuron_instance_types == ("inf2.xlarge", "inf2.8xlarge", "trn1.2xlarge", "inf2.48xlarge")
    pool = config.serving_shape.node_pool
    assert pool is not None and (pool.largest.name, pool.neuron_limit) == ("inf2.48xlarge", 36)


def test_karpenter_refuses_node_counts_that_would_be_ignored() -> None:
    assert _problems({**KARPENTER, "desiredNodes": "3", "minNodes": "0"}) == [
        "eks-inferentia:desiredNodes: 3 is not allowed; expected no value but the default (2) under nodeProvisioner "
        "karpenter, which launches Neuron nodes for pending pods and removes idle ones (maxNodes bounds the NodePool): "
        "`pulumi config rm eks-inferentia:desiredNodes`",
        "eks-inferentia:minNodes: 0 is not allowed; expected no value but the default (1) under nodeProvisioner "
        "karpenter, which launches Neuron nodes for pending pods and removes idle ones (maxNodes bounds the NodePool): "
        "`pulumi config rm eks-inferentia:minNodes`"]


def test_karpenter_accepts_the_defaults_the_cli_hands_over() -> None:
    # The Pulumi CLI passes Pulumi.yaml's defaults as if the stack had set them: those cannot be refused.
    config = load_config({**KARPENTER, "desiredNodes": "2", "minNodes": "1"})
    assert config.uses_karpenter
    assert config.desired_nodes == 0  # no desired size: the NodePool's limit is the fleet's


def test_karpenter_ignores_the_node_group_order_rules_of_unset_counts() -> None:
    # desiredNodes' default (2) above maxNodes 1 is no problem: there is no desired size.
    assert load_config({**KARPENTER, "maxNodes": "1", "replicas": "1"}).max_nodes == 1


def test_karpenter_needs_system_nodes() -> None:
    assert _problems({**KARPENTER, "systemNodes": "0"}) == [
        "eks-inferentia:systemNodes: 0 is not allowed; expected at least 1 under nodeProvisioner karpenter (the Karpenter "
        "controller runs on the system nodes: never on the nodes it manages)"]


def test_an_unknown_provisioner_is_refused() -> None:
    assert _problems({"modelBasePath": MODEL, "nodeProvisioner": "auto-mode"}) == [
        "eks-inferentia:nodeProvisioner: 'auto-mode' is not allowed; expected one of managed, karpenter"]


def test_spot_and_on_demand_only_under_karpenter() -> None:
    assert _problems({"modelBasePath": MODEL, "capacityType": "SPOT_AND_ON_DEMAND"}) == [
        "eks-inferentia:capacityType: 'SPOT_AND_ON_DEMAND' is not allowed; expected ON_DEMAND or SPOT under "
        "nodeProvisioner managed (a managed node group has one capacity type; SPOT_AND_ON_DEMAND needs nodeProvisioner "
        "karpenter)"]
    assert _problems({**KARPENTER, "capacityType": "spot"}) == [
        "eks-inferentia:capacityType: 'spot' is not allowed; expected one of ON_DEMAND, SPOT, SPOT_AND_ON_DEMAND"]


def test_extra_instance_types_are_refused_under_managed() -> None:
    assert _problems({"modelBasePath": MODEL, "extraInstanceTypes": '["inf1.xlarge"]'}) == [
        'eks-inferentia:extraInstanceTypes: ["inf1.xlarge"] is not allowed; expected [] under nodeProvisioner managed '
        "(a managed node group runs instanceType only)"]


def test_extra_instance_types_must_be_neuron_types_of_the_table() -> None:
    assert _problems({**KARPENTER, "extraInstanceTypes": '["m6i.large"]'}) == [
        "eks-inferentia:extraInstanceTypes: 'm6i.large' is not allowed; expected Neuron instance types: inf1.24xlarge, "
        "inf1.2xlarge, inf1.6xlarge, inf1.xlarge, inf2.24xlarge, inf2.48xlarge, inf2.8xlarge, inf2.xlarge, trn1.2xlarge, "
        "trn1.32xlarge, trn1n.32xlarge, trn2.48xlarge"]


def test_extra_instance_types_must_share_the_neuroncore_generation() -> None:
    assert _problems({**KARPENTER, "extraInstanceTypes": '["inf2.xlarge"]'}) == [
        "eks-inferentia:extraInstanceTypes: 'inf2.xlarge' is not allowed; expected Neuron instance types of "
        "inf1.2xlarge's generation (NeuronCore-v1) with at least neuronDevicesPerReplica (1) device(s) that a pod can "
        "use: inf1.24xlarge, inf1.6xlarge, inf1.xlarge"]


def test_extra_instance_types_must_hold_a_pods_devices() -> None:
    assert _problems({**KARPENTER, "instanceType": "inf1.6xlarge", "neuronDevicesPerReplica": "2",
                      "extraInstanceTypes": '["inf1.xlarge"]'}) == [
        "eks-inferentia:extraInstanceTypes: 'inf1.xlarge' is not allowed; expected Neuron instance types of "
        "inf1.6xlarge's generation (NeuronCore-v1) with at least neuronDevicesPerReplica (2) device(s) that a pod can "
        "use: inf1.24xlarge"]


def test_trainium_extra_types_need_a_contiguous_device_count() -> None:
    # 6 devices a pod: fine on inf2.24xlarge, not a contiguous group on a Trainium ring.
    assert node_pool_candidates(INSTANCE_TYPES["inf2.24xlarge"], 6) == ["inf2.48xlarge"]
    assert node_pool_candidates(INSTANCE_TYPES["inf2.24xlarge"], 4) == [
        "inf2.48xlarge", "trn1.32xlarge", "trn1n.32xlarge"]
    assert node_pool_candidates(INSTANCE_TYPES["trn2.48xlarge"], 1) == []


# One mistake, one line: a value an earlier rule refused is not judged again by the NodePool's rules.
@pytest.mark.parametrize(("raw", "problems"), [
    # extraInstanceTypes are judged against a known instanceType only.
    ({"instanceType": "m5.large", "extraInstanceTypes": '["inf1.xlarge"]'}, [
        "eks-inferentia:instanceType: 'm5.large' is not allowed; expected a Neuron instance type: inf1.24xlarge, "
        "inf1.2xlarge, inf1.6xlarge, inf1.xlarge, inf2.24xlarge, inf2.48xlarge, inf2.8xlarge, inf2.xlarge, trn1.2xlarge, "
        "trn1.32xlarge, trn1n.32xlarge, trn2.48xlarge"]),
    # ... and against an accepted neuronDevicesPerReplica only (inf1.xlarge has 1 device, fewer than the refused 2).
    ({"neuronDevicesPerReplica": "2", "extraInstanceTypes": '["inf1.xlarge"]'}, [
        "eks-inferentia:neuronDevicesPerReplica: 2 is not allowed; expected 1 to 1 (the Neuron devices of one "
        "inf1.2xlarge)"]),
    # A list with a refused type is not refused again for naming inf1.xlarge twice.
    ({"extraInstanceTypes": '["inf1.xlarge", "inf2.xlarge", "inf1.xlarge"]'}, [
        "eks-inferentia:extraInstanceTypes: 'inf2.xlarge' is not allowed; expected Neuron instance types of "
        "inf1.2xlarge's generation (NeuronCore-v1) with at least neuronDevicesPerReplica (1) device(s) that a pod can "
        "use: inf1.24xlarge, inf1.6xlarge, inf1.xlarge"]),
    # A refused desiredNodes leaves capacity unjudged: 5 pods above the NodePool's 4 devices are not named too.
    ({"desiredNodes": "3", "replicas": "5"}, [
        "eks-inferentia:desiredNodes: 3 is not allowed; expected no value but the default (2) under nodeProvisioner "
        "karpenter, which launches Neuron nodes for pending pods and removes idle ones (maxNodes bounds the NodePool): "
        "`pulumi config rm eks-inferentia:desiredNodes`"]),
    # So does a refused extraInstanceTypes: there is no NodePool to judge 5 pods against.
    ({"extraInstanceTypes": '["inf2.xlarge"]', "replicas": "5"}, [
        "eks-inferentia:extraInstanceTypes: 'inf2.xlarge' is not allowed; expected Neuron instance types of "
        "inf1.2xlarge's generation (NeuronCore-v1) with at least neuronDevicesPerReplica (1) device(s) that a pod can "
        "use: inf1.24xlarge, inf1.6xlarge, inf1.xlarge"]),
], ids=["unknown-instance-type", "refused-devices", "refused-type-beside-a-duplicate", "refused-desired-nodes",
        "refused-extra-types"])
def test_a_value_refused_by_an_earlier_rule_is_not_judged_again(raw: dict[str, str], problems: list[str]) -> None:
    assert _problems({**KARPENTER, **raw}) == problems


def test_extra_instance_types_are_listed_once() -> None:
    assert _problems({**KARPENTER, "extraInstanceTypes": '["inf1.xlarge", "inf1.xlarge"]'}) == [
        'eks-inferentia:extraInstanceTypes: ["inf1.xlarge", "inf1.xlarge"] is not allowed; expected each instance type once']
    assert _problems({**KARPENTER, "extraInstanceTypes": '["inf1.2xlarge"]'})[0].startswith(
        "eks-inferentia:extraInstanceTypes: 'inf1.2xlarge' is not allowed")  # instanceType itself


@pytest.mark.parametrize("alias", ["al2023@latest", "al2023@v2026071", "bottlerocket@v1.30.0", "al2@v20260714",
                                   "al2023@v20261301", "al2023@20260714"])
def test_the_ami_alias_is_an_al2023_release_pinned_by_date(alias: str) -> None:
    assert _problems({**KARPENTER, "karpenterAmiAlias": alias}) == [
        f"eks-inferentia:karpenterAmiAlias: {alias!r} is not allowed; expected al2023@vYYYYMMDD, an EKS-optimized AL2023 "
        "AMI release (awslabs/amazon-eks-ami releases), such as al2023@v20260714; never al2023@latest, which replaces "
        "every node whenever AWS publishes an AMI"]


def test_a_pinned_alias_is_taken() -> None:
    assert load_config({**KARPENTER, "karpenterAmiAlias": "al2023@v20260625"}).karpenter_ami_alias == "al2023@v20260625"


def test_karpenter_is_refused_on_a_kubernetes_version_it_does_not_support(monkeypatch: pytest.MonkeyPatch) -> None:
    # Karpenter supports every version the stack allows today (the test below): pretend it supports 1.35 only.
    monkeypatch.setattr(config_module, "karpenter_supports", lambda version: version == "1.35")
    assert _problems({**KARPENTER, "kubernetesVersion": "1.34"}) == [
        "eks-inferentia:nodeProvisioner: 'karpenter' is not allowed; expected managed on Kubernetes 1.34: Karpenter "
        f"{KARPENTER_CHART_VERSION} does not support it (eks_inferentia/versions.py, KARPENTER_COMPATIBILITY)"]
    assert load_config({**KARPENTER, "kubernetesVersion": "1.35"}).uses_karpenter
    assert load_config({"modelBasePath": MODEL, "kubernetesVersion": "1.34"}).kubernetes_version == "1.34"  # managed
    # A refused version is named once, not judged again against Karpenter.
    assert _problems({**KARPENTER, "kubernetesVersion": "1.20"}) == [
        "eks-inferentia:kubernetesVersion: '1.20' is not allowed; expected one of 1.32, 1.33, 1.34, 1.35, 1.36"]


def test_karpenter_supports_every_kubernetes_version_the_stack_allows() -> None:
    from eks_inferentia.config import SUPPORTED_KUBERNETES_VERSIONS

    assert all(karpenter_supports(version) for version in SUPPORTED_KUBERNETES_VERSIONS)
    assert KARPENTER_COMPATIBILITY["1.35"] == "1.9"
    assert not karpenter_supports("1.35", "1.8.6") and karpenter_supports("1.35", "1.9.0")
    assert karpenter_supports("1.31", "1.0.5") and not karpenter_supports("1.31", "1.0.4")
    assert not karpenter_supports("1.37")


def test_neuroncore_generations() -> None:
    assert {family: family.neuron_core_version for family in NeuronFamily} == {
        NeuronFamily.INF1: 1, NeuronFamily.INF2: 2, NeuronFamily.TRN1: 2, NeuronFamily.TRN1N: 2, NeuronFamily.TRN2: 3}


# --- capacity: the NodePool's limit is the fleet's ----------------------------------------------------
def _shape(instance: str, extras: tuple[str, ...] = (), replicas: int = 2, devices: int = 1, maximum: int = 4,
           cpu: str = "1") -> ServingShape:
    pool = NodePoolLimit(tuple(INSTANCE_TYPES[t] for t in (instance, *extras)), maximum)
    return ServingShape(INSTANCE_TYPES[instance], replicas, devices, 0, maximum, parse_quantity(cpu),
                        parse_quantity("1Gi"), node_pool=pool)


def test_the_node_pool_limit_is_max_nodes_of_the_largest_type() -> None:
    pool = _shape("inf2.xlarge", ("inf2.48xlarge", "inf2.24xlarge"), maximum=3).node_pool
    assert pool is not None and (pool.largest.name, pool.neuron_limit) == ("inf2.48xlarge", 36)


def test_replicas_are_judged_against_the_limit_of_devices() -> None:
    # 4 x 1 device on inf2.xlarge alone: 4 pods; with inf2.48xlarge the limit is 48 devices.
    assert _shape("inf2.xlarge", replicas=4).pods_at_max_size == 4
    assert _shape("inf2.xlarge", ("inf2.48xlarge",), replicas=40).pods_at_max_size == 48
    assert capacity_problems(_shape("inf2.xlarge", replicas=5)) == [(
        "replicas", 5, "at most 4: the NodePool's limit of 4 Neuron devices (maxNodes 4 x 1 of inf2.xlarge) holds that "
                       "many pods of 1 Neuron device(s) each")]


def test_no_desired_size_warnings_and_the_rollout_surges_when_the_limit_has_room() -> None:
    roomy = _shape("inf1.2xlarge", replicas=2)
    assert capacity_warnings(roomy) == [] and rollout_strategy(roomy) == (1, 0)
    full = _shape("inf1.2xlarge", replicas=4)
    assert rollout_strategy(full) == (0, 1)


def test_config_warnings_leave_out_the_desired_size_under_karpenter() -> None:
    config = load_config({**KARPENTER, "replicas": "3", "modelCompiledFor": "neuron"})
    assert [w for w in config_warnings(config) if "desiredNodes" in w] == []
    assert _problems({**KARPENTER, "replicas": "5"}) == [
        "eks-inferentia:replicas: 5 is not allowed; expected at most 4: the NodePool's limit of 4 Neuron devices "
        "(maxNodes 4 x 1 of inf1.2xlarge) holds that many pods of 1 Neuron device(s) each"]


# --- with autoscaling (KEDA): KEDA adds pods, Karpenter adds nodes ------------------------------------------
AUTOSCALED = {**KARPENTER, "autoscaling": "true", "targetRequestsPerSecond": "40", "modelCompiledFor": "neuron"}


def test_max_replicas_is_judged_against_the_node_pools_limit() -> None:
    assert _problems({**AUTOSCALED, "maxReplicas": "5"}) == [
        "eks-inferentia:maxReplicas: 5 is not allowed; expected at most 4: the NodePool's limit of 4 Neuron devices "
        "(maxNodes 4 x 1 of inf1.2xlarge) holds that many pods of 1 Neuron device(s) each, so KEDA could never place more"]
    # A larger type in the pool raises the limit: 4 x 4 devices of inf1.6xlarge.
    config = load_config({**AUTOSCALED, "maxReplicas": "16", "extraInstanceTypes": '["inf1.6xlarge"]'})
    assert (config.max_replicas, config.node_pool_neuron_limit) == (16, 16)


def test_no_desired_size_warnings_for_an_autoscaled_node_pool() -> None:
    # Managed: KEDA's pods above desiredNodes stay Pending, devices idle at minReplicas; Karpenter launches and removes.
    managed = load_config({"modelBasePath": MODEL, "autoscaling": "true", "targetRequestsPerSecond": "40",
                           "modelCompiledFor": "neuron", "minReplicas": "1", "replicas": "1", "maxReplicas": "4"})
    assert {w.split(":")[1] for w in config_warnings(managed) if "desiredNodes" in w} == {"maxReplicas", "minReplicas"}
    karpenter = load_config({**AUTOSCALED, "minReplicas": "1", "replicas": "1", "maxReplicas": "4"})
    assert [w for w in config_warnings(karpenter) if "desiredNodes" in w] == []
    # The rollout is judged at maxReplicas: the NodePool's limit (4) leaves no room for a surge pod above 4.
    assert rollout_strategy(karpenter.serving_shape) == (0, 1)
    assert rollout_strategy(load_config({**AUTOSCALED, "maxReplicas": "3"}).serving_shape) == (1, 0)
