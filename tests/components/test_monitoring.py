"""Monitoring and NeuronMonitor as the program declares them."""

from __future__ import annotations

import json

import pulumi_kubernetes as k8s
import pytest
import yaml

from components.monitoring import (
    OPT_IN_REGIONS,
    Monitoring,
    MonitoringArgs,
    query_endpoint,
    sns_topic_policy,
)
from components.neuron_monitor import CHECKOV_SKIPS, NeuronMonitor, NeuronMonitorArgs
from components.pod_security import checkov_skip_annotations
from eks_inferentia.metrics import RuleTargets, alertmanager_definition, rules_yaml, scrape_configuration
from tests.components.options import declared_with_options
from tests.components.test_vllm_serving import VLLM
from tools.checkers import run_parliament
from tools.mock_engine import run_program
from tools.render import stack_config

AMP = ("aws:amp/workspace:Workspace", "aws:amp/scraper:Scraper", "aws:amp/ruleGroupNamespace:RuleGroupNamespace",
       "aws:amp/alertManagerDefinition:AlertManagerDefinition", "aws:sns/topic:Topic", "aws:sns/topicPolicy:TopicPolicy")
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SUBNETS = '["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]'
EXISTING_VPC = {"vpcId": "vpc-0123456789abcdef0", "privateSubnetIds": SUBNETS,
                "publicSubnetIds": '["subnet-0123456789abcdef2", "subnet-0123456789abcdef3"]'}


def test_monitoring_false_declares_none_of_it_and_outputs_empty_strings(run_stack) -> None:
    run, full = run_stack(monitoring=False), run_stack()
    for typ in (*AMP, "aws:ec2/subnet:Subnet", "kubernetes:apps/v1:DaemonSet"):
        assert run.of_type(typ) == [] and full.of_type(typ), typ
    assert [run.outputs[k] for k in ("prometheusWorkspaceArn", "prometheusQueryEndpoint", "alertTopicArn")] == ["", "", ""]
    # The rest of the stack is unchanged but the serving NetworkPolicy's collector rule.
    others = {r.urn for r in full.resources} - {r.urn for r in run.resources}
    assert all(any(part in urn for part in ("monitoring", "neuron-monitor")) for urn in others), others


def test_outputs_point_at_the_workspace_and_the_topic(run_stack) -> None:
    run = run_stack()
    workspace, topic = run.one("aws:amp/workspace:Workspace"), run.one("aws:sns/topic:Topic")
    assert run.outputs["prometheusWorkspaceArn"] == workspace.outputs["arn"]
    assert run.outputs["prometheusQueryEndpoint"] == workspace.outputs["prometheusEndpoint"] + "api/v1/query"
    assert run.outputs["alertTopicArn"] == topic.outputs["arn"]
    assert workspace.inputs["tags"]["AMPAgentlessScraper"] == ""


def test_the_collector_scrapes_the_cluster_from_two_subnets_of_its_own(run_stack) -> None:
    run = run_stack()
    scraper = run.one("aws:amp/scraper:Scraper")
    # In the program's order (scraper-0, scraper-1): registrations arrive in whatever order the event loop runs them.
    subnets = sorted(run.of_type("aws:ec2/subnet:Subnet"), key=lambda subnet: subnet.name)
    eks = scraper.inputs["source"]["eks"]
    assert eks["clusterArn"] == "arn:aws:eks:us-west-2:123456789012:cluster/inferentia-dev"
    assert eks["subnetIds"] == [s.outputs["id"] for s in subnets]
    assert len({s.inputs["availabilityZone"] for s in subnets}) == 2
    assert eks["securityGroupIds"] == [run.one("eks:index:Cluster").outputs["clusterSecurityGroupId"]]
    assert scraper.inputs["destination"]["amp"]["workspaceArn"] == run.one("aws:amp/workspace:Workspace").outputs["arn"]
    assert yaml.safe_load(scraper.inputs["scrapeConfiguration"])["global"]["scrape_interval"] == "30s"
    assert scraper.custom_timeouts["create"] == "40m"


def test_network_policies_admit_the_collector_subnets_to_the_metrics_ports_only(run_stack) -> None:
    run = run_stack()
    cidrs = sorted(s.inputs["cidrBlock"] for s in run.of_type("aws:ec2/subnet:Subnet"))
    serving = run.named(NETWORK_POLICY, "serving-clients").inputs["spec"]["ingress"]
    assert len(serving) == 2 and "namespaceSelector" in serving[0]["from"][0]
    assert sorted(p["ipBlock"]["cidr"] for p in serving[1]["from"]) == cidrs
    assert serving[1]["ports"] == [{"port": 9000, "protocol": "TCP"}]
    monitor = run.named(NETWORK_POLICY, "neuron-monitor-collector").inputs["spec"]
    assert monitor["policyTypes"] == ["Ingress"]
    (rule,) = monitor["ingress"]
    assert sorted(p["ipBlock"]["cidr"] for p in rule["from"]) == cidrs
    assert rule["ports"] == [{"port": 8000, "protocol": "TCP"}]


def test_an_existing_vpc_uses_scraper_subnet_ids_or_else_the_private_subnets_with_a_warning(run_stack) -> None:
    own = run_stack(**EXISTING_VPC, scraperSubnetIds='["subnet-00000000000000aa0", "subnet-00000000000000aa1"]')
    assert own.of_type("aws:ec2/subnet:Subnet") == []
    assert own.one("aws:amp/scraper:Scraper").inputs["source"]["eks"]["subnetIds"] == [
        "subnet-00000000000000aa0", "subnet-00000000000000aa1"]
    cidrs = [p["ipBlock"]["cidr"] for p in own.named(NETWORK_POLICY, "serving-clients").inputs["spec"]["ingress"][1]["from"]]
    assert len(cidrs) == 2 and all(c.startswith("172.31.") for c in cidrs)  # looked up, as the mock answers
    fallback = run_stack(**EXISTING_VPC)
    assert fallback.one("aws:amp/scraper:Scraper").inputs["source"]["eks"]["subnetIds"] == json.loads(SUBNETS)


def test_alert_email_subscribes_the_address_and_the_topic_policy_passes_parliament(run_stack) -> None:
    assert run_stack().of_type("aws:sns/topicSubscription:TopicSubscription") == []
    run = run_stack(alertEmail="oncall@example.com")
    subscription = run.one("aws:sns/topicSubscription:TopicSubscription").inputs
    assert subscription == {**subscription, "protocol": "email", "endpoint": "oncall@example.com",
                            "topic": run.outputs["alertTopicArn"]}
    policy = run.one("aws:sns/topicPolicy:TopicPolicy").inputs
    assert policy["arn"] == run.outputs["alertTopicArn"]
    statement = json.loads(policy["policy"])["Statement"][0]
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == run.outputs["prometheusWorkspaceArn"]
    assert run_parliament(policy["policy"]) == []
    definition = run.one("aws:amp/alertManagerDefinition:AlertManagerDefinition").inputs
    assert definition["workspaceId"] == run.one("aws:amp/workspace:Workspace").outputs["id"]
    assert run.outputs["alertTopicArn"] in definition["definition"]


def test_neuron_monitor_runs_on_the_neuron_nodes_only_with_the_official_image(run_stack) -> None:
    daemon_set = run_stack("prod").one("kubernetes:apps/v1:DaemonSet").inputs
    assert daemon_set["metadata"]["namespace"] == "neuron-monitor"
    pod = daemon_set["spec"]["template"]["spec"]
    (term,) = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term["matchExpressions"] == [{"key": "node.kubernetes.io/instance-type", "operator": "In",
                                         "values": ["inf2.xlarge"]}]
    assert {"key": "aws.amazon.com/neuron", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    assert pod["automountServiceAccountToken"] is False and not pod.get("hostNetwork")
    (container,) = pod["containers"]
    assert container["image"] == "public.ecr.aws/neuron/neuron-monitor:1.3.0"
    assert container["ports"] == [{"name": "metrics", "containerPort": 8000}]
    assert container["resources"] == {"requests": {"cpu": "256m", "memory": "128Mi"},
                                      "limits": {"cpu": "500m", "memory": "256Mi"}}
    assert container["securityContext"]["privileged"] is True
    annotations = daemon_set["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == "8000"


TAGS = {"project": "eks-inferentia", "cluster": "inferentia-dev"}
WORKSPACE = "arn:aws:aps:us-west-2:123456789012:workspace/ws-1"
TOPIC = "arn:aws:sns:us-west-2:123456789012:monitoring-alerts-1"


def test_the_topic_policy_is_amps_own_statement_for_this_workspace_and_account() -> None:
    # AMP-alertmanager-receiver-AMPpermission, word for word: a Sid, both actions, the global principal.

    assert json.loads(sns_topic_policy(TOPIC, WORKSPACE, "123456789012", "us-west-2")) == {
        "Version": "2012-10-17", "Statement": [{
            "Sid": "AllowAmpAlertManagerPublish",
            "Effect": "Allow",
            "Principal": {"Service": "aps.amazonaws.com"},
            "Action": ["sns:Publish", "sns:GetTopicAttributes"],
            "Resource": TOPIC,
            "Condition": {"ArnEquals": {"aws:SourceArn": WORKSPACE},
                          "StringEquals": {"AWS:SourceAccount": "123456789012"}},
        }]}


def test_opt_in_regions_name_amps_regional_principal() -> None:
    for region, principal in (("af-south-1", "af-south-1.aps.amazonaws.com"), ("eu-central-2", "eu-central-2.aps.amazonaws.com"),
                              ("eu-west-1", "aps.amazonaws.com")):
        statement = json.loads(sns_topic_policy(TOPIC, WORKSPACE, "123456789012", region))["Statement"][0]
        assert statement["Principal"] == {"Service": principal}, region
    assert "us-east-1" not in OPT_IN_REGIONS and "ap-east-1" in OPT_IN_REGIONS


def test_the_query_endpoint_is_prometheus_query_api_below_the_workspace_endpoint() -> None:
    base = "https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-1"
    assert query_endpoint(base + "/") == base + "/api/v1/query"
    assert query_endpoint(base) == base + "/api/v1/query"
    assert query_endpoint(base + "-X/") == base + "-X/api/v1/query"  # only the slash goes


def test_every_monitoring_resource_is_declared_exactly(run_stack) -> None:
    run = run_stack(alertEmail="oncall@example.com")
    component = run.one("eks-inferentia:index:Monitoring")
    workspace = run.one("aws:amp/workspace:Workspace")
    topic = run.one("aws:sns/topic:Topic")
    assert workspace.inputs == {"alias": "inferentia-dev", "tags": {**TAGS, "AMPAgentlessScraper": ""}}
    assert topic.inputs == {"tags": TAGS}
    subnets = sorted(run.of_type("aws:ec2/subnet:Subnet"), key=lambda subnet: subnet.name)
    vpc_id = run.one("eks:index:Cluster").inputs["vpcId"]
    assert [s.inputs for s in subnets] == [
        {"vpcId": vpc_id, "cidrBlock": cidr, "availabilityZone": zone,
         "tags": {**TAGS, "Name": f"inferentia-dev-prometheus-scraper-{index}"}}
        for index, (cidr, zone) in enumerate((("10.0.255.224/28", "us-west-2a"), ("10.0.255.240/28", "us-west-2b")))]
    scraper = run.one("aws:amp/scraper:Scraper")
    assert scraper.inputs == {
        "alias": "inferentia-dev", "tags": TAGS,
        "source": {"eks": {"clusterArn": "arn:aws:eks:us-west-2:123456789012:cluster/inferentia-dev",
                           "subnetIds": [s.outputs["id"] for s in subnets],
                           "securityGroupIds": [run.one("eks:index:Cluster").outputs["clusterSecurityGroupId"]]}},
        "destination": {"amp": {"workspaceArn": workspace.outputs["arn"]}},
        "scrapeConfiguration": scrape_configuration("inferentia-dev", "inference", "neuron-monitor",
                                                    "tensorflow-serving")}
    assert scraper.custom_timeouts == {"create": "40m", "delete": "30m"}
    rules = run.one("aws:amp/ruleGroupNamespace:RuleGroupNamespace")
    assert rules.inputs == {"name": "eks-inferentia", "workspaceId": workspace.outputs["id"], "tags": TAGS,
                            "data": rules_yaml(RuleTargets(model_name="resnet50_neuron", latency_objective_ms=100))}
    policy = run.one("aws:sns/topicPolicy:TopicPolicy")
    assert policy.inputs == {"arn": topic.outputs["arn"], "policy": sns_topic_policy(
        topic.outputs["arn"], workspace.outputs["arn"], "123456789012", "us-west-2")}
    definition = run.one("aws:amp/alertManagerDefinition:AlertManagerDefinition")
    assert definition.inputs == {"workspaceId": workspace.outputs["id"],
                                 "definition": alertmanager_definition(topic.outputs["arn"], "us-west-2")}
    # The alert manager is told to publish only once AMP may.
    assert policy.urn in definition.dependencies
    subscription = run.one("aws:sns/topicSubscription:TopicSubscription")
    assert subscription.inputs == {"protocol": "email", "endpoint": "oncall@example.com", "topic": topic.outputs["arn"]}
    mine = [r for r in run.resources if r.parent == component.urn]
    assert sorted(r.name for r in mine) == sorted([
        "monitoring-workspace", "monitoring-scraper-0", "monitoring-scraper-1", "monitoring-scraper", "monitoring-rules",
        "monitoring-alerts", "monitoring-alerts", "monitoring-alertmanager", "monitoring-alerts-email"])
    assert run.registered_outputs[component.urn] == {
        "workspace_arn": workspace.outputs["arn"], "workspace_id": workspace.outputs["id"],
        "prometheus_endpoint": workspace.outputs["prometheusEndpoint"],
        "query_endpoint": workspace.outputs["prometheusEndpoint"] + "api/v1/query",
        "scraper_arn": scraper.outputs["arn"], "scraper_cidrs": ["10.0.255.224/28", "10.0.255.240/28"],
        "alert_topic_arn": topic.outputs["arn"]}


def _monitoring(zones: tuple[str, ...], region: str = "us-west-2", opts=None):
    """Monitoring declared on its own, for the given zones and region."""

    return Monitoring("monitoring", MonitoringArgs(
        cluster_name="inferentia-dev", cluster_arn=f"arn:aws:eks:{region}:123456789012:cluster/inferentia-dev",
        vpc_id="vpc-0123456789abcdef0", cluster_security_group_id="sg-0123456789abcdef0",
        serving_namespace="inference", neuron_monitor_namespace="neuron-monitor",
        rule_targets=RuleTargets(model_name="resnet50_neuron", latency_objective_ms=100), zones=zones), opts=opts)


def test_the_callers_parent_and_dependencies_reach_the_monitoring_component() -> None:
    declared = declared_with_options(lambda opts: _monitoring(("us-west-2a", "us-west-2b", "us-west-2c"), opts=opts))
    component = declared.component("eks-inferentia:index:Monitoring")
    assert component.parent == declared.owner.urn
    assert component.dependencies == [declared.before.urn]
    # The collector's two subnets go to the first two zones of however many the VPC has.
    subnets = sorted(declared.run.of_type("aws:ec2/subnet:Subnet"), key=lambda subnet: subnet.name)
    assert [s.inputs["availabilityZone"] for s in subnets] == ["us-west-2a", "us-west-2b"]


def test_fewer_than_two_zones_for_the_collectors_subnets_is_an_error_not_one_subnet() -> None:
    with pytest.raises(ValueError, match="zip"):
        run_program(stack_config("dev"), program=lambda: _monitoring(("us-west-2a",)))


def test_in_an_opt_in_region_the_topic_admits_amps_regional_principal() -> None:
    run = run_program(stack_config("dev"), program=lambda: _monitoring(("ap-east-1a", "ap-east-1b"), "ap-east-1"),
                      region="ap-east-1")
    statement = json.loads(run.one("aws:sns/topicPolicy:TopicPolicy").inputs["policy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "ap-east-1.aps.amazonaws.com"}


MONITOR_LABELS = {"app.kubernetes.io/name": "neuron-monitor", "app.kubernetes.io/managed-by": "pulumi"}


def test_neuron_monitor_is_the_official_manifests_daemon_set_exactly(run_stack) -> None:
    run = run_stack("prod")
    component = run.one("eks-inferentia:index:NeuronMonitor")
    objects = {r.type.rsplit(":", 1)[1]: r for r in run.resources if r.parent == component.urn}
    assert sorted(objects) == ["DaemonSet", "Namespace", "NetworkPolicy", "ServiceAccount"]
    assert all(r.provider.startswith(run.one("pulumi:providers:kubernetes").urn) for r in objects.values())
    assert objects["Namespace"].inputs["metadata"] == {"name": "neuron-monitor",
                                                       "labels": {"app.kubernetes.io/managed-by": "pulumi"}}
    metadata = {"name": "neuron-monitor", "namespace": "neuron-monitor", "labels": MONITOR_LABELS}
    assert objects["ServiceAccount"].inputs["metadata"] == metadata
    assert objects["ServiceAccount"].inputs["automountServiceAccountToken"] is False
    daemon_set = objects["DaemonSet"].inputs
    assert daemon_set["metadata"] == {**metadata, "annotations": checkov_skip_annotations(CHECKOV_SKIPS)}
    metrics = {"path": "/metrics", "port": "metrics"}
    assert daemon_set["spec"] == {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "neuron-monitor"}},
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
        "template": {
            "metadata": {"labels": MONITOR_LABELS, "annotations": {
                "prometheus.io/scrape": "true", "prometheus.io/port": "8000", "prometheus.io/path": "/metrics"}},
            "spec": {
                "serviceAccountName": "neuron-monitor",
                "automountServiceAccountToken": False,
                "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                "tolerations": [{"key": "aws.amazon.com/neuron", "operator": "Exists", "effect": "NoSchedule"}],
                "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "node.kubernetes.io/instance-type", "operator": "In",
                                           "values": ["inf2.xlarge"]}]}]}}},
                "containers": [{
                    "name": "neuron-monitor",
                    "image": "public.ecr.aws/neuron/neuron-monitor:1.3.0",
                    "imagePullPolicy": "Always",
                    "command": ["/opt/bin/entrypoint.sh"],
                    "args": ["--port", "8000", "--neuron-monitor-config", "/opt/aws/neuron/bin/neuron-monitor.conf"],
                    "ports": [{"name": "metrics", "containerPort": 8000}],
                    "env": [{"name": "GOMEMLIMIT", "value": "160MiB"}],
                    "resources": {"requests": {"cpu": "256m", "memory": "128Mi"},
                                  "limits": {"cpu": "500m", "memory": "256Mi"}},
                    "securityContext": {"privileged": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "readinessProbe": {"httpGet": metrics, "periodSeconds": 30, "timeoutSeconds": 5},
                    "livenessProbe": {"httpGet": metrics, "periodSeconds": 60, "timeoutSeconds": 10,
                                      "failureThreshold": 3},
                }],
            },
        },
    }
    assert objects["NetworkPolicy"].inputs["metadata"] == {**metadata, "name": "neuron-monitor-collector"}
    assert objects["NetworkPolicy"].inputs["spec"] == {
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "neuron-monitor"}},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.255.224/28"}}, {"ipBlock": {"cidr": "10.0.255.240/28"}}],
                     "ports": [{"port": 8000, "protocol": "TCP"}]}]}
    assert run.registered_outputs[component.urn] == {"namespace": "neuron-monitor", "daemon_set_name": "neuron-monitor"}


def test_the_callers_options_reach_neuron_monitor_and_it_runs_on_every_neuron_type_given() -> None:


    declared = declared_with_options(lambda opts: NeuronMonitor("neuron-monitor", NeuronMonitorArgs(
        instance_types=["inf2.xlarge", "inf1.xlarge"], scraper_cidrs=["10.0.255.224/28"],
        provider=k8s.Provider("k8s")), opts=opts))
    component = declared.component("eks-inferentia:index:NeuronMonitor")
    assert component.parent == declared.owner.urn
    assert component.dependencies == [declared.before.urn]
    pod = declared.run.one("kubernetes:apps/v1:DaemonSet").inputs["spec"]["template"]["spec"]
    (term,) = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term["matchExpressions"][0]["values"] == ["inf1.xlarge", "inf2.xlarge"]  # sorted: no diff on reorder


def test_under_vllm_the_collector_scrapes_vllms_pods_and_the_rules_are_vllms(run_stack) -> None:
    run = run_stack(**VLLM)
    assert run.one("aws:amp/scraper:Scraper").inputs["scrapeConfiguration"] == scrape_configuration(
        "inferentia-dev", "inference", "neuron-monitor", "vllm")
    assert run.one("aws:amp/ruleGroupNamespace:RuleGroupNamespace").inputs["data"] == rules_yaml(RuleTargets(
        model_name="llama-3.1-8b", latency_objective_ms=2000, runtime="vllm", max_concurrent_sequences=8))
