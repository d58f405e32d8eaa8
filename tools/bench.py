"""Benchmark: how long evaluating each stack under the mock engine takes, next to importing the SDKs alone;
and what the prediction client costs per request, REST JSON against gRPC.

    python -m tools.bench [--runs N] [--only stacks|client]

Each stack measurement runs in a fresh interpreter, so imports are paid every time, as `pulumi up` pays them.

The client table shows the load generator (`client.loadtest`) is not what it measures: preprocessing and
encoding the image is paid once per run, not per request, and what it does per request (check an answer,
send prepared bytes) is compared with a round trip to the stand-ins (tests/client/standin*.py, in this
process: Python servers, far slower than TensorFlow Serving, so the round trip is an upper bound of the
client's share, not a measure of the server).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path

from tools.render import stack_names

ROOT = Path(__file__).resolve().parent.parent
STACKS = stack_names()
IMPORT_SDKS = "import pulumi, pulumi_aws, pulumi_awsx, pulumi_eks, pulumi_kubernetes"


def evaluate(stack: str) -> str:
    return ("from tools.mock_engine import run_program; from tools.render import stack_config; "
            f"c = stack_config({stack!r}); run_program(c, stack={stack!r}, region=str(c.get('aws:region')))")


def timed(code: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def per_call_ms(call: Callable[[], object], runs: int, number: int) -> float:
    """The median over `runs` of the mean time of `number` calls, in ms."""
    return statistics.median(timeit.repeat(call, repeat=runs, number=number)) / number * 1000


def client_rows(runs: int) -> list[tuple[str, str, str]]:
    """(what, REST, gRPC) rows of the client's own costs per request, and a round trip to each stand-in."""
    import json

    from client import grpc_api, loadtest
    from client.predict import NUM_CLASSES, build_request, parse_scores, preprocess
    from client.protos import serving_pb2
    from tests.client.standin import StandIn
    from tests.client.standin_grpc import GrpcStandIn

    image = loadtest.synthetic_image()
    array = preprocess(image)
    rest_body = loadtest.rest_payload(image)
    grpc_body = loadtest.grpc_payload(image, "resnet50_neuron", "input_1")
    with StandIn() as rest, GrpcStandIn() as grpc:
        rest_send = loadtest.RestSender(rest.url, "resnet50_neuron", rest_body, timeout=30)
        grpc_send = loadtest.GrpcSender(grpc.target, grpc_body, timeout=30)
        rest_answer = json.dumps(rest.answer("POST", "/v1/models/resnet50_neuron:predict", rest_body)[1]).encode()
        grpc_answer = grpc.predict(grpc_body).SerializeToString()
        def check_grpc() -> object:
            return grpc_api.output_scores(serving_pb2.PredictResponse.FromString(grpc_answer), NUM_CLASSES)

        preprocess_ms = per_call_ms(lambda: preprocess(image), runs, 20)
        rows = [
            ("payload bytes", f"{len(rest_body):,}", f"{len(grpc_body):,}"),
            ("preprocess ms (once a run)", f"{preprocess_ms:.2f}", f"{preprocess_ms:.2f}"),
            ("encode ms (once a run)",
             f"{per_call_ms(lambda: json.dumps(build_request(array), separators=(',', ':')).encode(), runs, 3):.2f}",
             f"{per_call_ms(lambda: grpc_api.predict_request(array, 'resnet50_neuron').SerializeToString(), runs, 50):.2f}"),
            ("check an answer ms (each)",
             f"{per_call_ms(lambda: parse_scores(json.loads(rest_answer)), runs, 200):.3f}",
             f"{per_call_ms(check_grpc, runs, 200):.3f}"),
            ("round trip to the stand-in ms", f"{per_call_ms(rest_send, runs, 5):.2f}", f"{per_call_ms(grpc_send, runs, 20):.2f}"),
        ]
        rest_send.close()
        grpc_send.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=("stacks", "client"), help="one of the two tables")
    args = parser.parse_args(argv)

    if args.only != "client":
        print_stacks(args.runs)
    if args.only != "stacks":
        if args.only is None:
            print()
        print(f"{'client, per request':<34}{'REST JSON':>12}{'gRPC':>12}   (median of {args.runs} runs)")
        for label, rest, grpc in client_rows(args.runs):
            print(f"{label:<34}{rest:>12}{grpc:>12}")
    return 0


def print_stacks(runs: int) -> None:
    rows = [("import the SDKs alone", timed(IMPORT_SDKS, runs))]
    rows += [(f"evaluate stack {stack}", timed(evaluate(stack), runs)) for stack in STACKS]
    baseline = statistics.median(rows[0][1])
    print(f"{'what':<28}{'median s':>10}{'min s':>9}{'max s':>9}{'program s':>11}   ({runs} runs each)")
    for label, times in rows:
        median = statistics.median(times)
        own = "" if label.startswith("import") else f"{median - baseline:>11.2f}"
        print(f"{label:<28}{median:>10.2f}{min(times):>9.2f}{max(times):>9.2f}{own}")


if __name__ == "__main__":
    sys.exit(main())
