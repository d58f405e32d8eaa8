"""The OpenAI-compatible stand-in is as strict as the API it stands in for, and streams as vLLM does."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.client.standin_openai import CREATED, MODEL, OpenAIStandIn, TokenClock


@pytest.fixture
def server() -> Iterator[OpenAIStandIn]:
    with OpenAIStandIn() as standin:
        yield standin


def call(url: str, body: bytes | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, data=body, method="GET" if body is None else "POST")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers["Content-Type"], exc.read()


def post(server: OpenAIStandIn, body: Any) -> tuple[int, Any]:
    status, _, raw = call(f"{server.url}/chat/completions", body if isinstance(body, bytes) else json.dumps(body).encode())
    return status, json.loads(raw)


USER = [{"role": "user", "content": "Hi there"}]


def test_the_model_list(server: OpenAIStandIn) -> None:
    status, kind, raw = call(f"{server.url}/models")
    assert (status, kind) == (200, "application/json")
    assert json.loads(raw) == {"object": "list", "data": [{"id": MODEL, "object": "model", "created": CREATED, "owned_by": "vllm",
                                                           "root": MODEL, "parent": None, "max_model_len": 4096}]}


def test_a_completion(server: OpenAIStandIn) -> None:
    assert post(server, {"model": MODEL, "messages": [{"role": "system", "content": "Be brief."}, *USER], "max_tokens": 2}) == (200, {
        "id": "chatcmpl-0", "object": "chat.completion", "created": CREATED, "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "You said:", "tool_calls": []}, "logprobs": None,
                     "finish_reason": "length", "stop_reason": None}],
        "usage": {"prompt_tokens": 4, "total_tokens": 6, "completion_tokens": 2}})
    # Without `model` vLLM answers with its one model (check_model lets an empty name through).
    assert post(server, {"messages": USER})[1]["choices"][0]["message"]["content"] == "You said: Hi there"


def test_a_stream(server: OpenAIStandIn) -> None:
    status, kind, raw = call(f"{server.url}/chat/completions", json.dumps(
        {"model": MODEL, "messages": USER, "stream": True, "stream_options": {"include_usage": True}}).encode())

    assert (status, kind) == (200, "text/event-stream; charset=utf-8")
    events = raw.decode().split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    chunks = [json.loads(event.removeprefix("data: ")) for event in events[:-2]]
    assert {(c["id"], c["object"], c["model"]) for c in chunks} == {("chatcmpl-0", "chat.completion.chunk", MODEL)}
    assert [c["choices"][0]["delta"] if c["choices"] else c["usage"] for c in chunks] == [
        {"role": "assistant", "content": ""}, {"content": "You"}, {"content": " said:"}, {"content": " Hi"}, {"content": " there"},
        {"prompt_tokens": 2, "total_tokens": 6, "completion_tokens": 4}]
    assert [c["choices"][0]["finish_reason"] for c in chunks[:-1]] == [None, None, None, None, "stop"]


def test_without_include_usage_there_is_no_usage_chunk(server: OpenAIStandIn) -> None:
    _, _, raw = call(f"{server.url}/chat/completions", json.dumps({"messages": USER, "stream": True}).encode())
    assert all(json.loads(e.removeprefix("data: "))["choices"] for e in raw.decode().split("\n\n")[:-2])


@pytest.mark.parametrize(("body", "status", "message", "param"), [
    ({"model": MODEL}, 400, "1 validation error:\n  {'type': 'missing', 'loc': ('body', 'messages'), 'msg': 'Field required', "
                            "'input': {'model': '" + MODEL + "'}}", "body.messages"),
    ({"messages": [{"role": "robot", "content": "x"}]}, 400, "1 validation error:\n  {'type': 'literal_error', "
     "'loc': ('body', 'messages', 0, 'role'), 'msg': \"Input should be 'system' or 'developer' or 'user' or 'assistant' or 'tool'\", "
     "'input': 'robot'}", "body.messages.0.role"),
    ({"messages": []}, 400, None, "body.messages"),
    ({"messages": USER, "max_tokens": 0}, 400, None, "body.max_tokens"),
    ({"messages": USER, "stream_options": {"include_usage": True}}, 400, "Stream options can only be defined when `stream=True`.",
     "stream_options"),
    ({"model": "gpt-4", "messages": USER}, 404, "The model `gpt-4` does not exist.", "model"),
    (b"{not json", 400, None, "body.0"),
    ([1, 2], 400, None, "body"),
])
def test_refusals_in_vllms_error_body(server: OpenAIStandIn, body: Any, status: int, message: str | None, param: str) -> None:
    got_status, got = post(server, body)

    assert got_status == status
    assert set(got) == {"error"} and set(got["error"]) == {"message", "type", "param", "code"}
    assert (got["error"]["code"], got["error"]["param"]) == (status, param)
    assert got["error"]["type"] == ("NotFoundError" if status == 404 else "BadRequestError" if param == "stream_options" else "Bad Request")
    if message is not None:
        assert got["error"]["message"] == message


def test_paths_it_does_not_serve(server: OpenAIStandIn) -> None:
    base = server.url.removesuffix("/v1")
    assert call(f"{base}/v1/completion")[::2] == (404, b'{"detail": "Not Found"}')
    assert call(f"{base}/chat/completions", b"{}")[::2] == (404, b'{"detail": "Not Found"}')


def test_the_token_clock_waits_for_the_reader() -> None:
    clock = TokenClock()
    assert (clock(), clock.reads) == (0.0, 1)
    clock.advance(0.5, after_reads=1)  # read once already: no wait
    assert clock() == 0.5
