"""Draw a fixed random sample of mutant names from `mutants/`, for a mutation score in minutes, not hours.

A whole package takes hours on a 2-core machine (README, "Mutation testing"); a simple random sample of
its mutants gives its score within a few points (`python -m tools.mutation_report --sample FILE` prints the
95 % interval). The draw is seeded, so the same `mutants/` gives the same sample.

    python -m tools.mutation_sample PACKAGE_OR_MODULE=SIZE ... > build/mutation/sample.txt
    .venv/bin/mutmut run $(cat build/mutation/sample.txt)
    .venv/bin/python -m tools.mutation_report --sample build/mutation/sample.txt PACKAGE_OR_MODULE ...
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence

from tools.mutation_report import ROOT, _package_or_module, read_results

SEED = 15


def draw(strata: Sequence[tuple[str, int]], seed: int = SEED) -> list[str]:
    """`size` mutant names of each package or module, drawn without replacement, in one seeded sequence."""
    rng = random.Random(seed)
    names: list[str] = []
    for name, size in strata:
        population = sorted(read_results(name, ROOT / "mutants"))
        names += rng.sample(population, min(size, len(population)))
    return names


def _stratum(text: str) -> tuple[str, int]:
    name, _, size = text.partition("=")
    if not size.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: expected PACKAGE_OR_MODULE=SIZE, e.g. components.serving=75")
    return _package_or_module(name), int(size)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutation_sample", description=__doc__.splitlines()[0])
    parser.add_argument("strata", nargs="+", type=_stratum, metavar="PACKAGE_OR_MODULE=SIZE")
    parser.add_argument("--seed", type=int, default=SEED,
                        help=f"another draw (default: {SEED}); a new one after fixing the survivors of the last")
    args = parser.parse_args(argv)
    print("\n".join(draw(args.strata, args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
