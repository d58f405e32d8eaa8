"""The outputs contract: the README's outputs table is generated from `OUTPUTS`."""

from __future__ import annotations

from eks_inferentia.contract import OUTPUTS, outputs_table


def test_outputs_table_is_a_markdown_table_with_one_row_per_output_in_order() -> None:
    lines = outputs_table().splitlines()
    assert lines[:2] == ["| output | type | description |", "|---|---|---|"]
    assert len(lines) == 2 + len(OUTPUTS)
    assert lines[2] == ("| `contractVersion` | integer | Version of this outputs contract; bumped when an output is "
                        "removed or retyped. |")
    assert lines[4] == ("| `kubeconfig` | string (secret) | Kubeconfig (JSON) for the cluster; authenticates with "
                        "`aws eks get-token`. |")
    assert [line.split("`")[1] for line in lines[2:]] == [spec.name for spec in OUTPUTS]
