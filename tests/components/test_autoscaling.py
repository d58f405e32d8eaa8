"""ServingAutoscaler: KEDA (pinned chart, Pod Identity role that may only query the stack's workspace), its
TriggerAuthentication and ScaledObject, checked value by value and against KEDA's own CRD schemas; and what
autoscaling changes in the serving Deployment (the replica count left to the HPA, the update timeout)."""

from __future__ import annotations

import copy
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from components.autoscaling import (
    KEDA_NAMESPACE,
    KEDA_OPERATOR_SERVICE_ACCOUNT,
    KEDA_REPOSITORY,
    SCALE_DOWN_STABILIZATION_SECONDS,
    keda_values,
    query_metrics_policy,
    server_address,
    threshold,
)
from components.serving import IMAGE_PULL_ALLOWANCE_SECONDS, MODEL_COPY_ALLOWANCE_SECONDS, STARTUP_BUDGET_SECONDS
from eks_inferentia.config import SUPPORTED_KUBERNETES_VERSIONS
from eks_inferentia.metrics import EXPORTED_METRICS, scaling_query
from eks_inferentia.versions import KEDA_CHART_VERSIONS, unpinned_addons
from tests.test_metrics import metric_names
from tools.mock_engine import plain
from tools.render import kubernetes_manifests

AUTOSCALED = {"autoscaling": "true", "targetRequestsPerSecond": "40"}
CHART = "kubernetes:helm.sh/v4:Chart"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
TRIGGER_AUTHENTICATION = "kubernetes:keda.sh/v1alpha1:TriggerAuthentication"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CRDS = json.loads((Path(__file__).resolve().parent.parent / "data" / "keda-crds.json").read_text())
WORKSPACE = "ws-6516335a-1cbf-4302-85a6-11dfbea534bc"  # the mock's workspace ID for `monitoring-workspace`
QUERY = ('sum(rate(:tensorflow:serving:request_latency_count{job="tensorflow-serving",namespace="inference",'
         'model_name="resnet50_neuron",API=~"predict|classify|regress|Predict|Classify|Regress"}[2m])) or vector(0)')


@pytest.fixture(scope="module")
def autoscaled(run_stack):
    return run_stack("dev", **AUTOSCALED)


def test_nothing_of_keda_is_declared_without_autoscaling(run_stack) -> None:
    run = run_stack("dev")
    assert not run.of_type("eks-inferentia:index:ServingAutoscaler")
    assert not run.of_type(SCALED_OBJECT) and not run.of_type(TRIGGER_AUTHENTICATION)
    assert [chart.name for chart in run.of_type(CHART)] == ["neuron-device-plugin-chart"]
    deployment = run.one(DEPLOYMENT)
    assert deployment.ignore_changes == []
    assert deployment.inputs["spec"]["replicas"] == 2


def test_the_operator_may_only_query_the_stacks_workspace(autoscaled) -> None:
    policy = autoscaled.named("aws:iam/policy:Policy", "autoscaling-query-metrics")
    assert json.loads(policy.inputs["policy"]) == {"Version": "2012-10-17", "Statement": [{
        "Sid": "QueryServingMetrics", "Effect": "Allow", "Action": "aps:QueryMetrics",
        "Resource": f"arn:aws:aps:us-west-2:123456789012:workspace/{WORKSPACE}"}]}
    assert autoscaled.outputs["prometheusWorkspaceArn"] == f"arn:aws:aps:us-west-2:123456789012:workspace/{WORKSPACE}"
    attachment = autoscaled.named("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "autoscaling-query-metrics")
    role = autoscaled.named("aws:iam/role:Role", "autoscaling-keda-role")
    assert attachment.inputs["role"] == role.outputs["name"]
    assert attachment.inputs["policyArn"] == policy.outputs["arn"]


def test_the_operators_role_trusts_pod_identity_for_keda_operator_of_this_cluster_only(autoscaled) -> None:
    trust = json.loads(autoscaled.named("aws:iam/role:Role", "autoscaling-keda-role").inputs["assumeRolePolicy"])
    assert trust == {"Version": "2012-10-17", "Statement": [{
        "Sid": "EksPodIdentityForTheKedaOperator", "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {
            "aws:RequestTag/eks-cluster-arn": "arn:aws:eks:us-west-2:123456789012:cluster/inferentia-dev",
            "aws:RequestTag/kubernetes-namespace": "keda",
            "aws:RequestTag/kubernetes-service-account": "keda-operator"}}}]}


def test_the_association_binds_the_chart_operator_service_account_before_its_pods_exist(autoscaled) -> None:
    association = autoscaled.named(ASSOCIATION, "autoscaling-keda-pod-identity")
    role = autoscaled.named("aws:iam/role:Role", "autoscaling-keda-role")
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == ("keda", "keda-operator")
    assert association.inputs["clusterName"] == "inferentia-dev"
    assert association.inputs["roleArn"] == role.outputs["arn"]
    attachment = autoscaled.named("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "autoscaling-query-metrics")
    assert attachment.urn in association.dependencies
    chart = autoscaled.named(CHART, "autoscaling-keda")
    assert association.urn in chart.dependencies
    assert chart.inputs["values"]["serviceAccount"]["operator"]["name"] == KEDA_OPERATOR_SERVICE_ACCOUNT


def test_keda_comes_from_its_official_chart_pinned_in_its_own_namespace(autoscaled) -> None:
    chart = autoscaled.named(CHART, "autoscaling-keda")
    assert plain(chart.inputs) == {
        "chart": "keda", "repositoryOpts": {"repo": "https://kedacore.github.io/charts"}, "version": "2.20.2",
        "namespace": "keda",
        "values": {"crds": {"install": True}, "serviceAccount": {"operator": {"create": True, "name": "keda-operator"}}}}
    assert KEDA_REPOSITORY == "https://kedacore.github.io/charts" and KEDA_NAMESPACE == "keda"
    assert chart.provider.startswith(autoscaled.one("pulumi:providers:kubernetes").urn)
    namespace = autoscaled.named("kubernetes:core/v1:Namespace", "autoscaling-keda-ns")
    assert namespace.inputs["metadata"]["name"] == "keda"


def test_keda_runs_on_the_system_nodes_when_there_are_some(run_stack) -> None:
    run = run_stack("dev", systemNodes=2, **AUTOSCALED)
    values = run.named(CHART, "autoscaling-keda").inputs["values"]
    assert values["nodeSelector"] == {"eks-inferentia/role": "system"}
    assert "tolerations" not in values  # so never on the tainted Neuron nodes
    # The chart itself waits for the system nodes (a component's depends_on would not reach it).
    chart = run.named(CHART, "autoscaling-keda")
    assert run.named("aws:eks/nodeGroup:NodeGroup", "system-nodes-ng").urn in chart.dependencies


@pytest.mark.parametrize("version", [v for v in SUPPORTED_KUBERNETES_VERSIONS if not unpinned_addons(v)])
def test_every_kubernetes_version_the_stack_accepts_pins_keda_inside_its_tested_window(run_stack, version: str) -> None:
    # keda.sh/docs/2.22/operate/cluster: v2.19 is tested on 1.32-1.34, v2.20 on 1.33-1.35.
    tested = {"2.19": ("1.32", "1.33", "1.34"), "2.20": ("1.33", "1.34", "1.35")}
    pinned = KEDA_CHART_VERSIONS[version]
    assert version in tested[pinned.rsplit(".", 1)[0]]
    chart = run_stack("dev", kubernetesVersion=version, **AUTOSCALED).named(CHART, "autoscaling-keda")
    assert chart.inputs["version"] == pinned
    assert pinned in CRDS["charts"]


def test_the_trigger_authentication_uses_the_operators_own_pod_identity(autoscaled) -> None:
    auth = autoscaled.named(TRIGGER_AUTHENTICATION, "autoscaling-trigger-auth")
    assert plain(auth.inputs) == {
        "apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication",
        "metadata": {"name": "amp-pod-identity", "namespace": "inference",
                     "labels": {"app.kubernetes.io/name": "tensorflow-serving", "app.kubernetes.io/managed-by": "pulumi"}},
        "spec": {"podIdentity": {"provider": "aws", "identityOwner": "keda"}}}
    assert autoscaled.named(CHART, "autoscaling-keda").urn in auth.dependencies


def test_the_scaled_object_scales_the_serving_deployment_on_its_prediction_rate(autoscaled) -> None:
    scaled = autoscaled.named(SCALED_OBJECT, "autoscaling-scaled-object")
    assert plain(scaled.inputs["metadata"]) == {
        "name": "eks-neuron-test", "namespace": "inference",
        "labels": {"app.kubernetes.io/name": "tensorflow-serving", "app.kubernetes.io/managed-by": "pulumi"}}
    assert plain(scaled.inputs["spec"]) == {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "eks-neuron-test"},
        "pollingInterval": 30,
        "minReplicaCount": 1,
        "maxReplicaCount": 4,
        "fallback": {"failureThreshold": 3, "replicas": 1, "behavior": "currentReplicas"},
        "advanced": {"horizontalPodAutoscalerConfig": {"behavior": {
            "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                        "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}]},
            "scaleDown": {"stabilizationWindowSeconds": 1500, "selectPolicy": "Max",
                          "policies": [{"type": "Pods", "value": 1, "periodSeconds": 300}]}}}},
        "triggers": [{
            "type": "prometheus",
            "metricType": "AverageValue",
            "metadata": {
                # KEDA GETs <serverAddress>/api/v1/query, signed for `aps` in awsRegion.
                "serverAddress": f"https://aps-workspaces.us-west-2.amazonaws.com/workspaces/{WORKSPACE}",
                "awsRegion": "us-west-2",
                "query": QUERY,
                "threshold": "40",
                "ignoreNullValues": "false",
            },
            "authenticationRef": {"name": "amp-pod-identity"},
        }],
    }
    deployment = autoscaled.one(DEPLOYMENT)
    assert deployment.urn in scaled.dependencies or any(
        urn.endswith("TensorFlowServing$kubernetes:core/v1:Namespace::serving-ns") for urn in scaled.dependencies)
    assert autoscaled.named(TRIGGER_AUTHENTICATION, "autoscaling-trigger-auth").urn in scaled.dependencies


def test_the_range_and_target_come_from_config(run_stack) -> None:
    run = run_stack("dev", autoscaling="true", targetRequestsPerSecond="7.125", minReplicas=2, maxReplicas=3,
                    replicas=3, desiredNodes=3)
    spec = run.named(SCALED_OBJECT, "autoscaling-scaled-object").inputs["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (2, 3)
    assert spec["fallback"]["replicas"] == 2
    assert spec["triggers"][0]["metadata"]["threshold"] == "7.125"


@pytest.mark.parametrize(("target", "text"), [(Fraction(40), "40"), (Fraction(15, 2), "7.5"), (Fraction(1, 1000), "0.001"),
                                              (Fraction(101, 10), "10.1"), (Fraction(57, 8), "7.125")])
def test_the_threshold_is_a_plain_decimal(target: Fraction, text: str) -> None:
    assert threshold(target) == text
    assert Fraction(text) == target


def test_the_server_address_is_the_workspace_endpoint_without_its_trailing_slash() -> None:
    endpoint = f"https://aps-workspaces.us-east-1.amazonaws.com/workspaces/{WORKSPACE}/"
    assert server_address(endpoint) == endpoint[:-1]
    assert server_address(endpoint) + "/api/v1/query" == (
        f"https://aps-workspaces.us-east-1.amazonaws.com/workspaces/{WORKSPACE}/api/v1/query")


def test_the_query_counts_predictions_only_and_parses_as_promql() -> None:
    query = scaling_query("tensorflow-serving", "resnet50_neuron", "inference")
    assert query == QUERY
    names = metric_names(query)
    assert names == {":tensorflow:serving:request_latency_count"} and names <= set(EXPORTED_METRICS)
    # Not request_count: it has no API label and counts the probes' model-status calls.
    assert "request_count" not in query.replace("request_latency_count", "")


# --- servingRuntime vllm: the queue, not the request rate --------------------------------------------------------

VLLM_AUTOSCALED = {"servingRuntime": "vllm", "instanceType": "inf2.8xlarge", "modelCompiledFor": "",
                   "modelBasePath": "s3://your-bucket-of-models/llama-3.1-8b-instruct/", "modelName": "llama-3.1-8b",
                   "memoryRequest": "34Gi", "memoryLimit": "64Gi", "autoscaling": "true", "targetRequestsWaiting": "4"}
VLLM_QUERY = 'sum(vllm:num_requests_waiting{job="vllm",namespace="inference",model_name="llama-3.1-8b"}) or vector(0)'


@pytest.fixture(scope="module")
def vllm_autoscaled(run_stack):
    return run_stack("dev", **VLLM_AUTOSCALED)


def test_under_vllm_the_trigger_asks_vllms_queue_against_target_requests_waiting(vllm_autoscaled) -> None:
    scaled = vllm_autoscaled.named(SCALED_OBJECT, "autoscaling-scaled-object")
    assert plain(scaled.inputs["metadata"])["labels"] == {"app.kubernetes.io/name": "vllm",
                                                          "app.kubernetes.io/managed-by": "pulumi"}
    spec = plain(scaled.inputs["spec"])
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "eks-neuron-test"}
    (trigger,) = spec["triggers"]
    assert trigger["metricType"] == "AverageValue"
    assert trigger["metadata"] == {
        "serverAddress": f"https://aps-workspaces.us-west-2.amazonaws.com/workspaces/{WORKSPACE}",
        "awsRegion": "us-west-2",
        "query": VLLM_QUERY,
        "threshold": "4",
        "ignoreNullValues": "false",
    }
    assert vllm_autoscaled.one(DEPLOYMENT).inputs["metadata"]["name"] == "eks-neuron-test"


def test_the_vllm_query_parses_and_names_only_vllms_queue_metric() -> None:
    query = scaling_query("vllm", "llama-3.1-8b", "inference")
    assert query == VLLM_QUERY
    names = metric_names(query)
    assert names == {"vllm:num_requests_waiting"} and names <= set(EXPORTED_METRICS)


@pytest.mark.parametrize("version", sorted(set(KEDA_CHART_VERSIONS.values())))
def test_the_vllm_scaled_object_passes_kedas_crd_schema(vllm_autoscaled, version: str) -> None:
    (manifest,) = [m for m in kubernetes_manifests(vllm_autoscaled) if m["kind"] == "ScaledObject"]
    _validate(manifest, version)


def test_pulumi_up_leaves_the_vllm_replica_count_to_the_hpa_and_waits_for_max_replicas(run_stack,
                                                                                      vllm_autoscaled) -> None:
    deployment = vllm_autoscaled.one(DEPLOYMENT)
    assert deployment.ignore_changes == ["spec.replicas"]
    assert deployment.inputs["spec"]["replicas"] == 2  # the initial size, on create only
    # Without artifacts one wave is 106 minutes (image, copy, compile and load, margin); a pod a wave: 2 replicas
    # take 2 waves, 4 (maxReplicas) take 4.
    fixed = run_stack("dev", **{**VLLM_AUTOSCALED, "autoscaling": "false", "targetRequestsWaiting": None})
    assert fixed.one(DEPLOYMENT).ignore_changes == []
    assert fixed.one(DEPLOYMENT).custom_timeouts == {"create": "106m", "update": "212m"}
    assert deployment.custom_timeouts == {"create": "106m", "update": "424m"}


def test_scale_down_waits_what_bringing_a_removed_pod_back_costs() -> None:
    assert SCALE_DOWN_STABILIZATION_SECONDS == (IMAGE_PULL_ALLOWANCE_SECONDS + MODEL_COPY_ALLOWANCE_SECONDS
                                                + STARTUP_BUDGET_SECONDS) == 1500
    assert SCALE_DOWN_STABILIZATION_SECONDS <= 3600  # the HPA's maximum stabilizationWindowSeconds


def test_parliament_finds_nothing_in_the_query_policy() -> None:
    from tools.checkers import run_parliament
    policy = query_metrics_policy(f"arn:aws:aps:us-west-2:123456789012:workspace/{WORKSPACE}")
    assert run_parliament(policy) == []
    wrong = json.loads(policy)
    wrong["Statement"][0]["Action"] = "aps:QueryMetric"
    assert "UNKNOWN_ACTION" in [f["issue"] for f in run_parliament(json.dumps(wrong))]


# --- the custom resources against KEDA's CRD schemas (tests/data/keda-crds.json, from the pinned charts) ---------

def _strict(schema: Any) -> Any:
    """The CRD schema as the API server prunes it, as errors: an object with `properties` and no
    `additionalProperties` or `x-kubernetes-preserve-unknown-fields` admits no other field."""
    if isinstance(schema, dict):
        strict = {key: _strict(value) for key, value in schema.items()}
        if ("properties" in schema and "additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")):
            strict["additionalProperties"] = False
        return strict
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


def _validate(manifest: dict[str, Any], version: str) -> None:
    schema = _strict(CRDS["charts"][version][manifest["kind"]])
    jsonschema.Draft7Validator(schema).validate(manifest)


@pytest.fixture(scope="module")
def custom_resources(autoscaled) -> list[dict[str, Any]]:
    found = [m for m in kubernetes_manifests(autoscaled) if m["kind"] in ("ScaledObject", "TriggerAuthentication")]
    assert sorted(m["kind"] for m in found) == ["ScaledObject", "TriggerAuthentication"]
    return found


@pytest.mark.parametrize("version", sorted(set(KEDA_CHART_VERSIONS.values())))
def test_the_custom_resources_pass_kedas_crd_schema_of_each_pinned_chart(custom_resources, version: str) -> None:
    for manifest in custom_resources:
        _validate(manifest, version)


@pytest.mark.parametrize(("kind", "edit"), [
    ("ScaledObject", lambda m: m["spec"].update(pollingIntervall=30)),
    ("ScaledObject", lambda m: m["spec"]["fallback"].update(behavior="keepCurrent")),
    ("ScaledObject", lambda m: m["spec"]["triggers"][0]["metadata"].update(threshold=40)),
    ("ScaledObject", lambda m: m["spec"]["triggers"][0].pop("type")),
    ("TriggerAuthentication", lambda m: m["spec"]["podIdentity"].update(provider="aws-pod-identity")),
    ("TriggerAuthentication", lambda m: m["spec"]["podIdentity"].update(identityOwner="operator")),
], ids=["unknown-field", "fallback-behavior", "threshold-not-string", "trigger-without-type", "provider",
        "identity-owner"])
def test_the_crd_schema_check_would_catch_a_wrong_field(custom_resources, kind: str, edit) -> None:
    manifest = copy.deepcopy(next(m for m in custom_resources if m["kind"] == kind))
    edit(manifest)
    with pytest.raises(jsonschema.ValidationError):
        _validate(manifest, "2.20.2")


# --- the serving Deployment under autoscaling -----------------------------------------------------------------

def test_pulumi_up_leaves_the_replica_count_to_the_hpa(autoscaled) -> None:
    deployment = autoscaled.one(DEPLOYMENT)
    assert deployment.ignore_changes == ["spec.replicas"]
    assert deployment.inputs["spec"]["replicas"] == 2  # the initial size, on create only


def test_the_update_timeout_covers_a_rollout_at_max_replicas(run_stack, autoscaled) -> None:
    # One wave: image pull 600 + one version's copy 300 + startup budget 600 + margin 60 s = 26 minutes. The
    # walkthrough's sizes replace pods one at a time: 2 replicas take 2 waves, 4 (maxReplicas) take 4.
    assert run_stack("dev").one(DEPLOYMENT).custom_timeouts == {"create": "26m", "update": "52m"}
    assert autoscaled.one(DEPLOYMENT).custom_timeouts == {"create": "26m", "update": "104m"}


def test_the_rollout_strategy_is_judged_at_max_replicas(run_stack) -> None:
    # 2 x inf1.6xlarge hold 8 single-device pods: room to surge beside 7, not beside 8.
    base = {"instanceType": "inf1.6xlarge", "modelCompiledFor": "neuron", **AUTOSCALED}
    for most, strategy in ((7, {"maxSurge": 1, "maxUnavailable": 0}), (8, {"maxSurge": 0, "maxUnavailable": 1})):
        deployment = run_stack("dev", maxReplicas=most, **base).one(DEPLOYMENT)
        assert deployment.inputs["spec"]["strategy"]["rollingUpdate"] == strategy


def test_scale_down_waits_what_bringing_a_pod_back_costs_per_runtime() -> None:
    from components.autoscaling import HPA_MAX_STABILIZATION_SECONDS, scale_down_window
    from components.vllm_serving import startup_budget_seconds

    assert scale_down_window() == scale_down_window("tensorflow-serving", compiles=True) == 1500
    # vLLM with compiled artifacts: image pull 600 + copy 300 + its own startup budget.
    assert scale_down_window("vllm") == 600 + 300 + startup_budget_seconds(False) == 1800
    # Compiling at start would take longer than the HPA allows a window to be: the most it allows.
    assert 600 + 300 + startup_budget_seconds(True) > HPA_MAX_STABILIZATION_SECONDS == 3600
    assert scale_down_window("vllm", compiles=True) == 3600


def test_the_vllm_scaled_object_waits_for_a_vllm_pod_to_come_back(vllm_autoscaled, run_stack) -> None:
    from components.autoscaling import scale_down_window

    def window(run) -> int:
        spec = plain(run.named(SCALED_OBJECT, "autoscaling-scaled-object").inputs["spec"])
        return spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"]

    compiles = "compiledArtifactsPath" not in VLLM_AUTOSCALED
    assert window(vllm_autoscaled) == scale_down_window("vllm", compiles=compiles) == 3600  # no artifacts: capped
    assert window(run_stack(autoscaling="true", targetRequestsPerSecond="40")) == 1500


# --- the component itself: what it owns, exactly, and what it registers -----------------------------------------

TAGS = {"project": "eks-inferentia", "cluster": "inferentia-dev"}
WORKSPACE_ARN = f"arn:aws:aps:us-west-2:123456789012:workspace/{WORKSPACE}"


def test_the_component_owns_its_resources_exactly_and_registers_the_role_and_the_scaled_objects_name(autoscaled) -> None:
    from components.model_access import pod_identity_trust_policy

    component = autoscaled.one("eks-inferentia:index:ServingAutoscaler")
    owned = {(r.type.rsplit(":", 1)[1], r.name): r for r in autoscaled.resources if r.parent == component.urn}
    assert sorted(owned) == [("Chart", "autoscaling-keda"), ("Namespace", "autoscaling-keda-ns"),
                             ("PodIdentityAssociation", "autoscaling-keda-pod-identity"), ("Policy", "autoscaling-query-metrics"),
                             ("Role", "autoscaling-keda-role"), ("RolePolicyAttachment", "autoscaling-query-metrics"),
                             ("ScaledObject", "autoscaling-scaled-object"), ("TriggerAuthentication", "autoscaling-trigger-auth")]
    role, policy = owned["Role", "autoscaling-keda-role"], owned["Policy", "autoscaling-query-metrics"]
    attachment = owned["RolePolicyAttachment", "autoscaling-query-metrics"]
    association = owned["PodIdentityAssociation", "autoscaling-keda-pod-identity"]
    namespace, chart = owned["Namespace", "autoscaling-keda-ns"], owned["Chart", "autoscaling-keda"]
    auth, scaled = owned["TriggerAuthentication", "autoscaling-trigger-auth"], owned["ScaledObject", "autoscaling-scaled-object"]
    # The Kubernetes objects go to the cluster's provider (not the ambient kubeconfig); the AWS ones to the default.
    cluster_provider = autoscaled.one("pulumi:providers:kubernetes").urn
    assert all(r.provider.startswith(cluster_provider) for r in (namespace, chart, auth, scaled))
    assert role.inputs == {
        "description": "Queries the serving metrics for KEDA (keda/keda-operator) of EKS cluster inferentia-dev "
                       "(EKS Pod Identity)",
        "assumeRolePolicy": pod_identity_trust_policy("arn:aws:eks:us-west-2:123456789012:cluster/inferentia-dev",
                                                      "keda", "keda-operator", sid="EksPodIdentityForTheKedaOperator"),
        "tags": TAGS}
    document = {"Version": "2012-10-17", "Statement": [{
        "Sid": "QueryServingMetrics", "Effect": "Allow", "Action": "aps:QueryMetrics", "Resource": WORKSPACE_ARN}]}
    assert query_metrics_policy(WORKSPACE_ARN) == json.dumps(document, indent=2)  # readable in a diff
    assert policy.inputs == {
        "description": "Query the serving metrics in the stack's Amazon Managed Prometheus workspace",
        "policy": json.dumps(document, indent=2), "tags": TAGS}
    assert attachment.inputs == {"role": role.outputs["name"], "policyArn": policy.outputs["arn"]}
    assert association.inputs == {"clusterName": "inferentia-dev", "namespace": "keda", "serviceAccount": "keda-operator",
                                  "roleArn": role.outputs["arn"], "tags": TAGS}
    assert namespace.inputs == {"apiVersion": "v1", "kind": "Namespace",
                                "metadata": {"name": "keda", "labels": {"app.kubernetes.io/managed-by": "pulumi"}}}
    # The order of creation: the policy on the role, then the association, then KEDA's pods (on the Neuron nodes
    # here, the stack's only nodes), then the custom resources the chart's CRDs and webhook admit.
    assert attachment.urn in association.dependencies
    assert {association.urn, namespace.urn, autoscaled.named("aws:eks/nodeGroup:NodeGroup", "neuron-nodes-ng").urn
            } <= set(chart.dependencies)
    assert chart.urn in auth.dependencies and {chart.urn, auth.urn} <= set(scaled.dependencies)
    assert all(not r.custom_timeouts and not r.ignore_changes for r in owned.values())
    assert autoscaled.registered_outputs[component.urn] == {"role_arn": role.outputs["arn"],
                                                            "scaled_object_name": "eks-neuron-test"}


def test_the_callers_parent_and_dependencies_reach_the_autoscaler_and_only_the_association_holds_back_keda() -> None:
    import pulumi_kubernetes as k8s

    from components.autoscaling import ServingAutoscaler, ServingAutoscalerArgs
    from tests.components.options import declared_with_options

    declared = declared_with_options(lambda opts: ServingAutoscaler("scaler", ServingAutoscalerArgs(
        cluster_name="inferentia-prod", cluster_arn="arn:aws:eks:us-east-1:123456789012:cluster/inferentia-prod",
        region="us-east-1", workspace_arn=WORKSPACE_ARN,
        prometheus_endpoint=f"https://aps-workspaces.us-east-1.amazonaws.com/workspaces/{WORKSPACE}/",
        namespace="models", deployment_name="resnet", model_name="resnet50_neuron", min_replicas=3, max_replicas=9,
        target=Fraction(25, 2), chart_version="2.19.0", provider=k8s.Provider("k8s")), opts=opts))
    run = declared.run
    component = declared.component("eks-inferentia:index:ServingAutoscaler")
    assert component.parent == declared.owner.urn
    assert component.dependencies == [declared.before.urn]
    # Without system nodes or other pods_depend_on: the chart waits for its namespace and the association only.
    chart = run.one(CHART)
    assert sorted(chart.dependencies) == sorted([run.one(ASSOCIATION).urn, run.one("kubernetes:core/v1:Namespace").urn])
    assert plain(chart.inputs["values"]) == keda_values(False)
    assert chart.provider.startswith(run.one("pulumi:providers:kubernetes").urn)
    spec = plain(run.one(SCALED_OBJECT).inputs["spec"])
    assert spec["scaleTargetRef"]["name"] == "resnet"
    assert (spec["minReplicaCount"], spec["maxReplicaCount"], spec["fallback"]["replicas"]) == (3, 9, 3)
    assert spec["triggers"][0]["metadata"] == {
        "serverAddress": f"https://aps-workspaces.us-east-1.amazonaws.com/workspaces/{WORKSPACE}", "awsRegion": "us-east-1",
        "query": scaling_query("tensorflow-serving", "resnet50_neuron", "models"), "threshold": "12.5",
        "ignoreNullValues": "false"}
    assert spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 1500
    role = run.one("aws:iam/role:Role")
    assert role.inputs["tags"] == {}
    assert run.registered_outputs[component.urn] == {"role_arn": role.outputs["arn"], "scaled_object_name": "resnet"}


def test_keda_values_are_the_charts_defaults_with_the_operators_account_and_on_system_nodes_a_selector() -> None:
    base = {"crds": {"install": True}, "serviceAccount": {"operator": {"create": True, "name": "keda-operator"}}}
    assert keda_values(False) == base
    assert keda_values(True) == {**base, "nodeSelector": {"eks-inferentia/role": "system"}}
    keda_values(True)["nodeSelector"]["eks-inferentia/role"] = "changed"  # a copy: the shared selector stays
    assert keda_values(True)["nodeSelector"] == {"eks-inferentia/role": "system"}


def test_only_the_trailing_slash_leaves_the_server_address() -> None:
    assert server_address("https://prometheus.example.com/workspaces/X/") == "https://prometheus.example.com/workspaces/X"
    assert server_address("https://prometheus.example.com/workspaces/X") == "https://prometheus.example.com/workspaces/X"
