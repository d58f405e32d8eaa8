"""Facts about the EC2 instance types that carry AWS Neuron devices.

One table, one row per instance type. Sources: the EC2 instance type pages for Inf1, Inf2,
Trn1 and Trn2 and the Neuron SDK's "Neuron hardware" pages. `neuron_devices` is what the
Neuron device plugin advertises as `aws.amazon.com/neuron` on a node (one per Inferentia or
Trainium chip); `neuron_cores` is the number of NeuronCores across those devices. `max_pods`
is the VPC CNI limit from awslabs/amazon-eks-ami `templates/shared/runtime/eni-max-pods.txt`.

`logical_cores_per_device` is what a program such as vLLM counts as one NeuronCore for tensor parallelism:
the physical cores on Inf2 and Trn1 (2 NeuronCores-v2 per chip: Neuron SDK "Inferentia2" and "Trainium"
architecture pages), and on Trn2 the Logical NeuronCores of the default configuration, LNC=2 (8 physical
NeuronCores-v3 per chip grouped into 4: Neuron SDK "Logical NeuronCore configuration", aws-neuron-sdk
@ 81ce03a `about-neuron/arch/neuron-features/logical-neuroncore-config.rst`). Inf1 has no entry: nothing
here parallelises over its cores.

`allocatable_cpu` and `allocatable_memory` estimate what the kubelet offers pods, with the
kube-reserved formulas of the EKS-optimized AMIs (CPU: 6% of the first core, 1% of the second,
0.5% of the next two, 0.25% of the rest; memory: 255Mi + 11Mi per pod, at most 110 pods
counted as nodeadm caps them) and the 100Mi hard eviction threshold. DaemonSets (VPC CNI,
kube-proxy, the Neuron device plugin) take a little more: this is an upper bound, used to
refuse requests that can never fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from eks_inferentia.quantity import MIB


class NeuronFamily(StrEnum):
    """Instance families, grouped by the Neuron software stack they need."""

    INF1 = "inf1"
    INF2 = "inf2"
    TRN1 = "trn1"
    TRN1N = "trn1n"
    TRN2 = "trn2"

    @property
    def uses_neuronx(self) -> bool:
        """Inf2 and Trainium run the `neuronx` (NeuronCore-v2+) stack; Inf1 runs the original one."""
        return self is not NeuronFamily.INF1

    @property
    def neuron_core_version(self) -> int:
        """The NeuronCore generation: v1 (Inf1), v2 (Inf2, Trn1, Trn1n), v3 (Trn2). A model compiled for one
        generation does not load on another, so one NodePool mixes types of one generation only."""
        return {NeuronFamily.INF1: 1, NeuronFamily.TRN2: 3}.get(self, 2)


@dataclass(frozen=True)
class InstanceTypeFacts:
    name: str
    family: NeuronFamily
    neuron_devices: int
    neuron_cores: int
    vcpus: int
    memory_gib: int
    max_pods: int

    @property
    def allocatable_cpu(self) -> Fraction:
        """Cores the kubelet can give pods (upper bound; see the module docstring)."""
        reserved = Fraction(0)
        for core in range(1, self.vcpus + 1):
            reserved += Fraction(6, 100) if core == 1 else Fraction(1, 100) if core == 2 else \
                Fraction(5, 1000) if core <= 4 else Fraction(25, 10000)
        return self.vcpus - reserved

    @property
    def allocatable_memory(self) -> Fraction:
        """Bytes the kubelet can give pods (upper bound; see the module docstring)."""
        reserved_mib = 255 + 11 * min(self.max_pods, 110) + 100
        return Fraction(self.memory_gib * 1024 - reserved_mib) * MIB

    @property
    def logical_cores_per_device(self) -> int:
        """NeuronCores of one device that tensor parallelism counts (see the module docstring); 0 on Inf1."""
        return LOGICAL_CORES_PER_DEVICE.get(self.family, 0)

    @property
    def is_trainium(self) -> bool:
        return self.family in (NeuronFamily.TRN1, NeuronFamily.TRN1N, NeuronFamily.TRN2)


# Logical NeuronCores per device (module docstring): Trn2 at its default LNC=2, 8 physical cores as 4.
LOGICAL_CORES_PER_DEVICE: dict[NeuronFamily, int] = {
    NeuronFamily.INF2: 2,
    NeuronFamily.TRN1: 2,
    NeuronFamily.TRN1N: 2,
    NeuronFamily.TRN2: 4,
}

# Device counts a Trainium pod may ask for: Trainium devices sit on a ring, and only groups
# of these sizes are contiguous on every Trainium instance.
TRAINIUM_DEVICE_COUNTS = (1, 4, 8, 16)


def _row(name: str, devices: int, cores: int, vcpus: int, memory_gib: int, max_pods: int) -> InstanceTypeFacts:
    family = NeuronFamily(name.split(".", 1)[0])
    return InstanceTypeFacts(name, family, devices, cores, vcpus, memory_gib, max_pods)


INSTANCE_TYPES: dict[str, InstanceTypeFacts] = {
    row.name: row
    for row in (
        # Inf1: AWS Inferentia, 4 NeuronCores per chip.
        _row("inf1.xlarge", 1, 4, 4, 8, 38),
        _row("inf1.2xlarge", 1, 4, 8, 16, 38),
        _row("inf1.6xlarge", 4, 16, 24, 48, 234),
        _row("inf1.24xlarge", 16, 64, 96, 192, 321),
        # Inf2: AWS Inferentia2, 2 NeuronCores-v2 per chip.
        _row("inf2.xlarge", 1, 2, 4, 16, 58),
        _row("inf2.8xlarge", 1, 2, 32, 128, 234),
        _row("inf2.24xlarge", 6, 12, 96, 384, 737),
        _row("inf2.48xlarge", 12, 24, 192, 768, 737),
        # Trn1/Trn1n: AWS Trainium, 2 NeuronCores-v2 per chip.
        _row("trn1.2xlarge", 1, 2, 8, 32, 58),
        _row("trn1.32xlarge", 16, 32, 128, 512, 247),
        _row("trn1n.32xlarge", 16, 32, 128, 512, 247),
        # Trn2: AWS Trainium2, 8 physical NeuronCores-v3 per chip.
        _row("trn2.48xlarge", 16, 128, 192, 2048, 100),
    )
}


def supported_instance_types() -> list[str]:
    return sorted(INSTANCE_TYPES)
