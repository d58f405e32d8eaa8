"""NeuronNodePool: the NodePool and EC2NodeClass, exact and valid against Karpenter 1.14.1's CRD schemas; discovery
tags; what else must accept Karpenter's nodes (device plugin, neuron-monitor, serving)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from components.device_plugin import CHART_NEURON_INSTANCES, device_plugin_values
from eks_inferentia.instance_types import INSTANCE_TYPES
from eks_inferentia.versions import KARPENTER_CHART_VERSION
from tools.checkers import run_checkov
from tools.mock_engine import plain
from tools.references import reference_problems
from tools.render import kubernetes_manifests, write

# The NodePool and EC2NodeClass CRD schemas of the pinned chart (1.14.1), as tests/data/keda-crds.json holds KEDA's.
CRDS = json.loads((Path(__file__).resolve().parents[1] / "data" / "karpenter-crds.json").read_text())
KARPENTER = {"nodeProvisioner": "karpenter", "desiredNodes": None, "minNodes": None}
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
TAG = "aws:ec2/tag:Tag"


def _strict(schema: Any) -> Any:
    """The CRD schema with unknown fields refused (the API server would prune them in silence)."""
    if isinstance(schema, dict):
        schema = {k: _strict(v) for k, v in schema.items()}
        if schema.get("type") == "object" and "properties" in schema and "additionalProperties" not in schema \
                and not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


def validate(manifest: dict[str, Any]) -> None:
    """Check a Karpenter object against the pinned chart's CRD schema (CEL rules are not evaluated)."""
    crd = CRDS["crds"][manifest["kind"]]
    assert CRDS["chart"] == KARPENTER_CHART_VERSION
    assert manifest["apiVersion"] == f"{crd['group']}/{crd['version']}"
    jsonschema.validate(manifest, _strict(crd["openAPIV3Schema"]))


def _manifest(run, type_: str) -> dict[str, Any]:
    return plain(run.one(type_).raw_inputs)


@pytest.fixture
def run(run_stack):
    return run_stack("prod", **KARPENTER)


def test_the_node_pool_launches_the_neuron_types_tainted_within_the_device_limit(run) -> None:
    node_pool = _manifest(run, NODE_POOL)
    assert node_pool == {
        "apiVersion": "karpenter.sh/v1", "kind": "NodePool",
        "metadata": {"name": "neuron", "labels": {"app.kubernetes.io/managed-by": "pulumi"}},
        "spec": {
            "template": {
                "metadata": {"labels": {"eks-inferentia/role": "neuron"}},
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "neuron"},
                    "requirements": [
                        {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["inf2.xlarge"]},
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]}],
                    "taints": [{"key": "aws.amazon.com/neuron", "value": "true", "effect": "NoSchedule"}],
                    "expireAfter": "Never",
                },
            },
            "disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "10m",
                           "budgets": [{"nodes": "1"}]},
            # prod: maxNodes 6 x 1 device of inf2.xlarge.
            "limits": {"aws.amazon.com/neuron": 6},
        },
    }
    validate(node_pool)


def test_the_node_class_is_the_launch_templates_counterpart(run) -> None:
    node_class = _manifest(run, NODE_CLASS)
    node_role = run.named("aws:iam/role:Role", "karpenter-node-role").outputs["name"]
    assert node_class == {
        "apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass",
        "metadata": {"name": "neuron", "labels": {"app.kubernetes.io/managed-by": "pulumi"}},
        "spec": {
            "role": node_role,
            "amiSelectorTerms": [{"alias": "al2023@v20260714"}],
            "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": "inferentia-prod"}}],
            "securityGroupSelectorTerms": [{"tags": {"karpenter.sh/discovery": "inferentia-prod"}}],
            "metadataOptions": {"httpEndpoint": "enabled", "httpProtocolIPv6": "disabled",
                                "httpPutResponseHopLimit": 1, "httpTokens": "required"},
            "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {
                "volumeSize": "100Gi", "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True}}],
            "tags": {"project": "eks-inferentia", "cluster": "inferentia-prod"},
        },
    }
    validate(node_class)


def test_schema_validation_would_catch_a_wrong_field_or_value(run) -> None:
    node_pool = _manifest(run, NODE_POOL)
    wrong = copy.deepcopy(node_pool)
    wrong["spec"]["disruption"]["consolidationPolicy"] = "WhenUnderutilized"  # the v1beta1 name
    with pytest.raises(jsonschema.ValidationError):
        validate(wrong)
    wrong = copy.deepcopy(node_pool)
    wrong["spec"]["template"]["spec"]["expiresAfter"] = "720h"  # not a field
    with pytest.raises(jsonschema.ValidationError):
        validate(wrong)
    node_class = _manifest(run, NODE_CLASS)
    node_class["spec"]["metadataOptions"]["httpTokens"] = "sometimes"
    with pytest.raises(jsonschema.ValidationError):
        validate(node_class)


def test_node_role_model_access_answers_pods_from_imds(run_stack) -> None:
    run = run_stack("prod", **KARPENTER, modelAccess="node-role")
    assert _manifest(run, NODE_CLASS)["spec"]["metadataOptions"]["httpPutResponseHopLimit"] == 2


def test_extra_types_and_both_capacity_types(run_stack) -> None:
    run = run_stack("prod", **KARPENTER, extraInstanceTypes='["inf2.8xlarge", "inf2.24xlarge"]',
                    capacityType="SPOT_AND_ON_DEMAND", maxNodes=2)
    node_pool = _manifest(run, NODE_POOL)
    assert node_pool["spec"]["template"]["spec"]["requirements"] == [
        {"key": "node.kubernetes.io/instance-type", "operator": "In",
         "values": ["inf2.xlarge", "inf2.8xlarge", "inf2.24xlarge"]},
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot", "on-demand"]}]
    assert node_pool["spec"]["limits"] == {"aws.amazon.com/neuron": 12}  # 2 x 6 devices of inf2.24xlarge
    validate(node_pool)
    # neuron-monitor runs on every type the NodePool may launch.
    daemon_set = plain(run.one("kubernetes:apps/v1:DaemonSet").raw_inputs)
    (term,) = daemon_set["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term["matchExpressions"][0]["values"] == ["inf2.24xlarge", "inf2.8xlarge", "inf2.xlarge"]


def test_spot_alone(run_stack) -> None:
    node_pool = _manifest(run_stack("prod", **KARPENTER, capacityType="SPOT"), NODE_POOL)
    assert node_pool["spec"]["template"]["spec"]["requirements"][1]["values"] == ["spot"]


def test_the_cluster_security_group_and_the_dedicated_vpcs_private_subnets_carry_the_discovery_tag(run) -> None:
    (tag,) = run.of_type(TAG)
    cluster_sg = run.one("eks:index:Cluster").outputs["clusterSecurityGroupId"]
    assert tag.inputs == {"resourceId": cluster_sg, "key": "karpenter.sh/discovery", "value": "inferentia-prod"}
    private, public = run.one("awsx:ec2:Vpc").inputs["subnetSpecs"]
    assert private["tags"]["karpenter.sh/discovery"] == "inferentia-prod"
    assert "karpenter.sh/discovery" not in public["tags"]


def test_managed_stacks_tag_nothing_for_karpenter(run_stack) -> None:
    run = run_stack("prod")
    assert not run.of_type(TAG)
    assert all("karpenter.sh/discovery" not in spec["tags"] for spec in run.one("awsx:ec2:Vpc").inputs["subnetSpecs"])


def test_an_existing_vpcs_private_subnets_are_tagged_one_by_one(run_stack) -> None:
    subnets = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
    run = run_stack("prod", **KARPENTER, vpcId="vpc-0123456789abcdef0", privateSubnetIds=json.dumps(subnets),
                    publicSubnetIds='["subnet-0123456789abcdef2"]', scraperSubnetIds=json.dumps(subnets))
    tagged = sorted(t.inputs["resourceId"] for t in run.of_type(TAG))
    assert tagged == sorted([*subnets, run.one("eks:index:Cluster").outputs["clusterSecurityGroupId"]])
    assert not run.of_type("awsx:ec2:Vpc")


def test_the_objects_wait_for_the_chart_and_the_tags(run) -> None:
    chart = run.named("kubernetes:helm.sh/v4:Chart", "karpenter-chart").urn
    node_class, node_pool = run.one(NODE_CLASS), run.one(NODE_POOL)
    assert chart in node_class.dependencies and chart in node_pool.dependencies
    assert run.one(TAG).urn in node_class.dependencies and node_class.urn in node_pool.dependencies
    cluster_provider = run.one("pulumi:providers:kubernetes").urn
    assert node_class.provider.startswith(cluster_provider) and node_pool.provider.startswith(cluster_provider)


def test_serving_waits_for_the_node_pool_and_tolerates_its_taint(run) -> None:
    deployment = run.one("kubernetes:apps/v1:Deployment")
    assert run.one(NODE_POOL).urn in deployment.dependencies
    taint = _manifest(run, NODE_POOL)["spec"]["template"]["spec"]["taints"][0]
    pod = plain(deployment.raw_inputs)["spec"]["template"]["spec"]
    assert {"key": taint["key"], "operator": "Exists", "effect": taint["effect"]} in pod["tolerations"]


def test_the_device_plugin_and_neuron_monitor_accept_karpenters_nodes(run) -> None:
    taint = _manifest(run, NODE_POOL)["spec"]["template"]["spec"]["taints"][0]
    toleration = {"key": taint["key"], "operator": "Exists", "effect": taint["effect"]}
    assert toleration in device_plugin_values("1.35")["devicePlugin"]["tolerations"]
    monitor = plain(run.one("kubernetes:apps/v1:DaemonSet").raw_inputs)["spec"]["template"]["spec"]
    assert toleration in monitor["tolerations"]
    # The chart's own device plugin affinity lists instance types: every type a NodePool may launch is among them.
    assert set(INSTANCE_TYPES) <= CHART_NEURON_INSTANCES


def test_the_rendered_objects_resolve_and_the_node_pool_names_its_node_class(run) -> None:
    manifests = kubernetes_manifests(run)
    assert {m["kind"] for m in manifests} >= {"NodePool", "EC2NodeClass"}
    assert reference_problems(manifests) == []
    broken = [copy.deepcopy(m) for m in manifests if m["kind"] != "EC2NodeClass"]
    assert reference_problems(broken) == ["NodePool neuron: nodeClassRef EC2NodeClass 'neuron' is not one the stack declares"]


def test_checkov_finds_no_failed_check_in_a_karpenter_stacks_manifests(run, tmp_path: Path) -> None:
    write(run, tmp_path)
    assert {p.name.split("-", 2)[1] for p in (tmp_path / "manifests").glob("*.yaml")} >= {"nodepool", "ec2nodeclass"}
    assert run_checkov("kubernetes", tmp_path / "manifests").failures() == []


def test_with_autoscaling_keda_adds_pods_and_the_node_pool_adds_nodes(run_stack) -> None:
    run = run_stack("prod", **KARPENTER, autoscaling="true", targetRequestsPerSecond="40")
    assert run.one(NODE_POOL) and run.one("kubernetes:keda.sh/v1alpha1:ScaledObject")
    assert reference_problems(kubernetes_manifests(run)) == []
    assert {r.name for r in run.of_type("kubernetes:helm.sh/v4:Chart")} == {
        "neuron-device-plugin-chart", "karpenter-chart", "autoscaling-keda"}


def test_the_component_owns_its_objects_and_registers_their_fixed_names(run_stack) -> None:
    subnets = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
    run = run_stack("prod", **KARPENTER, vpcId="vpc-0123456789abcdef0", privateSubnetIds=json.dumps(subnets),
                    publicSubnetIds='["subnet-0123456789abcdef2"]', scraperSubnetIds=json.dumps(subnets))
    component = run.one("eks-inferentia:index:NeuronNodePool")
    owned = sorted((r.type, r.name) for r in run.resources if r.parent == component.urn)
    assert owned == sorted([(NODE_CLASS, "neuron-node-pool-node-class"), (NODE_POOL, "neuron-node-pool-node-pool"),
                            (TAG, "neuron-node-pool-cluster-sg-discovery"),
                            *((TAG, f"neuron-node-pool-{subnet}-discovery") for subnet in subnets)])
    for subnet in subnets:
        assert run.named(TAG, f"neuron-node-pool-{subnet}-discovery").inputs == {
            "resourceId": subnet, "key": "karpenter.sh/discovery", "value": "inferentia-prod"}
    assert run.registered_outputs[component.urn] == {"node_pool_name": "neuron", "node_class_name": "neuron"}


def test_the_callers_parent_and_dependencies_reach_the_node_pool() -> None:
    import pulumi
    import pulumi_kubernetes as k8s

    from components.neuron_node_pool import NeuronNodePool, NeuronNodePoolArgs
    from tests.components.options import declared_with_options

    declared = declared_with_options(lambda opts: NeuronNodePool("neuron-pool", NeuronNodePoolArgs(
        cluster_name="inferentia-prod", instance_types=["inf2.xlarge"], max_neuron_devices=6, capacity_type="ON_DEMAND",
        ami_alias="al2023@v20260714", node_role_name="karpenter-node-role", cluster_security_group_id="sg-1",
        provider=k8s.Provider("k8s"), controller=pulumi.ComponentResource("test:index:Controller", "karpenter")),
        opts=opts))
    component = declared.component("eks-inferentia:index:NeuronNodePool")
    assert component.parent == declared.owner.urn
    assert component.dependencies == [declared.before.urn]
