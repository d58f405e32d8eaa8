"""`python -m client.loadtest` against both stand-ins (not TF Serving), and its statistics on made-up samples.

Every run here is bounded to well under a second; the assertions are on counts, bytes, messages and exit
codes, never on how fast anything was (`make bench` measures that).
"""

from __future__ import annotations

import http.client
import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import grpc
import matplotlib
import numpy as np
import pytest
from google.protobuf.message import DecodeError
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.colors import to_hex, to_rgba_array
from matplotlib.figure import Figure
from matplotlib.markers import MarkerStyle
from matplotlib.patches import Rectangle

from client import loadtest
from client.loadtest import Outcome, Plan, Result, Sample, Tokens, draw, main, nearest_rank, report, to_json
from client.predict import build_request, load_image, preprocess
from client.protos import serving_pb2, tensor_pb2
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
    with pytest.raises(ValueError, match=r"^no values$"):
        nearest_rank([], 50)
    with pytest.raises(ValueError, match=r"^percentile must be in \(0, 100\], got 0$"):
        nearest_rank(values, 0)
    with pytest.raises(ValueError, match=r"^percentile must be in \(0, 100\], got 100\.5$"):
        nearest_rank(values, 100.5)


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


def test_the_errors_line_orders_kinds_by_count_then_name() -> None:
    # Seen first: timeout, then HTTP 503, then UNAVAILABLE twice; its first message is shortened to 120 characters.
    long = "nrt busy " + "x" * 130
    samples = _samples([5.0, 6.0, 7.0, 8.0, 9.0], errors={0: "timeout", 1: "HTTP 503", 2: "UNAVAILABLE", 3: "UNAVAILABLE"})
    samples[2] = Sample(samples[2].start, samples[2].duration, "UNAVAILABLE", long)
    result = Result(Plan(concurrency=1, requests=5), samples, wall=1.0)

    assert report(result, "t", 1)[3] == (f"errors:     2 UNAVAILABLE (first: {long[:117]}...), 1 HTTP 503 (first: details 1), "
                                         "1 timeout (first: details 0)")


def test_the_rate_report_to_a_tenth_of_a_millisecond() -> None:
    # Interval 500 ms: a start exactly one interval behind its time is not late; 750 ms and 625 ms behind are.
    samples = [Sample(0.0, 0.01), Sample(1.0, 0.01, lag=0.5), Sample(1.75, 0.01, lag=0.75), Sample(2.0, 0.01, lag=0.625)]
    result = Result(Plan(concurrency=1, requests=4, rate=2), samples, wall=2.5)

    assert result.late() == samples[2:]
    assert report(result, "t", 1)[-1] == ("rate:       could not keep 2 req/s: 2 of 4 requests started more than one interval "
                                          "(500.0 ms) late, the worst by 750.0 ms (raise --concurrency, or the server is saturated)")
    assert Result(Plan(concurrency=1, requests=4), samples, wall=2.5).late() == []  # closed loop: no schedule to be late for


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


class FakeTime:
    """A clock that moves only when a test moves it: `now` is what the generator reads."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.waits: list[float] = []
        """The seconds the generator waited on `stop` for a request's time, in turn."""

    def __call__(self) -> float:
        return self.now


class FakeStop(threading.Event):
    """The generator's stop event, whose timed wait moves a FakeTime on instead of sleeping."""

    def __init__(self, clock: FakeTime, set_while_waiting: bool = False) -> None:
        super().__init__()
        self.clock = clock
        self.set_while_waiting = set_while_waiting

    def wait(self, timeout: float | None = None) -> bool:
        if timeout is None:
            raise AssertionError("the generator waits on stop with a timeout only")
        self.clock.waits.append(timeout)
        self.clock.now += timeout
        if self.set_while_waiting:  # as Ctrl-C during the wait would
            self.set()
        return self.is_set()


def _scripted(clock: FakeTime, answers: list[tuple[float, Outcome]]) -> tuple[Callable[[], Outcome], list[str]]:
    """A send that takes each answer's seconds on `clock` and returns its outcome; and the threads that called it."""
    script = iter(answers)
    callers: list[str] = []

    def send() -> Outcome:
        callers.append(f"{threading.current_thread().name} daemon={threading.current_thread().daemon}")
        seconds, outcome = next(script)
        clock.now += seconds
        return outcome

    return send, callers


START = 1024.0
"""Where the fake clocks start: far from 0, so a start added instead of subtracted shows."""

TOKENS = Tokens(ttft=0.125, itl=(0.0625,), output_tokens=2, from_usage=True)


def test_a_closed_loop_by_duration_on_a_fake_clock() -> None:
    # Requests start while less than 1 s has passed: at 0, 0.25 and 0.75; the one due at 1.0 does not start.
    clock = FakeTime(START)
    send, callers = _scripted(clock, [(0.25, None), (0.5, ("HTTP 503", "busy")), (0.25, TOKENS), (0.5, None)])
    plan = Plan(concurrency=1, duration=1.0)

    result = loadtest.generate(send, plan, clock=clock)

    assert result == Result(plan, [Sample(0.0, 0.25), Sample(0.25, 0.5, "HTTP 503", "busy"), Sample(0.75, 0.25, tokens=TOKENS)],
                            wall=1.0, interrupted=False)
    assert result.interrupted is False
    assert callers == ["loadtest-0 daemon=True"] * 3


def test_a_closed_loop_by_count_on_a_fake_clock() -> None:
    clock = FakeTime(START)
    send, _ = _scripted(clock, [(0.125, None), (0.25, ("timeout", "no answer")), (0.5, None)])
    plan = Plan(concurrency=1, requests=3)

    assert loadtest.generate(send, plan, clock=clock) == Result(
        plan, [Sample(0.0, 0.125), Sample(0.125, 0.25, "timeout", "no answer"), Sample(0.375, 0.5)], wall=0.875)


def test_an_open_loop_on_a_fake_clock() -> None:
    # 4 req/s for 1 s: requests due at 0, 0.25, 0.5 and 0.75. The first answer comes early, so the second waits
    # 0.125 s for its time; the second answer takes 0.75 s, so the third and fourth start 0.5 s and 0.375 s late.
    clock = FakeTime(START)
    send, _ = _scripted(clock, [(0.125, None), (0.75, None), (0.125, ("HTTP 503", "busy")), (0.125, None), (0.125, None)])
    plan = Plan(concurrency=1, duration=1.0, rate=4)

    result = loadtest.generate(send, plan, clock=clock, stop=FakeStop(clock))

    assert result == Result(plan, [Sample(0.0, 0.125), Sample(0.25, 0.75), Sample(1.0, 0.125, "HTTP 503", "busy", lag=0.5),
                                   Sample(1.125, 0.125, lag=0.375)], wall=1.25)
    assert clock.waits == [0.125]
    assert result.late() == result.samples[2:]


def test_a_stop_during_an_open_loops_wait_ends_the_run() -> None:
    clock = FakeTime(START)
    send, _ = _scripted(clock, [(0.125, None), (0.125, None)])
    plan = Plan(concurrency=1, requests=2, rate=4)

    result = loadtest.generate(send, plan, clock=clock, stop=FakeStop(clock, set_while_waiting=True))

    assert result == Result(plan, [Sample(0.0, 0.125)], wall=0.25)
    assert clock.waits == [0.125]


@pytest.fixture
def sigint_raises_keyboard_interrupt() -> Iterator[None]:
    """SIGINT handled as Python does by default, a KeyboardInterrupt in the main thread, whatever runs the tests."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("sigint_raises_keyboard_interrupt")
def test_ctrl_c_waits_for_the_request_in_flight_and_keeps_it() -> None:
    # The worker's first request sends SIGINT to the main thread, as Ctrl-C does, once the main thread waits for the
    # workers (150 ms after they started: past generate's first 0.1 s poll), and blocks until generate has set stop:
    # the run ends with that request, measured, and no other.
    clock = FakeTime(START)
    stop = FakeStop(clock)

    def send() -> Outcome:
        clock.now += 0.25
        time.sleep(0.15)
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        threading.Event.wait(stop, 5)  # a real wait, until generate sets stop
        return None

    plan = Plan(concurrency=1, duration=60.0)
    try:
        result = loadtest.generate(send, plan, clock=clock, stop=stop)
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped generate")
    assert result == Result(plan, [Sample(0.0, 0.25)], wall=0.25, interrupted=True)


@pytest.mark.parametrize("plan", [Plan(concurrency=1), Plan(concurrency=1, requests=5, duration=1.0)])
def test_a_plan_is_bounded_by_requests_or_duration(plan: Plan) -> None:
    with pytest.raises(ValueError, match=r"^a plan is bounded by requests or by duration$"):
        loadtest.generate(lambda: None, plan)


# --- the JSON report, whole, for a known result ------------------------------------------------------

def test_the_json_report_of_an_open_loop() -> None:
    # Out of order on purpose: the report lists the samples by start. Interval 500 ms: only the 750 ms lag is late.
    samples = [Sample(0.0, 0.0625), Sample(1.75, 0.25, lag=0.75), Sample(0.5, 0.125, "HTTP 503", "busy"),
               Sample(1.0, 0.5, "timeout", "no answer", lag=0.5)]
    result = Result(Plan(concurrency=2, duration=3.0, rate=2.0), samples, wall=2.5)

    assert to_json(result, "rest", "http://h:9000", "m", 1234, 30.0) == {
        "target": {"protocol": "rest", "address": "http://h:9000", "model": "m"},
        "plan": {"concurrency": 2, "requests": None, "duration_s": 3.0, "rate": 2.0, "loop": "open", "timeout_s": 30.0},
        "payload_bytes": 1234,
        "interrupted": False,
        "requests": 4,
        "ok": 2,
        "errors": {"HTTP 503": 1, "timeout": 1},
        "error_ratio": 0.5,
        "wall_s": 2.5,
        "throughput_rps": 0.8,
        "latency_ms": {"p50": 62.5, "p90": 250.0, "p99": 250.0, "max": 250.0},
        "percentile_method": "nearest rank over the ok answers' durations",
        "rate": {"asked": 2.0, "late": 1, "worst_lag_ms": 750.0},
        "samples": [{"start_s": 0.0, "duration_ms": 62.5, "error": None, "lag_ms": 0.0},
                    {"start_s": 0.5, "duration_ms": 125.0, "error": "HTTP 503", "lag_ms": 0.0},
                    {"start_s": 1.0, "duration_ms": 500.0, "error": "timeout", "lag_ms": 500.0},
                    {"start_s": 1.75, "duration_ms": 250.0, "error": None, "lag_ms": 750.0}],
    }
    kept = Result(Plan(concurrency=2, duration=3.0, rate=2.0), samples[:1], wall=0.5)
    assert to_json(kept, "rest", "http://h:9000", "m", 1234, 30.0)["rate"] == {"asked": 2.0, "late": 0, "worst_lag_ms": 0.0}


def test_the_json_report_of_an_interrupted_closed_loop_without_ok_answers() -> None:
    samples = [Sample(0.0, 0.25, "UNAVAILABLE", "down"), Sample(0.25, 0.125, "UNAVAILABLE", "down")]
    result = Result(Plan(concurrency=1, requests=10), samples, wall=0.375, interrupted=True)

    assert to_json(result, "grpc", "h:8500", "resnet50_neuron", 602_174, 0.5) == {
        "target": {"protocol": "grpc", "address": "h:8500", "model": "resnet50_neuron"},
        "plan": {"concurrency": 1, "requests": 10, "duration_s": None, "rate": None, "loop": "closed", "timeout_s": 0.5},
        "payload_bytes": 602_174,
        "interrupted": True,
        "requests": 2,
        "ok": 0,
        "errors": {"UNAVAILABLE": 2},
        "error_ratio": 1.0,
        "wall_s": 0.375,
        "throughput_rps": 0.0,
        "latency_ms": None,
        "percentile_method": "nearest rank over the ok answers' durations",
        "rate": None,
        "samples": [{"start_s": 0.0, "duration_ms": 250.0, "error": "UNAVAILABLE", "lag_ms": 0.0},
                    {"start_s": 0.25, "duration_ms": 125.0, "error": "UNAVAILABLE", "lag_ms": 0.0}],
    }


# --- the --plot figure, inspected ------------------------------------------------------------------

def _legend(axes: Axes) -> tuple[int, list[str]]:
    """The legend's location code (1 is "upper right"; matplotlib has no public getter) and its labels."""
    legend = axes.get_legend()
    assert legend is not None
    return legend._loc, [text.get_text() for text in legend.get_texts()]  # type: ignore[attr-defined]  # private, not in the stubs


def _scatters(axes: Axes) -> list[PathCollection]:
    """The axes' scatter plots, in the order drawn."""
    assert all(isinstance(collection, PathCollection) for collection in axes.collections)
    return cast(list[PathCollection], list(axes.collections))


def _points(scatter: PathCollection) -> list[list[float]]:
    return cast(list[list[float]], np.asarray(scatter.get_offsets()).tolist())


def _hex(color: Any) -> str:
    """A matplotlib colour (or the first of an array of them) as #rrggbb."""
    rgba: Any = to_rgba_array(color)[0]
    return to_hex(rgba)


def test_the_figure() -> None:
    # Eight ok answers of 62.5 to 250 ms and one failure; times in powers of two, so every point is exact.
    ok_ms = [62.5, 125.0, 62.5, 125.0, 187.5, 62.5, 125.0, 250.0]
    samples = [Sample(0.25 * i, ms / 1000) for i, ms in enumerate(ok_ms)] + [Sample(0.125, 0.375, "UNAVAILABLE", "down")]
    result = Result(Plan(concurrency=2, requests=9), samples, wall=2.0)

    figure = draw(result, "grpc h:8500, model m: closed loop, 2 workers, 9 requests")

    assert isinstance(figure, Figure)
    assert (figure.get_suptitle(), figure.get_size_inches().tolist()) == ("grpc h:8500, model m: closed loop, 2 workers, 9 requests",
                                                                          [12.0, 4.5])
    over_time, histogram = figure.axes
    gridspec = over_time.get_gridspec()
    assert gridspec is not None and gridspec.get_width_ratios() == [3, 2]

    assert (over_time.get_title(), over_time.get_xlabel(), over_time.get_ylabel()) == (
        "latency over time", "request start (s since the run started)", "latency (ms)")
    ok_points, error_points = _scatters(over_time)
    assert _points(ok_points) == [[0.25 * i, ms] for i, ms in enumerate(ok_ms)]
    assert _points(error_points) == [[0.125, 375.0]]
    assert (ok_points.get_sizes().tolist(), error_points.get_sizes().tolist()) == ([6.0], [14.0])
    cross = MarkerStyle("x")
    assert np.array_equal(error_points.get_paths()[0].vertices, cross.get_path().transformed(cross.get_transform()).vertices)
    assert _hex(error_points.get_edgecolor()) == "#ff0000"
    assert _legend(over_time) == (1, ["ok", "error"])

    assert (histogram.get_title(), histogram.get_xlabel(), histogram.get_ylabel()) == (
        "latency of the ok answers", "latency (ms)", "requests")
    counts, edges = np.histogram(ok_ms, bins=5)  # 8 answers: min(50, max(5, 8 // 5)) = 5 bins
    bars = cast(list[Rectangle], list(histogram.patches))
    assert [bar.get_height() for bar in bars] == counts.tolist()
    assert [bar.get_x() for bar in bars] + [bars[-1].get_x() + bars[-1].get_width()] == pytest.approx(edges.tolist())
    # p50 is the 4th of the 8 sorted latencies, 125 ms; p99 the 8th, 250 ms.
    assert [(np.asarray(line.get_xdata()).tolist(), line.get_linestyle(), _hex(line.get_color()), line.get_label())
            for line in histogram.get_lines()] == [([125.0, 125.0], "--", "#000000", "p50 125.0 ms"),
                                                   ([250.0, 250.0], ":", "#000000", "p99 250.0 ms")]
    assert _legend(histogram) == (1, ["p50 125.0 ms", "p99 250.0 ms"])


def test_the_figure_without_errors_and_without_ok_answers() -> None:
    only_ok = draw(Result(Plan(concurrency=1, requests=2), [Sample(0.0, 0.125), Sample(0.25, 0.25)], wall=0.5), "t")
    [ok_points] = _scatters(only_ok.axes[0])
    assert _points(ok_points) == [[0.0, 125.0], [0.25, 250.0]]
    assert _legend(only_ok.axes[0]) == (1, ["ok"])

    only_errors = draw(Result(Plan(concurrency=1, requests=2), [Sample(0.0, 0.125, "timeout", "x")], wall=0.5), "t")
    over_time, histogram = only_errors.axes
    ok_points, error_points = _scatters(over_time)
    assert (_points(ok_points), _points(error_points)) == ([], [[0.0, 125.0]])
    assert (list(histogram.patches), list(histogram.get_lines()), histogram.get_legend()) == ([], [], None)
    assert (histogram.get_title(), histogram.get_xlabel(), histogram.get_ylabel()) == (
        "latency of the ok answers", "latency (ms)", "requests")


@pytest.mark.parametrize(("answers", "bins"), [(8, 5), (40, 8), (255, 50)])
def test_the_histogram_has_a_bin_per_five_answers_from_5_to_50(answers: int, bins: int) -> None:
    samples = [Sample(0.25 * i, (i % 17 + 1) * 0.0625) for i in range(answers)]
    figure = draw(Result(Plan(concurrency=1, requests=answers), samples, wall=1.0), "t")
    assert len(figure.axes[1].patches) == bins


# --- the transports and the payloads, one by one -----------------------------------------------------

def test_one_keep_alive_connection_per_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    keep = loadtest._KeepAlive("http://example.test:8080/v1/models/m:predict", 0.5)
    assert (keep.scheme, keep.host, keep.port, keep.path, keep.timeout) == ("http", "example.test", 8080, "/v1/models/m:predict", 0.5)
    assert loadtest._KeepAlive("/v1/models/m:predict", 0.5).host == ""  # a URL without a host
    conn = keep._connection()
    assert type(conn) is http.client.HTTPConnection
    assert (conn.host, conn.port, conn.timeout) == ("example.test", 8080, 0.5)
    assert keep._connection() is conn  # the same one for the thread's next request

    elsewhere: list[http.client.HTTPConnection] = []
    thread = threading.Thread(target=lambda: elsewhere.append(keep._connection()))
    thread.start()
    thread.join()
    assert elsewhere[0] is not conn

    closed: list[http.client.HTTPConnection] = []
    monkeypatch.setattr(conn, "close", lambda: closed.append(conn))
    keep.close()
    keep.close()  # nothing left to close
    assert closed == [conn]
    assert keep._connection() is not conn


def test_an_https_url_gets_a_tls_connection() -> None:
    conn = loadtest._KeepAlive("https://example.test/v1", 2.0)._connection()
    assert type(conn) is http.client.HTTPSConnection
    assert (conn.host, conn.port, conn.timeout) == ("example.test", 443, 2.0)


@pytest.mark.parametrize(("exc", "outcome"), [
    (TimeoutError("timed out"), ("timeout", "no answer within 0.5 s (timed out)")),
    (ConnectionRefusedError(111, "Connection refused"), ("connection refused", "connection refused")),
    (http.client.RemoteDisconnected("Remote end closed connection without response"),
     ("connection error", "RemoteDisconnected: Remote end closed connection without response")),
])
def test_a_request_without_an_answer_is_counted_by_kind_and_drops_the_connection(exc: OSError, outcome: Outcome) -> None:
    keep = loadtest._KeepAlive("http://h:9000", 0.5)
    conn = keep._connection()
    assert keep._connection_failure(exc) == outcome
    assert keep._connection() is not conn


class _Answer:
    """What the fake connection's getresponse returns: an http.client.HTTPResponse's status, reason, will_close, body."""

    def __init__(self, status: int, body: bytes, reason: str = "OK", will_close: bool = False) -> None:
        self.status, self.body, self.reason, self.will_close = status, body, reason, will_close

    def read(self) -> bytes:
        return self.body


class _Connection:
    """Stands in for a worker's http.client connection: records each request and answers the next of `answers`."""

    def __init__(self, *answers: _Answer | OSError) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, str, bytes, dict[str, str]]] = []
        self.closed = False

    def request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> None:
        self.sent.append((method, path, body, headers))
        failure = self.answers[0]
        if isinstance(failure, OSError):
            self.answers.pop(0)
            raise failure

    def getresponse(self) -> _Answer:
        answer = self.answers.pop(0)
        assert isinstance(answer, _Answer)
        return answer

    def close(self) -> None:
        self.closed = True


def test_a_rest_request_and_what_its_answers_count_as() -> None:
    body = b'{"instances":[[0]]}'
    sender = loadtest.RestSender("http://h:9000/", "m", body, 0.5)
    assert (sender.host, sender.port, sender.path, sender.timeout) == ("h", 9000, "/v1/models/m:predict", 0.5)
    scores = json.dumps({"predictions": [[0.001] * 1000]}).encode()
    conn = _Connection(_Answer(200, scores), _Answer(503, b'{"error": "busy"}', "Service Unavailable"), _Answer(502, b"", "Bad Gateway"),
                       _Answer(200, b"<html>"), _Answer(200, b'{"predictions": [[0.5]]}', will_close=True))
    sender._local.conn = conn

    assert [sender() for _ in range(5)] == [
        None, ("HTTP 503", "busy"), ("HTTP 502", "Bad Gateway"), ("bad answer", "Expecting value: line 1 column 1 (char 0)"),
        ("bad answer", "expected 1000 class scores in 'predictions', got 1 (is the model an ImageNet classifier?)")]
    assert conn.sent == [("POST", "/v1/models/m:predict", body, {"Content-Type": "application/json"})] * 5
    assert conn.closed and sender._local.conn is None  # the last answer closed the connection: the next request opens one

    timing_out = _Connection(TimeoutError("timed out"))
    sender._local.conn = timing_out
    assert sender() == ("timeout", "no answer within 0.5 s (timed out)")
    assert timing_out.closed and sender._local.conn is None


def test_grpc_answers_that_are_not_scores() -> None:
    garbage = b"\xff\xff"
    with pytest.raises(DecodeError) as decode:
        serving_pb2.PredictResponse.FromString(garbage)
    ten = serving_pb2.PredictResponse()
    ten.outputs["probabilities"].CopyFrom(tensor_pb2.TensorProto(
        dtype=tensor_pb2.DT_FLOAT, tensor_shape=tensor_pb2.TensorShapeProto(dim=[tensor_pb2.TensorShapeProto.Dim(size=s) for s in (1, 10)]),
        float_val=[0.1] * 10))
    for reply, outcome in [(garbage, ("bad answer", str(decode.value))),
                           (ten.SerializeToString(), ("bad answer", "expected 1000 class scores in output 'probabilities', "
                                                                     "got shape [1, 10] (is the model an ImageNet classifier?)"))]:
        with GrpcStandIn(reply=reply) as server:
            sender = loadtest.GrpcSender(server.target, b"", 5)
            try:
                assert sender() == outcome
            finally:
                sender.close()


def test_a_grpc_error_without_details() -> None:
    with GrpcStandIn(faults={1: (grpc.StatusCode.UNAVAILABLE, "")}) as server:
        sender = loadtest.GrpcSender(server.target, b"", 5)
        try:
            assert sender() == ("UNAVAILABLE", "")
        finally:
            sender.close()


def test_the_synthetic_image() -> None:
    # Red rises to the right, green downwards, blue along the diagonal: pixel (row, col) is (col, row, (col + row) // 2).
    image = loadtest.synthetic_image()
    assert (image.mode, image.size) == ("RGB", (224, 224))
    expected = np.array([[(col, row, (col + row) // 2) for col in range(224)] for row in range(224)], dtype=np.uint8)
    pixels = np.asarray(image)
    assert pixels.dtype == np.uint8 and np.array_equal(pixels, expected)


def test_the_rest_body_is_the_request_as_compact_json() -> None:
    image = loadtest.synthetic_image()
    assert loadtest.rest_payload(image) == json.dumps(build_request(preprocess(image)), separators=(",", ":")).encode()


def test_the_grpc_request_names_the_model_and_the_input() -> None:
    image = loadtest.synthetic_image()
    request = serving_pb2.PredictRequest.FromString(loadtest.grpc_payload(image, "resnet50_v2", "pixels"))
    assert request.model_spec.name == "resnet50_v2"
    assert list(request.inputs) == ["pixels"]
    tensor = request.inputs["pixels"]
    assert (tensor.dtype, [d.size for d in tensor.tensor_shape.dim]) == (tensor_pb2.DT_FLOAT, [1, 224, 224, 3])
    assert np.array_equal(np.frombuffer(tensor.tensor_content, "<f4").reshape(224, 224, 3), preprocess(image))


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
    assert out_json.read_text() == json.dumps(written, indent=1) + "\n"
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
    assert out[0] == f"target:     rest {standin.url}, model resnet50_neuron, payload {len(body):,} bytes"


def test_the_model_to_load(capsys: pytest.CaptureFixture[str]) -> None:
    with StandIn(model="resnet50_v2") as server:
        code, out, _ = run(capsys, "--url", server.url, "--model", "resnet50_v2", "--concurrency", "1", "--requests", "1")
    assert (code, out[0].partition(", payload")[0]) == (0, f"target:     rest {server.url}, model resnet50_v2")
    assert [path for _, path, _ in server.requests] == ["/v1/models/resnet50_v2:predict"]


def test_a_rest_answer_later_than_the_timeout_is_a_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    with StandIn(delay=2) as server:
        code, out, _ = run(capsys, "--url", server.url, "--concurrency", "2", "--requests", "2", "--timeout", "0.1")
    assert code == 1
    assert out[3] == "errors:     2 timeout (first: no answer within 0.1 s (timed out))"


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


def test_plot(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, grpc_standin: GrpcStandIn, tmp_path: Path) -> None:
    grpc_standin.faults = {2: (grpc.StatusCode.UNAVAILABLE, "x")}
    drawn: list[Figure] = []
    real_draw = loadtest.draw

    def draw_and_keep(result: Result, title: str) -> Figure:
        drawn.append(real_draw(result, title))
        return drawn[-1]

    monkeypatch.setattr(loadtest, "draw", draw_and_keep)
    png = tmp_path / "latency.png"
    # Settings other than matplotlib's defaults (a user's matplotlibrc): the PNG is 1200 x 450 all the same.
    with matplotlib.rc_context({"figure.dpi": 50, "savefig.dpi": 72}):
        code, _, _ = run(capsys, "--grpc", grpc_standin.target, "--concurrency", "2", "--requests", "8", "--plot", str(png),
                         "--max-error-ratio", "0.2")

    assert code == 0
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) == (1200, 450)  # 12 x 4.5 in at 100 dpi
    [figure] = drawn
    assert figure.get_suptitle() == f"grpc {grpc_standin.target}, model resnet50_neuron: closed loop, 2 workers, 8 requests"
    ok_points, error_points = _scatters(figure.axes[0])
    assert (len(_points(ok_points)), len(_points(error_points))) == (7, 1)


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
    (["--concurrency", "2", "--requests", "5", "--rate", "-1"],
     "argument --rate: must be more than 0 and at most 100000 requests per second, got -1"),
    (["--concurrency", "2", "--requests", "5", "--rate", "x"], "argument --rate: not a number: 'x'"),
    (["--concurrency", "2", "--requests", "5", "--max-error-ratio", "1.5"],
     "argument --max-error-ratio: must be at least 0 and at most 1, got 1.5"),
    (["--concurrency", "x", "--requests", "5"], "argument --concurrency: not a whole number: 'x'"),
    (["--concurrency", "1001", "--requests", "5"], "argument --concurrency: must be between 1 and 1000, got 1001"),
    (["--concurrency", "2", "--requests", "5", "--url", "http://h:1", "--grpc", "h:2"], "argument --grpc: not allowed with argument --url"),
])
def test_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out, err = run(capsys, *argv)

    assert (code, out) == (2, [])
    assert_one_error_line(err, message, "(see --help)")
    assert err == f"error: {message} (see --help)\n"


def test_the_bounds_of_the_options_are_allowed() -> None:
    parser = loadtest.make_loadtest_parser()
    args = parser.parse_args(["--concurrency", "1000", "--requests", "10000000", "--rate", "100000", "--max-error-ratio", "0"])
    assert (args.concurrency, args.requests, args.rate, args.max_error_ratio) == (1000, 10_000_000, 100_000.0, 0.0)
    args = parser.parse_args(["--concurrency", "1", "--duration", "86400", "--max-error-ratio", "1"])
    assert (args.concurrency, args.duration, args.max_error_ratio) == (1, 86_400.0, 1.0)


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
