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


def test_every_module_of_the_cut_packages_maps_to_test_files_that_exist() -> None:
    # A file that does not exist cuts a module's tests to none of its own, silently: the identity tests alone.
    from pathlib import Path

    for package in ("components", "eks_inferentia"):
        for module in sorted(Path(package).glob("*.py")):
            if module.stem == "__init__":
                continue
            files = own_tests(f"{package}.{module.stem}")
            assert files, module
            missing = [file for file in files if not Path(file).is_file()]
            assert not missing, (module, missing)


def test_the_mutation_runs_test_selection_names_files_and_tests_that_exist() -> None:
    # pytest ignores a --deselect that matches nothing: a renamed test would silently be run (and break the
    # stats run) or an --ignore would keep a path that is no longer there.
    import tomllib
    from pathlib import Path

    selection = tomllib.loads(Path("pyproject.toml").read_text())["tool"]["mutmut"]["pytest_add_cli_args_test_selection"]
    for argument in selection:
        option, _, target = argument.partition("=")
        if option == "--ignore":
            assert Path(target).exists(), argument
        elif option == "--deselect":
            file, _, test = target.partition("::")
            assert f"def {test.partition('[')[0]}(" in Path(file).read_text(), argument
        else:
            assert Path(argument).is_dir(), argument
