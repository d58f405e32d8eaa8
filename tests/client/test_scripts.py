"""The console scripts (client/scripts.py) run `client.<command>.main` and return its exit code; without the
client extra they say, in one line, what to install. In-process: test_packaging runs them installed, in another
process, where mutation testing cannot see them."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pytest

from client import scripts
from client.common import EXIT_USAGE

COMMANDS = ("predict", "status", "loadtest", "chat")


def test_each_script_runs_its_commands_main_and_returns_its_exit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    def fake_main(command: str, code: int) -> Callable[[], int]:
        def main() -> int:
            ran.append(command)
            return code
        return main

    for code, command in enumerate(COMMANDS, start=10):
        monkeypatch.setattr(importlib.import_module(f"client.{command}"), "main", fake_main(command, code))

    assert [getattr(scripts, command)() for command in COMMANDS] == [10, 11, 12, 13]
    assert ran == list(COMMANDS)


@pytest.mark.parametrize("missing", ["numpy", "PIL", "grpc", "google.protobuf"])
def test_a_missing_client_dependency_is_one_line_naming_the_extra(missing: str, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    def import_module(name: str) -> None:
        assert name == "client.predict"
        raise ModuleNotFoundError(f"No module named {missing!r}", name=missing)

    monkeypatch.setattr(importlib, "import_module", import_module)

    assert scripts.predict() == EXIT_USAGE == 2
    assert capsys.readouterr() == ("", f"error: eks-inferentia-predict needs the client's dependencies, and {missing} is not "
                                       "installed: pip install 'eks-inferentia[client]'\n")


def test_any_other_missing_module_is_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    """A module the extra does not provide is a bug or a broken install, not a missing extra: its traceback shows."""
    def import_module(name: str) -> None:
        raise ModuleNotFoundError("No module named 'client.helpers'", name="client.helpers")

    monkeypatch.setattr(importlib, "import_module", import_module)

    with pytest.raises(ModuleNotFoundError, match=r"client\.helpers"):
        scripts.status()
