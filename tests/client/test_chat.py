"""`python -m client.chat` against the OpenAI-compatible stand-in (not vLLM): what it sends, what it prints, its errors."""

from __future__ import annotations

import io
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from client import chat
from tests.client.helpers import assert_one_error_line
from tests.client.serving_thread import hold
from tests.client.standin_openai import CREATED, MODEL, OpenAIStandIn, error_body, tokens_for

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
    assert raw == (b'{"model":"llama-3.1-8b-instruct","messages":[{"role":"user","content":"What is Inferentia?"}],'
                   b'"max_tokens":256}')  # compact JSON


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
    assert raw.endswith(b'"max_tokens":256,"stream":true,"stream_options":{"include_usage":true}}')


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


@pytest.mark.parametrize("value", ["1", "1000000"])
def test_max_tokens_from_1_to_1000000(capsys: pytest.CaptureFixture[str], server: OpenAIStandIn, value: str) -> None:
    code, _, err = run(capsys, PROMPT, "--url", server.url, "--model", MODEL, "--max-tokens", value)
    assert (code, err) == (0, "")
    assert server.bodies()[0]["max_tokens"] == int(value)


def test_an_answer_without_text_is_an_empty_line(capsys: pytest.CaptureFixture[str], server: OpenAIStandIn) -> None:
    # A tool call: vLLM's message has "content": null and the call in tool_calls.
    call = {"id": "chatcmpl-tool-0", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    server.reply = (200, {"id": "chatcmpl-0", "object": "chat.completion", "created": CREATED, "model": MODEL,
                          "choices": [{"index": 0, "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                                       "finish_reason": "tool_calls"}]})
    assert run(capsys, PROMPT, "--url", server.url, "--model", MODEL) == (0, "\n", "")


# --- errors: one line on stderr, the exit code of its kind ----------------------------------------

def test_an_unknown_model_names_the_served_ones(capsys: pytest.CaptureFixture[str], server: OpenAIStandIn) -> None:
    code, out, err = run(capsys, PROMPT, "--url", server.url, "--model", "llama-2")

    assert (code, out) == (4, "")
    assert err == (f"error: {server.url}/chat/completions answered HTTP 404: The model `llama-2` does not exist. "
                   f"(the server serves: {MODEL}; pass one as --model, or leave it out)\n")


@pytest.mark.parametrize(("models", "served"), [(("a", "b"), "a, b"), ((), "no model")])
def test_an_unknown_model_with_several_served_or_none(capsys: pytest.CaptureFixture[str], models: tuple[str, ...],
                                                      served: str) -> None:
    with OpenAIStandIn(models=models) as server:
        code, out, err = run(capsys, PROMPT, "--url", server.url, "--model", "c")
    assert (code, out) == (4, "")
    assert err == (f"error: {server.url}/chat/completions answered HTTP 404: The model `c` does not exist. "
                   f"(the server serves: {served}; pass one as --model, or leave it out)\n")


@pytest.mark.parametrize("models_answer", [None, (500, error_body(500, "Engine loop has died", "InternalServerError"))])
def test_an_unknown_model_when_the_models_are_not_listed(capsys: pytest.CaptureFixture[str],
                                                         models_answer: tuple[int, Any] | None) -> None:
    # The list is asked with the same --timeout: a server that does not answer it (None) fails as fast.
    hang = () if models_answer else (1,)
    with OpenAIStandIn(hang=hang, faults={1: models_answer} if models_answer else {}) as server:
        start = time.monotonic()
        code, out, err = run(capsys, PROMPT, "--url", server.url, "--model", "llama-2", "--timeout", "0.2")
        seconds = time.monotonic() - start
    assert (code, out) == (4, "")
    assert err == f"error: {server.url}/chat/completions answered HTTP 404: The model `llama-2` does not exist. (check --model)\n"
    assert [(method, path) for method, path, _, _ in server.requests] == [("POST", "/v1/chat/completions"), ("GET", "/v1/models")]
    assert seconds < 5  # the stand-in holds an unanswered request for 10 s


@pytest.mark.parametrize(("models", "message"), [
    ((), "/models lists no model (is the server still loading it?)"),
    (("a", "b"), "/models lists 2 models (a, b); pass one as --model"),
])
def test_no_model_or_several(capsys: pytest.CaptureFixture[str], models: tuple[str, ...], message: str) -> None:
    with OpenAIStandIn(models=models) as server:
        code, out, err = run(capsys, PROMPT, "--url", server.url)
    assert (code, out, err) == (5, "", f"error: {server.url}{message}\n")
    assert [method for method, _, _, _ in server.requests] == ["GET"]


@pytest.mark.parametrize(("answer", "shown"), [
    ([{"id": MODEL, "object": "model"}], '[{"id": "llama-3.1-8b-instruct", "object": "model"}]'),  # the list without its object
    ({"object": "list", "data": [{"object": "model", "root": MODEL, "owned_by": "vllm"}]},  # no id: cut at 80 characters
     '{"object": "list", "data": [{"object": "model", "root": "llama-3.1-8b-instruc...'),
    ({"object": "list", "data": [MODEL]}, '{"object": "list", "data": ["llama-3.1-8b-instruct"]}'),
    ({"object": "list", "data": None}, '{"object": "list", "data": null}'),
])
def test_a_model_list_that_is_not_one(capsys: pytest.CaptureFixture[str], server: OpenAIStandIn, answer: Any, shown: str) -> None:
    server.faults = {0: (200, answer)}
    code, out, err = run(capsys, PROMPT, "--url", server.url)
    assert (code, out) == (5, "")
    assert err == f"error: {server.url}/models did not answer a model list (`data` with an `id` each): {shown}\n"


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


def test_timeout_listing_the_models(capsys: pytest.CaptureFixture[str]) -> None:
    with OpenAIStandIn(hang=(0,)) as server:
        start = time.monotonic()
        code, out, err = run(capsys, PROMPT, "--url", server.url, "--timeout", "0.2")
        seconds = time.monotonic() - start
    assert (code, out, err) == (3, "", f"error: no answer from {server.url}/models within 0.2 s (raise --timeout?)\n")
    assert seconds < 5


HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"


def test_an_answer_that_stops_after_its_headers(capsys: pytest.CaptureFixture[str], serve_once: Callable[..., str]) -> None:
    def headers_then_silence(conn: socket.socket) -> None:
        conn.sendall(HEADERS + b'{"id": "chatcmpl-0", ')
        hold(conn)

    url = serve_once(headers_then_silence)
    code, out, err = run(capsys, PROMPT, "--url", url, "--model", MODEL, "--timeout", "0.2")
    assert (code, out, err) == (3, "", f"error: no answer from {url}/v1/chat/completions within 0.2 s (raise --timeout?)\n")


def test_an_answer_cut_short(capsys: pytest.CaptureFixture[str], serve_once: Callable[..., str]) -> None:
    url = serve_once(HEADERS + b'{"id": "chatcmpl-0", ')  # 21 of the 100 bytes, then the connection closes
    code, out, err = run(capsys, PROMPT, "--url", url, "--model", MODEL)
    assert (code, out, err) == (3, "", f"error: cannot reach {url}/v1/chat/completions: the answer broke off (IncompleteRead)\n")


def test_the_not_http_hint_of_the_chat_request(capsys: pytest.CaptureFixture[str], not_http_url: str) -> None:
    code, out, err = run(capsys, PROMPT, "--url", not_http_url, "--model", MODEL)
    assert (code, out, err) == (5, "", f"error: {not_http_url}/v1/chat/completions did not answer HTTP (BadStatusLine); "
                                       "is it vLLM's OpenAI port (8000)?\n")


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
    assert err == f"error: the stream from {server.url}/chat/completions broke off before data: [DONE]\n"


def test_a_stream_cut_in_the_middle_of_a_chunk(capsys: pytest.CaptureFixture[str], serve_once: Callable[..., str]) -> None:
    event = b'data: {"choices":[{"index":0,"delta":{"content":"You"}}]}\n\n'
    # One whole chunk, then the next one's size and 20 of its bytes: http.client raises IncompleteRead.
    url = serve_once(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + f"{len(event):x}\r\n".encode() + event + b"\r\n" + f"{len(event):x}\r\n".encode() + event[:20])
    code, out, err = run(capsys, PROMPT, "--url", url, "--model", MODEL, "--stream")
    assert (code, out) == (3, "You\n")
    assert err == f"error: the stream from {url}/v1/chat/completions broke off before data: [DONE] (IncompleteRead)\n"


def test_an_error_mid_stream_as_older_vllm_sends_it(capsys: pytest.CaptureFixture[str], server: OpenAIStandIn) -> None:
    # vLLM before its `error` object: the ErrorResponse at the top, "object": "error".
    server.reply = (200, b'data: {"choices":[{"index":0,"delta":{"content":"You"}}]}\n\n'
                         b'data: {"object":"error","message":"Engine loop has died","type":"InternalServerError",'
                         b'"param":null,"code":500}\n\ndata: [DONE]\n\n')
    code, out, err = run(capsys, PROMPT, "--url", server.url, "--model", MODEL, "--stream")
    assert (code, out, err) == (4, "You\n", f"error: {server.url}/chat/completions failed mid-stream: Engine loop has died\n")


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


def test_an_answer_that_is_not_json_in_full(capsys: pytest.CaptureFixture[str], server: OpenAIStandIn) -> None:
    # A proxy's error page: cut at 80 characters, on one line, a byte that is not UTF-8 shown as U+FFFD.
    server.reply = (200, b"<html><head><title>502 Bad Gateway</title></head>\r\n<body><center>\xff502 Bad Gateway</center>"
                         b"<hr><center>nginx</center></body></html>")
    code, out, err = run(capsys, PROMPT, "--url", server.url, "--model", MODEL)
    assert (code, out) == (5, "")
    assert err == (f"error: {server.url}/chat/completions did not answer JSON: "
                   "'<html><head><title>502 Bad Gateway</title></head> <body><center>\ufffd502 Bad Gate...'\n")


def test_an_answer_without_choices_in_full(capsys: pytest.CaptureFixture[str], server: OpenAIStandIn) -> None:
    server.reply = (200, {"id": "chatcmpl-0", "object": "chat.completion", "created": CREATED, "model": MODEL, "choices": [],
                          "usage": {"prompt_tokens": 3, "total_tokens": 3, "completion_tokens": 0}})
    code, out, err = run(capsys, PROMPT, "--url", server.url, "--model", MODEL)
    assert (code, out) == (5, "")
    assert err == (f"error: {server.url}/chat/completions did not answer a chat completion (no choices[0].message): "
                   '{"id": "chatcmpl-0", "object": "chat.completion", "created": 1767225600, "model": "llama-3.1-8b-instruct", '
                   '"choices":...\n')  # the body cut at 120 characters


def test_a_stream_event_that_is_not_json_in_full(capsys: pytest.CaptureFixture[str], server: OpenAIStandIn) -> None:
    # Two data lines joined by a newline (only CR and LF end a line: NGINX keeps its X), then on one line and cut at
    # 80 characters; U+FFFD for the byte that is not UTF-8.
    server.reply = (200, b"data: <html><head><title>502 Bad Gateway</title></head> from NGINX\n"
                         b"data: <body>\xff upstream prematurely closed connection</body></html>\n\n")
    code, out, err = run(capsys, PROMPT, "--url", server.url, "--model", MODEL, "--stream")
    assert (code, out) == (5, "")
    assert err == (f"error: {server.url}/chat/completions sent a stream event that is not a JSON object: "
                   "'<html><head><title>502 Bad Gateway</title></head> from NGINX <body>\ufffd upstream...'\n")


def test_a_stream_event_that_is_not_json(capsys: pytest.CaptureFixture[str], server: OpenAIStandIn) -> None:
    server.reply = (200, b"data: {not json\n\n")
    code, _, err = run(capsys, PROMPT, "--url", server.url, "--model", MODEL, "--stream")
    assert code == 5
    assert err == f"error: {server.url}/chat/completions sent a stream event that is not a JSON object: '{{not json'\n"


@pytest.mark.parametrize(("argv", "message"), [
    ([], "the following arguments are required: PROMPT"),
    ([PROMPT, "--max-tokens", "0"], "argument --max-tokens: must be between 1 and 1000000, got 0"),
    ([PROMPT, "--max-tokens", "1000001"], "argument --max-tokens: must be between 1 and 1000000, got 1000001"),
    ([PROMPT, "--max-tokens", "x"], "argument --max-tokens: not a whole number: 'x'"),
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
