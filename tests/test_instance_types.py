"""The Neuron instance-type table: one row per type, its family read from the name."""

from __future__ import annotations

from dataclasses import astuple

import pytest

from eks_inferentia.instance_types import (
    INSTANCE_TYPES,
    NeuronFamily,
    _row,  # the table is built at import; a row is rebuilt here to test it
    supported_instance_types,
)


@pytest.mark.parametrize("name", sorted(INSTANCE_TYPES))
def test_a_row_holds_its_facts_in_order_and_its_family_from_the_name(name: str) -> None:
    facts = INSTANCE_TYPES[name]
    numbers = (facts.neuron_devices, facts.neuron_cores, facts.vcpus, facts.memory_gib, facts.max_pods)
    row = _row(name, *numbers)
    assert row == facts
    assert astuple(row) == (name, NeuronFamily(name.split(".")[0]), *numbers)


def test_supported_instance_types_are_the_table_sorted() -> None:
    assert supported_instance_types()[:3] == ["inf1.24xlarge", "inf1.2xlarge", "inf1.6xlarge"]
    assert supported_instance_types() == sorted(INSTANCE_TYPES)
