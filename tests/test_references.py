"""Objects that name each other, checked together over every stack and variant (tools/references.py).

Each rendered stack, in a preview and an update, has no dangling reference, no null where a name
belongs, no Service or probe port that names nothing, and no selector that misses its pods. The
checks themselves are shown to catch each kind of mistake, so a check that cannot fail cannot pass.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tools.references import reference_problems
from tools.render import kubernetes_manifests, stack_names

STACKS = stack_names()
# Every switch that adds, removes or rewires Kubernetes objects.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    **{stack: (stack, {}) for stack in STACKS},
    "dev-batching-scheduler-clients": ("dev", {"servingBatching": "true", "neuronScheduler": "enabled",
                                               "allowedClientNamespaces": ["apps"]}),
    "dev-no-smoke-test": ("dev", {"smokeTest": "false"}),
    "dev-system-nodes": ("dev", {"systemNodes": 2}),
    "dev-renamed": ("dev", {"namespace": "ml", "servingName": "rn50", "modelName": "rn50"}),
    "dev-vllm": ("dev", {"servingRuntime": "vllm", "instanceType": "inf2.8xlarge", "modelCompiledFor": "",
                         "modelBasePath": "s3://your-bucket-of-models/llama-3.1-8b-instruct/",
                         "modelName": "llama-3.1-8b", "memoryRequest": "34Gi", "memoryLimit": "64Gi"}),
}


@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_reference_resolves(run_stack, variant: str, preview: bool) -> None:
    stack, overrides = VARIANTS[variant]
    manifests = kubernetes_manifests(run_stack(stack, preview=preview, **overrides))
    assert manifests, "the stack declares Kubernetes objects"
    assert reference_problems(manifests) == []
    # Nothing is left for the cloud to fill in: names are chosen before anything is created.
    assert "<computed>" not in repr(manifests)


@pytest.fixture(scope="module")
def dev_manifests(run_stack) -> list[dict[str, Any]]:
    return kubernetes_manifests(run_stack("dev"))


def _one(manifests: list[dict[str, Any]], kind: str, app: str = "tensorflow-serving") -> dict[str, Any]:
    # The serving pods have two NetworkPolicies: the clients' (ingress) one is the one edited here.
    (found,) = [m for m in manifests if m["kind"] == kind
                and (m["metadata"].get("labels") or {}).get("app.kubernetes.io/name") == app
                and not m["metadata"]["name"].endswith("-egress")]
    return found


def _broken(dev_manifests, kind: str, edit, app: str = "tensorflow-serving") -> list[str]:
    manifests = copy.deepcopy(dev_manifests)
    edit(_one(manifests, kind, app))
    return reference_problems(manifests)


def _pod(manifest: dict[str, Any]) -> dict[str, Any]:
    return manifest["spec"]["template"]["spec"]


def test_a_mounted_config_map_that_does_not_exist_is_caught(dev_manifests) -> None:
    def edit(deployment):
        next(v for v in _pod(deployment)["volumes"] if "configMap" in v)["configMap"]["name"] = "eks-neuron-test-cfg"
    (problem,) = _broken(dev_manifests, "Deployment", edit)
    assert "reads ConfigMap 'eks-neuron-test-cfg', which the stack does not declare" in problem


def test_a_null_config_map_name_is_caught(dev_manifests) -> None:
    def edit(job):
        _pod(job)["volumes"][0]["configMap"]["name"] = None
    problems = _broken(dev_manifests, "Job", edit, app="smoke-test")
    assert any(p.endswith(".spec.template.spec.volumes[0].configMap.name is null") for p in problems)


def test_a_missing_service_account_or_volume_is_caught(dev_manifests) -> None:
    def edit(deployment):
        _pod(deployment)["serviceAccountName"] = "serving"
        _pod(deployment)["volumes"] = [v for v in _pod(deployment)["volumes"] if v["name"] != "scratch"]
    problems = _broken(dev_manifests, "Deployment", edit)
    assert any("serviceAccountName 'serving' is not a ServiceAccount" in p for p in problems)
    assert any("mounts volume 'scratch', which the pod does not have" in p for p in problems)


def test_a_service_port_or_probe_port_that_names_nothing_is_caught(dev_manifests) -> None:
    def edit_service(service):
        service["spec"]["ports"][1]["targetPort"] = "rest"
    (problem,) = _broken(dev_manifests, "Service", edit_service)
    assert "port 'http' targets 'rest', which no container it selects declares" in problem

    def edit_probe(deployment):
        _pod(deployment)["containers"][0]["livenessProbe"]["tcpSocket"]["port"] = "gprc"
    (problem,) = _broken(dev_manifests, "Deployment", edit_probe)
    assert "livenessProbe uses port 'gprc'" in problem


@pytest.mark.parametrize("kind", ["Service", "PodDisruptionBudget", "NetworkPolicy"])
def test_a_selector_that_misses_the_serving_pods_is_caught(dev_manifests, kind: str) -> None:
    def edit(manifest):
        selector = {"Service": lambda: manifest["spec"]["selector"],
                    "PodDisruptionBudget": lambda: manifest["spec"]["selector"]["matchLabels"],
                    "NetworkPolicy": lambda: manifest["spec"]["podSelector"]["matchLabels"]}[kind]()
        selector["app"] = "eks-neuron"
    (problem,) = _broken(dev_manifests, kind, edit)
    assert "selects no pod the stack declares in inference" in problem


def test_a_selector_that_picks_another_apps_pods_is_caught(dev_manifests) -> None:
    def edit(policy):
        policy["spec"]["podSelector"]["matchLabels"] = {"app.kubernetes.io/name": "smoke-test"}
    (problem,) = _broken(dev_manifests, "NetworkPolicy", edit)
    assert "but its app (tensorflow-serving) runs in ['Deployment inference/eks-neuron-test']" in problem


def test_a_workload_in_an_undeclared_namespace_is_caught(dev_manifests) -> None:
    def edit(job):
        job["metadata"]["namespace"] = "inferense"
    problems = _broken(dev_manifests, "Job", edit, app="smoke-test")
    assert any("namespace 'inferense' is not one the stack declares" in p for p in problems)


def test_a_deployment_whose_selector_misses_its_own_pods_is_caught(dev_manifests) -> None:
    def edit(deployment):
        deployment["spec"]["selector"]["matchLabels"] = {"app": "other"}
    problems = _broken(dev_manifests, "Deployment", edit)
    assert any("does not match its own pod template's labels" in p for p in problems)


def test_a_null_pod_selector_of_the_default_deny_policy_is_caught(dev_manifests) -> None:
    manifests = copy.deepcopy(dev_manifests)
    (deny,) = [m for m in manifests if m["kind"] == "NetworkPolicy" and m["metadata"]["name"] == "default-deny-ingress"]
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    deny["spec"]["podSelector"] = None
    assert reference_problems(manifests) == [
        "NetworkPolicy inference/default-deny-ingress: .spec.podSelector is null"]


def test_an_egress_policy_that_misses_the_serving_pods_is_caught(dev_manifests) -> None:
    manifests = copy.deepcopy(dev_manifests)
    (egress,) = [m for m in manifests if m["kind"] == "NetworkPolicy" and m["metadata"]["name"].endswith("-egress")]
    egress["spec"]["podSelector"]["matchLabels"] = {"app": "eks-neuron"}
    (problem,) = reference_problems(manifests)
    assert "selects no pod the stack declares in inference" in problem


# --- autoscaling (issue 11): KEDA's ScaledObject names the Deployment and its TriggerAuthentication ----------

AUTOSCALED = {"autoscaling": "true", "targetRequestsPerSecond": "40"}


@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
@pytest.mark.parametrize("overrides", [{}, {"namespace": "ml", "servingName": "rn50", "systemNodes": 2}],
                         ids=["dev", "renamed-system-nodes"])
def test_the_autoscaled_stacks_references_resolve(run_stack, overrides: dict, preview: bool) -> None:
    manifests = kubernetes_manifests(run_stack("dev", preview=preview, **AUTOSCALED, **overrides))
    assert {m["kind"] for m in manifests} >= {"ScaledObject", "TriggerAuthentication"}
    assert reference_problems(manifests) == []
    (scaled,) = [m for m in manifests if m["kind"] == "ScaledObject"]
    assert scaled["spec"]["scaleTargetRef"]["name"] == overrides.get("servingName", "eks-neuron-test")
    # A preview knows everything but the workspace's address, which AWS assigns.
    metadata = scaled["spec"]["triggers"][0]["metadata"]
    assert ("<computed>" in repr(manifests)) is preview
    assert (metadata["serverAddress"] == "<computed>") is preview


@pytest.fixture(scope="module")
def autoscaled_manifests(run_stack) -> list[dict[str, Any]]:
    return kubernetes_manifests(run_stack("dev", **AUTOSCALED))


def test_a_scale_target_that_names_another_deployment_is_caught(autoscaled_manifests) -> None:
    manifests = copy.deepcopy(autoscaled_manifests)
    (scaled,) = [m for m in manifests if m["kind"] == "ScaledObject"]
    scaled["spec"]["scaleTargetRef"] = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "eks-neuron"}
    assert reference_problems(manifests) == [
        "ScaledObject inference/eks-neuron-test: scaleTargetRef {'apiVersion': 'apps/v1', 'kind': 'Deployment', "
        "'name': 'eks-neuron'} is not an object the stack declares"]


def test_a_trigger_authentication_that_does_not_exist_is_caught(autoscaled_manifests) -> None:
    manifests = copy.deepcopy(autoscaled_manifests)
    (scaled,) = [m for m in manifests if m["kind"] == "ScaledObject"]
    scaled["spec"]["triggers"][0]["authenticationRef"] = {"name": "amp"}
    assert reference_problems(manifests) == [
        "ScaledObject inference/eks-neuron-test: trigger 0 (prometheus) authenticationRef {'name': 'amp'} is not a "
        "TriggerAuthentication the stack declares in inference"]
    scaled["spec"]["triggers"][0]["authenticationRef"] = {"name": "amp-pod-identity", "kind": "ClusterTriggerAuthentication"}
    assert reference_problems(manifests) == [
        "ScaledObject inference/eks-neuron-test: trigger 0 (prometheus) authenticationRef {'name': 'amp-pod-identity', "
        "'kind': 'ClusterTriggerAuthentication'} is not a ClusterTriggerAuthentication the stack declares"]
