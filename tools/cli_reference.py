"""Write docs/cli.md, the command-line reference: each command's `--help`, as its parser prints it.

`make docs` (`.venv/bin/python -m tools.cli_reference`) rewrites it from the code; `--check` only says whether
it is out of date, and tests/test_cli_reference.py fails when it is.

argparse wraps its help to the terminal's width (`shutil.get_terminal_size`, which reads COLUMNS first) and,
from Python 3.14, colours it on a terminal: the reference is formatted at `WIDTH` columns without colour,
whatever the terminal, so it is the same on every machine and in CI. Each parser names its own `prog`.
argparse's layout changes a little between Python versions: regenerate it with the project's (CI's) 3.11.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from client.chat import make_chat_parser
from client.loadtest import make_loadtest_parser
from client.predict import make_predict_parser
from client.status import make_status_parser
from eks_inferentia import model_copy, model_sync

ROOT = Path(__file__).resolve().parent.parent
DOC = Path("docs") / "cli.md"
WIDTH = 100
"""The terminal width the reference is formatted for (argparse leaves two columns free)."""
FIXED_TERMINAL = {"COLUMNS": str(WIDTH), "NO_COLOR": "1", "PYTHON_COLORS": "0"}


@dataclass(frozen=True)
class Command:
    run: str
    """How it is run, the heading: its parser's `prog`."""
    parser: Callable[[], argparse.ArgumentParser]
    note: str
    """One line under the heading."""


CLIENT = (
    Command("python -m client.predict", make_predict_parser, "Console script: `eks-inferentia-predict`."),
    Command("python -m client.status", make_status_parser, "Console script: `eks-inferentia-status`."),
    Command("python -m client.loadtest", make_loadtest_parser, "Console script: `eks-inferentia-loadtest`."),
    Command("python -m client.chat", make_chat_parser, "Console script: `eks-inferentia-chat` (standard library only)."),
)
POD_SCRIPTS = (
    Command("model_sync.py", model_sync.make_parser,
            "TensorFlow Serving's copy of the model (`components/serving.py`): the `fetch-model` init container runs it "
            "with `--once`, the sidecar with `--interval`."),
    Command("model_copy.py", model_copy.make_parser,
            "The vLLM pods' init container (`components/vllm_serving.py`), with `model_sync.py` beside it."),
)
COMMANDS = CLIENT + POD_SCRIPTS


@contextmanager
def fixed_terminal() -> Iterator[None]:
    """COLUMNS at `WIDTH` and colour off while inside, as they were afterwards."""
    saved = {name: os.environ.get(name) for name in FIXED_TERMINAL}
    os.environ.update(FIXED_TERMINAL)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def help_text(parser: argparse.ArgumentParser) -> str:
    """What `--help` prints, at `WIDTH` columns."""
    with fixed_terminal():
        return parser.format_help()


def _section(command: Command) -> str:
    return f"### `{command.run}`\n\n{command.note}\n\n```text\n{help_text(command.parser()).rstrip()}\n```\n"


def reference() -> str:
    """The text of docs/cli.md."""
    parts = [
        "# Command-line reference\n",
        "Generated from the commands' parsers by `tools/cli_reference.py`: do not edit it, run `make docs` after "
        "changing an option or its help (a test fails until then).\n",
        "## Client\n",
        "`pip install 'eks-inferentia[client]'` installs each command as a console script too. Exit codes and "
        "examples: the module's docstring and the README.\n",
        *(_section(command) for command in CLIENT),
        "## The pods' scripts\n",
        "Standard library only: the serving pods run them with their image's `python3`, from a ConfigMap.\n",
        *(_section(command) for command in POD_SCRIPTS),
    ]
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.cli_reference", description=f"Rewrite {DOC} from the commands' parsers.")
    parser.add_argument("--check", action="store_true", help=f"write nothing; exit 1 when {DOC} is out of date")
    args = parser.parse_args(argv)
    path = root / DOC
    text = reference()
    if path.exists() and path.read_text() == text:
        print(f"{DOC} is up to date", file=sys.stderr)
        return 0
    if args.check:
        print(f"{DOC} is out of date: run `make docs`", file=sys.stderr)
        return 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"rewrote {DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
