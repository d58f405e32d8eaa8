"""`python -m client.chat` against the OpenAI-compatible stand-in (not vLLM): what it sends, what it prints, its errors."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from client import chat
from tests.client.helpers import assert_one_error_line
from tests.client.standin_openai import MODEL, OpenAIStandIn, error_body, tokens_for

PROMPT = "What is Inferentia?"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = chat.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def server() -> Any:
    with OpenAIStandIn() as standin:
        yield standin


def test_asks_the_only_model_and_prints_the_answer(capsys: pytest.CaptureFixture[str], server: OpenAIStandIn) -> None:
    code, out, err = run(capsys, PROMPT, "--url", server.url)

    assert (code, out, err) == (0, "You said: What is Inferentia?\n", "")
    assert [(method, path) for method, path, _, _ in server.requests] == [("GET", "/v1/models"), ("POST", "/v1/chat/completions")]
    _, _, headers, raw = server.requests[1]
    assert headers["Content-Type"] == "application/json" and "Accept" not in headers
    assert json.loads(raw) == {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 256}


def test_model_and_max_tokens(capsys: pytest.CaptureFixture[str]) -> None:
    with OpenAIStandIn(models=("a", "meta-llama/Llama-3.1-8B-Instruct")) as server:
        code, out, err = run(capsys, PROMPT, "--url", server.url, "--model", "meta-llama/Llama-3.1-8B-Instruct", "--max-tokens", "3")

    assert (code, out, err) == (0, "You said: What\n", "")  # cut at 3 tokens, finish_reason "length"
    assert [path for _, path, _, _ in server.requests] == ["/v1/chat/completions"]  # --model: no need to list the models
    assert server.bodies() == [{"model": "meta-llama/Llama-3.1-8B-Instruct", "messages": [{"role": "user", "content": PROMPT}],
                                "max_tokens": 3}]


def test_stream(capsys: pytest.CaptureFixture[str], server: OpenAIStandIn) -> None:
    code, out, err = run(capsys, PROMPT, "--url", server.url, "--stream")

    assert (code, out, err) == (0, "You said: What is Inferentia?\n", "")
    _, _, headers, raw = server.requests[1]
    assert headers["Accept"] == "text/event-stream"
    assert json.loads(raw) == {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 256,
                               "stream": True, "stream_options": {"include_usage": True}}


def test_stream_prints_each_piece_as_it_arrives(server: OpenAIStandIn) -> None:
    class Recorder(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.flushed: list[str] = []

        def flush(self) -> None:
            self.flushed.append(self.getvalue())

    out = Recorder()
    chat.chat(server.url, MODEL, PROMPT, 256, stream=True, timeout=5, out=out)

    pieces = tokens_for(PROMPT)
    assert pieces == ["You", " said:", " What", " is", " Inferentia?"]
    assert out.flushed == ["".join(pieces[: i + 1]) for i in range(len(pieces))]  # flushed after every piece
    assert out.getvalue() == "You said: What is Inferentia?\n"


def test_a_url_without_a_path_gets_v1(capsys: pytest.CaptureFixture[str], server: OpenAIStandIn) -> None:
    code, out, _ = run(capsys, PROMPT, "--url", server.url.removesuffix("/v1"), "--model", MODEL)
    assert (code, out) == (0, "You said: What is Inferentia?\n")
    assert [path for _, path, _, _ in server.requests] == ["/v1/chat/completions"]


# --- errors: one line on stderr, the exit code of its kind ----------------------------------------

def test_an_unknown_model_names_the_served_ones(capsys: pytest.CaptureFixture[str], server: OpenAIStandIn) -> None:
    code, out, err = run(capsys, PROMPT, "--url", server.url, "--model", "llama-2")

    assert (code, out) == (4, "")
    assert err == (f"error: {server.url}/chat/completions answered HTTP 404: The model `llama-2` does not exist. "
                   f"(the server serves: {MODEL}; pass one as --model, or leave it out)\n")


@pytest.mark.parametrize(("models", "message"), [
    ((), "/models lists no model (is the server still loading it?)"),
    (("a", "b"), "/models lists 2 models (a, b); pass one as --model"),
])
def test_no_model_or_several(capsys: pytest.CaptureFixture[str], models: tuple[str, ...], message: str) -> None:
    with OpenAIStandIn(models=models) as server:
        code, out, err = run(capsys, PROMPT, "--url", server.url)
    assert (code, out, err) == (5, "", f"error: {server.url}{message}\n")
    assert [method for method, _, _, _ in server.requests] == ["GET"]


def test_unreachable(capsys: pytest.CaptureFixture[str], closed_url: str) -> None:
    code, out, err = run(capsys, PROMPT, "--url", f"{closed_url}/v1")
    assert (code, out) == (3, "")
    assert err == f"error: cannot reach {closed_url}/v1/models: connection refused (is kubectl port-forward running?)\n"


@pytest.mark.parametrize("stream", [[], ["--stream"]])
def test_timeout(capsys: pytest.CaptureFixture[str], stream: list[str]) -> None:
    with OpenAIStandIn(ttft=5) as server:
        code, out, err = run(capsys, PROMPT, "--url", server.url, "--model", MODEL, "--timeout", "0.2", *stream)
    assert (code, out) == (3, "")
    assert err == f"error: no answer from {server.url}/chat/completions within 0.2 s (raise --timeout?)\n"


HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"


def test_an_answer_cut_short(capsys: pytest.CaptureFixture[str], serve_once: Callable[..., str]) -> None:
    url = serve_once(HEADERS + b'{"id": "chatcmpl-0", ')  # 21 of the 100 bytes, then the connection closes
    code, out, err = run(capsys, PROMPT, "--url", url, "--model", MODEL)
    assert (code, out, err) == (3, "", f"error: cannot reach {url}/v1/chat/completions: the answer broke off (IncompleteRead)\n")


@pytest.mark.parametrize(("reply", "shown"), [
    ((500, error_body(500, "Engine loop has died", "InternalServerError")), "HTTP 500: Engine loop has died"),
    ((400, {"object": "error", "message": "This model's maximum context length is 4096 tokens.", "type": "BadRequestError",
            "code": 400}), "HTTP 400: This model's maximum context length is 4096 tokens."),  # vLLM before its `error` object
    ((503, b"upstream connect error"), "HTTP 503: upstream connect error"),
])
def test_http_errors_show_the_servers_message(capsys: pytest.CaptureFixture[str], server: OpenAIStandIn,
                                              reply: tuple[int, Any], shown: str) -> None:
    server.reply = reply
    code, out, err = run(capsys, PROMPT, "--url", server.url, "--model", MODEL)
    assert (code, out, err) == (4, "", f"error: {server.url}/chat/completions answered {shown}\n")


def test_a_path_the_server_does_not_serve(capsys: pytest.CaptureFixture[str], server: OpenAIStandIn) -> None:
    code, _, err = run(capsys, PROMPT, "--url", server.url.removesuffix("/v1") + "/openai", "--model", MODEL)
    assert code == 4
    assert err.endswith('answered HTTP 404: {"detail": "Not Found"} (is --url the OpenAI base URL, ending in /v1?)\n')


def test_an_error_mid_stream(capsys: pytest.CaptureFixture[str]) -> None:
    with OpenAIStandIn(error_after=2) as server:
        code, out, err = run(capsys, PROMPT, "--url", server.url, "--model", MODEL, "--stream")
    assert (code, out) == (4, "You said:\n")  # what came before the error, ended with a newline
    assert err == f"error: {server.url}/chat/completions failed mid-stream: stand-in: the engine failed mid-stream\n"


def test_a_stream_that_breaks_off(capsys: pytest.CaptureFixture[str]) -> None:
    with OpenAIStandIn(cut_after=3) as server:
        code, out, err = run(capsys, PROMPT, "--url", server.url, "--model", MODEL, "--stream")
    assert (code, out) == (3, "You said: What\n")
    assert_one_error_line(err, f"the stream from {server.url}/chat/completions broke off before data: [DONE]")


@pytest.mark.parametrize(("reply", "message"), [
    ((200, b"<html>hello</html>"), "did not answer JSON: '<html>hello</html>'"),
    ((200, {"id": "x", "object": "chat.completion"}), "did not answer a chat completion (no choices[0].message): "),
])
def test_an_answer_that_is_not_a_chat_completion(capsys: pytest.CaptureFixture[str], server: OpenAIStandIn,
                                                 reply: tuple[int, Any], message: str) -> None:
    server.reply = reply
    code, out, err = run(capsys, PROMPT, "--url", server.url, "--model", MODEL)
    assert (code, out) == (5, "")
    assert_one_error_line(err, message)


def test_a_stream_event_that_is_not_json(capsys: pytest.CaptureFixture[str], server: OpenAIStandIn) -> None:
    server.reply = (200, b"data: {not json\n\n")
    code, _, err = run(capsys, PROMPT, "--url", server.url, "--model", MODEL, "--stream")
    assert code == 5
    assert err == f"error: {server.url}/chat/completions sent a stream event that is not a JSON object: '{{not json'\n"


@pytest.mark.parametrize(("argv", "message"), [
    ([], "the following arguments are required: PROMPT"),
    ([PROMPT, "--max-tokens", "0"], "argument --max-tokens: must be between 1 and 1000000, got 0"),
    ([PROMPT, "--url", "ftp://h:21/v1"], "argument --url: expected http://HOST:PORT/v1, got 'ftp://h:21/v1'"),
    ([PROMPT, "--model", " x"], "argument --model: not a model name: ' x'"),
    ([PROMPT, "--timeout", "0"], "argument --timeout: must be more than 0"),
])
def test_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert_one_error_line(err, message, "(see --help)")


def test_help(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert out.splitlines()[0] == ("usage: python -m client.chat [-h] [--url URL] [--model NAME] [--max-tokens N] [--stream] "
                                   "[--timeout TIMEOUT] PROMPT")


def test_the_chat_client_imports_only_the_standard_library() -> None:
    import subprocess
    import sys

    code = ("import sys; import client.chat; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in {'numpy', 'PIL', 'grpc', 'google'}))")
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60, cwd=repo)
    assert done.stdout == "[]\n"
