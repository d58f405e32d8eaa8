"""Smoke test of a TensorFlow Serving endpoint, run by the SmokeTest Job after every deploy.

    python smoke_check.py REST_URL MODEL_NAME [VERSION,VERSION...]

1. `GET /v1/models/MODEL` until a version is AVAILABLE (the Deployment is ready, so this is quick);
   with VERSIONS (the stack's modelVersions), until every one of them is.
2. `GET /v1/models/MODEL/metadata`: the `serving_default` signature's one input, its dtype and shape.
3. `POST /v1/models/MODEL:predict` with zeros of that shape (unknown dimensions as 1), and check
   the answer holds outputs that are all finite numbers. With VERSIONS, steps 2 and 3 ask the
   highest of them by name (`/v1/models/MODEL/versions/N`).

Standard library only: it runs in a stock python image. It prints one line and exits 0 on
success; on failure it prints one line naming what failed, writes it to the container's
termination log (so `kubectl describe` and `pulumi up` show it) and exits 1.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

TERMINATION_LOG = "/dev/termination-log"
WAIT_FOR_AVAILABLE_SECONDS = 120
# The numeric dtypes TF Serving's REST API builds from JSON numbers (tensorflow_serving/util/json_tensor.cc);
# DT_HALF, DT_BFLOAT16 and DT_UINT16 it cannot ("Conversion of JSON Value ... to type: half", HTTP 501).
NUMERIC_DTYPES = {"DT_FLOAT": 0.0, "DT_DOUBLE": 0.0, "DT_INT8": 0, "DT_UINT8": 0, "DT_INT16": 0, "DT_INT32": 0,
                  "DT_INT64": 0}


class SmokeTestError(Exception):
    pass


def _request(url: str, body: Any = None, timeout: float = 60) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")
        with contextlib.suppress(ValueError, AttributeError):
            detail = json.loads(detail).get("error", detail)
        raise SmokeTestError(f"{url} answered HTTP {error.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as error:
        raise SmokeTestError(f"cannot reach {url}: {getattr(error, 'reason', error)}") from None
    except ValueError:
        raise SmokeTestError(f"{url} answered with something that is not JSON") from None


def wait_until_available(base: str, model: str, wait_seconds: float | None = None,
                         expected: Sequence[int] = ()) -> str:
    """The AVAILABLE version of `model` (with `expected`, those versions, comma-separated, once every one
    is AVAILABLE); fails when that is not so within `wait_seconds`."""
    deadline = time.monotonic() + (WAIT_FOR_AVAILABLE_SECONDS if wait_seconds is None else wait_seconds)
    while True:
        status = _request(f"{base}/v1/models/{model}")
        versions = status.get("model_version_status") or []
        available = [str(v.get("version")) for v in versions if v.get("state") == "AVAILABLE"]
        missing = [str(n) for n in expected if str(n) not in available]
        if expected and not missing:
            return ", ".join(str(n) for n in expected)
        if available and not expected:
            return available[0]
        if time.monotonic() >= deadline:
            states = ", ".join(f"version {v.get('version')} {v.get('state')}: {v.get('status', {}).get('error_message', '')}"
                               for v in versions) or "no versions"
            if expected:
                raise SmokeTestError(f"model {model} version(s) {', '.join(missing)} not AVAILABLE ({states}); "
                                     "are they in modelBasePath?")
            raise SmokeTestError(f"model {model} has no AVAILABLE version ({states})")
        time.sleep(5)


def input_spec(metadata: dict[str, Any]) -> tuple[str, str, list[int]]:
    """(name, dtype, shape) of the serving_default signature's single input; unknown sizes as 1."""
    try:
        signature = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]
        inputs = signature["inputs"]
    except (KeyError, TypeError):
        raise SmokeTestError("the model's metadata has no serving_default signature") from None
    if len(inputs) != 1:
        raise SmokeTestError(f"the serving_default signature has {len(inputs)} inputs; this check sends one")
    (name, tensor), = inputs.items()
    dtype = tensor.get("dtype", "")
    if dtype not in NUMERIC_DTYPES:
        raise SmokeTestError(f"input {name} has dtype {dtype or 'unknown'}, which TensorFlow Serving's REST API cannot "
                             "take from JSON; this check sends float or integer zeros (set smokeTest to false for "
                             "this model)")
    dims = tensor.get("tensor_shape", {}).get("dim", [])
    shape = [max(int(dim.get("size", -1)), 1) for dim in dims]
    return name, dtype, shape


def zeros(shape: list[int], value: float | int) -> Any:
    return value if not shape else [zeros(shape[1:], value) for _ in range(shape[0])]


def _all_finite(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return math.isfinite(value)
    if isinstance(value, list):
        return bool(value) and all(_all_finite(v) for v in value)
    if isinstance(value, dict):
        return bool(value) and all(_all_finite(v) for v in value.values())
    return False


def check(base: str, model: str, wait_seconds: float | None = None, expected: Sequence[int] = ()) -> str:
    """Run the three steps; return the success line or raise `SmokeTestError`."""
    base = base.rstrip("/")
    version = wait_until_available(base, model, wait_seconds, expected)
    servable = f"{base}/v1/models/{model}" + (f"/versions/{max(expected)}" if expected else "")
    name, dtype, shape = input_spec(_request(f"{servable}/metadata"))
    answer = _request(f"{servable}:predict", {"inputs": {name: zeros(shape, NUMERIC_DTYPES[dtype])}})
    outputs = answer.get("outputs") if isinstance(answer, dict) else None
    if not _all_finite(outputs):
        raise SmokeTestError(f"predict answered without finite numeric outputs: {json.dumps(answer)[:200]}")
    if expected:
        return (f"OK: {model} version(s) {version} AVAILABLE; version {max(expected)} answered a predict of "
                f"{name}{shape} ({dtype})")
    return f"OK: {model} version {version} answered a predict of {name}{shape} ({dtype})"


def main(argv: list[str]) -> int:
    versions = argv[2].split(",") if len(argv) == 3 else []
    if len(argv) not in (2, 3) or not all(v.isdigit() and int(v) > 0 for v in versions):
        print("usage: smoke_check.py REST_URL MODEL_NAME [VERSION,VERSION...]", file=sys.stderr)
        return 2
    try:
        print(check(argv[0], argv[1], expected=[int(v) for v in versions]))
        return 0
    except SmokeTestError as failure:
        return report_failure(failure)


def report_failure(failure: SmokeTestError) -> int:
    """Say why on stderr and in the termination log (the Job's failure message); the exit code, 1."""
    message = f"smoke test failed: {failure}"
    print(message, file=sys.stderr)
    with contextlib.suppress(OSError), open(TERMINATION_LOG, "w") as log:
        log.write(message)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
