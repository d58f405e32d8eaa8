"""Each policy of the pack on resources that break it and on resources that keep it.

Props are written as the engine sends them: camelCase input names, numbers as floats where the
wire has them, unknowns (a preview) as the SDK's sentinels.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy
from pulumi_policy.proxy import UNKNOWN_ARRAY_VALUE, UNKNOWN_STRING_VALUE

from policy.policies import (
    EKS_CLUSTER,
    EKS_CLUSTER_COMPONENT,
    IAM_POLICY,
    IAM_POLICY_ATTACHMENT,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE,
    LAUNCH_TEMPLATE,
    NODE_GROUP,
    POLICIES,
    SECURITY_GROUP,
    SECURITY_GROUP_INGRESS_RULE,
    SECURITY_GROUP_RULE,
    containers_not_privileged,
    eks_api_endpoint_not_public,
    eks_control_plane_logs,
    iam_no_administrator_roles,
    is_neuron_instance_type,
    launch_templates_require_imdsv2,
    neuron_nodes_use_neuron_ami,
    no_world_open_ssh_or_all_ports,
    roles_not_reading_every_bucket,
    wildcard_statements,
)
from tests.policy.harness import violations

MANDATORY = {
    "neuron-nodes-use-neuron-ami", "launch-templates-require-imdsv2", "no-world-open-ssh-or-all-ports",
    "containers-not-privileged", "iam-no-administrator-roles", "eks-control-plane-logs",
    "node-roles-without-s3-under-pod-identity",
}
ADVISORY = {"eks-api-endpoint-not-world-open", "roles-not-reading-every-bucket"}


def test_the_pack_has_the_mandatory_and_advisory_policies() -> None:
    levels = {policy.name: policy.enforcement_level for policy in POLICIES}
    assert len(levels) == len(POLICIES), "policy names are unique"
    assert {name for name, level in levels.items() if level is EnforcementLevel.MANDATORY} == MANDATORY
    assert {name for name, level in levels.items() if level is EnforcementLevel.ADVISORY} == ADVISORY


def test_policies_ignore_resource_types_they_do_not_govern() -> None:
    for policy in POLICIES:
        if isinstance(policy, ResourceValidationPolicy):  # stack policies: tests/policy/test_stack_policies.py
            assert violations(policy, "aws:s3/bucket:Bucket", {"bucket": "models", "acl": "private"}) == []


# --- 1. Neuron AMI ---------------------------------------------------------------------------------
@pytest.mark.parametrize("instance_type", ["inf1.2xlarge", "inf2.xlarge", "trn1.32xlarge", "trn1n.32xlarge",
                                           "trn2.48xlarge"])
def test_neuron_instance_types_are_recognised(instance_type: str) -> None:
    assert is_neuron_instance_type(instance_type)


@pytest.mark.parametrize("instance_type", ["m6i.large", "g5.xlarge", "p5.48xlarge", "inf", "information.large"])
def test_other_instance_types_are_not_neuron(instance_type: str) -> None:
    assert not is_neuron_instance_type(instance_type)


def node_group(**props: Any) -> dict[str, Any]:
    return {"clusterName": "inferentia-dev", "instanceTypes": ["inf2.xlarge"], "amiType": "AL2023_x86_64_NEURON",
            "scalingConfig": {"desiredSize": 2.0, "minSize": 1.0, "maxSize": 4.0}, **props}


@pytest.mark.parametrize("ami_type", ["AL2023_x86_64_NEURON", "AL2_x86_64_GPU"])
def test_neuron_node_group_on_a_neuron_ami_type_passes(ami_type: str) -> None:
    assert violations(neuron_nodes_use_neuron_ami, NODE_GROUP, node_group(amiType=ami_type)) == []


@pytest.mark.parametrize("ami_type", ["AL2023_x86_64_STANDARD", "AL2023_x86_64_NVIDIA", "BOTTLEROCKET_x86_64", "AL2_x86_64"])
def test_neuron_node_group_on_an_ami_without_the_driver_fails(ami_type: str) -> None:
    [message] = violations(neuron_nodes_use_neuron_ami, NODE_GROUP, node_group(amiType=ami_type))
    assert ami_type in message and "AL2023_x86_64_NEURON" in message


@pytest.mark.parametrize("ami_type", ["CUSTOM", None])
def test_neuron_node_group_with_a_custom_or_default_ami_cannot_be_checked(ami_type: str | None) -> None:
    props = node_group(amiType=ami_type)
    if ami_type is None:
        del props["amiType"]
    [message] = violations(neuron_nodes_use_neuron_ami, NODE_GROUP, props)
    assert "cannot check" in message


def test_cpu_node_group_is_not_governed_by_the_neuron_ami_rule() -> None:
    props = node_group(instanceTypes=["m6i.large"], amiType="AL2023_x86_64_STANDARD")
    assert violations(neuron_nodes_use_neuron_ami, NODE_GROUP, props) == []


def test_mixed_node_group_names_its_neuron_types() -> None:
    props = node_group(instanceTypes=["m6i.large", "inf2.xlarge"], amiType="AL2023_x86_64_STANDARD")
    [message] = violations(neuron_nodes_use_neuron_ami, NODE_GROUP, props)
    assert "inf2.xlarge" in message and "m6i.large" not in message


def test_neuron_ami_type_unknown_in_a_preview_is_left_for_the_update() -> None:
    props = node_group(amiType=UNKNOWN_STRING_VALUE)
    assert violations(neuron_nodes_use_neuron_ami, NODE_GROUP, props) == []


def test_neuron_launch_template_with_an_image_id_cannot_be_checked() -> None:
    [message] = violations(neuron_nodes_use_neuron_ami, LAUNCH_TEMPLATE,
                           {"instanceType": "inf1.6xlarge", "imageId": "ami-0123456789abcdef0"})
    assert "ami-0123456789abcdef0" in message and "cannot be checked" in message


def test_neuron_launch_template_with_an_image_id_unknown_in_a_preview_still_sets_one() -> None:
    [message] = violations(neuron_nodes_use_neuron_ami, LAUNCH_TEMPLATE,
                           {"instanceType": "trn1.2xlarge", "imageId": UNKNOWN_STRING_VALUE})
    assert "cannot be checked" in message


@pytest.mark.parametrize("props", [
    {"instanceType": "inf2.xlarge"},                              # AMI from the node group's amiType
    {"imageId": "ami-0123456789abcdef0"},                         # instance type from the node group
    {"instanceType": "m6i.large", "imageId": "ami-0123456789abcdef0"},
])
def test_launch_templates_the_neuron_ami_rule_can_leave_alone(props: dict[str, Any]) -> None:
    assert violations(neuron_nodes_use_neuron_ami, LAUNCH_TEMPLATE, props) == []


# --- 2. IMDSv2 -------------------------------------------------------------------------------------
def test_launch_template_requiring_imdsv2_passes() -> None:
    props = {"metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 2.0}}
    assert violations(launch_templates_require_imdsv2, LAUNCH_TEMPLATE, props) == []


@pytest.mark.parametrize("props", [
    {"metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "optional"}},
    {"metadataOptions": {"httpPutResponseHopLimit": 2.0}},
    {"description": "no metadata options at all"},
])
def test_launch_template_allowing_imdsv1_fails(props: dict[str, Any]) -> None:
    [message] = violations(launch_templates_require_imdsv2, LAUNCH_TEMPLATE, props)
    assert "httpTokens" in message and "required" in message


def test_launch_template_without_a_metadata_service_has_no_imdsv1() -> None:
    props = {"metadataOptions": {"httpEndpoint": "disabled"}}
    assert violations(launch_templates_require_imdsv2, LAUNCH_TEMPLATE, props) == []


def test_imds_tokens_unknown_in_a_preview_are_left_for_the_update() -> None:
    props = {"metadataOptions": {"httpTokens": UNKNOWN_STRING_VALUE}}
    assert violations(launch_templates_require_imdsv2, LAUNCH_TEMPLATE, props) == []


def test_imdsv2_is_only_asked_of_launch_templates() -> None:
    assert violations(launch_templates_require_imdsv2, NODE_GROUP, node_group()) == []


# --- 3. SSH and all ports from the internet ----------------------------------------------------------
def sg_ingress(protocol: str, from_port: float, to_port: float, cidrs: list[str] | None = None,
               ipv6: list[str] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"protocol": protocol, "fromPort": from_port, "toPort": to_port}
    if cidrs is not None:
        rule["cidrBlocks"] = cidrs
    if ipv6 is not None:
        rule["ipv6CidrBlocks"] = ipv6
    return rule


@pytest.mark.parametrize("rule", [
    sg_ingress("tcp", 22.0, 22.0, ["0.0.0.0/0"]),
    sg_ingress("tcp", 22.0, 22.0, ipv6=["::/0"]),
    sg_ingress("6", 0.0, 65535.0, ["10.0.0.0/8", "0.0.0.0/0"]),
    sg_ingress("-1", 0.0, 0.0, ["0.0.0.0/0"]),
    sg_ingress("all", 0.0, 0.0, ipv6=["::/0"]),
    sg_ingress("udp", 20.0, 25.0, ["0.0.0.0/0"]),
], ids=["ssh-v4", "ssh-v6", "tcp-range", "all-protocols", "all-v6", "udp-range"])
def test_security_group_open_to_the_world_fails(rule: dict[str, Any]) -> None:
    props = {"vpcId": "vpc-1", "ingress": [sg_ingress("tcp", 443.0, 443.0, ["0.0.0.0/0"]), rule]}
    [message] = violations(no_world_open_ssh_or_all_ports, SECURITY_GROUP, props)
    assert "ingress[1]" in message and ("0.0.0.0/0" in message or "::/0" in message)


@pytest.mark.parametrize("rule", [
    sg_ingress("tcp", 22.0, 22.0, ["203.0.113.0/24"]),            # SSH from one network
    sg_ingress("tcp", 443.0, 443.0, ["0.0.0.0/0"]),               # HTTPS from anywhere
    sg_ingress("tcp", 1024.0, 65535.0, ipv6=["::/0"]),            # a range above 22
    sg_ingress("icmp", 8.0, 0.0, ["0.0.0.0/0"]),                  # ping: ports are ICMP type and code
    sg_ingress("-1", 0.0, 0.0, ["10.0.0.0/16"]),                  # everything, from inside the VPC
    {"protocol": "-1", "fromPort": 0.0, "toPort": 0.0, "self": True},
], ids=["ssh-from-a-network", "https", "high-ports", "icmp", "all-from-vpc", "self"])
def test_security_group_rules_that_keep_ssh_closed_pass(rule: dict[str, Any]) -> None:
    props = {"vpcId": "vpc-1", "ingress": [rule]}
    assert violations(no_world_open_ssh_or_all_ports, SECURITY_GROUP, props) == []


def test_security_group_egress_to_the_world_is_fine() -> None:
    props = {"egress": [sg_ingress("-1", 0.0, 0.0, ["0.0.0.0/0"])]}
    assert violations(no_world_open_ssh_or_all_ports, SECURITY_GROUP, props) == []


def test_security_group_rule_resource_ingress_and_egress() -> None:
    ssh = {"type": "ingress", "protocol": "tcp", "fromPort": 22.0, "toPort": 22.0, "cidrBlocks": ["0.0.0.0/0"],
           "securityGroupId": "sg-1"}
    assert len(violations(no_world_open_ssh_or_all_ports, SECURITY_GROUP_RULE, ssh)) == 1
    assert violations(no_world_open_ssh_or_all_ports, SECURITY_GROUP_RULE, {**ssh, "type": "egress"}) == []
    assert violations(no_world_open_ssh_or_all_ports, SECURITY_GROUP_RULE, {**ssh, "cidrBlocks": ["192.0.2.0/24"]}) == []
    everything = {"type": "ingress", "protocol": "-1", "fromPort": 0.0, "toPort": 0.0, "ipv6CidrBlocks": ["::/0"]}
    [message] = violations(no_world_open_ssh_or_all_ports, SECURITY_GROUP_RULE, everything)
    assert "all protocols" in message


def test_vpc_security_group_ingress_rule() -> None:
    ssh = {"securityGroupId": "sg-1", "ipProtocol": "tcp", "fromPort": 22.0, "toPort": 22.0, "cidrIpv4": "0.0.0.0/0"}
    assert len(violations(no_world_open_ssh_or_all_ports, SECURITY_GROUP_INGRESS_RULE, ssh)) == 1
    everything = {"securityGroupId": "sg-1", "ipProtocol": "-1", "cidrIpv6": "::/0"}  # no ports with -1
    assert len(violations(no_world_open_ssh_or_all_ports, SECURITY_GROUP_INGRESS_RULE, everything)) == 1
    https = {"securityGroupId": "sg-1", "ipProtocol": "tcp", "fromPort": 443.0, "toPort": 443.0, "cidrIpv4": "0.0.0.0/0"}
    assert violations(no_world_open_ssh_or_all_ports, SECURITY_GROUP_INGRESS_RULE, https) == []
    private = {**ssh, "cidrIpv4": "10.0.0.0/16"}
    assert violations(no_world_open_ssh_or_all_ports, SECURITY_GROUP_INGRESS_RULE, private) == []


def test_security_group_with_unknown_cidrs_in_a_preview_is_left_for_the_update() -> None:
    props = {"ingress": [{"protocol": "tcp", "fromPort": 22.0, "toPort": 22.0, "cidrBlocks": UNKNOWN_ARRAY_VALUE}]}
    assert violations(no_world_open_ssh_or_all_ports, SECURITY_GROUP, props) == []


# --- 4. Containers -----------------------------------------------------------------------------------
def pod_spec(security_context: dict[str, Any] | None = None, *, init: dict[str, Any] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "tensorflow-serving", "image": "serving:1"}
    if security_context is not None:
        container["securityContext"] = security_context
    spec: dict[str, Any] = {"containers": [container]}
    if init is not None:
        spec["initContainers"] = [{"name": "fetch-model", "image": "aws-cli:2", "securityContext": init}]
    return spec


WORKLOADS = {
    "kubernetes:core/v1:Pod": lambda spec: {"spec": spec},
    "kubernetes:apps/v1:Deployment": lambda spec: {"spec": {"template": {"spec": spec}}},
    "kubernetes:apps/v1:StatefulSet": lambda spec: {"spec": {"template": {"spec": spec}}},
    "kubernetes:apps/v1:DaemonSet": lambda spec: {"spec": {"template": {"spec": spec}}},
    "kubernetes:batch/v1:Job": lambda spec: {"spec": {"template": {"spec": spec}}},
    "kubernetes:batch/v1:CronJob": lambda spec: {"spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}},
    "kubernetes:apps/v1:DeploymentPatch": lambda spec: {"spec": {"template": {"spec": spec}}},
}


@pytest.mark.parametrize("resource_type", sorted(WORKLOADS))
def test_ipc_lock_is_the_one_capability_allowed(resource_type: str) -> None:
    props = WORKLOADS[resource_type](pod_spec({"capabilities": {"add": ["IPC_LOCK"], "drop": ["ALL"]}}))
    assert violations(containers_not_privileged, resource_type, props) == []


@pytest.mark.parametrize("resource_type", sorted(WORKLOADS))
def test_privileged_container_fails(resource_type: str) -> None:
    props = WORKLOADS[resource_type](pod_spec({"privileged": True}))
    [message] = violations(containers_not_privileged, resource_type, props)
    assert "'tensorflow-serving'" in message and "privileged" in message


@pytest.mark.parametrize("resource_type", sorted(WORKLOADS))
def test_capability_beyond_ipc_lock_fails(resource_type: str) -> None:
    props = WORKLOADS[resource_type](pod_spec({"capabilities": {"add": ["IPC_LOCK", "CAP_SYS_ADMIN", "net_admin"]}}))
    [message] = violations(containers_not_privileged, resource_type, props)
    assert "NET_ADMIN, SYS_ADMIN" in message and "IPC_LOCK" in message.split("only", 1)[1]


def _neuron_monitor_pod(image: str) -> dict:
    return {"containers": [{"name": "neuron-monitor", "image": image, "securityContext": {"privileged": True}}]}


def test_only_the_neuron_monitor_image_in_a_daemon_set_may_be_privileged() -> None:
    daemon_set = WORKLOADS["kubernetes:apps/v1:DaemonSet"]
    for image in ("public.ecr.aws/neuron/neuron-monitor:1.3.0", "public.ecr.aws/neuron/neuron-monitor@sha256:" + "a" * 64):
        assert violations(containers_not_privileged, "kubernetes:apps/v1:DaemonSet",
                          daemon_set(_neuron_monitor_pod(image))) == []
    # Another image, a look-alike repository, or the image in another kind of workload: refused.
    for image in ("public.ecr.aws/neuron/neuron-device-plugin:2.32.0.0", "evil.example/neuron/neuron-monitor:1.3.0",
                  "public.ecr.aws/neuron/neuron-monitor-extra:1", "public.ecr.aws/neuron/neuron-monitor"):
        assert len(violations(containers_not_privileged, "kubernetes:apps/v1:DaemonSet",
                              daemon_set(_neuron_monitor_pod(image)))) == 1, image
    deployment = WORKLOADS["kubernetes:apps/v1:Deployment"](_neuron_monitor_pod("public.ecr.aws/neuron/neuron-monitor:1.3.0"))
    assert len(violations(containers_not_privileged, "kubernetes:apps/v1:Deployment", deployment)) == 1


def test_init_containers_are_checked_too() -> None:
    props = WORKLOADS["kubernetes:apps/v1:Deployment"](pod_spec(init={"privileged": True,
                                                                      "capabilities": {"add": ["ALL"]}}))
    messages = violations(containers_not_privileged, "kubernetes:apps/v1:Deployment", props)
    assert len(messages) == 2 and all("initContainer 'fetch-model'" in m for m in messages)


def test_privileged_false_and_no_security_context_pass() -> None:
    props = WORKLOADS["kubernetes:apps/v1:Deployment"](pod_spec({"privileged": False, "runAsNonRoot": True}))
    assert violations(containers_not_privileged, "kubernetes:apps/v1:Deployment", props) == []
    props = WORKLOADS["kubernetes:apps/v1:Deployment"](pod_spec())
    assert violations(containers_not_privileged, "kubernetes:apps/v1:Deployment", props) == []


def test_objects_without_pods_are_not_governed() -> None:
    assert violations(containers_not_privileged, "kubernetes:core/v1:Service", {"spec": {"type": "ClusterIP"}}) == []
    assert violations(containers_not_privileged, "kubernetes:core/v1:ConfigMap", {"data": {"privileged": "true"}}) == []


# --- 5. IAM administrators -------------------------------------------------------------------------
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


@pytest.mark.parametrize("arn", [ADMIN_ARN, "arn:aws-us-gov:iam::aws:policy/AdministratorAccess"])
def test_administrator_access_attached_to_a_role_fails(arn: str) -> None:
    [message] = violations(iam_no_administrator_roles, IAM_ROLE_POLICY_ATTACHMENT, {"role": "nodes", "policyArn": arn})
    assert arn in message


@pytest.mark.parametrize("arn", [
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::123456789012:policy/AdministratorAccess",   # a customer policy with that name is judged by its document
    "arn:aws:iam::aws:policy/AdministratorAccess-Amplify",
])
def test_other_policy_attachments_pass(arn: str) -> None:
    assert violations(iam_no_administrator_roles, IAM_ROLE_POLICY_ATTACHMENT, {"role": "nodes", "policyArn": arn}) == []


def test_role_with_administrator_access_in_managed_policy_arns_fails() -> None:
    props = {"assumeRolePolicy": "{}", "managedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess", ADMIN_ARN]}
    [message] = violations(iam_no_administrator_roles, IAM_ROLE, props)
    assert "managedPolicyArns" in message


def test_exclusive_attachments_and_policy_attachments() -> None:
    assert len(violations(iam_no_administrator_roles, IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE,
                          {"roleName": "nodes", "policyArns": [ADMIN_ARN]})) == 1
    assert len(violations(iam_no_administrator_roles, IAM_POLICY_ATTACHMENT,
                          {"policyArn": ADMIN_ARN, "roles": ["nodes"]})) == 1
    # Users and groups are not roles.
    assert violations(iam_no_administrator_roles, IAM_POLICY_ATTACHMENT, {"policyArn": ADMIN_ARN, "users": ["ops"]}) == []


@pytest.mark.parametrize("statement", [
    {"Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Action": ["s3:GetObject", "*:*"], "Resource": ["arn:aws:s3:::models/*", "*"]},   # Effect defaults to Allow
])
@pytest.mark.parametrize("as_json", [True, False], ids=["json-string", "object"])
@pytest.mark.parametrize("resource_type", [IAM_POLICY, IAM_ROLE_POLICY])
def test_policy_document_allowing_everything_fails(statement: dict[str, Any], as_json: bool, resource_type: str) -> None:
    policy = document({"Sid": "ReadModel", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, statement)
    [message] = violations(iam_no_administrator_roles, resource_type,
                           {"policy": json.dumps(policy) if as_json else policy})
    assert "statement 1" in message


@pytest.mark.parametrize("statement", [
    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},                  # every S3 action: broad, not admin
    {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::models/*"},
    {"Effect": "Deny", "Action": "*", "Resource": "*"},
    {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
])
def test_policy_documents_short_of_administrator_pass(statement: dict[str, Any]) -> None:
    assert violations(iam_no_administrator_roles, IAM_POLICY, {"policy": json.dumps(document(statement))}) == []


def test_the_models_read_policy_passes() -> None:
    policy = document({"Sid": "ReadModelObjects", "Effect": "Allow", "Action": "s3:GetObject",
                       "Resource": "arn:aws:s3:::models/resnet50/*"})
    assert violations(iam_no_administrator_roles, IAM_POLICY, {"policy": json.dumps(policy, indent=2)}) == []


def test_role_inline_policy_allowing_everything_fails() -> None:
    inline = [{"name": "ok", "policy": json.dumps(document({"Action": "s3:GetObject", "Resource": "*"}))},
              {"name": "admin", "policy": json.dumps(document({"Sid": "All", "Action": "*", "Resource": "*"}))}]
    [message] = violations(iam_no_administrator_roles, IAM_ROLE, {"inlinePolicies": inline})
    assert "'admin'" in message and "'All'" in message


def test_wildcard_statements_tolerates_odd_documents() -> None:
    assert wildcard_statements("not json") == []
    assert wildcard_statements({"Statement": {"Action": "*", "Resource": "*"}}) == ["statement 0"]
    assert wildcard_statements(None) == []


def test_policy_document_unknown_in_a_preview_is_left_for_the_update() -> None:
    assert violations(iam_no_administrator_roles, IAM_POLICY, {"policy": UNKNOWN_STRING_VALUE}) == []


# --- 6. EKS control plane logs ---------------------------------------------------------------------
@pytest.mark.parametrize("resource_type", [EKS_CLUSTER, EKS_CLUSTER_COMPONENT])
def test_cluster_logging_api_audit_and_authenticator_passes(resource_type: str) -> None:
    props = {"name": "inferentia", "enabledClusterLogTypes": ["api", "audit", "authenticator", "scheduler"]}
    assert violations(eks_control_plane_logs, resource_type, props) == []


@pytest.mark.parametrize("resource_type", [EKS_CLUSTER, EKS_CLUSTER_COMPONENT])
@pytest.mark.parametrize(("log_types", "missing"), [
    (None, "api, audit, authenticator"),
    ([], "api, audit, authenticator"),
    (["api", "controllerManager"], "audit, authenticator"),
])
def test_cluster_without_the_security_logs_fails(resource_type: str, log_types: list[str] | None, missing: str) -> None:
    props: dict[str, Any] = {"name": "inferentia"}
    if log_types is not None:
        props["enabledClusterLogTypes"] = log_types
    [message] = violations(eks_control_plane_logs, resource_type, props)
    assert f"lacks {missing}:" in message


# --- advisory: public endpoint -------------------------------------------------------------------------
@pytest.mark.parametrize(("vpc_config", "open_"), [
    ({"subnetIds": ["subnet-1"]}, True),                                           # EKS defaults: public, 0.0.0.0/0
    ({"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}, True),
    ({"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24", "0.0.0.0/0"]}, True),
    ({"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}, False),
    ({"endpointPublicAccess": False, "endpointPrivateAccess": True}, False),
    ({"endpointPublicAccess": UNKNOWN_STRING_VALUE}, False),
])
def test_public_endpoint_advisory_on_the_eks_cluster(vpc_config: dict[str, Any], open_: bool) -> None:
    messages = violations(eks_api_endpoint_not_public, EKS_CLUSTER, {"name": "inferentia", "vpcConfig": vpc_config})
    assert bool(messages) is open_


@pytest.mark.parametrize(("props", "open_"), [
    ({"endpointPublicAccess": True}, True),
    ({}, True),
    ({"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}, True),
    ({"endpointPublicAccess": True, "publicAccessCidrs": ["198.51.100.7/32"]}, False),
    ({"endpointPublicAccess": False}, False),
])
def test_public_endpoint_advisory_on_the_pulumi_eks_component(props: dict[str, Any], open_: bool) -> None:
    messages = violations(eks_api_endpoint_not_public, EKS_CLUSTER_COMPONENT, {"name": "inferentia", **props})
    assert bool(messages) is open_


# --- advisory: AmazonS3ReadOnlyAccess ---------------------------------------------------------------------
S3_READ_ALL = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"


def test_s3_read_only_access_is_advisory() -> None:
    [message] = violations(roles_not_reading_every_bucket, IAM_ROLE_POLICY_ATTACHMENT,
                           {"role": "nodes", "policyArn": S3_READ_ALL})
    assert "s3Access" in message
    # The grant is on the Pod Identity role by default (modelAccess), on the node role under node-role.
    assert "the serving pods, for the Pod Identity role" in message and "every pod on the nodes, for a node role" in message
    assert len(violations(roles_not_reading_every_bucket, IAM_ROLE, {"managedPolicyArns": [S3_READ_ALL]})) == 1
    assert len(violations(roles_not_reading_every_bucket, IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE,
                          {"policyArns": [S3_READ_ALL]})) == 1


def test_prefix_scoped_model_access_is_fine() -> None:
    attachment = {"role": "nodes", "policyArn": "arn:aws:iam::123456789012:policy/model-read-model"}
    assert violations(roles_not_reading_every_bucket, IAM_ROLE_POLICY_ATTACHMENT, attachment) == []
    unknown = {"role": "nodes", "policyArn": UNKNOWN_STRING_VALUE}
    assert violations(roles_not_reading_every_bucket, IAM_ROLE_POLICY_ATTACHMENT, unknown) == []
