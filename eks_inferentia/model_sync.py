"""Keep a serving pod's copy of the model in step with S3, so TensorFlow Serving picks up new versions.

    python3 model_sync.py --source s3://bucket/prefix/ --dest /models/NAME --staging /models/.sync \
        [--versions 3,4] (--once | --interval SECONDS)

TensorFlow Serving 2.7+ cannot read S3, so the serving pod keeps a copy on an emptyDir; the server
polls that folder (`--file_system_poll_wait_seconds`, 1 s by default) and loads the version folders it
finds (tensorflow_serving/sources/storage_path/file_system_storage_path_source.cc: a child whose name
parses as a number is a version). Each round this script:

1. lists the prefix (`aws s3api list-objects-v2`); a version is a folder `N/` of digits holding a
   `saved_model.pb` (or `.pbtxt`) directly; other objects are ignored;
2. wants the highest version (no `--versions`, TF Serving's default "latest" policy), or the listed
   versions that S3 has;
3. copies each wanted version the pod lacks into `--staging/N/` (`aws s3 sync --delete`, so a staging
   folder left by a failed round is completed, not trusted), checks every listed file arrived with
   its size, then renames it to `--dest/N` in one step: staging and dest are on the same emptyDir,
   so the server never sees a half-copied version. With `--interval`, a version the pod lacks is
   copied only once two listings in a row agree on it (an upload still running is left alone);
4. once every wanted version is in place, removes the others (renamed out of `--dest` first, then
   deleted). It never removes the last version: an empty or failed listing changes nothing.
   TensorFlow Serving unloads a removed version, but never the only one it has loaded
   (core/availability_preserving_policy.h), so a new version takes over without a gap.

A version already in `--dest` is never copied again: version folders are immutable (TensorFlow
Serving does not reload a version in place either); publish a change as a new version number.
A failed round logs one line, keeps what the server has and tries again next round. `--once` (the
init container) fails instead, exit 1, with its line in the termination log.

Standard library only, Python 3.10 (the Deep Learning Container's), and the image's AWS CLI.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

TERMINATION_LOG = "/dev/termination-log"
VERSION_FOLDER = re.compile(r"^[0-9]+$")
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
AWS_TIMEOUT_SECONDS = 3600


class SyncError(Exception):
    pass


@dataclass(frozen=True)
class Version:
    """One version folder in S3: its number, its folder name there and its files (path, size, ETag)."""

    number: int
    folder: str
    files: frozenset[tuple[str, int, str]]


def split_source(source: str) -> tuple[str, str]:
    """`s3://bucket/a/b` -> (`bucket`, `a/b/`): the prefix always ends with one `/`."""
    if not source.startswith("s3://"):
        raise SyncError(f"{source} is not an s3:// URI")
    bucket, _, prefix = source[len("s3://"):].partition("/")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def parse_listing(text: str, prefix: str) -> tuple[dict[int, Version], list[str]]:
    """`list-objects-v2` JSON -> (complete versions by number, folders that look like versions but are not complete)."""
    try:
        data = json.loads(text) if text.strip() else {}
        objects = data.get("Contents") or [] if isinstance(data, dict) else None
        if not isinstance(objects, list):
            raise ValueError
        files: dict[str, set[tuple[str, int, str]]] = {}
        for item in objects:
            key = item["Key"]
            if not key.startswith(prefix):
                continue
            folder, sep, path = key[len(prefix):].partition("/")
            if not sep or not path or path.endswith("/") or not VERSION_FOLDER.match(folder):
                continue  # not in a version folder, or a folder marker
            files.setdefault(folder, set()).add((path, int(item["Size"]), str(item.get("ETag", ""))))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise SyncError("the S3 listing is not list-objects-v2 JSON") from None
    versions: dict[int, Version] = {}
    incomplete = []
    for folder, listed in sorted(files.items()):
        if not any(path in SAVED_MODEL_FILES for path, _, _ in listed):
            incomplete.append(folder)
            continue
        number = int(folder)
        if number not in versions:  # "7" and "007": the first by name wins
            versions[number] = Version(number, folder, frozenset(listed))
    return versions, incomplete


def wanted_versions(available: dict[int, Version], pinned: Sequence[int]) -> set[int]:
    """What the pod should hold: the pinned versions S3 has, or else the highest one."""
    if pinned:
        return {number for number in pinned if number in available}
    return {max(available)} if available else set()


def local_versions(dest: str) -> set[int]:
    """Version folders in `dest` (what TensorFlow Serving sees)."""
    try:
        names = os.listdir(dest)
    except FileNotFoundError:
        return set()
    return {int(name) for name in names if VERSION_FOLDER.match(name) and os.path.isdir(os.path.join(dest, name))}


def removable(local: set[int], wanted: set[int]) -> set[int]:
    """Local versions to remove: only once every wanted one is in place, and never all of them."""
    if not wanted or not wanted <= local:
        return set()
    return local - wanted


def _aws(aws: str, *args: str) -> str:
    try:
        done = subprocess.run([aws, *args], capture_output=True, text=True, timeout=AWS_TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SyncError(f"aws {args[0]} {args[1]}: {error}") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise SyncError(f"aws {args[0]} {args[1]} exited {done.returncode}: {lines[-1].strip() if lines else 'no message'}")
    return done.stdout


class Syncer:
    def __init__(self, source: str, dest: str, staging: str, pinned: Sequence[int] = (), aws: str = "aws",
                 wait_for_stable: bool = True) -> None:
        self.source = source
        self.bucket, self.prefix = split_source(source)
        self.dest = dest
        self.staging = staging
        self.pinned = tuple(pinned)
        self.aws = aws
        self.wait_for_stable = wait_for_stable
        self.last_listing: dict[int, frozenset[tuple[str, int, str]]] = {}

    def listing(self) -> tuple[dict[int, Version], list[str]]:
        text = _aws(self.aws, "s3api", "list-objects-v2", "--bucket", self.bucket, "--prefix", self.prefix,
                    "--output", "json")
        return parse_listing(text, self.prefix)

    def fetch(self, version: Version) -> None:
        """Copy one version into staging, check it, and move it into place in one rename."""
        staged = os.path.join(self.staging, str(version.number))
        os.makedirs(staged, exist_ok=True)
        _aws(self.aws, "s3", "sync", "--only-show-errors", "--delete",
             f"s3://{self.bucket}/{self.prefix}{version.folder}/", staged + "/")
        for path, size, _ in version.files:
            local = os.path.join(staged, *path.split("/"))
            if not os.path.isfile(local) or os.path.getsize(local) != size:
                raise SyncError(f"version {version.number}: {path} did not arrive whole")
        os.makedirs(self.dest, exist_ok=True)
        os.rename(staged, os.path.join(self.dest, str(version.number)))

    def remove(self, number: int) -> None:
        """Take a version out of TensorFlow Serving's sight in one rename, then delete it."""
        os.makedirs(self.staging, exist_ok=True)
        doomed = os.path.join(self.staging, f"remove-{number}")
        shutil.rmtree(doomed, ignore_errors=True)
        os.rename(os.path.join(self.dest, str(number)), doomed)
        shutil.rmtree(doomed, ignore_errors=True)

    def round(self) -> list[str]:
        """One sync; returns what it changed or skipped, a line each; raises `SyncError` when it failed."""
        available, incomplete = self.listing()
        listing = {number: version.files for number, version in available.items()}
        previous, self.last_listing = self.last_listing, listing
        wanted = wanted_versions(available, self.pinned)
        notes = [f"{self.source}{folder}/ has no saved_model.pb yet; skipped" for folder in incomplete]
        if self.pinned:
            missing = sorted(set(self.pinned) - set(available))
            if missing:
                notes.append(f"version(s) {', '.join(map(str, missing))} not in {self.source}")
        local = local_versions(self.dest)
        failures = []
        for number in sorted(wanted - local):
            if self.wait_for_stable and previous.get(number) != listing[number]:
                notes.append(f"version {number} is new or still changing in S3; copying it once it is unchanged "
                             "for one round")
                continue
            try:
                self.fetch(available[number])
            except (SyncError, OSError) as error:
                failures.append(str(error))
                continue
            notes.append(f"version {number} copied")
        if failures:
            raise SyncError("; ".join(failures))
        local = local_versions(self.dest)
        for number in sorted(removable(local, wanted)):
            self.remove(number)
            notes.append(f"version {number} removed")
        if not wanted and local:
            notes.append(f"no wanted version in {self.source}; keeping version(s) {', '.join(map(str, sorted(local)))}")
        return notes


# What the EKS Pod Identity webhook injects into every container of a pod whose ServiceAccount has an
# association (aws/amazon-eks-pod-identity-webhook, pkg/handler/handler.go: the container-credentials
# variables and its own projected token volume, whatever `automountServiceAccountToken` says).
POD_IDENTITY_VARIABLES = ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")


def credentials_problem(credentials: str, environ: Mapping[str, str]) -> str | None:
    """Why this pod cannot have the credentials it was built for, or None.

    The webhook mutates a pod only when it is created, so a pod created before its association took
    effect never gets them: say so, instead of letting the AWS CLI report "Unable to locate credentials".
    """
    if credentials != "pod-identity":
        return None
    missing = [name for name in POD_IDENTITY_VARIABLES if not environ.get(name)]
    if not missing:
        return None
    return (f"no EKS Pod Identity credentials in this pod ({', '.join(missing)} not set): EKS injects them when a "
            f"pod is created, so a pod created before its ServiceAccount's association took effect never has them; "
            f"check the association (aws eks list-pod-identity-associations), then delete this pod: its "
            f"replacement gets them")


def run_once(syncer: Syncer) -> list[str]:
    """The init container's copy: every wanted version must arrive, or it fails."""
    notes = syncer.round()
    missing = [n for n in syncer.pinned if n not in local_versions(syncer.dest)]
    if missing:
        raise SyncError(f"modelVersions {list(syncer.pinned)}: version(s) {', '.join(map(str, missing))} are not "
                        f"complete folders in {syncer.source} (N/ with saved_model.pb)")
    if not local_versions(syncer.dest):
        raise SyncError(f"no version folder (1/, 2/, ... with saved_model.pb) in {syncer.source}")
    return notes


def log(line: str) -> None:
    print(f"model-sync: {line}", flush=True)


def add_aws_options(parser: argparse.ArgumentParser) -> None:
    """--aws and --credentials, which model_copy.py takes too."""
    parser.add_argument("--aws", default="aws", help="the AWS CLI to run (default: aws)")
    parser.add_argument("--credentials", choices=("pod-identity", "node-role"), default="node-role",
                        help="pod-identity: check first that EKS gave the pod its Pod Identity credentials; node-role "
                             "(the default): the node's role, nothing to check")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="model_sync.py", description="Keep a serving pod's copy of the model in step "
                                                                       "with S3, so TensorFlow Serving picks up new versions.")
    parser.add_argument("--source", required=True,
                        help="the model's S3 folder, s3://BUCKET/PREFIX/, holding version folders N/ with saved_model.pb")
    parser.add_argument("--dest", required=True, help="the folder TensorFlow Serving loads the versions from")
    parser.add_argument("--staging", required=True,
                        help="where a version is copied before one rename moves it into --dest (the same volume)")
    parser.add_argument("--versions", default="",
                        help="the versions to serve, comma-separated, e.g. 3,4 (default: the highest one in S3)")
    add_aws_options(parser)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--once", action="store_true",
                      help="copy once (the init container); a failure exits 1 with its reason in the termination log")
    mode.add_argument("--interval", type=int, metavar="SECONDS",
                      help="sync every SECONDS (the sidecar); a failed round keeps what the server has")
    parser.add_argument("--rounds", type=int, default=0, help=argparse.SUPPRESS)  # tests: stop after N rounds
    return parser


def main(argv: Sequence[str], sleep: Callable[[float], None] = time.sleep) -> int:
    args = make_parser().parse_args(list(argv))
    pinned = [int(v) for v in args.versions.split(",") if v.strip()]
    syncer = Syncer(args.source, args.dest, args.staging, pinned, aws=args.aws, wait_for_stable=not args.once)
    if args.once:
        try:
            if problem := credentials_problem(args.credentials, os.environ):
                raise SyncError(problem)
            for note in run_once(syncer):
                log(note)
            return 0
        except (SyncError, OSError) as error:
            message = f"model copy failed: {error}"
            log(message)
            with contextlib.suppress(OSError), open(TERMINATION_LOG, "w") as termination_log:
                termination_log.write(message)
            return 1
    rounds = 0
    while True:
        try:
            if problem := credentials_problem(args.credentials, os.environ):
                raise SyncError(problem)
            for note in syncer.round():
                log(note)
        except (SyncError, OSError) as error:
            log(f"sync failed, the served copy is unchanged; retrying in {args.interval} s: {error}")
        rounds += 1
        if args.rounds and rounds >= args.rounds:
            return 0
        sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
