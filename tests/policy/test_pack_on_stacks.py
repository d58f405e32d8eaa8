"""The whole pack on what the program declares for each stack, and the pack as the CLI runs it.

Resources come from the mock engine (`run_stack`), their wire inputs fed to the policy SDK's
analyzer as the engine would (tests/policy/harness.py). The mock engine does not expand remote
components (`eks:index:Cluster`, the Helm chart), so their children are not here: the EKS rules
also read the `eks:index:Cluster` component's inputs for that reason.
"""

from __future__ import annotations

import copy
import dataclasses
import select
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc

from eks_inferentia.config import KEYS_BY_NAME
from policy.policies import (
    EKS_CLUSTER_COMPONENT,
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY_ATTACHMENT,
    LAUNCH_TEMPLATE,
    NODE_GROUP,
    POD_IDENTITY_ASSOCIATION,
    POLICIES,
    is_neuron_instance_type,
)
from tests.policy.harness import PACK_NAME, Diagnostic, analyze, analyze_stack, urn_of
from tools.mock_engine import ProgramRun, Registration
from tools.render import stack_names

POLICY_DIR = Path(__file__).resolve().parents[2] / "policy"
STACKS = stack_names()
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
ENDPOINT_ADVISORY = "eks-api-endpoint-not-world-open"
S3_ADVISORY = "roles-not-reading-every-bucket"


def fired(diagnostics: list[Diagnostic], level: str | None = None) -> set[str]:
    return {d.policy for d in diagnostics if level is None or d.level == level}


def test_stacks_are_there() -> None:
    assert {"dev", "prod"} <= set(STACKS)


# dev serving Llama 3.1 8B with vLLM on inf2.8xlarge (servingRuntime vllm, issue 14) beside the stacks.
VLLM = {"servingRuntime": "vllm", "instanceType": "inf2.8xlarge", "modelCompiledFor": "",
        "modelBasePath": "s3://your-bucket-of-models/llama-3.1-8b-instruct/", "modelName": "llama-3.1-8b",
        "memoryRequest": "34Gi", "memoryLimit": "64Gi"}


@pytest.mark.parametrize("stack", [*STACKS, "dev-vllm"])
@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
def test_stack_breaks_no_mandatory_policy(run_stack: Callable[..., ProgramRun], stack: str, preview: bool) -> None:
    run = run_stack("dev", preview=preview, **VLLM) if stack == "dev-vllm" else run_stack(stack, preview=preview)
    # The resources the mandatory rules govern are really there, so this is not vacuous.
    types = {r.type for r in run.resources}
    assert {NODE_GROUP, LAUNCH_TEMPLATE, EKS_CLUSTER_COMPONENT, IAM_ROLE_POLICY_ATTACHMENT, DEPLOYMENT} <= types
    diagnostics = analyze(run.resources)
    mandatory = [f"{d.policy} on {d.resource_type} {d.urn}: {d.message}" for d in diagnostics if d.level == "mandatory"]
    assert mandatory == []
    # A policy that reads an unknown value through the SDK's proxy is reported "can't run ... during preview".
    assert [d.message for d in diagnostics if "can't run policy" in d.message] == []
    # The stack policies, on every resource's state at the end of the preview or update.
    report = analyze_stack(run.resources)
    assert report.diagnostics == []
    assert report.not_applicable == {}


# --- node roles without S3 under Pod Identity -------------------------------------------------------
POD_IDENTITY_RULE = "node-roles-without-s3-under-pod-identity"


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
def test_node_role_reading_the_model_is_fine_without_pod_identity(run_stack: Callable[..., ProgramRun], stack: str,
                                                                  preview: bool) -> None:
    assert KEYS_BY_NAME["modelAccess"].default == "pod-identity"
    run = run_stack(stack, preview=preview, modelAccess="node-role")
    assert not run.of_type(POD_IDENTITY_ASSOCIATION)
    attachment = run.named(IAM_ROLE_POLICY_ATTACHMENT, "model-attach")
    assert attachment.outputs["role"] == _node_role(run).outputs["name"]
    report = analyze_stack(run.resources)
    assert report.diagnostics == []
    assert POD_IDENTITY_RULE in report.not_applicable


def _node_role(run: ProgramRun) -> Registration:
    return run.named(IAM_ROLE, "neuron-nodes-node-role")


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
def test_model_policy_on_the_node_role_under_pod_identity_fails(run_stack: Callable[..., ProgramRun], stack: str,
                                                                preview: bool) -> None:
    # The model's attachment moved from the Pod Identity role to the node role, as a mistaken change would do.
    run = run_stack(stack, preview=preview)
    node_role = _node_role(run)
    attachment = run.named(IAM_ROLE_POLICY_ATTACHMENT, "model-attach")
    moved = dataclasses.replace(
        attachment, outputs={**attachment.outputs, "role": node_role.outputs["name"]},
        property_dependencies={**attachment.property_dependencies, "role": [node_role.urn]})
    resources = [moved if r is attachment else r for r in run.resources]
    policy = run.named(IAM_POLICY, "model-read-model")
    arn = "its ARN not known yet" if preview else policy.outputs["arn"]
    association = run.one(POD_IDENTITY_ASSOCIATION)
    report = analyze_stack(resources)
    assert [(d.policy, d.level, d.urn) for d in report.diagnostics] == [(POD_IDENTITY_RULE, "mandatory", attachment.urn)]
    assert report.diagnostics[0].message == (
        "When the stack reads the model through EKS Pod Identity (a PodIdentityAssociation exists), no role trusted "
        "by EC2 (a node role) gets S3 access: no AmazonS3* (or admin, power-user, read-only) policy, and no attached "
        "or inline policy allowing s3: actions.\n"
        f"node role {node_role.outputs['name']} (trusted by EC2) gets S3 access: the attachment model-attach attaches "
        f"policy model-read-model ({arn}), whose statements 'ListModelPrefix', 'ReadModelObjects' allow S3 actions. "
        f"The stack gives pods their own identity through EKS Pod Identity ({association.name}), yet every pod on "
        "these nodes can take the node role's credentials from the instance metadata service; the model's grant "
        "belongs on the Pod Identity role: remove this one from the node role (or set eks-inferentia:modelAccess to "
        "node-role to read the model through the node role instead)")


def test_bucket_wide_s3_access_is_advisory(run_stack: Callable[..., ProgramRun]) -> None:
    assert "s3Access" in KEYS_BY_NAME
    all_buckets = analyze(run_stack("dev", s3Access="all").resources)
    s3 = [d for d in all_buckets if d.policy == S3_ADVISORY]
    assert s3 and {d.level for d in s3} == {"advisory"}
    assert {d.resource_type for d in s3} == {IAM_ROLE_POLICY_ATTACHMENT}
    assert not fired(all_buckets, "mandatory")
    assert S3_ADVISORY not in fired(analyze(run_stack("dev", s3Access="bucket").resources))


def test_world_open_api_endpoint_is_advisory(run_stack: Callable[..., ProgramRun]) -> None:
    # apiAllowedCidrs, where the program declares it, limits the public endpoint; left at the whole
    # internet (or absent, when EKS opens it to 0.0.0.0/0) the advisory fires on the cluster.
    restricts = "apiAllowedCidrs" in KEYS_BY_NAME
    open_run = run_stack("dev", apiAllowedCidrs=["0.0.0.0/0"]) if restricts else run_stack("dev")
    endpoint = [d for d in analyze(open_run.resources) if d.policy == ENDPOINT_ADVISORY]
    assert endpoint and {d.level for d in endpoint} == {"advisory"}
    assert {d.resource_type for d in endpoint} == {EKS_CLUSTER_COMPONENT}
    if restricts:
        closed = run_stack("dev", apiAllowedCidrs=["203.0.113.0/24"])
        assert ENDPOINT_ADVISORY not in fired(analyze(closed.resources))


def _set(path: tuple[str | int, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(inputs: dict[str, Any]) -> None:
        target: Any = inputs
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


# Each mandatory rule, on a real resource of the dev stack (wire form) changed to break it.
BREAKS: list[tuple[str, str, Callable[[dict[str, Any]], None]]] = [
    (LAUNCH_TEMPLATE, "launch-templates-require-imdsv2", _set(("metadataOptions", "httpTokens"), "optional")),
    (LAUNCH_TEMPLATE, "neuron-nodes-use-neuron-ami",
     lambda i: i.update(instanceType="inf1.2xlarge", imageId="ami-0123456789abcdef0")),
    (NODE_GROUP, "neuron-nodes-use-neuron-ami", _set(("amiType",), "AL2023_x86_64_STANDARD")),
    (EKS_CLUSTER_COMPONENT, "eks-control-plane-logs", _set(("enabledClusterLogTypes",), ["api"])),
    (DEPLOYMENT, "containers-not-privileged",
     _set(("spec", "template", "spec", "containers", 0, "securityContext"), {"privileged": True})),
    (IAM_ROLE_POLICY_ATTACHMENT, "iam-no-administrator-roles",
     _set(("policyArn",), "arn:aws:iam::aws:policy/AdministratorAccess")),
]


def _neuron(resources: list[Registration], type_: str) -> Registration:
    """The resource of `type_`, the Neuron nodes' one where other node groups may exist too."""
    node_group = next(r for r in resources
                      if r.type == NODE_GROUP and any(is_neuron_instance_type(t) for t in r.raw_inputs["instanceTypes"]))
    if type_ == NODE_GROUP:
        return node_group
    if type_ == LAUNCH_TEMPLATE:
        template_id = node_group.raw_inputs["launchTemplate"]["id"]
        return next(r for r in resources if r.type == LAUNCH_TEMPLATE and r.outputs.get("id") == template_id)
    found = [r for r in resources if r.type == type_]
    assert found, f"no {type_} in the dev stack"
    return found[0]


@pytest.mark.parametrize(("type_", "policy", "mutate"), BREAKS, ids=[f"{p}:{t.rsplit(':', 1)[1]}" for t, p, _ in BREAKS])
def test_mandatory_rules_stop_a_broken_stack_resource(run_stack: Callable[..., ProgramRun], type_: str, policy: str,
                                                      mutate: Callable[[dict[str, Any]], None]) -> None:
    resource = _neuron(run_stack("dev").resources, type_)
    assert policy not in fired(analyze([resource]))
    raw = copy.deepcopy(resource.raw_inputs)
    mutate(raw)
    broken = dataclasses.replace(resource, raw_inputs=raw)
    diagnostics = [d for d in analyze([broken]) if d.policy == policy]
    assert diagnostics and {d.level for d in diagnostics} == {"mandatory"}


# --- the pack as the CLI runs it ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def served_pack() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """`python -u -m pulumi.policy <engine> policy`, what the CLI's Python language host starts for the pack:
    it runs policy/__main__.py, which serves the pack on a loopback port and prints the port."""
    # stderr to a file, not a pipe: the server never blocks on a full pipe.
    with tempfile.TemporaryFile() as stderr, subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(POLICY_DIR)],
            cwd=POLICY_DIR, stdout=subprocess.PIPE, stderr=stderr) as process:
        try:
            assert process.stdout is not None
            ready, _, _ = select.select([process.stdout], [], [], 60)
            line = process.stdout.readline() if ready else b""
            if not line.strip().isdigit():
                process.kill()
                process.wait(timeout=30)
                stderr.seek(0)
                pytest.fail(f"the policy pack did not start (stdout {line!r}):\n{stderr.read().decode(errors='replace')}")
            with grpc.insecure_channel(f"127.0.0.1:{int(line)}") as channel:
                yield analyzer_pb2_grpc.AnalyzerStub(channel)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


def test_main_serves_every_policy_with_its_level(served_pack: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = served_pack.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    assert info.name == PACK_NAME
    served = {p.name: proto.EnforcementLevel.Name(p.enforcementLevel).lower() for p in info.policies}
    assert served == {p.name: p.enforcement_level.value for p in POLICIES if p.enforcement_level is not None}
    assert len(served) == len(POLICIES)


def test_main_reports_a_mandatory_violation_over_grpc(served_pack: analyzer_pb2_grpc.AnalyzerStub) -> None:
    request = proto.AnalyzeRequest(type=LAUNCH_TEMPLATE, name="nodes-lt", urn=urn_of(LAUNCH_TEMPLATE, "nodes-lt"))
    request.properties.update({"metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "optional"}})
    response = served_pack.Analyze(request, timeout=30)
    assert [(d.policyName, proto.EnforcementLevel.Name(d.enforcementLevel)) for d in response.diagnostics] == [
        ("launch-templates-require-imdsv2", "MANDATORY")]
    request.properties.update({"metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required"}})
    assert list(served_pack.Analyze(request, timeout=30).diagnostics) == []
