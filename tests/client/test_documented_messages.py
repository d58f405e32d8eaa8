"""Every error message README.md's "Make a prediction" list documents is what the client really prints, and
so is every one of the chat client's list ("Chatting with the LLM and load testing it (vLLM)").

The lists are parsed from the README: each bullet starts with its messages in backticks (joined by " or "),
then ": " and the advice. A message is matched against the whole line after `error: `, with `...` for
any text, `http://localhost:9000` (`http://localhost:8000/v1`) for the --url and NAME for the --model. Each
message has a scenario here that makes the client print it (against a stand-in, which is not TF Serving or
vLLM, or a socket that misbehaves); a README message without one, or one the client no longer prints, fails.
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

from client import chat as chat_command
from client import common, openai_api
from client import predict as predict_command
from client import status as status_command
from client.grpc_api import tensor_proto
from client.protos import serving_pb2
from tests.client.helpers import assert_one_error_line
from tests.client.standin import StandIn, TensorInfo
from tests.client.standin_grpc import GrpcStandIn
from tests.client.standin_openai import MODEL, OpenAIStandIn, error_body

README = Path(__file__).resolve().parents[2] / "README.md"
_BULLET = re.compile(r"^- (`[^`]+`(?: or `[^`]+`)*): ")


def documented_messages(readme: str, heading: str = "Make a prediction") -> list[str]:
    """The messages of the list after "When it fails" in the section under `heading`."""
    section = readme.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
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
    escaped = escaped.replace(re.escape(openai_api.DEFAULT_OPENAI_URL), r"http://[^/\s]+/v1")
    return re.compile(escaped.replace("NAME", r"[^\s()]+"))


MESSAGES = documented_messages(README.read_text(encoding="utf-8"))
CHAT_HEADING = "Chatting with the LLM and load testing it (vLLM)"
CHAT_MESSAGES = documented_messages(README.read_text(encoding="utf-8"), CHAT_HEADING)

Run = Callable[..., str]
"""Runs `python -m client.predict` (`run("predict", ...)`), `client.status` or `client.chat` in-process and returns stderr."""


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def run_command(command: str, *argv: str) -> str:
        main = {"predict": predict_command.main, "status": status_command.main, "chat": chat_command.main}[command]
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


def _chat(*argv: str, **standin: Any) -> Callable[[Run], str]:
    def scenario(run: Run) -> str:
        with OpenAIStandIn(**standin) as server:
            return run("chat", "What is Inferentia?", "--url", server.url, *argv)

    return scenario


def _chat_timeout(run: Run, monkeypatch: pytest.MonkeyPatch) -> str:
    def no_answer(*args: object, **kwargs: object) -> None:
        raise TimeoutError("timed out")

    monkeypatch.setattr(urllib.request, "urlopen", no_answer)
    return run("chat", "hi")


CHAT_SCENARIOS: dict[str, Callable[..., str]] = {
    "cannot reach http://localhost:8000/v1/...: connection refused (is kubectl port-forward running?)":
        lambda run, closed_url: run("chat", "hi", "--url", f"{closed_url}/v1"),
    "cannot reach ...: remote end closed connection without response (the port-forward lost its pod? restart it)":
        lambda run, closing_url: run("chat", "hi", "--url", closing_url),
    "no answer from ... within 30 s (raise --timeout?)": _chat_timeout,
    "... answered HTTP 404: The model NAME does not exist. (the server serves: ...; pass one as --model, or leave it out)":
        _chat("--model", "llama-2"),
    "... lists no model (is the server still loading it?)": _chat(models=()),
    "... lists ... models (...); pass one as --model": _chat(models=("a", "b")),
    "... answered HTTP 400: ...": _chat("--model", MODEL, reply=(400, error_body(
        400, "This model's maximum context length is 4096 tokens.", "BadRequestError"))),
    "... answered HTTP 500: ...": _chat("--model", MODEL, reply=(500, error_body(500, "Engine loop has died", "InternalServerError"))),
    "... failed mid-stream: ...": _chat("--stream", error_after=2),
    "... answered HTTP 404: ... (is --url the OpenAI base URL, ending in /v1?)":
        lambda run, standin: run("chat", "hi", "--url", standin.url + "/openai/v1"),  # the TF Serving stand-in: no such path
    "the stream from ... broke off before data: [DONE]": _chat("--stream", cut_after=2),
    "... did not answer HTTP (...); is it vLLM's OpenAI port (8000)?": lambda run, not_http_url: run("chat", "hi", "--url", not_http_url),
    "... did not answer JSON: ...": _chat("--model", MODEL, reply=(200, b"<html>hello</html>")),
    "... did not answer a chat completion (no choices[0].message): ...": _chat("--model", MODEL, reply=(200, {"object": "x"})),
    "... sent a stream event that is not a JSON object: ...": _chat("--model", MODEL, "--stream", reply=(200, b"data: {x\n\n")),
}
"""The chat client's README messages -> a scenario that makes it print it."""


def test_the_readme_lists_messages() -> None:
    assert len(MESSAGES) >= 10
    assert len(set(MESSAGES)) == len(MESSAGES)
    assert len(CHAT_MESSAGES) >= 10
    assert len(set(CHAT_MESSAGES)) == len(CHAT_MESSAGES)


def test_every_documented_message_has_a_scenario_and_every_scenario_is_documented() -> None:
    assert sorted(MESSAGES) == sorted(SCENARIOS)
    assert sorted(CHAT_MESSAGES) == sorted(CHAT_SCENARIOS)


@pytest.mark.parametrize(("command", "message"), [("predict/status", m) for m in sorted(SCENARIOS)]
                         + [("chat", m) for m in sorted(CHAT_SCENARIOS)])
def test_the_client_prints_the_documented_message(command: str, message: str, request: pytest.FixtureRequest, run: Run) -> None:
    scenario = (CHAT_SCENARIOS if command == "chat" else SCENARIOS)[message]
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
