"""A local stand-in for TensorFlow Serving's REST API, for the client's and the smoke check's tests.

This is NOT TensorFlow Serving and runs no model. It answers, with the standard library's http.server
(and numpy for the scores), the part of TF Serving's REST API the client and the smoke check use, and
it refuses what TF Serving refuses, with TF Serving's own words and HTTP status codes. They are read
from tensorflow/serving (commit 9d981c5c2708d23c5407c7c1e30309e6f9798874); a comment beside each names
its file. The JSON request parsing is in `standin_json.py` (json_tensor.cc).

- `GET /v1/models/NAME[/versions/N]`: `{"model_version_status": [{"version": "1", "state": ..., "status": {...}}]}`;
  an unknown model is 404 `Could not find any versions of model NAME`.
- `GET /v1/models/NAME[/versions/N]/metadata`: the `serving_default` signature (`inputs`, `outputs`).
- `POST /v1/models/NAME[/versions/N]:predict` with the row form `{"instances": [...]}` (answered with
  `predictions`) or the columnar form `{"inputs": ...}` (answered with `outputs`). A model that is
  unknown or not AVAILABLE is 404 `Servable not found for request: Latest(NAME)`; a request that does
  not fit the signature is 400 with TF Serving's message. The answer holds every output of the
  signature, each of the shape it declares ([batch, 1000]), unnamed when there is one output.
- Every error is `{"error": "..."}` (json_tensor.cc, MakeJsonFromStatus); a path outside `/v1/` gets
  libevent's HTML 404 page.

By default it serves a Keras ResNet-50: one DT_FLOAT input `input_1` of shape [-1, 224, 224, 3] and one
output `probabilities` of shape [-1, 1000]; `inputs` and `outputs` change the signature.

The scores are deterministic and depend on the image, so a test can check the whole pipeline:
the stand-in adds the ImageNet means back (undoing the client's "caffe" preprocessing), finds the
dominant channel in BGR order, and returns a softmax in which that colour's class wins
(red: strawberry, green: Granny_Smith, blue: seashore), then tabby, tiger_cat, Egyptian_cat.
An image sent in RGB order instead of BGR would win the wrong class.

It is configurable per test: `state` (and `error_code`/`error_message`) for the status, `reply` for
a canned (HTTP status, body) answer such as a 500 or a malformed body, and `delay` to answer late.
It records what it received: `requests` (method, path, body bytes) and, for each predict it accepted,
`predictions` (the path, the request form and the input tensors as TF Serving would have built them).
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

import numpy as np

from tests.client.serving_thread import QuietServer, RequestHandler, ServingThread
from tests.client.standin_json import (
    InvalidArgumentError,
    TensorInfo,
    format_error,
    parse_json,
    predict_inputs,
    signature_name,
)

MODEL = "resnet50_neuron"
BGR_MEANS = (103.939, 116.779, 123.68)
IMAGE_SHAPE = (224, 224, 3)
INPUT_NAME = "input_1"
OUTPUT_NAME = "probabilities"
NUM_CLASSES = 1000
COLOR_CLASSES = {"blue": 978, "green": 948, "red": 949}
"""The class that wins for an image whose dominant colour this is: seashore, Granny_Smith, strawberry."""
RUNNERS_UP = (281, 282, 285)
"""tabby, tiger_cat, Egyptian_cat: second, third and fourth for every image."""
DEFAULT_SIGNATURE = "serving_default"

_BGR_ORDER = ("blue", "green", "red")

# http_rest_api_util.cc: kPredictionApiGegex and kModelStatusApiRegex (RE2 FullMatch, case-insensitive).
_PREDICT_PATH = re.compile(r"(?i)/v1/models/([^/:]+)(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?:(classify|regress|predict)")
_STATUS_PATH = re.compile(r"(?i)/v1/models(?:/([^/:]+))?(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?(?:\/(metadata))?")
# http_rest_api_util.h: kHTTPRestApiHandlerPathRegex; other paths are not dispatched (http_server.cc).
_HANDLED_PATH = re.compile(r"(?i)/v1/.*")
# libevent's evhttp_send_error page (ERR_FORMAT in http.c), what evhttp_server.cc sends for an undispatched path.
_NOT_FOUND_PAGE = b"<HTML><HEAD>\n<TITLE>404 Not Found</TITLE>\n</HEAD><BODY>\n<H1>Not Found</H1>\n</BODY></HTML>\n"


def dominant_color(image: np.ndarray) -> str:
    """The colour with the largest mean in a preprocessed 224x224x3 BGR image (or a batch of one)."""
    bgr = np.asarray(image, dtype=np.float64).reshape(-1, 3) + np.asarray(BGR_MEANS)
    return _BGR_ORDER[int(np.argmax(bgr.mean(axis=0)))]


def scores_for(image: np.ndarray | None) -> np.ndarray:
    """Deterministic softmax scores over the 1000 classes for one preprocessed image; None: no colour wins."""
    logits = np.linspace(0.0, -1.0, NUM_CLASSES)
    if image is not None:
        logits[COLOR_CLASSES[dominant_color(image)]] = 8.0
    for logit, index in zip((5.0, 4.0, 3.0), RUNNERS_UP, strict=True):
        logits[index] = logit
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


class _NotFoundError(InvalidArgumentError):
    """absl::StatusCode::kNotFound: HTTP 404 (http_server.cc, ToHTTPStatusCode)."""

    http_status = 404
    code_name = "NOT_FOUND"


@dataclass(frozen=True)
class ReceivedPredict:
    """A predict request the stand-in accepted, as TF Serving would have read it."""

    path: str
    form: str
    """"row" (`instances`) or "columnar" (`inputs`)."""
    tensors: dict[str, np.ndarray]
    """The input tensors by signature name, batch first, in the signature's dtype."""


def _resnet50_inputs() -> dict[str, TensorInfo]:
    return {INPUT_NAME: TensorInfo("DT_FLOAT", (-1, *IMAGE_SHAPE))}


@dataclass
class StandIn(ServingThread):
    """The stand-in server (not TensorFlow Serving); use as a context manager, then `url`."""

    model: str = MODEL
    version: int = 1
    state: str = "AVAILABLE"
    error_code: str = "OK"
    error_message: str = ""
    inputs: dict[str, TensorInfo] = field(default_factory=_resnet50_inputs)
    """The serving_default signature's inputs by name."""
    outputs: tuple[str, ...] = (OUTPUT_NAME,)
    """The signature's outputs, each DT_FLOAT [-1, 1000] (the same scores under every name)."""
    reply: tuple[int, bytes | dict[str, Any]] | None = None
    """A canned answer to every request: (HTTP status, body bytes or a JSON object)."""
    delay: float = 0.0
    """Seconds to wait before answering (cut short when the stand-in stops)."""
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)
    """(method, path, body bytes) of every request received."""
    predictions: list[ReceivedPredict] = field(default_factory=list)
    """Every predict request answered with 200."""

    def __post_init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # The API: each returns (HTTP status, JSON body) or raises an InvalidArgumentError (or subclass).

    def answer(self, method: str, path: str, raw: bytes) -> tuple[int, Any]:
        """http_rest_api_handler.cc: ProcessRequest; an error is answered as MakeJsonFromStatus writes it."""
        try:
            return 200, self._dispatch(method, path, raw)
        except InvalidArgumentError as exc:
            return exc.http_status, {"error": str(exc)}

    def _dispatch(self, method: str, path: str, raw: bytes) -> Any:
        # http_rest_api_util.cc: ParseModelInfo (the model name is URL-decoded there too).
        match = (_PREDICT_PATH if method == "POST" else _STATUS_PATH).fullmatch(path) if method in ("GET", "POST") else None
        if match is None:
            # http_rest_api_handler.cc: ProcessRequest's default status.
            raise InvalidArgumentError(f"Malformed request: {method} {path}")
        name, version, label, verb = (urllib.parse.unquote(group) if group else group for group in match.groups())
        if label is not None:
            # server_core.cc: GetModelVersionForLabel (the stand-in's models have no labels).
            raise InvalidArgumentError(f"Unrecognized servable version label: {label}")
        if method == "GET" and not name:
            # http_rest_api_handler.cc: ProcessModelStatusRequest / ProcessModelMetadataRequest.
            raise InvalidArgumentError("Missing model name in request.")
        if method == "GET":
            return self.metadata(name, version) if verb == "metadata" else self.model_status(name, version)
        if verb == "predict":
            return self.predict(path, name, version, raw)
        return self.classify_or_regress(verb.lower(), name, version, raw)

    def model_status(self, name: str, version: str | None = None) -> Any:
        """get_model_status_impl.cc: GetModelStatusWithModelSpec."""
        if name == self.model and version is not None and int(version) != self.version:
            raise _NotFoundError(f"Could not find version {int(version)} of model {name}")
        if name != self.model:
            raise _NotFoundError(f"Could not find any versions of model {name}")
        return {"model_version_status": [{
            "version": str(self.version),
            "state": self.state,
            "status": {"error_code": self.error_code, "error_message": self.error_message},
        }]}

    def _servable(self, name: str, version: str | None) -> None:
        """basic_manager.cc: GetUntypedServableHandle; a model that is not AVAILABLE has no handle either."""
        request = f"Latest({name})" if version is None else f"Specific({name}, {int(version)})"
        if name != self.model or self.state != "AVAILABLE" or (version is not None and int(version) != self.version):
            raise _NotFoundError(f"Servable not found for request: {request}")

    def metadata(self, name: str, version: str | None = None) -> Any:
        """get_model_metadata_impl.cc: SavedModelGetSignatureDef, in http_rest_api_util.cc's ToJsonString."""
        self._servable(name, version)

        def info(tensor: TensorInfo, tensor_name: str) -> dict[str, Any]:
            dims = [{"size": str(size), "name": ""} for size in tensor.shape]
            return {"dtype": tensor.dtype, "tensor_shape": {"dim": dims, "unknown_rank": False}, "name": tensor_name}

        signature = {
            "inputs": {key: info(tensor, f"serving_default_{key}:0") for key, tensor in self.inputs.items()},
            "outputs": {key: info(TensorInfo("DT_FLOAT", (-1, NUM_CLASSES)), f"StatefulPartitionedCall:{index}")
                        for index, key in enumerate(self.outputs)},
            "method_name": "tensorflow/serving/predict",
        }
        return {"model_spec": {"name": name, "signature_name": "", "version": str(self.version)},
                "metadata": {"signature_def": {"signature_def": {DEFAULT_SIGNATURE: signature}}}}

    def predict(self, path: str, name: str, version: str | None, raw: bytes) -> Any:
        """http_rest_api_handler.cc: ProcessPredictRequest, in its order: JSON, model, signature, tensors, model run."""
        doc = parse_json(raw)
        signature = signature_name(doc)
        self._servable(name, version)  # http_rest_api_handler.cc: GetInfoMap
        if signature not in ("", DEFAULT_SIGNATURE):
            raise InvalidArgumentError(f'Serving signature name: "{signature}" not found in signature def')
        form, tensors = predict_inputs(doc, self.inputs)
        self._run_model(tensors)
        self.predictions.append(ReceivedPredict(path, form, tensors))
        batch = next(iter(tensors.values())).shape[:1] or (1,)
        images = tensors.get(INPUT_NAME) if self.inputs == _resnet50_inputs() else None
        scores = np.stack([scores_for(None if images is None else images[i]) for i in range(batch[0])])
        values = scores.astype(np.float32).astype(np.float64).tolist()  # DT_FLOAT outputs
        # json_tensor.cc: MakeRowFormatJsonFromTensors / MakeColumnarFormatJsonFromTensors: the outputs are
        # named only when there are several.
        if form == "row":
            rows = values if len(self.outputs) == 1 else [dict.fromkeys(sorted(self.outputs), row) for row in values]
            return {"predictions": rows}
        return {"outputs": values if len(self.outputs) == 1 else dict.fromkeys(sorted(self.outputs), values)}

    def _run_model(self, tensors: dict[str, np.ndarray]) -> None:
        """What the model does with a tensor of the wrong shape: TF Serving does not check shapes (its
        maintainers in tensorflow/serving#1527), so the model's first kernel to meet it fails with an
        InvalidArgument in its own words (HTTP 400). These words are the stand-in's."""
        for key, tensor in tensors.items():
            declared = self.inputs[key].shape
            if len(tensor.shape) != len(declared) or any(d not in (-1, s) for d, s in zip(declared, tensor.shape, strict=True)):
                raise InvalidArgumentError(
                    f"stand-in model: input {key} has shape [{','.join(map(str, tensor.shape))}], the signature declares "
                    f"[{','.join(map(str, declared))}] (TensorFlow Serving passes it on; the model's kernel refuses it)")

    def classify_or_regress(self, verb: str, name: str, version: str | None, raw: bytes) -> Any:
        """http_rest_api_handler.cc: ProcessClassifyRequest / ProcessRegressRequest, for a predict signature."""
        doc = parse_json(raw)
        signature_name(doc)
        examples = doc.get("examples")
        if examples is None:  # json_tensor.cc: FillClassifyRegressRequestFromJson
            raise format_error(doc, "When method is classify, key 'examples' is expected and was not found")
        if not isinstance(examples, list):
            raise format_error(doc, "Expecting 'examples' value to be an list/array")
        if not examples:
            raise format_error(doc, "'examples' value is an empty array")
        self._servable(name, version)
        # classifier.cc / regressor.cc: PreProcessClassification / PreProcessRegression (without
        # --enable_signature_method_name_check): a predict signature has no "inputs" input.
        kind = "classification" if verb == "classify" else "regression"
        raise InvalidArgumentError(f"No {kind} inputs found in SignatureDef: (the stand-in does not print SignatureDefs)")


class _Server(QuietServer):
    standin: StandIn


class _Handler(RequestHandler):
    server: _Server

    def do_PUT(self) -> None:  # noqa: N802 (BaseHTTPRequestHandler's method name)
        self._handle("PUT", self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def _handle(self, method: str, raw: bytes) -> None:
        standin = self.server.standin
        standin.requests.append((method, self.path, raw))
        if standin.delay and standin._stopping.wait(standin.delay):
            return
        if standin.reply is not None:
            self._send(*standin.reply)
            return
        path = urllib.parse.urlsplit(self.path).path  # the handler sees uri_path(), without the query
        if not _HANDLED_PATH.fullmatch(path):
            self._send(404, _NOT_FOUND_PAGE, "text/html")
            return
        self._send(*standin.answer(method, path, raw))


StandIn._server_class = _Server
StandIn._handler_class = _Handler
StandIn._thread_name = "tf-serving-standin"
