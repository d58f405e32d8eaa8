"""Karpenter: the interruption queue and its rules, the controller's Pod Identity role scoped as Karpenter's reference
template scopes it, the node role and its access entry, and the chart (nodeProvisioner karpenter)."""

from __future__ import annotations

import json
import re

import pytest

from components.karpenter import INTERRUPTION_EVENTS, controller_replicas
from components.node_parts import NODE_POLICIES
from eks_inferentia.versions import KARPENTER_CHART_VERSION
from tools.checkers import run_parliament

# prod (inf2.xlarge, two system nodes) with Karpenter; desiredNodes and minNodes removed from its stack file.
KARPENTER = {"nodeProvisioner": "karpenter", "desiredNodes": None, "minNodes": None}
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
TAGS = {"project": "eks-inferentia", "cluster": "inferentia-prod"}
CLUSTER_ARN = "arn:aws:eks:us-east-1:123456789012:cluster/inferentia-prod"
POLICY_NAMES = ("node-lifecycle", "iam-integration", "eks-integration", "interruption", "resource-discovery")


@pytest.fixture
def run(run_stack):
    return run_stack("prod", **KARPENTER)


def _policy(run, name: str) -> dict:
    return json.loads(run.named(POLICY, f"karpenter-{name}").inputs["policy"])


def _indented(document: str) -> str:
    """`document`, which must be JSON written as the program writes its policies: `json.dumps(..., indent=2)`."""
    assert document == json.dumps(json.loads(document), indent=2)
    return document


def test_managed_declares_nothing_of_karpenter(run_stack) -> None:
    run = run_stack("prod")
    assert not [r for r in run.resources if "Karpenter" in r.type or "NodePool" in r.type]
    assert not run.of_type("aws:sqs/queue:Queue") and not run.of_type("aws:eks/accessEntry:AccessEntry")
    assert (run.outputs["nodeProvisioner"], run.outputs["nodePoolName"]) == ("managed", "")
    assert run.outputs["nodeGroupName"] != ""


def test_karpenter_declares_no_managed_neuron_node_group(run) -> None:
    # Only the system node group is left; nodeGroupName is empty, the node role is Karpenter's.
    (group,) = run.of_type("aws:eks/nodeGroup:NodeGroup")
    assert group.name == "system-nodes-ng"
    assert not run.of_type("eks-inferentia:index:InferentiaNodeGroup")
    assert (run.outputs["nodeProvisioner"], run.outputs["nodePoolName"], run.outputs["nodeGroupName"]) == (
        "karpenter", "neuron", "")
    node_role = run.named(ROLE, "karpenter-node-role")
    assert (run.outputs["nodeRoleArn"], run.outputs["nodeRoleName"]) == (node_role.outputs["arn"], node_role.outputs["name"])


def test_interruption_queue_is_encrypted_and_short_lived(run) -> None:
    queue = run.one("aws:sqs/queue:Queue")
    assert queue.inputs == {"messageRetentionSeconds": 300, "sqsManagedSseEnabled": True, "tags": TAGS}
    arn = queue.outputs["arn"]
    policy = run.one("aws:sqs/queuePolicy:QueuePolicy").inputs
    assert sorted(policy) == ["policy", "queueUrl"] and policy["queueUrl"] == queue.outputs["url"]
    assert json.loads(_indented(policy["policy"])) == {
        "Version": "2012-10-17", "Id": "EC2InterruptionPolicy", "Statement": [
            {"Sid": "AllowEventBridgeToSend", "Effect": "Allow",
             "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
             "Action": "sqs:SendMessage", "Resource": arn},
            {"Sid": "DenyHTTP", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": arn,
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}


def test_eventbridge_rules_send_the_templates_events_to_the_queue(run) -> None:
    rules = {r.name: json.loads(r.inputs["eventPattern"]) for r in run.of_type("aws:cloudwatch/eventRule:EventRule")}
    for rule in run.of_type("aws:cloudwatch/eventRule:EventRule"):
        source, detail_type = rules[rule.name]["source"][0], rules[rule.name]["detail-type"][0]
        assert rule.inputs == {
            "description": f"{detail_type} to Karpenter's interruption queue", "tags": TAGS,
            # As the template writes it: no more than these two fields, compact.
            "eventPattern": f'{{"source": ["{source}"], "detail-type": ["{detail_type}"]}}'}
    assert rules == {
        "karpenter-scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
        "karpenter-spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
        "karpenter-rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
        "karpenter-instance-state-change": {"source": ["aws.ec2"],
                                            "detail-type": ["EC2 Instance State-change Notification"]},
        "karpenter-capacity-reservation-interruption": {
            "source": ["aws.ec2"], "detail-type": ["EC2 Capacity Reservation Instance Interruption Warning"]},
    }
    queue_arn = run.one("aws:sqs/queue:Queue").outputs["arn"]
    targets = run.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert len(targets) == len(INTERRUPTION_EVENTS) == 5
    for target in targets:
        rule = run.named("aws:cloudwatch/eventRule:EventRule", target.name)
        assert target.inputs == {"rule": rule.outputs["name"], "arn": queue_arn,
                                 "targetId": "KarpenterInterruptionQueueTarget"}


def test_the_chart_names_the_queue_and_the_cluster(run) -> None:
    chart = run.named("kubernetes:helm.sh/v4:Chart", "karpenter-chart")
    assert sorted(chart.inputs) == ["chart", "name", "namespace", "values", "version"]
    assert {k: chart.inputs[k] for k in ("chart", "version", "name", "namespace")} == {
        "chart": "oci://public.ecr.aws/karpenter/karpenter", "version": "1.14.1",
        "name": "karpenter", "namespace": "kube-system"}
    assert KARPENTER_CHART_VERSION == "1.14.1"
    assert chart.inputs["values"] == {
        "fullnameOverride": "karpenter",
        "serviceAccount": {"name": "karpenter"},
        "replicas": 2,
        "nodeSelector": {"kubernetes.io/os": "linux", "eks-inferentia/role": "system"},
        "controller": {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
                       # Not from IMDS: the system nodes answer only hostNetwork pods (hop limit 1).
                       "env": [{"name": "AWS_REGION", "value": "us-east-1"}]},
        "settings": {"clusterName": "inferentia-prod", "interruptionQueue": run.one("aws:sqs/queue:Queue").outputs["name"]},
    }
    # No image is set: the chart's own controller image, pinned by the chart version.
    assert "image" not in json.dumps(chart.inputs["values"])
    assert chart.provider.startswith(run.one("pulumi:providers:kubernetes").urn)


def test_the_chart_waits_for_credentials_and_the_system_nodes(run) -> None:
    chart = run.named("kubernetes:helm.sh/v4:Chart", "karpenter-chart")
    needed = {run.named("aws:eks/podIdentityAssociation:PodIdentityAssociation", "karpenter-pod-identity").urn,
              run.one("aws:eks/accessEntry:AccessEntry").urn,
              run.named("aws:eks/addon:Addon", "addons-eks-pod-identity-agent").urn,
              run.named("aws:eks/nodeGroup:NodeGroup", "system-nodes-ng").urn}
    assert needed <= set(chart.dependencies)


@pytest.mark.parametrize(("system_nodes", "replicas"), [(0, 1), (1, 1), (2, 2), (3, 2), (5, 2)])
def test_one_controller_per_system_node_up_to_two(system_nodes: int, replicas: int) -> None:
    assert controller_replicas(system_nodes) == replicas


def test_one_system_node_runs_one_controller(run_stack) -> None:
    chart = run_stack("prod", **KARPENTER, systemNodes=1).named("kubernetes:helm.sh/v4:Chart", "karpenter-chart")
    assert chart.inputs["values"]["replicas"] == 1


def test_the_controller_role_trusts_pod_identity_for_karpenters_service_account_only(run) -> None:
    controller = run.named(ROLE, "karpenter-controller")
    assert sorted(controller.inputs) == ["assumeRolePolicy", "description", "tags"]
    assert controller.inputs["description"] == (
        "Karpenter's controller (kube-system/karpenter) of EKS cluster inferentia-prod (EKS Pod Identity)")
    assert controller.inputs["tags"] == TAGS
    trust = json.loads(_indented(controller.inputs["assumeRolePolicy"]))
    assert trust == {"Version": "2012-10-17", "Statement": [{
        "Sid": "EksPodIdentityForKarpentersServiceAccount", "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {"aws:RequestTag/eks-cluster-arn": CLUSTER_ARN,
                                       "aws:RequestTag/kubernetes-namespace": "kube-system",
                                       "aws:RequestTag/kubernetes-service-account": "karpenter"}}}]}
    association = run.named("aws:eks/podIdentityAssociation:PodIdentityAssociation", "karpenter-pod-identity")
    assert association.inputs == {"clusterName": "inferentia-prod", "namespace": "kube-system",
                                  "serviceAccount": "karpenter", "roleArn": controller.outputs["arn"], "tags": TAGS}
    grants = [a for a in run.of_type(ATTACHMENT) if a.inputs["role"] == controller.outputs["name"]]
    assert {a.name: a.inputs for a in grants} == {f"karpenter-{n}": {
        "role": controller.outputs["name"], "policyArn": run.named(POLICY, f"karpenter-{n}").outputs["arn"]}
        for n in POLICY_NAMES}
    assert {a.urn for a in grants} <= set(association.dependencies)


def test_the_controller_policies_are_the_reference_templates_without_zonal_shift(run) -> None:
    # website/content/en/v1.14/getting-started/getting-started-with-karpenter/cloudformation.yaml, statement for
    # statement, with ClusterName, AWS::Partition, AWS::Region, AWS::AccountId and the node role and queue filled in.
    ec2 = "arn:aws:ec2:us-east-1"
    profiles = "arn:aws:iam::123456789012:instance-profile/*"
    owned = {"aws:ResourceTag/kubernetes.io/cluster/inferentia-prod": "owned"}
    request_owned = {"aws:RequestTag/kubernetes.io/cluster/inferentia-prod": "owned",
                     "aws:RequestTag/eks:eks-cluster-name": "inferentia-prod"}
    nodepool = {"aws:ResourceTag/karpenter.sh/nodepool": "*"}
    tagged = [f"{ec2}:*:fleet/*", f"{ec2}:*:instance/*", f"{ec2}:*:volume/*", f"{ec2}:*:network-interface/*",
              f"{ec2}:*:launch-template/*", f"{ec2}:*:spot-instances-request/*"]
    node_role = run.named(ROLE, "karpenter-node-role").outputs["arn"]
    queue = run.one("aws:sqs/queue:Queue").outputs["arn"]
    expected = {
        "node-lifecycle": [
            {"Sid": "AllowScopedEC2InstanceAccessActions", "Effect": "Allow",
             "Resource": [f"{ec2}::image/*", f"{ec2}::snapshot/*", f"{ec2}:*:security-group/*", f"{ec2}:*:subnet/*",
                          f"{ec2}:*:capacity-reservation/*", f"{ec2}:*:placement-group/*"],
             "Action": ["ec2:RunInstances", "ec2:CreateFleet"]},
            {"Sid": "AllowScopedEC2LaunchTemplateAccessActions", "Effect": "Allow",
             "Resource": f"{ec2}:*:launch-template/*", "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
             "Condition": {"StringEquals": owned, "StringLike": nodepool}},
            {"Sid": "AllowScopedEC2InstanceActionsWithTags", "Effect": "Allow", "Resource": tagged,
             "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
             "Condition": {"StringEquals": request_owned,
                           "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}},
            {"Sid": "AllowScopedResourceCreationTagging", "Effect": "Allow", "Resource": tagged,
             "Action": "ec2:CreateTags",
             "Condition": {"StringEquals": {**request_owned,
                                            "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]},
                           "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}},
            {"Sid": "AllowScopedResourceTagging", "Effect": "Allow", "Resource": f"{ec2}:*:instance/*",
             "Action": "ec2:CreateTags",
             "Condition": {"StringEquals": owned, "StringLike": nodepool,
                           "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": "inferentia-prod"},
                           "ForAllValues:StringEquals": {
                               "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]}}},
            {"Sid": "AllowScopedDeletion", "Effect": "Allow",
             "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
             "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
             "Condition": {"StringEquals": owned, "StringLike": nodepool}},
        ],
        "iam-integration": [
            # The node role only, and only to EC2.
            {"Sid": "AllowPassingInstanceRole", "Effect": "Allow", "Resource": node_role, "Action": "iam:PassRole",
             "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}}},
            {"Sid": "AllowScopedInstanceProfileCreationActions", "Effect": "Allow", "Resource": profiles,
             "Action": ["iam:CreateInstanceProfile"],
             "Condition": {"StringEquals": {**request_owned, "aws:RequestTag/topology.kubernetes.io/region": "us-east-1"},
                           "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
            {"Sid": "AllowScopedInstanceProfileTagActions", "Effect": "Allow", "Resource": profiles,
             "Action": ["iam:TagInstanceProfile"],
             "Condition": {"StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/inferentia-prod": "owned",
                                            "aws:ResourceTag/topology.kubernetes.io/region": "us-east-1",
                                            "aws:RequestTag/kubernetes.io/cluster/inferentia-prod": "owned",
                                            "aws:RequestTag/eks:eks-cluster-name": "inferentia-prod",
                                            "aws:RequestTag/topology.kubernetes.io/region": "us-east-1"},
                           "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
                                          "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
            {"Sid": "AllowScopedInstanceProfileActions", "Effect": "Allow", "Resource": profiles,
             "Action": ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
             "Condition": {"StringEquals": {**owned, "aws:ResourceTag/topology.kubernetes.io/region": "us-east-1"},
                           "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
        ],
        "eks-integration": [
            {"Sid": "AllowAPIServerEndpointDiscovery", "Effect": "Allow", "Resource": CLUSTER_ARN,
             "Action": "eks:DescribeCluster"},
        ],
        "interruption": [
            {"Sid": "AllowInterruptionQueueActions", "Effect": "Allow", "Resource": queue,
             "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]},
        ],
        "resource-discovery": [
            {"Sid": "AllowRegionalReadActions", "Effect": "Allow", "Resource": "*",
             "Action": ["ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances",
                        "ec2:DescribeInstanceStatus", "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes",
                        "ec2:DescribeLaunchTemplates", "ec2:DescribePlacementGroups", "ec2:DescribeSecurityGroups",
                        "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets"],
             "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}},
            # The public parameters of the EKS AMIs: AWS's, in no account.
            {"Sid": "AllowSSMReadActions", "Effect": "Allow",
             "Resource": "arn:aws:ssm:us-east-1::parameter/aws/service/*", "Action": "ssm:GetParameter"},
            {"Sid": "AllowPricingReadActions", "Effect": "Allow", "Resource": "*", "Action": "pricing:GetProducts"},
            {"Sid": "AllowUnscopedInstanceProfileListAction", "Effect": "Allow", "Resource": "*",
             "Action": "iam:ListInstanceProfiles"},
            {"Sid": "AllowInstanceProfileReadActions", "Effect": "Allow", "Resource": profiles,
             "Action": "iam:GetInstanceProfile"},
        ],
    }
    policies = {r.name: r for r in run.of_type(POLICY) if r.name.startswith("karpenter-")}
    assert sorted(policies) == sorted(f"karpenter-{name}" for name in POLICY_NAMES)  # no zonal shift
    for name, statements in expected.items():
        policy = policies[f"karpenter-{name}"]
        assert sorted(policy.inputs) == ["description", "policy", "tags"]
        assert json.loads(_indented(policy.inputs["policy"])) == {"Version": "2012-10-17", "Statement": statements}
        assert policy.inputs["tags"] == TAGS
    assert {name: policy.inputs["description"] for name, policy in policies.items()} == {
        "karpenter-node-lifecycle": "Karpenter's node lifecycle policy (EKS cluster inferentia-prod)",
        "karpenter-iam-integration": "Karpenter's iam integration policy (EKS cluster inferentia-prod)",
        "karpenter-eks-integration": "Karpenter's eks integration policy (EKS cluster inferentia-prod)",
        "karpenter-interruption": "Karpenter's interruption policy (EKS cluster inferentia-prod)",
        "karpenter-resource-discovery": "Karpenter's resource discovery policy (EKS cluster inferentia-prod)"}


def _findings(document: str) -> list[tuple[str, str, str]]:
    return sorted((f["issue"], d["action"], d["required_format"]) for f in run_parliament(document)
                  for d in (f.get("detail") or [{"action": "", "required_format": ""}]))


def _covered(document: dict, action: str, required_format: str) -> bool:
    """Whether some statement allowing `action` names a resource of `required_format` (parliament's `*`: anything)."""
    pattern = re.compile("^" + ".*".join(map(re.escape, required_format.split("*"))) + "$")
    return any(action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
               and any(pattern.match(r) for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]))
               for s in document["Statement"])


def test_parliament_reports_only_the_templates_split_statements_each_covered_by_a_sibling(run) -> None:
    # parliament judges one statement at a time. ec2:RunInstances and ec2:CreateFleet touch several resource types
    # that the template grants in separate statements, each with its own conditions (an instance only with this
    # cluster's tags, a subnet or an image without), so every such statement lacks some "required" type; and the
    # SSM statement names AWS's public parameters, whose ARN has no account. Nothing else is reported, and every
    # type parliament misses in one statement is granted by another statement of the same policy.
    documents = {r.name: r.inputs["policy"] for r in run.of_type(POLICY) if r.name.startswith("karpenter-")}
    findings = {name: _findings(document) for name, document in documents.items()}
    assert {name: {(issue, action) for issue, action, _ in found} for name, found in findings.items()} == {
        "karpenter-node-lifecycle": {("RESOURCE_MISMATCH", "ec2:RunInstances"), ("RESOURCE_MISMATCH", "ec2:CreateFleet")},
        "karpenter-iam-integration": set(), "karpenter-eks-integration": set(), "karpenter-interruption": set(),
        "karpenter-resource-discovery": {("RESOURCE_MISMATCH", "ssm:GetParameter")},
    }
    for name, found in findings.items():
        for _, action, required_format in found:
            assert _covered(json.loads(documents[name]), action, required_format), (name, action, required_format)
    assert run_parliament(run.one("aws:sqs/queuePolicy:QueuePolicy").inputs["policy"]) == []


def test_the_coverage_check_would_catch_a_missing_resource_type(run) -> None:
    document = _policy(run, "node-lifecycle")
    document["Statement"] = [s for s in document["Statement"] if s["Sid"] != "AllowScopedEC2InstanceActionsWithTags"]
    assert not _covered(document, "ec2:RunInstances", "arn:*:ec2:*:*:instance/*")
    assert _covered(_policy(run, "node-lifecycle"), "ec2:RunInstances", "arn:*:ec2:*:*:instance/*")


def test_the_node_role_joins_through_an_ec2_linux_access_entry_without_s3(run) -> None:
    node_role = run.named(ROLE, "karpenter-node-role")
    assert json.loads(node_role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "ec2.amazonaws.com"}
    assert (node_role.inputs["description"], node_role.inputs["tags"]) == (
        "Neuron nodes Karpenter launches in EKS cluster inferentia-prod", TAGS)
    attachments = [a for a in run.of_type(ATTACHMENT) if a.inputs["role"] == node_role.outputs["name"]]
    assert {a.inputs["policyArn"] for a in attachments} == {f"arn:aws:iam::aws:policy/{p}" for p in NODE_POLICIES}
    entry = run.one("aws:eks/accessEntry:AccessEntry")
    assert entry.inputs == {"clusterName": "inferentia-prod", "principalArn": node_role.outputs["arn"],
                            "type": "EC2_LINUX", "tags": TAGS}
    assert entry.outputs["id"] == f"inferentia-prod:{node_role.outputs['arn']}"
    # A node that joins gets its policies already: the entry waits for every attachment.
    assert len(attachments) == 4 and {a.urn for a in attachments} <= set(entry.dependencies)
    # Under modelAccess node-role the model's grant goes to this role, as to the managed group's.
    model = run.named(ATTACHMENT, "model-attach")
    assert model.inputs["role"] != node_role.outputs["name"]


def test_under_node_role_access_the_model_grant_goes_to_karpenters_node_role(run_stack) -> None:
    run = run_stack("prod", **KARPENTER, modelAccess="node-role")
    node_role = run.named(ROLE, "karpenter-node-role")
    assert run.named(ATTACHMENT, "model-attach").inputs["role"] == node_role.outputs["name"]


def test_the_component_owns_its_resources_and_registers_its_outputs(run) -> None:
    component = run.one("eks-inferentia:index:Karpenter")
    owned = sorted((r.type.rsplit(":", 1)[1], r.name) for r in run.resources if r.parent == component.urn)
    assert owned == sorted([
        ("Queue", "karpenter-interruption"), ("QueuePolicy", "karpenter-interruption"),
        *((kind, f"karpenter-{rule}") for rule in ("scheduled-change", "spot-interruption", "rebalance",
                                                   "instance-state-change", "capacity-reservation-interruption")
          for kind in ("EventRule", "EventTarget")),
        ("Role", "karpenter-node-role"), *(("RolePolicyAttachment", f"karpenter-{p}") for p in NODE_POLICIES),
        ("AccessEntry", "karpenter-nodes"), ("Role", "karpenter-controller"),
        *((kind, f"karpenter-{p}") for p in POLICY_NAMES for kind in ("Policy", "RolePolicyAttachment")),
        ("PodIdentityAssociation", "karpenter-pod-identity"), ("Chart", "karpenter-chart")])
    queue, node_role = run.one("aws:sqs/queue:Queue"), run.named(ROLE, "karpenter-node-role")
    assert run.registered_outputs[component.urn] == {
        "node_role_name": node_role.outputs["name"], "node_role_arn": node_role.outputs["arn"],
        "controller_role_arn": run.named(ROLE, "karpenter-controller").outputs["arn"],
        "interruption_queue_name": queue.outputs["name"], "interruption_queue_arn": queue.outputs["arn"],
        "chart_version": "1.14.1"}


def test_the_callers_options_reach_the_component_and_the_chart_takes_the_args_given() -> None:
    import pulumi_aws as aws
    import pulumi_kubernetes as k8s

    from components.karpenter import Karpenter, KarpenterArgs
    from tests.components.options import declared_with_options

    def declare(opts) -> None:
        agent = aws.eks.Addon("pod-identity-agent", cluster_name="inferentia-dev", addon_name="eks-pod-identity-agent")
        Karpenter("edge", KarpenterArgs(
            cluster_name="inferentia-dev", cluster_arn="arn:aws:eks:us-west-2:123456789012:cluster/inferentia-dev",
            provider=k8s.Provider("k8s"), system_nodes=1, chart_depends_on=[agent], chart_version="1.13.0"), opts=opts)

    declared = declared_with_options(declare)
    run = declared.run
    component = declared.component("eks-inferentia:index:Karpenter")
    assert component.parent == declared.owner.urn
    assert component.dependencies == [declared.before.urn]
    # Its resources are its own, named after it.
    owned = [r for r in run.resources if r.parent == component.urn]
    assert len(owned) == 31 and all(r.name.startswith("edge-") for r in owned)
    chart = run.named("kubernetes:helm.sh/v4:Chart", "edge-chart")
    queue = run.one("aws:sqs/queue:Queue")
    assert chart.inputs == {
        "chart": "oci://public.ecr.aws/karpenter/karpenter", "version": "1.13.0", "name": "karpenter",
        "namespace": "kube-system", "values": {
            "fullnameOverride": "karpenter", "serviceAccount": {"name": "karpenter"}, "replicas": 1,
            "nodeSelector": {"kubernetes.io/os": "linux", "eks-inferentia/role": "system"},
            "controller": {"resources": {"requests": {"cpu": "1", "memory": "1Gi"},
                                         "limits": {"cpu": "1", "memory": "1Gi"}},
                           "env": [{"name": "AWS_REGION", "value": "us-west-2"}]},
            "settings": {"clusterName": "inferentia-dev", "interruptionQueue": queue.outputs["name"]}}}
    assert chart.provider.startswith(run.one("pulumi:providers:kubernetes").urn)
    # After the Pod Identity association, the access entry and what the caller named; the queue is in its values.
    assert sorted(chart.dependencies) == sorted([
        run.one("aws:eks/podIdentityAssociation:PodIdentityAssociation").urn, run.one("aws:eks/accessEntry:AccessEntry").urn,
        run.one("aws:eks/addon:Addon").urn, queue.urn])
    assert run.registered_outputs[component.urn]["chart_version"] == "1.13.0"
