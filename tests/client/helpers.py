"""Helpers for the client's tests."""

from __future__ import annotations

COLORS = {"red": (230, 20, 30), "green": (25, 200, 40), "blue": (20, 30, 220)}
"""Test colours (RGB) by the name of their dominant channel."""


def assert_one_error_line(err: str, *expected: str) -> None:
    """stderr is exactly one line, `error: ...`, with each expected text and no traceback."""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {err!r}"
    assert lines[0].startswith("error: "), lines[0]
    for text in expected:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"
