"""client/protos: the generated modules are what protoc makes of the `.proto` files, and the messages
have TensorFlow Serving's names and field numbers (tensorflow/serving 2.10.1, TensorFlow 2.10)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor

from client.protos import error_codes_pb2, serving_pb2, tensor_pb2

REPO = Path(__file__).resolve().parents[2]
PROTOS = REPO / "client" / "protos"
PROTO_FILES = sorted(p.name for p in PROTOS.glob("*.proto"))


def test_the_proto_files() -> None:
    assert PROTO_FILES == ["error_codes.proto", "serving.proto", "tensor.proto"]


def test_the_generated_code_is_what_protoc_makes_of_the_proto_files(tmp_path: Path) -> None:
    # The command client/protos/__init__.py documents, into an empty tree.
    (tmp_path / "client" / "protos").mkdir(parents=True)
    for name in PROTO_FILES:
        (tmp_path / "client" / "protos" / name).write_bytes((PROTOS / name).read_bytes())
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", ".", "--python_out=.", "--pyi_out=.",
                    *(f"client/protos/{name}" for name in PROTO_FILES)], cwd=tmp_path, check=True, capture_output=True)
    generated = sorted(p.name for p in (tmp_path / "client" / "protos").glob("*_pb2.py*"))
    committed = sorted(p.name for p in PROTOS.glob("*_pb2.py*"))
    assert generated == committed == [f"{Path(n).stem}_pb2.{ext}" for n in PROTO_FILES for ext in ("py", "pyi")]
    for name in generated:
        assert (tmp_path / "client" / "protos" / name).read_text() == (PROTOS / name).read_text(), (
            f"client/protos/{name} is stale: regenerate it (client/protos/__init__.py)")


def fields(message: descriptor.Descriptor) -> dict[str, int]:
    return {field.name: field.number for field in message.fields}


# Each expected table is typed in from the upstream file named beside it (the .proto files cite the same).
@pytest.mark.parametrize(("message", "expected"), [
    # tensorflow_serving/apis/model.proto
    (serving_pb2.ModelSpec, {"name": 1, "version": 2, "version_label": 4, "signature_name": 3}),
    # tensorflow_serving/apis/predict.proto
    (serving_pb2.PredictRequest, {"model_spec": 1, "inputs": 2, "output_filter": 3}),
    (serving_pb2.PredictResponse, {"model_spec": 2, "outputs": 1}),
    # tensorflow_serving/apis/status.proto
    (serving_pb2.StatusProto, {"error_code": 1, "error_message": 2}),
    # tensorflow_serving/apis/get_model_status.proto
    (serving_pb2.GetModelStatusRequest, {"model_spec": 1}),
    (serving_pb2.ModelVersionStatus, {"version": 1, "state": 2, "status": 3}),
    (serving_pb2.GetModelStatusResponse, {"model_version_status": 1}),
    # tensorflow/core/framework/tensor_shape.proto
    (tensor_pb2.TensorShapeProto, {"dim": 2, "unknown_rank": 3}),
    (tensor_pb2.TensorShapeProto.Dim, {"size": 1, "name": 2}),
    # tensorflow/core/framework/tensor.proto
    (tensor_pb2.TensorProto, {"dtype": 1, "tensor_shape": 2, "version_number": 3, "tensor_content": 4, "half_val": 13,
                              "float_val": 5, "double_val": 6, "int_val": 7, "string_val": 8, "scomplex_val": 9,
                              "int64_val": 10, "bool_val": 11, "dcomplex_val": 12, "uint32_val": 16, "uint64_val": 17}),
])
def test_field_numbers(message: Any, expected: dict[str, int]) -> None:
    assert fields(message.DESCRIPTOR) == expected


def test_full_names_are_tensorflow_servings() -> None:
    assert serving_pb2.PredictRequest.DESCRIPTOR.full_name == "tensorflow.serving.PredictRequest"
    assert serving_pb2.ModelSpec.DESCRIPTOR.fields_by_name["version"].message_type.full_name == "google.protobuf.Int64Value"
    assert tensor_pb2.TensorProto.DESCRIPTOR.full_name == "tensorflow.TensorProto"
    assert serving_pb2.StatusProto.DESCRIPTOR.fields_by_name["error_code"].enum_type.full_name == "tensorflow.error.Code"
    inputs = serving_pb2.PredictRequest.DESCRIPTOR.fields_by_name["inputs"].message_type
    assert inputs.fields_by_name["value"].message_type.full_name == "tensorflow.TensorProto"
    # The JSON names TF Serving's REST API uses for the model status.
    assert serving_pb2.GetModelStatusResponse.DESCRIPTOR.fields_by_name["model_version_status"].json_name == "model_version_status"
    assert serving_pb2.StatusProto.DESCRIPTOR.fields_by_name["error_code"].json_name == "error_code"


def test_packed_repeated_values_as_tensorflow_declares_them() -> None:
    tensor = tensor_pb2.TensorProto.DESCRIPTOR.fields_by_name
    # proto3 packs repeated scalars anyway; float_val [1.5, 2.0] is tag 5 wire type 2, length 8.
    assert tensor_pb2.TensorProto(float_val=[1.5, 2.0]).SerializeToString() == b"\x2a\x08\x00\x00\xc0\x3f\x00\x00\x00\x40"
    assert tensor["string_val"].type == descriptor.FieldDescriptor.TYPE_BYTES


def test_enums() -> None:
    assert dict(tensor_pb2.DataType.items()) == {
        "DT_INVALID": 0, "DT_FLOAT": 1, "DT_DOUBLE": 2, "DT_INT32": 3, "DT_UINT8": 4, "DT_INT16": 5, "DT_INT8": 6,
        "DT_STRING": 7, "DT_COMPLEX64": 8, "DT_INT64": 9, "DT_BOOL": 10, "DT_QINT8": 11, "DT_QUINT8": 12, "DT_QINT32": 13,
        "DT_BFLOAT16": 14, "DT_QINT16": 15, "DT_QUINT16": 16, "DT_UINT16": 17, "DT_COMPLEX128": 18, "DT_HALF": 19,
        "DT_RESOURCE": 20, "DT_VARIANT": 21, "DT_UINT32": 22, "DT_UINT64": 23}
    assert dict(serving_pb2.ModelVersionStatus.State.items()) == {
        "UNKNOWN": 0, "START": 10, "LOADING": 20, "AVAILABLE": 30, "UNLOADING": 40, "END": 50}
    assert dict(error_codes_pb2.Code.items()) == {
        "OK": 0, "CANCELLED": 1, "UNKNOWN": 2, "INVALID_ARGUMENT": 3, "DEADLINE_EXCEEDED": 4, "NOT_FOUND": 5,
        "ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7, "UNAUTHENTICATED": 16, "RESOURCE_EXHAUSTED": 8,
        "FAILED_PRECONDITION": 9, "ABORTED": 10, "OUT_OF_RANGE": 11, "UNIMPLEMENTED": 12, "INTERNAL": 13,
        "UNAVAILABLE": 14, "DATA_LOSS": 15}


def test_services_and_method_paths() -> None:
    services = serving_pb2.DESCRIPTOR.services_by_name
    assert sorted(services) == ["ModelService", "PredictionService"]
    predict = services["PredictionService"].methods_by_name["Predict"]
    assert (predict.containing_service.full_name, predict.input_type.full_name, predict.output_type.full_name) == (
        "tensorflow.serving.PredictionService", "tensorflow.serving.PredictRequest", "tensorflow.serving.PredictResponse")
    status = services["ModelService"].methods_by_name["GetModelStatus"]
    assert (status.input_type.name, status.output_type.name) == ("GetModelStatusRequest", "GetModelStatusResponse")
