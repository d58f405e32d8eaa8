"""`python -m client.loadtest` against both stand-ins (not TF Serving), and its statistics on made-up samples.

Every run here is bounded to well under a second; the assertions are on counts, bytes, messages and exit
codes, never on how fast anything was (`make bench` measures that).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from client import loadtest
from client.loadtest import Plan, Result, Sample, main, nearest_rank, report
from client.predict import load_image
from client.protos import serving_pb2
from tests.client.helpers import assert_one_error_line
from tests.client.standin import StandIn
from tests.client.standin_grpc import PREDICT, GrpcStandIn

MakeImage = Callable[..., Path]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


# --- percentiles and the report, on made-up samples ------------------------------------------------

def test_nearest_rank() -> None:
    values = [15.0, 20.0, 35.0, 40.0, 50.0]
    assert [nearest_rank(values, p) for p in (5, 30, 40, 50, 100)] == [15.0, 20.0, 20.0, 35.0, 50.0]
    hundred = [float(v) for v in range(1, 101)]
    assert [nearest_rank(hundred, p) for p in (50, 90, 99, 99.5, 100)] == [50.0, 90.0, 99.0, 100.0, 100.0]
    assert [nearest_rank([7.0], p) for p in (1, 50, 100)] == [7.0, 7.0, 7.0]
    with pytest.raises(ValueError, match="no values"):
        nearest_rank([], 50)
    with pytest.raises(ValueError, match=r"in \(0, 100\]"):
        nearest_rank(values, 0)


def _samples(durations_ms: list[float], errors: dict[int, str] | None = None) -> list[Sample]:
    errors = errors or {}
    return [Sample(start=i * 0.01, duration=d / 1000, error=errors.get(i), message=f"details {i}" if i in errors else "")
            for i, d in enumerate(durations_ms)]


def test_the_statistics_are_over_the_ok_answers() -> None:
    # 100 ok answers of 1..100 ms, and two fast failures that must not pull the percentiles down.
    samples = _samples([float(v) for v in range(1, 101)] + [0.5, 0.5], errors={100: "UNAVAILABLE", 101: "UNAVAILABLE"})
    result = Result(Plan(concurrency=4, requests=102), samples, wall=2.0)

    assert result.latency_ms() == pytest.approx({"p50": 50.0, "p90": 90.0, "p99": 99.0, "max": 100.0})
    assert (len(result.ok), dict(result.errors), result.error_ratio, result.throughput) == (100, {"UNAVAILABLE": 2}, 2 / 102, 50.0)


def test_the_report() -> None:
    samples = _samples([10.0, 20.0, 30.0, 40.0, 5.0], errors={3: "HTTP 503", 4: "timeout"})
    result = Result(Plan(concurrency=2, requests=5), samples, wall=0.5)

    assert report(result, "rest http://h:9000, model m", 1_174_345) == [
        "target:     rest http://h:9000, model m, payload 1,174,345 bytes",
        "plan:       closed loop, 2 workers, 5 requests",
        "requests:   5 sent, 3 ok, 2 errors (40.0%)",
        "errors:     1 HTTP 503 (first: details 3), 1 timeout (first: details 4)",
        "throughput: 6.0 req/s (3 ok answers in 0.500 s)",
        "latency ms: p50 20.00  p90 30.00  p99 30.00  max 30.00 (ok answers, nearest rank)",
    ]


def test_the_rate_report() -> None:
    # Interval 20 ms: a start 25 ms behind its time is late, one 15 ms behind is not.
    on_time = [Sample(0.0, 0.01), Sample(0.035, 0.01, lag=0.015)]
    kept = Result(Plan(concurrency=1, duration=1.0, rate=50), list(on_time), wall=0.05)
    late = Result(Plan(concurrency=1, duration=1.0, rate=50), [*on_time, Sample(0.065, 0.01, lag=0.025)], wall=0.08)

    assert report(kept, "t", 1)[-1] == "rate:       kept 50 req/s (every request started within one interval of its time)"
    assert report(late, "t", 1)[-1] == ("rate:       could not keep 50 req/s: 1 of 3 requests started more than one interval "
                                        "(20.0 ms) late, the worst by 25.0 ms (raise --concurrency, or the server is saturated)")


def test_no_ok_answers() -> None:
    result = Result(Plan(concurrency=1, duration=1.0), _samples([3.0], errors={0: "NOT_FOUND"}), wall=0.01)
    assert result.latency_ms() is None
    assert "latency:    no ok answers" in report(result, "t", 1)


def test_the_generator_stops_at_the_count_and_at_the_duration() -> None:
    calls: list[int] = []
    result = loadtest.generate(lambda: calls.append(1), Plan(concurrency=3, requests=10))
    assert (len(calls), len(result.samples)) == (10, 10)
    # Time bound: a fake clock that moves 0.1 s a call; no request starts at or after 1 s.
    ticks = iter(range(10_000))
    result = loadtest.generate(lambda: None, Plan(concurrency=1, duration=1.0), clock=lambda: next(ticks) / 10)
    assert [round(s.start, 1) for s in result.samples] == [0.2, 0.5, 0.8]


# --- against the stand-ins -------------------------------------------------------------------------

def test_closed_loop_over_grpc(capsys: pytest.CaptureFixture[str], grpc_standin: GrpcStandIn, tmp_path: Path) -> None:
    out_json = tmp_path / "run.json"
    code, out, err = run(capsys, "--grpc", grpc_standin.target, "--concurrency", "4", "--requests", "20", "--json", str(out_json))

    assert (code, err) == (0, "")
    payload = loadtest.grpc_payload(loadtest.synthetic_image(), "resnet50_neuron", "input_1")
    assert out[:3] == [f"target:     grpc {grpc_standin.target}, model resnet50_neuron, payload {len(payload):,} bytes",
                       "plan:       closed loop, 4 workers, 20 requests",
                       "requests:   20 sent, 20 ok, 0 errors (0.0%)"]
    assert out[3].startswith("throughput: ") and out[4].startswith("latency ms: p50 ")
    # Every request is the same bytes, prepared once: the synthetic image as a [1,224,224,3] DT_FLOAT tensor.
    assert [path for path, _ in grpc_standin.requests] == [PREDICT] * 20
    assert {raw for _, raw in grpc_standin.requests} == {payload}
    request = serving_pb2.PredictRequest.FromString(payload)
    assert [d.size for d in request.inputs["input_1"].tensor_shape.dim] == [1, 224, 224, 3]
    assert len(grpc_standin.predictions) == 20

    written = json.loads(out_json.read_text())
    assert {key: written[key] for key in ("requests", "ok", "errors", "error_ratio", "payload_bytes", "target", "plan")} == {
        "requests": 20, "ok": 20, "errors": {}, "error_ratio": 0.0, "payload_bytes": len(payload),
        "target": {"protocol": "grpc", "address": grpc_standin.target, "model": "resnet50_neuron"},
        "plan": {"concurrency": 4, "requests": 20, "duration_s": None, "rate": None, "loop": "closed", "timeout_s": 30.0}}
    assert written["percentile_method"] == "nearest rank over the ok answers' durations"
    samples = written["samples"]
    assert len(samples) == 20 and all(s["error"] is None and s["duration_ms"] > 0 for s in samples)
    assert [s["start_s"] for s in samples] == sorted(s["start_s"] for s in samples)
    durations = sorted(s["duration_ms"] for s in samples)
    assert written["latency_ms"] == {"p50": durations[9], "p90": durations[17], "p99": durations[19], "max": durations[19]}


def test_closed_loop_over_rest(capsys: pytest.CaptureFixture[str], standin: StandIn, make_image: MakeImage) -> None:
    image = make_image("green")
    code, out, err = run(capsys, "--url", standin.url, "--concurrency", "2", "--requests", "4", "--image", str(image))

    assert (code, err) == (0, "")
    assert out[2] == "requests:   4 sent, 4 ok, 0 errors (0.0%)"
    body = loadtest.rest_payload(load_image(image))
    assert [(method, path) for method, path, _ in standin.requests] == [("POST", "/v1/models/resnet50_neuron:predict")] * 4
    assert {raw for _, _, raw in standin.requests} == {body}
    assert out[0].endswith(f"payload {len(body):,} bytes")


def test_errors_are_counted_by_kind_and_gate_the_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    faults = {3: (grpc.StatusCode.UNAVAILABLE, "nrt busy"), 7: (grpc.StatusCode.UNAVAILABLE, "nrt busy"),
              9: (grpc.StatusCode.RESOURCE_EXHAUSTED, "queue full")}
    with GrpcStandIn(faults=faults) as server:
        code, out, err = run(capsys, "--grpc", server.target, "--concurrency", "2", "--requests", "10")

    assert out[2:4] == ["requests:   10 sent, 7 ok, 3 errors (30.0%)",
                        "errors:     2 UNAVAILABLE (first: nrt busy), 1 RESOURCE_EXHAUSTED (first: queue full)"]
    assert code == 1
    assert err == "error: 3 of 10 requests failed (30.0%), more than --max-error-ratio 0.01 allows\n"

    with GrpcStandIn(faults=faults) as server:
        code, _, err = run(capsys, "--grpc", server.target, "--concurrency", "2", "--requests", "10", "--max-error-ratio", "0.3")
    assert (code, err) == (0, "")  # 30% is not more than 0.3


@pytest.mark.parametrize(("reply", "kind"), [
    ((503, {"error": "Unavailable: too many requests"}), "HTTP 503 (first: Unavailable: too many requests)"),
    ((404, {"error": "Servable not found for request: Latest(x)"}), "HTTP 404 (first: Servable not found for request: Latest(x))"),
    ((200, {"predictions": [[0.5] * 10]}), "bad answer (first: expected 1000 class scores in 'predictions', got 10 "),
])
def test_rest_errors(capsys: pytest.CaptureFixture[str], standin: StandIn, reply: tuple[int, Any], kind: str) -> None:
    standin.reply = reply
    code, out, err = run(capsys, "--url", standin.url, "--concurrency", "2", "--requests", "3")

    assert code == 1
    assert out[2] == "requests:   3 sent, 0 ok, 3 errors (100.0%)"
    assert out[3].startswith(f"errors:     3 {kind}")
    assert out[5] == "latency:    no ok answers"
    assert_one_error_line(err, "3 of 3 requests failed (100.0%)")


def test_an_unreachable_server(capsys: pytest.CaptureFixture[str], closed_url: str, closed_target: str) -> None:
    code, out, _ = run(capsys, "--url", closed_url, "--concurrency", "1", "--requests", "2")
    assert (code, out[3]) == (1, "errors:     2 connection refused (first: connection refused)")

    code, out, _ = run(capsys, "--grpc", closed_target, "--concurrency", "1", "--requests", "2")
    assert code == 1
    assert out[3].startswith("errors:     2 UNAVAILABLE (first: failed to connect to all addresses")


def test_a_deadline_is_an_error_of_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    with GrpcStandIn(delay=5) as server:
        code, out, _ = run(capsys, "--grpc", server.target, "--concurrency", "2", "--requests", "2", "--timeout", "0.2")

    assert code == 1
    # grpc's details are "Deadline Exceeded" or "Stream removed (Deadline Exceeded)", depending on when it noticed.
    assert out[3].startswith("errors:     2 DEADLINE_EXCEEDED (first: ") and "Deadline Exceeded" in out[3]


def test_open_loop_reports_the_rate_it_could_not_keep(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # One worker and answers that take 100 ms cannot start 50 requests a second: requests 2-5 start
    # at least 80 ms after their time (more than the 20 ms interval); the first starts on time.
    out_json = tmp_path / "run.json"
    with GrpcStandIn(delay=0.1) as server:
        code, out, err = run(capsys, "--grpc", server.target, "--concurrency", "1", "--requests", "5", "--rate", "50",
                             "--json", str(out_json))

    assert (code, err) == (0, "")
    assert out[1] == "plan:       open loop at 50 req/s, 1 worker, 5 requests"
    assert out[-1].startswith("rate:       could not keep 50 req/s: 4 of 5 requests started more than one interval (20.0 ms) late, ")
    written = json.loads(out_json.read_text())
    assert (written["plan"]["loop"], written["rate"]["asked"], written["rate"]["late"]) == ("open", 50.0, 4)
    assert [s["lag_ms"] > 20 for s in written["samples"]] == [False, True, True, True, True]


def test_plot(capsys: pytest.CaptureFixture[str], grpc_standin: GrpcStandIn, tmp_path: Path) -> None:
    grpc_standin.faults = {2: (grpc.StatusCode.UNAVAILABLE, "x")}
    png = tmp_path / "latency.png"
    code, _, _ = run(capsys, "--grpc", grpc_standin.target, "--concurrency", "2", "--requests", "8", "--plot", str(png),
                     "--max-error-ratio", "0.2")

    assert code == 0
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) == (1200, 450)  # 12 x 4.5 in at 100 dpi


def test_plot_without_matplotlib_fails_before_sending(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                                      grpc_standin: GrpcStandIn, tmp_path: Path) -> None:
    real_find_spec = loadtest.importlib.util.find_spec
    monkeypatch.setattr(loadtest.importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real_find_spec(name, *a))

    code, out, err = run(capsys, "--grpc", grpc_standin.target, "--concurrency", "1", "--requests", "1", "--plot", str(tmp_path / "x.png"))

    assert (code, out, err) == (2, [], f"error: {loadtest.PLOT_MISSING}\n")
    assert grpc_standin.requests == []


@pytest.mark.parametrize(("argv", "message"), [
    (["--concurrency", "2"], "one of the arguments --requests --duration is required"),
    (["--concurrency", "2", "--requests", "5", "--duration", "1"], "argument --duration: not allowed with argument --requests"),
    (["--requests", "5"], "the following arguments are required: --concurrency"),
    (["--concurrency", "0", "--requests", "5"], "argument --concurrency: must be between 1 and 1000, got 0"),
    (["--concurrency", "2", "--requests", "0"], "argument --requests: must be between 1 and 10000000, got 0"),
    (["--concurrency", "2", "--duration", "0"], "argument --duration: must be more than 0 and at most 86400 seconds, got 0"),
    (["--concurrency", "2", "--requests", "5", "--rate", "-1"], "argument --rate: must be more than 0"),
    (["--concurrency", "2", "--requests", "5", "--max-error-ratio", "1.5"], "argument --max-error-ratio: must be at least 0 and at most 1"),
    (["--concurrency", "2", "--requests", "5", "--url", "http://h:1", "--grpc", "h:2"], "argument --grpc: not allowed with argument --url"),
])
def test_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out, err = run(capsys, *argv)

    assert (code, out) == (2, [])
    assert_one_error_line(err, message, "(see --help)")


def test_a_missing_image(capsys: pytest.CaptureFixture[str], grpc_standin: GrpcStandIn, tmp_path: Path) -> None:
    code, out, err = run(capsys, "--grpc", grpc_standin.target, "--concurrency", "1", "--requests", "1",
                         "--image", str(tmp_path / "no.jpg"))

    assert (code, out) == (2, [])
    assert_one_error_line(err, "no such file", "no.jpg")
    assert grpc_standin.requests == []


def test_interrupted_runs_report_what_they_have(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    samples = _samples([10.0])

    def interrupted(send: Any, plan: Plan, clock: Any = None) -> Result:
        return Result(plan, list(samples), wall=0.1, interrupted=True)

    monkeypatch.setattr(loadtest, "generate", interrupted)
    code, out, err = run(capsys, "--url", "http://127.0.0.1:9", "--concurrency", "1", "--duration", "60")

    assert (code, err) == (130, "error: interrupted\n")
    assert out[1] == "plan:       closed loop, 1 worker, 60 s (interrupted)"


def test_help_names_every_option(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run(capsys, "--help")
    assert code == 0
    usage = " ".join(" ".join(out[: out.index("")]).split())
    assert usage == (
        "usage: python -m client.loadtest [-h] [--url URL | --grpc HOST:PORT | --openai URL] [--model MODEL] [--timeout TIMEOUT] "
        "--concurrency N (--requests N | --duration SECONDS) [--rate R] [--image IMG] [--max-tokens N] [--prompts FILE] [--json OUT] "
        "[--plot OUT.png] [--max-error-ratio RATIO] [--input NAME]")
