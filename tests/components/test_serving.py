"""TensorFlowServing: the walkthrough's Deployment and Service, with its bugs fixed."""

from __future__ import annotations

import pytest

from components.serving import rollout_strategy
from eks_inferentia.images import INF1_IMAGE, NEURONX_IMAGE, default_serving_image
from eks_inferentia.instance_types import NeuronFamily


def _pod(run) -> dict:
    return run.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]


def test_server_listens_on_8500_grpc_and_9000_rest_serving_the_configured_model(run_stack) -> None:
    (server,) = _pod(run_stack())["containers"]
    assert server["command"] == ["/usr/local/bin/tensorflow_model_server_neuron"]
    assert server["args"] == ["--port=8500", "--rest_api_port=9000", "--model_name=resnet50_neuron",
                              "--model_base_path=/models/resnet50_neuron"]
    assert server["ports"] == [{"name": "grpc", "containerPort": 8500}, {"name": "http", "containerPort": 9000}]


def test_model_is_copied_from_s3_over_verified_tls_before_the_server_starts(run_stack) -> None:
    pod = _pod(run_stack())
    (fetch,) = pod["initContainers"]
    assert fetch["command"] == ["aws", "s3", "sync", "--only-show-errors",
                                "s3://your-bucket-of-models/resnet50_neuron/", "/models/resnet50_neuron/"]
    for container in (fetch, *pod["containers"]):
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env["AWS_REGION"] == "us-west-2"  # the stack's region, not a hard-coded one
        assert "S3_VERIFY_SSL" not in env and "--no-verify-ssl" not in container.get("command", [])
    assert pod["volumes"] == [{"name": "model", "emptyDir": {}}]


def test_resources_ipc_lock_and_neuron_devices(run_stack) -> None:
    (server,) = _pod(run_stack())["containers"]
    assert server["resources"] == {
        "requests": {"cpu": "1", "memory": "1Gi", "aws.amazon.com/neuron": "1"},
        "limits": {"cpu": "4", "memory": "4Gi", "aws.amazon.com/neuron": "1"},
    }
    assert server["securityContext"]["capabilities"] == {"add": ["IPC_LOCK"]}


def test_probes_wait_for_the_model(run_stack) -> None:
    (server,) = _pod(run_stack())["containers"]
    for probe in (server["startupProbe"], server["readinessProbe"]):
        assert probe["httpGet"] == {"path": "/v1/models/resnet50_neuron", "port": "http"}
    startup = server["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300


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
    assert run.one("kubernetes:core/v1:Namespace").inputs["metadata"]["name"] == "ml"
    assert run.outputs["grpcEndpoint"] == "rn50.ml.svc.cluster.local:8500"
    assert run.outputs["restEndpoint"] == "http://rn50.ml.svc.cluster.local:9000"


@pytest.mark.parametrize(("instance_type", "image"), [
    ("inf1.2xlarge", INF1_IMAGE), ("inf2.xlarge", NEURONX_IMAGE), ("trn1.2xlarge", NEURONX_IMAGE)])
def test_default_image_follows_the_family_and_region(run_stack, instance_type: str, image: str) -> None:
    (server,) = _pod(run_stack(instanceType=instance_type))["containers"]
    assert server["image"] == f"763104351884.dkr.ecr.us-west-2.amazonaws.com/{image}"


def test_registry_follows_the_region() -> None:
    assert default_serving_image(NeuronFamily.INF2, "eu-south-1").startswith("692866216735.dkr.ecr.eu-south-1.")
    assert default_serving_image(NeuronFamily.INF1, "cn-north-1").startswith(
        "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/")


def test_configured_image_wins(run_stack) -> None:
    pod = _pod(run_stack(servingImage="registry.example.com/tfs:1.0"))
    assert {c["image"] for c in (*pod["containers"], *pod["initContainers"])} == {"registry.example.com/tfs:1.0"}


def test_rollout_never_waits_for_a_device_that_does_not_exist() -> None:
    assert rollout_strategy(replicas=2, devices_per_replica=1, devices_available=2) == (0, 1)  # walkthrough
    assert rollout_strategy(replicas=2, devices_per_replica=1, devices_available=3) == (1, 0)
    assert rollout_strategy(replicas=1, devices_per_replica=4, devices_available=8) == (1, 0)


def test_walkthrough_sizes_replace_pods_one_at_a_time(run_stack) -> None:
    strategy = run_stack().one("kubernetes:apps/v1:Deployment").inputs["spec"]["strategy"]
    assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
