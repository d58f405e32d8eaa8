"""The model sync script against a fake `aws` (a stub executable that serves a local folder as S3).

The stub answers `s3api list-objects-v2` and `s3 sync --delete` the way the AWS CLI does for these
calls (JSON `Contents` with Key, Size, ETag; nothing at all for an empty prefix), copying real files,
so the staging, rename and removal really happen on disk. It is not the AWS CLI.
"""

from __future__ import annotations

import ast
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eks_inferentia import model_sync
from eks_inferentia.model_sync import (
    Syncer,
    SyncError,
    local_versions,
    parse_listing,
    removable,
    run_once,
    split_source,
    wanted_versions,
)

SCRIPT = Path(model_sync.__file__)
SOURCE = "s3://models-bucket/resnet50/"

FAKE_AWS = r'''#!PYTHON
import hashlib, json, os, shutil, sys
root = os.environ["FAKE_S3_ROOT"]
args = sys.argv[1:]
with open(os.environ["FAKE_AWS_LOG"], "a") as log:
    log.write(json.dumps(args) + "\n")
fail = os.environ.get("FAKE_AWS_FAIL", "")
if fail and fail == args[1]:
    sys.stderr.write("\nAn error occurred (AccessDenied) when calling the " + args[1] + " operation: Access Denied\n")
    sys.exit(255)
if args[:2] == ["s3api", "list-objects-v2"]:
    bucket, prefix = args[args.index("--bucket") + 1], args[args.index("--prefix") + 1]
    contents = []
    for folder, _, names in os.walk(os.path.join(root, bucket)):
        for name in names:
            path = os.path.join(folder, name)
            key = os.path.relpath(path, os.path.join(root, bucket)).replace(os.sep, "/")
            if key.startswith(prefix):
                data = open(path, "rb").read()
                contents.append({"Key": key, "Size": len(data), "ETag": '"' + hashlib.md5(data).hexdigest() + '"'})
    if contents:
        print(json.dumps({"Contents": sorted(contents, key=lambda c: c["Key"])}))
    sys.exit(0)
if args[:2] == ["s3", "sync"]:
    source, dest = args[-2], args[-1]
    bucket, _, key = source[len("s3://"):].partition("/")
    source_dir = os.path.join(root, bucket, key)
    os.makedirs(dest, exist_ok=True)
    if "--delete" in args:
        for name in os.listdir(dest):
            if not os.path.exists(os.path.join(source_dir, name)):
                target = os.path.join(dest, name)
                shutil.rmtree(target) if os.path.isdir(target) else os.remove(target)
    if os.path.isdir(source_dir):
        shutil.copytree(source_dir, dest, dirs_exist_ok=True)
    if fail == "truncate":
        for folder, _, names in os.walk(dest):
            for name in names:
                open(os.path.join(folder, name), "wb").close()
    sys.exit(0)
sys.stderr.write("fake aws: unexpected call " + " ".join(args) + "\n")
sys.exit(2)
'''


class FakeS3:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = tmp_path / "s3"
        self.root.mkdir()
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        self.aws = bin_dir / "aws"
        self.aws.write_text(FAKE_AWS.replace("PYTHON", sys.executable))
        self.aws.chmod(0o755)
        self.log = tmp_path / "aws.log"
        self.log.touch()
        monkeypatch.setenv("FAKE_S3_ROOT", str(self.root))
        monkeypatch.setenv("FAKE_AWS_LOG", str(self.log))
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        self.monkeypatch = monkeypatch

    def upload(self, version: str, files: dict[str, str] | None = None) -> None:
        for path, text in (files or {"saved_model.pb": f"graph {version}", "variables/variables.index": "index"}).items():
            target = self.root / "models-bucket" / "resnet50" / version / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)

    def delete(self, version: str) -> None:
        import shutil
        shutil.rmtree(self.root / "models-bucket" / "resnet50" / version)

    def fail(self, what: str) -> None:
        self.monkeypatch.setenv("FAKE_AWS_FAIL", what)

    def calls(self) -> list[list[str]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeS3:
    return FakeS3(tmp_path, monkeypatch)


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    models = tmp_path / "models"  # the emptyDir
    return models / "resnet50", models / ".sync"


def served(dest: Path) -> dict[str, list[str]]:
    """What TensorFlow Serving would see: every entry of the base path, with the files in it."""
    return {entry.name: sorted(str(p.relative_to(entry)) for p in entry.rglob("*") if p.is_file())
            for entry in sorted(dest.iterdir())}


# -- the pieces, as plain functions --

def test_the_listing_yields_complete_digit_folders_only() -> None:
    listing = json.dumps({"Contents": [
        {"Key": "m/1/saved_model.pb", "Size": 10, "ETag": '"a"'},
        {"Key": "m/1/variables/variables.index", "Size": 3, "ETag": '"b"'},
        {"Key": "m/1/", "Size": 0, "ETag": '"c"'},  # a folder marker, as the console makes them
        {"Key": "m/2/variables/variables.index", "Size": 3, "ETag": '"d"'},  # no saved_model.pb (yet)
        {"Key": "m/2a/saved_model.pb", "Size": 3, "ETag": '"e"'},  # TF Serving would not take 2a as a version
        {"Key": "m/.staging/saved_model.pb", "Size": 3, "ETag": '"f"'},
        {"Key": "m/README", "Size": 3, "ETag": '"g"'},
        {"Key": "m/10/saved_model.pbtxt", "Size": 4, "ETag": '"h"'},
    ]})
    versions, incomplete = parse_listing(listing, "m/")
    assert sorted(versions) == [1, 10]
    assert versions[1].folder == "1" and versions[1].files == {("saved_model.pb", 10, '"a"'),
                                                               ("variables/variables.index", 3, '"b"')}
    assert incomplete == ["2"]
    assert parse_listing("", "m/") == ({}, [])  # the CLI prints nothing for an empty prefix
    assert parse_listing('{"RequestCharged": null}', "m/") == ({}, [])
    for broken in ("not json", '{"Contents": [{"Size": 1}]}', "[1]", '{"Contents": {"Key": "x"}}'):
        with pytest.raises(SyncError, match="not list-objects-v2 JSON"):
            parse_listing(broken, "m/")


def test_which_versions_are_wanted_and_which_may_go() -> None:
    available = {n: model_sync.Version(n, str(n), frozenset()) for n in (1, 2, 5)}
    assert wanted_versions(available, ()) == {5}  # TF Serving's default: the latest
    assert wanted_versions(available, (2, 1)) == {1, 2}
    assert wanted_versions(available, (2, 9)) == {2}  # 9 is not in S3
    assert wanted_versions({}, ()) == set() and wanted_versions({}, (1,)) == set()
    assert removable({1, 2}, {2}) == {1}
    assert removable({1}, {2}) == set()  # 2 is not in place yet: keep serving 1
    assert removable({1, 2}, set()) == set()  # nothing wanted (S3 empty): never remove the last versions
    assert removable({1, 2}, {1, 2}) == set()


def test_source_uris_split_into_bucket_and_slash_terminated_prefix() -> None:
    assert split_source("s3://b/a/b") == ("b", "a/b/") and split_source("s3://b/a/b/") == ("b", "a/b/")
    assert split_source("s3://b") == ("b", "")
    with pytest.raises(SyncError):
        split_source("/models")


def test_the_script_runs_on_the_images_python_3_10() -> None:
    # The Deep Learning Container runs Python 3.10: no syntax or stdlib names from later versions.
    tree = ast.parse(SCRIPT.read_text(), feature_version=(3, 10))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= set(sys.stdlib_module_names) | {"__future__", "collections.abc"}


# -- against the fake aws: real copies, renames and deletions --

def test_the_first_copy_takes_the_latest_version_through_staging(s3: FakeS3, dirs: tuple[Path, Path]) -> None:
    dest, staging = dirs
    s3.upload("1")
    s3.upload("2")
    assert run_once(Syncer(SOURCE, str(dest), str(staging), wait_for_stable=False)) == ["version 2 copied"]
    assert served(dest) == {"2": ["saved_model.pb", "variables/variables.index"]}
    assert (dest / "2" / "saved_model.pb").read_text() == "graph 2"
    assert list(staging.iterdir()) == []  # the staging folder was renamed into place, not copied
    assert s3.calls() == [
        ["s3api", "list-objects-v2", "--bucket", "models-bucket", "--prefix", "resnet50/", "--output", "json"],
        ["s3", "sync", "--only-show-errors", "--delete", "s3://models-bucket/resnet50/2/", f"{staging}/2/"],
    ]


def test_pinned_versions_are_copied_and_a_missing_one_fails_the_first_copy(s3: FakeS3, dirs: tuple[Path, Path]) -> None:
    dest, staging = dirs
    for version in ("1", "2", "3"):
        s3.upload(version)
    run_once(Syncer(SOURCE, str(dest), str(staging), pinned=(1, 2), wait_for_stable=False))
    assert sorted(served(dest)) == ["1", "2"]
    with pytest.raises(SyncError, match=r"modelVersions \[4\]: version\(s\) 4 are not complete folders in "
                                        r"s3://models-bucket/resnet50/"):
        run_once(Syncer(SOURCE, str(dest / "other"), str(staging), pinned=(4,), wait_for_stable=False))


def test_an_empty_prefix_fails_the_first_copy(s3: FakeS3, dirs: tuple[Path, Path]) -> None:
    dest, staging = dirs
    s3.upload("1", {"variables/variables.index": "no graph yet"})
    with pytest.raises(SyncError, match=r"no version folder \(1/, 2/, ... with saved_model.pb\) in s3://"):
        run_once(Syncer(SOURCE, str(dest), str(staging), wait_for_stable=False))


def test_a_new_version_lands_once_stable_then_the_old_one_goes(s3: FakeS3, dirs: tuple[Path, Path]) -> None:
    dest, staging = dirs
    s3.upload("1")
    run_once(Syncer(SOURCE, str(dest), str(staging), wait_for_stable=False))
    syncer = Syncer(SOURCE, str(dest), str(staging))
    assert syncer.round() == []
    s3.upload("2", {"saved_model.pb": "graph 2"})  # the upload has started
    assert syncer.round() == ["version 2 is new or still changing in S3; copying it once it is unchanged for one round"]
    s3.upload("2", {"variables/variables.index": "index"})  # and goes on
    assert syncer.round()[0].startswith("version 2 is new or still changing")
    assert sorted(served(dest)) == ["1"]  # nothing half-uploaded reached the server
    assert syncer.round() == ["version 2 copied", "version 1 removed"]
    assert served(dest) == {"2": ["saved_model.pb", "variables/variables.index"]}
    assert list(staging.iterdir()) == []
    # Steady state: one listing per round, nothing copied again (version folders are immutable).
    calls = len(s3.calls())
    assert syncer.round() == []
    assert [call[:2] for call in s3.calls()[calls:]] == [["s3api", "list-objects-v2"]]


def test_rolling_back_by_deleting_the_new_version_in_s3(s3: FakeS3, dirs: tuple[Path, Path]) -> None:
    dest, staging = dirs
    s3.upload("1")
    s3.upload("2")
    run_once(Syncer(SOURCE, str(dest), str(staging), wait_for_stable=False))
    syncer = Syncer(SOURCE, str(dest), str(staging))
    syncer.round()
    s3.delete("2")
    # 1 is the latest again, and its listing has not changed since the last round: it comes back at once.
    assert syncer.round() == ["version 1 copied", "version 2 removed"]
    assert sorted(served(dest)) == ["1"]


def test_a_pinned_version_gone_from_s3_is_removed_but_never_the_last_one(s3: FakeS3, dirs: tuple[Path, Path]) -> None:
    dest, staging = dirs
    s3.upload("1")
    s3.upload("2")
    syncer = Syncer(SOURCE, str(dest), str(staging), pinned=(1, 2))
    run_once(Syncer(SOURCE, str(dest), str(staging), pinned=(1, 2), wait_for_stable=False))
    syncer.round()
    s3.delete("2")
    assert syncer.round() == ["version(s) 2 not in s3://models-bucket/resnet50/", "version 2 removed"]
    s3.delete("1")
    assert syncer.round() == ["version(s) 1, 2 not in s3://models-bucket/resnet50/",
                              "no wanted version in s3://models-bucket/resnet50/; keeping version(s) 1"]
    assert sorted(served(dest)) == ["1"]


def test_a_failed_listing_changes_nothing_and_the_loop_goes_on(
        s3: FakeS3, dirs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    dest, staging = dirs
    s3.upload("1")
    run_once(Syncer(SOURCE, str(dest), str(staging), wait_for_stable=False))
    s3.upload("2")
    s3.fail("list-objects-v2")
    slept: list[float] = []
    argv = ["--source", SOURCE, "--dest", str(dest), "--staging", str(staging), "--interval", "30", "--rounds", "2"]
    assert model_sync.main(argv, sleep=slept.append) == 0
    assert slept == [30]
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["model-sync: sync failed, the served copy is unchanged; retrying in 30 s: aws s3api "
                     "list-objects-v2 exited 255: An error occurred (AccessDenied) when calling the list-objects-v2 "
                     "operation: Access Denied"] * 2  # one line a round
    assert sorted(served(dest)) == ["1"]


@pytest.mark.parametrize("failure", ["sync", "truncate"])
def test_a_failed_copy_never_reaches_the_server_and_is_retried(
        s3: FakeS3, dirs: tuple[Path, Path], failure: str) -> None:
    dest, staging = dirs
    s3.upload("1")
    run_once(Syncer(SOURCE, str(dest), str(staging), wait_for_stable=False))
    syncer = Syncer(SOURCE, str(dest), str(staging))
    s3.upload("2")
    syncer.round()
    s3.fail(failure)
    message = ("aws s3 sync exited 255: An error occurred" if failure == "sync"
               else "version 2: (saved_model.pb|variables/variables.index) did not arrive whole")
    with pytest.raises(SyncError, match=message):
        syncer.round()
    assert served(dest) == {"1": ["saved_model.pb", "variables/variables.index"]}  # 1 kept, no half of 2
    s3.fail("")
    assert syncer.round() == ["version 2 copied", "version 1 removed"]  # the next round completes the staging copy
    assert (dest / "2" / "variables" / "variables.index").read_text() == "index"


def test_the_init_container_run_exits_1_with_its_message_in_the_log(
        s3: FakeS3, dirs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest, staging = dirs
    termination_log = tmp_path / "termination-log"
    monkeypatch.setattr(model_sync, "TERMINATION_LOG", str(termination_log))
    s3.fail("list-objects-v2")
    assert model_sync.main(["--source", SOURCE, "--dest", str(dest), "--staging", str(staging), "--once"]) == 1
    assert termination_log.read_text().startswith("model copy failed: aws s3api list-objects-v2 exited 255")


def test_the_script_runs_as_a_program(s3: FakeS3, dirs: tuple[Path, Path]) -> None:
    dest, staging = dirs
    s3.upload("3")
    done = subprocess.run([sys.executable, str(SCRIPT), "--source", SOURCE, "--dest", str(dest), "--staging",
                           str(staging), "--versions", "3", "--once"], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (0, "model-sync: version 3 copied\n")
    assert local_versions(str(dest)) == {3}


def test_pod_identity_credentials_must_have_been_injected() -> None:
    injected = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE":
                    "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"}
    assert model_sync.credentials_problem("pod-identity", injected) is None
    assert model_sync.credentials_problem("node-role", {}) is None
    problem = model_sync.credentials_problem("pod-identity", {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://x"})
    assert problem is not None and problem.startswith(
        "no EKS Pod Identity credentials in this pod (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE not set): ")
    assert "delete this pod" in problem


def test_a_pod_without_its_pod_identity_credentials_fails_before_calling_aws(
        s3: FakeS3, dirs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest, staging = dirs
    termination_log = tmp_path / "termination-log"
    monkeypatch.setattr(model_sync, "TERMINATION_LOG", str(termination_log))
    for name in model_sync.POD_IDENTITY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    s3.upload("1")
    args = ["--source", SOURCE, "--dest", str(dest), "--staging", str(staging), "--credentials", "pod-identity"]
    assert model_sync.main([*args, "--once"]) == 1
    assert termination_log.read_text().startswith("model copy failed: no EKS Pod Identity credentials in this pod")
    assert not s3.log.exists() or s3.calls() == []  # the AWS CLI was never run
    # The sidecar says the same each round and changes nothing.
    assert model_sync.main([*args, "--interval", "10", "--rounds", "1"], sleep=lambda _: None) == 0
    assert not dest.exists()
    # With the variables present, the same run copies the model.
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.170.23/v1/credentials")
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(tmp_path / "token"))
    assert model_sync.main([*args, "--once"]) == 0
    assert local_versions(str(dest)) == {1}


@pytest.mark.parametrize("argv", [
    ["--dest", "/m", "--staging", "/s", "--once"],                            # --source is required
    ["--source", "s3://b/m/", "--staging", "/s", "--once"],                   # --dest is required
    ["--source", "s3://b/m/", "--dest", "/m", "--once"],                      # --staging is required
    ["--source", "s3://b/m/", "--dest", "/m", "--staging", "/s"],             # --once or --interval
    ["--source", "s3://b/m/", "--dest", "/m", "--staging", "/s", "--once", "--interval", "60"],  # not both
    ["--source", "s3://b/m/", "--dest", "/m", "--staging", "/s", "--once", "--credentials", "static"],
])
def test_main_refuses_incomplete_or_contradictory_arguments(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from eks_inferentia import model_sync

    with pytest.raises(SystemExit) as exit_:
        model_sync.main(argv)
    assert exit_.value.code == 2 and capsys.readouterr().err.startswith("usage: model_sync.py")


def test_the_test_only_rounds_flag_stays_out_of_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    from eks_inferentia import model_sync

    with pytest.raises(SystemExit):
        model_sync.main(["--help"])
    out = capsys.readouterr().out
    assert "--interval" in out and "--rounds" not in out


# -- what mutation testing found unchecked: exact messages and calls, the parser, main's every path --

def test_a_listing_without_etags_and_a_version_named_twice() -> None:
    listing = json.dumps({"Contents": [
        {"Key": "n/8/saved_model.pb", "Size": 3, "ETag": '"d"'},  # outside the prefix: skipped, and the rest read
        {"Key": "m/007/saved_model.pb", "Size": 1},  # no ETag: an empty one
        {"Key": "m/007/variables/", "Size": 0},  # a folder marker below a version
        {"Key": "m/7/saved_model.pb", "Size": 2, "ETag": '"b"'},
        {"Key": "m/other/9/saved_model.pb", "Size": 3, "ETag": '"c"'},  # not a version folder of the prefix
    ]})
    versions, incomplete = parse_listing(listing, "m/")
    assert versions == {7: model_sync.Version(7, "007", frozenset({("saved_model.pb", 1, "")}))}  # the first by name
    assert incomplete == []


def test_an_incomplete_folder_before_a_complete_one_leaves_it_listed() -> None:
    listing = json.dumps({"Contents": [{"Key": "m/1/variables/variables.index", "Size": 3, "ETag": '"a"'},
                                       {"Key": "m/2/saved_model.pb", "Size": 4, "ETag": '"b"'}]})
    assert parse_listing(listing, "m/") == ({2: model_sync.Version(2, "2", frozenset({("saved_model.pb", 4, '"b"')}))},
                                            ["1"])


@pytest.mark.parametrize("broken", ["not json", '{"Contents": [{"Size": 1}]}', "[1]", '"text"',
                                    '{"Contents": {"Key": "x"}}', '{"Contents": ["m/1/saved_model.pb"]}',
                                    '{"Contents": [{"Key": "m/1/saved_model.pb", "Size": "big"}]}'])
def test_a_broken_listing_is_one_message(broken: str) -> None:
    with pytest.raises(SyncError) as caught:
        parse_listing(broken, "m/")
    assert str(caught.value) == "the S3 listing is not list-objects-v2 JSON"


def test_only_digit_folders_in_dest_are_versions(tmp_path: Path) -> None:
    for folder in ("3", "05", "x", "4a"):
        (tmp_path / folder).mkdir()
    (tmp_path / "6").write_text("a file, not a version folder")
    assert local_versions(str(tmp_path)) == {3, 5}
    assert local_versions(str(tmp_path / "missing")) == set()


def test_source_uris_lose_every_slash_around_the_prefix() -> None:
    assert split_source("s3://b//a//") == ("b", "a/")
    assert split_source("s3://b/") == ("b", "")
    assert split_source("s3://BOX/XBOX") == ("BOX", "XBOX/")  # slashes only, not the letters around them
    with pytest.raises(SyncError) as caught:
        split_source("s3:/b/a")
    assert str(caught.value) == "s3:/b/a is not an s3:// URI"


def _runs(monkeypatch: pytest.MonkeyPatch, outcome: object) -> list[tuple[list[str], dict[str, object]]]:
    """Replace subprocess.run in model_sync: record (argv, keywords) and return or raise `outcome`."""
    calls: list[tuple[list[str], dict[str, object]]] = []

    def run(argv: list[str], **kwargs: object) -> object:
        calls.append((argv, kwargs))
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    monkeypatch.setattr(model_sync.subprocess, "run", run)
    return calls


def test_the_aws_cli_runs_captured_as_text_for_at_most_an_hour(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _runs(monkeypatch, subprocess.CompletedProcess(["aws"], 0, "listing\n", ""))
    assert model_sync._aws("/bin/aws", "s3api", "list-objects-v2", "--bucket", "b") == "listing\n"
    [(argv, kwargs)] = calls
    assert argv == ["/bin/aws", "s3api", "list-objects-v2", "--bucket", "b"]
    assert {key: kwargs[key] for key in ("capture_output", "text", "timeout")} == {
        "capture_output": True, "text": True, "timeout": 3600}


@pytest.mark.parametrize(("outcome", "message"), [
    (subprocess.CompletedProcess(["aws"], 255, "", "\nAn error occurred (NoSuchBucket)\n  \n"),
     "aws s3 sync exited 255: An error occurred (NoSuchBucket)"),  # the last line that says something
    (subprocess.CompletedProcess(["aws"], 1, "", "first\n  last  \n"), "aws s3 sync exited 1: last"),
    (subprocess.CompletedProcess(["aws"], 2, "", ""), "aws s3 sync exited 2: no message"),
    (subprocess.TimeoutExpired(["aws", "s3", "sync"], 3600),
     "aws s3 sync: Command '['aws', 's3', 'sync']' timed out after 3600 seconds"),
    (PermissionError(13, "Permission denied"), "aws s3 sync: [Errno 13] Permission denied"),
])
def test_a_failed_aws_run_is_one_line(monkeypatch: pytest.MonkeyPatch, outcome: object, message: str) -> None:
    _runs(monkeypatch, outcome)
    with pytest.raises(SyncError) as caught:
        model_sync._aws("aws", "s3", "sync", "s3://b/m/1/", "/s/1/")
    assert str(caught.value) == message


def test_an_incomplete_folder_is_skipped_with_a_note(s3: FakeS3, dirs: tuple[Path, Path]) -> None:
    dest, staging = dirs
    s3.upload("1")
    s3.upload("2", {"variables/variables.index": "no graph yet"})
    assert run_once(Syncer(SOURCE, str(dest), str(staging), wait_for_stable=False)) == [
        "s3://models-bucket/resnet50/2/ has no saved_model.pb yet; skipped", "version 1 copied"]


def test_a_truncated_file_is_named(s3: FakeS3, dirs: tuple[Path, Path]) -> None:
    dest, staging = dirs
    s3.upload("2", {"saved_model.pb": "graph"})
    s3.fail("truncate")
    with pytest.raises(SyncError) as caught:
        run_once(Syncer(SOURCE, str(dest), str(staging), wait_for_stable=False))
    assert str(caught.value) == "version 2: saved_model.pb did not arrive whole"


def test_every_failed_copy_of_a_round_is_named(s3: FakeS3, dirs: tuple[Path, Path]) -> None:
    dest, staging = dirs
    s3.upload("1")
    s3.upload("2")
    s3.fail("sync")
    with pytest.raises(SyncError) as caught:
        Syncer(SOURCE, str(dest), str(staging), pinned=(1, 2), wait_for_stable=False).round()
    denied = "aws s3 sync exited 255: An error occurred (AccessDenied) when calling the sync operation: Access Denied"
    assert str(caught.value) == f"{denied}; {denied}"


def test_every_missing_pinned_version_fails_the_first_copy(s3: FakeS3, dirs: tuple[Path, Path]) -> None:
    dest, staging = dirs
    s3.upload("1")
    with pytest.raises(SyncError) as caught:
        run_once(Syncer(SOURCE, str(dest), str(staging), pinned=(4, 5), wait_for_stable=False))
    assert str(caught.value) == ("modelVersions [4, 5]: version(s) 4, 5 are not complete folders in "
                                 "s3://models-bucket/resnet50/ (N/ with saved_model.pb)")


def test_a_removal_left_half_done_is_finished(s3: FakeS3, dirs: tuple[Path, Path]) -> None:
    dest, staging = dirs
    s3.upload("1")
    s3.upload("2")
    run_once(Syncer(SOURCE, str(dest), str(staging), pinned=(1,), wait_for_stable=False))
    (staging / "remove-1" / "variables").mkdir(parents=True)  # a round that died between rename and delete
    (staging / "remove-1" / "variables" / "variables.index").write_text("old")
    assert Syncer(SOURCE, str(dest), str(staging), wait_for_stable=False).round() == [
        "version 2 copied", "version 1 removed"]
    assert sorted(served(dest)) == ["2"] and list(staging.iterdir()) == []


def test_without_both_pod_identity_variables_the_message_names_both() -> None:
    assert model_sync.credentials_problem("pod-identity", {"AWS_CONTAINER_CREDENTIALS_FULL_URI": ""}) == (
        "no EKS Pod Identity credentials in this pod (AWS_CONTAINER_CREDENTIALS_FULL_URI, "
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE not set): EKS injects them when a pod is created, so a pod created "
        "before its ServiceAccount's association took effect never has them; check the association (aws eks "
        "list-pod-identity-associations), then delete this pod: its replacement gets them")


def test_the_parsers_defaults_are_what_its_help_says() -> None:
    parser = model_sync.make_parser()
    args = parser.parse_args(["--source", SOURCE, "--dest", "/m", "--staging", "/s", "--interval", "30"])
    assert vars(args) == {"source": SOURCE, "dest": "/m", "staging": "/s", "versions": "", "aws": "aws",
                          "credentials": "node-role", "once": False, "interval": 30, "rounds": 0}
    assert vars(parser.parse_args(["--source", SOURCE, "--dest", "/m", "--staging", "/s", "--once"]))["interval"] is None


def _argv(dest: Path, staging: Path, *more: str) -> list[str]:
    return ["--source", SOURCE, "--dest", str(dest), "--staging", str(staging), *more]


def test_main_once_copies_the_listed_versions_at_once_and_exits_0(
        s3: FakeS3, dirs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    dest, staging = dirs
    for version in ("1", "2", "3"):
        s3.upload(version)
    assert model_sync.main(_argv(dest, staging, "--versions", "1, 2,", "--once")) == 0  # blanks and spaces allowed
    assert capsys.readouterr() == ("model-sync: version 1 copied\nmodel-sync: version 2 copied\n", "")
    assert local_versions(str(dest)) == {1, 2}


def test_main_with_an_interval_copies_a_version_once_two_listings_agree(
        s3: FakeS3, dirs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    dest, staging = dirs
    s3.upload("1")
    slept: list[float] = []
    assert model_sync.main(_argv(dest, staging, "--interval", "30", "--rounds", "2"), sleep=slept.append) == 0
    assert capsys.readouterr().out.splitlines() == [
        "model-sync: version 1 is new or still changing in S3; copying it once it is unchanged for one round",
        "model-sync: version 1 copied"]
    assert slept == [30]


class StopLoopError(Exception):
    pass


def test_the_sidecar_syncs_until_it_is_stopped(s3: FakeS3, dirs: tuple[Path, Path]) -> None:
    dest, staging = dirs
    s3.upload("1")
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 3:
            raise StopLoopError

    with pytest.raises(StopLoopError):
        model_sync.main(_argv(dest, staging, "--interval", "45"), sleep=sleep)
    assert slept == [45, 45, 45]
    assert [call[:2] for call in s3.calls()].count(["s3api", "list-objects-v2"]) == 3


def test_the_sidecar_without_its_credentials_says_so_each_round(
        s3: FakeS3, dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    dest, staging = dirs
    for name in model_sync.POD_IDENTITY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    argv = _argv(dest, staging, "--credentials", "pod-identity", "--interval", "10", "--rounds", "2")
    assert model_sync.main(argv, sleep=lambda _: None) == 0
    problem = model_sync.credentials_problem("pod-identity", {})
    assert capsys.readouterr().out == (
        f"model-sync: sync failed, the served copy is unchanged; retrying in 10 s: {problem}\n" * 2)
    assert s3.calls() == []


@pytest.fixture
def no_aws_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH without the fake aws (nor a real one): only --aws finds it."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_main_runs_the_aws_cli_it_is_given_or_aws_from_path(
        s3: FakeS3, dirs: tuple[Path, Path], tmp_path: Path, no_aws_on_path: None,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    dest, staging = dirs
    termination_log = tmp_path / "termination-log"
    monkeypatch.setattr(model_sync, "TERMINATION_LOG", str(termination_log))
    s3.upload("1")
    assert model_sync.main(_argv(dest, staging, "--aws", str(s3.aws), "--once")) == 0
    assert capsys.readouterr() == ("model-sync: version 1 copied\n", "")
    assert model_sync.main(_argv(tmp_path / "other", staging, "--once")) == 1
    message = "model copy failed: aws s3api list-objects-v2: [Errno 2] No such file or directory: 'aws'"
    assert capsys.readouterr() == (f"model-sync: {message}\n", "")
    assert termination_log.read_text() == message


def test_main_once_fails_with_one_line_when_there_is_no_termination_log(
        s3: FakeS3, dirs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    dest, staging = dirs
    monkeypatch.setattr(model_sync, "TERMINATION_LOG", str(tmp_path / "missing-directory" / "termination-log"))
    assert model_sync.main(_argv(dest, staging, "--once")) == 1
    assert capsys.readouterr() == (
        "model-sync: model copy failed: no version folder (1/, 2/, ... with saved_model.pb) in "
        "s3://models-bucket/resnet50/\n", "")


class FlushedLines(io.StringIO):
    """A stdout that records what had been written at each flush."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed: list[str] = []

    def flush(self) -> None:
        self.flushed.append(self.getvalue())


def test_every_line_is_flushed_as_it_is_logged(s3: FakeS3, dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    # In the pod stdout is a pipe, block-buffered: a sidecar's line must reach `kubectl logs` at once.
    dest, staging = dirs
    s3.upload("1")
    s3.upload("2")
    stdout = FlushedLines()
    monkeypatch.setattr(sys, "stdout", stdout)
    assert model_sync.main(_argv(dest, staging, "--versions", "1,2", "--once")) == 0
    first, second = stdout.getvalue().splitlines(keepends=True)
    assert stdout.flushed == [first, first + second]


def test_file_names_with_spaces_arrive_and_are_checked(s3: FakeS3, dirs: tuple[Path, Path]) -> None:
    dest, staging = dirs
    s3.upload("1", {"saved_model.pb": "graph", "assets/vocab file.txt": "words"})
    assert run_once(Syncer(SOURCE, str(dest), str(staging), wait_for_stable=False)) == ["version 1 copied"]
    assert (dest / "1" / "assets" / "vocab file.txt").read_text() == "words"


def test_every_new_version_waits_for_a_second_listing(s3: FakeS3, dirs: tuple[Path, Path]) -> None:
    dest, staging = dirs
    s3.upload("1")
    s3.upload("2")
    syncer = Syncer(SOURCE, str(dest), str(staging), pinned=(1, 2))
    waiting = "is new or still changing in S3; copying it once it is unchanged for one round"
    assert syncer.round() == [f"version 1 {waiting}", f"version 2 {waiting}"]
    assert syncer.round() == ["version 1 copied", "version 2 copied"]


def test_with_nothing_wanted_every_local_version_is_kept_and_named(s3: FakeS3, dirs: tuple[Path, Path]) -> None:
    dest, staging = dirs
    s3.upload("1")
    s3.upload("2")
    run_once(Syncer(SOURCE, str(dest), str(staging), pinned=(1, 2), wait_for_stable=False))
    s3.delete("1")
    s3.delete("2")
    assert Syncer(SOURCE, str(dest), str(staging)).round() == [
        "no wanted version in s3://models-bucket/resnet50/; keeping version(s) 1, 2"]
    assert sorted(served(dest)) == ["1", "2"]


def test_a_removed_version_that_cannot_be_deleted_is_still_out_of_sight(
        s3: FakeS3, dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    dest, staging = dirs
    s3.upload("1")
    s3.upload("2")
    run_once(Syncer(SOURCE, str(dest), str(staging), pinned=(1,), wait_for_stable=False))
    unlink = os.unlink

    def refuse(path: str, *, dir_fd: int | None = None) -> None:
        if os.path.basename(path) == "saved_model.pb":
            raise PermissionError(13, "Permission denied", path)
        unlink(path, dir_fd=dir_fd)

    monkeypatch.setattr(os, "unlink", refuse)
    assert Syncer(SOURCE, str(dest), str(staging), wait_for_stable=False).round() == [
        "version 2 copied", "version 1 removed"]
    assert sorted(served(dest)) == ["2"]
    assert (staging / "remove-1" / "saved_model.pb").read_text() == "graph 1"  # left for the next removal to clear
