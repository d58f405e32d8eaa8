"""docs/cli.md, the command-line reference, is what the commands' parsers print for `--help` now
(tools/cli_reference.py; `make docs` rewrites it), lists every option each parser accepts but the hidden ones,
each with its help, and reads the same whatever the terminal."""

from __future__ import annotations

import argparse
import os
import re
import tomllib
from pathlib import Path

import pytest

from eks_inferentia import model_sync
from tools import cli_reference
from tools.cli_reference import CLIENT, COMMANDS, DOC, Command, reference

ROOT = Path(__file__).resolve().parent.parent


def _sections() -> dict[str, str]:
    """docs/cli.md's text under each `### \\`command\\`` heading, by command."""
    parts = re.split(r"^### `([^`]+)`\n", (ROOT / DOC).read_text(), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _names(action: argparse.Action) -> list[str]:
    return list(action.option_strings) or [str(action.metavar or action.dest)]


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


def test_docs_cli_md_is_what_the_parsers_print_now() -> None:
    assert (ROOT / DOC).read_text() == reference(), f"{DOC} is out of date: run `make docs`"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: command.run)
def test_the_reference_lists_every_option_the_parser_declares_with_its_help(command: Command) -> None:
    section = _sections()[command.run]
    parser = command.parser()
    assert parser.prog == command.run  # the heading is what the usage line names, on every machine
    for action in parser._actions:
        if action.help == argparse.SUPPRESS:
            assert not any(_mentions(section, name) for name in _names(action)), f"{command.run}: {_names(action)} is hidden"
            continue
        assert action.help, f"{command.run}: {_names(action)} has no help: give it one, then run `make docs`"
        for name in _names(action):
            assert _mentions(section, name), f"{command.run}: {name} is missing from {DOC}: run `make docs`"


def test_the_client_commands_are_the_console_scripts() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    by_run = {command.run: command for command in CLIENT}
    assert set(by_run) == {f"python -m client.{target.removeprefix('client.scripts:')}" for target in scripts.values()}
    for script, target in scripts.items():
        assert by_run[f"python -m client.{target.removeprefix('client.scripts:')}"].note.startswith(f"Console script: `{script}`")


def test_model_syncs_test_only_flag_is_accepted_but_left_out_of_the_reference() -> None:
    args = model_sync.make_parser().parse_args(["--source", "s3://b/m/", "--dest", "d", "--staging", "s", "--once",
                                                "--rounds", "2"])
    assert args.rounds == 2
    assert "--rounds" not in _sections()["model_sync.py"]


def test_the_reference_does_not_depend_on_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    wide = reference()
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("PYTHON_COLORS", raising=False)

    assert reference() == wide
    help_lines = [line for block in re.findall(r"^```text\n(.*?)^```", wide, re.S | re.M) for line in block.splitlines()]
    assert len(help_lines) > 100 and max(map(len, help_lines)) <= cli_reference.WIDTH
    assert "\x1b" not in wide
    # The environment is as it was.
    assert (os.environ["COLUMNS"], "NO_COLOR" in os.environ, "PYTHON_COLORS" in os.environ) == ("40", False, False)


def test_make_docs_writes_the_reference_and_check_says_when_it_is_out_of_date(tmp_path: Path,
                                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_reference.main(["--check"], root=tmp_path) == 1
    assert capsys.readouterr().err == "docs/cli.md is out of date: run `make docs`\n"
    assert not (tmp_path / DOC).exists()

    assert cli_reference.main([], root=tmp_path) == 0
    assert capsys.readouterr().err == "rewrote docs/cli.md\n"
    assert (tmp_path / DOC).read_text() == reference()

    assert cli_reference.main(["--check"], root=tmp_path) == 0
    assert capsys.readouterr().err == "docs/cli.md is up to date\n"


def _github_anchor(heading: str) -> str:
    """The fragment GitHub gives a heading: lower case, punctuation but `-` and `_` dropped, spaces as `-`."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_the_readme_links_each_client_commands_reference() -> None:
    readme = (ROOT / "README.md").read_text()
    anchors = set(re.findall(r"\]\(docs/cli\.md#([\w-]+)\)", readme))
    assert anchors == {_github_anchor(f"`python -m client.{name}`") for name in ("predict", "loadtest", "chat")}
    headings = {_github_anchor(heading) for heading in re.findall(r"^#+ (.+)$", (ROOT / DOC).read_text(), re.M)}
    assert anchors <= headings
