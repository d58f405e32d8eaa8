"""`python -m client.predict` end to end against the TF Serving stand-in (not TF Serving): output and every error path."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from client import predict as predict_module
from client.predict import load_image, main, preprocess
from tests.client.helpers import assert_one_error_line
from tests.client.standin import StandIn, TensorInfo

REPO = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^ {2}\d\. \S+ \(n\d{8}\) +\d\.\d{4}$")

MakeImage = Callable[..., Path]
SCORES = [0.0001] * 285 + [0.9] + [0.0001] * 714
"""Scores whose best class is 285, Egyptian_cat."""


def predict(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("color", "winner"), [
    ("red", "strawberry (n07745940)"),
    ("green", "Granny_Smith (n07742313)"),
    ("blue", "seashore (n09428293)"),
])
def test_predict_prints_the_top_5_best_first(
        capsys: pytest.CaptureFixture[str], standin: StandIn, make_image: MakeImage, color: str, winner: str) -> None:
    # The stand-in's winner follows the dominant colour in BGR order: it proves channel order end to end.
    code, out, err = predict(capsys, str(make_image(color)), "--url", standin.url)

    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 5
    assert all(LINE.match(line) for line in lines), lines
    assert lines[0].startswith(f"  1. {winner} ")
    assert [line.split()[1] for line in lines[1:4]] == ["tabby", "tiger_cat", "Egyptian_cat"]
    scores = [float(line.split()[-1]) for line in lines]
    assert scores == sorted(scores, reverse=True)


def test_predict_sends_one_instance_in_row_format(standin: StandIn, make_image: MakeImage) -> None:
    path = make_image("red", size=(50, 80))
    assert main([str(path), "--url", standin.url]) == 0

    [(method, url_path, raw)] = standin.requests
    assert (method, url_path) == ("POST", "/v1/models/resnet50_neuron:predict")
    body = json.loads(raw)
    assert list(body) == ["instances"]  # the row form, no signature_name: serving_default
    [image] = body["instances"]  # one instance, an unnamed 224x224x3 nested list of JSON numbers
    assert (len(image), len(image[0]), len(image[0][0])) == (224, 224, 3)
    assert all(type(value) is float for row in image for pixel in row for value in pixel)
    # What TF Serving built from it: the signature's one input, float32 [1, 224, 224, 3], the preprocessed image.
    [received] = standin.predictions
    assert (received.form, list(received.tensors)) == ("row", ["input_1"])
    tensor = received.tensors["input_1"]
    assert (tensor.shape, tensor.dtype) == ((1, 224, 224, 3), np.float32)
    np.testing.assert_allclose(tensor[0], preprocess(load_image(path)), atol=1e-3)


def test_predict_top_k_and_model_name(capsys: pytest.CaptureFixture[str], make_image: MakeImage) -> None:
    with StandIn(model="resnet50_neuronx") as server:
        code, out, _ = predict(capsys, str(make_image("red")), "--url", server.url + "/", "--model", "resnet50_neuronx", "--top", "2")

    assert code == 0
    assert [line.split()[1] for line in out.splitlines()] == ["strawberry", "tabby"]


@pytest.mark.parametrize("body", [
    {"predictions": [SCORES]},
    {"outputs": [SCORES]},
    {"predictions": [{"probabilities": SCORES}]},
    {"outputs": {"probabilities": [SCORES]}},
], ids=["row", "columnar", "row-named", "columnar-named"])
def test_predict_reads_every_response_form(
        capsys: pytest.CaptureFixture[str], standin: StandIn, make_image: MakeImage, body: dict[str, Any]) -> None:
    # Canned: the stand-in, like TF Serving, answers `instances` with unnamed `predictions` for one output.
    standin.reply = (200, body)

    code, out, _ = predict(capsys, str(make_image("blue")), "--url", standin.url, "--top", "1")

    assert code == 0
    assert out.startswith("  1. Egyptian_cat (n02124075)  ")


def test_a_model_with_several_outputs_is_refused(capsys: pytest.CaptureFixture[str], make_image: MakeImage) -> None:
    with StandIn(outputs=("probabilities", "logits")) as server:
        code, out, err = predict(capsys, str(make_image()), "--url", server.url)

    assert (code, out) == (5, "")
    assert_one_error_line(err, "expected one output in 'predictions', got 2: logits, probabilities")


@pytest.mark.parametrize(("inputs", "message"), [
    ({"input_1": TensorInfo("DT_FLOAT", (-1, 299, 299, 3))},
     "HTTP 400: stand-in model: input input_1 has shape [1,224,224,3], the signature declares [-1,299,299,3]"),
    ({"input_1": TensorInfo("DT_INT32", (-1, 224, 224, 3))},
     "HTTP 400: Failed to process element: 0 of 'instances' list. Error: INVALID_ARGUMENT: JSON Value: 116.061 "
     "Type: Number is not of expected type: int32"),  # the first value: blue 220 minus its mean
    ({"image": TensorInfo("DT_FLOAT", (-1, 224, 224, 3)), "mask": TensorInfo("DT_FLOAT", (-1, 224, 224))},
     "HTTP 400: instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map"),
], ids=["other-size", "int-input", "two-inputs"])
def test_a_model_whose_input_is_not_one_float_image_answers_400(
        capsys: pytest.CaptureFixture[str], make_image: MakeImage, inputs: dict[str, TensorInfo], message: str) -> None:
    with StandIn(inputs=inputs) as server:
        code, out, err = predict(capsys, str(make_image("blue")), "--url", server.url)

    assert (code, out) == (4, "")
    assert_one_error_line(err, message)


def test_a_client_that_named_its_input_wrongly_would_fail(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, standin: StandIn, make_image: MakeImage) -> None:
    # A deliberately wrong request: the strict stand-in refuses it as TF Serving would.
    monkeypatch.setattr(predict_module, "build_request", lambda array: {"instances": [{"image": array.tolist()}]})

    code, out, err = predict(capsys, str(make_image()), "--url", standin.url)

    assert (code, out) == (4, "")
    assert_one_error_line(err, "HTTP 400: Failed to process element: 0 key: image of 'instances' list. "
                               "Error: INVALID_ARGUMENT: JSON object: does not have named input: image")
    assert standin.predictions == []


# Errors: one line on stderr, a distinct exit code, nothing on stdout.

def test_missing_image(capsys: pytest.CaptureFixture[str], tmp_path: Path, standin: StandIn) -> None:
    code, out, err = predict(capsys, str(tmp_path / "cat.jpg"), "--url", standin.url)

    assert (code, out) == (2, "")
    assert_one_error_line(err, "no such file", "cat.jpg")
    assert standin.requests == []


def test_file_that_is_not_an_image(capsys: pytest.CaptureFixture[str], tmp_path: Path, standin: StandIn) -> None:
    path = tmp_path / "cat.jpg"
    path.write_bytes(b"%PDF-1.7 not a picture")

    code, out, err = predict(capsys, str(path), "--url", standin.url)

    assert (code, out) == (2, "")
    assert_one_error_line(err, "cat.jpg is not an image Pillow can read")


@pytest.mark.parametrize(("argv", "message"), [
    ([], "the following arguments are required: IMAGE"),
    (["x.jpg", "--top", "0"], "--top: must be between 1 and 1000, got 0"),
    (["x.jpg", "--top", "five"], "--top: not a whole number: 'five'"),
    (["x.jpg", "--url", "localhost:9000"], "--url: expected http://HOST:PORT"),
    (["x.jpg", "--url", "http://localhost:port"], "--url: expected http://HOST:PORT"),
    (["x.jpg", "--timeout", "0"], "--timeout: must be more than 0"),
    (["x.jpg", "--model", "a/b"], "--model: not a model name"),
    (["x.jpg", "--frobnicate"], "unrecognized arguments: --frobnicate"),
])
def test_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out, err = predict(capsys, *argv)

    assert (code, out) == (2, "")
    assert_one_error_line(err, message, "(see --help)")


def test_help(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")

    code, out, err = predict(capsys, "--help")

    assert (code, err) == (0, "")
    lines = [" ".join(line.split()) for line in out.splitlines()]
    # The usage and the defaults are what README.md's "Make a prediction" documents.
    assert lines[0] == ("usage: python -m client.predict [-h] [--url URL | --grpc HOST:PORT] [--model MODEL] [--timeout TIMEOUT] "
                        "[--top K] [--input NAME] IMAGE")
    assert any(line.startswith("IMAGE ") for line in lines), out
    assert any(line.startswith("--url URL ") and "(default: http://localhost:9000" in line for line in lines), out
    assert any(line.startswith("--top K ") and line.endswith("(default: 5)") for line in lines), out


def test_usage_error_in_full(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = predict(capsys, "x.jpg", "--top", "1001")

    assert (code, out, err) == (2, "", "error: argument --top: must be between 1 and 1000, got 1001 (see --help)\n")


@pytest.mark.parametrize(("value", "message"), [
    ("0", "must be between 1 and 1000, got 0"),
    ("-3", "must be between 1 and 1000, got -3"),
    ("1001", "must be between 1 and 1000, got 1001"),
    ("2.5", "not a whole number: '2.5'"),
    ("", "not a whole number: ''"),
])
def test_top_out_of_range(capsys: pytest.CaptureFixture[str], value: str, message: str) -> None:
    code, out, err = predict(capsys, "x.jpg", "--top", value)

    assert (code, out, err) == (2, "", f"error: argument --top: {message} (see --help)\n")


def test_top_1_and_top_1000(capsys: pytest.CaptureFixture[str], standin: StandIn, make_image: MakeImage) -> None:
    image = str(make_image("green"))

    code, out, _ = predict(capsys, image, "--url", standin.url, "--top", "1")
    assert (code, len(out.splitlines())) == (0, 1)
    assert out.startswith("  1. Granny_Smith (n07742313)  ")

    code, out, _ = predict(capsys, image, "--url", standin.url, "--top", "1000")
    lines = out.splitlines()
    assert (code, len(lines)) == (0, 1000)
    assert lines[-1].startswith("1000. ")
    assert len({line.split()[2] for line in lines}) == 1000  # every class once


def test_the_request_body_is_compact_json(standin: StandIn, make_image: MakeImage) -> None:
    # About 1.2 MB as it is; spaces after every comma would add a third.
    path = make_image("red")
    assert main([str(path), "--url", standin.url]) == 0

    [(_, _, raw)] = standin.requests
    assert raw == json.dumps(predict_module.build_request(preprocess(load_image(path))), separators=(",", ":")).encode()
    assert len(raw) < 1_300_000


def test_server_not_reachable(capsys: pytest.CaptureFixture[str], closed_url: str, make_image: MakeImage) -> None:
    code, out, err = predict(capsys, str(make_image()), "--url", closed_url)

    assert (code, out) == (3, "")
    assert_one_error_line(err, f"cannot reach {closed_url}/v1/models/resnet50_neuron:predict", "connection refused",
                          "kubectl port-forward")


def test_server_too_slow(capsys: pytest.CaptureFixture[str], standin: StandIn, make_image: MakeImage) -> None:
    standin.delay = 5

    code, out, err = predict(capsys, str(make_image()), "--url", standin.url, "--timeout", "0.3")

    assert (code, out) == (3, "")
    assert_one_error_line(err, "no answer from", "within 0.3 s")


def test_unknown_model(capsys: pytest.CaptureFixture[str], standin: StandIn, make_image: MakeImage) -> None:
    code, out, err = predict(capsys, str(make_image()), "--url", standin.url, "--model", "resnet50_inf1")

    assert (code, out) == (4, "")
    assert_one_error_line(err, "HTTP 404", "Servable not found for request: Latest(resnet50_inf1)", "--model")


def test_model_still_loading(capsys: pytest.CaptureFixture[str], standin: StandIn, make_image: MakeImage) -> None:
    standin.state = "LOADING"

    code, out, err = predict(capsys, str(make_image()), "--url", standin.url)

    assert (code, out) == (4, "")
    assert_one_error_line(err, "Servable not found for request: Latest(resnet50_neuron)")


@pytest.mark.parametrize(("status", "body", "message"), [
    (500, {"error": "Internal: nrt_execute failed\n  on NeuronCore 0"}, "HTTP 500: Internal: nrt_execute failed on NeuronCore 0"),
    (503, {"error": "Unavailable: too many requests"}, "HTTP 503: Unavailable: too many requests"),
    (502, b"<html>\n<h1>Bad Gateway</h1>\n</html>", "HTTP 502: <html> <h1>Bad Gateway</h1> </html>"),
    (500, b"", "HTTP 500: Internal Server Error"),
])
def test_server_error(capsys: pytest.CaptureFixture[str], standin: StandIn, make_image: MakeImage,
                      status: int, body: bytes | dict[str, Any], message: str) -> None:
    standin.reply = (status, body)

    code, out, err = predict(capsys, str(make_image()), "--url", standin.url)

    assert (code, out) == (4, "")
    assert_one_error_line(err, message)


@pytest.mark.parametrize(("body", "message"), [
    (b"<html>it works</html>", "did not answer JSON: '<html>it works</html>'"),
    ({"result": [[0.5, 0.5]]}, "no 'predictions' or 'outputs'"),
    ({"predictions": [[0.1] * 10]}, "expected 1000 class scores in 'predictions', got 10"),
    ({"predictions": [["0.001"] * 1000]}, "expected 1000 numbers in 'predictions'"),
    ({"outputs": {"a": [[0.001] * 1000], "b": [[0.001] * 1000]}}, "expected one output in 'outputs', got 2: a, b"),
])
def test_response_of_the_wrong_shape(capsys: pytest.CaptureFixture[str], standin: StandIn, make_image: MakeImage,
                                     body: bytes | dict[str, Any], message: str) -> None:
    standin.reply = (200, body)

    code, out, err = predict(capsys, str(make_image()), "--url", standin.url)

    assert (code, out) == (5, "")
    assert_one_error_line(err, message)


# The module entry point, as a user runs it.

def run_module(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "client.predict", *argv], cwd=REPO, capture_output=True, text=True, timeout=60,
                          check=False)


def test_python_m_client_predict(standin: StandIn, make_image: MakeImage) -> None:
    done = run_module(str(make_image("green", name="apple.jpg")), "--url", standin.url, "--top", "3")

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[0].startswith("  1. Granny_Smith (n07742313)  ")
    assert len(done.stdout.splitlines()) == 3


def test_python_m_client_predict_fails_in_one_line(tmp_path: Path, closed_url: str) -> None:
    done = run_module(str(tmp_path / "missing.png"), "--url", closed_url)

    assert (done.returncode, done.stdout) == (2, "")
    assert_one_error_line(done.stderr, "no such file", "missing.png")
