"""The GitHub Actions workflows (.github/workflows), checked offline.

- checkov (its own venv, .venv-checkers) reports no failed check;
- the workflows parse, and every `with:` input given to an action is one that action declares
  (action_inputs.json, read from each action's action.yml upstream at the pinned commit);
- every `uses:` is pinned to a full commit SHA with its release in a trailing comment, and
  .github/dependabot.yml keeps those pins current (weekly, github-actions at `/`);
- previews on pull requests cover exactly the stacks that have a `Pulumi.<stack>.yaml`;
- main deploys dev, then prod behind the `production` environment;
- least-privilege permissions, OIDC credentials only, one update per stack at a time, timeouts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tools.checkers import run_checkov
from tools.render import stack_names

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS_DIR = ROOT / ".github" / "workflows"
ACTION_INPUTS = json.loads((Path(__file__).with_name("action_inputs.json")).read_text())["actions"]
PULUMI_ACTION = "pulumi/actions"
AWS_CREDENTIALS_ACTION = "aws-actions/configure-aws-credentials"
WORKFLOW_FILES = sorted([*WORKFLOWS_DIR.glob("*.yml"), *WORKFLOWS_DIR.glob("*.yaml")])
DEPENDABOT = ROOT / ".github" / "dependabot.yml"
_PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+(?:/[\w./-]+)?)@(?P<sha>[0-9a-f]{40})$")
# `uses: owner/repo@<40-hex sha> # v1.2.3`, the form Dependabot updates (SHA and comment together).
_USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<uses>[^\s#]+)(?:\s+#\s*(?P<comment>.*?))?\s*$")
_VERSION_COMMENT = re.compile(r"^v\d+(?:\.\d+){0,2}$")
_FROM_VARIABLE = re.compile(r"^\$\{\{\s*vars\.[A-Z0-9_]+\s*\}\}$")


@cache
def workflow(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    assert isinstance(doc, dict), f"{path.name} is not a mapping"
    # YAML 1.1 (PyYAML) reads the key `on` as the boolean True.
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def jobs(path: Path) -> dict[str, dict[str, Any]]:
    return workflow(path)["jobs"]


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job.get("steps", []) if str(s.get("uses", "")).split("@", 1)[0] == action]


def all_steps() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path in WORKFLOW_FILES:
        for job_id, job in jobs(path).items():
            for step in job.get("steps", []):
                yield path.name, job_id, step


def pulumi_jobs(command: str) -> Iterator[tuple[Path, str, dict[str, Any], dict[str, Any]]]:
    """(workflow, job id, job, the pulumi/actions `with:`) of every job that runs `command`."""
    for path in WORKFLOW_FILES:
        for job_id, job in jobs(path).items():
            for step in steps_using(job, PULUMI_ACTION):
                if step.get("with", {}).get("command") == command:
                    yield path, job_id, job, step["with"]


def test_there_are_workflows() -> None:
    names = {p.name for p in WORKFLOW_FILES}
    assert {"preview.yml", "deploy.yml"} <= names


# --- checkov ------------------------------------------------------------------------------------------
def test_checkov_finds_no_problem_in_the_workflows() -> None:
    report = run_checkov("github_actions", WORKFLOWS_DIR)
    assert report.passed or report.failed, f"checkov scanned nothing in {WORKFLOWS_DIR}"
    assert report.failures() == []
    assert report.parsing_errors == 0
    assert len(report.passed) > 0


def test_checkov_catches_a_bad_workflow(tmp_path: Path) -> None:
    """The same invocation on a workflow with known problems fails, so a clean report means something."""
    directory = tmp_path / ".github" / "workflows"  # checkov only reads workflows under .github/workflows
    directory.mkdir(parents=True)
    (directory / "bad.yml").write_text(
        "on: pull_request\n"
        "permissions: write-all\n"
        "jobs:\n"
        "  bad:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - run: echo \"${{ github.event.pull_request.title }}\"\n"
    )
    report = run_checkov("github_actions", directory)
    assert {c["check_id"] for c in report.failed} >= {"CKV2_GHA_1", "CKV_GHA_2"}


# --- actions and their inputs ---------------------------------------------------------------------------
def test_workflows_parse_into_triggers_and_jobs() -> None:
    for path in WORKFLOW_FILES:
        doc = workflow(path)
        assert doc.get("on"), f"{path.name} has no trigger"
        assert doc.get("jobs"), f"{path.name} has no jobs"
        for job_id, job in jobs(path).items():
            assert job.get("runs-on") and job.get("steps"), f"{path.name}: job {job_id} needs runs-on and steps"


def uses_in_yaml(path: Path) -> list[str]:
    """Every `uses:` of a workflow as YAML reads it: steps' actions and jobs' reusable workflows."""
    found = []
    for job in jobs(path).values():
        if "uses" in job:
            found.append(str(job["uses"]))
        found.extend(str(step["uses"]) for step in job.get("steps", []) if "uses" in step)
    return found


def pin_problems(text: str) -> tuple[list[str], list[str]]:
    """(the `uses:` values found line by line, what is wrong with their pins) in a workflow's text.

    YAML drops comments, so the version comment is read from the lines themselves.
    """
    found, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _USES_LINE.match(line)
        if not match:
            continue
        uses, comment = match["uses"].strip("'\""), match["comment"]
        found.append(uses)
        if uses.startswith("./"):
            continue  # an action or workflow of this repository, at the same commit
        if not _PINNED.match(uses):
            problems.append(f"line {number}: {uses!r} is not pinned to a full 40-character commit SHA")
        elif not (comment and _VERSION_COMMENT.match(comment)):
            problems.append(f"line {number}: {uses!r} needs its release in a trailing comment (`# v1.2.3`), not {comment!r}")
    return found, problems


def test_every_action_is_pinned_to_a_commit_sha_with_its_version_in_a_comment() -> None:
    for path in WORKFLOW_FILES:
        found, problems = pin_problems(path.read_text())
        assert problems == [], f"{path.name}: {problems}"
        # Every `uses:` the YAML holds was seen by the line scan (none hides in a flow mapping).
        assert sorted(found) == sorted(uses_in_yaml(path)), f"{path.name}: write each `uses:` on a line of its own"
        assert found, f"{path.name} uses no action"


def test_the_pin_check_rejects_movable_and_uncommented_refs() -> None:
    sha = "3d3c42e5aac5ba805825da76410c181273ba90b1"
    good = f"    steps:\n      - uses: actions/checkout@{sha} # v7.0.1\n        uses: ./local-action\n"
    assert pin_problems(good) == ([f"actions/checkout@{sha}", "./local-action"], [])
    for bad in ("actions/checkout@v7 # v7", f"actions/checkout@{sha}", f"actions/checkout@{sha[:12]} # v7.0.1",
                f"actions/checkout@{sha} # pin", "actions/checkout@main", f"actions/checkout@{sha.upper()} # v7.0.1"):
        found, problems = pin_problems(f"      - uses: {bad}\n")
        assert len(found) == 1 and len(problems) == 1, bad


def test_every_pin_is_the_vendored_release_and_its_inputs_are_known() -> None:
    for path in WORKFLOW_FILES:
        for line in path.read_text().splitlines():
            match = _USES_LINE.match(line)
            pinned = _PINNED.match(match["uses"]) if match else None
            if match and pinned and pinned["action"] in ACTION_INPUTS:
                known = ACTION_INPUTS[pinned["action"]]
                assert (pinned["sha"], match["comment"]) == (known["commit"], known["tag"]), (
                    f"{path.name}: {match['uses']} # {match['comment']}, but action_inputs.json has {known['commit']} "
                    f"# {known['tag']}; re-read that commit's action.yml and update action_inputs.json")
    for file, job_id, step in all_steps():
        if "uses" not in step:
            continue
        match = _PINNED.match(step["uses"])
        assert match, f"{file}/{job_id}: {step['uses']!r} is not pinned to a commit SHA"
        action = match["action"]
        assert action in ACTION_INPUTS, f"{file}/{job_id}: {action} is used but its inputs are not vendored in action_inputs.json"
        known = ACTION_INPUTS[action]
        given = set(step.get("with", {}))
        unknown = sorted(given - set(known["inputs"]))
        assert unknown == [], f"{file}/{job_id}: {action} declares no input {unknown}"
        missing = sorted(set(known["required"]) - given)
        assert missing == [], f"{file}/{job_id}: {action} requires {missing}"


def test_dependabot_keeps_the_action_pins_current() -> None:
    config = yaml.safe_load(DEPENDABOT.read_text())
    assert config["version"] == 2
    entries = [u for u in config["updates"] if u["package-ecosystem"] == "github-actions"]
    assert len(entries) == 1, "one github-actions entry in .github/dependabot.yml"
    entry = entries[0]
    directories = [entry["directory"]] if "directory" in entry else entry.get("directories", [])
    assert "/" in directories, "github-actions at `/` (Dependabot then reads .github/workflows)"
    assert entry["schedule"]["interval"] == "weekly"


def test_vendored_inputs_include_what_the_workflows_rely_on() -> None:
    # A spot check that action_inputs.json is the real lists (policyPacks is camelCase upstream).
    assert {"command", "stack-name", "work-dir", "comment-on-pr", "cloud-url", "secrets-provider",
            "policyPacks"} <= set(ACTION_INPUTS[PULUMI_ACTION]["inputs"])
    assert {"role-to-assume", "aws-region", "audience"} <= set(ACTION_INPUTS[AWS_CREDENTIALS_ACTION]["inputs"])
    for known in ACTION_INPUTS.values():
        assert re.fullmatch(r"[0-9a-f]{40}", known["commit"]) and known["tag"].startswith(known["major"] + ".")
        assert _VERSION_COMMENT.match(known["tag"]) and known["commit"] in known["source"]


# --- what runs when -----------------------------------------------------------------------------------
def test_previews_cover_exactly_the_stacks_with_a_stack_file() -> None:
    previews = list(pulumi_jobs("preview"))
    assert previews, "no job runs pulumi preview"
    for path, job_id, job, given in previews:
        assert given["stack-name"].replace(" ", "") == "${{matrix.stack}}", f"{path.name}/{job_id}: preview a matrix of stacks"
        assert sorted(job["strategy"]["matrix"]["stack"]) == stack_names(), (
            f"{path.name}/{job_id}: the matrix must list every Pulumi.<stack>.yaml ({', '.join(stack_names())})")


def test_previews_run_on_pull_requests_comment_and_apply_the_policy_pack() -> None:
    for path, job_id, _job, given in pulumi_jobs("preview"):
        assert "pull_request" in workflow(path)["on"], f"{path.name} previews but is not triggered by pull requests"
        assert given["comment-on-pr"] is True, f"{path.name}/{job_id}"


def test_every_pulumi_run_uses_the_policy_pack_and_the_configured_backend() -> None:
    runs = [*pulumi_jobs("preview"), *pulumi_jobs("up")]
    for path, job_id, _job, given in runs:
        where = f"{path.name}/{job_id}"
        pack = ROOT / given["work-dir"] / given["policyPacks"]
        assert (pack / "PulumiPolicy.yaml").is_file(), f"{where}: policyPacks {given['policyPacks']!r} is no policy pack"
        assert (ROOT / given["work-dir"] / "Pulumi.yaml").is_file(), f"{where}: work-dir holds no Pulumi project"
        assert _FROM_VARIABLE.match(given["cloud-url"]), f"{where}: cloud-url comes from a repository variable"
        assert _FROM_VARIABLE.match(given["secrets-provider"]), f"{where}: secrets-provider comes from a repository variable"


def test_main_deploys_dev_then_prod_behind_an_approval() -> None:
    ups = {given["stack-name"]: (path, job_id, job) for path, job_id, job, given in pulumi_jobs("up")}
    assert set(ups) == {"dev", "prod"}
    assert set(ups) <= set(stack_names())
    for path, _job_id, _job in ups.values():
        assert workflow(path)["on"]["push"]["branches"] == ["main"]
    dev_path, dev_id, _dev = ups["dev"]
    prod_path, _prod_id, prod = ups["prod"]
    assert prod_path == dev_path, "prod waits for dev in the same run"
    needs = prod.get("needs", [])
    assert dev_id in ([needs] if isinstance(needs, str) else needs), "prod deploys only after dev succeeded"
    environment = prod.get("environment")
    name = environment.get("name") if isinstance(environment, dict) else environment
    assert name == "production", "prod deploys through the `production` environment (required reviewers)"


def test_an_update_never_overlaps_another_of_the_same_stack() -> None:
    groups: dict[str, str] = {}
    for path, job_id, job, given in pulumi_jobs("up"):
        concurrency = job.get("concurrency")
        assert isinstance(concurrency, dict), f"{path.name}/{job_id}: set concurrency per stack"
        assert concurrency.get("cancel-in-progress") is False, f"{path.name}/{job_id}: never cancel an update half-way"
        assert given["stack-name"] in concurrency["group"], f"{path.name}/{job_id}: the group names the stack"
        groups[concurrency["group"]] = given["stack-name"]
    assert len(groups) == len(set(groups.values())), "one concurrency group per stack"
    # A pending run replaces the pending run of its group: previews must not share a group with updates.
    for path, job_id, job, _given in pulumi_jobs("preview"):
        group = (job.get("concurrency") or {}).get("group") or workflow(path).get("concurrency", {}).get("group", "")
        assert group not in groups, f"{path.name}/{job_id}: a preview shares concurrency group {group} with an update"


# --- security -----------------------------------------------------------------------------------------
def test_permissions_are_least_privilege() -> None:
    for path in WORKFLOW_FILES:
        assert workflow(path).get("permissions") == {"contents": "read"}, f"{path.name}: top-level permissions: contents: read"
        for job_id, job in jobs(path).items():
            where = f"{path.name}/{job_id}"
            permissions = job.get("permissions")
            assert isinstance(permissions, dict), f"{where}: set the job's permissions explicitly"
            writes = {scope for scope, level in permissions.items() if level == "write"}
            expected = set()
            if steps_using(job, AWS_CREDENTIALS_ACTION):
                expected.add("id-token")
            if any(s.get("with", {}).get("comment-on-pr") is True for s in steps_using(job, PULUMI_ACTION)):
                expected.add("pull-requests")
            assert writes == expected, f"{where}: write permissions {sorted(writes)}, needs {sorted(expected)}"
            assert permissions.get("contents") == "read", where


def test_aws_credentials_come_from_oidc_only() -> None:
    for path in WORKFLOW_FILES:
        text = path.read_text()
        assert not re.search(r"secrets\.AWS_|AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID", text), f"{path.name}: no stored AWS keys"
        for job_id, job in jobs(path).items():
            for step in steps_using(job, AWS_CREDENTIALS_ACTION):
                given = step["with"]
                assert _FROM_VARIABLE.match(given["role-to-assume"]), f"{path.name}/{job_id}: role-to-assume from a variable"
                assert not {"aws-access-key-id", "aws-secret-access-key", "aws-session-token"} & set(given)
            uses_aws = bool(steps_using(job, AWS_CREDENTIALS_ACTION))
            if steps_using(job, PULUMI_ACTION):
                assert uses_aws, f"{path.name}/{job_id}: runs Pulumi without AWS credentials"


def test_previews_skip_forks_which_get_no_oidc_token() -> None:
    for path, job_id, job, _given in pulumi_jobs("preview"):
        assert "github.repository" in str(job.get("if", "")), f"{path.name}/{job_id}: skip pull requests from forks"


def test_checkout_keeps_no_credentials() -> None:
    for file, job_id, step in all_steps():
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, f"{file}/{job_id}"


def test_every_job_has_a_timeout() -> None:
    for path in WORKFLOW_FILES:
        for job_id, job in jobs(path).items():
            assert isinstance(job.get("timeout-minutes"), int), f"{path.name}/{job_id}: set timeout-minutes"


# --- versions in step -------------------------------------------------------------------------------------
def _pin(requirements: Path, package: str) -> str:
    for line in requirements.read_text().splitlines():
        name, sep, version = line.split("#", 1)[0].strip().partition("==")
        if sep and name.strip().lower().replace("_", "-") == package:
            return version.strip()
    raise AssertionError(f"{requirements.name} does not pin {package}")


def test_cli_version_and_policy_pack_sdk_follow_the_program_sdk() -> None:
    sdk = _pin(ROOT / "requirements.txt", "pulumi")
    assert _pin(ROOT / "policy" / "requirements.txt", "pulumi") == sdk
    for path, job_id, _job, given in [*pulumi_jobs("preview"), *pulumi_jobs("up")]:
        version = str(given.get("pulumi-version", ""))
        if re.fullmatch(r"\$\{\{\s*env\.PULUMI_VERSION\s*\}\}", version):
            version = str(workflow(path).get("env", {}).get("PULUMI_VERSION"))
        assert version == sdk, f"{path.name}/{job_id}: run the Pulumi CLI {sdk}, the SDK's version, not {version!r}"


def test_the_workflows_install_the_policy_pack_where_its_project_file_looks() -> None:
    project = yaml.safe_load((ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    virtualenv = project["runtime"]["options"]["virtualenv"]
    for path, job_id, job, given in [*pulumi_jobs("preview"), *pulumi_jobs("up")]:
        runs = "\n".join(str(s.get("run", "")) for s in job["steps"])
        assert f"-m venv {given['policyPacks']}/{virtualenv}" in runs, f"{path.name}/{job_id}: create the pack's virtualenv"
        assert f"-r {given['policyPacks']}/requirements.txt" in runs, f"{path.name}/{job_id}: install the pack's requirements"
