"""`client.openai_api` on its own: the base URL, and the server-sent events parser on streams a server could send."""

from __future__ import annotations

import io
import itertools

import pytest

from client import openai_api
from client.openai_api import Event


@pytest.mark.parametrize(("value", "base"), [
    ("http://localhost:8000", "http://localhost:8000/v1"),
    ("http://localhost:8000/", "http://localhost:8000/v1"),
    ("http://localhost:8000/v1/", "http://localhost:8000/v1"),
    ("http://gateway:8080/INFERENTIA-BOX/", "http://gateway:8080/INFERENTIA-BOX"),  # a path of its own: kept, without the slash
])
def test_base_url(value: str, base: str) -> None:
    assert openai_api.base_url(value) == base


def read(stream: bytes) -> list[Event]:
    clock = itertools.count(1.0)
    return list(openai_api.read_events(io.BytesIO(stream), "http://h:8000/v1/chat/completions", 30,
                                       clock=lambda: float(next(clock))))


def test_read_events_as_the_html_standard_parses_them() -> None:
    events = read(
        b": ping\n"  # a comment
        b"\n"  # a blank line ends no event when no data came before it
        b"event: message\r\n"  # other fields are ignored; CRLF ends a line as LF does
        b"id: 1\r\n"
        b'data: {"choices":[{"index":0,"delta":{"content":"caf\xc3\xa9"}}]}\r\n'
        b"\r\n"
        b'data:{"choices":\n'  # no space after the colon; data lines join with a newline
        b" \n"  # a line of a space is a field named " ", not a blank line
        b'data: [{"index":0,"delta":{"content":" \xff"}}]}\n'  # a byte that is not UTF-8 becomes U+FFFD
        b"\n"
        b"data: [DONE]\n"
        b"\n"
        b"data: never read\n\n")

    assert events == [
        Event(1.0, {"choices": [{"index": 0, "delta": {"content": "café"}}]}),
        Event(2.0, {"choices": [{"index": 0, "delta": {"content": " \ufffd"}}]}),
        Event(3.0, None),
    ]
    assert [event.content for event in events] == ["café", " \ufffd", ""]
