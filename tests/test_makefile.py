"""The Makefile's deploy checks: they run before anything is installed, and accept only the AWS CLI v2.

Each test runs make with a PATH of stand-ins (a fake `pulumi` and `aws`), so nothing is deployed and
no real CLI on the machine changes the outcome.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAKE = shutil.which("make") or "make"


def _path(tmp_path: Path, **scripts: str) -> Path:
    """A bin folder holding only the shell tools the recipes use and the given stand-in scripts."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("grep", "cut", "mkdir"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    for name, body in scripts.items():
        script = bin_dir / name
        script.write_text(f"#!/bin/sh\n{body}\n")
        script.chmod(0o755)
    return bin_dir


def _make(tmp_path: Path, bin_dir: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "PULUMI_CONFIG_PASSPHRASE": "test",
           "PULUMI_BACKEND_URL": f"file://{tmp_path}/state"}
    return subprocess.run([MAKE, *targets, f"VENV={tmp_path}/venv", "STACK=dev"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


AWS_V2 = 'case "$1" in --version) echo "aws-cli/2.17.0 Python/3.12.6 Linux/6.8 exe/x86_64";; *) exit 0;; esac'


def test_up_reports_a_missing_pulumi_cli_before_installing_anything(tmp_path: Path) -> None:
    done = _make(tmp_path, _path(tmp_path, aws=AWS_V2), "up")
    assert done.returncode != 0
    assert "error: the Pulumi CLI is not installed" in done.stderr
    assert "-m venv" not in done.stdout and not (tmp_path / "venv").exists()


def test_the_aws_cli_v1_is_refused_naming_its_version(tmp_path: Path) -> None:
    aws_v1 = 'case "$1" in --version) echo "aws-cli/1.33.2 Python/3.11.9 Linux/6.5 botocore/1.34.2" >&2;; *) exit 0;; esac'
    done = _make(tmp_path, _path(tmp_path, pulumi="exit 0", aws=aws_v1), "up")
    assert done.returncode != 0
    assert "error: the AWS CLI is aws-cli/1.33.2; v2 is needed" in done.stderr
    assert not (tmp_path / "venv").exists()


def test_the_aws_cli_v2_with_credentials_and_a_passphrase_passes(tmp_path: Path) -> None:
    done = _make(tmp_path, _path(tmp_path, pulumi="exit 0", aws=AWS_V2), "check-deploy-tools")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "state").is_dir()  # the local backend's folder, made ready for `pulumi stack init`
