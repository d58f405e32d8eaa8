"""TensorFlowServing: the walkthrough's `rn50_deployment.yaml` and `rn50_service.yaml`, fixed.

What changed from the walkthrough, and why:
- The image is the TensorFlow 2.10.1 Serving Deep Learning Container for the instance family
  (the walkthrough's TF 1.15 / neuron-rtd image is long out of support).
- TensorFlow Serving 2.7 and later has no `s3://` file system, so `--model_base_path=s3://...`
  fails to load. An init container copies `modelBasePath` into a pod-local volume with the
  AWS CLI the image ships (over TLS, verified: the walkthrough's `S3_VERIFY_SSL: "0"` is gone),
  and the server loads it from there.
- Port 8500 is gRPC and 9000 is REST; the walkthrough's Service had the names swapped.
- `AWS_REGION` comes from the stack's region, not a hard-coded us-east-1.
- Probes on the REST model status, so `pulumi up` waits until the model is really served.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from eks_inferentia.images import TF_SERVING_BINARY

GRPC_PORT = 8500
REST_PORT = 9000
MODEL_DIR = "/models"
NEURON_RESOURCE = "aws.amazon.com/neuron"
CONTAINER_NAME = "tensorflow-serving"


@dataclass(frozen=True)
class Resources:
    """Per-pod CPU and memory (the walkthrough's values by default)."""

    cpu_request: str = "1"
    memory_request: str = "1Gi"
    cpu_limit: str = "4"
    memory_limit: str = "4Gi"


@dataclass(frozen=True)
class TensorFlowServingArgs:
    namespace: str
    name: str
    """Name of the Deployment and the Service."""
    image: pulumi.Input[str]
    model_name: str
    model_base_path: str
    """s3://bucket/prefix of the SavedModel's version folders."""
    region: pulumi.Input[str]
    replicas: int
    neuron_devices_per_replica: int
    neuron_devices_at_desired_size: int
    """Neuron devices of the node group at its desired size; decides how a rollout may surge."""
    provider: k8s.Provider
    resources: Resources = field(default_factory=Resources)


def rollout_strategy(replicas: int, devices_per_replica: int, devices_available: int) -> tuple[int, int]:
    """Surge one pod when the nodes have room for it; otherwise replace pods one at a time.

    With every device taken (the walkthrough's 2 x inf1.2xlarge and 2 single-device replicas)
    a surge pod never schedules and the rollout, and `pulumi up`, would wait forever.
    Returns (maxSurge, maxUnavailable).
    """
    if (replicas + 1) * devices_per_replica <= devices_available:
        return 1, 0
    return 0, 1


def server_args(model_name: str) -> list[str]:
    return [
        f"--port={GRPC_PORT}",
        f"--rest_api_port={REST_PORT}",
        f"--model_name={model_name}",
        f"--model_base_path={MODEL_DIR}/{model_name}",
    ]


class TensorFlowServing(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    service_name: pulumi.Output[str]
    deployment_name: pulumi.Output[str]
    grpc_endpoint: pulumi.Output[str]
    rest_endpoint: pulumi.Output[str]

    def __init__(self, name: str, args: TensorFlowServingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-inferentia:index:TensorFlowServing", name, None, opts)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.provider)
        labels = {
            "app": args.name,
            "app.kubernetes.io/name": "tensorflow-serving",
            "app.kubernetes.io/instance": args.name,
            "app.kubernetes.io/managed-by": "pulumi",
        }
        selector = {"app": args.name}

        namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.namespace, labels={"app.kubernetes.io/managed-by": "pulumi"}),
            opts=k8s_opts,
        )
        namespace_name = namespace.metadata.name
        region_env = [
            k8s.core.v1.EnvVarArgs(name="AWS_REGION", value=args.region),
            k8s.core.v1.EnvVarArgs(name="AWS_DEFAULT_REGION", value=args.region),
        ]
        model_volume = k8s.core.v1.VolumeMountArgs(name="model", mount_path=MODEL_DIR)
        model_status = k8s.core.v1.HTTPGetActionArgs(path=f"/v1/models/{args.model_name}", port="http")
        neuron = str(args.neuron_devices_per_replica)
        max_surge, max_unavailable = rollout_strategy(
            args.replicas, args.neuron_devices_per_replica, args.neuron_devices_at_desired_size)

        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.name, namespace=namespace_name, labels=labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=args.replicas,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(
                        max_surge=max_surge, max_unavailable=max_unavailable),
                ),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        tolerations=[k8s.core.v1.TolerationArgs(
                            key=NEURON_RESOURCE, operator="Exists", effect="NoSchedule")],
                        volumes=[k8s.core.v1.VolumeArgs(name="model", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs())],
                        init_containers=[k8s.core.v1.ContainerArgs(
                            name="fetch-model",
                            image=args.image,
                            command=["aws", "s3", "sync", "--only-show-errors",
                                     args.model_base_path.rstrip("/") + "/", f"{MODEL_DIR}/{args.model_name}/"],
                            env=region_env,
                            volume_mounts=[model_volume],
                            resources=k8s.core.v1.ResourceRequirementsArgs(
                                requests={"cpu": "250m", "memory": "256Mi"},
                                limits={"cpu": "1", "memory": "512Mi"},
                            ),
                        )],
                        containers=[k8s.core.v1.ContainerArgs(
                            name=CONTAINER_NAME,
                            image=args.image,
                            image_pull_policy="IfNotPresent",
                            command=[TF_SERVING_BINARY],
                            args=server_args(args.model_name),
                            ports=[
                                k8s.core.v1.ContainerPortArgs(name="grpc", container_port=GRPC_PORT),
                                k8s.core.v1.ContainerPortArgs(name="http", container_port=REST_PORT),
                            ],
                            env=region_env,
                            resources=k8s.core.v1.ResourceRequirementsArgs(
                                requests={"cpu": args.resources.cpu_request, "memory": args.resources.memory_request,
                                          NEURON_RESOURCE: neuron},
                                limits={"cpu": args.resources.cpu_limit, "memory": args.resources.memory_limit,
                                        NEURON_RESOURCE: neuron},
                            ),
                            # The Neuron runtime locks its buffers in memory.
                            security_context=k8s.core.v1.SecurityContextArgs(
                                capabilities=k8s.core.v1.CapabilitiesArgs(add=["IPC_LOCK"]),
                            ),
                            volume_mounts=[model_volume],
                            # Loading and compiling for the NeuronCores can take minutes: allow ten.
                            startup_probe=k8s.core.v1.ProbeArgs(
                                http_get=model_status, period_seconds=10, failure_threshold=60),
                            readiness_probe=k8s.core.v1.ProbeArgs(
                                http_get=model_status, period_seconds=10, failure_threshold=3),
                        )],
                    ),
                ),
            ),
            opts=k8s_opts,
        )

        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.name, namespace=namespace_name, labels=labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=selector,
                ports=[
                    k8s.core.v1.ServicePortArgs(name="grpc", port=GRPC_PORT, target_port="grpc", app_protocol="grpc"),
                    k8s.core.v1.ServicePortArgs(name="http", port=REST_PORT, target_port="http", app_protocol="http"),
                ],
            ),
            opts=k8s_opts,
        )

        self.namespace = namespace_name
        self.service_name = service.metadata.name
        self.deployment_name = deployment.metadata.name
        host = pulumi.Output.concat(self.service_name, ".", self.namespace, ".svc.cluster.local")
        self.grpc_endpoint = pulumi.Output.concat(host, f":{GRPC_PORT}")
        self.rest_endpoint = pulumi.Output.concat("http://", host, f":{REST_PORT}")
        self.register_outputs({
            "namespace": self.namespace,
            "service_name": self.service_name,
            "deployment_name": self.deployment_name,
            "grpc_endpoint": self.grpc_endpoint,
            "rest_endpoint": self.rest_endpoint,
        })
