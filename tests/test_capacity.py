"""Capacity: pods packed per node, refusals for what can never schedule, warnings, the rollout rule."""

from __future__ import annotations

from fractions import Fraction

import pytest

from eks_inferentia.capacity import NodeDaemons, ServingShape, capacity_problems, capacity_warnings, rollout_strategy
from eks_inferentia.instance_types import INSTANCE_TYPES
from eks_inferentia.quantity import parse_quantity


def shape(instance_type: str = "inf1.2xlarge", replicas: int = 2, devices: int = 1, desired: int = 2, maximum: int = 4,
          cpu: str = "1", memory: str = "1Gi") -> ServingShape:
    return ServingShape(INSTANCE_TYPES[instance_type], replicas, devices, desired, maximum,
                        parse_quantity(cpu), parse_quantity(memory))


def test_pods_are_packed_per_node_by_devices_cpu_and_memory() -> None:
    assert shape("inf2.24xlarge", devices=4).pods_per_node == 1  # 6 devices hold one 4-device pod, not 1.5
    assert shape("inf1.6xlarge", devices=2).pods_per_node == 2
    assert shape("inf2.48xlarge", devices=1, cpu="60").pods_per_node == 3  # CPU, not devices, is the limit
    assert shape("inf1.24xlarge", devices=1, memory="100Gi").pods_per_node == 1


def test_allocatable_follows_the_eks_reservation_formulas() -> None:
    facts = INSTANCE_TYPES["inf1.2xlarge"]  # 8 vCPU: 60m + 10m + 2 x 5m + 4 x 2.5m reserved
    assert facts.allocatable_cpu == 8 - Fraction(90, 1000)
    assert facts.allocatable_memory == (16 * 1024 - 255 - 11 * 38 - 100) * 2**20


def test_the_walkthrough_fits_and_replaces_pods_one_at_a_time() -> None:
    walkthrough = shape()
    assert capacity_problems(walkthrough) == [] and capacity_warnings(walkthrough) == []
    assert rollout_strategy(walkthrough) == (0, 1)


def test_room_for_a_surge_pod_keeps_every_replica_serving() -> None:
    assert rollout_strategy(shape(desired=3)) == (1, 0)
    assert rollout_strategy(shape("inf1.6xlarge", replicas=1, devices=2, desired=1)) == (1, 0)
    assert rollout_strategy(shape("inf2.24xlarge", replicas=1, devices=4, desired=1)) == (0, 1)  # 2 devices left, not 4


@pytest.mark.parametrize(("kwargs", "key"), [
    ({"replicas": 5}, "replicas"),
    ({"instance_type": "inf2.24xlarge", "replicas": 5, "devices": 4}, "replicas"),  # 4 nodes x 1 pod, not 6 x 4 / 4
    ({"cpu": "8"}, "cpuRequest"),
    ({"memory": "16Gi"}, "memoryRequest"),
])
def test_what_can_never_schedule_is_refused_naming_the_key(kwargs: dict, key: str) -> None:
    assert [problem[0] for problem in capacity_problems(shape(**kwargs))] == [key]


def test_warnings_for_pending_replicas_and_idle_accelerators() -> None:
    (pending,) = capacity_warnings(shape(replicas=3))
    assert pending.startswith("1 of 3 serving pods stay Pending")
    (idle,) = capacity_warnings(shape(replicas=1))
    assert idle.startswith("1 of 2 Neuron devices at desiredNodes stay idle")
    (idle,) = capacity_warnings(shape("inf2.24xlarge", replicas=1, devices=4, desired=1))
    assert idle.startswith("2 of 6 Neuron devices")


def test_requests_of_exactly_what_a_node_allocates_and_replicas_that_exactly_fill_max_nodes_fit() -> None:
    facts = INSTANCE_TYPES["inf1.2xlarge"]
    exact = ServingShape(facts, 4, 1, 4, 4, facts.allocatable_cpu, Fraction(1))
    assert capacity_problems(exact) == []
    exact = ServingShape(facts, 4, 1, 4, 4, Fraction(1), facts.allocatable_memory)
    assert capacity_problems(exact) == []
    assert capacity_problems(shape(replicas=4, maximum=4)) == []  # one single-device pod per inf1.2xlarge


def test_warnings_say_what_to_change() -> None:
    (pending,) = capacity_warnings(shape(replicas=3))
    assert pending == ("1 of 3 serving pods stay Pending: 2 x inf1.2xlarge (desiredNodes) hold 2, and `pulumi up` times "
                       "out waiting for them; raise desiredNodes (no cluster autoscaler is installed)")
    (idle,) = capacity_warnings(shape(replicas=1))
    assert idle == ("1 of 2 Neuron devices at desiredNodes stay idle (paid for, unused); lower desiredNodes or raise "
                    "replicas or neuronDevicesPerReplica")


def test_model_volumes_pack_pods_per_node_within_the_root_volume() -> None:
    from dataclasses import replace

    from components.node_group import ROOT_VOLUME_GIB
    from eks_inferentia.capacity import NODE_ROOT_VOLUME_GIB, NODE_STORAGE_HEADROOM_GIB

    assert ROOT_VOLUME_GIB == NODE_ROOT_VOLUME_GIB  # the rule counts the volume the launch template gives nodes
    big = shape("inf1.24xlarge", replicas=16, maximum=1)  # 16 devices: 16 pods by devices
    assert big.pods_per_node == 16 and capacity_problems(big) == []
    gib = Fraction(2**30)
    models = NODE_ROOT_VOLUME_GIB - NODE_STORAGE_HEADROOM_GIB  # 70 GiB for model volumes
    assert replace(big, model_volume=models * gib / 16).pods_per_node == 16  # exactly fills the node
    sized = replace(big, model_volume=10 * gib)
    assert sized.pods_per_node == 7
    assert capacity_problems(sized) == [("replicas", 16, "at most 7: 1 x inf1.24xlarge (maxNodes) hold 7 pod(s) of 1 "
                                         "Neuron device(s) each, limited by modelVolumeSize (10Gi a pod of the 70Gi a "
                                         "node's root volume leaves for models)")]
    assert capacity_problems(replace(big, model_volume=(models + 1) * gib)) == [
        ("modelVolumeSize", "71Gi", "at most 70Gi (a node's 100 GiB root volume less 30 GiB for the OS, images and the "
                                    "kubelet's eviction reserve)")]
    # CPU, not storage, limits these pods: the message does not blame modelVolumeSize.
    cpu_bound = replace(shape("inf1.24xlarge", replicas=16, maximum=1, cpu="20"), model_volume=gib)
    assert capacity_problems(cpu_bound)[0][2].endswith("hold 4 pod(s) of 1 Neuron device(s) each")


def test_node_daemonsets_requests_come_off_what_serving_pods_may_take() -> None:
    facts = INSTANCE_TYPES["inf2.48xlarge"]  # 12 devices: CPU and memory decide, not devices
    daemons = NodeDaemons(cpu=parse_quantity("256m"), memory=parse_quantity("128Mi"), names=("neuron-monitor",))
    half_cpu = facts.allocatable_cpu / 2
    # Two pods of exactly half the node fit alone, and only one beside the DaemonSet.
    assert ServingShape(facts, 2, 1, 1, 1, half_cpu, Fraction(1)).pods_per_node == 2
    with_daemons = ServingShape(facts, 2, 1, 1, 1, half_cpu, Fraction(1), node_daemons=daemons)
    assert with_daemons.pod_cpu == facts.allocatable_cpu - Fraction(256, 1000)
    assert with_daemons.pod_memory == facts.allocatable_memory - 128 * 1024 * 1024
    assert with_daemons.pods_per_node == 1
    assert capacity_problems(with_daemons) == [
        ("replicas", 2, "at most 1: 1 x inf2.48xlarge (maxNodes) hold 1 pod(s) of 1 Neuron device(s) each")]
    assert NodeDaemons().note("256m") == ""
    assert daemons.note("256m") == ", less 256m for neuron-monitor on every Neuron node"
    assert NodeDaemons(names=("neuron-monitor", "log-shipper")).note("512m") == (
        ", less 512m for neuron-monitor and log-shipper on every Neuron node")


def test_daemonsets_that_take_more_than_a_node_allocates_leave_room_for_no_pod() -> None:
    facts = INSTANCE_TYPES["inf1.2xlarge"]
    greedy = NodeDaemons(cpu=facts.allocatable_cpu + 1, memory=facts.allocatable_memory + 1, names=("greedy",))
    # Even a pod asking for a millicore and a byte: nothing is left, not a negative amount or a rounding.
    tiny = ServingShape(facts, 1, 1, 1, 1, Fraction(1, 1000), Fraction(1), node_daemons=greedy)
    assert (tiny.pod_cpu, tiny.pod_memory, tiny.pods_per_node) == (0, 0, 0)
    memory_only = NodeDaemons(memory=facts.allocatable_memory + 1, names=("greedy",))
    assert ServingShape(facts, 1, 1, 1, 1, Fraction(1, 1000), Fraction(1), node_daemons=memory_only).pods_per_node == 0
    cpu_only = NodeDaemons(cpu=facts.allocatable_cpu + 1, names=("greedy",))
    assert ServingShape(facts, 1, 1, 1, 1, Fraction(1, 1000), Fraction(1), node_daemons=cpu_only).pods_per_node == 0


# --- autoscaling (issue 11): the range [minReplicas, maxReplicas] ----------------------------------------------

def scaled(minimum: int, maximum: int, **kwargs) -> ServingShape:
    from dataclasses import replace

    from eks_inferentia.capacity import ReplicaRange
    return replace(shape(**kwargs), scaling=ReplicaRange(minimum, maximum))


def test_max_replicas_that_max_nodes_can_never_hold_is_refused_naming_max_replicas() -> None:
    assert capacity_problems(scaled(1, 4)) == []  # 4 x inf1.2xlarge hold exactly 4 single-device pods
    assert capacity_problems(scaled(1, 5)) == [
        ("maxReplicas", 5, "at most 4: 4 x inf1.2xlarge (maxNodes) hold 1 pod(s) of 1 Neuron device(s) each, "
                           "so KEDA could never place more")]


def test_autoscaled_warnings_judge_pending_at_max_replicas_and_idle_devices_at_min_replicas() -> None:
    from eks_inferentia.capacity import keyed_capacity_warnings
    assert keyed_capacity_warnings(scaled(2, 2)) == []
    assert keyed_capacity_warnings(scaled(1, 3, replicas=1)) == [
        ("maxReplicas", "2 x inf1.2xlarge (desiredNodes) hold 2 serving pods, so pods KEDA adds above that, up to 3, stay "
                        "Pending (the Neuron node group does not grow by itself); raise desiredNodes or lower maxReplicas"),
        ("minReplicas", "at 1 pod(s), 1 of 2 Neuron devices at desiredNodes stay idle (paid for, unused) whenever "
                        "demand is low; lower desiredNodes or raise minReplicas")]
    # Without autoscaling the same replicas warn as before, under `replicas`.
    assert [key for key, _ in keyed_capacity_warnings(shape(replicas=1))] == ["replicas"]


def test_rollout_strategy_is_judged_at_max_replicas() -> None:
    # inf1.6xlarge: 4 devices, 8 single-device pods on 2 nodes. Room for a surge pod beside 7, not beside 8.
    assert rollout_strategy(scaled(2, 7, instance_type="inf1.6xlarge", replicas=2)) == (1, 0)
    assert rollout_strategy(scaled(2, 8, instance_type="inf1.6xlarge", replicas=2)) == (0, 1)
    assert rollout_strategy(shape(instance_type="inf1.6xlarge", replicas=2)) == (1, 0)
