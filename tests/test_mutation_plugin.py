"""tools/mutation_plugin.py: each module's mutants run against the tests that mirror it."""

from __future__ import annotations

from tools.mutation_plugin import cut_to_own_tests, own_tests


def test_each_module_maps_to_the_test_file_that_mirrors_it() -> None:
    assert own_tests("eks_inferentia.capacity") == ("tests/test_capacity.py",)
    assert own_tests("components.serving") == ("tests/components/test_serving.py", "tests/test_identities.py")
    assert own_tests("eks_inferentia.images") == ("tests/components/test_serving.py",)
    assert own_tests("client.common") is None  # every covering test


def test_the_cut_keeps_own_tests_and_leaves_a_function_without_any_as_it_was() -> None:
    tests = {
        "eks_inferentia.capacity.x_rollout_strategy": {"tests/test_capacity.py::test_a", "tests/test_main.py::test_b[dev]"},
        "eks_inferentia.contract.xǁStackOutputsǁexport": {"tests/test_main.py::test_c"},
        "client.common.x_run": {"tests/client/test_common.py::test_d", "tests/test_readme.py::test_e"},
    }
    cut_to_own_tests(tests)
    assert tests == {
        "eks_inferentia.capacity.x_rollout_strategy": {"tests/test_capacity.py::test_a"},
        "eks_inferentia.contract.xǁStackOutputsǁexport": {"tests/test_main.py::test_c"},
        "client.common.x_run": {"tests/client/test_common.py::test_d", "tests/test_readme.py::test_e"},
    }
