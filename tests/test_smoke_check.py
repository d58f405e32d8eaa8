"""The smoke test's check script against the TF Serving stand-in (tests/client/standin.py, not TF Serving)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from eks_inferentia import smoke_check
from eks_inferentia.smoke_check import SmokeTestError, check, input_spec, zeros
from tests.client.standin import StandIn, TensorInfo

SCRIPT = Path(smoke_check.__file__)


def test_a_serving_model_passes_with_a_predict_of_its_own_input_shape() -> None:
    with StandIn() as server:
        assert check(server.url, "resnet50_neuron", wait_seconds=0) == (
            "OK: resnet50_neuron version 1 answered a predict of input_1[1, 224, 224, 3] (DT_FLOAT)")
        method, _, raw = server.requests[-1]
    assert [path for _, path, _ in server.requests] == [
        "/v1/models/resnet50_neuron", "/v1/models/resnet50_neuron/metadata", "/v1/models/resnet50_neuron:predict"]
    assert method == "POST"
    body = json.loads(raw)
    assert list(body) == ["inputs"] and list(body["inputs"]) == ["input_1"]  # columnar, named as the signature names it
    assert body["inputs"]["input_1"][0][0][0] == [0.0, 0.0, 0.0]
    [received] = server.predictions
    tensor = received.tensors["input_1"]
    assert (received.form, tensor.shape, tensor.dtype, tensor.any()) == ("columnar", (1, 224, 224, 3), np.float32, False)


def test_it_sends_what_the_metadata_declares_for_another_model() -> None:
    with StandIn(model="m", inputs={"ids": TensorInfo("DT_INT32", (-1, 8))}) as server:
        assert check(server.url, "m", wait_seconds=0) == "OK: m version 1 answered a predict of ids[1, 8] (DT_INT32)"

    assert json.loads(server.requests[-1][2]) == {"inputs": {"ids": [[0] * 8]}}  # whole numbers: 0.0 is not an int32
    tensor = server.predictions[0].tensors["ids"]
    assert (tensor.shape, tensor.dtype) == ((1, 8), np.int32)


@pytest.mark.parametrize(("spec", "message"), [
    (("image", "DT_FLOAT", [1, 224, 224, 3]), "answered HTTP 400: Missing named input: input_1 in 'inputs' object."),
    (("input_1", "DT_FLOAT", [1, 224, 224]),
     "answered HTTP 400: stand-in model: input input_1 has shape [1,224,224], the signature declares [-1,224,224,3]"),
], ids=["wrong-name", "wrong-shape"])
def test_a_smoke_check_that_sent_the_wrong_input_would_fail(
        monkeypatch: pytest.MonkeyPatch, spec: tuple[str, str, list[int]], message: str) -> None:
    # A deliberately wrong request: the strict stand-in refuses it as TF Serving would.
    monkeypatch.setattr(smoke_check, "input_spec", lambda metadata: spec)
    with StandIn() as server, pytest.raises(SmokeTestError, match=re.escape(message)):
        check(server.url, "resnet50_neuron", wait_seconds=0)
    assert server.predictions == []


def test_a_smoke_check_that_sent_floats_to_an_int_input_would_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(smoke_check.NUMERIC_DTYPES, "DT_INT32", 0.0)
    with StandIn(model="m", inputs={"ids": TensorInfo("DT_INT32", (-1, 2))}) as server, pytest.raises(
            SmokeTestError, match=re.escape("answered HTTP 400: JSON Value: 0.0 Type: Number is not of expected type: int32")):
        check(server.url, "m", wait_seconds=0)


def test_runs_as_the_job_runs_it_a_plain_script_with_only_the_standard_library() -> None:
    with StandIn() as server:
        result = subprocess.run([sys.executable, "-I", str(SCRIPT), server.url, "resnet50_neuron"],
                                capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: resnet50_neuron version 1")


@pytest.mark.parametrize(("server", "model", "message"), [
    (StandIn(), "resnet50", "answered HTTP 404: Could not find any versions of model resnet50"),
    (StandIn(state="LOADING"), "resnet50_neuron", "model resnet50_neuron has no AVAILABLE version (version 1 LOADING"),
    (StandIn(reply=(500, {"error": "Neuron runtime failed"})), "resnet50_neuron", "answered HTTP 500: Neuron runtime failed"),
    (StandIn(reply=(200, b"<html>")), "resnet50_neuron", "answered with something that is not JSON"),
], ids=["unknown-model", "not-loaded", "server-error", "not-json"])
def test_failures_name_what_failed(server: StandIn, model: str, message: str) -> None:
    with server, pytest.raises(SmokeTestError, match=re.escape(message)):
        check(server.url, model, wait_seconds=0)


def test_outputs_that_are_not_finite_numbers_fail(monkeypatch) -> None:
    with StandIn() as server:
        original = server.predict

        def nan_outputs(path: str, name: str, version: str | None, raw: bytes) -> dict[str, list[list[float]]]:
            original(path, name, version, raw)  # the request itself must pass
            return {"outputs": [[float("nan")] * 1000]}

        monkeypatch.setattr(server, "predict", nan_outputs)
        with pytest.raises(SmokeTestError, match="without finite numeric outputs"):
            check(server.url, "resnet50_neuron", wait_seconds=0)


def test_a_failure_exits_1_with_one_line_and_no_traceback(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(smoke_check, "TERMINATION_LOG", str(tmp_path / "termination-log"))
    monkeypatch.setattr(smoke_check, "WAIT_FOR_AVAILABLE_SECONDS", 0)
    with StandIn(state="LOADING") as server:
        assert smoke_check.main([server.url, "resnet50_neuron"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("smoke test failed: model resnet50_neuron has no AVAILABLE version")
    assert (tmp_path / "termination-log").read_text() == err.strip()


def test_unreachable_server() -> None:
    with pytest.raises(SmokeTestError, match=re.escape("cannot reach http://127.0.0.1:9/v1/models/m")):
        check("http://127.0.0.1:9", "m", wait_seconds=0)


def test_input_spec_and_zeros() -> None:
    metadata = {"metadata": {"signature_def": {"signature_def": {"serving_default": {"inputs": {"x": {
        "dtype": "DT_INT32", "tensor_shape": {"dim": [{"size": "-1"}, {"size": "2"}, {"size": "3"}]}}}}}}}}
    assert input_spec(metadata) == ("x", "DT_INT32", [1, 2, 3])
    assert zeros([1, 2, 3], 0) == [[[0, 0, 0], [0, 0, 0]]]
    with pytest.raises(SmokeTestError, match="no serving_default signature"):
        input_spec({"metadata": {}})


@pytest.mark.parametrize("dtype", ["DT_HALF", "DT_BFLOAT16", "DT_UINT16", "DT_STRING"])
def test_an_input_json_cannot_carry_fails_before_sending_anything(dtype: str) -> None:
    # TF Serving answers 501 for these; the check says why instead, and sends no predict.
    with StandIn(model="m", inputs={"x": TensorInfo(dtype, (-1, 2))}) as server, pytest.raises(SmokeTestError) as caught:
        check(server.url, "m", wait_seconds=0)
    assert str(caught.value) == (f"input x has dtype {dtype}, which TensorFlow Serving's REST API cannot take from JSON; "
                                 "this check sends float or integer zeros (set smokeTest to false for this model)")
    assert server.predictions == []


def test_main_prints_the_success_line_and_exits_0(capsys) -> None:
    with StandIn() as server:
        assert smoke_check.main([server.url + "/", "resnet50_neuron"]) == 0
    out, err = capsys.readouterr()
    assert out == "OK: resnet50_neuron version 1 answered a predict of input_1[1, 224, 224, 3] (DT_FLOAT)\n"
    assert err == ""


@pytest.mark.parametrize("argv", [[], ["http://127.0.0.1:9"], ["http://127.0.0.1:9", "m", "extra"]])
def test_main_without_url_and_model_prints_the_usage_and_exits_2(argv: list[str], capsys) -> None:
    assert smoke_check.main(argv) == 2
    assert capsys.readouterr() == ("", "usage: smoke_check.py REST_URL MODEL_NAME\n")


def test_a_failure_still_exits_1_when_there_is_no_termination_log(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(smoke_check, "TERMINATION_LOG", str(tmp_path / "missing-directory" / "termination-log"))
    assert smoke_check.main(["http://127.0.0.1:9", "m"]) == 1
    assert capsys.readouterr().err.startswith("smoke test failed: cannot reach http://127.0.0.1:9/v1/models/m")


@pytest.mark.parametrize(("outputs", "finite"), [
    ({"probabilities": [[0.5, 0.25]], "classes": [[3, 1]]}, True),  # named outputs: TF Serving's form for several
    ({"probabilities": [[0.5, float("inf")]]}, False),
    ({}, False),
    ([], False),
    ([[True, 0.5]], False),  # JSON true is not a number, though Python's bool is an int
    ([["0.5"]], False),
    (None, False),
])
def test_only_finite_numbers_pass_as_outputs(outputs, finite: bool) -> None:
    assert smoke_check._all_finite(outputs) is finite


def _metadata(inputs: dict) -> dict:
    return {"metadata": {"signature_def": {"signature_def": {"serving_default": {"inputs": inputs}}}}}


@pytest.mark.parametrize(("metadata", "message"), [
    ({"metadata": {}}, "the model's metadata has no serving_default signature"),
    (_metadata({"a": {"dtype": "DT_FLOAT"}, "b": {"dtype": "DT_FLOAT"}}),
     "the serving_default signature has 2 inputs; this check sends one"),
    (_metadata({"text": {"dtype": "DT_STRING"}}), "input text has dtype DT_STRING, which TensorFlow Serving's REST API "
                                                  "cannot take from JSON; this check sends float or integer zeros "
                                                  "(set smokeTest to false for this model)"),
])
def test_inputs_this_check_cannot_fill_fail_with_the_reason(metadata: dict, message: str) -> None:
    with pytest.raises(SmokeTestError) as caught:
        input_spec(metadata)
    assert str(caught.value) == message
