"""Facts about the EC2 instance types that carry AWS Neuron devices.

One table, one row per instance type. Sources: the EC2 instance type pages for Inf1, Inf2,
Trn1 and Trn2 and the Neuron SDK's "Neuron hardware" pages. `neuron_devices` is what the
Neuron device plugin advertises as `aws.amazon.com/neuron` on a node (one per Inferentia or
Trainium chip); `neuron_cores` is the number of NeuronCores across those devices.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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


@dataclass(frozen=True)
class InstanceTypeFacts:
    name: str
    family: NeuronFamily
    neuron_devices: int
    neuron_cores: int
    vcpus: int
    memory_gib: int


def _row(name: str, devices: int, cores: int, vcpus: int, memory_gib: int) -> InstanceTypeFacts:
    family = NeuronFamily(name.split(".", 1)[0])
    return InstanceTypeFacts(name, family, devices, cores, vcpus, memory_gib)


INSTANCE_TYPES: dict[str, InstanceTypeFacts] = {
    row.name: row
    for row in (
        # Inf1: AWS Inferentia, 4 NeuronCores per chip.
        _row("inf1.xlarge", 1, 4, 4, 8),
        _row("inf1.2xlarge", 1, 4, 8, 16),
        _row("inf1.6xlarge", 4, 16, 24, 48),
        _row("inf1.24xlarge", 16, 64, 96, 192),
        # Inf2: AWS Inferentia2, 2 NeuronCores-v2 per chip.
        _row("inf2.xlarge", 1, 2, 4, 16),
        _row("inf2.8xlarge", 1, 2, 32, 128),
        _row("inf2.24xlarge", 6, 12, 96, 384),
        _row("inf2.48xlarge", 12, 24, 192, 768),
        # Trn1/Trn1n: AWS Trainium, 2 NeuronCores-v2 per chip.
        _row("trn1.2xlarge", 1, 2, 8, 32),
        _row("trn1.32xlarge", 16, 32, 128, 512),
        _row("trn1n.32xlarge", 16, 32, 128, 512),
        # Trn2: AWS Trainium2, 8 physical NeuronCores-v3 per chip.
        _row("trn2.48xlarge", 16, 128, 192, 2048),
    )
}


def supported_instance_types() -> list[str]:
    return sorted(INSTANCE_TYPES)
