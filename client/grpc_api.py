"""TensorFlow Serving's gRPC API (port 8500) with grpcio and the project's own messages (`client.protos`).

    PredictionService/Predict          a PredictRequest: the image as a DT_FLOAT TensorProto in tensor_content
    ModelService/GetModelStatus        the version states, as the REST model status API gives them

No TensorFlow: the request tensor is numpy's float32 bytes (little-endian, row major), which is what
`tf.make_tensor_proto` puts in `tensor_content`. TF Serving answers a Predict with each output in its
typed list (`float_val`, Tensor::AsProtoField in predict_util.cc); `tensor_array` reads that and
`tensor_content` alike.

gRPC failures become the client's one-line errors (`client.common`): an unreachable server (3), a
deadline exceeded (3), a server error such as NOT_FOUND for an unknown model (4), a port that does not
speak gRPC (5).
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

import grpc
import numpy as np
from google.protobuf.message import DecodeError

from client.common import (
    NOT_FOUND_HINT,
    REFUSED_HINT,
    BadResponseError,
    ServerError,
    UnreachableError,
    one_line,
)
from client.protos import serving_pb2, tensor_pb2


def _method_path(service: str, method: str) -> str:
    """`/package.Service/Method`, gRPC's path for a method, from the service declared in serving.proto."""
    descriptor = serving_pb2.DESCRIPTOR.services_by_name[service].methods_by_name[method]
    return f"/{descriptor.containing_service.full_name}/{descriptor.name}"


PREDICT_METHOD = _method_path("PredictionService", "Predict")
STATUS_METHOD = _method_path("ModelService", "GetModelStatus")

_NUMPY_DTYPES: dict[int, np.dtype[Any]] = {tensor_pb2.DT_FLOAT: np.dtype("<f4"), tensor_pb2.DT_DOUBLE: np.dtype("<f8")}
"""The output types the client reads, with the little-endian layout of `tensor_content`."""
_WRONG_PORT = "Failed parsing HTTP/2"
"""grpc's words when the port answers HTTP/1.x: the REST port (9000) given as --grpc."""
CHANNEL_OPTIONS = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
"""Room for large answers (TF Serving itself sets no limit on what it receives: SetMaxMessageSize(kint32max))."""


def tensor_proto(array: np.ndarray) -> tensor_pb2.TensorProto:
    """A DT_FLOAT TensorProto of `array` (float32) with its values in `tensor_content`, as TF's AsProtoTensorContent."""
    values = np.ascontiguousarray(array, dtype="<f4")
    return tensor_pb2.TensorProto(
        dtype=tensor_pb2.DT_FLOAT,
        tensor_shape=tensor_pb2.TensorShapeProto(dim=[tensor_pb2.TensorShapeProto.Dim(size=size) for size in values.shape]),
        tensor_content=values.tobytes(),
    )


def predict_request(image: np.ndarray, model: str, input_name: str = "input_1") -> serving_pb2.PredictRequest:
    """The Predict request for one preprocessed (224, 224, 3) image: input `input_name` of shape [1, 224, 224, 3]."""
    if image.shape != (224, 224, 3):
        raise ValueError(f"expected a (224, 224, 3) array, got {image.shape}")
    request = serving_pb2.PredictRequest(model_spec=serving_pb2.ModelSpec(name=model))
    request.inputs[input_name].CopyFrom(tensor_proto(image[np.newaxis]))
    return request


def tensor_array(tensor: tensor_pb2.TensorProto, name: str) -> np.ndarray:
    """A DT_FLOAT or DT_DOUBLE TensorProto as a float64 array of its shape; BadResponseError otherwise."""
    dtype = _NUMPY_DTYPES.get(tensor.dtype)
    if dtype is None:
        raise BadResponseError(f"output {name!r} is {_dtype_name(tensor.dtype)}, expected DT_FLOAT scores")
    if tensor.tensor_shape.unknown_rank or any(d.size < 0 for d in tensor.tensor_shape.dim):
        raise BadResponseError(f"output {name!r} has no definite shape")
    shape = tuple(d.size for d in tensor.tensor_shape.dim)
    count = int(np.prod(shape, dtype=np.int64))
    if tensor.tensor_content:
        if len(tensor.tensor_content) != count * dtype.itemsize:
            raise BadResponseError(f"output {name!r} holds {len(tensor.tensor_content)} bytes, "
                                   f"not the {count * dtype.itemsize} of shape {list(shape)}")
        values = np.frombuffer(tensor.tensor_content, dtype=dtype)
    else:
        values = np.asarray(tensor.float_val if tensor.dtype == tensor_pb2.DT_FLOAT else tensor.double_val, dtype=dtype)
        if values.size != count:
            raise BadResponseError(f"output {name!r} holds {values.size} values, not the {count} of shape {list(shape)}")
    return values.astype(np.float64).reshape(shape)


def _dtype_name(dtype: int) -> str:
    try:
        return tensor_pb2.DataType.Name(dtype)
    except ValueError:
        return f"data type {dtype}"


def output_scores(response: serving_pb2.PredictResponse, classes: int) -> np.ndarray:
    """The `classes` scores of one image from a PredictResponse with one output of shape [1, classes] (or [classes])."""
    if len(response.outputs) != 1:
        names = ", ".join(sorted(response.outputs)) or "none"
        raise BadResponseError(f"expected one output in the Predict answer, got {len(response.outputs)}: {names}")
    [(name, tensor)] = response.outputs.items()
    scores = tensor_array(tensor, name)
    if scores.shape not in ((1, classes), (classes,)):
        raise BadResponseError(f"expected {classes} class scores in output {name!r}, got shape {list(scores.shape)} "
                               "(is the model an ImageNet classifier?)")
    scores = scores.reshape(classes)
    if not np.isfinite(scores).all():
        raise BadResponseError(f"the model returned NaN or infinite scores in output {name!r}")
    return scores


def status_request(model: str) -> serving_pb2.GetModelStatusRequest:
    return serving_pb2.GetModelStatusRequest(model_spec=serving_pb2.ModelSpec(name=model))


def error_for(exc: grpc.RpcError, target: str, timeout: float) -> UnreachableError | ServerError | BadResponseError:
    """The client's error for a failed call: the same words as the REST path where the failure is the same."""
    code: grpc.StatusCode = exc.code()  # type: ignore[attr-defined]  # a grpc.Call as well as an RpcError
    details = one_line(exc.details() or "")  # type: ignore[attr-defined]
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return UnreachableError(f"no answer from {target} within {timeout:g} s (raise --timeout?)")
    if code == grpc.StatusCode.UNAVAILABLE:
        if _WRONG_PORT in details:
            return BadResponseError(f"{target} did not answer gRPC (HTTP/2); is it the gRPC port (8500), not REST (9000)?")
        if details.endswith("Connection refused"):
            return UnreachableError(f"cannot reach {target} over gRPC: connection refused{REFUSED_HINT}")
        return UnreachableError(f"cannot reach {target} over gRPC: {details}")
    hint = NOT_FOUND_HINT if code == grpc.StatusCode.NOT_FOUND else ""
    if details.startswith("input tensor alias not found in signature"):
        hint = " (--input names the signature's input)"
    return ServerError(f"{target} answered {code.name}: {details}{hint}")


class Channel:
    """An insecure channel to TF Serving's gRPC port (what kubectl port-forward gives); a context manager."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._channel = grpc.insecure_channel(target, options=CHANNEL_OPTIONS)

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def raw_method(self, path: str) -> Callable[..., bytes]:
        """The method at `path`, taking and returning serialized bytes (for a payload encoded once, as the load test sends)."""
        return self._channel.unary_unary(path)  # no (de)serializers: bytes in, bytes out

    def call(self, path: str, request: bytes, timeout: float) -> bytes:
        """Send serialized `request` and return the serialized answer; a failure raises the client's error."""
        try:
            return self.raw_method(path)(request, timeout=timeout)
        except grpc.RpcError as exc:
            raise error_for(exc, self.target, timeout) from None

    def predict(self, request: serving_pb2.PredictRequest, timeout: float) -> serving_pb2.PredictResponse:
        raw = self.call(PREDICT_METHOD, request.SerializeToString(), timeout)
        return _parse(serving_pb2.PredictResponse, raw, "PredictResponse")

    def model_status(self, model: str, timeout: float) -> serving_pb2.GetModelStatusResponse:
        raw = self.call(STATUS_METHOD, status_request(model).SerializeToString(), timeout)
        return _parse(serving_pb2.GetModelStatusResponse, raw, "GetModelStatusResponse")


def _parse(message: Any, raw: bytes, what: str) -> Any:
    try:
        return message.FromString(raw)
    except DecodeError:
        raise BadResponseError(f"the answer is not a {what} ({len(raw)} bytes)") from None

