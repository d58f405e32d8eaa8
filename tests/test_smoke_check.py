"""The smoke test's check script against the TF Serving stand-in (tests/client/standin.py, not TF Serving)."""

from __future__ import annotations

import email.message
import io
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
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


@pytest.mark.parametrize("argv", [[], ["http://127.0.0.1:9"], ["http://127.0.0.1:9", "m", "extra"],
                                  ["http://127.0.0.1:9", "m", "1,0"], ["http://127.0.0.1:9", "m", "1,"],
                                  ["http://127.0.0.1:9", "m", "1", "2"]])
def test_main_without_url_and_model_prints_the_usage_and_exits_2(argv: list[str], capsys) -> None:
    assert smoke_check.main(argv) == 2
    assert capsys.readouterr() == ("", "usage: smoke_check.py REST_URL MODEL_NAME [VERSION,VERSION...]\n")


def test_with_pinned_versions_the_highest_is_asked_by_name() -> None:
    with StandIn(version=3) as server:
        assert smoke_check.main([server.url, "resnet50_neuron", "3"]) == 0
    assert [path for _, path, _ in server.requests] == [
        "/v1/models/resnet50_neuron", "/v1/models/resnet50_neuron/versions/3/metadata",
        "/v1/models/resnet50_neuron/versions/3:predict"]
    with StandIn(version=3) as server:
        assert check(server.url, "resnet50_neuron", wait_seconds=0, expected=[3]) == (
            "OK: resnet50_neuron version(s) 3 AVAILABLE; version 3 answered a predict of input_1[1, 224, 224, 3] "
            "(DT_FLOAT)")


def test_a_pinned_version_the_server_does_not_have_fails(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setattr(smoke_check, "TERMINATION_LOG", str(tmp_path / "termination-log"))
    monkeypatch.setattr(smoke_check, "WAIT_FOR_AVAILABLE_SECONDS", 0)
    with StandIn(version=3) as server:  # still serving 3, but the stack asks for 2 and 3
        assert smoke_check.main([server.url, "resnet50_neuron", "2,3"]) == 1
    assert capsys.readouterr().err == ("smoke test failed: model resnet50_neuron version(s) 2 not AVAILABLE "
                                       "(version 3 AVAILABLE: ); are they in modelBasePath?\n")


def test_every_pinned_version_must_be_available(monkeypatch: pytest.MonkeyPatch) -> None:
    both = {"model_version_status": [{"version": "3", "state": "AVAILABLE"}, {"version": "2", "state": "LOADING"}]}
    ready = {"model_version_status": [{"version": "3", "state": "AVAILABLE"}, {"version": "2", "state": "AVAILABLE"}]}
    urls = _statuses(monkeypatch, both, ready)
    monkeypatch.setattr(smoke_check.time, "sleep", lambda seconds: None)
    assert smoke_check.wait_until_available("http://h", "m", wait_seconds=600, expected=[2, 3]) == "2, 3"
    assert len(urls) == 2  # 3 alone was not enough


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


class _Answer:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def __enter__(self) -> _Answer:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def read(self) -> bytes:
        return self.raw


def _fake_urlopen(monkeypatch: pytest.MonkeyPatch, outcome: object) -> list[tuple[urllib.request.Request, object]]:
    """Replace urlopen: record (request, timeout) and answer `outcome` (bytes) or raise it (an exception)."""
    calls: list[tuple[urllib.request.Request, object]] = []

    def urlopen(request: urllib.request.Request, **kwargs: object) -> _Answer:
        calls.append((request, kwargs.get("timeout", "no timeout")))
        if isinstance(outcome, BaseException):
            raise outcome
        assert isinstance(outcome, bytes)
        return _Answer(outcome)

    monkeypatch.setattr(smoke_check.urllib.request, "urlopen", urlopen)
    return calls


def test_a_request_with_a_body_posts_json_and_one_without_sends_no_content_type(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_urlopen(monkeypatch, b'{"ok": 1}')
    assert smoke_check._request("http://h/p", {"a": 1}) == {"ok": 1}
    assert smoke_check._request("http://h/q") == {"ok": 1}
    (posted, posted_timeout), (got, got_timeout) = calls
    assert (posted.get_method(), posted.data, posted.header_items()) == (
        "POST", b'{"a": 1}', [("Content-type", "application/json")])
    assert (got.get_method(), got.data, got.header_items()) == ("GET", None, [])
    assert posted_timeout == got_timeout == 60


def _http_error(body: bytes) -> urllib.error.HTTPError:
    return urllib.error.HTTPError("http://h/p", 500, "Internal Server Error", email.message.Message(), io.BytesIO(body))


@pytest.mark.parametrize(("body", "detail"), [
    (b'{"error": "Neuron runtime failed"}', "Neuron runtime failed"),
    (b'{"message": "no error key"}', '{"message": "no error key"}'),  # JSON without "error": the body as it is
    (b"[1, 2]", "[1, 2]"),  # JSON that is not an object
    (b"not json", "not json"),
    (b"bad \xff byte", "bad \ufffd byte"),  # not UTF-8: replaced, not a UnicodeDecodeError
])
def test_an_http_error_names_the_servers_error_or_its_body(monkeypatch: pytest.MonkeyPatch, body: bytes, detail: str) -> None:
    _fake_urlopen(monkeypatch, _http_error(body))
    with pytest.raises(SmokeTestError) as caught:
        smoke_check._request("http://h/p")
    assert str(caught.value) == f"http://h/p answered HTTP 500: {detail}"


@pytest.mark.parametrize(("error", "reason"), [
    (urllib.error.URLError("Connection refused"), "Connection refused"),  # its reason, not "<urlopen error ...>"
    (ConnectionResetError("reset by peer"), "reset by peer"),  # an OSError without a reason: the error itself
])
def test_an_unreachable_server_names_the_reason(monkeypatch: pytest.MonkeyPatch, error: OSError, reason: str) -> None:
    _fake_urlopen(monkeypatch, error)
    with pytest.raises(SmokeTestError) as caught:
        smoke_check._request("http://h/p")
    assert str(caught.value) == f"cannot reach http://h/p: {reason}"


def test_a_base_url_with_a_trailing_slash_requests_the_same_paths() -> None:
    with StandIn() as server:
        check(server.url + "/", "resnet50_neuron", wait_seconds=0)
    assert [path for _, path, _ in server.requests] == [
        "/v1/models/resnet50_neuron", "/v1/models/resnet50_neuron/metadata", "/v1/models/resnet50_neuron:predict"]


def test_an_input_without_dtype_or_shape() -> None:
    with pytest.raises(SmokeTestError) as caught:
        input_spec(_metadata({"x": {}}))
    assert str(caught.value).startswith("input x has dtype unknown, which")
    assert input_spec(_metadata({"x": {"dtype": "DT_FLOAT"}})) == ("x", "DT_FLOAT", [])
    assert input_spec(_metadata({"x": {"dtype": "DT_FLOAT", "tensor_shape": {}}})) == ("x", "DT_FLOAT", [])
    assert input_spec(_metadata({"x": {"dtype": "DT_FLOAT", "tensor_shape": {"dim": [{}, {"size": "4"}]}}})) == (
        "x", "DT_FLOAT", [1, 4])  # a dimension without a size is unknown: 1


def _statuses(monkeypatch: pytest.MonkeyPatch, *answers: dict) -> list[str]:
    """Answer the status requests with `answers` in turn; more requests than answers fail the test."""
    urls: list[str] = []

    def request(url: str) -> dict:
        urls.append(url)
        assert len(urls) <= len(answers), "polled again"
        return answers[len(urls) - 1]

    monkeypatch.setattr(smoke_check, "_request", request)
    return urls


def test_it_polls_every_5_seconds_until_a_version_is_available(monkeypatch: pytest.MonkeyPatch) -> None:
    loading = {"model_version_status": [{"version": "3", "state": "LOADING"}]}
    available = {"model_version_status": [{"version": "3", "state": "AVAILABLE"}]}
    urls = _statuses(monkeypatch, loading, loading, available)
    sleeps: list[object] = []
    monkeypatch.setattr(smoke_check.time, "sleep", sleeps.append)
    assert smoke_check.wait_until_available("http://h", "m", wait_seconds=600) == "3"
    assert urls == ["http://h/v1/models/m"] * 3
    assert sleeps == [5, 5]


def test_it_gives_up_at_the_deadline_naming_each_versions_state(monkeypatch: pytest.MonkeyPatch) -> None:
    _statuses(monkeypatch, {"model_version_status": [
        {"version": "1", "state": "LOADING", "status": {"error_message": "no Neuron device"}},
        {"version": "2", "state": "END"}]})
    monkeypatch.setattr(smoke_check.time, "monotonic", lambda: 100.0)  # the deadline is now: give up, no sleep
    monkeypatch.setattr(smoke_check.time, "sleep", lambda seconds: None)
    with pytest.raises(SmokeTestError) as caught:
        smoke_check.wait_until_available("http://h", "m", wait_seconds=0)
    assert str(caught.value) == "model m has no AVAILABLE version (version 1 LOADING: no Neuron device, version 2 END: )"


def test_a_model_without_versions_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    _statuses(monkeypatch, {})
    with pytest.raises(SmokeTestError) as caught:
        smoke_check.wait_until_available("http://h", "m", wait_seconds=0)
    assert str(caught.value) == "model m has no AVAILABLE version (no versions)"


def test_a_predict_answer_that_is_not_an_object_fails_showing_its_start(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = [0.5] * 100  # outputs, but not under "outputs" in an object
    answers = {"http://h/v1/models/m": {"model_version_status": [{"version": "1", "state": "AVAILABLE"}]},
               "http://h/v1/models/m/metadata": _metadata({"x": {"dtype": "DT_FLOAT", "tensor_shape": {"dim": [{"size": "2"}]}}}),
               "http://h/v1/models/m:predict": answer}
    monkeypatch.setattr(smoke_check, "_request", lambda url, body=None: answers[url])
    with pytest.raises(SmokeTestError) as caught:
        check("http://h", "m", wait_seconds=0)
    assert str(caught.value) == f"predict answered without finite numeric outputs: {json.dumps(answer)[:200]}"
    assert len(json.dumps(answer)) > 200


@pytest.mark.parametrize("base", ["http://BOX", "http://BOX/", "http://BOX//"])
def test_the_base_url_loses_its_trailing_slashes_only(monkeypatch: pytest.MonkeyPatch, base: str) -> None:
    # Python's http.server (so the stand-in) collapses a leading "//" in a path; libevent, TF Serving's, does not.
    answers = {"http://BOX/v1/models/m": {"model_version_status": [{"version": "1", "state": "AVAILABLE"}]},
               "http://BOX/v1/models/m/metadata": _metadata({"x": {"dtype": "DT_FLOAT"}}),
               "http://BOX/v1/models/m:predict": {"outputs": [0.5]}}
    urls: list[str] = []

    def request(url: str, body: object = None) -> object:
        urls.append(url)
        return answers[url]

    monkeypatch.setattr(smoke_check, "_request", request)
    assert check(base, "m", wait_seconds=0) == "OK: m version 1 answered a predict of x[] (DT_FLOAT)"
    assert urls == list(answers)


def test_every_pinned_version_not_available_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    _statuses(monkeypatch, {"model_version_status": [{"version": "3", "state": "AVAILABLE"}]})
    monkeypatch.setattr(smoke_check.time, "monotonic", lambda: 100.0)  # the deadline is now: give up, no sleep
    with pytest.raises(SmokeTestError) as caught:
        smoke_check.wait_until_available("http://h", "m", wait_seconds=0, expected=[2, 3, 4])
    assert str(caught.value) == ("model m version(s) 2, 4 not AVAILABLE (version 3 AVAILABLE: ); "
                                 "are they in modelBasePath?")
