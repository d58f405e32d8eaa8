"""A local stand-in for TensorFlow Serving's REST API, for the client's tests.

This is NOT TensorFlow Serving and runs no model. It implements, with the standard library's
http.server (and numpy for the scores), the part of TF Serving's documented REST API the client uses
(https://www.tensorflow.org/tfx/serving/api_rest, `tensorflow_serving/g3doc/api_rest.md`):

- `GET /v1/models/NAME`: `{"model_version_status": [{"version": "1", "state": ..., "status": {...}}]}`;
  an unknown model is 404 `{"error": "Could not find any versions of model NAME"}`.
- `GET /v1/models/NAME/metadata`: the `serving_default` signature, one DT_FLOAT input `input_1` of
  shape [-1, 224, 224, 3] and one output, as TF Serving describes a Keras ResNet-50.
- `POST /v1/models/NAME:predict` with the row form `{"instances": ...}` (answered with `predictions`)
  or the columnar form `{"inputs": ...}` (answered with `outputs`); an unknown model, or one that is
  not AVAILABLE, is 404 `{"error": "Servable not found for request: Latest(NAME)"}`; a body that is not
  one [1, 224, 224, 3] tensor of numbers is 400 with an `error`.
- Errors are `{"error": "..."}` with an HTTP error status, as the documentation says.

The scores are deterministic and depend on the image, so a test can check the whole pipeline:
the stand-in adds the ImageNet means back (undoing the client's "caffe" preprocessing), finds the
dominant channel in BGR order, and returns a softmax in which that colour's class wins
(red: strawberry, green: Granny_Smith, blue: seashore), then tabby, tiger_cat, Egyptian_cat.
An image sent in RGB order instead of BGR would win the wrong class.

It is configurable per test: `state` (and `error_code`/`error_message`) for the status,
`response_form` to force an answer form, `reply` for a canned (HTTP status, body) answer such as
a 500 or a malformed body, and `delay` to answer late. `requests` records what it received.
Requests are parsed only when they need to be (a canned `reply` skips it), to keep tests fast.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import numpy as np

MODEL = "resnet50_neuron"
BGR_MEANS = (103.939, 116.779, 123.68)
INPUT_SHAPE = (1, 224, 224, 3)
COLOR_CLASSES = {"blue": 978, "green": 948, "red": 949}
"""The class that wins for an image whose dominant colour this is: seashore, Granny_Smith, strawberry."""
RUNNERS_UP = (281, 282, 285)
"""tabby, tiger_cat, Egyptian_cat: second, third and fourth for every image."""
OUTPUT_NAME = "probabilities"

_BGR_ORDER = ("blue", "green", "red")


def dominant_color(batch: np.ndarray) -> str:
    """The colour with the largest mean in a preprocessed [1, 224, 224, 3] BGR batch."""
    bgr = batch.reshape(-1, 3) + np.asarray(BGR_MEANS)
    return _BGR_ORDER[int(np.argmax(bgr.mean(axis=0)))]


def scores_for(batch: np.ndarray) -> np.ndarray:
    """Deterministic softmax scores over the 1000 classes for a preprocessed batch of one."""
    logits = np.linspace(0.0, -1.0, 1000)
    logits[COLOR_CLASSES[dominant_color(batch)]] = 8.0
    for logit, index in zip((5.0, 4.0, 3.0), RUNNERS_UP, strict=True):
        logits[index] = logit
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


class _BadRequestError(Exception):
    pass


def _tensor(value: Any) -> np.ndarray:
    """The request's tensor as an array; _BadRequestError unless it is one [1, 224, 224, 3] tensor of numbers."""
    if isinstance(value, dict):  # named inputs
        if len(value) != 1:
            raise _BadRequestError(f"expected one named input, got {len(value)}")
        value = next(iter(value.values()))
    try:
        array = np.array(value)
    except ValueError as exc:
        raise _BadRequestError(f"the input is not a tensor (ragged lists): {exc}") from None
    if array.dtype.kind not in "iuf":
        raise _BadRequestError(f"expected numbers, got {array.dtype} values")
    if array.shape != INPUT_SHAPE:
        raise _BadRequestError(f"expected a tensor of shape {list(INPUT_SHAPE)}, got {list(array.shape)}")
    return array.astype(np.float64)


@dataclass
class StandIn:
    """The stand-in server (not TensorFlow Serving); use as a context manager, then `url`."""

    model: str = MODEL
    state: str = "AVAILABLE"
    error_code: str = "OK"
    error_message: str = ""
    response_form: str | None = None
    """None answers like TF Serving (instances -> predictions, inputs -> outputs); or force one of
    "predictions", "outputs", "predictions_named" ([{"probabilities": [...]}]), "outputs_named"."""
    reply: tuple[int, bytes | dict[str, Any]] | None = None
    """A canned answer to every request: (HTTP status, body bytes or a JSON object)."""
    delay: float = 0.0
    """Seconds to wait before answering (cut short when the stand-in stops)."""
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)
    """(method, path, body bytes) of every request received."""

    def __post_init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        assert self._server is not None, "start the stand-in first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> StandIn:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.standin = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="tf-serving-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # The API, as (HTTP status, JSON body).

    def model_status(self, name: str) -> tuple[int, Any]:
        if name != self.model:
            return 404, {"error": f"Could not find any versions of model {name}"}
        return 200, {"model_version_status": [{
            "version": "1",
            "state": self.state,
            "status": {"error_code": self.error_code, "error_message": self.error_message},
        }]}

    def metadata(self, name: str) -> tuple[int, Any]:
        if name != self.model or self.state != "AVAILABLE":
            return 404, {"error": f"Servable not found for request: Latest({name})"}
        dims = [{"size": str(size), "name": ""} for size in (-1, *INPUT_SHAPE[1:])]
        signature = {
            "inputs": {"input_1": {"dtype": "DT_FLOAT", "tensor_shape": {"dim": dims, "unknown_rank": False},
                                   "name": "serving_default_input_1:0"}},
            "outputs": {OUTPUT_NAME: {"dtype": "DT_FLOAT", "tensor_shape": {
                "dim": [{"size": "-1", "name": ""}, {"size": "1000", "name": ""}], "unknown_rank": False},
                "name": "StatefulPartitionedCall:0"}},
            "method_name": "tensorflow/serving/predict",
        }
        return 200, {"model_spec": {"name": name, "signature_name": "", "version": "1"},
                     "metadata": {"signature_def": {"signature_def": {"serving_default": signature}}}}

    def predict(self, name: str, raw: bytes) -> tuple[int, Any]:
        if name != self.model or self.state != "AVAILABLE":
            return 404, {"error": f"Servable not found for request: Latest({name})"}
        try:
            body = json.loads(raw)
        except ValueError as exc:
            return 400, {"error": f"JSON Parse error: {exc}"}
        if not isinstance(body, dict):
            return 400, {"error": "JSON Parse error: the request body is not a JSON object"}
        forms = [key for key in ("instances", "inputs") if key in body]
        if len(forms) != 1:
            return 400, {"error": "Missing 'inputs' or 'instances' key" if not forms
                         else "Not both 'inputs' and 'instances' keys"}
        try:
            batch = _tensor(body[forms[0]])
        except _BadRequestError as exc:
            return 400, {"error": f"Invalid argument: {exc}"}
        scores = scores_for(batch).tolist()
        form = self.response_form or ("predictions" if forms[0] == "instances" else "outputs")
        answers: dict[str, Any] = {
            "predictions": {"predictions": [scores]},
            "outputs": {"outputs": [scores]},
            "predictions_named": {"predictions": [{OUTPUT_NAME: scores}]},
            "outputs_named": {"outputs": {OUTPUT_NAME: [scores]}},
        }
        return 200, answers[form]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: StandIn

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that gave up (timeout test) is not an error worth a traceback."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    _PREFIX = "/v1/models/"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self._handle("GET", b"")

    def do_POST(self) -> None:
        self._handle("POST", self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def _handle(self, method: str, raw: bytes) -> None:
        standin = self.server.standin
        standin.requests.append((method, self.path, raw))
        if standin.delay and standin._stopping.wait(standin.delay):
            return
        if standin.reply is not None:
            self._send(*standin.reply)
            return
        path = self.path
        if method == "GET" and path.startswith(self._PREFIX) and "/" not in path[len(self._PREFIX):]:
            self._send(*standin.model_status(path[len(self._PREFIX):]))
        elif method == "GET" and path.startswith(self._PREFIX) and path.endswith("/metadata"):
            self._send(*standin.metadata(path[len(self._PREFIX):-len("/metadata")]))
        elif method == "POST" and path.startswith(self._PREFIX) and path.endswith(":predict"):
            self._send(*standin.predict(path[len(self._PREFIX):-len(":predict")], raw))
        else:
            self._send(404, {"error": f"Malformed request: {method} {path}"})

    def _send(self, status: int, body: bytes | Any) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up
