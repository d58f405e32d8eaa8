"""pytest plugin for `make mutation`: tell mutmut every test that exercises a function, not only the first.

mutmut runs each mutant against the tests that called the mutated function in its "stats" run, which it
learns by recording, per test, the functions called between two teardowns. The suite caches what is
expensive: `run_stack` keeps one run of the program per config for the whole session, and a few modules
render the stacks once in a module-scoped fixture. A test that reuses a cached run calls nothing itself,
so mutmut would give the mutant only the first test that used that config and never the ones that
assert the property the mutant breaks; the mutant would survive for the wrong reason.

During the stats run only (`MUTANT_UNDER_TEST=stats`), this plugin
- remembers the functions each fixture's setup called and adds them to every test that uses the fixture;
- wraps the `run_stack` function so that a cached run adds the functions its first run called.
Mutant runs and plain `pytest` are untouched. Loaded with `-p tools.mutation_plugin` (pyproject's
[tool.mutmut] pytest_add_cli_args); mutmut is imported lazily, so the module imports without it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CACHED_FIXTURES = ("run_stack",)
"""Session fixtures that return a caching function: each call is attributed to the test that makes it."""


def _stats_run() -> bool:
    return os.environ.get("MUTANT_UNDER_TEST") == "stats"


@contextmanager
def _hits() -> Iterator[set[str]]:
    """Collect the functions mutmut records inside the block, and keep them recorded for the current test."""
    from mutmut.state import state

    outer = state()._stats
    inner: set[str] = set()
    state()._stats = inner
    try:
        yield inner
    finally:
        state()._stats = outer
        outer.update(inner)


class _Attributing:
    """A caching function's stand-in: a call whose result came from the cache still records what it ran."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.hits_by_call: dict[str, set[str]] = {}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from mutmut.state import state

        key = repr((args, sorted(kwargs.items())))
        with _hits() as hits:
            try:
                return self.function(*args, **kwargs)
            finally:
                self.hits_by_call.setdefault(key, set()).update(hits)
                state()._stats.update(self.hits_by_call[key])


_hits_by_fixture: dict[tuple[str, str], set[str]] = {}


def _fixture_key(fixturedef: pytest.FixtureDef[Any]) -> tuple[str, str]:
    return fixturedef.argname, str(fixturedef.baseid)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Generator[None, Any, Any]:
    if not _stats_run():
        return (yield)
    with _hits() as hits:
        result = yield
    _hits_by_fixture.setdefault(_fixture_key(fixturedef), set()).update(hits)
    if fixturedef.argname in CACHED_FIXTURES and callable(result):
        result = _Attributing(result)
        # pytest hands later requests the cached value, not this hook's result: cache the stand-in.
        assert fixturedef.cached_result is not None
        fixturedef.cached_result = (result, *fixturedef.cached_result[1:])
    return result


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Before mutmut's own teardown hook files this test's calls: add those of the fixtures it used."""
    if not _stats_run():
        return
    from mutmut.state import state

    fixtures = getattr(item, "_fixtureinfo", None)
    if fixtures is None:
        return
    for name in fixtures.names_closure:
        for fixturedef in fixtures.name2fixturedefs.get(name, ()):
            state()._stats.update(_hits_by_fixture.get(_fixture_key(fixturedef), set()))


# --- each module against its own tests ------------------------------------------------------------
#
# Every program run under the mock engine calls config, the components and most of eks_inferentia, so
# with every covering test a mutant there re-runs the program for test after test in a freshly forked
# worker (a few mutants a minute). At the end of the stats run the tests of each function of
# `eks_inferentia` and `components` are cut to the test files that mirror its module (tests/ mirrors
# the packages), unless that leaves none. Fewer tests can only let more mutants survive: the scores
# are lower bounds. `client` keeps every covering test (its tests are fast and not one file a module).

IDENTITY_TESTS = "tests/test_identities.py"
OWN_TESTS: dict[str, tuple[str, ...]] = {
    # the config rules of nodeProvisioner karpenter have their own test file.
    "eks_inferentia.config": ("tests/test_config.py", "tests/test_config_karpenter.py"),
    "eks_inferentia.images": ("tests/components/test_serving.py",),
    # docs/alerts.md is the rules written out, and docs/cli.md the pod scripts' --help: their tests check the code.
    "eks_inferentia.metrics": ("tests/test_metrics.py", "tests/test_alerts_reference.py"),
    "eks_inferentia.model_sync": ("tests/test_model_sync.py", "tests/test_cli_reference.py"),
    "eks_inferentia.model_copy": ("tests/test_model_copy.py", "tests/test_cli_reference.py"),
    "eks_inferentia.versions": ("tests/components/test_addons.py", "tests/test_config.py",
                                "tests/components/test_device_plugin.py"),
    "components.node_parts": ("tests/components/test_node_group.py", "tests/components/test_system_node_group.py",
                              IDENTITY_TESTS),
    "components.pod_security": ("tests/components/test_pod_security.py", "tests/components/test_serving.py",
                                "tests/components/test_smoke_test.py", IDENTITY_TESTS),
    # declare_serving picks the serving component for the runtime; each component's tests run it.
    "components.serving_runtime": ("tests/components/test_serving.py", "tests/components/test_vllm_serving.py",
                                   IDENTITY_TESTS),
    # NeuronMonitor is declared by the monitoring stack and tested with it.
    "components.neuron_monitor": ("tests/components/test_monitoring.py", IDENTITY_TESTS),
}


def own_tests(module: str) -> tuple[str, ...] | None:
    """The test files a module's mutants run against; None: every test that covers them."""
    if module in OWN_TESTS:
        return OWN_TESTS[module]
    package, _, name = module.partition(".")
    if package == "eks_inferentia":
        return (f"tests/test_{name}.py",)
    if package == "components":
        # Every component's resource identities, provider and registered outputs are checked in one place.
        return (f"tests/components/test_{name}.py", IDENTITY_TESTS)
    return None


def cut_to_own_tests(tests_by_function: dict[str, set[str]]) -> None:
    """Keep, for each mutated function, only the covering tests in its module's own test files."""
    for function, tests in tests_by_function.items():
        own = own_tests(".".join(function.split(".")[:2]))
        if own is None:
            continue
        kept = {test for test in tests if test.split("::", 1)[0] in own}
        if kept:
            tests.intersection_update(kept)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After the stats run, before mutmut saves it: cut each function's tests to its module's own."""
    if not _stats_run() or os.environ.get("MUTATION_ALL_TESTS"):
        return
    from mutmut.state import state

    cut_to_own_tests(state().tests_by_mangled_function_name)
