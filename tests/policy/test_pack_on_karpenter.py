"""The policy pack on a stack whose Neuron nodes Karpenter launches (nodeProvisioner karpenter): no mandatory rule
breaks, Karpenter's node role is held to the node-role rules, and its EC2NodeClass, the nodes' launch template,
must require IMDSv2 as launch templates must."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable

import pytest

from policy.policies import EC2_NODE_CLASS, IAM_ROLE_POLICY_ATTACHMENT, POD_IDENTITY_ASSOCIATION
from tests.policy.harness import analyze, analyze_stack
from tools.mock_engine import ProgramRun

KARPENTER = {"nodeProvisioner": "karpenter", "desiredNodes": None, "minNodes": None}
IMDS_RULE = "launch-templates-require-imdsv2"


@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
def test_a_karpenter_stack_breaks_no_mandatory_policy(run_stack: Callable[..., ProgramRun], preview: bool) -> None:
    run = run_stack("prod", preview=preview, **KARPENTER)
    assert run.of_type(EC2_NODE_CLASS), "the rule's resource is there"
    diagnostics = analyze(run.resources)
    assert [f"{d.policy} on {d.urn}: {d.message}" for d in diagnostics if d.level == "mandatory"] == []
    assert [d.message for d in diagnostics if "can't run policy" in d.message] == []
    report = analyze_stack(run.resources)
    assert report.diagnostics == [] and report.not_applicable == {}


def test_an_ec2_node_class_answering_imdsv1_is_stopped(run_stack: Callable[..., ProgramRun]) -> None:
    node_class = run_stack("prod", **KARPENTER).one(EC2_NODE_CLASS)
    assert IMDS_RULE not in {d.policy for d in analyze([node_class])}
    raw = copy.deepcopy(node_class.raw_inputs)
    raw["spec"]["metadataOptions"]["httpTokens"] = "optional"
    diagnostics = [d for d in analyze([dataclasses.replace(node_class, raw_inputs=raw)]) if d.policy == IMDS_RULE]
    assert [(d.level, d.message.split("\n")[-1]) for d in diagnostics] == [(
        "mandatory", "spec.metadataOptions.httpTokens is 'optional': the nodes Karpenter launches would answer IMDSv1 "
                     "requests, which any SSRF in a pod can use to steal the node role's credentials; set httpTokens to "
                     "\"required\" (Karpenter's default)")]
    # Left out, Karpenter requires tokens itself.
    del raw["spec"]["metadataOptions"]
    assert IMDS_RULE not in {d.policy for d in analyze([dataclasses.replace(node_class, raw_inputs=raw)])}


def test_the_model_grant_on_karpenters_node_role_is_stopped_under_pod_identity(run_stack: Callable[..., ProgramRun]) -> None:
    run = run_stack("prod", **KARPENTER)
    node_role = run.named("aws:iam/role:Role", "karpenter-node-role")
    attachment = run.named(IAM_ROLE_POLICY_ATTACHMENT, "model-attach")
    moved = dataclasses.replace(attachment, outputs={**attachment.outputs, "role": node_role.outputs["name"]},
                                property_dependencies={**attachment.property_dependencies, "role": [node_role.urn]})
    report = analyze_stack([moved if r is attachment else r for r in run.resources])
    assert [(d.policy, d.urn) for d in report.diagnostics] == [
        ("node-roles-without-s3-under-pod-identity", attachment.urn)]
    assert len(run.of_type(POD_IDENTITY_ASSOCIATION)) == 2  # the model's and Karpenter's
