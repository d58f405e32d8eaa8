"""Fixtures for the client's tests: the TF Serving stand-in, a closed port, test images made with Pillow."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.client.helpers import COLORS
from tests.client.standin import StandIn


@pytest.fixture
def standin() -> Iterator[StandIn]:
    """A running stand-in for TF Serving's REST API (not TF Serving) serving resnet50_neuron."""
    with StandIn() as server:
        yield server


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

