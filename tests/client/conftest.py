"""Fixtures for the client's tests: the TF Serving stand-in, a closed port, test images made with Pillow."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.client.helpers import COLORS
from tests.client.standin import StandIn
from tests.client.standin_grpc import GrpcStandIn


@pytest.fixture
def standin() -> Iterator[StandIn]:
    """A running stand-in for TF Serving's REST API (not TF Serving) serving resnet50_neuron."""
    with StandIn() as server:
        yield server


@pytest.fixture
def grpc_standin() -> Iterator[GrpcStandIn]:
    """A running stand-in for TF Serving's gRPC API (not TF Serving) serving resnet50_neuron."""
    with GrpcStandIn() as server:
        yield server


@pytest.fixture
def closed_target(closed_url: str) -> str:
    """HOST:PORT on 127.0.0.1 where nothing listens."""
    return closed_url.removeprefix("http://")


@pytest.fixture
def closed_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (a port taken and released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def make_image(tmp_path: Path) -> Callable[..., Path]:
    """Write a one-colour image (by name from COLORS, or an RGB tuple) and return its path."""

    def make(color: str | tuple[int, int, int] = "red", size: tuple[int, int] = (320, 240),
             name: str = "image.png", mode: str = "RGB") -> Path:
        rgb = COLORS[color] if isinstance(color, str) else color
        path = tmp_path / name
        Image.new("RGB", size, rgb).convert(mode).save(path)
        return path

    return make



def _read_request(conn: socket.socket) -> None:
    """Read an HTTP request, its head and the Content-Length bytes of its body: a connection closed with
    unread bytes is reset, not closed, which would fail the client another way than the test means."""
    conn.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    fields = dict(line.partition(b":")[::2] for line in head.split(b"\r\n")[1:])
    length = int({name.strip().lower(): value for name, value in fields.items()}.get(b"content-length", b"0"))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return
        body += chunk


def _serve_once(answer: Callable[[socket.socket], None]) -> Iterator[str]:
    """A URL on 127.0.0.1 whose first connection, after the request is read, is handled by `answer`."""
    listener = socket.create_server(("127.0.0.1", 0))

    def accept() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:  # closed unused
            return
        with conn:
            _read_request(conn)
            answer(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()
    thread.join(timeout=5)


Answer = bytes | Callable[[socket.socket], None]
"""What a raw server does with its connection once it has read the request: send these bytes, or call this."""


@pytest.fixture
def serve_once() -> Iterator[Callable[[Answer], str]]:
    """Start raw servers: `serve_once(answer)` is the URL of one whose first connection, after the request is
    read, gets `answer` (bytes, then the connection closes; or a function of the socket). For answers no HTTP
    server library sends: a body cut short, a chunk cut in the middle, headers and then silence."""
    with contextlib.ExitStack() as servers:
        def start(answer: Answer) -> str:
            handle = (lambda conn: conn.sendall(answer)) if isinstance(answer, bytes) else answer
            return servers.enter_context(contextlib.contextmanager(_serve_once)(handle))

        yield start


@pytest.fixture
def not_http_url() -> Iterator[str]:
    """A port that answers with bytes that are not HTTP/1.x, as a gRPC (HTTP/2 only) port does."""
    yield from _serve_once(lambda conn: conn.sendall(
        b"\x00\x00\x12\x04\x00\x00\x00\x00\x00\x00\x03\x7f\xff\xff\xff\x00\x04\x00\x10\x00\x00"))


@pytest.fixture
def closing_url() -> Iterator[str]:
    """A port that closes the connection without an answer, as kubectl port-forward does when its pod is gone."""
    yield from _serve_once(lambda conn: None)


@pytest.fixture
def resetting_url() -> Iterator[str]:
    """A port that resets the connection (SO_LINGER 0, then close), the other way a lost port-forward ends."""
    yield from _serve_once(lambda conn: conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)))
