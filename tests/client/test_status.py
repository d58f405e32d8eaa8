"""`python -m client.status` against the TF Serving stand-in (not TF Serving): states, exit codes, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from client.common import BadResponseError
from client.status import VersionStatus, format_status, is_available, main, parse_status
from tests.client.helpers import assert_one_error_line
from tests.client.standin import StandIn

REPO = Path(__file__).resolve().parents[2]


def status(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_available_model_exits_0(capsys: pytest.CaptureFixture[str], standin: StandIn) -> None:
    code, out, err = status(capsys, "--url", standin.url)

    assert (code, out, err) == (0, "resnet50_neuron version 1: AVAILABLE\n", "")
    assert standin.requests == [("GET", "/v1/models/resnet50_neuron", b"")]


@pytest.mark.parametrize("state", ["START", "LOADING", "UNLOADING", "UNKNOWN"])
def test_model_not_available_exits_1(capsys: pytest.CaptureFixture[str], standin: StandIn, state: str) -> None:
    standin.state = state

    code, out, err = status(capsys, "--url", standin.url)

    assert (code, out) == (1, f"resnet50_neuron version 1: {state}\n")
    assert_one_error_line(err, "no version of model resnet50_neuron is AVAILABLE")


def test_version_that_failed_to_load_shows_its_error(capsys: pytest.CaptureFixture[str], standin: StandIn) -> None:
    standin.state, standin.error_code = "END", "NOT_FOUND"
    standin.error_message = "Could not find meta graph def matching supplied tags: { serve }"

    code, out, _ = status(capsys, "--url", standin.url)

    assert code == 1
    assert out == "resnet50_neuron version 1: END (NOT_FOUND: Could not find meta graph def matching supplied tags: { serve })\n"


def test_other_model_name(capsys: pytest.CaptureFixture[str]) -> None:
    with StandIn(model="resnet50_neuronx") as server:
        code, out, _ = status(capsys, "--url", server.url, "--model", "resnet50_neuronx")

    assert (code, out) == (0, "resnet50_neuronx version 1: AVAILABLE\n")


def test_unknown_model(capsys: pytest.CaptureFixture[str], standin: StandIn) -> None:
    code, out, err = status(capsys, "--url", standin.url, "--model", "resnet50_inf1")

    assert (code, out) == (4, "")
    assert_one_error_line(err, "HTTP 404", "Could not find any versions of model resnet50_inf1")


def test_server_not_reachable(capsys: pytest.CaptureFixture[str], closed_url: str) -> None:
    code, out, err = status(capsys, "--url", closed_url)

    assert (code, out) == (3, "")
    assert_one_error_line(err, "cannot reach", "connection refused")


def test_server_too_slow(capsys: pytest.CaptureFixture[str], standin: StandIn) -> None:
    standin.delay = 5

    code, _, err = status(capsys, "--url", standin.url, "--timeout", "0.2")

    assert code == 3
    assert_one_error_line(err, "within 0.2 s")


def test_server_error(capsys: pytest.CaptureFixture[str], standin: StandIn) -> None:
    standin.reply = (500, {"error": "Internal: model manager is gone"})

    code, out, err = status(capsys, "--url", standin.url)

    assert (code, out) == (4, "")
    assert_one_error_line(err, "HTTP 500: Internal: model manager is gone")


def test_port_that_does_not_speak_http(capsys: pytest.CaptureFixture[str], not_http_url: str) -> None:
    code, out, err = status(capsys, "--url", not_http_url)

    assert (code, out) == (5, "")
    assert_one_error_line(err, "did not answer HTTP", "REST port (9000), not gRPC (8500)")


def test_url_whose_host_has_a_space_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    # urllib refuses it only when it sends the request (http.client.InvalidURL, an HTTPException): an input error,
    # not a server that "did not answer HTTP".
    code, out, err = status(capsys, "--url", "http://local host:9000")

    assert (code, out) == (2, "")
    assert err == ("error: invalid URL http://local host:9000/v1/models/resnet50_neuron: URL can't contain control "
                   "characters. 'local host' (found at least ' ')\n")


@pytest.mark.parametrize(("body", "message"), [
    (b"OK", "did not answer JSON"),
    ({"models": []}, "not a model status: no 'model_version_status' list (keys: models)"),
    ({"model_version_status": []}, "no 'model_version_status' list"),
    ({"model_version_status": [{"version": "1"}]}, "a model version status without a state"),
])
def test_answer_that_is_not_a_status(capsys: pytest.CaptureFixture[str], standin: StandIn,
                                     body: bytes | dict[str, Any], message: str) -> None:
    standin.reply = (200, body)

    code, out, err = status(capsys, "--url", standin.url)

    assert (code, out) == (5, "")
    assert_one_error_line(err, message)


def test_parse_status_of_several_versions() -> None:
    body = {"model_version_status": [
        {"version": "2", "state": "LOADING", "status": {"error_code": "OK", "error_message": ""}},
        {"version": "1", "state": "AVAILABLE", "status": {}},
    ]}

    versions = parse_status(body)

    assert versions == [VersionStatus("2", "LOADING"), VersionStatus("1", "AVAILABLE")]
    assert is_available(versions)
    assert format_status("m", versions) == ["m version 2: LOADING", "m version 1: AVAILABLE"]


def test_parse_status_refuses_a_list() -> None:
    with pytest.raises(BadResponseError, match="not a model status"):
        parse_status([{"state": "AVAILABLE"}])


def test_python_m_client_status(standin: StandIn) -> None:
    done = subprocess.run([sys.executable, "-m", "client.status", "--url", standin.url], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=False)

    assert (done.returncode, done.stdout, done.stderr) == (0, "resnet50_neuron version 1: AVAILABLE\n", "")


def test_parse_status_fills_what_is_missing() -> None:
    body = {"model_version_status": [
        {"state": "END", "status": {"error_code": "UNKNOWN", "error_message": "failed\n  to load"}},
        {"state": "START", "status": "not an object"},
        {"version": 3, "state": "LOADING", "status": {"error_code": None, "error_message": None}},
        {"version": "2", "state": "AVAILABLE"},
    ]}

    assert parse_status(body) == [
        VersionStatus("?", "END", "UNKNOWN", "failed to load"),
        VersionStatus("?", "START", "OK", ""),
        VersionStatus("3", "LOADING", "OK", ""),
        VersionStatus("2", "AVAILABLE", "OK", ""),
    ]


@pytest.mark.parametrize(("body", "message"), [
    (None, "the answer is not a model status: no 'model_version_status' list (NoneType)"),
    ([], "the answer is not a model status: no 'model_version_status' list (list)"),
    ({}, "the answer is not a model status: no 'model_version_status' list (keys: none)"),
    ({"b": 1, "a": 2}, "the answer is not a model status: no 'model_version_status' list (keys: a, b)"),
    ({"model_version_status": {"state": "AVAILABLE"}}, "the answer is not a model status: no 'model_version_status' list "
                                                       "(keys: model_version_status)"),
    ({"model_version_status": [{"version": "1", "state": 3}]},
     "a model version status without a state: {'version': '1', 'state': 3}"),
    ({"model_version_status": ["x" * 100]}, "a model version status without a state: " + "x" * 80),
])
def test_parse_status_messages_in_full(body: Any, message: str) -> None:
    with pytest.raises(BadResponseError) as caught:
        parse_status(body)

    assert str(caught.value) == message


def test_format_status_shows_an_error_only_when_there_is_one() -> None:
    versions = [VersionStatus("1", "END", "UNKNOWN", "no"), VersionStatus("2", "END", "OK", "ignored")]

    assert format_status("m", versions) == ["m version 1: END (UNKNOWN: no)", "m version 2: END"]


def test_is_available() -> None:
    assert is_available([VersionStatus("1", "LOADING"), VersionStatus("2", "AVAILABLE")])
    assert not is_available([VersionStatus("1", "LOADING"), VersionStatus("2", "available")])
    assert not is_available([])


def test_not_available_in_full(capsys: pytest.CaptureFixture[str]) -> None:
    with StandIn(model="m2", state="LOADING") as server:
        code, out, err = status(capsys, "--url", server.url, "--model", "m2")

    assert (code, out, err) == (1, "m2 version 1: LOADING\n", "error: no version of model m2 is AVAILABLE\n")


def test_help(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")

    code, out, err = status(capsys, "--help")

    assert (code, err) == (0, "")
    assert out.startswith("usage: python -m client.status [-h] [--url URL | --grpc HOST:PORT] [--model MODEL] [--timeout TIMEOUT]\n")
    assert "IMAGE" not in out
