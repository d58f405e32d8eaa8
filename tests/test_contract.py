"""The outputs contract: the README's outputs table is generated from `OUTPUTS`."""

from __future__ import annotations

from typing import Any

import pytest

from eks_inferentia import contract
from eks_inferentia.contract import OUTPUTS, StackOutputs, outputs_table


def test_outputs_table_is_a_markdown_table_with_one_row_per_output_in_order() -> None:
    lines = outputs_table().splitlines()
    assert lines[:2] == ["| output | type | description |", "|---|---|---|"]
    assert len(lines) == 2 + len(OUTPUTS)
    assert lines[2] == ("| `contractVersion` | integer | Version of this outputs contract; bumped when an output is "
                        "removed or retyped. |")
    assert lines[4] == ("| `kubeconfig` | string (secret) | Kubeconfig (JSON) for the cluster; authenticates with "
                        "`aws eks get-token`. |")
    assert [line.split("`")[1] for line in lines[2:]] == [spec.name for spec in OUTPUTS]


def test_export_exports_every_output_by_name_and_only_the_secret_ones_as_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    exported: dict[str, object] = {}
    monkeypatch.setattr(contract.pulumi, "export", lambda name, value: exported.setdefault(name, value))
    monkeypatch.setattr(contract.pulumi.Output, "secret", staticmethod(lambda value: ("secret", value)))
    values: dict[str, Any] = {spec.name: f"{spec.name} value" for spec in OUTPUTS}
    StackOutputs(**values).export()
    assert list(exported) == [spec.name for spec in OUTPUTS]
    assert exported["kubeconfig"] == ("secret", "kubeconfig value")
    assert {name: value for name, value in exported.items() if name != "kubeconfig"} == {
        spec.name: f"{spec.name} value" for spec in OUTPUTS if spec.name != "kubeconfig"}
