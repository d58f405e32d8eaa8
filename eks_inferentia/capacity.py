"""Capacity planning: how many serving pods the Neuron nodes hold, and what to refuse or warn about.

Pods are packed per node: a pod's Neuron devices must all come from one node, so a node of
`d` devices holds `d // devicesPerReplica` pods, whatever the cluster's total. Refusals name
the key to change; warnings flag money or replicas left idle.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from eks_inferentia.instance_types import InstanceTypeFacts
from eks_inferentia.quantity import format_cpu, format_memory


@dataclass(frozen=True)
class ServingShape:
    """What the serving Deployment asks of the Neuron node group."""

    instance: InstanceTypeFacts
    replicas: int
    devices_per_replica: int
    desired_nodes: int
    max_nodes: int
    cpu_request: Fraction
    memory_request: Fraction

    @property
    def pods_per_node(self) -> int:
        """Serving pods one node holds, by Neuron devices and by allocatable CPU and memory."""
        by_devices = self.instance.neuron_devices // self.devices_per_replica
        by_cpu = int(self.instance.allocatable_cpu // self.cpu_request) if self.cpu_request else by_devices
        by_memory = int(self.instance.allocatable_memory // self.memory_request) if self.memory_request else by_devices
        return min(by_devices, by_cpu, by_memory)

    @property
    def pods_at_desired_size(self) -> int:
        return self.desired_nodes * self.pods_per_node

    @property
    def pods_at_max_size(self) -> int:
        return self.max_nodes * self.pods_per_node


def capacity_problems(shape: ServingShape) -> list[tuple[str, object, str]]:
    """(key, value, what is allowed) for every sizing that can never be scheduled."""
    problems: list[tuple[str, object, str]] = []
    facts = shape.instance
    if shape.cpu_request > facts.allocatable_cpu:
        problems.append(("cpuRequest", format_cpu(shape.cpu_request),
                         f"at most {format_cpu(facts.allocatable_cpu)} (what one {facts.name} can allocate to pods)"))
    if shape.memory_request > facts.allocatable_memory:
        problems.append(("memoryRequest", format_memory(shape.memory_request),
                         f"at most {format_memory(facts.allocatable_memory)} (what one {facts.name} can allocate to pods)"))
    if problems or shape.devices_per_replica > facts.neuron_devices:
        return problems  # no pod fits on a node; the replica count cannot be judged
    if shape.replicas > shape.pods_at_max_size:
        problems.append(("replicas", shape.replicas,
                         f"at most {shape.pods_at_max_size}: {shape.max_nodes} x {facts.name} (maxNodes) hold "
                         f"{shape.pods_per_node} pod(s) of {shape.devices_per_replica} Neuron device(s) each"))
    return problems


def capacity_warnings(shape: ServingShape) -> list[str]:
    """Sizings that deploy but waste accelerators or leave replicas Pending at the desired size."""
    warnings: list[str] = []
    facts = shape.instance
    if shape.pods_per_node == 0:
        return warnings
    if shape.replicas > shape.pods_at_desired_size:
        pending = shape.replicas - shape.pods_at_desired_size
        warnings.append(
            f"{pending} of {shape.replicas} serving pods stay Pending: {shape.desired_nodes} x {facts.name} "
            f"(desiredNodes) hold {shape.pods_at_desired_size}, and `pulumi up` times out waiting for them; raise desiredNodes "
            "(no cluster autoscaler is installed)")
    devices = shape.desired_nodes * facts.neuron_devices
    used = min(shape.replicas, shape.pods_at_desired_size) * shape.devices_per_replica
    if devices > used:
        warnings.append(
            f"{devices - used} of {devices} Neuron devices at desiredNodes stay idle (paid for, unused); "
            "lower desiredNodes or raise replicas or neuronDevicesPerReplica")
    return warnings


def rollout_strategy(shape: ServingShape) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) for the serving Deployment at the desired size.

    With room for one more pod, surge and keep every replica serving. With every slot taken
    (the walkthrough's 2 x inf1.2xlarge and 2 single-device replicas) a surge pod never
    schedules and the rollout, and `pulumi up`, would wait forever: replace pods one at a time.
    """
    if shape.pods_at_desired_size >= shape.replicas + 1:
        return 1, 0
    return 0, 1
