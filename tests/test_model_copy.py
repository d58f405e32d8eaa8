"""The vLLM pods' model copy (eks_inferentia/model_copy.py) against the fake `aws` of test_model_sync.py,
taught `--exclude`: a Hugging Face model folder copied whole and checked, its compiled artifacts beside it."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from eks_inferentia import model_copy
from eks_inferentia.model_copy import copy, inner_folder, parse_files
from eks_inferentia.model_sync import SyncError
from tests.test_model_sync import FAKE_AWS, FakeS3, FlushedLines

SOURCE = "s3://models-bucket/llama/"
ARTIFACTS = "s3://models-bucket/llama/neuron-artifacts/inf2-tp2/"
# `--exclude PATTERN` before the paths, as model_copy.py passes it: the fake copies all but that folder.
EXCLUDING_AWS = FAKE_AWS.replace(
    "        shutil.copytree(source_dir, dest, dirs_exist_ok=True)",
    "        skip = args[args.index('--exclude') + 1].removesuffix('/*') if '--exclude' in args else None\n"
    "        shutil.copytree(source_dir, dest, dirs_exist_ok=True,\n"
    "                        ignore=lambda folder, names: [n for n in names if skip and os.path.join(folder, n) == "
    "os.path.join(source_dir, skip)])")
MODEL_FILES = {"config.json": "{}", "tokenizer.json": "{}", "model-00001-of-00002.safetensors": "weights 1",
               "model-00002-of-00002.safetensors": "weights 2",
               "neuron-artifacts/inf2-tp2/model.pt": "neff", "neuron-artifacts/trn1-tp2/model.pt": "other neff"}


@pytest.fixture
def s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeS3:
    fake = FakeS3(tmp_path, monkeypatch)
    fake.aws.write_text(EXCLUDING_AWS.replace("PYTHON", sys.executable))
    for path, text in MODEL_FILES.items():
        target = fake.root / "models-bucket" / "llama" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return fake


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_the_model_folder_is_copied_without_the_artifacts_folder_and_the_artifacts_beside_it(s3, tmp_path) -> None:
    model, compiled = tmp_path / "models" / "model", tmp_path / "models" / "compiled"
    notes = copy(SOURCE, str(model), ARTIFACTS, str(compiled))
    assert files(model) == ["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                            "tokenizer.json"]
    assert files(compiled) == ["model.pt"]
    assert notes == [f"4 files (22 bytes) of {SOURCE} copied to {model}",
                     f"1 compiled artifact files (4 bytes) of {ARTIFACTS} copied to {compiled}"]
    syncs = [call for call in s3.calls() if call[:2] == ["s3", "sync"]]
    assert syncs == [["s3", "sync", "--only-show-errors", "--exclude", "neuron-artifacts/*", SOURCE, f"{model}/"],
                     ["s3", "sync", "--only-show-errors", ARTIFACTS, f"{compiled}/"]]
    # The server (root without CAP_DAC_OVERRIDE) may write a compile there.
    assert stat.S_IMODE(compiled.stat().st_mode) == 0o777
    assert stat.S_IMODE((compiled / "model.pt").stat().st_mode) == 0o666


def test_without_artifacts_the_compile_folder_is_made_empty_and_writable(s3, tmp_path) -> None:
    model, compiled = tmp_path / "model", tmp_path / "compiled"
    copy(SOURCE, str(model), "", str(compiled))
    assert "neuron-artifacts/inf2-tp2/model.pt" in files(model)  # nothing excluded without artifacts
    assert files(compiled) == [] and stat.S_IMODE(compiled.stat().st_mode) == 0o777


def test_a_folder_without_config_json_is_not_a_hugging_face_model(s3, tmp_path) -> None:
    (s3.root / "models-bucket" / "llama" / "config.json").unlink()
    with pytest.raises(SyncError, match=r"s3://models-bucket/llama/ has no config.json at its top: modelBasePath must "
                                        r"be the folder of a Hugging Face-format model"):
        copy(SOURCE, str(tmp_path / "model"))


def test_an_empty_artifacts_folder_and_a_truncated_copy_fail(s3, tmp_path) -> None:
    with pytest.raises(SyncError, match="s3://models-bucket/llama/neuron-artifacts/none/ holds no files"):
        copy(SOURCE, str(tmp_path / "model"), SOURCE + "neuron-artifacts/none/", str(tmp_path / "compiled"))
    s3.fail("truncate")
    with pytest.raises(SyncError, match=r"did not arrive whole"):
        copy(SOURCE, str(tmp_path / "again"))


def test_listing_and_the_inner_folder() -> None:
    listing = json.dumps({"Contents": [{"Key": "llama/config.json", "Size": 2}, {"Key": "llama/", "Size": 0},
                                       {"Key": "llama/a/b.pt", "Size": 3}, {"Key": "llama/x/y", "Size": 1}]})
    assert parse_files(listing, "llama/") == {"config.json": 2, "a/b.pt": 3, "x/y": 1}
    assert parse_files(listing, "llama/", skip="a") == {"config.json": 2, "x/y": 1}
    assert parse_files("", "llama/") == {}
    with pytest.raises(SyncError, match="not list-objects-v2 JSON"):
        parse_files("[1]", "llama/")
    assert inner_folder(SOURCE, ARTIFACTS) == "neuron-artifacts"
    assert inner_folder(SOURCE, "s3://models-bucket/other/x/") == "" and inner_folder(SOURCE, "") == ""
    assert inner_folder(SOURCE, SOURCE) == ""


def test_runs_as_the_pod_runs_it_beside_model_sync_and_fails_with_one_line(s3, tmp_path) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for script in (model_copy.__file__, model_copy.__file__.replace("model_copy.py", "model_sync.py")):
        (scripts / Path(script).name).write_text(Path(script).read_text())
    run = [sys.executable, "-E", "-s", str(scripts / "model_copy.py"), "--source", SOURCE, "--dest", str(tmp_path / "m"),
           "--artifacts", ARTIFACTS, "--artifacts-dest", str(tmp_path / "c"), "--credentials", "node-role"]
    done = subprocess.run(run, capture_output=True, text=True, env=os.environ, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("model-copy: 4 files (22 bytes) of s3://models-bucket/llama/")
    # Pod Identity without its variables: the same message as the TensorFlow Serving copier's.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_CONTAINER_")}
    done = subprocess.run([*run[:-1], "pod-identity"], capture_output=True, text=True, env=env, cwd=tmp_path,
                          check=False)
    assert done.returncode == 1 and done.stdout.startswith("model-copy: model copy failed: no EKS Pod Identity credentials")
    assert len(done.stdout.splitlines()) == 1


def test_main_in_process_copies_prints_one_line_per_note_and_fails_with_one_line_and_a_termination_message(
        s3, tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # The same run as above, in this process (mutation testing sees only code run here).
    termination = tmp_path / "termination-log"
    monkeypatch.setattr(model_copy, "TERMINATION_LOG", str(termination))
    args = ["--source", SOURCE, "--dest", str(tmp_path / "m"), "--artifacts", ARTIFACTS,
            "--artifacts-dest", str(tmp_path / "c")]
    assert model_copy.main([*args, "--credentials", "node-role"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("model-copy: 4 files (22 bytes) of s3://models-bucket/llama/")
    assert all(line.startswith("model-copy: ") for line in lines) and not termination.exists()
    assert (tmp_path / "c" / "model.pt").read_text() == "neff"
    for name in [k for k in os.environ if k.startswith("AWS_CONTAINER_")]:
        monkeypatch.delenv(name)
    assert model_copy.main([*args, "--credentials", "pod-identity"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("model-copy: model copy failed: no EKS Pod Identity credentials") and out.count("\n") == 1
    assert termination.read_text() == out.removeprefix("model-copy: ").rstrip("\n")
    # The default is node-role; a missing source is a failed copy (exit 1), not a traceback.
    assert model_copy.main(["--source", "s3://models-bucket/absent/", "--dest", str(tmp_path / "n")]) == 1
    assert capsys.readouterr().out.startswith("model-copy: model copy failed: ")


@pytest.mark.parametrize("argv", [
    ["--dest", "/m"],                                                  # --source is required
    ["--source", SOURCE],                                              # --dest is required
    ["--source", SOURCE, "--dest", "/m", "--artifacts", ARTIFACTS],    # artifacts need a destination
    ["--source", SOURCE, "--dest", "/m", "--credentials", "static"],   # only the two credential sources
])
def test_main_refuses_incomplete_arguments(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        model_copy.main(argv)
    assert exit_.value.code == 2 and capsys.readouterr().err.startswith("usage: model_copy.py")


# -- what mutation testing found unchecked: exact calls, messages and modes, main's every exit --

def test_the_aws_calls_are_exactly_these(s3, tmp_path) -> None:
    model, compiled = tmp_path / "model", tmp_path / "compiled"
    copy(SOURCE, f"{model}/", ARTIFACTS, str(compiled))  # a destination with its slash gets no second one
    assert s3.calls() == [
        ["s3api", "list-objects-v2", "--bucket", "models-bucket", "--prefix", "llama/", "--output", "json"],
        ["s3", "sync", "--only-show-errors", "--exclude", "neuron-artifacts/*", SOURCE, f"{model}/"],
        ["s3api", "list-objects-v2", "--bucket", "models-bucket", "--prefix", "llama/neuron-artifacts/inf2-tp2/",
         "--output", "json"],
        ["s3", "sync", "--only-show-errors", ARTIFACTS, f"{compiled}/"]]


def test_the_inner_folder_with_and_without_trailing_slashes() -> None:
    assert inner_folder(SOURCE, "s3://models-bucket/llama/neuron-artifacts") == "neuron-artifacts"
    # Slashes only are stripped, not the letters before them.
    assert inner_folder("s3://models-bucket/BOX/", "s3://models-bucket/BOX/neuron-artifacts/") == "neuron-artifacts"
    assert inner_folder(SOURCE, "s3://models-bucket/llama/NEFF-BOX") == "NEFF-BOX"
    assert inner_folder("s3://models-bucket/llama", ARTIFACTS) == "neuron-artifacts"
    assert inner_folder("s3://models-bucket/llama", "s3://models-bucket/llama") == ""
    assert inner_folder(SOURCE, "s3://models-bucket/llamas/neuron-artifacts/") == ""  # a sibling, not inside


def test_the_listing_keeps_only_files_below_the_prefix_and_outside_the_skipped_folder() -> None:
    listing = json.dumps({"Contents": [{"Key": "llama/config.json", "Size": "2"}, {"Key": "other/config.json", "Size": 5},
                                       {"Key": "llama/a/x", "Size": 1}, {"Key": "llama/ab/y", "Size": 4},
                                       {"Key": "llama/a", "Size": 3}]})
    assert parse_files(listing, "llama/", skip="a") == {"config.json": 2, "ab/y": 4, "a": 3}
    markers = json.dumps({"Contents": [{"Key": "llama/tokenizer/", "Size": 0}, {"Key": "llama/tokenizer/vocab", "Size": 7}]})
    assert parse_files(markers, "llama/") == {"tokenizer/vocab": 7}  # a folder marker is no file
    assert parse_files('{"Contents": null}', "llama/") == {}
    for broken in ("not json", '{"Contents": "llama/config.json"}', '{"Contents": ["llama/config.json"]}',
                   '{"Contents": [{"Key": "llama/x"}]}', '{"Contents": [{"Key": "llama/x", "Size": "big"}]}'):
        with pytest.raises(SyncError) as caught:
            parse_files(broken, "llama/")
        assert str(caught.value) == "the S3 listing is not list-objects-v2 JSON"


def test_the_failures_name_the_folder_or_the_file(s3, tmp_path) -> None:
    (s3.root / "models-bucket" / "llama" / "config.json").unlink()
    with pytest.raises(SyncError) as caught:
        copy(SOURCE, str(tmp_path / "model"))
    assert str(caught.value) == (
        "s3://models-bucket/llama/ has no config.json at its top: modelBasePath must be the folder of a Hugging "
        "Face-format model (config.json, tokenizer files, *.safetensors)")
    with pytest.raises(SyncError) as caught:
        copy("s3://models-bucket/nothing", str(tmp_path / "model"))
    assert str(caught.value) == "s3://models-bucket/nothing holds no files"
    (s3.root / "models-bucket" / "llama" / "config.json").write_text("{}")
    shutil.copytree(s3.root / "models-bucket" / "llama", s3.root / "models-bucket" / "BOX")
    s3.fail("truncate")
    for source in ("s3://models-bucket/llama", SOURCE, "s3://models-bucket/BOX/"):
        with pytest.raises(SyncError) as caught:
            copy(source, str(tmp_path / "model"))
        folder = source.removesuffix("/")
        assert str(caught.value) == f"{folder}/config.json did not arrive whole"  # the first, by path


def test_everything_in_the_compile_folder_becomes_writable_by_everyone(tmp_path: Path) -> None:
    folder = tmp_path / "compiled"
    (folder / "a" / "b").mkdir(parents=True)
    for path in (folder / "top.neff", folder / "a" / "b" / "deep.neff"):
        path.write_text("neff")
        path.chmod(0o600)
    for path in (folder / "a" / "b", folder / "a", folder):
        path.chmod(0o700)
    model_copy.make_writable(str(folder))
    modes = {str(p.relative_to(tmp_path)): stat.S_IMODE(p.stat().st_mode) for p in [folder, *folder.rglob("*")]}
    assert modes == {"compiled": 0o777, "compiled/a": 0o777, "compiled/a/b": 0o777,
                     "compiled/top.neff": 0o666, "compiled/a/b/deep.neff": 0o666}
    model_copy.make_writable(str(tmp_path / "new" / "compiled"))  # made if need be
    assert stat.S_IMODE((tmp_path / "new" / "compiled").stat().st_mode) == 0o777


def test_the_parsers_defaults_are_what_its_help_says() -> None:
    args = model_copy.make_parser().parse_args(["--source", SOURCE, "--dest", "/m"])
    assert vars(args) == {"source": SOURCE, "dest": "/m", "artifacts": "", "artifacts_dest": "", "aws": "aws",
                          "credentials": "node-role"}


def test_main_refuses_artifacts_without_a_destination_naming_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        model_copy.main(["--source", SOURCE, "--dest", "/m", "--artifacts", ARTIFACTS])
    out, err = capsys.readouterr()
    assert (exit_.value.code, out) == (2, "")
    assert err.startswith("usage: model_copy.py ")
    assert err.endswith("\nmodel_copy.py: error: --artifacts needs --artifacts-dest\n")


@pytest.fixture
def no_aws_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH without the fake aws (nor a real one): only --aws finds it."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_main_runs_the_aws_cli_it_is_given(s3, tmp_path, no_aws_on_path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(model_copy, "TERMINATION_LOG", str(tmp_path / "termination-log"))
    before = sorted(p.name for p in tmp_path.iterdir())
    assert model_copy.main(["--source", SOURCE, "--dest", str(tmp_path / "m"), "--aws", str(s3.aws)]) == 0
    assert capsys.readouterr() == (f"model-copy: 6 files (36 bytes) of {SOURCE} copied to {tmp_path / 'm'}\n", "")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "m"])  # no artifacts folder anywhere
    assert [call[:2] for call in s3.calls()] == [["s3api", "list-objects-v2"], ["s3", "sync"]]
    # Without --aws it runs `aws` from PATH, and here there is none: one line, exit 1.
    assert model_copy.main(["--source", SOURCE, "--dest", str(tmp_path / "n")]) == 1
    message = "model copy failed: aws s3api list-objects-v2: [Errno 2] No such file or directory: 'aws'"
    assert capsys.readouterr() == (f"model-copy: {message}\n", "")
    assert (tmp_path / "termination-log").read_text() == message


def test_main_says_when_the_destination_cannot_be_made(s3, tmp_path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(model_copy, "TERMINATION_LOG", str(tmp_path / "missing-directory" / "termination-log"))
    (tmp_path / "file").write_text("in the way")
    assert model_copy.main(["--source", SOURCE, "--dest", str(tmp_path / "file" / "m")]) == 1  # and no termination log
    assert capsys.readouterr() == (
        f"model-copy: model copy failed: [Errno 20] Not a directory: '{tmp_path / 'file' / 'm'}'\n", "")


def test_main_flushes_each_line_as_it_prints_it(s3, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    # In the pod stdout is a pipe, block-buffered: a line must reach `kubectl logs` even if the pod dies next.
    monkeypatch.setattr(model_copy, "TERMINATION_LOG", str(tmp_path / "termination-log"))
    stdout = FlushedLines()
    monkeypatch.setattr(sys, "stdout", stdout)
    args = ["--source", SOURCE, "--dest", str(tmp_path / "m"), "--artifacts", ARTIFACTS,
            "--artifacts-dest", str(tmp_path / "c")]
    assert model_copy.main(args) == 0
    first, second = stdout.getvalue().splitlines(keepends=True)
    assert stdout.flushed == [first, first + second]
    stdout = FlushedLines()
    monkeypatch.setattr(sys, "stdout", stdout)
    assert model_copy.main(["--source", "s3://models-bucket/absent/", "--dest", str(tmp_path / "n")]) == 1
    assert stdout.flushed == [stdout.getvalue()] == ["model-copy: model copy failed: s3://models-bucket/absent/ holds "
                                                     "no files\n"]


def test_a_copy_with_the_defaults_copies_the_model_alone(s3, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert copy(SOURCE, str(tmp_path / "model")) == [f"6 files (36 bytes) of {SOURCE} copied to {tmp_path / 'model'}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "model"])  # no compile folder made
    assert [call[:2] for call in s3.calls()] == [["s3api", "list-objects-v2"], ["s3", "sync"]]


def test_a_copy_retried_into_the_folders_a_failed_one_left_completes(s3, tmp_path) -> None:
    # The init container runs again after a failure, on the same emptyDir: the folders are there already.
    model, compiled = tmp_path / "BOX", tmp_path / "compiled"
    s3.fail("truncate")
    with pytest.raises(SyncError):
        copy(SOURCE, f"{model}/", ARTIFACTS, str(compiled))
    s3.fail("")
    assert copy(SOURCE, f"{model}/", ARTIFACTS, str(compiled))[0] == f"4 files (22 bytes) of {SOURCE} copied to {model}/"
    assert (model / "config.json").read_text() == "{}"
    assert [call[-1] for call in s3.calls() if call[:2] == ["s3", "sync"]] == [f"{model}/", f"{model}/", f"{compiled}/"]


def test_file_names_with_spaces_arrive_and_are_checked(s3, tmp_path) -> None:
    (s3.root / "models-bucket" / "llama" / "tokenizer" / "special tokens map.json").parent.mkdir()
    (s3.root / "models-bucket" / "llama" / "tokenizer" / "special tokens map.json").write_text("{}")
    copy(SOURCE, str(tmp_path / "model"))
    assert (tmp_path / "model" / "tokenizer" / "special tokens map.json").read_text() == "{}"
