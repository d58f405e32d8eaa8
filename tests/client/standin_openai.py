"""A local stand-in for an OpenAI-compatible server (vLLM's), for `client.chat` and `client.loadtest --openai`.

This is NOT vLLM and runs no model. It answers, with the standard library's http.server, the part of the
OpenAI API the clients use, written from the API's documentation (the Chat Completions reference and its
streaming events: `chat.completion`, `chat.completion.chunk`, `data: [DONE]`, `stream_options.include_usage`)
and from vLLM's server where vLLM says it its own way (vllm-project/vllm: entrypoints/openai/models/serving.py
`check_model`, serve/utils/error_response.py `create_error_response`, serve/utils/server_utils.py
`validation_exception_handler`, chat_completion/serving.py `chat_completion_stream_generator`):

- `GET /v1/models`: `{"object": "list", "data": [{"id": NAME, "object": "model", "owned_by": "vllm", ...}]}`.
- `POST /v1/chat/completions`: the body must be a JSON object with `messages`, a non-empty list of
  `{"role": system|developer|user|assistant|tool, "content": ...}`; `model` (if given) must be served, else
  404 "The model `NAME` does not exist." in vLLM's error body; `max_tokens` a whole number >= 1; `stream_options`
  only with `"stream": true`. A refused body is 400 as vLLM's validation handler writes it: type "Bad Request",
  message "1 validation error: ..." (the words after it are the stand-in's, in pydantic's shape).
- The answer is `You said: PROMPT` (PROMPT: the last user message), one token per word, cut at `max_tokens`
  (`finish_reason` "length", else "stop"); `usage` counts words as tokens. Streamed as vLLM streams it, chunked:
  a first chunk with `{"role": "assistant", "content": ""}`, one chunk per token (the last with its
  `finish_reason`), with `include_usage` a chunk with `"choices": []` and `usage`, then `data: [DONE]`.
- Every error is `{"error": {"message", "type", "param", "code"}}`; a path it does not serve is FastAPI's
  404 `{"detail": "Not Found"}` (not checked against vLLM).

Token timing is deterministic: `ttft` seconds before the first token and `itl` between tokens, either slept
(cut short when the stand-in stops) or, with a `TokenClock`, advanced on a virtual clock the client reads, so
a test can assert the client's time to first token and inter-token latency exactly, without timing anything.

Per test: `models` served, `reply` (a canned (status, body) answer), `faults` (by request number, a canned
answer to that request only), `usage` (False: ignore `include_usage`, as a server without it would),
`error_after` (send vLLM's mid-stream error event after that many tokens), `cut_after` (close the connection
after that many tokens), `hang` (by request number, no answer at all: the connection is held until the client
gives up). It records `requests`: (method, path, headers, body bytes) of each.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from typing import Any

from tests.client.serving_thread import QuietServer, RequestHandler, ServingThread, hold

MODEL = "llama-3.1-8b-instruct"
ROLES = ("system", "developer", "user", "assistant", "tool")
CREATED = 1_767_225_600
"""Every object's `created` (2026-01-01): the answers are deterministic."""


class TokenClock:
    """A virtual clock shared by the stand-in (which advances it) and the client (which reads it, once when a
    request starts and once per server-sent event it reads). `advance` first waits until the client has read
    the clock for every event sent so far, so each event is stamped with exactly the time it was sent at.
    For one request at a time (one worker)."""

    def __init__(self) -> None:
        self._now = 0.0
        self._reads = 0
        self._changed = threading.Condition()

    def __call__(self) -> float:
        with self._changed:
            self._reads += 1
            self._changed.notify_all()
            return self._now

    @property
    def reads(self) -> int:
        with self._changed:
            return self._reads

    def advance(self, seconds: float, after_reads: int) -> None:
        """Move on `seconds` once the clock has been read `after_reads` times (or after 5 s of waiting)."""
        with self._changed:
            self._changed.wait_for(lambda: self._reads >= after_reads, timeout=5)
            self._now += seconds


class _RefusedError(Exception):
    def __init__(self, status: int, message: str, err_type: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.err_type, self.param = status, message, err_type, param


def error_body(status: int, message: str, err_type: str, param: str | None = None) -> dict[str, Any]:
    """vLLM's ErrorResponse: {"error": {"message", "type", "param", "code"}}, code the HTTP status."""
    return {"error": {"message": message, "type": err_type, "param": param, "code": status}}


def _invalid(error_type: str, loc: tuple[Any, ...], msg: str, value: Any) -> _RefusedError:
    """vLLM's validation_exception_handler: 400, "Bad Request", the pydantic error listed after a count."""
    error = {"type": error_type, "loc": ("body", *loc), "msg": msg, "input": value}
    return _RefusedError(400, f"1 validation error:\n  {error}", HTTPStatus.BAD_REQUEST.phrase, ".".join(map(str, ("body", *loc))))


def tokens_for(prompt: str) -> list[str]:
    """The stand-in's answer to PROMPT, `You said: PROMPT`, one token per word (the first without a space)."""
    words = f"You said: {prompt}".split()
    return [words[0], *(f" {word}" for word in words[1:])]


@dataclass
class OpenAIStandIn(ServingThread):
    """The stand-in server (not vLLM); use as a context manager, then `url` (the base URL, with /v1)."""

    models: tuple[str, ...] = (MODEL,)
    ttft: float = 0.0
    """Seconds before the first token."""
    itl: float = 0.0
    """Seconds between tokens."""
    clock: TokenClock | None = None
    """Advance this virtual clock instead of sleeping."""
    usage: bool = True
    """Honour `stream_options.include_usage`."""
    reply: tuple[int, bytes | dict[str, Any]] | None = None
    faults: dict[int, tuple[int, bytes | dict[str, Any]]] = field(default_factory=dict)
    """Request number (0-based, in arrival order) -> a canned answer to it."""
    error_after: int | None = None
    cut_after: int | None = None
    hang: tuple[int, ...] = ()
    """Request numbers (0-based) not answered: the connection is held until the client gives up (or 10 s pass)."""
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    def bodies(self) -> list[Any]:
        """The JSON bodies of the POSTs received."""
        return [json.loads(body) for method, _, _, body in self.requests if method == "POST"]

    def record(self, method: str, path: str, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            self.requests.append((method, path, headers, body))
            return len(self.requests) - 1

    def wait(self, seconds: float, after_reads: int) -> bool:
        """Let `seconds` pass (virtually, or slept); False when the stand-in is stopping."""
        if self.clock is not None:
            self.clock.advance(seconds, after_reads)
            return True
        return not (seconds and self._stopping.wait(seconds))

    # The API.

    def model_list(self) -> dict[str, Any]:
        return {"object": "list", "data": [{"id": name, "object": "model", "created": CREATED, "owned_by": "vllm", "root": name,
                                            "parent": None, "max_model_len": 4096} for name in self.models]}

    def check_chat(self, raw: bytes) -> dict[str, Any]:
        """The request, checked as vLLM's ChatCompletionRequest and check_model check it; _RefusedError otherwise."""
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise _invalid("json_invalid", (0,), "JSON decode error", {}) from exc
        if not isinstance(body, dict):
            raise _invalid("model_attributes_type", (), "Input should be a valid dictionary or object to extract fields from", body)
        messages = body.get("messages")
        if messages is None:
            raise _invalid("missing", ("messages",), "Field required", body)
        if not isinstance(messages, list) or not messages:
            raise _invalid("list_type", ("messages",), "Input should be a non-empty list", messages)
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in ROLES:
                role = message.get("role") if isinstance(message, dict) else message
                raise _invalid("literal_error", ("messages", index, "role"), f"Input should be {' or '.join(map(repr, ROLES))}", role)
            if not isinstance(message.get("content"), str | list | None):
                raise _invalid("string_type", ("messages", index, "content"), "Input should be a valid string", message.get("content"))
        max_tokens = body.get("max_tokens")
        if max_tokens is not None and (not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1):
            raise _invalid("value_error", ("max_tokens",), "max_tokens must be at least 1", max_tokens)
        if body.get("stream_options") and not body.get("stream"):
            raise _RefusedError(400, "Stream options can only be defined when `stream=True`.", "BadRequestError", "stream_options")
        model = body.get("model")
        if model and model not in self.models:
            raise _RefusedError(404, f"The model `{model}` does not exist.", "NotFoundError", "model")
        return body

    def answer(self, body: dict[str, Any]) -> tuple[list[str], str, dict[str, int]]:
        """(tokens, finish_reason, usage) of a checked request."""
        users = [m.get("content") for m in body["messages"] if m.get("role") == "user" and isinstance(m.get("content"), str)]
        tokens = tokens_for(users[-1] if users else "")
        limit = body.get("max_tokens") or 4096
        finish = "length" if len(tokens) > limit else "stop"
        tokens = tokens[:limit]
        prompt_tokens = sum(len(m["content"].split()) for m in body["messages"] if isinstance(m.get("content"), str))
        return tokens, finish, {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens + len(tokens),
                                "completion_tokens": len(tokens)}

    def completion(self, body: dict[str, Any], number: int) -> dict[str, Any]:
        tokens, finish, usage = self.answer(body)
        return {"id": f"chatcmpl-{number}", "object": "chat.completion", "created": CREATED, "model": body.get("model") or self.models[0],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(tokens), "tool_calls": []},
                             "logprobs": None, "finish_reason": finish, "stop_reason": None}],
                "usage": usage}

    def chunks(self, body: dict[str, Any], number: int) -> Iterator[tuple[float, bytes | None]]:
        """(seconds to wait first, the event's bytes) of a streamed answer; None: close the connection."""
        tokens, finish, usage = self.answer(body)
        model = body.get("model") or self.models[0]

        def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
            chunk = {"id": f"chatcmpl-{number}", "object": "chat.completion.chunk", "created": CREATED, "model": model,
                     "choices": choices, **extra}
            return f"data: {json.dumps(chunk, separators=(',', ':'))}\n\n".encode()

        yield self.ttft, event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}])
        for index, token in enumerate(tokens):
            if index == self.cut_after:
                yield 0.0, None
                return
            if index == self.error_after:
                error = error_body(500, "stand-in: the engine failed mid-stream", "InternalServerError")
                yield 0.0, f"data: {json.dumps(error)}\n\n".encode()
                yield 0.0, b"data: [DONE]\n\n"
                return
            last = index == len(tokens) - 1
            yield (0.0 if index == 0 else self.itl), event([{"index": 0, "delta": {"content": token}, "logprobs": None,
                                                             "finish_reason": finish if last else None}])
        if (body.get("stream_options") or {}).get("include_usage") and self.usage:
            yield 0.0, event([], usage=usage)
        yield 0.0, b"data: [DONE]\n\n"


class _Server(QuietServer):
    standin: OpenAIStandIn


class _Handler(RequestHandler):
    server: _Server

    def _handle(self, method: str, raw: bytes) -> None:
        standin = self.server.standin
        number = standin.record(method, self.path, dict(self.headers.items()), raw)
        reads = standin.clock.reads if standin.clock is not None else 0
        if number in standin.hang:
            self.close_connection = True
            hold(self.connection)
            return
        canned = standin.faults.get(number, standin.reply)
        if canned is not None:
            self._send(*canned)
            return
        if (method, self.path) == ("GET", "/v1/models"):
            self._send(200, standin.model_list())
        elif (method, self.path) == ("GET", "/health"):
            self._send(200, b"")
        elif (method, self.path) == ("POST", "/v1/chat/completions"):
            try:
                body = standin.check_chat(raw)
            except _RefusedError as exc:
                self._send(exc.status, error_body(exc.status, exc.message, exc.err_type, exc.param))
                return
            if body.get("stream"):
                self._stream(body, number, reads)
                return
            tokens = len(standin.answer(body)[0])
            if standin.wait(standin.ttft + standin.itl * max(0, tokens - 1), after_reads=reads):
                self._send(200, standin.completion(body, number))
        elif self.path.startswith("/v1/") and method == "GET":
            self._send(405 if self.path == "/v1/chat/completions" else 404, {"detail": "Not Found"})
        else:
            self._send(404, {"detail": "Not Found"})

    def _stream(self, body: dict[str, Any], number: int, reads: int) -> None:
        """Server-sent events in HTTP/1.1 chunks, as uvicorn sends a StreamingResponse."""
        standin = self.server.standin
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for sent, (delay, data) in enumerate(standin.chunks(body, number)):
                if delay and not standin.wait(delay, after_reads=reads + sent):
                    return
                if data is None:
                    self.close_connection = True
                    self.wfile.flush()
                    return
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass


OpenAIStandIn._server_class = _Server
OpenAIStandIn._handler_class = _Handler
OpenAIStandIn._thread_name = "openai-standin"
OpenAIStandIn._url_path = "/v1"
