"""Monitoring: an Amazon Managed Service for Prometheus workspace, the AWS managed collector that
fills it, recording and alerting rules, and alerts to an SNS topic. No Prometheus server to run.

- The workspace carries the `AMPAgentlessScraper` tag the collector adds to it, so `pulumi up`
  does not remove it again (pulumi-aws `amp.Scraper` docs).
- The collector (`aws.amp.Scraper`) reaches the cluster through network interfaces in the
  subnets it is given, with the cluster security group, so nodes and the private API endpoint
  accept it with no new security group rule. Pods see those interfaces' addresses, and the
  NetworkPolicies admit them by CIDR. The node subnets would admit every pod (the VPC CNI gives
  pods addresses there), so the collector gets two subnets of its own: two /28s at the top of the
  dedicated VPC's range (`SCRAPER_SUBNET_CIDRS`; awsx allocates from the bottom, see the test),
  or, in an existing VPC, the subnets named by `scraperSubnetIds`. A change of subnets (or of the
  cluster) replaces the collector: a new one takes about 20 minutes to start, and scrapes are
  missed meanwhile. No Kubernetes RBAC object is declared: with access entries (authentication
  mode API) AMP creates the collector's access entry itself (AMP-collector-how-to).
- Rules and the alert manager definition come from `eks_inferentia.metrics`; which serving pods are scraped
  and which rules apply follow `rule_targets.runtime` (TensorFlow Serving's, or vLLM's).
- The SNS topic's policy lets AMP (only from this workspace, in this account) publish; the
  topic has no server-side encryption, since the AWS-managed SNS key cannot be granted to AMP
  (a customer-managed key would be; alerts carry no model data).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from eks_inferentia.metrics import RuleTargets, alertmanager_definition, rules_yaml, scrape_configuration

# Two /28s (11 usable addresses each; the collector takes one per subnet) at the very top of the
# dedicated VPC's 10.0.0.0/16. awsx lays its subnets out from the bottom (private, then public).
SCRAPER_SUBNET_CIDRS = ("10.0.255.224/28", "10.0.255.240/28")
# Regions AMP publishes to SNS from with a regional service principal (AMP-alertmanager-receiver-AMPpermission).
OPT_IN_REGIONS = frozenset(("af-south-1", "ap-east-1", "ap-southeast-7", "eu-south-1", "eu-central-2", "me-central-1",
                            "ap-southeast-5"))
SCRAPER_TIMEOUTS = pulumi.CustomTimeouts(create="40m", delete="30m")
RULE_GROUP_NAMESPACE = "eks-inferentia"  # the AMP rule group namespace of the recording and alerting rules


@dataclass(frozen=True)
class MonitoringArgs:
    cluster_name: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    """The EKS cluster the collector scrapes (NeuronCluster.cluster_arn)."""
    vpc_id: pulumi.Input[str]
    cluster_security_group_id: pulumi.Input[str]
    serving_namespace: str
    neuron_monitor_namespace: str
    rule_targets: RuleTargets
    zones: Sequence[str] = ()
    """Two zones of the dedicated VPC for the collector's own subnets; unused with `scraper_subnet_ids`."""
    scraper_subnet_ids: Sequence[str] = ()
    """Subnets of an existing VPC for the collector; empty: create them in the dedicated VPC."""
    alert_email: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


def sns_topic_policy(topic_arn: str, workspace_arn: str, account_id: str, region: str) -> str:
    """AMP's permission to publish alerts (AMP-alertmanager-receiver-AMPpermission), for this workspace only."""
    service = f"{region}.aps.amazonaws.com" if region in OPT_IN_REGIONS else "aps.amazonaws.com"
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "AllowAmpAlertManagerPublish",
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": ["sns:Publish", "sns:GetTopicAttributes"],
        "Resource": topic_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": workspace_arn},
                      "StringEquals": {"AWS:SourceAccount": account_id}},
    }]})


def query_endpoint(prometheus_endpoint: str) -> str:
    """The workspace's query URL; its `prometheus_endpoint` ends with '/'."""
    return prometheus_endpoint.rstrip("/") + "/api/v1/query"


class Monitoring(pulumi.ComponentResource):
    workspace_arn: pulumi.Output[str]
    workspace_id: pulumi.Output[str]
    query_endpoint: pulumi.Output[str]
    prometheus_endpoint: pulumi.Output[str]
    """The workspace's endpoint (ends with '/'); Prometheus' HTTP API is below it."""
    scraper_arn: pulumi.Output[str]
    scraper_cidrs: pulumi.Output[list[str]]
    alert_topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-inferentia:index:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        region = aws.get_region_output().region
        account_id = aws.get_caller_identity_output().account_id

        workspace = aws.amp.Workspace(
            f"{name}-workspace", alias=args.cluster_name,
            tags={**args.tags, "AMPAgentlessScraper": ""}, opts=child)

        if args.scraper_subnet_ids:
            subnet_ids: pulumi.Input[Sequence[str]] = list(args.scraper_subnet_ids)
            cidrs = pulumi.Output.all(*[aws.ec2.get_subnet_output(id=subnet).cidr_block
                                        for subnet in args.scraper_subnet_ids])
        else:
            subnets = [
                aws.ec2.Subnet(
                    f"{name}-scraper-{index}", vpc_id=args.vpc_id, cidr_block=cidr, availability_zone=zone,
                    tags={**args.tags, "Name": pulumi.Output.concat(args.cluster_name, f"-prometheus-scraper-{index}")},
                    opts=child)
                for index, (cidr, zone) in enumerate(zip(SCRAPER_SUBNET_CIDRS, args.zones[:2], strict=True))
            ]
            subnet_ids = pulumi.Output.all(*[subnet.id for subnet in subnets])
            cidrs = pulumi.Output.all(*[subnet.cidr_block for subnet in subnets])

        scraper = aws.amp.Scraper(
            f"{name}-scraper",
            alias=args.cluster_name,
            source=aws.amp.ScraperSourceArgs(eks=aws.amp.ScraperSourceEksArgs(
                cluster_arn=args.cluster_arn, subnet_ids=subnet_ids,
                security_group_ids=[args.cluster_security_group_id])),
            destination=aws.amp.ScraperDestinationArgs(amp=aws.amp.ScraperDestinationAmpArgs(
                workspace_arn=workspace.arn)),
            scrape_configuration=pulumi.Output.from_input(args.cluster_name).apply(
                lambda cluster: scrape_configuration(cluster, args.serving_namespace, args.neuron_monitor_namespace,
                                                     args.rule_targets.runtime)),
            tags=args.tags,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(custom_timeouts=SCRAPER_TIMEOUTS)),
        )

        aws.amp.RuleGroupNamespace(
            f"{name}-rules", name=RULE_GROUP_NAMESPACE, workspace_id=workspace.id,
            data=rules_yaml(args.rule_targets), tags=args.tags, opts=child)

        topic = aws.sns.Topic(f"{name}-alerts", tags=args.tags, opts=child)
        topic_policy = aws.sns.TopicPolicy(
            f"{name}-alerts", arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, workspace.arn, account_id, region).apply(
                lambda a: sns_topic_policy(*a)),
            opts=child)
        aws.amp.AlertManagerDefinition(
            f"{name}-alertmanager", workspace_id=workspace.id,
            definition=pulumi.Output.all(topic.arn, region).apply(lambda a: alertmanager_definition(*a)),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[topic_policy])))
        if args.alert_email:
            # The address gets a confirmation mail from SNS; alerts reach it once confirmed.
            aws.sns.TopicSubscription(
                f"{name}-alerts-email", topic=topic.arn, protocol="email", endpoint=args.alert_email, opts=child)

        self.workspace_arn = workspace.arn
        self.workspace_id = workspace.id
        self.query_endpoint = workspace.prometheus_endpoint.apply(query_endpoint)
        self.prometheus_endpoint = workspace.prometheus_endpoint
        self.scraper_arn = scraper.arn
        self.scraper_cidrs = cidrs.apply(lambda values: [str(v) for v in values])
        self.alert_topic_arn = topic.arn
        self.register_outputs({
            "workspace_arn": self.workspace_arn,
            "workspace_id": self.workspace_id,
            "query_endpoint": self.query_endpoint,
            "prometheus_endpoint": self.prometheus_endpoint,
            "scraper_arn": self.scraper_arn,
            "scraper_cidrs": self.scraper_cidrs,
            "alert_topic_arn": self.alert_topic_arn,
        })
