"""checkov over the rendered Kubernetes manifests of every stack, parliament over every IAM policy.

Both run from their own venv (tools/checkers.py). Each test that expects silence is paired with
one that shows the checker would speak, so a checker that ran nothing cannot pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tools.checkers import run_checkov, run_parliament
from tools.references import WORKLOAD_KINDS
from tools.render import main, stack_names

STACKS = stack_names()
# Variants beside the stacks: every switch that changes the manifests.
VARIANTS = {
    "dev-batching-scheduler": ["servingBatching=true", "neuronScheduler=enabled", "allowedClientNamespaces=[\"apps\"]"],
    # KEDA's ScaledObject and TriggerAuthentication; the chart's own workloads exist only live (Helm renders them).
    "dev-autoscaling": ["autoscaling=true", "targetRequestsPerSecond=40"],
    # servingRuntime vllm (issue 14): Llama 3.1 8B on inf2.8xlarge, with compiled artifacts.
    "dev-vllm": ["servingRuntime=vllm", "instanceType=inf2.8xlarge",
                  "modelBasePath=s3://your-bucket-of-models/llama-3.1-8b-instruct/", "modelName=llama-3.1-8b",
                  "modelCompiledFor=", "memoryRequest=34Gi", "memoryLimit=64Gi", "modelSizeGiB=16", "modelVolumeSize=40Gi",
                  "compiledArtifactsPath=s3://your-bucket-of-models/llama-3.1-8b-instruct/neuron-artifacts/inf2-tp2/"],
}
KMS_KEY = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture(scope="module")
def manifests(tmp_path_factory) -> dict[str, Path]:
    out = {}
    for name, (stack, overrides) in {**{s: (s, []) for s in STACKS},
                                     **{v: ("dev", o) for v, o in VARIANTS.items()}}.items():
        folder = tmp_path_factory.mktemp(name)
        args = [stack, "--out", str(folder)] + [a for o in overrides for a in ("--set", o)]
        assert main(args) == 0
        out[name] = folder
    return out


@pytest.mark.parametrize("name", [*STACKS, *VARIANTS])
def test_checkov_finds_no_failed_check_and_every_skip_is_justified(manifests, name: str) -> None:
    report = run_checkov("kubernetes", manifests[name] / "manifests")
    assert report.failures() == []
    assert len(report.passed) > 50
    # checkov read every workload: one it cannot parse (a null name, say) is skipped in silence.
    scanned = {check["resource"] for check in report.passed + report.failed + report.skipped}
    workloads = [yaml.safe_load(path.read_text()) for path in sorted((manifests[name] / "manifests").glob("*.yaml"))]
    workloads = [m for m in workloads if m["kind"] in WORKLOAD_KINDS]
    # The DaemonSet is neuron-monitor's (monitoring is on by default).
    assert {m["kind"] for m in workloads} == {"Deployment", "Job", "DaemonSet"}
    for workload in workloads:
        resource = f"{workload['kind']}.{workload['metadata']['namespace']}.{workload['metadata']['name']}"
        assert resource in scanned, f"checkov did not scan {resource}"
    # Every skip is one a workload justifies in its own annotations.
    for workload in workloads:
        resource = f"{workload['kind']}.{workload['metadata']['namespace']}.{workload['metadata']['name']}"
        justified = {value.split("=", 1)[0] for key, value in (workload["metadata"].get("annotations") or {}).items()
                     if key.startswith("checkov.io/skip")}
        assert {check["check_id"] for check in report.skipped if check["resource"] == resource} == justified, resource


def test_checkov_would_fail_a_privileged_container_and_an_unjustified_root_user(manifests, tmp_path: Path) -> None:
    source = next((manifests["dev"] / "manifests").glob("*-deployment-*.yaml"))
    deployment = yaml.safe_load(source.read_text())
    deployment["metadata"]["annotations"] = {}
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] = True
    (tmp_path / source.name).write_text(yaml.safe_dump(deployment))
    failed = {check["check_id"] for check in run_checkov("kubernetes", tmp_path).failed}
    assert {"CKV_K8S_16", "CKV_K8S_23"} <= failed  # privileged; root without a justified skip


def _identity_policies(run) -> list[tuple[str, str]]:
    return [(r.name, r.inputs["policy"]) for r in run.resources
            if r.type in ("aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy")]


@pytest.mark.parametrize(("stack", "overrides"), [*((s, {}) for s in STACKS), ("dev", {"modelKmsKeyArn": KMS_KEY}),
                                                   ("dev", {"modelKmsKeyArn": KMS_KEY, "s3Access": "all"}),
                                                   ("dev", {"modelAccess": "node-role"}),
                                                   ("dev", {"autoscaling": "true", "targetRequestsPerSecond": "40"})])
def test_parliament_finds_nothing_in_the_policies_the_program_writes(run_stack, stack: str, overrides: dict) -> None:
    policies = _identity_policies(run_stack(stack, **overrides))
    assert policies, "the model access policy is missing"
    for name, document in policies:
        assert run_parliament(document) == [], name
    # Trust policies (assumeRolePolicy) are not linted: parliament reads identity policies, and a
    # trust policy has no Resource by design.


def test_parliament_would_flag_object_reads_on_the_bucket_arn() -> None:
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::your-bucket-of-models"}]})
    assert [finding["issue"] for finding in run_parliament(document)] == ["RESOURCE_MISMATCH"]


def _as_identity_statement(trust: str) -> dict:
    """The trust policy's actions and conditions as an identity policy parliament can read: a trust policy has
    a Principal and no Resource by design, and parliament stops at that (MALFORMED) before looking further."""
    document = json.loads(trust)
    for statement in document["Statement"]:
        statement.pop("Principal")
        statement["Resource"] = "*"
    return document


def test_parliament_knows_the_pod_identity_trust_policys_actions_and_condition_keys(run_stack) -> None:
    trust = next(r for r in run_stack().resources if r.name == "model-role").inputs["assumeRolePolicy"]
    document = _as_identity_statement(trust)
    # Only the placeholder Resource "*" is reported: the actions exist and take the aws:RequestTag keys.
    assert [f["issue"] for f in run_parliament(json.dumps(document))] == ["RESOURCE_STAR"]
    document["Statement"][0]["Action"] = ["sts:AssumeRole", "sts:TagSessions"]
    assert "UNKNOWN_ACTION" in [f["issue"] for f in run_parliament(json.dumps(document))]
