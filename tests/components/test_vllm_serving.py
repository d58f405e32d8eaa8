"""VllmServing: a large language model behind vLLM's OpenAI-compatible server (servingRuntime `vllm`)."""

from __future__ import annotations

import hashlib

import pytest
import yaml

from components.serving import CHECKOV_SKIPS, DIGEST_SKIP
from components.vllm_serving import COPY_SCRIPT, await_timeouts, config_files, startup_budget_seconds
from eks_inferentia.images import VLLM_IMAGE

MODEL = "s3://your-bucket-of-models/llama-3.1-8b-instruct/"
ARTIFACTS = MODEL + "neuron-artifacts/inf2.8xlarge-tp2/"
# The dev stack (2 x inf2.8xlarge, a pod on each) serving Llama 3.1 8B Instruct; modelCompiledFor is dev's,
# for TensorFlow Serving, so it goes back to its default.
VLLM = {"servingRuntime": "vllm", "instanceType": "inf2.8xlarge", "modelBasePath": MODEL, "modelName": "llama-3.1-8b",
        "modelCompiledFor": "", "modelSizeGiB": "16", "cpuRequest": "8", "cpuLimit": "16", "memoryRequest": "34Gi",
        "memoryLimit": "64Gi", "modelVolumeSize": "40Gi", "latencyObjectiveMs": "2000"}
WITH_ARTIFACTS = {**VLLM, "compiledArtifactsPath": ARTIFACTS}


def _pod(run) -> dict:
    return run.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]


def test_the_server_is_vllm_serve_on_8000_with_the_configured_limits(run_stack) -> None:
    pod = _pod(run_stack(**VLLM))
    (server,) = pod["containers"]
    assert server["name"] == "vllm" and server["image"] == VLLM_IMAGE
    assert server["command"] == ["vllm", "serve"]
    assert server["args"] == ["/models/model", "--served-model-name=llama-3.1-8b", "--port=8000",
                              "--tensor-parallel-size=2", "--max-model-len=4096", "--max-num-seqs=8",
                              "--no-enable-prefix-caching", "--num-gpu-blocks-override=8"]
    assert server["ports"] == [{"name": "http", "containerPort": 8000}]
    assert server["env"] == [{"name": "NEURON_COMPILED_ARTIFACTS", "value": "/models/compiled"},
                             {"name": "VLLM_NEURON_FRAMEWORK", "value": "neuronx-distributed-inference"},
                             {"name": "HF_HUB_OFFLINE", "value": "1"}, {"name": "HOME", "value": "/tmp"},
                             {"name": "TMPDIR", "value": "/tmp"}, {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}]
    assert server["resources"] == {
        "requests": {"cpu": "8", "memory": "34Gi", "aws.amazon.com/neuron": "1"},
        "limits": {"cpu": "16", "memory": "64Gi", "aws.amazon.com/neuron": "1"}}
    overrides = {**VLLM, "tensorParallelSize": "1", "maxModelLength": "8192", "maxConcurrentSequences": "4"}
    assert _pod(run_stack(**overrides))["containers"][0]["args"][3:] == [
        "--tensor-parallel-size=1", "--max-model-len=8192", "--max-num-seqs=4", "--no-enable-prefix-caching",
        "--num-gpu-blocks-override=4"]


def test_probes_wait_for_a_compile_unless_artifacts_are_given(run_stack) -> None:
    (server,) = _pod(run_stack(**VLLM))["containers"]
    health = {"path": "/health", "port": "http"}
    assert server["startupProbe"] == {"httpGet": health, "periodSeconds": 10, "failureThreshold": 450}  # 75 minutes
    assert server["readinessProbe"] == {"httpGet": {"path": "/v1/models", "port": "http"}, "periodSeconds": 10,
                                        "timeoutSeconds": 5, "failureThreshold": 3}
    assert server["livenessProbe"] == {"httpGet": health, "periodSeconds": 20, "timeoutSeconds": 5, "failureThreshold": 3}
    (server,) = _pod(run_stack(**WITH_ARTIFACTS))["containers"]
    assert server["startupProbe"]["failureThreshold"] == 90  # 15 minutes: loading only
    assert (startup_budget_seconds(True), startup_budget_seconds(False)) == (4500, 900)


def test_pulumi_up_waits_for_image_copy_startup_and_a_compile_per_wave(run_stack) -> None:
    # dev: 2 replicas on 2 single-device nodes, no room to surge, so an update replaces them one by one.
    assert run_stack(**VLLM).one("kubernetes:apps/v1:Deployment").custom_timeouts == {"create": "106m", "update": "212m"}
    assert run_stack(**WITH_ARTIFACTS).one("kubernetes:apps/v1:Deployment").custom_timeouts == {
        "create": "46m", "update": "92m"}
    timeouts = await_timeouts(3, (1, 0), compiles=False)
    assert (timeouts.create, timeouts.update) == ("46m", "138m")


def test_the_model_and_artifacts_are_copied_once_from_s3_by_the_pods_own_identity(run_stack) -> None:
    pod = _pod(run_stack(**WITH_ARTIFACTS))
    (copier,) = pod["initContainers"]
    assert copier == {
        "name": "fetch-model", "image": VLLM_IMAGE, "imagePullPolicy": "Always",
        "command": ["python3", "/etc/model-copy/model_copy.py", "--source", MODEL, "--dest", "/models/model",
                    "--artifacts-dest", "/models/compiled", "--artifacts", ARTIFACTS, "--credentials", "pod-identity"],
        "env": [{"name": "AWS_REGION", "value": "us-west-2"}, {"name": "AWS_DEFAULT_REGION", "value": "us-west-2"},
                {"name": "AWS_EC2_METADATA_DISABLED", "value": "true"}, {"name": "HOME", "value": "/tmp"},
                {"name": "TMPDIR", "value": "/tmp"}, {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}],
        "volumeMounts": [{"name": "model", "mountPath": "/models"}, {"name": "scratch", "mountPath": "/tmp"},
                         {"name": "config", "mountPath": "/etc/model-copy", "readOnly": True}],
        "securityContext": {"allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
                            "runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
        "resources": {"requests": {"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "40Gi"},
                      "limits": {"cpu": "2", "memory": "1Gi"}}}
    (without,) = _pod(run_stack(**VLLM))["initContainers"]
    assert "--artifacts" not in without["command"] and without["command"][-4:] == [
        "--artifacts-dest", "/models/compiled", "--credentials", "pod-identity"]
    (node_role,) = _pod(run_stack(**VLLM, modelAccess="node-role"))["initContainers"]
    assert node_role["command"][-1] == "node-role"
    assert "AWS_EC2_METADATA_DISABLED" not in {e["name"] for e in node_role["env"]}


def test_the_copier_scripts_come_from_a_configmap_whose_checksum_rolls_the_pods(run_stack) -> None:
    run = run_stack(**VLLM)
    (config_map,) = [c for c in run.of_type("kubernetes:core/v1:ConfigMap") if "model_copy.py" in c.inputs["data"]]
    assert config_map.inputs["data"] == config_files()
    assert list(config_files()) == ["model_copy.py", "model_sync.py"]
    assert config_files()["model_copy.py"] == COPY_SCRIPT.read_text()
    annotations = run.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {
        "prometheus.io/scrape": "true", "prometheus.io/port": "8000", "prometheus.io/path": "/metrics",
        "eks-inferentia/config-checksum": hashlib.sha256(repr(sorted(config_files().items())).encode()).hexdigest()[:16]}


def test_volumes_the_server_reads_and_writes_and_its_hardening(run_stack) -> None:
    pod = _pod(run_stack(**VLLM))
    assert pod["volumes"][:4] == [
        {"name": "model", "emptyDir": {"sizeLimit": "40Gi"}},
        {"name": "scratch", "emptyDir": {}},
        {"name": "compiler-cache", "emptyDir": {}},
        {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}}]
    (server,) = pod["containers"]
    assert server["volumeMounts"] == [
        {"name": "model", "mountPath": "/models/model", "subPath": "model", "readOnly": True},
        {"name": "model", "mountPath": "/models/compiled", "subPath": "compiled"},
        {"name": "scratch", "mountPath": "/tmp"},
        {"name": "compiler-cache", "mountPath": "/var/tmp"},
        {"name": "shm", "mountPath": "/dev/shm"}]
    assert server["securityContext"] == {
        "allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"], "add": ["IPC_LOCK"]}, "seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["automountServiceAccountToken"] is False and pod["serviceAccountName"] == "eks-neuron-test"
    annotations = run_stack(**VLLM).one("kubernetes:apps/v1:Deployment").inputs["metadata"]["annotations"]
    assert annotations.pop("pulumi.com/patchForce") == "true"  # the program alone owns it (no autoscaling)
    assert set(annotations.values()) == {f"{k}={v}" for k, v in {**CHECKOV_SKIPS, **DIGEST_SKIP}.items()}


def test_service_policies_and_outputs_are_the_openai_servers(run_stack) -> None:
    run = run_stack(**VLLM)
    service = run.one("kubernetes:core/v1:Service")
    assert service.inputs["spec"]["ports"] == [
        {"name": "http", "port": 8000, "targetPort": "http", "appProtocol": "http"}]
    clients = run.named("kubernetes:networking.k8s.io/v1:NetworkPolicy", "serving-clients")
    assert [port for rule in clients.inputs["spec"]["ingress"] for port in rule["ports"]] == [
        {"port": 8000, "protocol": "TCP"}, {"port": 8000, "protocol": "TCP"}]  # the clients, then the collector
    assert {k: run.outputs[k] for k in ("servingRuntime", "openaiEndpoint", "restEndpoint", "grpcEndpoint",
                                        "servingServiceName", "modelName")} == {
        "servingRuntime": "vllm",
        "openaiEndpoint": "http://eks-neuron-test.inference.svc.cluster.local:8000/v1",
        "restEndpoint": "http://eks-neuron-test.inference.svc.cluster.local:8000",
        "grpcEndpoint": "", "servingServiceName": "eks-neuron-test", "modelName": "llama-3.1-8b"}
    default = run_stack()
    assert (default.outputs["servingRuntime"], default.outputs["openaiEndpoint"]) == ("tensorflow-serving", "")


def test_the_smoke_test_lists_the_model_and_asks_a_completion(run_stack) -> None:
    run = run_stack(**VLLM)
    job = run.one("kubernetes:batch/v1:Job")
    (container,) = job.inputs["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "/smoke/openai_smoke_check.py",
                                    "http://eks-neuron-test.inference.svc.cluster.local:8000", "llama-3.1-8b"]
    (scripts,) = [c for c in run.of_type("kubernetes:core/v1:ConfigMap") if "smoke_check.py" in c.inputs["data"]]
    assert sorted(scripts.inputs["data"]) == ["openai_smoke_check.py", "smoke_check.py"]
    assert job.inputs["spec"]["template"]["metadata"]["annotations"]["eks-inferentia/serving-image"] == VLLM_IMAGE


def test_monitoring_scrapes_the_vllm_pods_and_alerts_on_their_queue(run_stack) -> None:
    run = run_stack(**VLLM)
    config = yaml.safe_load(run.one("aws:amp/scraper:Scraper").inputs["scrapeConfiguration"])
    assert [job["job_name"] for job in config["scrape_configs"]] == ["vllm", "neuron-monitor"]
    rules = yaml.safe_load(run.one("aws:amp/ruleGroupNamespace:RuleGroupNamespace").inputs["data"])
    alerts = {r["alert"]: r["expr"] for r in rules["groups"][1]["rules"]}
    assert alerts["TimeToFirstTokenP99High"] == "model:vllm_time_to_first_token_seconds:p99_5m > 2.0"
    assert alerts["RequestsWaitingHigh"] == 'max by (model_name) (vllm:num_requests_waiting{job="vllm"}) > 8'


@pytest.mark.parametrize("runtime", ["tensorflow-serving", "vllm"])
def test_each_runtime_aliases_the_other_so_a_switch_updates_the_same_objects(run_stack, runtime: str) -> None:
    run = run_stack(**VLLM) if runtime == "vllm" else run_stack()
    (component,) = [r for r in run.resources if r.type in ("eks-inferentia:index:VllmServing",
                                                           "eks-inferentia:index:TensorFlowServing")]
    other = "TensorFlowServing" if runtime == "vllm" else "VllmServing"
    assert component.name == "serving"
    assert component.aliases == [f"eks-inferentia:index:{other}"]


SERVING_LABELS = {"app": "eks-neuron-test", "app.kubernetes.io/instance": "eks-neuron-test",
                  "app.kubernetes.io/name": "vllm", "app.kubernetes.io/managed-by": "pulumi"}


def test_the_pod_spec_service_and_registered_outputs_exactly(run_stack) -> None:
    run = run_stack(**VLLM)
    component = run.one("eks-inferentia:index:VllmServing")
    owned = sorted(r.name for r in run.resources if r.parent == component.urn)
    assert owned == ["serving-clients", "serving-config", "serving-default-deny-ingress", "serving-deployment",
                     "serving-egress", "serving-ns", "serving-pdb", "serving-sa", "serving-service"]
    provider = run.one("pulumi:providers:kubernetes").urn
    assert all(r.provider.startswith(provider) for r in run.resources if r.parent == component.urn)
    pod = {k: v for k, v in _pod(run).items() if k not in ("containers", "initContainers")}
    spread = [{"maxSkew": 1, "labelSelector": {"matchLabels": {"app": "eks-neuron-test"}},
               "whenUnsatisfiable": "ScheduleAnyway", "topologyKey": key}
              for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")]
    config_map = run.named("kubernetes:core/v1:ConfigMap", "serving-config")
    assert pod == {
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "serviceAccountName": "eks-neuron-test",
        "automountServiceAccountToken": False,
        "tolerations": [{"key": "aws.amazon.com/neuron", "operator": "Exists", "effect": "NoSchedule"}],
        "topologySpreadConstraints": spread,
        "volumes": [{"name": "model", "emptyDir": {"sizeLimit": "40Gi"}}, {"name": "scratch", "emptyDir": {}},
                    {"name": "compiler-cache", "emptyDir": {}},
                    {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}},
                    {"name": "config", "configMap": {"name": config_map.outputs["metadata"]["name"]}}]}
    assert config_map.inputs["metadata"] == {"name": "eks-neuron-test-config", "namespace": "inference",
                                             "labels": SERVING_LABELS}
    deployment = run.one("kubernetes:apps/v1:Deployment")
    assert {k: v for k, v in deployment.inputs["spec"].items() if k != "template"} == {
        "replicas": 2, "selector": {"matchLabels": {"app": "eks-neuron-test"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}}
    assert deployment.ignore_changes == []
    # The pods are created after their scripts, their account and the Pod Identity association.
    waits_for = {r.name for r in run.resources if r.urn in deployment.dependencies}
    assert {"serving-config", "serving-sa", "model-pod-identity", "neuron-nodes-ng"} <= waits_for
    assert run.one("kubernetes:core/v1:Service").inputs == {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "eks-neuron-test", "namespace": "inference", "labels": SERVING_LABELS},
        "spec": {"type": "ClusterIP", "selector": {"app": "eks-neuron-test"},
                 "ports": [{"name": "http", "port": 8000, "targetPort": "http", "appProtocol": "http"}]}}
    base = "http://eks-neuron-test.inference.svc.cluster.local:8000"
    assert run.registered_outputs[component.urn] == {
        "namespace": "inference", "service_name": "eks-neuron-test", "deployment_name": "eks-neuron-test",
        "grpc_endpoint": "", "rest_endpoint": base, "openai_endpoint": base + "/v1"}


def test_under_autoscaling_keda_owns_the_replicas_and_pulumi_waits_for_the_most_pods(run_stack) -> None:
    run = run_stack(**VLLM, autoscaling="true", targetRequestsWaiting="8", maxReplicas="4")
    deployment = run.one("kubernetes:apps/v1:Deployment")
    assert deployment.ignore_changes == ["spec.replicas"]
    assert "pulumi.com/patchForce" not in deployment.inputs["metadata"]["annotations"]
    # Up to 4 pods, one at a time on full nodes: 4 waves of 106 minutes (a compile each).
    assert deployment.custom_timeouts == {"create": "106m", "update": "424m"}


@pytest.mark.parametrize("runtime", ["tensorflow-serving", "vllm"])
def test_the_program_reads_each_runtimes_own_names_image_and_settings(run_stack, runtime: str) -> None:
    # declare_serving hands on what the rest of the program reads (outputs, smoke test, autoscaler) and
    # passes the stack's settings to whichever component serves.
    base = VLLM if runtime == "vllm" else {}
    image = "123456789012.dkr.ecr.us-west-2.amazonaws.com/serving@sha256:" + "0" * 64
    run = run_stack(**base, servingImage=image, neuronScheduler="enabled", allowedClientNamespaces=["apps"],
                    autoscaling="true", maxReplicas="2",
                    **({"targetRequestsWaiting": "8"} if runtime == "vllm" else {"targetRequestsPerSecond": "40"}))
    deployment = run.one("kubernetes:apps/v1:Deployment")
    pod = deployment.inputs["spec"]["template"]["spec"]
    assert {c["image"] for c in pod["containers"]} == {image} and pod["schedulerName"] == "my-scheduler"
    assert _job_annotation(run, "eks-inferentia/serving-image") == image
    assert (run.outputs["servingNamespace"], run.outputs["servingServiceName"]) == ("inference", "eks-neuron-test")
    target = run.one("kubernetes:keda.sh/v1alpha1:ScaledObject").inputs
    assert (target["metadata"]["namespace"], target["spec"]["scaleTargetRef"]["name"]) == (
        "inference", deployment.outputs["metadata"]["name"])
    rules = run.named("kubernetes:networking.k8s.io/v1:NetworkPolicy", "serving-clients").inputs["spec"]["ingress"]
    clients, collector = rules
    # Its own namespace (the smoke test) and the configured ones.
    assert clients["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"] == ["inference", "apps"]
    cidrs = sorted(s.inputs["cidrBlock"] for s in run.of_type("aws:ec2/subnet:Subnet") if "scraper" in s.name)
    assert sorted(peer["ipBlock"]["cidr"] for peer in collector["from"]) == cidrs
    # The component, and so every pod, comes after the model's Pod Identity association and the Neuron nodes.
    component = run.one(f"eks-inferentia:index:{'VllmServing' if runtime == 'vllm' else 'TensorFlowServing'}")
    waits_for = {r.name for r in run.resources if r.urn in component.dependencies}
    assert {"model-pod-identity", "neuron-nodes-ng", "neuron-device-plugin-chart"} <= waits_for
    # A component's depends_on does not reach its children: the Deployment waits for them itself.
    pods_wait_for = {r.name for r in run.resources if r.urn in deployment.dependencies}
    assert {"model-pod-identity", "neuron-nodes-ng", "neuron-device-plugin-chart"} <= pods_wait_for


def _job_annotation(run, key: str) -> str:
    return run.one("kubernetes:batch/v1:Job").inputs["spec"]["template"]["metadata"]["annotations"][key]


def test_the_server_is_pulled_each_start_and_the_disruption_budget_and_policies_select_its_pods(run_stack) -> None:
    run = run_stack(**VLLM)
    (server,) = _pod(run)["containers"]
    assert server["imagePullPolicy"] == "Always"
    selector = {"matchLabels": {"app": "eks-neuron-test"}}
    assert run.one("kubernetes:policy/v1:PodDisruptionBudget").inputs["spec"] == {"maxUnavailable": 1, "selector": selector}
    policies = {p.name: p.inputs["spec"] for p in run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
                if p.name.startswith("serving-")}
    assert policies["serving-clients"]["podSelector"] == selector
    assert policies["serving-egress"]["podSelector"] == selector
    assert policies["serving-default-deny-ingress"]["podSelector"] == {}
