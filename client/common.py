"""What `client.predict` and `client.status` share: exit codes, errors, options and JSON over HTTP.

Exit codes:

    0  EXIT_OK             success
    1  EXIT_NOT_AVAILABLE  status only: the model is known but no version is AVAILABLE
    2  EXIT_USAGE          usage or input error (bad option, missing file, not an image)
    3  EXIT_UNREACHABLE    the server cannot be reached (refused, name not resolved, timeout)
    4  EXIT_SERVER         the server answered with an error (unknown model, HTTP 4xx/5xx)
    5  EXIT_BAD_RESPONSE   the answer is not what TensorFlow Serving sends

Every failure is a `ClientError` carrying its exit code; `run` prints it as one line on stderr.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

DEFAULT_URL = "http://localhost:9000"
"""TensorFlow Serving's REST port (the Service's `http` port 9000) after `kubectl port-forward`."""
DEFAULT_MODEL = "resnet50_neuron"
"""The stack's default `modelName`."""
DEFAULT_TIMEOUT = 30.0
"""Seconds to wait for the server; the first prediction on a NeuronCore can take a few seconds."""

EXIT_OK = 0
EXIT_NOT_AVAILABLE = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_SERVER = 4
EXIT_BAD_RESPONSE = 5

_MAX_ERROR_TEXT = 300


class ClientError(Exception):
    """A failure to report as one line on stderr, with the process exit code."""

    exit_code = 1


class UsageError(ClientError):
    exit_code = EXIT_USAGE


class UnreachableError(ClientError):
    exit_code = EXIT_UNREACHABLE


class TimedOutError(UnreachableError):
    """No answer, or no more of it, within the timeout."""


class ServerError(ClientError):
    exit_code = EXIT_SERVER


class BadResponseError(ClientError):
    exit_code = EXIT_BAD_RESPONSE


def one_line(text: str, limit: int = _MAX_ERROR_TEXT) -> str:
    """Collapse whitespace (newlines included) and shorten, so a message stays on one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (a UsageError) instead of the usage text and exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see --help)")


def _base_url(value: str) -> str:
    parts = urllib.parse.urlsplit(value)
    try:
        port_ok = parts.port != 0  # None when absent; ValueError when not a number in 0..65535
    except ValueError:
        port_ok = False
    if not port_ok or parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"expected http://HOST:PORT, got {value!r}")
    return value.rstrip("/")


def _model_name(value: str) -> str:
    if not value or value != value.strip() or "/" in value or ":" in value:
        raise argparse.ArgumentTypeError(f"not a model name: {value!r}")
    return value


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0 < seconds <= 3600:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 3600 seconds, got {value}")
    return seconds


def grpc_target(value: str) -> str:
    """argparse type of --grpc: HOST:PORT (an IPv6 address in brackets), no scheme."""
    host, sep, port = value.rpartition(":")
    if "://" in value or not sep or not host or not port.isdigit() or not 0 < int(port) < 65536 or "/" in host or " " in host:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, e.g. localhost:8500, got {value!r}")
    return value


Endpoint = tuple[str, Callable[[str], str], str, str]
"""Another endpoint option of make_parser: (option, argparse type, metavar, help)."""


def make_parser(prog: str, description: str, endpoints: Sequence[Endpoint] = (),
                model_default: str = DEFAULT_MODEL) -> argparse.ArgumentParser:
    """A parser with the options every command has: --url or --grpc (or `endpoints`: (option, type, metavar, help)),
    --model, --timeout. `model_default` is what the help says --model defaults to (its value stays DEFAULT_MODEL)."""
    parser = _Parser(prog=prog, description=description)
    endpoint = parser.add_mutually_exclusive_group()
    endpoint.add_argument("--url", type=_base_url, default=DEFAULT_URL,
                          help=f"TensorFlow Serving's REST endpoint (default: {DEFAULT_URL}, after kubectl port-forward)")
    endpoint.add_argument("--grpc", type=grpc_target, metavar="HOST:PORT",
                          help="use TensorFlow Serving's gRPC API at HOST:PORT instead of REST (port 8500, e.g. localhost:8500)")
    for option, kind, metavar, text in endpoints:
        endpoint.add_argument(option, type=kind, metavar=metavar, help=text)
    parser.add_argument("--model", type=_model_name, default=DEFAULT_MODEL,
                        help=f"model name, the stack's modelName output (default: {model_default})")
    parser.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT,
                        help=f"seconds to wait for the server (default: {DEFAULT_TIMEOUT:g})")
    return parser


def model_url(base_url: str, model: str, verb: str = "") -> str:
    """`{base_url}/v1/models/{model}` plus an optional verb such as `:predict`."""
    return f"{base_url.rstrip('/')}/v1/models/{urllib.parse.quote(model, safe='')}{verb}"


def error_text(body: bytes) -> str:
    """The message of an error answer, else the body's text: TF Serving's `{"error": "..."}`, the OpenAI API's
    `{"error": {"message": "...", ...}}` (vLLM's ErrorResponse), or older vLLM's `{"object": "error", "message": "..."}`."""
    text = body.decode("utf-8", errors="replace")
    try:
        parsed = json.loads(text)
    except ValueError:
        return one_line(text)
    if not isinstance(parsed, dict):
        return one_line(text)
    error = parsed.get("error")
    if isinstance(error, str):
        return one_line(error)
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return one_line(error["message"])
    if parsed.get("object") == "error" and isinstance(parsed.get("message"), str):
        return one_line(parsed["message"])
    return one_line(text)


def _reason(reason: object) -> str:
    """An OSError's text in lower case, "connection refused" rather than "[Errno 111] Connection refused"."""
    text = reason.strerror if isinstance(reason, OSError) and reason.strerror else str(reason) or type(reason).__name__
    return text[:1].lower() + text[1:]


NOT_FOUND_HINT = " (check --model, the stack's modelName output; or the model is not loaded yet: python -m client.status)"
"""After an HTTP 404: TF Serving says the same for a wrong name and a model not (yet) loaded."""
REFUSED_HINT = " (is kubectl port-forward running?)"
LOST_POD_HINT = " (the port-forward lost its pod? restart it)"
"""After a connection reset or closed without an answer: kubectl port-forward accepts, then finds no pod."""


def _connection_hint(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return REFUSED_HINT
    if isinstance(reason, ConnectionResetError | BrokenPipeError):  # http.client.RemoteDisconnected is a ConnectionResetError
        return LOST_POD_HINT
    return ""


NOT_HTTP_HINT = "is it the REST port (9000), not gRPC (8500)?"


class HTTPStatusError(ServerError):
    """An HTTP error status, with the code (the message holds the server's error text)."""

    def __init__(self, message: str, status: int, detail: str) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


def open_url(request: urllib.request.Request, timeout: float, not_found_hint: str = NOT_FOUND_HINT,
             not_http_hint: str = NOT_HTTP_HINT) -> http.client.HTTPResponse:
    """urlopen, with every failure turned into its one-line ClientError (the caller reads and closes the answer).

    Raises UnreachableError, HTTPStatusError (with the server's error text; `not_found_hint` after a 404),
    BadResponseError (not HTTP) or UsageError (a URL urllib refuses).
    """
    url = request.full_url
    try:
        return urllib.request.urlopen(request, timeout=timeout)  # type: ignore[no-any-return]
    except urllib.error.HTTPError as exc:
        with exc:
            detail = error_text(exc.read()) or exc.reason
        hint = not_found_hint if exc.code == 404 else ""
        raise HTTPStatusError(f"{url} answered HTTP {exc.code}: {detail}{hint}", exc.code, detail) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, OSError):
            raise connection_error(url, exc.reason, timeout) from None
        raise UnreachableError(f"cannot reach {url}: {_reason(exc.reason)}") from None
    except OSError as exc:  # a timeout, or a connection reset or closed before an answer (a port-forward without a pod)
        raise connection_error(url, exc, timeout) from None
    except (http.client.InvalidURL, ValueError) as exc:  # e.g. a space in the host; InvalidURL is an HTTPException
        raise UsageError(f"invalid URL {url}: {exc}") from None
    except http.client.HTTPException as exc:
        raise BadResponseError(f"{url} did not answer HTTP ({type(exc).__name__}); {not_http_hint}") from None


def connection_error(url: str, exc: OSError, timeout: float) -> UnreachableError:
    """The UnreachableError of an OSError met while talking to `url`: a timeout, or a connection lost."""
    if isinstance(exc, TimeoutError):
        return TimedOutError(f"no answer from {url} within {timeout:g} s (raise --timeout?)")
    return UnreachableError(f"cannot reach {url}: {_reason(exc)}{_connection_hint(exc)}")


def request_json(url: str, body: Any = None, timeout: float = DEFAULT_TIMEOUT, not_found_hint: str = NOT_FOUND_HINT,
                 not_http_hint: str = NOT_HTTP_HINT) -> Any:
    """GET `url` (or POST `body` as JSON) and return the decoded JSON answer.

    Raises UnreachableError, ServerError (HTTP error status, with the server's error text)
    or BadResponseError (not HTTP, not JSON).
    """
    data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with open_url(request, timeout, not_found_hint, not_http_hint) as response:
        return read_json(response, url, timeout)


def read_json(response: http.client.HTTPResponse, url: str, timeout: float) -> Any:
    """The decoded JSON answer of `response` (from `url`). Raises UnreachableError or BadResponseError (not JSON)."""
    try:
        raw = response.read()
    except OSError as exc:
        raise connection_error(url, exc, timeout) from None
    except http.client.HTTPException as exc:  # IncompleteRead: the connection closed mid-answer
        raise UnreachableError(f"cannot reach {url}: the answer broke off ({type(exc).__name__})") from None
    try:
        return json.loads(raw)
    except ValueError:
        raise BadResponseError(f"{url} did not answer JSON: {one_line(raw.decode('utf-8', errors='replace'), 80)!r}") from None


def run(command: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None) -> int:
    """Run a command and turn a ClientError into its one-line message and exit code."""
    try:
        return command(argv)
    except ClientError as exc:
        print(f"error: {one_line(str(exc), 1000)}", file=sys.stderr)
        return exc.exit_code
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
