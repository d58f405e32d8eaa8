"""Show whether TensorFlow Serving has the model loaded, from its REST model status API.

    python -m client.status [--url http://localhost:9000 | --grpc localhost:8500] [--model resnet50_neuron] [--timeout 30]

Asks `GET {url}/v1/models/{model}`, whose answer is
`{"model_version_status": [{"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}`,
and prints one line per version:

    resnet50_neuron version 1: AVAILABLE

With `--grpc HOST:PORT` it asks `tensorflow.serving.ModelService/GetModelStatus` instead, whose
answer holds the same fields. States are TF Serving's: START, LOADING, AVAILABLE, UNLOADING, END (a version that failed to load
ends in END with its error). Use it to wait for the server: `until python -m client.status; do sleep 10; done`.

Exit codes: 0 a version is AVAILABLE; 1 the model is known but no version is AVAILABLE (yet);
2 usage error; 3 server unreachable or timed out; 4 the server answered with an error (an unknown
model is TF Serving's `Could not find any versions of model NAME`, HTTP 404 or gRPC NOT_FOUND); 5 the
answer is not a model status.
Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from client.common import (
    EXIT_NOT_AVAILABLE,
    EXIT_OK,
    BadResponseError,
    make_parser,
    model_url,
    one_line,
    request_json,
    run,
)

AVAILABLE = "AVAILABLE"


@dataclass(frozen=True)
class VersionStatus:
    version: str
    state: str
    error_code: str = "OK"
    error_message: str = ""


def parse_status(body: Any) -> list[VersionStatus]:
    """The versions of a `GetModelStatusResponse` in JSON; BadResponseError when it is not one."""
    versions = body.get("model_version_status") if isinstance(body, dict) else None
    if not isinstance(versions, list) or not versions:
        got = f"keys: {', '.join(sorted(map(str, body))) or 'none'}" if isinstance(body, dict) else type(body).__name__
        raise BadResponseError(f"the answer is not a model status: no 'model_version_status' list ({got})")
    result = []
    for entry in versions:
        if not isinstance(entry, dict) or not isinstance(entry.get("state"), str):
            raise BadResponseError(f"a model version status without a state: {str(entry)[:80]}")
        status = entry.get("status")
        if not isinstance(status, dict):
            status = {}
        result.append(VersionStatus(
            version=str(entry.get("version", "?")),
            state=entry["state"],
            error_code=str(status.get("error_code") or "OK"),
            error_message=one_line(str(status.get("error_message") or "")),
        ))
    return result


def format_status(model: str, versions: Sequence[VersionStatus]) -> list[str]:
    """`resnet50_neuron version 1: AVAILABLE`, plus the error of a version that has one."""
    lines = []
    for v in versions:
        error = f" ({v.error_code}: {v.error_message})" if v.error_code != "OK" else ""
        lines.append(f"{model} version {v.version}: {v.state}{error}")
    return lines


def is_available(versions: Sequence[VersionStatus]) -> bool:
    return any(v.state == AVAILABLE for v in versions)


def parse_grpc_status(response: Any) -> list[VersionStatus]:
    """The versions of a `tensorflow.serving.GetModelStatusResponse` message, with TF Serving's state and code names."""
    from client.protos import error_codes_pb2, serving_pb2

    if not response.model_version_status:
        raise BadResponseError("the answer is not a model status: no model_version_status")

    def name(enum: Any, value: int) -> str:
        try:
            return str(enum.Name(value))
        except ValueError:  # a value this client's .proto does not know
            return str(value)

    return [VersionStatus(version=str(v.version), state=name(serving_pb2.ModelVersionStatus.State, v.state),
                          error_code=name(error_codes_pb2.Code, v.status.error_code),
                          error_message=one_line(v.status.error_message))
            for v in response.model_version_status]


def make_status_parser() -> argparse.ArgumentParser:
    return make_parser("python -m client.status", "Show the model's version states (TensorFlow Serving REST or gRPC API).")


def _status(argv: Sequence[str] | None) -> int:
    args = make_status_parser().parse_args(argv)

    if args.grpc:
        from client import grpc_api  # grpcio only when asked for

        with grpc_api.Channel(args.grpc) as channel:
            versions = parse_grpc_status(channel.model_status(args.model, timeout=args.timeout))
    else:
        versions = parse_status(request_json(model_url(args.url, args.model), timeout=args.timeout))
    for line in format_status(args.model, versions):
        print(line)
    if is_available(versions):
        return EXIT_OK
    print(f"error: no version of model {args.model} is AVAILABLE", file=sys.stderr)
    return EXIT_NOT_AVAILABLE


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m client.status`; returns the exit code."""
    return run(_status, argv)


if __name__ == "__main__":
    raise SystemExit(main())
