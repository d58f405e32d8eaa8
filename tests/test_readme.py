"""The README's commands do what it says: the make targets it names exist and `make help` lists them,
the modules it runs import, the config errors it shows are the ones the program prints, its render
example is valid and warning-free, its backend is the Makefile's, and the consumer steps are the
consumer README's."""

from __future__ import annotations

import importlib
import os
import re
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path

from tools import render
from tools.mock_engine import ProgramRun

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
MAKEFILE = (ROOT / "Makefile").read_text()
CONSUMER_README = (ROOT / "examples" / "consumer" / "README.md").read_text()
# make's own environment, without a backend the developer running the tests may have exported.
MAKE_ENV = {k: v for k, v in os.environ.items() if k not in ("PULUMI_BACKEND_URL", "MAKEFLAGS", "MAKELEVEL")}


def _code_blocks(text: str) -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```", text, re.S | re.M)


def _make_targets_named(text: str) -> set[str]:
    """`make X` in inline code, at the start of a code line, or inside `$(...)`."""
    return set(re.findall(r"(?:`|^|\$\()make ([a-z][\w-]*)", text, re.M))


def _make(*args: str) -> str:
    return subprocess.run(["make", "-s", *args], cwd=ROOT, env=MAKE_ENV, capture_output=True, text=True,
                          check=True).stdout


def test_every_make_target_the_readme_names_exists_and_make_help_lists_it() -> None:
    named = _make_targets_named(README)
    assert {"up", "test", "render", "env", "preview", "destroy", "schema", "bench", "policy", "checkers"} <= named
    defined = set(re.findall(r"^([a-z][\w-]*):", MAKEFILE, re.M))
    assert named <= defined, f"the README names targets the Makefile lacks: {sorted(named - defined)}"
    listed = set(re.findall(r"^make ([a-z][\w-]*)", _make("help"), re.M))
    assert named <= listed, f"`make help` does not list: {sorted(named - listed)}"


def test_every_python_module_the_readme_runs_imports() -> None:
    modules = set(re.findall(r"python3? -m ([\w.]+)", README))
    assert {"tools.render", "client.predict", "client.status", "client.chat", "client.loadtest"} <= modules
    for module in sorted(modules):
        importlib.import_module(module)


def test_python_is_run_one_way_everywhere() -> None:
    # `.venv/bin/python`: a bare `python` has none of the project's packages. The client-error bullets
    # ("- ...") belong to the client's owner and are left out here.
    bare = [line for line in README.splitlines() if not line.startswith("- ")
            for prefix in re.findall(r"(\S*)python3? -m ", line) if not prefix.endswith(".venv/bin/")]
    assert bare == []


def test_the_documented_config_errors_are_what_the_program_prints(capsys) -> None:
    (block,) = [b for b in _code_blocks(README) if b.startswith("$ .venv/bin/python -m tools.render")]
    command, *expected = block.rstrip("\n").splitlines()
    args = shlex.split(command)[4:]  # after `$ .venv/bin/python -m tools.render`
    assert render.main(args) == 2
    assert capsys.readouterr().err.splitlines() == expected


def test_the_render_example_is_valid_and_warning_free(capsys, tmp_path: Path) -> None:
    examples = [line.split("python -m tools.render", 1)[1] for block in _code_blocks(README)
                for line in block.splitlines() if "python -m tools.render" in line and not line.startswith("$")]
    assert examples
    for example in examples:
        args = [str(tmp_path) if arg == "DIR" else arg for arg in shlex.split(example)]
        assert render.main(args) == 0, example
        err = capsys.readouterr().err
        assert "warning:" not in err, (example, err)


def test_the_readme_and_the_makefile_name_one_backend_and_make_env_exports_it() -> None:
    assert re.findall(r"^export PULUMI_BACKEND_URL \?= (\S+)$", MAKEFILE, re.M) == ["file://$(CURDIR)/.pulumi-state"]
    assert "PULUMI_BACKEND_URL=file://$PWD/.pulumi-state" in README and "file://./" not in README
    assert _make("env") == f"export PULUMI_BACKEND_URL='file://{ROOT}/.pulumi-state'\n"
    exported = subprocess.run(["sh", "-c", 'eval "$(make -s env)" && printf %s "$PULUMI_BACKEND_URL"'], cwd=ROOT,
                              env=MAKE_ENV, capture_output=True, text=True, check=True).stdout
    assert exported == f"file://{ROOT}/.pulumi-state"


def test_bare_pulumi_commands_come_after_the_readme_says_to_eval_make_env() -> None:
    first_eval = README.index('eval "$(make env)"')
    for command in ("pulumi stack output", "pulumi config set", "pulumi preview --"):
        assert first_eval < README.index(command), command


def test_the_consumer_steps_are_the_consumer_readmes() -> None:
    def steps(text: str) -> str:
        (block,) = [b for b in _code_blocks(text) if b.startswith("cd examples/consumer\n")]
        return block

    assert steps(README) == steps(CONSUMER_README)


def test_the_smoke_test_log_command_selects_the_jobs_pods(run_stack: Callable[..., ProgramRun]) -> None:
    assert "logs job/<name>" not in README
    (selector,) = re.findall(r"logs -l ([\w./-]+=[\w.-]+)", README)
    key, value = selector.split("=")
    job = run_stack().one("kubernetes:batch/v1:Job")
    assert job.inputs["spec"]["template"]["metadata"]["labels"][key] == value


def test_the_aws_cli_the_readme_asks_for_is_the_one_make_accepts() -> None:
    assert "AWS CLI v2" in README
    assert "grep -q '^aws-cli/2\\.'" in MAKEFILE  # what it refuses: tests/test_makefile.py


def test_the_vllm_stack_example_is_valid_and_draws_no_warning_but_the_api_one() -> None:
    import yaml

    from eks_inferentia.config import config_warnings, load_config

    (block,) = [b for b in _code_blocks(README) if "eks-inferentia:servingRuntime: vllm" in b]
    settings = yaml.safe_load(block)["config"]
    config = load_config({k: str(v) for k, v in settings.items() if k.startswith("eks-inferentia:")},
                         region=settings["aws:region"])
    assert (config.serving_runtime, config.tensor_parallel_size, config.model_size_gib) == ("vllm", 2, 15)
    assert [w.split(":")[1] for w in config_warnings(config)] == ["apiAllowedCidrs"]
