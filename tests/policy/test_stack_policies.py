"""The pack's stack policy `node-roles-without-s3-under-pod-identity`, on small stacks written out here.

Each resource is a `Registration` as the mock engine records it; `analyze_stack` sends its output state,
parent, dependencies and property dependencies to the policy SDK's `AnalyzeStack`, as the engine does.
The dev and prod stacks themselves are in test_pack_on_stacks.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi.runtime import rpc

from policy.policies import (
    IAM_POLICY,
    IAM_POLICY_ATTACHMENT,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE,
    POD_IDENTITY_ASSOCIATION,
    s3_statements,
    trusts_ec2,
)
from tests.policy.harness import Diagnostic, analyze_stack, urn_of
from tools.mock_engine import Registration

RULE = "node-roles-without-s3-under-pod-identity"
NODE_ROLE = "nodes-role-1234567"
POD_ROLE = "model-role-7654321"
ACCOUNT = "123456789012"
EKS_NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly",
                     "AmazonSSMManagedInstanceCore")


def trust(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": service}}]})


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


READ_MODEL = document({"Sid": "ReadModelObjects", "Effect": "Allow", "Action": "s3:GetObject",
                       "Resource": "arn:aws:s3:::models/resnet50/*"})


def registration(type_: str, name: str, outputs: dict[str, Any], *,
                 property_dependencies: dict[str, list[str]] | None = None) -> Registration:
    return Registration(type=type_, name=name, urn=urn_of(type_, name), parent="", custom=True, provider="",
                        inputs={}, raw_inputs={}, outputs=outputs, dependencies=[],
                        custom_timeouts={}, property_dependencies=property_dependencies or {})


def role(name: str, service: str, **outputs: Any) -> Registration:
    return registration(IAM_ROLE, name.split("-")[0], {
        "name": name, "arn": f"arn:aws:iam::{ACCOUNT}:role/{name}", "id": name, "assumeRolePolicy": trust(service),
        **outputs})


def attach(name: str, role_name: Any, policy_arn: Any, **kwargs: Any) -> Registration:
    return registration(IAM_ROLE_POLICY_ATTACHMENT, name, {"role": role_name, "policyArn": policy_arn}, **kwargs)


def aws_managed(name: str) -> str:
    return f"arn:aws:iam::aws:policy/{name}"


def customer_policy(name: str, policy: str) -> Registration:
    arn = f"arn:aws:iam::{ACCOUNT}:policy/{name}"
    return registration(IAM_POLICY, name, {"name": name, "arn": arn, "id": arn, "policy": policy})


def stack(*extra: Registration, association: bool = True) -> list[Registration]:
    """A node role with the EKS node policies, the model's Pod Identity role reading the model, and the association."""
    resources = [role(NODE_ROLE, "ec2.amazonaws.com")]
    resources += [attach(f"nodes-{p}", NODE_ROLE, aws_managed(p)) for p in EKS_NODE_POLICIES]
    model_policy = customer_policy("model-read-model", READ_MODEL)
    resources += [role(POD_ROLE, "pods.eks.amazonaws.com"), model_policy,
                  attach("model-attach", POD_ROLE, model_policy.outputs["arn"])]
    if association:
        resources.append(registration(POD_IDENTITY_ASSOCIATION, "model-pod-identity", {
            "clusterName": "inferentia-dev", "namespace": "inference", "serviceAccount": "eks-neuron-test",
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/{POD_ROLE}", "associationId": "a-0123456789abcdef0"}))
    return [*resources, *extra]


def findings(resources: list[Registration]) -> list[Diagnostic]:
    return [d for d in analyze_stack(resources).diagnostics if d.policy == RULE]


def test_node_role_with_only_the_eks_node_policies_passes() -> None:
    report = analyze_stack(stack())
    assert report.diagnostics == []
    assert RULE not in report.not_applicable


def test_the_pod_identity_role_may_read_s3() -> None:
    # Even all of S3: that is for roles-not-reading-every-bucket (advisory), not for this rule.
    assert findings(stack(attach("model-all", POD_ROLE, aws_managed("AmazonS3ReadOnlyAccess")))) == []


S3_FULL = document({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
GRANTS: list[tuple[str, list[Registration], str, str]] = [
    ("managed-attachment", [attach("nodes-s3", NODE_ROLE, aws_managed("AmazonS3ReadOnlyAccess"))],
     "nodes-s3", f"the attachment nodes-s3 attaches the AWS-managed policy {aws_managed('AmazonS3ReadOnlyAccess')}"),
    ("managed-policy-attachment",
     [registration(IAM_POLICY_ATTACHMENT, "s3-full", {"roles": ["ci", NODE_ROLE], "policyArn": aws_managed(
         "AmazonS3FullAccess")})],
     "s3-full", f"the attachment s3-full attaches the AWS-managed policy {aws_managed('AmazonS3FullAccess')}"),
    ("exclusive-attachments",
     [registration(IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE, "nodes-only", {
         "roleName": NODE_ROLE, "policyArns": [aws_managed("AmazonEKSWorkerNodePolicy"), aws_managed("PowerUserAccess")]})],
     "nodes-only", f"the exclusive attachments nodes-only attach the AWS-managed policy {aws_managed('PowerUserAccess')}"),
    ("customer-policy",
     [customer_policy("bucket-admin", S3_FULL),
      attach("nodes-bucket-admin", NODE_ROLE, f"arn:aws:iam::{ACCOUNT}:policy/bucket-admin")],
     "nodes-bucket-admin", f"the attachment nodes-bucket-admin attaches policy bucket-admin "
                           f"(arn:aws:iam::{ACCOUNT}:policy/bucket-admin), whose statement 0 allows S3 actions"),
    ("role-policy",
     [registration(IAM_ROLE_POLICY, "nodes-read", {"role": NODE_ROLE, "name": "read", "policy": READ_MODEL})],
     "nodes-read", "the role policy nodes-read, whose statement 'ReadModelObjects' allows S3 actions"),
]


@pytest.mark.parametrize(("extra", "blamed", "grant"), [g[1:] for g in GRANTS], ids=[g[0] for g in GRANTS])
def test_each_kind_of_grant_to_the_node_role_fails(extra: list[Registration], blamed: str, grant: str) -> None:
    [finding] = findings(stack(*extra))
    assert finding.level == "mandatory"
    assert finding.urn == next(r.urn for r in extra if r.name == blamed)
    assert f"node role {NODE_ROLE} (trusted by EC2) gets S3 access: {grant}. " in finding.message
    # Without the association the node role is how pods read the model: the rule does not apply.
    report = analyze_stack(stack(*extra, association=False))
    assert report.diagnostics == [] and RULE in report.not_applicable


def test_grants_on_the_role_itself_fail() -> None:
    node_role = role(NODE_ROLE, "ec2.amazonaws.com", managedPolicyArns=[aws_managed("AmazonS3ReadOnlyAccess")],
                     inlinePolicies=[{"name": "model", "policy": READ_MODEL}, {"name": "", "policy": ""}])
    resources = [node_role if r.name == "nodes" and r.type == IAM_ROLE else r for r in stack()]
    messages = [d.message for d in findings(resources)]
    assert len(messages) == 2
    assert f"its managedPolicyArns list the AWS-managed policy {aws_managed('AmazonS3ReadOnlyAccess')}" in messages[0]
    assert "its inline policy 'model', whose statement 'ReadModelObjects' allows S3 actions" in messages[1]


def test_a_policy_not_known_yet_is_found_through_its_dependencies() -> None:
    # A preview: the new policy's ARN is unknown, the attachment's policyArn too; the engine still sends which
    # resource the value comes from.
    policy = customer_policy("nodes-read", READ_MODEL)
    del policy.outputs["arn"], policy.outputs["id"]
    attachment = attach("nodes-read", NODE_ROLE, rpc.UNKNOWN, property_dependencies={"policyArn": [policy.urn]})
    [finding] = findings(stack(policy, attachment))
    assert "attaches policy nodes-read (its ARN not known yet), whose statement 'ReadModelObjects'" in finding.message
    # An unknown ARN that comes from no policy of the stack cannot be judged.
    assert findings(stack(attach("nodes-other", NODE_ROLE, rpc.UNKNOWN))) == []


def test_a_customer_policy_without_s3_actions_passes() -> None:
    kms = customer_policy("decrypt", document({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}))
    assert findings(stack(kms, attach("nodes-decrypt", NODE_ROLE, kms.outputs["arn"]))) == []


@pytest.mark.parametrize(("statement", "grants"), [
    ({"Action": "s3:GetObject"}, True),
    ({"Action": ["kms:Decrypt", "S3:List*"]}, True),
    ({"Action": "*"}, True),
    ({"Action": "s*:Get*"}, True),
    ({"Action": "s3tables:GetTable"}, False),
    ({"Action": "ec2:*"}, False),
    ({"Effect": "Deny", "Action": "s3:*"}, False),
    ({"NotAction": ["iam:*", "organizations:*"]}, True),
    ({"NotAction": "s3:DeleteObject"}, True),
    ({"NotAction": "s3:*"}, False),
    ({"NotAction": "*"}, False),
])
def test_which_statements_allow_s3(statement: dict[str, Any], grants: bool) -> None:
    assert bool(s3_statements(document({"Effect": "Allow", "Resource": "*", **statement}))) is grants


@pytest.mark.parametrize(("service", "node"), [
    ("ec2.amazonaws.com", True), (["ec2.amazonaws.com.cn"], True), ("pods.eks.amazonaws.com", False),
    ("eks.amazonaws.com", False)])
def test_node_roles_are_the_roles_ec2_assumes(service: Any, node: bool) -> None:
    assert trusts_ec2(trust(service)) is node
