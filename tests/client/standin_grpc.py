"""A local stand-in for TensorFlow Serving's gRPC API (port 8500), beside the REST one in `standin.py`.

This is NOT TensorFlow Serving and runs no model. It answers `PredictionService/Predict` and
`ModelService/GetModelStatus` with grpcio and the client's own messages (`client.protos`), and it refuses
what TF Serving 2.10.1 refuses, with its words and gRPC status codes (ToGRPCStatus in
model_servers/grpc_status_util.cc keeps TensorFlow's code and message). Read from tensorflow/serving at
tag 2.10.1 (commit 2e2e3e53a021978beff453d75c53d5c3d64f85fa) and from TensorFlow; a comment beside each
check names its file.

Predict, in TF Serving's order (servables/tensorflow/predict_impl.cc, then predict_util.cc RunPredict):
- no model_spec: INVALID_ARGUMENT `Missing ModelSpec`;
- a model that is unknown or not AVAILABLE: NOT_FOUND `Servable not found for request: Latest(NAME)`
  (core/basic_manager.cc; `Specific(NAME, V)` for a version);
- a signature other than serving_default: FAILED_PRECONDITION `Serving signature key "KEY" not found.`;
- inputs that are not the signature's: INVALID_ARGUMENT `input size does not match signature: ...` or
  `input tensor alias not found in signature: ALIAS. Inputs expected to be in the set {input_1}.`;
- a TensorProto that Tensor::FromProto refuses (tensorflow/core/framework/tensor.cc: an invalid shape,
  DT_INVALID, `tensor_content` whose size is not elements x the type's size): INVALID_ARGUMENT
  `tensor parsing error: ALIAS`. Typed values (`float_val`, ...) are taken as FromProtoField takes them:
  fewer than the shape's elements repeat the last one, none are zeros, more are cut;
- a dtype other than the signature's: INVALID_ARGUMENT `Expects arg[0] to be float but int32 is provided`
  (tensorflow/core/framework/function.cc, FunctionCallFrame::SetArgs, what the session's Run checks);
- a shape the signature does not declare: INVALID_ARGUMENT in the stand-in's words, as in `standin.py`
  (TF Serving passes the tensor on; the model's kernel refuses it in its own);
- the answer: model_spec (name, version, signature_name "serving_default") and every output of the
  signature as DT_FLOAT [batch, 1000] in `float_val` (Tensor::AsProtoField, PostProcessPredictionResult).

GetModelStatus (model_servers/get_model_status_impl.cc): no model_spec is INVALID_ARGUMENT `Missing
ModelSpec`; an unknown model NOT_FOUND `Could not find any versions of model NAME`; an unknown version
NOT_FOUND `Could not find version V of model NAME`.

The scores are `standin.scores_for`'s: the dominant colour's class wins, then tabby, tiger_cat, Egyptian_cat.
Per test: `state`, `inputs`, `outputs` as in `standin.py`; `abort` for a canned (StatusCode, details)
failure of every call and `faults` for chosen calls (by arrival, 1-based); `reply` for canned answer bytes;
`delay` to answer late. It records `requests` (method path, request bytes) and, for each Predict it
answered, `predictions` (the request and its input tensors).
"""

from __future__ import annotations

import threading
from concurrent import futures
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import grpc
import numpy as np
from google.protobuf.message import DecodeError

from client.protos import error_codes_pb2, serving_pb2, tensor_pb2
from tests.client.standin import INPUT_NAME, MODEL, OUTPUT_NAME, scores_for
from tests.client.standin_json import TensorInfo

PREDICT = "/tensorflow.serving.PredictionService/Predict"
STATUS = "/tensorflow.serving.ModelService/GetModelStatus"
DEFAULT_SIGNATURE = "serving_default"

# The numpy type of each DataType the stand-in parses, with the TensorProto field of its typed values
# (tensor.cc ProtoHelper) and TensorFlow's DataTypeString name (types.cc).
_TYPES: dict[int, tuple[str, str, str]] = {
    tensor_pb2.DT_FLOAT: ("<f4", "float_val", "float"),
    tensor_pb2.DT_DOUBLE: ("<f8", "double_val", "double"),
    tensor_pb2.DT_INT32: ("<i4", "int_val", "int32"),
    tensor_pb2.DT_UINT8: ("u1", "int_val", "uint8"),
    tensor_pb2.DT_INT16: ("<i2", "int_val", "int16"),
    tensor_pb2.DT_INT8: ("i1", "int_val", "int8"),
    tensor_pb2.DT_INT64: ("<i8", "int64_val", "int64"),
    tensor_pb2.DT_BOOL: ("?", "bool_val", "bool"),
    tensor_pb2.DT_HALF: ("<f2", "half_val", "half"),
}


class RpcStatusError(Exception):
    """A TensorFlow Status that is not OK, answered as ToGRPCStatus answers it."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ReceivedGrpcPredict:
    request: serving_pb2.PredictRequest
    tensors: dict[str, np.ndarray]
    """The input tensors by alias, as Tensor::FromProto built them."""


def _resnet50_inputs() -> dict[str, TensorInfo]:
    return {INPUT_NAME: TensorInfo("DT_FLOAT", (-1, 224, 224, 3))}


def parse_tensor(proto: tensor_pb2.TensorProto) -> np.ndarray | None:
    """tensorflow/core/framework/tensor.cc: Tensor::FromProto; None where it returns false."""
    dims = proto.tensor_shape.dim
    if proto.tensor_shape.unknown_rank or any(d.size < 0 for d in dims):  # TensorShape::IsValid
        return None
    if proto.dtype == tensor_pb2.DT_INVALID or proto.dtype not in _TYPES:  # (the stand-in knows these types only)
        return None
    numpy_type, values_field, _ = _TYPES[proto.dtype]
    shape = tuple(d.size for d in dims)
    count = int(np.prod(shape, dtype=np.int64))
    dtype = np.dtype(numpy_type)
    if count == 0:
        return np.zeros(shape, dtype)
    if proto.tensor_content:
        if len(proto.tensor_content) != count * dtype.itemsize:  # Helper<T>::Decode
            return None
        return np.frombuffer(proto.tensor_content, dtype).reshape(shape)
    values = list(getattr(proto, values_field))  # FromProtoField
    raw = np.asarray(values, np.uint16).view(np.float16) if proto.dtype == tensor_pb2.DT_HALF else np.asarray(values, dtype)
    if raw.size == 0:
        filled = np.zeros(count, dtype)
    elif raw.size >= count:
        filled = raw[:count]
    else:
        filled = np.concatenate([raw, np.full(count - raw.size, raw[-1], dtype)])
    return filled.astype(dtype).reshape(shape)


def _as_proto_field(scores: np.ndarray) -> tensor_pb2.TensorProto:
    """Tensor::AsProtoField of a DT_FLOAT tensor."""
    return tensor_pb2.TensorProto(
        dtype=tensor_pb2.DT_FLOAT,
        tensor_shape=tensor_pb2.TensorShapeProto(dim=[tensor_pb2.TensorShapeProto.Dim(size=s) for s in scores.shape]),
        float_val=scores.astype(np.float32).ravel().tolist(),
    )


@dataclass
class GrpcStandIn:
    """The gRPC stand-in server (not TensorFlow Serving); use as a context manager, then `target`."""

    model: str = MODEL
    version: int = 1
    state: str = "AVAILABLE"
    error_code: str = "OK"
    error_message: str = ""
    inputs: dict[str, TensorInfo] = field(default_factory=_resnet50_inputs)
    outputs: tuple[str, ...] = (OUTPUT_NAME,)
    abort: tuple[grpc.StatusCode, str] | None = None
    """A canned failure of every call: (status code, details)."""
    reply: bytes | None = None
    """Canned answer bytes for every call."""
    faults: dict[int, tuple[grpc.StatusCode, str]] = field(default_factory=dict)
    """Canned failures of some calls: the n-th call received (1-based) -> (status code, details)."""
    delay: float = 0.0
    """Seconds to wait before answering (cut short when the stand-in stops)."""
    requests: list[tuple[str, bytes]] = field(default_factory=list)
    predictions: list[ReceivedGrpcPredict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server: grpc.Server | None = None
        self._port = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    @property
    def target(self) -> str:
        assert self._server is not None, "start the stand-in first"
        return f"127.0.0.1:{self._port}"

    def start(self) -> GrpcStandIn:
        # model_servers/server.cc: builder.SetMaxMessageSize(tensorflow::kint32max).
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="tf-serving-grpc-standin"),
                                   options=[("grpc.max_receive_message_length", 2**31 - 1),
                                            ("grpc.max_send_message_length", 2**31 - 1)])
        handlers = {
            "Predict": grpc.unary_unary_rpc_method_handler(self._handle(PREDICT, self.predict)),
        }
        status_handlers = {
            "GetModelStatus": grpc.unary_unary_rpc_method_handler(self._handle(STATUS, self.model_status)),
        }
        self._server.add_generic_rpc_handlers((
            grpc.method_handlers_generic_handler("tensorflow.serving.PredictionService", handlers),
            grpc.method_handlers_generic_handler("tensorflow.serving.ModelService", status_handlers),
        ))
        self._port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.stop(grace=None).wait(5)

    def __enter__(self) -> GrpcStandIn:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _handle(self, path: str, method: Any) -> Any:
        def handler(raw: bytes, context: grpc.ServicerContext) -> bytes:
            with self._lock:
                self.requests.append((path, raw))
                fault = self.faults.get(len(self.requests))
            if fault is not None:
                context.abort(*fault)
            if self.delay and self._stopping.wait(self.delay):
                context.abort(grpc.StatusCode.UNAVAILABLE, "stand-in stopping")
            if self.abort is not None:
                context.abort(*self.abort)
            if self.reply is not None:
                return self.reply
            try:
                return bytes(method(raw).SerializeToString())
            except RpcStatusError as failure:
                context.abort(failure.code, failure.message)
            raise AssertionError("unreachable")  # context.abort raises

        return handler

    # The API: each takes the request bytes and returns the answer message or raises RpcStatusError.

    def model_status(self, raw: bytes) -> serving_pb2.GetModelStatusResponse:
        request = serving_pb2.GetModelStatusRequest.FromString(raw)
        if not request.HasField("model_spec"):
            raise RpcStatusError(grpc.StatusCode.INVALID_ARGUMENT, "Missing ModelSpec")
        spec = request.model_spec
        if spec.name == self.model and spec.HasField("version") and spec.version.value != self.version:
            raise RpcStatusError(grpc.StatusCode.NOT_FOUND, f"Could not find version {spec.version.value} of model {spec.name}")
        if spec.name != self.model:
            raise RpcStatusError(grpc.StatusCode.NOT_FOUND, f"Could not find any versions of model {spec.name}")
        return serving_pb2.GetModelStatusResponse(model_version_status=[serving_pb2.ModelVersionStatus(
            version=self.version, state=serving_pb2.ModelVersionStatus.State.Value(self.state),
            status=serving_pb2.StatusProto(error_code=error_codes_pb2.Code.Value(self.error_code),
                                           error_message=self.error_message))])

    def predict(self, raw: bytes) -> serving_pb2.PredictResponse:
        try:
            request = serving_pb2.PredictRequest.FromString(raw)
        except DecodeError:  # the stand-in's words; the client never sends such bytes
            raise RpcStatusError(grpc.StatusCode.INTERNAL, "stand-in: the request is not a PredictRequest") from None
        # predict_impl.cc: TensorflowPredictor::Predict.
        if not request.HasField("model_spec"):
            raise RpcStatusError(grpc.StatusCode.INVALID_ARGUMENT, "Missing ModelSpec")
        spec = request.model_spec
        # basic_manager.cc: GetUntypedServableHandle (manager.h, ServableRequest::DebugString).
        version = spec.version.value if spec.HasField("version") else None
        wanted = f"Latest({spec.name})" if version is None else f"Specific({spec.name}, {version})"
        if spec.name != self.model or self.state != "AVAILABLE" or version not in (None, self.version):
            raise RpcStatusError(grpc.StatusCode.NOT_FOUND, f"Servable not found for request: {wanted}")
        # predict_util.cc: RunPredict.
        signature = spec.signature_name or DEFAULT_SIGNATURE
        if signature != DEFAULT_SIGNATURE:
            raise RpcStatusError(grpc.StatusCode.FAILED_PRECONDITION, f'Serving signature key "{signature}" not found.')
        tensors = self._pre_process(request)
        self._run_model(tensors)
        with self._lock:
            self.predictions.append(ReceivedGrpcPredict(request, tensors))
        batch = next(iter(tensors.values())).shape[:1] or (1,)
        images = tensors.get(INPUT_NAME) if self.inputs == _resnet50_inputs() else None
        scores = np.stack([scores_for(None if images is None else images[i]) for i in range(batch[0])])
        response = serving_pb2.PredictResponse(model_spec=serving_pb2.ModelSpec(name=spec.name, signature_name=signature))
        response.model_spec.version.value = self.version  # MakeModelSpec
        for alias in self.outputs:
            response.outputs[alias].CopyFrom(_as_proto_field(scores))
        return response

    def _pre_process(self, request: serving_pb2.PredictRequest) -> dict[str, np.ndarray]:
        """predict_util.cc: VerifyRequestInputsSize, then PreProcessPrediction's loop over the inputs."""
        sent, expected = sorted(request.inputs), sorted(self.inputs)
        if len(sent) != len(expected):
            raise RpcStatusError(grpc.StatusCode.INVALID_ARGUMENT, (
                f"input size does not match signature: {len(sent)}!={len(expected)} len({{{','.join(sent)}}}) != "
                f"len({{{','.join(expected)}}}). Sent extra: {{{','.join(sorted(set(sent) - set(expected)))}}}. "
                f"Missing but required: {{{','.join(sorted(set(expected) - set(sent)))}}}."))
        tensors = {}
        for alias in sent:  # a proto map iterates in no set order; the stand-in takes the aliases sorted
            if alias not in self.inputs:
                raise RpcStatusError(grpc.StatusCode.INVALID_ARGUMENT, f"input tensor alias not found in signature: {alias}. "
                                                                   f"Inputs expected to be in the set {{{','.join(expected)}}}.")
            tensor = parse_tensor(request.inputs[alias])
            if tensor is None:
                raise RpcStatusError(grpc.StatusCode.INVALID_ARGUMENT, f"tensor parsing error: {alias}")
            tensors[alias] = tensor
        return tensors

    def _run_model(self, tensors: dict[str, np.ndarray]) -> None:
        """The session's feeds: the dtype check of FunctionCallFrame::SetArgs, then the model with the tensor's shape."""
        for index, (alias, tensor) in enumerate(sorted(tensors.items())):
            declared = self.inputs[alias]
            expected_type = _TYPES[tensor_pb2.DataType.Value(declared.dtype)]
            if tensor.dtype != np.dtype(expected_type[0]):
                got = next(name for numpy_type, _, name in _TYPES.values() if np.dtype(numpy_type) == tensor.dtype)
                raise RpcStatusError(grpc.StatusCode.INVALID_ARGUMENT,
                                 f"Expects arg[{index}] to be {expected_type[2]} but {got} is provided")
            shape = declared.shape
            if len(tensor.shape) != len(shape) or any(d not in (-1, s) for d, s in zip(shape, tensor.shape, strict=True)):
                raise RpcStatusError(grpc.StatusCode.INVALID_ARGUMENT, (
                    f"stand-in model: input {alias} has shape [{','.join(map(str, tensor.shape))}], the signature declares "
                    f"[{','.join(map(str, shape))}] (TensorFlow Serving passes it on; the model's kernel refuses it)"))
