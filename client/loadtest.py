"""Load generator: one replica's throughput and latency over REST or gRPC, or an LLM's tokens over the OpenAI API.

    python -m client.loadtest (--url URL | --grpc HOST:PORT) [--model resnet50_neuron] --concurrency N
                              (--requests N | --duration SECONDS) [--rate R] [--image IMG] [--timeout 30]
                              [--json OUT.json] [--plot OUT.png] [--max-error-ratio 0.01] [--input input_1]
    python -m client.loadtest --openai URL [--model NAME] --concurrency N (--requests N | --duration SECONDS)
                              [--max-tokens 128] [--prompts FILE] [--rate R] [--json OUT.json] [--plot OUT.png] ...

`--openai URL` (an OpenAI-compatible server's base URL, vLLM's `http://localhost:8000/v1`) streams chat
completions instead (`OpenAISender`): the prompts of `client/loadtest_prompts.txt` (or `--prompts FILE`) in
turn, each body encoded before the clock starts, `--model` by default the one model `GET /v1/models` lists.
It adds output tokens per second (the server's final `usage.completion_tokens`, asked for with
`stream_options.include_usage`, else the chunks with content), time to first token (request sent to the first
chunk with content) and inter-token latency (the gaps between consecutive chunks with content, over every
answer), with the same percentiles; a failed stream counts as `stream error` (the server's error event),
`bad answer`, `timeout` or `connection error`.

The request is prepared once, before the clock starts: the image (`--image`, else a synthetic 224x224
picture) preprocessed as `client.predict` does it and encoded as the REST JSON body or the serialized gRPC
PredictRequest; every request sends those same bytes, so the generator measures the server, not its own
numpy and JSON. Each answer is checked (1000 finite scores) and counted as an error otherwise.

Closed loop (the default): N workers, each sends its next request when its answer came; the server's
speed sets the rate. Open loop (`--rate R`): request i is due R^-1 * i seconds after the start, whether or
not earlier answers came, with at most N in flight; when all N are busy a request starts late, and the
report says how many started more than one interval (1/R) after their time and by how much at worst.

The report: requests, errors by kind (`HTTP 503`, `timeout`, `connection refused`, `bad answer` over REST;
gRPC's status code, e.g. `UNAVAILABLE`, `DEADLINE_EXCEEDED`), throughput (answers without error per second
of the run) and the latency of those answers, p50/p90/p99/max in ms. Percentiles are nearest-rank: the
p-th of n sorted latencies is the ceil(p/100 * n)-th (1-based), always a latency that was measured.
`--json` writes the same with every request's start (seconds since the run started), duration and error;
`--plot` draws latency over time and its histogram (needs matplotlib: `pip install 'eks-inferentia[plot]'`).

Exit codes: 0 done; 1 more than --max-error-ratio (default 0.01) of the requests failed, so it can gate CI
against a staging stack; 2 usage or input error; 130 interrupted (a partial report is printed first).
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import itertools
import json
import math
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from client import openai_api
from client.common import (
    DEFAULT_MODEL,
    EXIT_OK,
    BadResponseError,
    ClientError,
    ServerError,
    TimedOutError,
    UsageError,
    error_text,
    make_parser,
    model_url,
    one_line,
    run,
)
from client.predict import DEFAULT_INPUT, NUM_CLASSES, add_input_option, build_request, load_image, parse_scores, preprocess

if TYPE_CHECKING:
    from matplotlib.figure import Figure

EXIT_TOO_MANY_ERRORS = 1
DEFAULT_MAX_ERROR_RATIO = 0.01
PERCENTILES = (50, 90, 99)



@dataclass(frozen=True)
class Tokens:
    """What a streamed answer's chunks showed (OpenAI mode), in seconds from the request's start."""

    ttft: float
    """Time to first token: from sending the request to the first chunk with content."""
    itl: tuple[float, ...]
    """Inter-token latencies: the gaps between consecutive chunks with content."""
    output_tokens: int
    from_usage: bool
    """output_tokens is the server's `usage.completion_tokens`; else the number of chunks with content."""


Outcome = tuple[str, str] | Tokens | None
"""What one request came to: None (or its Tokens, streaming) for a good answer, else (error kind, message)."""
Send = Callable[[], Outcome]


# --- statistics ----------------------------------------------------------------------------------

def nearest_rank(sorted_values: Sequence[float], p: float) -> float:
    """The p-th percentile (0 < p <= 100) of ascending values by nearest rank: the ceil(p/100 * n)-th value."""
    if not sorted_values:
        raise ValueError("no values")
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {p}")
    rank = math.ceil(p / 100 * len(sorted_values))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class Sample:
    start: float
    """Seconds from the start of the run to the request's start."""
    duration: float
    """Seconds from the request's start to its answer (or failure)."""
    error: str | None = None
    """The error's kind; None for a good answer."""
    message: str = ""
    lag: float = 0.0
    """Open loop: seconds the request started after its scheduled time."""
    tokens: Tokens | None = None
    """OpenAI mode: the good answer's token timing."""


def _percentiles_ms(seconds: Sequence[float]) -> dict[str, float] | None:
    """p50, p90, p99 (nearest rank) and max of durations in seconds, in ms; None without any."""
    values = sorted(value * 1000 for value in seconds)
    if not values:
        return None
    return {**{f"p{p}": nearest_rank(values, p) for p in PERCENTILES}, "max": values[-1]}


@dataclass(frozen=True)
class Plan:
    concurrency: int
    requests: int | None = None
    duration: float | None = None
    rate: float | None = None


@dataclass
class Result:
    plan: Plan
    samples: list[Sample]
    wall: float
    """Seconds from the start of the run to the last answer."""
    interrupted: bool = False
    errors: Counter[str] = field(init=False)

    def __post_init__(self) -> None:
        self.samples.sort(key=lambda s: s.start)
        self.errors = Counter(s.error for s in self.samples if s.error is not None)

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if s.error is None]

    @property
    def error_ratio(self) -> float:
        return sum(self.errors.values()) / len(self.samples) if self.samples else 0.0

    @property
    def throughput(self) -> float:
        """Good answers per second of the run."""
        return len(self.ok) / self.wall if self.wall > 0 else 0.0

    def latency_ms(self) -> dict[str, float] | None:
        """p50, p90, p99 (nearest rank) and max of the good answers' durations, in ms; None without any."""
        return _percentiles_ms([s.duration for s in self.ok])

    def ttft_ms(self) -> dict[str, float] | None:
        """OpenAI mode: p50, p90, p99 (nearest rank) and max of the good answers' times to first token, in ms."""
        return _percentiles_ms([s.tokens.ttft for s in self.ok if s.tokens is not None])

    def itl_ms(self) -> dict[str, float] | None:
        """OpenAI mode: the same of every gap between two chunks with content, over all good answers, in ms."""
        return _percentiles_ms([gap for s in self.ok if s.tokens is not None for gap in s.tokens.itl])

    @property
    def itl_count(self) -> int:
        return sum(len(s.tokens.itl) for s in self.ok if s.tokens is not None)

    @property
    def output_tokens(self) -> int:
        return sum(s.tokens.output_tokens for s in self.ok if s.tokens is not None)

    @property
    def output_tokens_per_s(self) -> float:
        """Output tokens of the good answers per second of the run."""
        return self.output_tokens / self.wall if self.wall > 0 else 0.0

    def token_count_source(self) -> str:
        """"usage" (every good answer's count is the server's), "chunks" (none), or "usage and chunks"."""
        sources = {s.tokens.from_usage for s in self.ok if s.tokens is not None}
        return {frozenset({True}): "usage", frozenset({False}): "chunks"}.get(frozenset(sources), "usage and chunks")

    def late(self) -> list[Sample]:
        """Open loop: the requests that started more than one interval after their scheduled time."""
        if self.plan.rate is None:
            return []
        return [s for s in self.samples if s.lag > 1 / self.plan.rate]

    def first_messages(self) -> dict[str, str]:
        first: dict[str, str] = {}
        for s in self.samples:
            if s.error is not None:
                first.setdefault(s.error, s.message)
        return first


# --- the generator -------------------------------------------------------------------------------

def generate(send: Send, plan: Plan, clock: Callable[[], float] = time.perf_counter,
             stop: threading.Event | None = None) -> Result:
    """Run `send` under `plan` from `plan.concurrency` threads; stops by itself (count or time), or on Ctrl-C.

    `stop` (default: a new Event) is what the workers check before each request and what an open loop waits on
    until a request is due (`stop.wait(seconds)`), so Ctrl-C ends a wait at once; tests pass one whose wait
    moves their fake `clock` on instead of sleeping."""
    if (plan.requests is None) == (plan.duration is None):
        raise ValueError("a plan is bounded by requests or by duration")
    samples: list[Sample] = []
    lock = threading.Lock()
    stop = threading.Event() if stop is None else stop
    counter = iter(range(sys.maxsize))
    finished = threading.Semaphore(0)
    start = clock()

    def work() -> None:
        while not stop.is_set():
            with lock:
                index = next(counter)
            if plan.requests is not None and index >= plan.requests:
                return
            scheduled: float | None = None  # open loop: seconds from the start to the request's time
            if plan.rate is not None:
                scheduled = index / plan.rate
                if plan.duration is not None and scheduled >= plan.duration:
                    return
                wait = start + scheduled - clock()
                if wait > 0 and stop.wait(wait):
                    return
            elif plan.duration is not None and clock() - start >= plan.duration:
                return
            began = clock()
            outcome = send()
            ended = clock()
            tokens = outcome if isinstance(outcome, Tokens) else None
            error, message = outcome if isinstance(outcome, tuple) else (None, "")
            sample = Sample(began - start, ended - began, error, message,
                            lag=0.0 if scheduled is None else max(0.0, began - start - scheduled), tokens=tokens)
            with lock:
                samples.append(sample)

    def worker() -> None:
        try:
            work()
        finally:
            finished.release()

    threads = [threading.Thread(target=worker, name=f"loadtest-{i}", daemon=True) for i in range(plan.concurrency)]
    interrupted = False
    try:
        for thread in threads:
            thread.start()
        # The workers' ends are counted on a semaphore, not waited for with Thread.join: in CPython before 3.13
        # (seen in 3.10 to 3.12) Ctrl-C inside a join marks the thread finished while it still runs, the join after
        # it returns at once and the request in flight is lost. The timeout lets Ctrl-C through where waiting on a
        # lock cannot be interrupted (Windows).
        for _ in threads:
            while not finished.acquire(timeout=0.1):
                pass
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
    for thread in threads:
        if thread.ident is not None:  # started: Ctrl-C can come while they start
            thread.join()
    return Result(plan, samples, clock() - start, interrupted)


# --- the transports ------------------------------------------------------------------------------

class _KeepAlive:
    """One keep-alive HTTP connection per worker thread to the host of `url`."""

    def __init__(self, url: str, timeout: float) -> None:
        full = urllib.parse.urlsplit(url)
        self.scheme, self.host, self.port = full.scheme, full.hostname or "", full.port
        self.path = full.path
        self.timeout = timeout
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            kind = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            conn = kind(self.host, self.port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def close(self) -> None:
        """Closes the calling thread's connection (the workers' die with their threads)."""
        self._drop()

    def _connection_failure(self, exc: OSError | http.client.HTTPException) -> Outcome:
        """A request that got no answer: the connection is dropped, the error sorted by kind."""
        self._drop()
        if isinstance(exc, TimeoutError):
            return "timeout", f"no answer within {self.timeout:g} s ({exc})"
        if isinstance(exc, ConnectionRefusedError):
            return "connection refused", "connection refused"
        return "connection error", f"{type(exc).__name__}: {exc}"


class RestSender(_KeepAlive):
    """POSTs the same JSON body to `{url}/v1/models/{model}:predict`, one keep-alive connection per worker thread."""

    def __init__(self, url: str, model: str, body: bytes, timeout: float) -> None:
        super().__init__(model_url(url, model, ":predict"), timeout)
        self.body = body

    def __call__(self) -> Outcome:
        conn = self._connection()
        try:
            conn.request("POST", self.path, self.body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            return self._connection_failure(exc)
        if response.will_close:
            self._drop()
        if response.status != 200:
            return f"HTTP {response.status}", error_text(data) or response.reason
        try:
            parse_scores(json.loads(data))
        except (ValueError, BadResponseError) as exc:
            return "bad answer", one_line(str(exc))
        return None


class OpenAISender(_KeepAlive):
    """Streams chat completions from `{base}/chat/completions`, the prompts in turn, one keep-alive connection per worker.

    Each request's body is encoded once, before the clock starts. `clock` stamps the request's start and every
    server-sent event as it is read: time to first token and inter-token latency are its differences."""

    def __init__(self, base: str, model: str, prompts: Sequence[str], max_tokens: int, timeout: float,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        super().__init__(f"{base}/chat/completions", timeout)
        self.url = f"{base}/chat/completions"
        self.bodies = [json.dumps(openai_api.chat_body(model, prompt, max_tokens, stream=True), separators=(",", ":")).encode()
                       for prompt in prompts]
        self.clock = clock
        self._next = iter(range(sys.maxsize))
        self._lock = threading.Lock()

    def __call__(self) -> Outcome:
        with self._lock:
            body = self.bodies[next(self._next) % len(self.bodies)]
        conn = self._connection()
        started = self.clock()
        try:
            conn.request("POST", self.path, body, {"Content-Type": "application/json", "Accept": "text/event-stream"})
            response = conn.getresponse()
            if response.status != 200:
                data = response.read()
                if response.will_close:
                    self._drop()
                return f"HTTP {response.status}", error_text(data) or response.reason
            times, usage = [], None
            for event in openai_api.read_events(response, self.url, self.timeout, self.clock):
                if event.content:
                    times.append(event.at)
                usage = event.completion_tokens if event.completion_tokens is not None else usage
            response.read()  # the chunked answer's end, so the connection can carry the next request
        except (OSError, http.client.HTTPException) as exc:
            return self._connection_failure(exc)
        except TimedOutError as exc:
            self._drop()
            return "timeout", one_line(str(exc))
        except ServerError as exc:
            self._drop()
            return "stream error", one_line(str(exc))
        except BadResponseError as exc:
            self._drop()
            return "bad answer", one_line(str(exc))
        except ClientError as exc:  # the stream broke off
            self._drop()
            return "connection error", one_line(str(exc))
        if response.will_close:
            self._drop()
        if not times:
            return "bad answer", "the stream carried no content"
        return Tokens(ttft=times[0] - started, itl=tuple(b - a for a, b in itertools.pairwise(times)),
                      output_tokens=usage if usage is not None else len(times), from_usage=usage is not None)


class GrpcSender:
    """Calls PredictionService/Predict with the same serialized request on one shared channel (HTTP/2 streams)."""

    def __init__(self, target: str, request: bytes, timeout: float) -> None:
        from client import grpc_api  # grpcio only when asked for

        self._grpc_api = grpc_api
        self._channel = grpc_api.Channel(target)
        self._method = self._channel.raw_method(grpc_api.PREDICT_METHOD)
        self.request = request
        self.timeout = timeout

    def __call__(self) -> Outcome:
        import grpc
        from google.protobuf.message import DecodeError

        from client.protos import serving_pb2

        try:
            raw = self._method(self.request, timeout=self.timeout)
        except grpc.RpcError as exc:
            return exc.code().name, one_line(exc.details() or "")  # type: ignore[attr-defined]
        try:
            self._grpc_api.output_scores(serving_pb2.PredictResponse.FromString(raw), NUM_CLASSES)
        except (BadResponseError, DecodeError) as exc:
            return "bad answer", one_line(str(exc))
        return None

    def close(self) -> None:
        self._channel.close()


def synthetic_image() -> Image.Image:
    """A 224x224 picture with a gradient in every channel: any image costs the server the same."""
    y, x = np.mgrid[0:224, 0:224]
    pixels = np.stack([x, y, (x + y) // 2], axis=-1).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def rest_payload(image: Image.Image) -> bytes:
    """The REST body client.predict sends, encoded once."""
    return json.dumps(build_request(preprocess(image)), separators=(",", ":")).encode()


def grpc_payload(image: Image.Image, model: str, input_name: str) -> bytes:
    """The serialized PredictRequest client.predict --grpc sends, encoded once."""
    from client import grpc_api

    return grpc_api.predict_request(preprocess(image), model, input_name).SerializeToString()


# --- the report ----------------------------------------------------------------------------------

def describe_plan(plan: Plan) -> str:
    bound = f"{plan.requests} requests" if plan.requests is not None else f"{plan.duration:g} s"
    loop = "closed loop" if plan.rate is None else f"open loop at {plan.rate:g} req/s"
    return f"{loop}, {plan.concurrency} worker{'s' if plan.concurrency != 1 else ''}, {bound}"


def _ms(values: dict[str, float]) -> str:
    return "  ".join(f"{name} {value:.2f}" for name, value in values.items())


def report(result: Result, target: str, payload_bytes: int | None) -> list[str]:
    """The lines `python -m client.loadtest` prints; OpenAI mode (payload_bytes None) adds tokens, TTFT and ITL."""
    errors = sum(result.errors.values())
    lines = [
        f"target:     {target}" + (f", payload {payload_bytes:,} bytes" if payload_bytes is not None else ""),
        f"plan:       {describe_plan(result.plan)}" + (" (interrupted)" if result.interrupted else ""),
        f"requests:   {len(result.samples)} sent, {len(result.ok)} ok, {errors} errors ({result.error_ratio:.1%})",
    ]
    if result.errors:
        first = result.first_messages()
        kinds = ", ".join(f"{count} {kind} (first: {one_line(first[kind], 120)})" for kind, count in sorted(
            result.errors.items(), key=lambda item: (-item[1], item[0])))
        lines.append(f"errors:     {kinds}")
    lines.append(f"throughput: {result.throughput:.1f} req/s ({len(result.ok)} ok answers in {result.wall:.3f} s)")
    latency = result.latency_ms()
    if latency is None:
        lines.append("latency:    no ok answers")
    else:
        lines.append(f"latency ms: {_ms(latency)} (ok answers, nearest rank)")
    if payload_bytes is None:
        lines += _token_lines(result)
    if result.plan.rate is not None:
        rate, late = result.plan.rate, result.late()
        if late:
            worst = max(s.lag for s in late) * 1000
            lines.append(f"rate:       could not keep {rate:g} req/s: {len(late)} of {len(result.samples)} requests started more "
                         f"than one interval ({1000 / rate:.1f} ms) late, the worst by {worst:.1f} ms "
                         f"(raise --concurrency, or the server is saturated)")
        else:
            lines.append(f"rate:       kept {rate:g} req/s (every request started within one interval of its time)")
    return lines


def _token_lines(result: Result) -> list[str]:
    ttft, itl = result.ttft_ms(), result.itl_ms()
    if ttft is None:
        return ["tokens:     no ok answers"]
    lines = [f"tokens:     {result.output_tokens:,} output tokens (counted from {result.token_count_source()}), "
             f"{result.output_tokens_per_s:.1f} tokens/s",
             f"ttft ms:    {_ms(ttft)} (time to first token, nearest rank)"]
    if itl is None:
        lines.append("itl ms:     no answer had two chunks with content")
    else:
        lines.append(f"itl ms:     {_ms(itl)} (inter-token latency, {result.itl_count:,} gaps between chunks, nearest rank)")
    return lines


def to_json(result: Result, protocol: str, address: str, model: str, payload_bytes: int | None, timeout: float,
            openai: dict[str, Any] | None = None) -> dict[str, Any]:
    """The report as JSON; `openai` (the prompts' source and count, max_tokens) adds the token statistics."""
    plan = result.plan
    late = result.late()
    summary: dict[str, Any] = {
        "target": {"protocol": protocol, "address": address, "model": model},
        "plan": {"concurrency": plan.concurrency, "requests": plan.requests, "duration_s": plan.duration, "rate": plan.rate,
                 "loop": "closed" if plan.rate is None else "open", "timeout_s": timeout},
        "payload_bytes": payload_bytes,
        "interrupted": result.interrupted,
        "requests": len(result.samples),
        "ok": len(result.ok),
        "errors": dict(sorted(result.errors.items())),
        "error_ratio": result.error_ratio,
        "wall_s": result.wall,
        "throughput_rps": result.throughput,
        "latency_ms": result.latency_ms(),
        "percentile_method": "nearest rank over the ok answers' durations",
        "rate": None if plan.rate is None else {
            "asked": plan.rate, "late": len(late), "worst_lag_ms": max((s.lag for s in late), default=0.0) * 1000},
        "samples": [{"start_s": s.start, "duration_ms": s.duration * 1000, "error": s.error, "lag_ms": s.lag * 1000}
                    for s in result.samples],
    }
    if openai is None:
        return summary
    summary["openai"] = {
        **openai,
        "output_tokens": result.output_tokens,
        "output_tokens_per_s": result.output_tokens_per_s,
        "token_count": result.token_count_source() if result.ok else None,
        "ttft_ms": result.ttft_ms(),
        "itl_ms": result.itl_ms(),
        "itl_gaps": result.itl_count,
        "ttft_itl_method": "ttft: request sent to first chunk with content; itl: gaps between consecutive chunks with content",
    }
    for sample, row in zip(result.samples, summary["samples"], strict=True):
        if sample.tokens is not None:
            row.update(ttft_ms=sample.tokens.ttft * 1000, output_tokens=sample.tokens.output_tokens,
                       itl_ms=[gap * 1000 for gap in sample.tokens.itl])
    return summary


def draw(result: Result, title: str) -> Figure:
    """Latency over time (errors marked) beside the histogram of the ok answers' latencies, 12 x 4.5 inches."""
    from matplotlib.figure import Figure  # matplotlib only when asked for (the plot extra)

    figure = Figure(figsize=(12, 4.5))
    over_time, histogram = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    ok, failed = result.ok, [s for s in result.samples if s.error is not None]
    over_time.scatter([s.start for s in ok], [s.duration * 1000 for s in ok], s=6, label="ok")
    if failed:
        over_time.scatter([s.start for s in failed], [s.duration * 1000 for s in failed], s=14, marker="x", color="red",
                          label="error")
    over_time.set(xlabel="request start (s since the run started)", ylabel="latency (ms)", title="latency over time")
    over_time.legend(loc="upper right")
    latency = result.latency_ms()
    if latency is not None:
        histogram.hist([s.duration * 1000 for s in ok], bins=min(50, max(5, len(ok) // 5)))
        for name in ("p50", "p99"):
            histogram.axvline(latency[name], color="black", linestyle="--" if name == "p50" else ":",
                              label=f"{name} {latency[name]:.1f} ms")
        histogram.legend(loc="upper right")
    histogram.set(xlabel="latency (ms)", ylabel="requests", title="latency of the ok answers")
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def plot(result: Result, title: str, path: Path) -> None:
    """`draw`'s figure as a PNG, 1200 x 450 pixels whatever matplotlib's settings (rcParams) say."""
    draw(result, title).savefig(path, dpi=100)


# --- the command ---------------------------------------------------------------------------------

def _positive_int(most: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
        if not 1 <= number <= most:
            raise argparse.ArgumentTypeError(f"must be between 1 and {most}, got {number}")
        return number

    return parse


def _number(low: float, high: float, what: str = "", low_inclusive: bool = False) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
        if not (low <= number if low_inclusive else low < number) or not number <= high:
            raise argparse.ArgumentTypeError(f"must be {'at least' if low_inclusive else 'more than'} {low:g} and at most {high:g}"
                                             f"{' ' + what if what else ''}, got {value}")
        return number

    return parse


DEFAULT_OPENAI_MAX_TOKENS = 128
PROMPTS_FILE = "loadtest_prompts.txt"
"""The fixed prompt set of `--openai`, next to this module (written for this project; one prompt a line)."""


def read_prompts(path: Path | None) -> tuple[list[str], str]:
    """The prompts (one a line; blank lines and lines starting with # left out) and where they came from."""
    if path is None:
        text, source = resources.files("client").joinpath(PROMPTS_FILE).read_text(encoding="utf-8"), f"client/{PROMPTS_FILE}"
    else:
        try:
            text, source = path.read_text(encoding="utf-8"), str(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read --prompts {path}: {exc.strerror if isinstance(exc, OSError) else exc}") from None
    prompts = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not prompts:
        raise UsageError(f"no prompts in {source} (one a line; lines starting with # are comments)")
    return prompts, source


def make_loadtest_parser() -> argparse.ArgumentParser:
    from client.chat import max_tokens, openai_url

    parser = make_parser("python -m client.loadtest", "Load TensorFlow Serving with predict requests (REST or gRPC), or an "
                                                      "OpenAI-compatible server (vLLM) with streamed chat completions, and "
                                                      "report throughput, latency percentiles and errors.",
                         endpoints=[("--openai", openai_url, "URL", "stream chat completions from an OpenAI-compatible server "
                                                                    "(vLLM's port 8000) at this base URL, e.g. http://localhost:8000/v1")],
                         model_default=f"{DEFAULT_MODEL}; with --openai, the only one GET /v1/models lists")
    parser.set_defaults(model=None)
    parser.add_argument("--concurrency", type=_positive_int(1000), required=True, metavar="N",
                        help="workers: requests in flight at most")
    bound = parser.add_mutually_exclusive_group(required=True)
    bound.add_argument("--requests", type=_positive_int(10_000_000), metavar="N", help="send N requests, then stop")
    bound.add_argument("--duration", type=_number(0, 86400, "seconds"), metavar="SECONDS",
                       help="start requests for SECONDS, then stop (the last answers are waited for)")
    parser.add_argument("--rate", type=_number(0, 100_000, "requests per second"), metavar="R",
                        help="open loop: start R requests per second (at most --concurrency in flight); default: closed loop")
    parser.add_argument("--image", metavar="IMG", help="the image every request carries (default: a synthetic 224x224 picture)")
    parser.add_argument("--max-tokens", type=max_tokens, metavar="N",
                        help=f"--openai: the most tokens each answer may have (default: {DEFAULT_OPENAI_MAX_TOKENS})")
    parser.add_argument("--prompts", type=Path, metavar="FILE",
                        help=f"--openai: the prompts, one a line, sent in turn (default: client/{PROMPTS_FILE})")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the results and every request's start and duration here")
    parser.add_argument("--plot", type=Path, metavar="OUT.png", help="draw latency over time and its histogram (needs matplotlib)")
    parser.add_argument("--max-error-ratio", type=_number(0, 1, low_inclusive=True), default=DEFAULT_MAX_ERROR_RATIO,
                        metavar="RATIO", help=f"exit 1 when more than this share of requests failed (default: {DEFAULT_MAX_ERROR_RATIO:g})")
    add_input_option(parser)
    return parser


PLOT_MISSING = "--plot needs matplotlib, which is not installed: pip install 'eks-inferentia[plot]' (or matplotlib)"
token_clock: Callable[[], float] = time.perf_counter
"""The clock `--openai` stamps requests and stream events with (tests replace it)."""


def _check_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    openai_only = [option for option, value in (("--max-tokens", args.max_tokens), ("--prompts", args.prompts)) if value is not None]
    if not args.openai and openai_only:
        parser.error(f"argument {openai_only[0]}: only with --openai")
    if args.openai and args.image is not None:
        parser.error("argument --image: not allowed with argument --openai")
    if args.openai and args.input != DEFAULT_INPUT:
        parser.error("argument --input: not allowed with argument --openai")


def _loadtest(argv: Sequence[str] | None) -> int:
    parser = make_loadtest_parser()
    args = parser.parse_args(argv)
    _check_options(parser, args)
    if args.plot is not None and importlib.util.find_spec("matplotlib") is None:
        raise UsageError(PLOT_MISSING)
    plan = Plan(args.concurrency, args.requests, args.duration, args.rate)
    sender: RestSender | GrpcSender | OpenAISender
    openai: dict[str, Any] | None = None
    payload_bytes: int | None
    if args.openai:
        prompts, source = read_prompts(args.prompts)
        model = args.model or openai_api.only_model(args.openai, args.timeout)
        limit = args.max_tokens or DEFAULT_OPENAI_MAX_TOKENS
        sender = OpenAISender(args.openai, model, prompts, limit, args.timeout, clock=token_clock)
        protocol, address, payload_bytes = "openai", args.openai, None
        openai = {"prompts": source, "prompt_count": len(prompts), "max_tokens": limit}
        target = f"openai {address}, model {model}, {len(prompts)} prompts from {source}, at most {limit} tokens each"
    else:
        model = args.model or DEFAULT_MODEL
        image = load_image(args.image) if args.image else synthetic_image()
        if args.grpc:
            payload = grpc_payload(image, model, args.input)
            sender, protocol, address = GrpcSender(args.grpc, payload, args.timeout), "grpc", args.grpc
        else:
            payload = rest_payload(image)
            sender, protocol, address = RestSender(args.url, model, payload, args.timeout), "rest", args.url
        payload_bytes = len(payload)
        target = f"{protocol} {address}, model {model}"
    try:
        result = generate(sender, plan)
    finally:
        sender.close()
    for line in report(result, target, payload_bytes):
        print(line)
    if args.json is not None:
        written = to_json(result, protocol, address, model, payload_bytes, args.timeout, openai)
        args.json.write_text(json.dumps(written, indent=1) + "\n")
    if args.plot is not None:
        plot(result, f"{protocol} {address}, model {model}: {describe_plan(plan)}", args.plot)
    if result.interrupted:
        raise KeyboardInterrupt
    errors = sum(result.errors.values())
    if result.error_ratio > args.max_error_ratio:
        print(f"error: {errors} of {len(result.samples)} requests failed ({result.error_ratio:.1%}), "
              f"more than --max-error-ratio {args.max_error_ratio:g} allows", file=sys.stderr)
        return EXIT_TOO_MANY_ERRORS
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m client.loadtest`; returns the exit code."""
    return run(_loadtest, argv)


if __name__ == "__main__":
    raise SystemExit(main())
