"""The console scripts of `pip install 'eks-inferentia[client]'`: eks-inferentia-predict, -status, -loadtest, -chat.

Each runs the module `python -m client.X` runs. Installed without the `client` extra (numpy, Pillow, grpcio,
protobuf), a script says which extra to install, in one line, instead of an ImportError's traceback;
eks-inferentia-chat needs none of them (standard library only).
"""

from __future__ import annotations

import importlib
import sys

from client.common import EXIT_USAGE

CLIENT_MODULES = frozenset({"numpy", "PIL", "grpc", "google", "google.protobuf"})
"""The top-level imports of the `client` extra's distributions."""


def _run(command: str) -> int:
    try:
        module = importlib.import_module(f"client.{command}")
    except ModuleNotFoundError as exc:
        if exc.name not in CLIENT_MODULES:
            raise
        print(f"error: eks-inferentia-{command} needs the client's dependencies, and {exc.name} is not installed: "
              "pip install 'eks-inferentia[client]'", file=sys.stderr)
        return EXIT_USAGE
    return int(module.main())


def predict() -> int:
    return _run("predict")


def status() -> int:
    return _run("status")


def loadtest() -> int:
    return _run("loadtest")


def chat() -> int:
    return _run("chat")
