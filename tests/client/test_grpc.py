"""`python -m client.predict --grpc` and `client.status --grpc` against the gRPC stand-in (not TF Serving)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import grpc
import numpy as np
import pytest

from client import grpc_api
from client.common import grpc_target
from client.predict import load_image, preprocess
from client.predict import main as predict_main
from client.protos import serving_pb2, tensor_pb2
from client.status import VersionStatus, parse_grpc_status
from client.status import main as status_main
from tests.client.helpers import assert_one_error_line
from tests.client.standin import StandIn, TensorInfo
from tests.client.standin_grpc import PREDICT, STATUS, GrpcStandIn, parse_tensor

REPO = Path(__file__).resolve().parents[2]
MakeImage = Callable[..., Path]


def run(capsys: pytest.CaptureFixture[str], main: Callable[[list[str]], int], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- predict -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("color", "winner"), [
    ("red", "strawberry (n07745940)"), ("green", "Granny_Smith (n07742313)"), ("blue", "seashore (n09428293)"),
])
def test_predict_over_grpc_prints_the_top_5(capsys: pytest.CaptureFixture[str], grpc_standin: GrpcStandIn,
                                            make_image: MakeImage, color: str, winner: str) -> None:
    code, out, err = run(capsys, predict_main, str(make_image(color)), "--grpc", grpc_standin.target)

    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 5
    assert lines[0].startswith(f"  1. {winner} ")
    assert [line.split()[1] for line in lines[1:4]] == ["tabby", "tiger_cat", "Egyptian_cat"]


def test_the_same_table_as_over_rest(capsys: pytest.CaptureFixture[str], grpc_standin: GrpcStandIn, standin: StandIn,
                                     make_image: MakeImage) -> None:
    image = str(make_image("green"))
    assert run(capsys, predict_main, image, "--url", standin.url) == run(capsys, predict_main, image, "--grpc", grpc_standin.target)


def test_the_request_is_the_preprocessed_image_as_tensor_content(grpc_standin: GrpcStandIn, make_image: MakeImage) -> None:
    path = make_image("red", size=(50, 80))
    assert predict_main([str(path), "--grpc", grpc_standin.target]) == 0

    [(method, raw)] = grpc_standin.requests
    assert method == "/tensorflow.serving.PredictionService/Predict"
    request = serving_pb2.PredictRequest.FromString(raw)
    assert raw == request.SerializeToString()  # nothing the client's messages do not know
    assert (request.model_spec.name, request.model_spec.signature_name, request.model_spec.HasField("version")) == (
        "resnet50_neuron", "", False)
    assert list(request.inputs) == ["input_1"] and list(request.output_filter) == []
    tensor = request.inputs["input_1"]
    assert tensor.dtype == tensor_pb2.DT_FLOAT
    assert [d.size for d in tensor.tensor_shape.dim] == [1, 224, 224, 3]
    assert len(tensor.tensor_content) == 1 * 224 * 224 * 3 * 4  # float32 bytes, no typed values
    assert (len(tensor.float_val), tensor.version_number) == (0, 0)
    expected = preprocess(load_image(path))
    assert tensor.tensor_content == expected.astype("<f4").tobytes()  # exactly the array the REST path sends
    [received] = grpc_standin.predictions
    assert received.tensors["input_1"].dtype == np.float32
    np.testing.assert_array_equal(received.tensors["input_1"], expected[np.newaxis])


def test_model_and_input_names(capsys: pytest.CaptureFixture[str], make_image: MakeImage) -> None:
    inputs = {"image": TensorInfo("DT_FLOAT", (-1, 224, 224, 3))}
    with GrpcStandIn(model="resnet50_neuronx", inputs=inputs) as server:
        code, out, err = run(capsys, predict_main, str(make_image("red")), "--grpc", server.target, "--model", "resnet50_neuronx",
                             "--input", "image", "--top", "2")
        [(_, raw)] = server.requests

    assert (code, err) == (0, "")
    assert [line.split()[1] for line in out.splitlines()] == ["tabby", "tiger_cat"]  # no colour wins for another signature
    request = serving_pb2.PredictRequest.FromString(raw)
    assert (request.model_spec.name, list(request.inputs)) == ("resnet50_neuronx", ["image"])


def test_python_m_client_predict_grpc(grpc_standin: GrpcStandIn, make_image: MakeImage) -> None:
    done = subprocess.run([sys.executable, "-m", "client.predict", str(make_image("blue")), "--grpc", grpc_standin.target,
                           "--top", "1"], cwd=REPO, capture_output=True, text=True, timeout=60, check=False)

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("  1. seashore (n09428293)  ")


# Errors: one line, the exit code, nothing on stdout.

@pytest.mark.parametrize(("standin", "argv", "code", "message"), [
    ({}, ["--model", "resnet50_inf1"], 4,
     "answered NOT_FOUND: Servable not found for request: Latest(resnet50_inf1) (check --model, the stack's modelName output; "
     "or the model is not loaded yet: python -m client.status)"),
    ({"state": "LOADING"}, [], 4, "answered NOT_FOUND: Servable not found for request: Latest(resnet50_neuron) (check --model"),
    ({}, ["--input", "image"], 4, "answered INVALID_ARGUMENT: input tensor alias not found in signature: image. "
                                  "Inputs expected to be in the set {input_1}. (--input names the signature's input)"),
    ({"inputs": {"input_1": TensorInfo("DT_INT32", (-1, 224, 224, 3))}}, [], 4,
     "answered INVALID_ARGUMENT: Expects arg[0] to be int32 but float is provided"),
    ({"inputs": {"input_1": TensorInfo("DT_FLOAT", (-1, 299, 299, 3))}}, [], 4,
     "answered INVALID_ARGUMENT: stand-in model: input input_1 has shape [1,224,224,3], the signature declares [-1,299,299,3]"),
    ({"inputs": {"image": TensorInfo("DT_FLOAT", (-1, 224, 224, 3)), "mask": TensorInfo("DT_FLOAT", (-1, 224, 224))}}, [], 4,
     "answered INVALID_ARGUMENT: input size does not match signature: 1!=2 len({input_1}) != len({image,mask}). "
     "Sent extra: {input_1}. Missing but required: {image,mask}."),
    ({"outputs": ("probabilities", "logits")}, [], 5, "expected one output in the Predict answer, got 2: logits, probabilities"),
    ({"abort": (grpc.StatusCode.INTERNAL, "nrt_execute failed\n on NeuronCore 0")}, [], 4,
     "answered INTERNAL: nrt_execute failed on NeuronCore 0"),
    ({"abort": (grpc.StatusCode.RESOURCE_EXHAUSTED, "too many requests")}, [], 4, "answered RESOURCE_EXHAUSTED: too many requests"),
    ({"reply": b"\xff\xff not a message"}, [], 5, "the answer is not a PredictResponse (16 bytes)"),
    ({"reply": serving_pb2.PredictResponse(outputs={"p": grpc_api.tensor_proto(np.zeros((1, 10)))}).SerializeToString()}, [], 5,
     "expected 1000 class scores in output 'p', got shape [1, 10] (is the model an ImageNet classifier?)"),
    ({"reply": serving_pb2.PredictResponse(outputs={"p": tensor_pb2.TensorProto(
        dtype=tensor_pb2.DT_INT64, tensor_shape=tensor_pb2.TensorShapeProto(dim=[{"size": 1}]), int64_val=[3])}).SerializeToString()},
     [], 5, "output 'p' is DT_INT64, expected DT_FLOAT scores"),
], ids=["unknown-model", "loading", "wrong-input-name", "int-input", "other-size", "two-inputs", "two-outputs", "internal",
        "exhausted", "not-a-message", "ten-scores", "int-output"])
def test_predict_errors(capsys: pytest.CaptureFixture[str], make_image: MakeImage, standin: dict, argv: list[str], code: int,
                        message: str) -> None:
    with GrpcStandIn(**standin) as server:
        result = run(capsys, predict_main, str(make_image("blue")), "--grpc", server.target, *argv)

    assert result[:2] == (code, "")
    assert_one_error_line(result[2], message)
    assert result[2].startswith(f"error: {server.target} ") or code == 5


def _nan_scores() -> bytes:
    scores = np.full((1, 1000), 0.001)
    scores[0, 7] = np.nan
    return serving_pb2.PredictResponse(outputs={"p": grpc_api.tensor_proto(scores)}).SerializeToString()


@pytest.mark.parametrize(("standin", "code", "message"), [
    ({"abort": (grpc.StatusCode.UNAVAILABLE, "Socket closed")}, 3, "cannot reach {target} over gRPC: Socket closed"),
    ({"abort": (grpc.StatusCode.INTERNAL, "")}, 4, "{target} answered INTERNAL:"),  # no details: nothing after the colon
    ({"abort": (grpc.StatusCode.INVALID_ARGUMENT, "Expects arg[0] to be int32 but float is provided")}, 4,
     "{target} answered INVALID_ARGUMENT: Expects arg[0] to be int32 but float is provided"),  # the --model hint is NOT_FOUND's
    ({"outputs": ()}, 5, "expected one output in the Predict answer, got 0: none"),
    ({"reply": _nan_scores()}, 5, "the model returned NaN or infinite scores in output 'p'"),
], ids=["unavailable", "no-details", "no-hint", "no-output", "nan"])
def test_predict_errors_in_full(capsys: pytest.CaptureFixture[str], make_image: MakeImage, standin: dict, code: int,
                                message: str) -> None:
    with GrpcStandIn(**standin) as server:
        result = run(capsys, predict_main, str(make_image("blue")), "--grpc", server.target)

    assert result == (code, "", f"error: {message.format(target=server.target)}\n")


def test_a_tensor_content_of_the_wrong_size_is_refused(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                                       grpc_standin: GrpcStandIn, make_image: MakeImage) -> None:
    # A deliberately broken client: one float short. The strict stand-in refuses it as Tensor::FromProto does.
    real = grpc_api.tensor_proto

    def short(array: np.ndarray) -> tensor_pb2.TensorProto:
        proto = real(array)
        proto.tensor_content = proto.tensor_content[:-4]
        return proto

    monkeypatch.setattr(grpc_api, "tensor_proto", short)
    code, out, err = run(capsys, predict_main, str(make_image()), "--grpc", grpc_standin.target)

    assert (code, out) == (4, "")
    assert_one_error_line(err, f"{grpc_standin.target} answered INVALID_ARGUMENT: tensor parsing error: input_1")
    assert grpc_standin.predictions == []


def test_unreachable(capsys: pytest.CaptureFixture[str], make_image: MakeImage, closed_target: str) -> None:
    code, out, err = run(capsys, predict_main, str(make_image()), "--grpc", closed_target)

    assert (code, out, err) == (3, "", f"error: cannot reach {closed_target} over gRPC: connection refused "
                                       "(is kubectl port-forward running?)\n")


def test_deadline_exceeded(capsys: pytest.CaptureFixture[str], grpc_standin: GrpcStandIn, make_image: MakeImage) -> None:
    grpc_standin.delay = 5

    code, out, err = run(capsys, predict_main, str(make_image()), "--grpc", grpc_standin.target, "--timeout", "0.3")

    assert (code, out, err) == (3, "", f"error: no answer from {grpc_standin.target} within 0.3 s (raise --timeout?)\n")


def test_the_rest_port_given_as_grpc(capsys: pytest.CaptureFixture[str], standin: StandIn, make_image: MakeImage) -> None:
    target = standin.url.removeprefix("http://")

    code, out, err = run(capsys, predict_main, str(make_image()), "--grpc", target)

    assert (code, out, err) == (5, "", f"error: {target} did not answer gRPC (HTTP/2); is it the gRPC port (8500), not REST (9000)?\n")


@pytest.mark.parametrize(("argv", "message"), [
    (["--url", "http://localhost:9000", "--grpc", "localhost:8500"], "argument --grpc: not allowed with argument --url"),
    (["--grpc", "http://localhost:8500"], "argument --grpc: expected HOST:PORT, e.g. localhost:8500, got 'http://localhost:8500'"),
    (["--grpc", "localhost"], "argument --grpc: expected HOST:PORT"),
    (["--grpc", "localhost:0"], "argument --grpc: expected HOST:PORT"),
    (["--grpc", "localhost:65536"], "argument --grpc: expected HOST:PORT"),
    (["--grpc", ":8500"], "argument --grpc: expected HOST:PORT"),
    (["--grpc", "example.com/api:8500"], "argument --grpc: expected HOST:PORT, e.g. localhost:8500, got 'example.com/api:8500'"),
    (["--grpc", "local host:8500"], "argument --grpc: expected HOST:PORT, e.g. localhost:8500, got 'local host:8500'"),
    (["--grpc", "h:1", "--input", ""], "argument --input: not an input name: ''"),
])
def test_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out, err = run(capsys, predict_main, "x.jpg", *argv)

    assert (code, out) == (2, "")
    assert_one_error_line(err, message, "(see --help)")


def test_ipv6_targets_are_accepted() -> None:
    assert grpc_target("[::1]:8500") == "[::1]:8500"


# --- status --------------------------------------------------------------------------------------

def test_status_over_grpc(capsys: pytest.CaptureFixture[str], grpc_standin: GrpcStandIn) -> None:
    code, out, err = run(capsys, status_main, "--grpc", grpc_standin.target)

    assert (code, out, err) == (0, "resnet50_neuron version 1: AVAILABLE\n", "")
    [(method, raw)] = grpc_standin.requests
    assert method == "/tensorflow.serving.ModelService/GetModelStatus"
    assert raw == serving_pb2.GetModelStatusRequest(model_spec=serving_pb2.ModelSpec(name="resnet50_neuron")).SerializeToString()
    assert raw == b"\n\x11\n\x0fresnet50_neuron"  # model_spec (1) { name (1): "resnet50_neuron" }


def test_status_of_a_version_that_failed(capsys: pytest.CaptureFixture[str]) -> None:
    with GrpcStandIn(state="END", error_code="UNKNOWN", error_message="Failed to load\nNEFF") as server:
        code, out, err = run(capsys, status_main, "--grpc", server.target)

    assert (code, out) == (1, "resnet50_neuron version 1: END (UNKNOWN: Failed to load NEFF)\n")
    assert err == "error: no version of model resnet50_neuron is AVAILABLE\n"


def test_status_of_an_unknown_model(capsys: pytest.CaptureFixture[str], grpc_standin: GrpcStandIn) -> None:
    code, out, err = run(capsys, status_main, "--grpc", grpc_standin.target, "--model", "bert")

    assert (code, out) == (4, "")
    assert_one_error_line(err, f"{grpc_standin.target} answered NOT_FOUND: Could not find any versions of model bert (check --model")


def test_status_unreachable(capsys: pytest.CaptureFixture[str], closed_target: str) -> None:
    code, out, err = run(capsys, status_main, "--grpc", closed_target, "--timeout", "5")

    assert (code, out) == (3, "")
    assert_one_error_line(err, f"cannot reach {closed_target} over gRPC: connection refused")


def test_status_deadline_exceeded(capsys: pytest.CaptureFixture[str], grpc_standin: GrpcStandIn) -> None:
    grpc_standin.delay = 5

    code, out, err = run(capsys, status_main, "--grpc", grpc_standin.target, "--timeout", "0.3")

    assert (code, out, err) == (3, "", f"error: no answer from {grpc_standin.target} within 0.3 s (raise --timeout?)\n")


def test_status_answer_that_is_not_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    with GrpcStandIn(reply=b"\xff\xff not a message") as server:
        code, out, err = run(capsys, status_main, "--grpc", server.target)

    assert (code, out, err) == (5, "", "error: the answer is not a GetModelStatusResponse (16 bytes)\n")


def test_parse_grpc_status_shows_a_state_or_code_it_does_not_know_as_its_number() -> None:
    # A newer TF Serving could send values this client's .proto files do not name (proto3 enums are open).
    response = serving_pb2.GetModelStatusResponse(model_version_status=[serving_pb2.ModelVersionStatus(
        version=3, status=serving_pb2.StatusProto(error_message="a new\nstate"))])
    response.model_version_status[0].state = 99
    response.model_version_status[0].status.error_code = 99

    assert parse_grpc_status(response) == [VersionStatus(version="3", state="99", error_code="99", error_message="a new state")]


def test_status_answer_without_versions(capsys: pytest.CaptureFixture[str]) -> None:
    with GrpcStandIn(reply=b"") as server:
        code, out, err = run(capsys, status_main, "--grpc", server.target)

    assert (code, out, err) == (5, "", "error: the answer is not a model status: no model_version_status\n")


# --- reading answers -----------------------------------------------------------------------------

def test_tensor_array_reads_typed_values_and_tensor_content() -> None:
    shape = tensor_pb2.TensorShapeProto(dim=[{"size": 1}, {"size": 3}])
    typed = tensor_pb2.TensorProto(dtype=tensor_pb2.DT_FLOAT, tensor_shape=shape, float_val=[0.5, 0.25, 0.125])
    content = grpc_api.tensor_proto(np.array([[0.5, 0.25, 0.125]]))
    doubles = tensor_pb2.TensorProto(dtype=tensor_pb2.DT_DOUBLE, tensor_shape=shape, double_val=[0.5, 0.25, 0.125])
    for proto in (typed, content, doubles):
        array = grpc_api.tensor_array(proto, "p")
        assert array.dtype == np.float64
        np.testing.assert_array_equal(array, [[0.5, 0.25, 0.125]])


@pytest.mark.parametrize(("proto", "message"), [
    (tensor_pb2.TensorProto(dtype=tensor_pb2.DT_FLOAT, tensor_shape={"dim": [{"size": 3}]}, float_val=[1.0]),
     "output 'p' holds 1 values, not the 3 of shape [3]"),
    (tensor_pb2.TensorProto(dtype=tensor_pb2.DT_FLOAT, tensor_shape={"dim": [{"size": 3}]}, tensor_content=b"\0" * 8),
     "output 'p' holds 8 bytes, not the 12 of shape [3]"),
    (tensor_pb2.TensorProto(dtype=tensor_pb2.DT_FLOAT, tensor_shape={"dim": [{"size": -1}]}), "output 'p' has no definite shape"),
    (tensor_pb2.TensorProto.FromString(b"\x08\x63"), "output 'p' is data type 99, expected DT_FLOAT scores"),  # dtype 99
])
def test_tensor_array_refuses(proto: tensor_pb2.TensorProto, message: str) -> None:
    with pytest.raises(grpc_api.BadResponseError) as caught:
        grpc_api.tensor_array(proto, "p")
    assert str(caught.value) == message


def test_method_paths() -> None:
    assert (grpc_api.PREDICT_METHOD, grpc_api.STATUS_METHOD) == (PREDICT, STATUS) == (
        "/tensorflow.serving.PredictionService/Predict", "/tensorflow.serving.ModelService/GetModelStatus")
    # The constants are made at import; the function itself, called here, is what a test can check.
    assert grpc_api._method_path("ModelService", "GetModelStatus") == STATUS


def test_the_channel_takes_answers_larger_than_grpcs_default_4_mib() -> None:
    # TF Serving sends answers of any size (SetMaxMessageSize(kint32max)); the client's channel takes up to 64 MiB.
    answer = b"\0" * (5 * 1024 * 1024)
    with GrpcStandIn(reply=answer) as server, grpc_api.Channel(server.target) as channel:
        assert channel.call(STATUS, b"", timeout=10) == answer


def test_tensor_array_of_a_shape_with_no_elements() -> None:
    proto = tensor_pb2.TensorProto(dtype=tensor_pb2.DT_FLOAT, tensor_shape={"dim": [{"size": 1}, {"size": 0}]})
    array = grpc_api.tensor_array(proto, "p")
    assert (array.shape, array.dtype) == ((1, 0), np.float64)  # a definite shape, of no values


# --- the stand-in's own strictness ---------------------------------------------------------------

def _tensor(**fields: object) -> tensor_pb2.TensorProto:
    return tensor_pb2.TensorProto(**fields)  # type: ignore[arg-type]


def test_the_standin_parses_tensors_as_tensor_from_proto_does() -> None:
    shape = {"dim": [{"size": 2}, {"size": 2}]}
    # Typed values: fewer than the shape's elements repeat the last; none are zeros; more are cut.
    np.testing.assert_array_equal(parse_tensor(_tensor(dtype=1, tensor_shape=shape, float_val=[1.0, 2.0])), [[1, 2], [2, 2]])
    np.testing.assert_array_equal(parse_tensor(_tensor(dtype=1, tensor_shape=shape)), [[0, 0], [0, 0]])
    np.testing.assert_array_equal(parse_tensor(_tensor(dtype=3, tensor_shape=shape, int_val=[1, 2, 3, 4, 5])), [[1, 2], [3, 4]])
    assert parse_tensor(_tensor(dtype=3, tensor_shape=shape, int_val=[7])).dtype == np.int32  # type: ignore[union-attr]
    # tensor_content must hold exactly elements x size.
    assert parse_tensor(_tensor(dtype=1, tensor_shape=shape, tensor_content=b"\0" * 15)) is None
    assert parse_tensor(_tensor(dtype=1, tensor_shape=shape, tensor_content=b"\0" * 20)) is None
    assert parse_tensor(_tensor(dtype=1, tensor_shape=shape, tensor_content=b"\0" * 16)) is not None
    # An invalid shape or DT_INVALID.
    assert parse_tensor(_tensor(dtype=1, tensor_shape={"dim": [{"size": -1}]})) is None
    assert parse_tensor(_tensor(dtype=0, tensor_shape=shape)) is None


def test_the_standin_refuses_a_request_without_model_spec(grpc_standin: GrpcStandIn) -> None:
    with grpc.insecure_channel(grpc_standin.target) as channel:
        for path in (PREDICT, STATUS):
            with pytest.raises(grpc.RpcError) as caught:
                channel.unary_unary(path)(b"", timeout=10)
            assert (caught.value.code(), caught.value.details()) == (grpc.StatusCode.INVALID_ARGUMENT, "Missing ModelSpec")  # type: ignore[attr-defined]


@pytest.mark.parametrize(("spec", "code", "details"), [
    ({"name": "resnet50_neuron", "signature_name": "predict"}, grpc.StatusCode.FAILED_PRECONDITION,
     'Serving signature key "predict" not found.'),
    ({"name": "resnet50_neuron", "version": {"value": 2}}, grpc.StatusCode.NOT_FOUND,
     "Servable not found for request: Specific(resnet50_neuron, 2)"),
])
def test_the_standin_refuses_other_signatures_and_versions(grpc_standin: GrpcStandIn, spec: dict, code: grpc.StatusCode,
                                                           details: str) -> None:
    request = grpc_api.predict_request(np.zeros((224, 224, 3), np.float32), "resnet50_neuron")
    request.model_spec.CopyFrom(serving_pb2.ModelSpec(**spec))
    with grpc.insecure_channel(grpc_standin.target) as channel, pytest.raises(grpc.RpcError) as caught:
        channel.unary_unary(PREDICT)(request.SerializeToString(), timeout=10)
    assert (caught.value.code(), caught.value.details()) == (code, details)  # type: ignore[attr-defined]


def test_the_standin_answers_as_as_proto_field(grpc_standin: GrpcStandIn) -> None:
    request = grpc_api.predict_request(np.zeros((224, 224, 3), np.float32), "resnet50_neuron")
    with grpc.insecure_channel(grpc_standin.target) as channel:
        raw = channel.unary_unary(PREDICT)(request.SerializeToString(), timeout=10)
    response = serving_pb2.PredictResponse.FromString(raw)
    assert (response.model_spec.name, response.model_spec.version.value, response.model_spec.signature_name) == (
        "resnet50_neuron", 1, "serving_default")
    output = response.outputs["probabilities"]
    assert (output.dtype, [d.size for d in output.tensor_shape.dim], len(output.float_val), output.tensor_content) == (
        tensor_pb2.DT_FLOAT, [1, 1000], 1000, b"")


def test_a_predict_request_takes_one_preprocessed_image_only() -> None:
    for shape in ((224, 224), (1, 224, 224, 3)):
        with pytest.raises(ValueError) as caught:
            grpc_api.predict_request(np.zeros(shape, dtype=np.float32), "resnet50_neuron")
        assert str(caught.value) == f"expected a (224, 224, 3) array, got {shape}"
