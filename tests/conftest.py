"""Shared fixtures: the program run offline under the mock engine (tools/mock_engine.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tools.mock_engine import ProgramRun, run_program
from tools.render import stack_config


@pytest.fixture(scope="session")
def run_stack() -> Callable[..., ProgramRun]:
    """Run the program for a stack with overrides; runs are cached, the program is deterministic."""
    cache: dict[tuple, ProgramRun] = {}

    def run(stack: str = "dev", preview: bool = False, **overrides: Any) -> ProgramRun:
        """An override of None removes the key from the stack's config (`pulumi config rm`)."""
        key = (stack, preview, tuple(sorted((k, repr(v)) for k, v in overrides.items())))
        if key not in cache:
            config = stack_config(stack)
            config.update({f"eks-inferentia:{k}": v for k, v in overrides.items() if v is not None})
            for removed in (k for k, v in overrides.items() if v is None):
                config.pop(f"eks-inferentia:{removed}", None)
            cache[key] = run_program(config, stack=stack, preview=preview,
                                     region=str(config.get("aws:region", "us-west-2")))
        return cache[key]

    return run
