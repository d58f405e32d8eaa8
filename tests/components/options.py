"""A component declared on its own, under options the program itself never passes it.

`__main__.py` passes no `opts` to most components; a component that dropped the caller's options would
still deploy the same stack. These helpers declare one component with a parent and a dependency, so its
tests can check that what the caller asked for reaches the component's registration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from tools.mock_engine import ProgramRun, Registration, run_program
from tools.render import stack_config


@dataclass
class Declared:
    run: ProgramRun
    owner: Registration
    """The parent component the caller gave."""
    before: Registration
    """The resource the caller made the component depend on."""

    def component(self, type_: str) -> Registration:
        return self.run.one(type_)


def declared_with_options(declare: Callable[[pulumi.ResourceOptions], object]) -> Declared:
    """Run `declare(opts)` as the whole program, `opts` naming a parent component and a dependency."""

    def program() -> None:
        owner = pulumi.ComponentResource("test:index:Owner", "owner")
        before = aws.s3.BucketV2("before", opts=pulumi.ResourceOptions(parent=owner))
        declare(pulumi.ResourceOptions(parent=owner, depends_on=[before]))

    run = run_program(stack_config("dev"), program=program)
    return Declared(run, run.one("test:index:Owner"), run.one("aws:s3/bucketV2:BucketV2"))
