"""What the HTTP stand-ins share: a server on a free local port, run on a daemon thread for a `with` block."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


def hold(conn: socket.socket, seconds: float = 10.0) -> None:
    """Keep a connection open without sending more, until the client closes it (or `seconds` pass)."""
    conn.settimeout(seconds)
    with contextlib.suppress(OSError):
        while conn.recv(65536):
            pass


class QuietServer(ThreadingHTTPServer):
    """A threaded server that keeps a client giving up (a timeout test) from printing a traceback."""

    daemon_threads = True
    standin: Any

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that gave up is not an error worth a traceback."""


class RequestHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 (keep-alive), no access log; GET and POST go to `_handle(method, body)`."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self._handle("GET", b"")

    def do_POST(self) -> None:
        self._handle("POST", self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def _handle(self, method: str, body: bytes) -> None:
        raise NotImplementedError

    def _send(self, status: int, body: bytes | Any, content_type: str = "application/json") -> None:
        """One whole answer: bytes as they are, anything else as JSON."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up


class ServingThread:
    """Mixin for a stand-in dataclass: `start`/`stop`, a context manager, and `url`.

    The class sets `_server_class`, `_handler_class`, `_thread_name` and `_url_path`; its `__post_init__` sets
    `_server = None`, `_thread = None` and `_stopping` (an Event handlers watch to cut their waits short).
    """

    _server_class: type[ThreadingHTTPServer]
    _handler_class: type[BaseHTTPRequestHandler]
    _thread_name: str
    _url_path: str = ""
    _server: Any
    _thread: threading.Thread | None
    _stopping: threading.Event

    @property
    def url(self) -> str:
        assert self._server is not None, "start the stand-in first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{self._url_path}"

    def start(self) -> Self:
        self._server = self._server_class(("127.0.0.1", 0), self._handler_class)
        self._server.standin = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name=self._thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
