"""Benchmark: how long evaluating each stack under the mock engine takes, next to importing the SDKs alone.

    python -m tools.bench [--runs N]

Each measurement runs in a fresh interpreter, so imports are paid every time, as `pulumi up` pays them.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    rows = [("import the SDKs alone", timed(IMPORT_SDKS, args.runs))]
    rows += [(f"evaluate stack {stack}", timed(evaluate(stack), args.runs)) for stack in STACKS]
    baseline = statistics.median(rows[0][1])
    print(f"{'what':<28}{'median s':>10}{'min s':>9}{'max s':>9}{'program s':>11}   ({args.runs} runs each)")
    for label, times in rows:
        median = statistics.median(times)
        own = "" if label.startswith("import") else f"{median - baseline:>11.2f}"
        print(f"{label:<28}{median:>10.2f}{min(times):>9.2f}{max(times):>9.2f}{own}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
