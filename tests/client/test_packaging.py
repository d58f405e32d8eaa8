"""The package: a wheel built from pyproject.toml holds the three packages and the client's data, declares the
console scripts and the extras, and installs into a fresh venv where the client runs without Pulumi.

The wheel is built from a copy of the sources (pip builds in the tree it is given and would leave build/ and
*.egg-info here), without build isolation and without an index: seconds, no download. The fresh venv gets the
wheel with --no-deps, then the `client` extra's distributions (and what they require) from this venv by
symlink: exactly those, so `import pulumi` there fails as it would after `pip install 'eks-inferentia[client]'`.
"""

from __future__ import annotations

import email
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.client.standin_grpc import GrpcStandIn
from tests.client.standin_openai import OpenAIStandIn

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("eks_inferentia", "components", "client")
SCRIPTS = {"eks-inferentia-predict": "client.scripts:predict", "eks-inferentia-status": "client.scripts:status",
           "eks-inferentia-loadtest": "client.scripts:loadtest", "eks-inferentia-chat": "client.scripts:chat"}


def _pins(path: Path) -> list[str]:
    return [line.split("#")[0].strip() for line in path.read_text().splitlines()
            if line.split("#")[0].strip() and not line.startswith("-")]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for package in PACKAGES:
        shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "--no-index",
                    "--quiet", "--wheel-dir", str(dist)], check=True, capture_output=True, timeout=120)
    [built] = dist.glob("*.whl")
    return built


def test_the_wheel_holds_the_packages_and_the_clients_data(wheel: Path) -> None:
    assert wheel.name == "eks_inferentia-0.1.0-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {path.relative_to(REPO).as_posix() for package in PACKAGES for path in (REPO / package).rglob("*")
                if path.is_file() and "__pycache__" not in path.parts and path.name != "requirements.txt"}
    assert {name for name in names if not name.startswith("eks_inferentia-0.1.0.dist-info/")} == expected
    assert {"client/imagenet_class_index.json", "client/protos/serving.proto", "client/protos/serving_pb2.py",
            "client/protos/serving_pb2.pyi", "eks_inferentia/model_sync.py", "eks_inferentia/smoke_check.py"} <= names


def test_the_metadata(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        meta = email.message_from_bytes(archive.read("eks_inferentia-0.1.0.dist-info/METADATA"))
        entry_points = archive.read("eks_inferentia-0.1.0.dist-info/entry_points.txt").decode()
    assert (meta["Name"], meta["Version"], meta["Requires-Python"]) == ("eks-inferentia", "0.1.0", ">=3.11")
    assert meta.get_all("Provides-Extra") == ["infra", "client", "plot"]
    requires = meta.get_all("Requires-Dist") or []
    by_extra: dict[str, list[str]] = {}
    for requirement in requires:
        spec, marker = requirement.split("; extra == ")  # nothing without an extra: the base install pulls nothing
        by_extra.setdefault(marker.strip('"'), []).append(spec)
    # Pinned as the requirement files pin them.
    assert by_extra["infra"] == _pins(REPO / "requirements.txt")
    assert by_extra["client"] == _pins(REPO / "client" / "requirements.txt")
    matplotlib = next(pin for pin in _pins(REPO / "requirements-dev.txt") if pin.startswith("matplotlib=="))
    assert by_extra["plot"] == ["eks-inferentia[client]", matplotlib]
    assert not any(spec.startswith("pulumi") for spec in by_extra["client"] + by_extra["plot"])
    scripts = dict(re.findall(r"^(\S+) = (\S+)$", entry_points.split("[console_scripts]")[1], re.MULTILINE))
    assert scripts == SCRIPTS


def _distribution_closure(names: list[str]) -> set[str]:
    """The distributions `names` need, recursively (no extras), as this venv has them."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


@pytest.fixture(scope="module")
def client_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with the wheel (no dependencies yet); `with_client_extra` adds the extra's."""
    root = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(root)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(root / "bin" / "python"), "install", "--no-deps", "--no-index",
                    "--quiet", str(wheel)], check=True, capture_output=True, timeout=120)
    yield root


def _site_packages(root: Path) -> Path:
    [site] = root.glob("lib/python3*/site-packages")
    return site


def _provide_client_extra(root: Path) -> list[str]:
    """Symlink the client extra's distributions from this venv into a folder the fresh venv's .pth adds."""
    deps = root / "client-extra"
    deps.mkdir(exist_ok=True)
    extra = [re.match(r"[A-Za-z0-9._-]+", pin).group() for pin in _pins(REPO / "client" / "requirements.txt")]  # type: ignore[union-attr]
    closure = sorted(_distribution_closure(extra))
    for name in closure:
        dist = metadata.distribution(name)
        for top in {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}:
            source = Path(str(dist.locate_file(top)))
            if source.exists() and not (deps / top).exists():
                (deps / top).symlink_to(source)
    (_site_packages(root) / "client-extra.pth").write_text(f"{deps}\n")
    return closure


def _run(root: Path, *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(root / "bin" / argv[0]), *argv[1:]], cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False)


def test_a_script_without_the_client_extra_says_what_to_install(client_venv: Path, tmp_path: Path) -> None:
    done = _run(client_venv, "eks-inferentia-predict", "--help", cwd=tmp_path)

    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("error: eks-inferentia-predict needs the client's dependencies, and numpy is not installed: "
                           "pip install 'eks-inferentia[client]'\n")


def test_the_chat_client_needs_no_extra(client_venv: Path, tmp_path: Path) -> None:
    """Standard library only: it runs before the client extra is provided (the test above checked it is absent)."""
    with OpenAIStandIn() as server:
        done = _run(client_venv, "eks-inferentia-chat", "What is Inferentia?", "--url", server.url, cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "You said: What is Inferentia?\n", "")


def test_the_client_runs_from_the_installed_package_without_pulumi(client_venv: Path, tmp_path: Path) -> None:
    closure = _provide_client_extra(client_venv)
    assert closure == ["grpcio", "numpy", "pillow", "protobuf", "typing-extensions"]

    done = _run(client_venv, "python", "-c", "import pulumi", cwd=tmp_path)
    assert done.returncode == 1 and "ModuleNotFoundError: No module named 'pulumi'" in done.stderr
    done = _run(client_venv, "python", "-c", "import client, client.protos.serving_pb2 as s; print(client.__file__)", cwd=tmp_path)
    assert done.stdout.startswith(str(_site_packages(client_venv) / "client" / "__init__.py"))  # not this checkout

    for script in SCRIPTS:
        done = _run(client_venv, script, "--help", cwd=tmp_path)
        assert (done.returncode, done.stderr) == (0, ""), script
        assert done.stdout.startswith(f"usage: python -m client.{script.removeprefix('eks-inferentia-')} "), script

    image = tmp_path / "red.png"
    from PIL import Image

    Image.new("RGB", (64, 64), (230, 20, 30)).save(image)
    with GrpcStandIn() as server:
        done = _run(client_venv, "eks-inferentia-predict", str(image), "--grpc", server.target, "--top", "1", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("  1. strawberry (n07745940)  ")
