"""The mutation score per package from mutmut's results in `mutants/`, and every mutant that was not killed.

`make mutation` runs mutmut, then this. For each package: how many mutants the tests killed, out of how
many, and the score; then each mutant not killed, as the line it changes (`-` before, `+` after) and, when
`tools/mutation_allowlist.yaml` accepts it, the reason it is left alive (an equivalent mutant, a message
only a person reads, ...). A survivor the allowlist does not name is a gap in the tests or in the list.
Allowlist entries that match no surviving mutant are reported too, so the list does not rot.

    python -m tools.mutation_report [PACKAGE ...] [--fail-under PERCENT]

An allowlist entry names the function (`package.module.function`, or `package.module.Class.method`), the
line as written (`from`, stripped) and, optionally, the mutated line (`to`); without `to` it accepts every
mutant of that line. Lines are matched, not mutmut's mutant numbers, which change whenever the code does.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("components", "eks_inferentia", "client")
ALLOWLIST = ROOT / "tools" / "mutation_allowlist.yaml"
GOAL = 90.0
"""Percent of mutants each package's tests should kill (issue 15)."""

# mutmut's exit codes (mutmut.stats.status_by_exit_code): a failing test run is a kill, a run that hit
# its time limit too (the mutant made the code hang); the rest are not kills.
KILLED = {1: "killed", 3: "killed", 36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout",
          37: "caught by type check"}
NOT_KILLED = {0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 35: "suspicious", 2: "interrupted",
              -11: "segfault", -9: "segfault"}


def status(exit_code: int | None) -> str:
    if exit_code is None:
        return "not checked"
    return KILLED.get(exit_code) or NOT_KILLED.get(exit_code) or "suspicious"


def is_killed(exit_code: int | None) -> bool:
    return exit_code in KILLED


def function_name(mutant: str) -> str:
    """`eks_inferentia.config.xǁ_Readerǁproblem__mutmut_3` -> `eks_inferentia.config._Reader.problem`."""
    qualified = mutant.rpartition("__mutmut_")[0]
    module, _, mangled = qualified.rpartition(".")
    if mangled.startswith("xǁ"):
        _, class_name, method = mangled.split("ǁ")
        return f"{module}.{class_name}.{method}"
    return f"{module}.{mangled.removeprefix('x_')}"


@dataclass(frozen=True)
class Change:
    removed: str
    """The lines the mutant changes, as written (stripped, joined by newlines)."""
    added: str
    """The same lines in the mutant."""


def change_from_diff(diff: str) -> Change:
    """The changed lines of a unified diff of one function (the file headers skipped)."""
    lines = [line for line in diff.splitlines() if not line.startswith(("---", "+++", "@@"))]
    return Change(removed="\n".join(line[1:].strip() for line in lines if line.startswith("-")),
                  added="\n".join(line[1:].strip() for line in lines if line.startswith("+")))


@dataclass(frozen=True)
class Accepted:
    function: str
    removed: str
    added: str | None
    reason: str

    def matches(self, function: str, change: Change) -> bool:
        return (function == self.function and change.removed == self.removed
                and (self.added is None or change.added == self.added))


def load_allowlist(path: Path = ALLOWLIST) -> list[Accepted]:
    entries = (yaml.safe_load(path.read_text()) or []) if path.exists() else []
    accepted = []
    for number, entry in enumerate(entries, 1):
        missing = {"function", "from", "reason"} - set(entry)
        if missing or not str(entry["reason"]).strip():
            raise ValueError(f"{path}: entry {number} needs function, from and a reason (missing: {sorted(missing)})")
        added = entry.get("to")
        accepted.append(Accepted(str(entry["function"]), str(entry["from"]).strip(),
                                 None if added is None else str(added).strip(), str(entry["reason"]).strip()))
    return accepted


@dataclass(frozen=True)
class Survivor:
    mutant: str
    status: str
    function: str
    change: Change
    accepted: Accepted | None


@dataclass
class PackageScore:
    package: str
    total: int
    killed: int
    survivors: list[Survivor]
    population: int | None = None
    """When `total` is a random sample (`--sample`): how many mutants the package has."""

    @property
    def score(self) -> float:
        return 100.0 * self.killed / self.total if self.total else 100.0

    @property
    def interval(self) -> tuple[float, float]:
        """The score's 95 % Wilson interval, for a sample (a whole package's score has none: it is exact)."""
        return wilson_interval(self.killed, self.total)

    @property
    def accepted(self) -> int:
        return sum(1 for s in self.survivors if s.accepted)


def wilson_interval(killed: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval, in percent, of the share killed among `total` mutants drawn at random."""
    if not total:
        return 0.0, 100.0
    share = killed / total
    centre = (share + z * z / (2 * total)) / (1 + z * z / total)
    half = z * (share * (1 - share) / total + z * z / (4 * total * total)) ** 0.5 / (1 + z * z / total)
    return 100.0 * max(0.0, centre - half), 100.0 * min(1.0, centre + half)


def read_results(package: str, mutants_dir: Path) -> dict[str, tuple[Path, int | None]]:
    """Every mutant of the package's modules (or of one module, `package.module`): its source path
    (relative) and mutmut's exit code."""
    results: dict[str, tuple[Path, int | None]] = {}
    base = mutants_dir.joinpath(*package.split("."))
    metas = sorted(base.rglob("*.py.meta")) if "." not in package else [base.with_name(f"{base.name}.py.meta")]
    for meta in (m for m in metas if m.is_file()):
        source = meta.relative_to(mutants_dir).with_suffix("")
        for mutant, exit_code in json.loads(meta.read_text())["exit_code_by_key"].items():
            results[mutant] = (source, exit_code)
    return results


def score_package(package: str, results: dict[str, tuple[Path, int | None]], allowlist: Sequence[Accepted],
                  diff: Callable[[str, Path], str]) -> PackageScore:
    survivors = []
    for mutant, (source, exit_code) in sorted(results.items(), key=lambda item: _natural(item[0])):
        if is_killed(exit_code):
            continue
        function = function_name(mutant)
        change = change_from_diff(diff(mutant, source))
        accepted = next((entry for entry in allowlist if entry.matches(function, change)), None)
        survivors.append(Survivor(mutant, status(exit_code), function, change, accepted))
    return PackageScore(package, len(results), len(results) - len(survivors), survivors)


def score_sample(package: str, results: dict[str, tuple[Path, int | None]], sample: set[str],
                 allowlist: Sequence[Accepted], diff: Callable[[str, Path], str]) -> PackageScore | None:
    """The score of the package's mutants that `sample` names (None: it names none), out of all it has."""
    drawn = {mutant: result for mutant, result in results.items() if mutant in sample}
    if not drawn:
        return None
    return dataclasses.replace(score_package(package, drawn, allowlist, diff), population=len(results))


def _natural(mutant: str) -> tuple[str, int]:
    name, _, number = mutant.rpartition("__mutmut_")
    return name, int(number) if number.isdigit() else 0


def render(scores: Iterable[PackageScore], allowlist: Sequence[Accepted], goal: float = GOAL) -> str:
    scores = list(scores)
    out: list[str] = []
    for result in scores:
        out.append(f"\n{result.package}: {len(result.survivors)} of {result.total} mutants not killed")
        for survivor in result.survivors:
            verdict = f"accepted: {survivor.accepted.reason}" if survivor.accepted else "NOT ACCEPTED: a gap in the tests?"
            out.append(f"  {survivor.mutant} ({survivor.status})")
            out += [f"      - {line}" for line in survivor.change.removed.splitlines()]
            out += [f"      + {line}" for line in survivor.change.added.splitlines()]
            out.append(f"      {verdict}")
    used = {id(s.accepted) for result in scores for s in result.survivors if s.accepted}
    packages = tuple(f"{result.package}." for result in scores)
    stale = [entry for entry in allowlist if id(entry) not in used and entry.function.startswith(packages)]
    if stale:
        out.append("\nallowlist entries that match no surviving mutant (remove them, or fix the line):")
        out += [f"  {entry.function}: {entry.removed}" for entry in stale]
    out.append(f"\nmutation score (killed / mutants; goal: at least {goal:.0f} % per package)")
    for result in scores:
        mark = "" if result.score >= goal else "  BELOW THE GOAL"
        sample = ""
        if result.population is not None:
            low, high = result.interval
            sample = f"   a random sample of {result.population}; 95 % interval {low:.1f} to {high:.1f} %"
        out.append(f"  {result.package:<16} {result.killed:>5} / {result.total:<5} {result.score:5.1f} %"
                   f"   survivors: {result.accepted} accepted, {len(result.survivors) - result.accepted} not{mark}{sample}")
    return "\n".join(out)


def mutmut_diff(mutant: str, source: Path) -> str:
    from mutmut.mutation.diff_apply import get_diff_for_mutant  # only where `make mutation` installed it

    with contextlib.chdir(ROOT):  # mutmut reads mutants/ relative to the working directory
        return get_diff_for_mutant(mutant, path=source)


def _package_or_module(name: str) -> str:
    if name.partition(".")[0] not in PACKAGES:
        raise argparse.ArgumentTypeError(f"{name!r}: not one of {', '.join(PACKAGES)} nor a module of them")
    return name


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutation_report", description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", default=list(PACKAGES), type=_package_or_module, metavar="PACKAGE",
                        help=f"{', '.join(PACKAGES)}, or one module of them (components.addons)")
    parser.add_argument("--fail-under", type=float, default=None, metavar="PERCENT",
                        help="exit 1 when a package scores below this")
    parser.add_argument("--sample", type=Path, default=None, metavar="FILE",
                        help="score only the mutants FILE names, one per line (tools/mutation_sample.py draws them), "
                             "with the interval the package's score lies in")
    args = parser.parse_args(argv)
    sample = set(args.sample.read_text().split()) if args.sample else None
    mutants_dir = ROOT / "mutants"
    if not mutants_dir.is_dir():
        print("no mutants/ directory: run `make mutation` first", file=sys.stderr)
        return 2
    allowlist = load_allowlist()
    scores = []
    for package in args.packages:
        results = read_results(package, mutants_dir)
        if not results:
            print(f"no mutmut results for {package} in mutants/: run `make mutation PACKAGE={package}`", file=sys.stderr)
            return 2
        if sample is None:
            scores.append(score_package(package, results, allowlist, mutmut_diff))
        elif drawn := score_sample(package, results, sample, allowlist, mutmut_diff):
            scores.append(drawn)
    print(render(scores, allowlist))
    if args.fail_under is not None and any(result.score < args.fail_under for result in scores):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
