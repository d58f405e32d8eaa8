"""client.common on its own: option values, the request urllib is given, error texts, `run`'s exit codes."""

from __future__ import annotations

import argparse
import http.client
import io
import urllib.error
import urllib.request
from collections.abc import Callable
from email.message import Message
from typing import Any

import pytest

from client import common
from client.common import (
    LOST_POD_HINT,
    REFUSED_HINT,
    BadResponseError,
    ClientError,
    ServerError,
    UnreachableError,
    UsageError,
    error_text,
    make_parser,
    model_url,
    one_line,
    request_json,
    run,
)


def test_exit_codes_of_the_errors() -> None:
    assert (ClientError.exit_code, UsageError.exit_code, UnreachableError.exit_code, ServerError.exit_code,
            BadResponseError.exit_code) == (1, 2, 3, 4, 5)


# one_line

def test_one_line_collapses_whitespace() -> None:
    assert one_line("  a\n\tb   c\r\n") == "a b c"


def test_one_line_keeps_a_text_of_the_limit_and_shortens_a_longer_one() -> None:
    assert one_line("x" * 300) == "x" * 300
    assert one_line("x" * 301) == "x" * 297 + "..."
    assert one_line("abcdefgh", 8) == "abcdefgh"
    assert one_line("abcdefghi", 8) == "abcde..."


# The options every command has

def parse(*argv: str) -> argparse.Namespace:
    return make_parser("prog", "description").parse_args(list(argv))


def usage_error(*argv: str) -> str:
    with pytest.raises(UsageError) as caught:
        parse(*argv)
    assert caught.value.exit_code == 2
    return str(caught.value)


def test_defaults() -> None:
    args = parse()

    assert (args.url, args.model, args.timeout) == ("http://localhost:9000", "resnet50_neuron", 30.0)


@pytest.mark.parametrize(("value", "parsed"), [
    ("http://localhost:9000", "http://localhost:9000"),
    ("https://serving.example.com", "https://serving.example.com"),
    ("http://10.0.0.7:9000/", "http://10.0.0.7:9000"),
    ("http://localhost:9000/prefix//", "http://localhost:9000/prefix"),
    ("http://localhost:65535", "http://localhost:65535"),
    ("http://localhost:1", "http://localhost:1"),
    ("http://SANDBOX/", "http://SANDBOX"),  # only slashes are stripped
])
def test_url_values_accepted(value: str, parsed: str) -> None:
    assert parse("--url", value).url == parsed


@pytest.mark.parametrize("value", [
    "localhost:9000",             # no scheme
    "ftp://localhost:9000",
    "http://:9000",               # no host
    "http://localhost:0",
    "http://localhost:65536",
    "http://localhost:port",
    "http://localhost:9000/?x=1",
    "http://localhost:9000/#top",
])
def test_url_values_refused(value: str) -> None:
    assert usage_error("--url", value) == f"argument --url: expected http://HOST:PORT, got {value!r} (see --help)"


@pytest.mark.parametrize("value", ["resnet50_neuron", "my model", "m-1.2"])
def test_model_names_accepted(value: str) -> None:
    assert parse("--model", value).model == value


@pytest.mark.parametrize("value", ["", " resnet50", "resnet50 ", "a/b", "a:predict"])
def test_model_names_refused(value: str) -> None:
    assert usage_error("--model", value) == f"argument --model: not a model name: {value!r} (see --help)"


@pytest.mark.parametrize(("value", "seconds"), [("0.001", 0.001), ("2.5", 2.5), ("3600", 3600.0)])
def test_timeouts_accepted(value: str, seconds: float) -> None:
    assert parse("--timeout", value).timeout == seconds


@pytest.mark.parametrize("value", ["0", "-1", "3600.5", "inf"])
def test_timeouts_out_of_range(value: str) -> None:
    assert usage_error("--timeout", value) == (
        f"argument --timeout: must be more than 0 and at most 3600 seconds, got {value} (see --help)")


def test_timeout_that_is_not_a_number() -> None:
    assert usage_error("--timeout", "soon") == "argument --timeout: not a number of seconds: 'soon' (see --help)"


def test_unknown_option() -> None:
    assert usage_error("--frobnicate") == "unrecognized arguments: --frobnicate (see --help)"


def test_help_shows_each_option_with_its_default(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")

    with pytest.raises(SystemExit) as caught:
        make_parser("python -m client.x", "What it does.").parse_args(["--help"])

    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m client.x [-h] [--url URL | --grpc HOST:PORT] [--model MODEL] [--timeout TIMEOUT]\n"
                          "\nWhat it does.\n")
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert any(line.startswith("--url URL ") and "(default: http://localhost:9000" in line for line in lines), out
    assert any(line.startswith("--model MODEL ") and "(default: resnet50_neuron)" in line for line in lines), out
    assert any(line.startswith("--timeout TIMEOUT ") and "(default: 30)" in line for line in lines), out
    assert any(line.startswith("--grpc HOST:PORT ") and "port 8500" in line for line in lines), out


# URLs and error texts

def test_model_url() -> None:
    assert model_url("http://h:1", "resnet50_neuron") == "http://h:1/v1/models/resnet50_neuron"
    assert model_url("http://h:1//", "m", ":predict") == "http://h:1/v1/models/m:predict"
    assert model_url("http://BOX", "m") == "http://BOX/v1/models/m"
    assert model_url("http://h:1", "my model/x", ":predict") == "http://h:1/v1/models/my%20model%2Fx:predict"


@pytest.mark.parametrize(("body", "text"), [
    (b'{"error": "Servable not found\\n for request"}', "Servable not found for request"),
    (b'{"error": 5}', '{"error": 5}'),
    (b'["error"]', '["error"]'),
    (b'{"message": "no"}', '{"message": "no"}'),
    (b"<html>\n<h1>Bad Gateway</h1>", "<html> <h1>Bad Gateway</h1>"),
    (b"caf\xe9 \xff", "caf\ufffd \ufffd"),
    (b"", ""),
])
def test_error_text(body: bytes, text: str) -> None:
    assert error_text(body) == text


def test_error_text_is_shortened() -> None:
    assert error_text(b'{"error": "' + b"e" * 400 + b'"}') == "e" * 297 + "..."
    assert error_text(b"x" * 400) == "x" * 297 + "..."


# What request_json hands urllib, and what it makes of urllib's answers and failures

class _Answer(io.BytesIO):
    def __enter__(self) -> _Answer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


Urlopen = Callable[[urllib.request.Request, float], Any]


@pytest.fixture
def urlopen(monkeypatch: pytest.MonkeyPatch) -> Callable[[Urlopen], list[tuple[urllib.request.Request, float]]]:
    """Replace urllib's urlopen by `answer(request, timeout)`; returns the (request, timeout) pairs it was given."""

    def install(answer: Urlopen) -> list[tuple[urllib.request.Request, float]]:
        calls: list[tuple[urllib.request.Request, float]] = []

        def fake(request: urllib.request.Request, timeout: float) -> Any:
            calls.append((request, timeout))
            return answer(request, timeout)

        monkeypatch.setattr(urllib.request, "urlopen", fake)
        return calls

    return install


def test_get(urlopen: Callable[[Urlopen], list[Any]]) -> None:
    calls = urlopen(lambda request, timeout: _Answer(b'{"ok": [1, 2]}'))

    assert request_json("http://h:1/v1/models/m") == {"ok": [1, 2]}

    [(request, timeout)] = calls
    assert (request.get_method(), request.full_url, request.data, timeout) == ("GET", "http://h:1/v1/models/m", None, 30.0)
    assert request.header_items() == []


def test_post_sends_compact_json(urlopen: Callable[[Urlopen], list[Any]]) -> None:
    calls = urlopen(lambda request, timeout: _Answer(b'{"predictions": []}'))

    assert request_json("http://h:1/v1/models/m:predict", {"instances": [[1.5, -2.0]], "k": "v"}, timeout=2.5) == {"predictions": []}

    [(request, timeout)] = calls
    assert (request.get_method(), request.data, timeout) == ("POST", b'{"instances":[[1.5,-2.0]],"k":"v"}', 2.5)
    assert request.header_items() == [("Content-type", "application/json")]


def _http_error(code: int, reason: str, body: bytes) -> Callable[..., Any]:
    def answer(request: urllib.request.Request, timeout: float) -> Any:
        raise urllib.error.HTTPError(request.full_url, code, reason, Message(), io.BytesIO(body))

    return answer


@pytest.mark.parametrize(("code", "reason", "body", "message"), [
    (500, "Internal Server Error", b'{"error": "Internal: boom"}', "http://h:1/m answered HTTP 500: Internal: boom"),
    (503, "Service Unavailable", b"", "http://h:1/m answered HTTP 503: Service Unavailable"),
    (404, "Not Found", b'{"error": "Servable not found for request: Latest(m)"}',
     "http://h:1/m answered HTTP 404: Servable not found for request: Latest(m) (check --model, the stack's "
     "modelName output; or the model is not loaded yet: python -m client.status)"),
    (403, "Forbidden", b"denied", "http://h:1/m answered HTTP 403: denied"),
])
def test_http_errors(urlopen: Callable[[Urlopen], list[Any]], code: int, reason: str, body: bytes, message: str) -> None:
    urlopen(_http_error(code, reason, body))

    with pytest.raises(ServerError) as caught:
        request_json("http://h:1/m")

    assert str(caught.value) == message


def _raise(exc: BaseException) -> Callable[..., Any]:
    def answer(request: urllib.request.Request, timeout: float) -> Any:
        raise exc

    return answer


@pytest.mark.parametrize(("exc", "error", "message"), [
    (urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")), UnreachableError,
     "cannot reach http://h:1/m: connection refused (is kubectl port-forward running?)"),
    (urllib.error.URLError(OSError(-2, "Name or service not known")), UnreachableError,
     "cannot reach http://h:1/m: name or service not known"),
    (urllib.error.URLError("no host given"), UnreachableError, "cannot reach http://h:1/m: no host given"),
    (urllib.error.URLError(TimeoutError("timed out")), UnreachableError,
     "no answer from http://h:1/m within 1.5 s (raise --timeout?)"),
    (TimeoutError("timed out"), UnreachableError, "no answer from http://h:1/m within 1.5 s (raise --timeout?)"),
    (ConnectionResetError(104, "Connection reset by peer"), UnreachableError,
     "cannot reach http://h:1/m: connection reset by peer (the port-forward lost its pod? restart it)"),
    (BrokenPipeError(32, "Broken pipe"), UnreachableError,
     "cannot reach http://h:1/m: broken pipe (the port-forward lost its pod? restart it)"),
    (OSError("Socket Closed"), UnreachableError, "cannot reach http://h:1/m: socket Closed"),
    (http.client.BadStatusLine("\x00\x00"), BadResponseError,
     "http://h:1/m did not answer HTTP (BadStatusLine); is it the REST port (9000), not gRPC (8500)?"),
    (http.client.InvalidURL("nonnumeric port: 'x'"), UsageError, "invalid URL http://h:1/m: nonnumeric port: 'x'"),
    (ValueError("bad"), UsageError, "invalid URL http://h:1/m: bad"),
])
def test_failures_to_reach(urlopen: Callable[[Urlopen], list[Any]], exc: BaseException, error: type[ClientError],
                           message: str) -> None:
    urlopen(_raise(exc))

    with pytest.raises(error) as caught:
        request_json("http://h:1/m", timeout=1.5)

    assert str(caught.value) == message


def test_reason_of_an_error_without_text() -> None:
    assert common._reason(OSError()) == "oSError"
    assert common._reason(ConnectionRefusedError()) == "connectionRefusedError"
    assert common._reason("") == "str"
    assert common._reason("NOPE") == "nOPE"


def test_connection_hints() -> None:
    assert common._connection_hint(ConnectionRefusedError()) == REFUSED_HINT
    assert common._connection_hint(ConnectionResetError()) == LOST_POD_HINT
    assert common._connection_hint(BrokenPipeError()) == LOST_POD_HINT
    assert common._connection_hint(ConnectionAbortedError()) == ""
    assert common._connection_hint(OSError()) == ""


def test_answer_that_is_not_json(urlopen: Callable[[Urlopen], list[Any]]) -> None:
    urlopen(lambda request, timeout: _Answer(b"<html>\n" + b"x" * 100 + b"\xff</html>"))

    with pytest.raises(BadResponseError) as caught:
        request_json("http://h:1/m")

    assert str(caught.value) == "http://h:1/m did not answer JSON: '<html> " + "x" * 70 + "...'"


# run: one line on stderr and the exit code

def _command(exc: BaseException | None = None, code: int = 0) -> Callable[[Any], int]:
    def command(argv: Any) -> int:
        if exc is not None:
            raise exc
        return code

    return command


@pytest.mark.parametrize(("exc", "code", "err"), [
    (UsageError("bad\n  option"), 2, "error: bad option\n"),
    (BadResponseError("x" * 1200), 5, "error: " + "x" * 997 + "...\n"),
    (ClientError("plain"), 1, "error: plain\n"),
    (KeyboardInterrupt(), 130, "error: interrupted\n"),
    (SystemExit(0), 0, ""),
    (SystemExit(None), 0, ""),
    (SystemExit(3), 3, ""),
    (SystemExit("argparse said so"), 2, ""),
])
def test_run_turns_failures_into_exit_codes(capsys: pytest.CaptureFixture[str], exc: BaseException, code: int, err: str) -> None:
    assert run(_command(exc), ["argv"]) == code
    assert capsys.readouterr() == ("", err)


def test_run_returns_the_commands_code_and_passes_argv() -> None:
    seen: list[Any] = []

    def command(argv: Any) -> int:
        seen.append(argv)
        return 7

    assert run(command, ["a", "b"]) == 7
    assert run(command, None) == 7
    assert seen == [["a", "b"], None]
