"""Capacity planning: how many serving pods the Neuron nodes hold, and what to refuse or warn about.

Pods are packed per node: a pod's Neuron devices must all come from one node, so a node of
`d` devices holds `d // devicesPerReplica` pods, whatever the cluster's total. Refusals name
the key to change; warnings flag money or replicas left idle.

With autoscaling (`ReplicaRange`) the live replica count is anywhere in [minReplicas, maxReplicas]:
what must always fit is judged at maxReplicas, what is left idle at minReplicas, and the rollout
strategy at maxReplicas (a rollout may start while KEDA runs the most pods).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from eks_inferentia.instance_types import InstanceTypeFacts
from eks_inferentia.quantity import GIB, format_cpu, format_memory

# Every Neuron node's root volume (components/node_group.py), which also holds containerd's images and
# the pods' emptyDirs, the model volumes among them.
NODE_ROOT_VOLUME_GIB = 100
# What the model volumes may not take of it, an estimate: the OS (a few GiB), the serving image twice during
# an image change (the Deep Learning Containers are several GiB each), the add-ons' and the smoke test's
# images, and the kubelet's default eviction threshold (nodefs.available < 10 %).
NODE_STORAGE_HEADROOM_GIB = 30


@dataclass(frozen=True)
class NodeDaemons:
    """Requests of the DaemonSets this stack adds to every Neuron node (neuron-monitor, with `monitoring`).

    Taken off the instance table's allocatable CPU and memory before serving pods are counted, so a pod
    request that fits only without them is refused rather than left Pending. The small requests of the
    EKS add-ons' and the Neuron chart's DaemonSets stay out, as in the table (an upper bound; see
    instance_types.py)."""

    cpu: Fraction = Fraction(0)
    memory: Fraction = Fraction(0)
    names: tuple[str, ...] = ()

    def note(self, amount: str) -> str:
        """`, less 256m for neuron-monitor on every Neuron node` for messages; empty without DaemonSets."""
        return f", less {amount} for {' and '.join(self.names)} on every Neuron node" if self.names else ""


@dataclass(frozen=True)
class ReplicaRange:
    """The autoscaled range of the serving Deployment: minReplicas and maxReplicas."""

    minimum: int
    maximum: int


@dataclass(frozen=True)
class NodePoolLimit:
    """Karpenter's NodePool (nodeProvisioner `karpenter`): the Neuron instance types it may launch, and its limit
    on `aws.amazon.com/neuron`, `max_nodes` nodes of the type with the most devices. Karpenter launches nodes for
    pending pods, any mix of the types, until the nodes it runs hold that many devices."""

    instances: tuple[InstanceTypeFacts, ...]
    max_nodes: int

    @property
    def largest(self) -> InstanceTypeFacts:
        """The type with the most Neuron devices (the first of them, in the order given)."""
        return max(self.instances, key=lambda facts: facts.neuron_devices)

    @property
    def neuron_limit(self) -> int:
        return self.max_nodes * self.largest.neuron_devices


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
    model_volume: Fraction = Fraction(0)
    """Bytes of each pod's model volume (modelVolumeSize), requested as ephemeral storage."""
    node_daemons: NodeDaemons = field(default_factory=lambda: NodeDaemons())
    """What this stack's DaemonSets request on every Neuron node, before any serving pod."""
    scaling: ReplicaRange | None = None
    """With autoscaling: the range KEDA keeps the replica count in; `replicas` is then only the initial size."""
    node_pool: NodePoolLimit | None = None
    """Karpenter's NodePool, under nodeProvisioner `karpenter`: nodes come and go with the pods, up to its limit,
    and `desired_nodes` means nothing."""

    @property
    def fewest_replicas(self) -> int:
        """The fewest serving pods that run: minReplicas with autoscaling, else replicas."""
        return self.scaling.minimum if self.scaling else self.replicas

    @property
    def most_replicas(self) -> int:
        """The most serving pods that run: maxReplicas with autoscaling, else replicas."""
        return self.scaling.maximum if self.scaling else self.replicas

    @property
    def pod_cpu(self) -> Fraction:
        """CPU one node can allocate to serving pods: allocatable less the DaemonSets' requests."""
        return max(self.instance.allocatable_cpu - self.node_daemons.cpu, Fraction(0))

    @property
    def pod_memory(self) -> Fraction:
        """Memory one node can allocate to serving pods: allocatable less the DaemonSets' requests."""
        return max(self.instance.allocatable_memory - self.node_daemons.memory, Fraction(0))

    @property
    def model_storage(self) -> Fraction:
        """Bytes of one node's root volume the model volumes may take."""
        return Fraction((NODE_ROOT_VOLUME_GIB - NODE_STORAGE_HEADROOM_GIB) * GIB)

    @property
    def pods_per_node(self) -> int:
        """Serving pods one node of `instance` holds, by Neuron devices, allocatable CPU and memory, and model volume storage."""
        return self.pods_on(self.instance)

    def pods_on(self, instance: InstanceTypeFacts) -> int:
        """Serving pods one node of `instance` holds (see `pods_per_node`)."""
        by_devices = instance.neuron_devices // self.devices_per_replica
        pod_cpu = max(instance.allocatable_cpu - self.node_daemons.cpu, Fraction(0))
        pod_memory = max(instance.allocatable_memory - self.node_daemons.memory, Fraction(0))
        by_cpu = int(pod_cpu // self.cpu_request) if self.cpu_request else by_devices
        by_memory = int(pod_memory // self.memory_request) if self.memory_request else by_devices
        by_storage = int(self.model_storage // self.model_volume) if self.model_volume else by_devices
        return min(by_devices, by_cpu, by_memory, by_storage)

    @property
    def pods_at_desired_size(self) -> int:
        """Under Karpenter, what the NodePool holds at its limit: it launches nodes for pending pods."""
        if self.node_pool is not None:
            return self.pods_at_max_size
        return self.desired_nodes * self.pods_per_node

    @property
    def pods_at_max_size(self) -> int:
        """Under Karpenter, the most pods any one of its types holds within the NodePool's device limit."""
        if self.node_pool is not None:
            limit = self.node_pool.neuron_limit
            return max((limit // facts.neuron_devices) * self.pods_on(facts) for facts in self.node_pool.instances)
        return self.max_nodes * self.pods_per_node


def capacity_problems(shape: ServingShape) -> list[tuple[str, object, str]]:
    """(key, value, what is allowed) for every sizing that can never be scheduled."""
    problems: list[tuple[str, object, str]] = []
    facts = shape.instance
    daemons = shape.node_daemons
    if shape.cpu_request > shape.pod_cpu:
        problems.append(("cpuRequest", format_cpu(shape.cpu_request),
                         f"at most {format_cpu(shape.pod_cpu)} (what one {facts.name} can allocate to pods"
                         f"{daemons.note(format_cpu(daemons.cpu))})"))
    if shape.memory_request > shape.pod_memory:
        problems.append(("memoryRequest", format_memory(shape.memory_request),
                         f"at most {format_memory(shape.pod_memory)} (what one {facts.name} can allocate to pods"
                         f"{daemons.note(format_memory(daemons.memory))})"))
    if shape.model_volume > shape.model_storage:
        problems.append(("modelVolumeSize", format_memory(shape.model_volume),
                         f"at most {format_memory(shape.model_storage)} (a node's {NODE_ROOT_VOLUME_GIB} GiB root volume "
                         f"less {NODE_STORAGE_HEADROOM_GIB} GiB for the OS, images and the kubelet's eviction reserve)"))
    if problems or shape.devices_per_replica > facts.neuron_devices:
        return problems  # no pod fits on a node; the replica count cannot be judged
    if shape.scaling and shape.scaling.maximum > shape.pods_at_max_size:
        problems.append(("maxReplicas", shape.scaling.maximum,
                         f"at most {shape.pods_at_max_size}: {_fleet(shape)}, so KEDA could never place more"
                         + _storage_note(shape)))
    if shape.replicas > shape.pods_at_max_size:
        problems.append(("replicas", shape.replicas, f"at most {shape.pods_at_max_size}: {_fleet(shape)}"
                         + _storage_note(shape)))
    return problems


def _fleet(shape: ServingShape) -> str:
    """What holds the pods at most, in words: maxNodes nodes, or the NodePool's device limit."""
    pool = shape.node_pool
    if pool is not None:
        return (f"the NodePool's limit of {pool.neuron_limit} Neuron devices (maxNodes {pool.max_nodes} x "
                f"{pool.largest.neuron_devices} of {pool.largest.name}) holds that many pods of "
                f"{shape.devices_per_replica} Neuron device(s) each")
    return (f"{shape.max_nodes} x {shape.instance.name} (maxNodes) hold {shape.pods_per_node} pod(s) of "
            f"{shape.devices_per_replica} Neuron device(s) each")


def _storage_note(shape: ServingShape) -> str:
    """Why a node holds fewer pods than its devices allow, when the model volumes are the reason."""
    by_devices = shape.instance.neuron_devices // shape.devices_per_replica
    if shape.model_volume and shape.pods_per_node < by_devices and \
            shape.pods_per_node == int(shape.model_storage // shape.model_volume):
        return (f", limited by modelVolumeSize ({format_memory(shape.model_volume)} a pod of the "
                f"{format_memory(shape.model_storage)} a node's root volume leaves for models)")
    return ""


def capacity_warnings(shape: ServingShape) -> list[str]:
    """Sizings that deploy but waste accelerators or leave replicas Pending at the desired size."""
    return [message for _, message in keyed_capacity_warnings(shape)]


def keyed_capacity_warnings(shape: ServingShape) -> list[tuple[str, str]]:
    """(key to change, message) for every sizing that deploys but wastes accelerators or leaves pods Pending."""
    warnings: list[tuple[str, str]] = []
    facts = shape.instance
    if shape.pods_per_node == 0 or shape.node_pool is not None:
        return warnings  # Karpenter launches nodes for pending pods and consolidates idle ones
    if shape.replicas > shape.pods_at_desired_size:
        pending = shape.replicas - shape.pods_at_desired_size
        warnings.append(("replicas",
            f"{pending} of {shape.replicas} serving pods stay Pending: {shape.desired_nodes} x {facts.name} "
            f"(desiredNodes) hold {shape.pods_at_desired_size}, and `pulumi up` times out waiting for them; raise desiredNodes "
            "(no cluster autoscaler is installed)"))
    if shape.scaling and shape.scaling.maximum > shape.pods_at_desired_size:
        warnings.append(("maxReplicas",
            f"{shape.desired_nodes} x {facts.name} (desiredNodes) hold {shape.pods_at_desired_size} serving pods, so "
            f"pods KEDA adds above that, up to {shape.scaling.maximum}, stay Pending (the Neuron node group does not "
            "grow by itself); raise desiredNodes or lower maxReplicas"))
    devices = shape.desired_nodes * facts.neuron_devices
    used = min(shape.fewest_replicas, shape.pods_at_desired_size) * shape.devices_per_replica
    if devices > used and shape.scaling:
        warnings.append(("minReplicas",
            f"at {shape.scaling.minimum} pod(s), {devices - used} of {devices} Neuron devices at desiredNodes stay "
            "idle (paid for, unused) whenever demand is low; lower desiredNodes or raise minReplicas"))
    elif devices > used:
        warnings.append(("replicas",
            f"{devices - used} of {devices} Neuron devices at desiredNodes stay idle (paid for, unused); "
            "lower desiredNodes or raise replicas or neuronDevicesPerReplica"))
    return warnings


def rollout_strategy(shape: ServingShape) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) for the serving Deployment at the desired size.

    With room for one more pod, surge and keep every replica serving. With every slot taken
    (the walkthrough's 2 x inf1.2xlarge and 2 single-device replicas) a surge pod never
    schedules and the rollout, and `pulumi up`, would wait forever: replace pods one at a time.

    With autoscaling the strategy is fixed while the replica count moves, so it is judged at
    maxReplicas: a rollout that starts while KEDA runs the most pods must still finish. Replacing
    one at a time costs a slower rollout at lower counts, never a stuck one.
    """
    if shape.pods_at_desired_size >= shape.most_replicas + 1:
        return 1, 0
    return 0, 1
