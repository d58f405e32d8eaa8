"""Run the offline checkers (checkov, parliament) from their own venv, `.venv-checkers` (`make checkers`).

checkov pins an old `packaging` that breaks the Pulumi SDK, so neither is importable here: both
run as programs. `--skip-download` keeps checkov offline (no Bridgecrew platform, no policy sync).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHECKERS_BIN = ROOT / ".venv-checkers" / "bin"


class CheckerMissingError(RuntimeError):
    pass


def checker(name: str) -> Path:
    path = CHECKERS_BIN / name
    if not path.exists():
        raise CheckerMissingError(f"{path} is missing: run `make checkers` (it creates .venv-checkers from requirements-checkers.txt)")
    return path


@dataclass(frozen=True)
class CheckovReport:
    passed: list[dict[str, Any]]
    failed: list[dict[str, Any]]
    skipped: list[dict[str, Any]]
    parsing_errors: int

    def failures(self) -> list[str]:
        return [f"{c['check_id']} {c['check_name']} ({c['resource']}, {c.get('file_path', '')})" for c in self.failed]


def run_checkov(framework: str, directory: Path) -> CheckovReport:
    """checkov over every file of `framework` in `directory`; its passed, failed and skipped checks."""
    result = subprocess.run(
        [str(checker("checkov")), "--framework", framework, "--directory", str(directory),
         "--skip-download", "--output", "json"],
        capture_output=True, text=True, check=False, timeout=600,
    )
    if not result.stdout.strip():
        raise RuntimeError(f"checkov printed no report (exit {result.returncode}): {result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    passed, failed, skipped = [], [], []
    parsing_errors = 0
    for one in reports:
        parsing_errors += one.get("summary", {}).get("parsing_errors", 0)
        if "results" not in one:  # an empty directory gives a bare summary
            continue
        passed += one["results"].get("passed_checks", [])
        failed += one["results"].get("failed_checks", [])
        skipped += one["results"].get("skipped_checks", [])
    return CheckovReport(passed, failed, skipped, parsing_errors)


def run_parliament(policy_json: str) -> list[dict[str, Any]]:
    """parliament's findings for one IAM identity policy document (empty: none)."""
    result = subprocess.run([str(checker("parliament")), "--string", policy_json, "--json"],
                            capture_output=True, text=True, check=False)
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
