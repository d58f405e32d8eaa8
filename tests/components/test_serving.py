"""TensorFlowServing: the walkthrough's Deployment and Service, with its bugs fixed."""

from __future__ import annotations

import hashlib

import pytest

from components.serving import (
    CHECKOV_SKIPS,
    DIGEST_SKIP,
    METRICS_PATH,
    SYNC_SCRIPT,
    await_timeouts,
    config_files,
    rollout_waves,
)
from eks_inferentia.images import INF1_IMAGE, NEURONX_IMAGE, default_serving_image
from eks_inferentia.instance_types import NeuronFamily


def _serving_config(run) -> dict:
    (config_map,) = [c for c in run.of_type("kubernetes:core/v1:ConfigMap") if "monitoring.config" in c.inputs["data"]]
    return config_map.inputs["data"]


def _pod(run) -> dict:
    return run.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]


def test_server_listens_on_8500_grpc_and_9000_rest_serving_the_configured_model(run_stack) -> None:
    (server,) = _pod(run_stack())["containers"]
    assert server["command"] == ["/usr/local/bin/tensorflow_model_server_neuron"]
    assert server["args"] == ["--port=8500", "--rest_api_port=9000", "--model_name=resnet50_neuron",
                              "--model_base_path=/models/resnet50_neuron",
                              "--monitoring_config_file=/etc/tfserving/monitoring.config"]
    assert server["ports"] == [{"name": "grpc", "containerPort": 8500}, {"name": "http", "containerPort": 9000}]


SYNC = ["python3", "/etc/tfserving/model_sync.py", "--source", "s3://your-bucket-of-models/resnet50_neuron/",
        "--dest", "/models/resnet50_neuron", "--staging", "/models/.sync",
        "--credentials", "pod-identity"]
# Pod Identity (the default): no instance metadata, so a missing association fails at once.
COPIER_ENV = [{"name": "AWS_REGION", "value": "us-west-2"}, {"name": "AWS_DEFAULT_REGION", "value": "us-west-2"},
              {"name": "AWS_EC2_METADATA_DISABLED", "value": "true"},
              {"name": "HOME", "value": "/tmp"}, {"name": "TMPDIR", "value": "/tmp"},
              {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}]
COPIER_MOUNTS = [{"name": "model", "mountPath": "/models"}, {"name": "scratch", "mountPath": "/tmp"},
                 {"name": "config", "mountPath": "/etc/tfserving", "readOnly": True}]
COPIER_SECURITY = {"allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
                   "runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "capabilities": {"drop": ["ALL"]},
                   "seccompProfile": {"type": "RuntimeDefault"}}


def test_model_is_copied_from_s3_over_verified_tls_before_the_server_starts(run_stack) -> None:
    pod = _pod(run_stack())
    fetch, sync = pod["initContainers"]
    assert fetch == {
        "name": "fetch-model", "image": pod["containers"][0]["image"], "imagePullPolicy": "Always",
        "command": [*SYNC, "--once"], "env": COPIER_ENV, "volumeMounts": COPIER_MOUNTS,
        "securityContext": COPIER_SECURITY,
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi", "ephemeral-storage": "10Gi"},
                      "limits": {"cpu": "1", "memory": "512Mi"}}}
    for container in (fetch, sync, *pod["containers"]):
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env["AWS_REGION"] == "us-west-2"  # the stack's region, not a hard-coded one
        assert "S3_VERIFY_SSL" not in env and "--no-verify-ssl" not in container.get("command", [])
    assert pod["volumes"][:2] == [{"name": "model", "emptyDir": {"sizeLimit": "10Gi"}},
                                  {"name": "scratch", "emptyDir": {}}]


def test_a_native_sidecar_keeps_the_copy_in_step_with_s3_after_the_first_copy(run_stack) -> None:
    pod = _pod(run_stack())
    fetch, sync = pod["initContainers"]  # in this order: the whole first copy, then the sidecar
    assert sync == {
        "name": "model-sync", "image": fetch["image"], "imagePullPolicy": "Always", "restartPolicy": "Always",
        "command": [*SYNC, "--interval", "60"], "env": COPIER_ENV, "volumeMounts": COPIER_MOUNTS,
        "securityContext": COPIER_SECURITY,
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi", "ephemeral-storage": "10Gi"},
                      "limits": {"cpu": "500m", "memory": "512Mi"}}}
    # The script both run is the one the ConfigMap carries, tested as ordinary Python (tests/test_model_sync.py).
    assert _serving_config(run_stack())["model_sync.py"] == SYNC_SCRIPT.read_text()
    (server,) = pod["containers"]
    assert {m["mountPath"]: m.get("readOnly", False) for m in server["volumeMounts"]}["/models"] is True


def test_poll_seconds_zero_copies_once_and_a_new_period_rolls_the_pods(run_stack) -> None:
    (fetch,) = _pod(run_stack(modelPollSeconds=0))["initContainers"]
    assert fetch["command"] == [*SYNC, "--once"] and "restartPolicy" not in fetch
    _, sync = _pod(run_stack(modelPollSeconds=300))["initContainers"]
    assert sync["command"] == [*SYNC, "--interval", "300"]
    # The pod template changes with the period, so a second `pulumi up` rolls the pods to the new sidecar.
    assert _pod(run_stack(modelPollSeconds=300)) != _pod(run_stack())


def test_the_model_volume_size_limits_the_emptydir_and_is_requested_by_its_writers(run_stack) -> None:
    pod = _pod(run_stack(modelVolumeSize="25Gi"))
    assert pod["volumes"][0] == {"name": "model", "emptyDir": {"sizeLimit": "25Gi"}}
    assert [c["resources"]["requests"]["ephemeral-storage"] for c in pod["initContainers"]] == ["25Gi", "25Gi"]
    assert "ephemeral-storage" not in pod["containers"][0]["resources"]["requests"]  # the server only reads it


def test_resources_ipc_lock_and_neuron_devices(run_stack) -> None:
    (server,) = _pod(run_stack())["containers"]
    assert server["resources"] == {
        "requests": {"cpu": "1", "memory": "1Gi", "aws.amazon.com/neuron": "1"},
        "limits": {"cpu": "4", "memory": "4Gi", "aws.amazon.com/neuron": "1"},
    }
    assert server["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["IPC_LOCK"]}


def test_resources_come_from_config(run_stack) -> None:
    (server,) = _pod(run_stack(cpuRequest="1500m", cpuLimit="3", memoryRequest="2Gi", memoryLimit="6Gi"))["containers"]
    assert server["resources"]["requests"] == {"cpu": "1500m", "memory": "2Gi", "aws.amazon.com/neuron": "1"}
    assert server["resources"]["limits"] == {"cpu": "3", "memory": "6Gi", "aws.amazon.com/neuron": "1"}


def test_probes_wait_for_the_model_and_liveness_watches_grpc(run_stack) -> None:
    (server,) = _pod(run_stack())["containers"]
    for probe in (server["startupProbe"], server["readinessProbe"]):
        assert probe["httpGet"] == {"path": "/v1/models/resnet50_neuron", "port": "http"}
    # The documented budgets, exactly: ten minutes to load the model from S3 onto the NeuronCores
    # (60 probes 10 s apart), then out of rotation after three failed checks.
    model_status = {"path": "/v1/models/resnet50_neuron", "port": "http"}
    assert server["startupProbe"] == {"httpGet": model_status, "periodSeconds": 10, "failureThreshold": 60}
    assert server["readinessProbe"] == {"httpGet": model_status, "periodSeconds": 10, "failureThreshold": 3}
    assert server["livenessProbe"] == {"tcpSocket": {"port": "grpc"}, "periodSeconds": 20, "timeoutSeconds": 5,
                                       "failureThreshold": 3}


def test_pods_are_hardened(run_stack) -> None:
    pod = _pod(run_stack())
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == "eks-neuron-test"
    assert pod["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
    (server,), (fetch, sync) = pod["containers"], pod["initContainers"]
    for container in (server, fetch, sync):
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False and context["privileged"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"]["drop"] == ["ALL"]
        assert container["imagePullPolicy"] == "Always"
    # Only the server runs as root (for IPC_LOCK); the model copiers do not.
    for copier in (fetch, sync):
        assert copier["securityContext"]["runAsNonRoot"] is True and copier["securityContext"]["runAsUser"] > 10000
        assert "add" not in copier["securityContext"]["capabilities"]
    mounts = {m["mountPath"]: m.get("readOnly", False) for m in server["volumeMounts"]}
    assert mounts == {"/models": True, "/tmp": False, "/etc/tfserving": True}
    service_account = run_stack().named("kubernetes:core/v1:ServiceAccount", "serving-sa").inputs
    assert service_account["automountServiceAccountToken"] is False


def test_each_checkov_skip_names_its_reason(run_stack) -> None:
    annotations = run_stack().one("kubernetes:apps/v1:Deployment").inputs["metadata"]["annotations"]
    # Exactly these annotations: the skips, each with its reason (the default image is pinned by tag), and the
    # forced apply of a Deployment the program alone owns.
    assert annotations == {**{f"checkov.io/skip{number}": f"{check}={reason}" for number, (check, reason)
                              in enumerate(sorted({**CHECKOV_SKIPS, **DIGEST_SKIP}.items()), start=1)},
                           "pulumi.com/patchForce": "true"}
    digest = "registry.example.com/tfs@sha256:" + "a" * 64
    annotations = run_stack(servingImage=digest).one("kubernetes:apps/v1:Deployment").inputs["metadata"]["annotations"]
    assert not any(value.startswith("CKV_K8S_43=") for value in annotations.values())


def test_pods_spread_over_zones_and_nodes_and_tolerate_the_neuron_taint(run_stack) -> None:
    pod = _pod(run_stack())
    # Soft spread (ScheduleAnyway): a hard one would leave a pod Pending when one zone has no free device.
    assert pod["topologySpreadConstraints"] == [
        {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
         "labelSelector": {"matchLabels": {"app": "eks-neuron-test"}}}
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")]
    assert {"key": "aws.amazon.com/neuron", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    budget = run_stack().one("kubernetes:policy/v1:PodDisruptionBudget").inputs["spec"]
    assert budget["maxUnavailable"] == 1 and budget["selector"]["matchLabels"] == {"app": "eks-neuron-test"}


def test_network_policy_admits_only_client_namespaces_on_the_serving_ports(run_stack) -> None:
    # Without monitoring: its collector's rule is tested in tests/components/test_monitoring.py.
    policy = run_stack(allowedClientNamespaces=["apps", "inference"], monitoring=False).named(
        "kubernetes:networking.k8s.io/v1:NetworkPolicy", "serving-clients").inputs["spec"]
    assert policy["policyTypes"] == ["Ingress"]
    assert policy["podSelector"] == {"matchLabels": {"app": "eks-neuron-test"}}  # the serving pods, not the namespace
    (rule,) = policy["ingress"]
    (peer,) = rule["from"]
    assert peer["namespaceSelector"]["matchExpressions"] == [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["inference", "apps"]}]
    assert [p["port"] for p in rule["ports"]] == [8500, 9000]
    # The serving namespace is admitted even when the list leaves it out.
    policy = run_stack(allowedClientNamespaces=["apps"]).named(
        "kubernetes:networking.k8s.io/v1:NetworkPolicy", "serving-clients").inputs["spec"]
    assert policy["ingress"][0]["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"] == ["inference", "apps"]


def test_prometheus_metrics_on_the_rest_port(run_stack) -> None:
    run = run_stack()
    config = _serving_config(run)
    assert "enable: true" in config["monitoring.config"] and METRICS_PATH in config["monitoring.config"]
    annotations = run.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["metadata"]["annotations"]
    files = config_files(None, sync_script=SYNC_SCRIPT.read_text())
    checksum = hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest()[:16]
    assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": "9000",
                           "prometheus.io/path": METRICS_PATH, "eks-inferentia/config-checksum": checksum}


def test_batching_is_off_by_default_and_configurable(run_stack) -> None:
    (server,) = _pod(run_stack())["containers"]
    assert not any(arg.startswith("--enable_batching") for arg in server["args"])
    run = run_stack(servingBatching="true", batchingParameters="max_batch_size { value: 4 }")
    (server,) = _pod(run)["containers"]
    assert "--enable_batching=true" in server["args"]
    assert "--batching_parameters_file=/etc/tfserving/batching.config" in server["args"]
    assert _serving_config(run)["batching.config"] == "max_batch_size { value: 4 }\n"
    # A config change changes the pod template, so the pods restart and read it.
    before = run_stack().one("kubernetes:apps/v1:Deployment").inputs
    after = run.one("kubernetes:apps/v1:Deployment").inputs
    key = "eks-inferentia/config-checksum"
    assert before["spec"]["template"]["metadata"]["annotations"][key] != after["spec"]["template"]["metadata"]["annotations"][key]


def test_scheduler_is_the_default_for_single_device_pods_and_neurons_for_more(run_stack) -> None:
    assert "schedulerName" not in _pod(run_stack())
    assert _pod(run_stack(instanceType="inf1.6xlarge", neuronDevicesPerReplica=2))["schedulerName"] == "my-scheduler"
    assert _pod(run_stack(neuronScheduler="enabled"))["schedulerName"] == "my-scheduler"
    assert "schedulerName" not in _pod(run_stack(instanceType="inf1.6xlarge", neuronDevicesPerReplica=2,
                                                 neuronScheduler="disabled"))


def test_service_names_8500_grpc_and_9000_http(run_stack) -> None:
    service = run_stack().one("kubernetes:core/v1:Service").inputs
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [
        {"name": "grpc", "port": 8500, "targetPort": "grpc", "appProtocol": "grpc"},
        {"name": "http", "port": 9000, "targetPort": "http", "appProtocol": "http"},
    ]
    deployment = run_stack().one("kubernetes:apps/v1:Deployment").inputs
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    template_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= template_labels.items()


def test_names_namespace_and_replicas_come_from_config(run_stack) -> None:
    run = run_stack(namespace="ml", servingName="rn50", replicas=3, modelName="rn50")
    deployment = run.one("kubernetes:apps/v1:Deployment").inputs
    assert deployment["metadata"] == {**deployment["metadata"], "name": "rn50", "namespace": "ml"}
    assert deployment["spec"]["replicas"] == 3
    assert run.named("kubernetes:core/v1:Namespace", "serving-ns").inputs["metadata"]["name"] == "ml"
    assert run.outputs["grpcEndpoint"] == "rn50.ml.svc.cluster.local:8500"
    assert run.outputs["restEndpoint"] == "http://rn50.ml.svc.cluster.local:9000"


@pytest.mark.parametrize(("instance_type", "image"), [
    ("inf1.2xlarge", INF1_IMAGE), ("inf2.xlarge", NEURONX_IMAGE), ("trn1.2xlarge", NEURONX_IMAGE)])
def test_default_image_follows_the_family_and_region(run_stack, instance_type: str, image: str) -> None:
    compiled_for = "neuron" if instance_type.startswith("inf1") else "neuronx"
    (server,) = _pod(run_stack(instanceType=instance_type, modelCompiledFor=compiled_for))["containers"]
    assert server["image"] == f"763104351884.dkr.ecr.us-west-2.amazonaws.com/{image}"


def test_registry_follows_the_region() -> None:
    assert default_serving_image(NeuronFamily.INF2, "eu-south-1").startswith("692866216735.dkr.ecr.eu-south-1.")
    assert default_serving_image(NeuronFamily.INF1, "cn-north-1").startswith(
        "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/")


def test_configured_image_wins(run_stack) -> None:
    pod = _pod(run_stack(servingImage="registry.example.com/tfs:1.0"))
    assert {c["image"] for c in (*pod["containers"], *pod["initContainers"])} == {"registry.example.com/tfs:1.0"}


def test_walkthrough_sizes_replace_pods_one_at_a_time(run_stack) -> None:
    strategy = run_stack().one("kubernetes:apps/v1:Deployment").inputs["spec"]["strategy"]
    assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}


def test_with_room_for_a_surge_pod_every_replica_keeps_serving(run_stack) -> None:
    strategy = run_stack(desiredNodes=3).one("kubernetes:apps/v1:Deployment").inputs["spec"]["strategy"]
    assert strategy["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}


def test_pulumi_waits_for_a_whole_rollout_not_the_providers_ten_minutes(run_stack) -> None:
    # One wave: 10 min image pull + 5 min model copy + 10 min startup budget + 1 min = 26 min.
    deployment = run_stack().one("kubernetes:apps/v1:Deployment")
    assert deployment.custom_timeouts == {"create": "26m", "update": "52m"}  # 2 replicas, one at a time
    deployment = run_stack("prod").one("kubernetes:apps/v1:Deployment")
    assert deployment.custom_timeouts == {"create": "26m", "update": "78m"}
    # The first copy takes every pinned version before the server starts: 5 minutes each.
    deployment = run_stack(modelVersions=[1, 2, 3]).one("kubernetes:apps/v1:Deployment")
    assert deployment.custom_timeouts == {"create": "36m", "update": "72m"}
    assert await_timeouts(1, (0, 1), 0).create == "26m"


def test_rollout_waves_follow_the_strategy() -> None:
    assert rollout_waves(2, (0, 1)) == 2 and rollout_waves(3, (1, 0)) == 3
    assert rollout_waves(4, (2, 0)) == 2 and rollout_waves(5, (0, 2)) == 3
    assert rollout_waves(1, (0, 0)) == 1


MODELS_CONFIG = """model_config_list {
  config {
    name: "resnet50_neuron"
    base_path: "/models/resnet50_neuron"
    model_platform: "tensorflow"
    model_version_policy {
      specific {
        versions: 3
        versions: 2
      }
    }
  }
}
"""


def test_pinned_versions_are_served_through_a_model_config_file_and_only_they_are_copied(run_stack) -> None:
    run = run_stack(modelVersions=[3, 2])
    assert _serving_config(run)["models.config"] == MODELS_CONFIG
    (server,) = _pod(run)["containers"]
    # --model_config_file instead of --model_name/--model_base_path, which TF Serving would ignore beside it.
    assert server["args"] == ["--port=8500", "--rest_api_port=9000", "--model_config_file=/etc/tfserving/models.config",
                              "--monitoring_config_file=/etc/tfserving/monitoring.config"]
    fetch, sync = _pod(run)["initContainers"]
    assert fetch["command"] == [*SYNC, "--versions", "3,2", "--once"]
    assert sync["command"] == [*SYNC, "--versions", "3,2", "--interval", "60"]
    assert "models.config" not in _serving_config(run_stack())


def test_a_new_version_list_rolls_the_pods_rather_than_being_polled(run_stack) -> None:
    key = "eks-inferentia/config-checksum"

    def checksum(**overrides: object) -> str:
        return run_stack(**overrides).one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["metadata"][
            "annotations"][key]

    # Rolling back from [3] to [2] is a new pod template: a rollout pulumi waits for, then the smoke test.
    assert len({checksum(), checksum(modelVersions=[3]), checksum(modelVersions=[2])}) == 3
    # The server is not told to poll its config file: each pod keeps the versions it started with.
    (server,) = _pod(run_stack(modelVersions=[3]))["containers"]
    assert not any(arg.startswith("--model_config_file_poll_wait_seconds") for arg in server["args"])


def _policy(run, name: str) -> dict:
    (found,) = [p for p in run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
                if p.outputs["metadata"]["name"] == name]
    return found.inputs["spec"]


def _egress_to(spec: dict) -> list[tuple[str, int, str]]:
    return [(peer.get("ipBlock", {}).get("cidr") or peer["podSelector"]["matchLabels"]["k8s-app"], port["port"],
             port["protocol"]) for rule in spec["egress"] for peer in rule["to"] for port in rule["ports"]]


def test_the_namespace_denies_ingress_to_every_pod_by_default(run_stack) -> None:
    assert _policy(run_stack(), "default-deny-ingress") == {"podSelector": {}, "policyTypes": ["Ingress"]}


def test_serving_pods_reach_dns_https_and_the_pod_identity_agent_only(run_stack) -> None:
    run = run_stack()
    spec = _policy(run, "eks-neuron-test-egress")
    assert spec["podSelector"] == {"matchLabels": {"app": "eks-neuron-test"}} and spec["policyTypes"] == ["Egress"]
    assert spec["egress"][0]["to"][0]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}
    assert _egress_to(spec) == [("kube-dns", 53, "UDP"), ("kube-dns", 53, "TCP"), ("0.0.0.0/0", 443, "TCP"),
                                ("169.254.170.23/32", 80, "TCP"), ("fd00:ec2::23/128", 80, "TCP")]
    env = run.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]["initContainers"][0]["env"]
    assert {"name": "AWS_EC2_METADATA_DISABLED", "value": "true"} in env


def test_under_node_role_the_pods_reach_imds_instead_of_the_agent(run_stack) -> None:
    run = run_stack(modelAccess="node-role")
    assert _egress_to(_policy(run, "eks-neuron-test-egress"))[3:] == [("169.254.169.254/32", 80, "TCP")]
    env = run.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]["initContainers"][0]["env"]
    assert "AWS_EC2_METADATA_DISABLED" not in {e["name"] for e in env}
    for copier in run.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]["initContainers"]:
        assert copier["command"][8:10] == ["--credentials", "node-role"]


def test_the_server_runs_as_the_image_user_with_only_ipc_lock_added(run_stack) -> None:
    # pod_security.hardened_container without a user: no runAsNonRoot/runAsUser/runAsGroup of ours at all.
    (server,) = _pod(run_stack())["containers"]
    assert server["securityContext"] == {
        "allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"], "add": ["IPC_LOCK"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def test_the_apply_is_forced_unless_keda_owns_the_replica_count(run_stack) -> None:
    # Forced: a `kubectl scale` in between, or the HPA's hold on spec.replicas after autoscaling is turned off,
    # cannot fail the next `pulumi up`. Autoscaled: never forced, or the apply would take replicas from the HPA.
    plain = run_stack().one("kubernetes:apps/v1:Deployment")
    assert plain.inputs["metadata"]["annotations"]["pulumi.com/patchForce"] == "true"
    autoscaled = run_stack(autoscaling="true", targetRequestsPerSecond="40").one("kubernetes:apps/v1:Deployment")
    assert "pulumi.com/patchForce" not in autoscaled.inputs["metadata"]["annotations"]
    assert autoscaled.ignore_changes == ["spec.replicas"] and plain.ignore_changes == []


def test_every_serving_object_carries_the_same_four_labels(run_stack) -> None:
    run = run_stack()
    labels = {"app": "eks-neuron-test", "app.kubernetes.io/instance": "eks-neuron-test",
              "app.kubernetes.io/name": "tensorflow-serving", "app.kubernetes.io/managed-by": "pulumi"}
    component = run.one("eks-inferentia:index:TensorFlowServing")
    owned = {r.name: r.inputs["metadata"]["labels"] for r in run.resources if r.parent == component.urn}
    # The namespace and its default deny belong to no workload: only who manages them.
    for name in ("serving-ns", "serving-default-deny-ingress"):
        assert owned.pop(name) == {"app.kubernetes.io/managed-by": "pulumi"}
    assert len(owned) == 7 and all(value == labels for value in owned.values())
    assert run.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["metadata"]["labels"] == labels
