"""Every error message README.md's "Make a prediction" list documents is what the client really prints.

The list is parsed from the README: each bullet starts with its messages in backticks (joined by " or "),
then ": " and the advice. A message is matched against the whole line after `error: `, with `...` for
any text, `http://localhost:9000` for the --url and NAME for the --model. Each message has a scenario
here that makes the client print it (against the stand-in, which is not TF Serving, or a socket that
misbehaves); a README message without one, or one the client no longer prints, fails.
"""

from __future__ import annotations

import inspect
import re
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest

from client import common
from client import predict as predict_command
from client import status as status_command
from client.grpc_api import tensor_proto
from client.protos import serving_pb2
from tests.client.helpers import assert_one_error_line
from tests.client.standin import StandIn, TensorInfo
from tests.client.standin_grpc import GrpcStandIn

README = Path(__file__).resolve().parents[2] / "README.md"
_BULLET = re.compile(r"^- (`[^`]+`(?: or `[^`]+`)*): ")


def documented_messages(readme: str) -> list[str]:
    """The messages of the list after "When it fails" in the "Make a prediction" section."""
    section = readme.split("\n## Make a prediction\n", 1)[1].split("\n## ", 1)[0]
    listing = section.split("When it fails", 1)[1].split("\n\n", 2)[1]
    messages = []
    for line in listing.splitlines():
        match = _BULLET.match(line)
        assert match, f"a README bullet that does not start with its messages in backticks: {line!r}"
        messages += re.findall(r"`([^`]+)`", match.group(1))
    return messages


def pattern(message: str) -> re.Pattern[str]:
    """The README message as a regex: `...` any text, http://localhost:9000 the --url, NAME the --model."""
    escaped = re.escape(message)
    escaped = escaped.replace(re.escape("..."), ".+?").replace(re.escape(common.DEFAULT_URL), r"http://[^/\s]+")
    return re.compile(escaped.replace("NAME", r"[^\s()]+"))


MESSAGES = documented_messages(README.read_text(encoding="utf-8"))

Run = Callable[..., str]
"""Runs `python -m client.predict` (`run("predict", ...)`) or `client.status` in-process and returns stderr."""


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def run_command(command: str, *argv: str) -> str:
        main = predict_command.main if command == "predict" else status_command.main
        assert main(list(argv)) != 0
        return capsys.readouterr().err

    return run_command


MakeImage = Callable[..., Path]


def _with_standin(command: str, *argv: str, **standin: Any) -> Callable[[Run, MakeImage], str]:
    def scenario(run: Run, make_image: MakeImage) -> str:
        with StandIn(**standin) as server:
            args = [str(make_image())] if command == "predict" else []
            return run(command, *args, "--url", server.url, *argv)

    return scenario


def _with_grpc_standin(command: str, *argv: str, **standin: Any) -> Callable[[Run, MakeImage], str]:
    def scenario(run: Run, make_image: MakeImage) -> str:
        with GrpcStandIn(**standin) as server:
            args = [str(make_image())] if command == "predict" else []
            return run(command, *args, "--grpc", server.target, *argv)

    return scenario


def _not_an_image(run: Run, tmp_path: Path) -> str:
    path = tmp_path / "cat.jpg"
    path.write_bytes(b"%PDF-1.7 not a picture")
    return run("predict", str(path))


def _timeout(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    # What urlopen raises when no answer comes within the timeout; the default (30 s) is too long to wait for.
    def no_answer(*args: object, **kwargs: object) -> None:
        raise TimeoutError("timed out")

    monkeypatch.setattr(urllib.request, "urlopen", no_answer)
    return run("status")


SCENARIOS: dict[str, Callable[..., str]] = {
    "cannot reach http://localhost:9000/...: connection refused (is kubectl port-forward running?)":
        lambda run, make_image, closed_url: run("predict", str(make_image()), "--url", closed_url),
    "cannot reach ...: remote end closed connection without response (the port-forward lost its pod? restart it)":
        lambda run, closing_url: run("status", "--url", closing_url),
    "cannot reach ...: connection reset by peer (the port-forward lost its pod? restart it)":
        lambda run, resetting_url: run("status", "--url", resetting_url),
    "no answer from ... within 30 s (raise --timeout?)": _timeout,
    "... did not answer HTTP (...); is it the REST port (9000), not gRPC (8500)?":
        lambda run, not_http_url: run("status", "--url", not_http_url),
    "... answered HTTP 404: Servable not found for request: Latest(NAME) (check --model, the stack's modelName output; "
    "or the model is not loaded yet: python -m client.status)": _with_standin("predict", "--model", "resnet50"),
    "... answered HTTP 404: Could not find any versions of model NAME (check --model, the stack's modelName output; "
    "or the model is not loaded yet: python -m client.status)": _with_standin("status", "--model", "resnet50"),
    "... answered NOT_FOUND: Servable not found for request: Latest(NAME) (check --model, the stack's modelName output; "
    "or the model is not loaded yet: python -m client.status)": _with_grpc_standin("predict", "--model", "resnet50"),
    "... answered NOT_FOUND: Could not find any versions of model NAME (check --model, the stack's modelName output; "
    "or the model is not loaded yet: python -m client.status)": _with_grpc_standin("status", "--model", "resnet50"),
    "cannot reach ... over gRPC: connection refused (is kubectl port-forward running?)":
        lambda run, make_image, closed_target: run("predict", str(make_image()), "--grpc", closed_target),
    "... did not answer gRPC (HTTP/2); is it the gRPC port (8500), not REST (9000)?":
        lambda run, standin: run("status", "--grpc", standin.url.removeprefix("http://")),
    "... answered INVALID_ARGUMENT: input tensor alias not found in signature: ... (--input names the signature's input)":
        _with_grpc_standin("predict", "--input", "image"),
    "... answered INVALID_ARGUMENT: ...": _with_grpc_standin("predict", inputs={"input_1": TensorInfo("DT_INT32", (-1, 224, 224, 3))}),
    "... answered INTERNAL: ...": _with_grpc_standin("predict", abort=(grpc.StatusCode.INTERNAL, "nrt_execute failed")),
    "expected 1000 class scores in output '...', got shape ... (is the model an ImageNet classifier?)":
        _with_grpc_standin("predict", reply=serving_pb2.PredictResponse(
            outputs={"scores": tensor_proto(np.zeros((1, 10)))}).SerializeToString()),
    "expected one output in the Predict answer, got ...": _with_grpc_standin("predict", outputs=("probabilities", "logits")),
    "no version of model NAME is AVAILABLE": _with_standin("status", state="LOADING"),
    "... answered HTTP 400: ...": _with_standin("predict", inputs={"input_1": TensorInfo("DT_FLOAT", (-1, 299, 299, 3))}),
    "... answered HTTP 500: ...": _with_standin("predict", reply=(500, {"error": "Internal: nrt_execute failed"})),
    "expected 1000 class scores in '...', got ... (is the model an ImageNet classifier?)":
        _with_standin("predict", reply=(200, {"predictions": [[0.5] * 10]})),
    "the answer has no 'predictions' or 'outputs' (keys: ...)": _with_standin("predict", reply=(200, {"result": []})),
    "no such file: ...": lambda run, tmp_path: run("predict", str(tmp_path / "cat.jpg")),
    "... is not an image Pillow can read": _not_an_image,
}
"""README message -> a scenario that makes the client print it (the fixtures it needs are its parameter names)."""


def test_the_readme_lists_messages() -> None:
    assert len(MESSAGES) >= 10
    assert len(set(MESSAGES)) == len(MESSAGES)


def test_every_documented_message_has_a_scenario_and_every_scenario_is_documented() -> None:
    assert sorted(MESSAGES) == sorted(SCENARIOS)


@pytest.mark.parametrize("message", sorted(SCENARIOS))
def test_the_client_prints_the_documented_message(message: str, request: pytest.FixtureRequest, run: Run) -> None:
    scenario = SCENARIOS[message]
    names = inspect.signature(scenario).parameters
    err = scenario(**{name: run if name == "run" else request.getfixturevalue(name) for name in names})

    assert_one_error_line(err)
    printed = err.removeprefix("error: ").rstrip("\n")
    assert pattern(message).fullmatch(printed), f"README: {message!r}\nprinted: {printed!r}"


@pytest.mark.parametrize(("message", "printed"), [
    ("cannot reach http://localhost:9000/...: x", "cannot reach http://127.0.0.1:5/v1/models/m: x"),
    ("no version of model NAME is AVAILABLE", "no version of model resnet50_neuron is AVAILABLE"),
])
def test_pattern_placeholders(message: str, printed: str) -> None:
    assert pattern(message).fullmatch(printed)
    assert not pattern(message).fullmatch(printed + " and more words")
