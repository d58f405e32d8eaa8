"""Copy a Hugging Face-format model folder (and, if given, its compiled Neuron artifacts) from S3, once.

    python3 model_copy.py --source s3://bucket/llama/ --dest /models/model \
        [--artifacts s3://bucket/llama/neuron-artifacts/inf2-tp2/ --artifacts-dest /models/compiled] \
        [--credentials pod-identity|node-role]

The vLLM pods' init container (servingRuntime `vllm`, components/vllm_serving.py). A model folder has no
version folders, so `model_sync.py`'s versioned copy does not apply; this copies the folder as it is, once,
before the server starts (a new model is a new `modelBasePath` and a rollout). It:

1. checks the pod got its EKS Pod Identity credentials (`model_sync.credentials_problem`);
2. lists `--source` (`aws s3api list-objects-v2`, which the CLI pages through) and refuses a folder with
   no `config.json` at its top: that is not a Hugging Face model;
3. copies it (`aws s3 sync`), leaving out the top folder of `--artifacts` when that lies inside it, and
   checks that every listed file arrived with its size;
4. with `--artifacts`, does the same for the artifacts into `--artifacts-dest`, and refuses an empty folder;
5. leaves `--artifacts-dest` (created if need be) writable by every user of the pod: the server, root
   without CAP_DAC_OVERRIDE, writes a compile there when it finds no artifacts or cannot load them.

Failures exit 1 with one line in the termination log, as `model_sync.py --once` does. Standard library only
(the vLLM image's Python 3.12) and the image's AWS CLI; `model_sync.py` is mounted beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence

try:  # in the pod, model_sync.py sits beside this file
    from model_sync import TERMINATION_LOG, SyncError, _aws, add_aws_options, credentials_problem, split_source  # type: ignore[import-not-found,no-redef]
except ImportError:  # imported as part of the package (tests)
    from eks_inferentia.model_sync import TERMINATION_LOG, SyncError, _aws, add_aws_options, credentials_problem, split_source

MODEL_CONFIG = "config.json"


def parse_files(text: str, prefix: str, skip: str = "") -> dict[str, int]:
    """`list-objects-v2` JSON -> {path below `prefix`: size}, without folder markers and without `skip/...`."""
    try:
        data = json.loads(text) if text.strip() else {}
        objects = data.get("Contents") or [] if isinstance(data, dict) else None
        if not isinstance(objects, list):
            raise ValueError
        files = {}
        for item in objects:
            key = item["Key"]
            path = key[len(prefix):] if key.startswith(prefix) else ""
            if not path or path.endswith("/") or (skip and path.startswith(f"{skip}/")):
                continue
            files[path] = int(item["Size"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise SyncError("the S3 listing is not list-objects-v2 JSON") from None
    return files


def inner_folder(source: str, artifacts: str) -> str:
    """The top folder of `artifacts` inside `source` (`neuron-artifacts` for .../llama/neuron-artifacts/x/), or ''."""
    outer = source.rstrip("/") + "/"
    inner = artifacts.rstrip("/") + "/"
    if not artifacts or not inner.startswith(outer) or inner == outer:
        return ""
    return inner[len(outer):].split("/", 1)[0]


def list_folder(aws: str, source: str, skip: str = "") -> dict[str, int]:
    """{path: size} of every file below the S3 folder `source`, but `skip/`; refuses an empty folder."""
    bucket, prefix = split_source(source)
    files = parse_files(_aws(aws, "s3api", "list-objects-v2", "--bucket", bucket, "--prefix", prefix,
                             "--output", "json"), prefix, skip)
    if not files:
        raise SyncError(f"{source} holds no files")
    return files


def fetch_folder(aws: str, source: str, dest: str, files: dict[str, int], skip: str = "") -> None:
    """Copy the S3 folder `source` (but `skip/`) into `dest` and check every listed file arrived whole."""
    bucket, prefix = split_source(source)
    os.makedirs(dest, exist_ok=True)
    excluded = ["--exclude", f"{skip}/*"] if skip else []
    _aws(aws, "s3", "sync", "--only-show-errors", *excluded, f"s3://{bucket}/{prefix}", dest.rstrip("/") + "/")
    for path, size in sorted(files.items()):
        local = os.path.join(dest, *path.split("/"))
        if not os.path.isfile(local) or os.path.getsize(local) != size:
            raise SyncError(f"{source.rstrip('/')}/{path} did not arrive whole")


def copy(source: str, dest: str, artifacts: str = "", artifacts_dest: str = "", aws: str = "aws") -> list[str]:
    """The whole copy; the lines to log. Raises `SyncError`."""
    skip = inner_folder(source, artifacts)
    files = list_folder(aws, source, skip)
    if MODEL_CONFIG not in files:
        raise SyncError(f"{source} has no {MODEL_CONFIG} at its top: modelBasePath must be the folder of a Hugging "
                        "Face-format model (config.json, tokenizer files, *.safetensors)")
    fetch_folder(aws, source, dest, files, skip)
    notes = [f"{len(files)} files ({sum(files.values())} bytes) of {source} copied to {dest}"]
    if artifacts:
        compiled = list_folder(aws, artifacts)
        fetch_folder(aws, artifacts, artifacts_dest, compiled)
        notes.append(f"{len(compiled)} compiled artifact files ({sum(compiled.values())} bytes) of {artifacts} "
                     f"copied to {artifacts_dest}")
    if artifacts_dest:
        make_writable(artifacts_dest)
    return notes


def make_writable(folder: str) -> None:
    """`folder` and everything in it writable by every user (a pod-local volume: only the pod sees it)."""
    os.makedirs(folder, exist_ok=True)
    os.chmod(folder, 0o777)
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o777)
        for name in files:
            os.chmod(os.path.join(root, name), 0o666)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="model_copy.py", description="Copy a Hugging Face-format model folder (and, "
                                                                       "if given, its compiled Neuron artifacts) from S3, once.")
    parser.add_argument("--source", required=True,
                        help="the model's S3 folder, s3://BUCKET/PREFIX/, with config.json at its top")
    parser.add_argument("--dest", required=True, help="the folder to copy the model into")
    parser.add_argument("--artifacts", default="",
                        help="an S3 folder of compiled Neuron artifacts, copied into --artifacts-dest; its top folder is "
                             "left out of the model's copy when it lies inside --source")
    parser.add_argument("--artifacts-dest", default="",
                        help="the folder for the artifacts, created if need be and left writable by every user of the pod")
    add_aws_options(parser)
    return parser


def main(argv: Sequence[str]) -> int:
    parser = make_parser()
    args = parser.parse_args(list(argv))
    if args.artifacts and not args.artifacts_dest:
        parser.error("--artifacts needs --artifacts-dest")
    try:
        if problem := credentials_problem(args.credentials, os.environ):
            raise SyncError(problem)
        for note in copy(args.source, args.dest, args.artifacts, args.artifacts_dest, aws=args.aws):
            print(f"model-copy: {note}", flush=True)
        return 0
    except (SyncError, OSError) as error:
        message = f"model copy failed: {error}"
        print(f"model-copy: {message}", flush=True)
        with contextlib.suppress(OSError), open(TERMINATION_LOG, "w") as termination_log:
            termination_log.write(message)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
