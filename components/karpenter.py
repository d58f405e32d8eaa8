"""Karpenter: the controller that launches the Neuron nodes under `nodeProvisioner: karpenter`.

What Karpenter's own getting-started template builds (aws/karpenter-provider-aws
`website/content/en/v1.14/getting-started/getting-started-with-karpenter/cloudformation.yaml`, pinned
with the chart in eks_inferentia/versions.py), statement for statement, and the chart:

- the interruption queue (SQS, SQS-managed encryption, 300 s retention) with its queue policy (EventBridge
  and SQS may send; anything over plain HTTP is denied) and the EventBridge rules that feed it: Spot
  interruption warnings, rebalance recommendations, instance state changes, AWS Health scheduled changes, and
  capacity reservation interruption warnings (the template's fifth rule). The chart's
  `settings.interruptionQueue` names it, so Karpenter drains a node before EC2 takes it away;
- the node role (`components.node_parts.node_role`, as the managed groups'), which joins the cluster through
  an EKS access entry of type `EC2_LINUX` (the cluster authenticates with access entries only). Under EKS
  Pod Identity it has no S3 access (the policy pack checks every EC2-trusted role);
- the controller's role, trusted by EKS Pod Identity for the `karpenter` ServiceAccount of kube-system in this
  cluster only (session-tag conditions, as the model's role in components/model_access.py), with the
  template's policies: node lifecycle (RunInstances, CreateFleet, launch templates, tags and deletion, only
  on resources tagged `kubernetes.io/cluster/<cluster>: owned` with a `karpenter.sh/nodepool` tag), IAM
  integration (PassRole of the node role to EC2 only; instance profiles tagged for this cluster and region),
  EKS integration (DescribeCluster of this cluster), interruption (this queue) and resource discovery
  (regional describes, the public SSM parameters of the EKS AMIs, pricing). The template's zonal shift
  policy is left out: it serves `settings.enableZonalShift`, which stays off here;
- the chart (oci://public.ecr.aws/karpenter/karpenter, its controller image the chart's own, pinned by the
  chart version) in kube-system, told the region (the system nodes' metadata service does not answer its pods),
  on the system nodes only (`eks-inferentia/role: system`; its default
  affinity already keeps it off nodes Karpenter launched), one replica per system node up to the chart's two
  (its pods refuse to share a node). The chart's crds/ are rendered with it (pulumi-kubernetes' helm.v4.Chart
  sets helm's IncludeCRDs unless `skipCrds`), so Pulumi manages the CRDs like any object and applies them on
  a chart upgrade, which `helm upgrade` would not. The chart is created after the Pod Identity association,
  so the controller's first pods get credentials.

The NodePool and EC2NodeClass are `NeuronNodePool`'s (components/neuron_node_pool.py); they wait for this
component, and depending on a remote component such as the chart waits for every object it created (the
SDK's `_add_dependency`: "the construction of a remote component always waits on the construction of its
children"), the CRDs and the controller's Deployment among them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.model_access import pod_identity_trust_policy
from components.node_group import NODE_ROLE_LABEL
from components.node_parts import node_role
from eks_inferentia.versions import KARPENTER_CHART, KARPENTER_CHART_VERSION

KARPENTER_NAMESPACE = "kube-system"
KARPENTER_SERVICE_ACCOUNT = "karpenter"
# The chart's own default; more would stay Pending (the pods require distinct nodes).
MAX_CONTROLLER_REPLICAS = 2
# The getting-started install's controller resources (step08-apply-helm-chart.sh).
CONTROLLER_RESOURCES = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
# The template's queue: messages older than five minutes are of no use (a Spot warning gives two).
QUEUE_RETENTION_SECONDS = 300
QUEUE_TARGET_ID = "KarpenterInterruptionQueueTarget"
# The template's rules, by the name each gets here: (source, detail-type).
INTERRUPTION_EVENTS: dict[str, tuple[str, str]] = {
    "scheduled-change": ("aws.health", "AWS Health Event"),
    "spot-interruption": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "rebalance": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "instance-state-change": ("aws.ec2", "EC2 Instance State-change Notification"),
    "capacity-reservation-interruption": ("aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
}
ACCESS_ENTRY_TYPE = "EC2_LINUX"


@dataclass(frozen=True)
class KarpenterArgs:
    cluster_name: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    provider: k8s.Provider
    system_nodes: int
    """Size of the system node group the controller runs on (at least 1)."""
    chart_depends_on: Sequence[pulumi.Resource] = ()
    """What the controller's pods need first: the system nodes, and the Pod Identity Agent add-on that hands
    them their credentials (children do not inherit a component's `depends_on`, so it is passed here)."""
    chart_version: str = KARPENTER_CHART_VERSION
    tags: dict[str, str] = field(default_factory=dict)


def event_pattern(source: str, detail_type: str) -> str:
    """An EventBridge rule's pattern, as the template writes it."""
    return json.dumps({"source": [source], "detail-type": [detail_type]})


def queue_policy(queue_arn: str) -> str:
    """The interruption queue's policy: EventBridge (and SQS) may send; nothing over plain HTTP."""
    return json.dumps({"Version": "2012-10-17", "Id": "EC2InterruptionPolicy", "Statement": [
        {"Sid": "AllowEventBridgeToSend", "Effect": "Allow",
         "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
         "Action": "sqs:SendMessage", "Resource": queue_arn},
        {"Sid": "DenyHTTP", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": queue_arn,
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]}, indent=2)


def controller_policies(partition: str, region: str, account: str, cluster: str, node_role_arn: str,
                        queue_arn: str) -> dict[str, dict[str, Any]]:
    """The template's controller policies (all but zonal shift), by name: the same statements and conditions."""
    ec2 = f"arn:{partition}:ec2:{region}"
    owned = {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned"}
    request_owned = {f"aws:RequestTag/kubernetes.io/cluster/{cluster}": "owned", "aws:RequestTag/eks:eks-cluster-name": cluster}
    tagged_resources = [f"{ec2}:*:{kind}/*" for kind in
                        ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")]
    instance_profiles = f"arn:{partition}:iam::{account}:instance-profile/*"
    cluster_arn = f"arn:{partition}:eks:{region}:{account}:cluster/{cluster}"

    def document(*statements: dict[str, Any]) -> dict[str, Any]:
        return {"Version": "2012-10-17", "Statement": list(statements)}

    return {
        "node-lifecycle": document(
            {"Sid": "AllowScopedEC2InstanceAccessActions", "Effect": "Allow",
             "Resource": [f"{ec2}::image/*", f"{ec2}::snapshot/*", f"{ec2}:*:security-group/*", f"{ec2}:*:subnet/*",
                          f"{ec2}:*:capacity-reservation/*", f"{ec2}:*:placement-group/*"],
             "Action": ["ec2:RunInstances", "ec2:CreateFleet"]},
            {"Sid": "AllowScopedEC2LaunchTemplateAccessActions", "Effect": "Allow",
             "Resource": f"{ec2}:*:launch-template/*", "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
             "Condition": {"StringEquals": owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}},
            {"Sid": "AllowScopedEC2InstanceActionsWithTags", "Effect": "Allow", "Resource": tagged_resources,
             "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
             "Condition": {"StringEquals": request_owned, "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}},
            {"Sid": "AllowScopedResourceCreationTagging", "Effect": "Allow", "Resource": tagged_resources,
             "Action": "ec2:CreateTags",
             "Condition": {"StringEquals": {**request_owned,
                                            "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]},
                           "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}},
            {"Sid": "AllowScopedResourceTagging", "Effect": "Allow", "Resource": f"{ec2}:*:instance/*",
             "Action": "ec2:CreateTags",
             "Condition": {"StringEquals": owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                           "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster},
                           "ForAllValues:StringEquals": {"aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]}}},
            {"Sid": "AllowScopedDeletion", "Effect": "Allow",
             "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
             "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
             "Condition": {"StringEquals": owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}},
        ),
        "iam-integration": document(
            {"Sid": "AllowPassingInstanceRole", "Effect": "Allow", "Resource": node_role_arn, "Action": "iam:PassRole",
             "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}}},
            {"Sid": "AllowScopedInstanceProfileCreationActions", "Effect": "Allow", "Resource": instance_profiles,
             "Action": ["iam:CreateInstanceProfile"],
             "Condition": {"StringEquals": {**request_owned, "aws:RequestTag/topology.kubernetes.io/region": region},
                           "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
            {"Sid": "AllowScopedInstanceProfileTagActions", "Effect": "Allow", "Resource": instance_profiles,
             "Action": ["iam:TagInstanceProfile"],
             "Condition": {"StringEquals": {**owned, "aws:ResourceTag/topology.kubernetes.io/region": region,
                                            **request_owned, "aws:RequestTag/topology.kubernetes.io/region": region},
                           "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
                                          "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
            {"Sid": "AllowScopedInstanceProfileActions", "Effect": "Allow", "Resource": instance_profiles,
             "Action": ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
             "Condition": {"StringEquals": {**owned, "aws:ResourceTag/topology.kubernetes.io/region": region},
                           "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
        ),
        "eks-integration": document(
            {"Sid": "AllowAPIServerEndpointDiscovery", "Effect": "Allow", "Resource": cluster_arn,
             "Action": "eks:DescribeCluster"},
        ),
        "interruption": document(
            {"Sid": "AllowInterruptionQueueActions", "Effect": "Allow", "Resource": queue_arn,
             "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]},
        ),
        "resource-discovery": document(
            {"Sid": "AllowRegionalReadActions", "Effect": "Allow", "Resource": "*",
             "Action": ["ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances",
                        "ec2:DescribeInstanceStatus", "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes",
                        "ec2:DescribeLaunchTemplates", "ec2:DescribePlacementGroups", "ec2:DescribeSecurityGroups",
                        "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets"],
             "Condition": {"StringEquals": {"aws:RequestedRegion": region}}},
            {"Sid": "AllowSSMReadActions", "Effect": "Allow",
             "Resource": f"arn:{partition}:ssm:{region}::parameter/aws/service/*", "Action": "ssm:GetParameter"},
            {"Sid": "AllowPricingReadActions", "Effect": "Allow", "Resource": "*", "Action": "pricing:GetProducts"},
            {"Sid": "AllowUnscopedInstanceProfileListAction", "Effect": "Allow", "Resource": "*",
             "Action": "iam:ListInstanceProfiles"},
            {"Sid": "AllowInstanceProfileReadActions", "Effect": "Allow", "Resource": instance_profiles,
             "Action": "iam:GetInstanceProfile"},
        ),
    }


def _policy_json(name: str, documents: dict[str, dict[str, Any]]) -> str:
    return json.dumps(documents[name], indent=2)


def controller_replicas(system_nodes: int) -> int:
    """One controller per system node, up to the chart's two: its pods require distinct nodes."""
    return max(1, min(MAX_CONTROLLER_REPLICAS, system_nodes))


def karpenter_values(cluster_name: pulumi.Input[str], interruption_queue: pulumi.Input[str], region: pulumi.Input[str],
                     system_nodes: int) -> dict[str, Any]:
    """Helm values: this cluster, region and queue, on the system nodes, the getting-started resources.

    The region is given (`AWS_REGION`, the chart's own example of `controller.env`): without it the controller
    asks the instance metadata service (pkg/operator/operator.go), which the system nodes answer only for
    hostNetwork pods (hop limit 1, components/node_parts.py), and it would fail to start."""
    return {
        "fullnameOverride": "karpenter",
        "serviceAccount": {"name": KARPENTER_SERVICE_ACCOUNT},
        "replicas": controller_replicas(system_nodes),
        "nodeSelector": {"kubernetes.io/os": "linux", NODE_ROLE_LABEL: "system"},
        "controller": {"resources": CONTROLLER_RESOURCES, "env": [{"name": "AWS_REGION", "value": region}]},
        "settings": {"clusterName": cluster_name, "interruptionQueue": interruption_queue},
    }


class Karpenter(pulumi.ComponentResource):
    node_role_name: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]
    controller_role_arn: pulumi.Output[str]
    interruption_queue_name: pulumi.Output[str]
    interruption_queue_arn: pulumi.Output[str]
    chart_version: pulumi.Output[str]

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-inferentia:index:Karpenter", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        partition = aws.get_partition_output().partition
        region = aws.get_region_output().region
        account = aws.get_caller_identity_output().account_id

        # The interruption queue and the rules that feed it.
        queue = aws.sqs.Queue(f"{name}-interruption", message_retention_seconds=QUEUE_RETENTION_SECONDS,
                              sqs_managed_sse_enabled=True, tags=args.tags, opts=child)
        aws.sqs.QueuePolicy(f"{name}-interruption", queue_url=queue.url, policy=queue.arn.apply(queue_policy), opts=child)
        for rule_name, (source, detail_type) in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{rule_name}", description=f"{detail_type} to Karpenter's interruption queue",
                event_pattern=event_pattern(source, detail_type), tags=args.tags, opts=child)
            aws.cloudwatch.EventTarget(f"{name}-{rule_name}", rule=rule.name, arn=queue.arn, target_id=QUEUE_TARGET_ID,
                                       opts=child)

        # The nodes' role, and their way into the cluster.
        role, attachments = node_role(
            name, pulumi.Output.concat("Neuron nodes Karpenter launches in EKS cluster ", args.cluster_name), args.tags, self)
        access_entry = aws.eks.AccessEntry(f"{name}-nodes", cluster_name=args.cluster_name, principal_arn=role.arn,
                                           type=ACCESS_ENTRY_TYPE, tags=args.tags,
                                           opts=pulumi.ResourceOptions(parent=self, depends_on=attachments))

        # The controller's role, through EKS Pod Identity.
        controller = aws.iam.Role(
            f"{name}-controller",
            description=pulumi.Output.concat("Karpenter's controller (", KARPENTER_NAMESPACE, "/",
                                             KARPENTER_SERVICE_ACCOUNT, ") of EKS cluster ", args.cluster_name,
                                             " (EKS Pod Identity)"),
            assume_role_policy=pulumi.Output.from_input(args.cluster_arn).apply(
                lambda arn: pod_identity_trust_policy(arn, KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT,
                                                      sid="EksPodIdentityForKarpentersServiceAccount")),
            tags=args.tags,
            opts=child,
        )
        documents = pulumi.Output.all(partition, region, account, args.cluster_name, role.arn, queue.arn).apply(
            lambda a: controller_policies(*a))
        controller_attachments = []
        for policy_name in ("node-lifecycle", "iam-integration", "eks-integration", "interruption", "resource-discovery"):
            policy = aws.iam.Policy(
                f"{name}-{policy_name}",
                description=pulumi.Output.concat("Karpenter's ", policy_name.replace("-", " "), " policy (EKS cluster ",
                                                 args.cluster_name, ")"),
                policy=documents.apply(functools.partial(_policy_json, policy_name)),
                tags=args.tags,
                opts=child,
            )
            controller_attachments.append(aws.iam.RolePolicyAttachment(
                f"{name}-{policy_name}", role=controller.name, policy_arn=policy.arn, opts=child))
        association = aws.eks.PodIdentityAssociation(
            f"{name}-pod-identity", cluster_name=args.cluster_name, namespace=KARPENTER_NAMESPACE,
            service_account=KARPENTER_SERVICE_ACCOUNT, role_arn=controller.arn, tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=controller_attachments))

        k8s.helm.v4.Chart(
            f"{name}-chart",
            chart=KARPENTER_CHART,
            version=args.chart_version,
            name="karpenter",
            namespace=KARPENTER_NAMESPACE,
            values=karpenter_values(args.cluster_name, queue.name, region, args.system_nodes),
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider,
                                        depends_on=[association, access_entry, *args.chart_depends_on]),
        )

        self.node_role_name = role.name
        self.node_role_arn = role.arn
        self.controller_role_arn = controller.arn
        self.interruption_queue_name = queue.name
        self.interruption_queue_arn = queue.arn
        self.chart_version = pulumi.Output.from_input(args.chart_version)
        self.register_outputs({
            "node_role_name": self.node_role_name,
            "node_role_arn": self.node_role_arn,
            "controller_role_arn": self.controller_role_arn,
            "interruption_queue_name": self.interruption_queue_name,
            "interruption_queue_arn": self.interruption_queue_arn,
            "chart_version": self.chart_version,
        })
