"""The part of the OpenAI API that `client.chat` and `client.loadtest --openai` use, standard library only.

vLLM's OpenAI-compatible server (the stack's `openaiEndpoint`, `http://<service>.<ns>.svc.cluster.local:8000/v1`)
answers it, and so does any other server of the API. The base URL is the OpenAI SDKs' `base_url`, ending in
`/v1`; a URL without a path gets `/v1` added (vLLM serves the API under `/v1` only).

- `GET {base}/models`: `{"object": "list", "data": [{"id": NAME, "object": "model", ...}]}`.
- `POST {base}/chat/completions` with `{"model", "messages": [{"role", "content"}], "max_tokens"}`: a
  `chat.completion` whose `choices[0].message.content` is the answer; with `"stream": true` the answer is
  server-sent events, one `data: {chat.completion.chunk}` per line and a blank line after each, whose
  `choices[0].delta.content` pieces make the answer, ending with `data: [DONE]`. With
  `"stream_options": {"include_usage": true}` the last chunk before `[DONE]` has `"choices": []` and the
  `usage` (`completion_tokens`): vLLM sends it (vllm/entrypoints/openai/chat_completion/serving.py,
  `should_include_usage`), and refuses `stream_options` without `stream` (400).
- Errors are `{"error": {"message", "type", "param", "code"}}` (vLLM's ErrorResponse; older vLLM put
  `message` at the top with `"object": "error"`); an unknown model is HTTP 404
  "The model `NAME` does not exist." (vllm/entrypoints/openai/models/serving.py, `check_model`). An error
  after the stream began comes as one more event, `data: {"error": {...}}`, then `data: [DONE]`.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from client.common import (
    BadResponseError,
    HTTPStatusError,
    ServerError,
    UnreachableError,
    connection_error,
    error_text,
    one_line,
    open_url,
    request_json,
)

DEFAULT_OPENAI_URL = "http://localhost:8000/v1"
"""vLLM's port 8000 (the Service's `http` port) after `kubectl port-forward`, with the API's `/v1`."""
DEFAULT_MAX_TOKENS = 256
NOT_HTTP_HINT = "is it vLLM's OpenAI port (8000)?"
NOT_FOUND_HINT = " (is --url the OpenAI base URL, ending in /v1?)"
"""After a 404 that is not vLLM's unknown-model answer, e.g. a path the server does not serve."""
UNKNOWN_MODEL = "does not exist"
"""In vLLM's 404 for an unknown model: "The model `NAME` does not exist."."""


def base_url(value: str) -> str:
    """The API's base URL: without a trailing slash, and `/v1` when it has no path."""
    value = value.rstrip("/")
    return value + "/v1" if not urllib.parse.urlsplit(value).path else value


def list_models(base: str, timeout: float) -> list[str]:
    """The ids `GET {base}/models` lists."""
    url = f"{base}/models"
    body = request_json(url, timeout=timeout, not_found_hint=NOT_FOUND_HINT, not_http_hint=NOT_HTTP_HINT)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or not all(isinstance(m, dict) and isinstance(m.get("id"), str) for m in data):
        raise BadResponseError(f"{url} did not answer a model list (`data` with an `id` each): {one_line(json.dumps(body), 80)}")
    return [m["id"] for m in data]


def only_model(base: str, timeout: float) -> str:
    """The one model the server serves; a BadResponseError naming them when it serves none or several."""
    models = list_models(base, timeout)
    if len(models) == 1:
        return models[0]
    if not models:
        raise BadResponseError(f"{base}/models lists no model (is the server still loading it?)")
    raise BadResponseError(f"{base}/models lists {len(models)} models ({', '.join(models)}); pass one as --model")


def unknown_model_hint(base: str, timeout: float) -> str:
    """After vLLM's 404 for an unknown model: the models the server does serve, if it says."""
    try:
        models = list_models(base, timeout)
    except (ServerError, BadResponseError, UnreachableError):
        return " (check --model)"
    return f" (the server serves: {', '.join(models) or 'no model'}; pass one as --model, or leave it out)"


def chat_body(model: str, prompt: str, max_tokens: int, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def chat_request(base: str, body: dict[str, Any]) -> urllib.request.Request:
    request = urllib.request.Request(f"{base}/chat/completions", data=json.dumps(body, separators=(",", ":")).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    if body.get("stream"):
        request.add_header("Accept", "text/event-stream")
    return request


def post_chat(base: str, body: dict[str, Any], timeout: float) -> http.client.HTTPResponse:
    """POST a chat completion; the open answer (a stream to read), or the failure as a ClientError.

    vLLM's 404 for an unknown model gets the served models appended."""
    try:
        return open_url(chat_request(base, body), timeout, not_found_hint="", not_http_hint=NOT_HTTP_HINT)
    except HTTPStatusError as exc:  # open_url's only ServerError
        if exc.status == 404 and UNKNOWN_MODEL in exc.detail:
            raise ServerError(f"{exc}{unknown_model_hint(base, timeout)}") from None
        if exc.status == 404:
            raise ServerError(f"{exc}{NOT_FOUND_HINT}") from None
        raise


def answer_text(body: Any, url: str) -> str:
    """`choices[0].message.content` of a chat.completion."""
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise BadResponseError(f"{url} did not answer a chat completion (no choices[0].message): "
                               f"{one_line(json.dumps(body), 120)}") from None
    return content if isinstance(content, str) else ""


@dataclass(frozen=True)
class Event:
    """One server-sent event of a chat completion stream, with the clock's time when it was read."""

    at: float
    data: dict[str, Any] | None
    """The chunk; None for `[DONE]`."""

    @property
    def content(self) -> str:
        """The answer's piece this chunk carries (`choices[0].delta.content`), "" for none."""
        choices = (self.data or {}).get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return ""
        delta = choices[0].get("delta")
        piece = delta.get("content") if isinstance(delta, dict) else None
        return piece if isinstance(piece, str) else ""

    @property
    def completion_tokens(self) -> int | None:
        usage = (self.data or {}).get("usage")
        tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
        return tokens if isinstance(tokens, int) and not isinstance(tokens, bool) else None


def read_events(response: Any, url: str, timeout: float, clock: Callable[[], float]) -> Iterator[Event]:
    """The events of a `text/event-stream` answer, each stamped with `clock()` when its data line was read.

    Server-sent events as the HTML standard defines them: lines of `field: value`, an event ends at a blank
    line, `data` lines join with newlines, lines starting with `:` are comments. Ends after `data: [DONE]`.
    Raises ServerError for an error event, BadResponseError for data that is not a JSON object,
    UnreachableError when the stream breaks off (or times out) before `[DONE]`.
    """
    data: list[str] = []
    while True:
        try:
            raw = response.readline()
        except OSError as exc:
            raise connection_error(url, exc, timeout) from None
        except http.client.HTTPException as exc:  # IncompleteRead: a chunked answer cut short
            raise UnreachableError(f"the stream from {url} broke off before data: [DONE] ({type(exc).__name__})") from None
        if not raw:
            raise UnreachableError(f"the stream from {url} broke off before data: [DONE]")
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if line:
            field, _, value = line.partition(":")
            if field == "data":
                data.append(value.removeprefix(" "))
            continue
        if not data:
            continue
        text, data = "\n".join(data), []
        at = clock()
        if text == "[DONE]":
            yield Event(at, None)
            return
        try:
            chunk = json.loads(text)
        except ValueError:
            chunk = None
        if not isinstance(chunk, dict):
            raise BadResponseError(f"{url} sent a stream event that is not a JSON object: {one_line(text, 80)!r}")
        if "error" in chunk or chunk.get("object") == "error":
            raise ServerError(f"{url} failed mid-stream: {error_text(text.encode())}")
        yield Event(at, chunk)
