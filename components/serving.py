"""TensorFlowServing: the walkthrough's `rn50_deployment.yaml` and `rn50_service.yaml`, fixed and hardened.

What changed from the walkthrough, and why:
- The image is the TensorFlow 2.10.1 Serving Deep Learning Container for the instance family
  (the walkthrough's TF 1.15 / neuron-rtd image is long out of support).
- TensorFlow Serving 2.7 and later has no `s3://` file system, so `--model_base_path=s3://...`
  fails to load. An init container copies `modelBasePath` into a pod-local volume with the
  AWS CLI the image ships (over TLS, verified: the walkthrough's `S3_VERIFY_SSL: "0"` is gone),
  and the server loads it from there.
- Port 8500 is gRPC and 9000 is REST; the walkthrough's Service had the names swapped.
- `AWS_REGION` comes from the stack's region, not a hard-coded us-east-1.
- Probes: startup and readiness on the REST model status (a model comes from S3 and loads onto
  the NeuronCores at start, so the startup budget is ten minutes), liveness on the gRPC port.
- Rollouts never wait on a surge pod that cannot schedule (see `eks_inferentia.capacity`).
- Pods: own ServiceAccount with no token, seccomp RuntimeDefault, all capabilities dropped
  but IPC_LOCK (the Neuron runtime locks its buffers), read-only root file system with
  emptyDirs where the server writes; spread over zones and nodes; a PodDisruptionBudget;
  a NetworkPolicy that admits only the client namespaces; Prometheus metrics on the REST port;
  optional server-side batching.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.pod_security import RUNTIME_DEFAULT_SECCOMP, checkov_skip_annotations, hardened_container
from eks_inferentia.images import TF_SERVING_BINARY

GRPC_PORT = 8500
REST_PORT = 9000
MODEL_DIR = "/models"
CONFIG_DIR = "/etc/tfserving"
SCRATCH_DIR = "/tmp"
METRICS_PATH = "/monitoring/prometheus/metrics"
NEURON_RESOURCE = "aws.amazon.com/neuron"
CONTAINER_NAME = "tensorflow-serving"
# The model copier needs no root; a UID above 10000 never collides with a host user.
COPIER_UID = 10001
STARTUP_BUDGET_SECONDS = 600
# What one pod may take before its startup probe starts counting, on a node that has never run it:
# pulling the Deep Learning Container (several GB) and copying the model from S3.
IMAGE_PULL_ALLOWANCE_SECONDS = 600
MODEL_COPY_ALLOWANCE_SECONDS = 300
# Scheduling, container start and the first readiness checks, per wave.
WAVE_MARGIN_SECONDS = 60

MONITORING_CONFIG = f'prometheus_config {{\n  enable: true\n  path: "{METRICS_PATH}"\n}}\n'

# Checks the server container cannot pass, and why; written into the Deployment's annotations.
CHECKOV_SKIPS = {
    "CKV_K8S_23": "the Neuron runtime runs as root so that IPC_LOCK takes effect",
    "CKV_K8S_40": "the Neuron runtime runs as root so that IPC_LOCK takes effect",
    "CKV_K8S_25": "IPC_LOCK is added, and only it: the Neuron runtime locks its DMA buffers in memory",
}
DIGEST_SKIP = {"CKV_K8S_43": "the Deep Learning Container is pinned by its versioned tag; "
                             "set servingImage to an @sha256 reference to pin by digest"}


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
    """Name of the Deployment, Service, ServiceAccount, PodDisruptionBudget and NetworkPolicy."""
    image: pulumi.Input[str]
    model_name: str
    model_base_path: str
    """s3://bucket/prefix of the SavedModel's version folders."""
    region: pulumi.Input[str]
    replicas: int
    neuron_devices_per_replica: int
    rollout: tuple[int, int]
    """(maxSurge, maxUnavailable), from `eks_inferentia.capacity.rollout_strategy`."""
    provider: k8s.Provider
    resources: Resources = field(default_factory=Resources)
    scheduler_name: str | None = None
    """The Neuron scheduler's name when pods need contiguous devices; None for the default scheduler."""
    client_namespaces: Sequence[str] = ()
    """Namespaces whose pods may call the model besides the serving namespace, which is always admitted."""
    batching_parameters: str | None = None
    """TensorFlow Serving batching parameters (text format); None leaves batching off."""
    metrics_scraper_cidrs: pulumi.Input[Sequence[str]] | None = None
    """CIDRs of the managed Prometheus collector's subnets, admitted to the REST port (metrics); None: none."""


def rollout_waves(replicas: int, rollout: tuple[int, int]) -> int:
    """How many pods-at-a-time rounds a rolling update of `replicas` takes: it replaces
    max(maxSurge, maxUnavailable) pods per round (1 with either strategy in `eks_inferentia.capacity`)."""
    per_wave = max(*rollout, 1)
    return -(-replicas // per_wave)


def await_timeouts(replicas: int, rollout: tuple[int, int]) -> pulumi.CustomTimeouts:
    """How long `pulumi up` waits for the Deployment to become ready.

    pulumi-kubernetes waits 10 minutes by default (provider/pkg/await/deployment.go,
    `DefaultDeploymentTimeoutMins = 10`; `customTimeouts` wins over it), less than one pod may
    need: image pull, model copy, the whole startup budget. One wave is that sum plus a margin;
    a create starts every pod at once (one wave), an update replaces them wave by wave.
    """
    wave = IMAGE_PULL_ALLOWANCE_SECONDS + MODEL_COPY_ALLOWANCE_SECONDS + STARTUP_BUDGET_SECONDS + WAVE_MARGIN_SECONDS
    create_minutes = -(-wave // 60)
    update_minutes = -(-wave * rollout_waves(replicas, rollout) // 60)
    return pulumi.CustomTimeouts(create=f"{create_minutes}m", update=f"{update_minutes}m")


def server_args(model_name: str, batching: bool = False) -> list[str]:
    args = [
        f"--port={GRPC_PORT}",
        f"--rest_api_port={REST_PORT}",
        f"--model_name={model_name}",
        f"--model_base_path={MODEL_DIR}/{model_name}",
        f"--monitoring_config_file={CONFIG_DIR}/monitoring.config",
    ]
    if batching:
        args += ["--enable_batching=true", f"--batching_parameters_file={CONFIG_DIR}/batching.config"]
    return args


def config_files(batching_parameters: str | None) -> dict[str, str]:
    files = {"monitoring.config": MONITORING_CONFIG}
    if batching_parameters is not None:
        files["batching.config"] = batching_parameters + "\n"
    return files


def checkov_skips(image: str) -> dict[str, str]:
    """`checkov.io/skipN` annotations: each skipped check with its reason."""
    skips = dict(CHECKOV_SKIPS)
    if "@sha256:" not in image:
        skips.update(DIGEST_SKIP)
    return checkov_skip_annotations(skips)


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

        def metadata(suffix: str = "") -> k8s.meta.v1.ObjectMetaArgs:
            return k8s.meta.v1.ObjectMetaArgs(name=args.name + suffix, namespace=namespace_name, labels=labels)

        service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=metadata(), automount_service_account_token=False, opts=k8s_opts)

        files = config_files(args.batching_parameters)
        config_map = k8s.core.v1.ConfigMap(f"{name}-config", metadata=metadata("-config"), data=files, opts=k8s_opts)
        # A config change rolls the pods: TensorFlow Serving reads these files only at start.
        config_checksum = hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest()[:16]

        region_env = [
            k8s.core.v1.EnvVarArgs(name="AWS_REGION", value=args.region),
            k8s.core.v1.EnvVarArgs(name="AWS_DEFAULT_REGION", value=args.region),
        ]
        scratch_env = [k8s.core.v1.EnvVarArgs(name="HOME", value=SCRATCH_DIR),
                       k8s.core.v1.EnvVarArgs(name="TMPDIR", value=SCRATCH_DIR)]
        model_status = k8s.core.v1.HTTPGetActionArgs(path=f"/v1/models/{args.model_name}", port="http")
        neuron = str(args.neuron_devices_per_replica)
        max_surge, max_unavailable = args.rollout

        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.name, namespace=namespace_name, labels=labels,
                annotations=pulumi.Output.from_input(args.image).apply(checkov_skips)),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=args.replicas,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(
                        max_surge=max_surge, max_unavailable=max_unavailable),
                ),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels, annotations={
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(REST_PORT),
                        "prometheus.io/path": METRICS_PATH,
                        "eks-inferentia/config-checksum": config_checksum,
                    }),
                    spec=k8s.core.v1.PodSpecArgs(
                        service_account_name=service_account.metadata.name,
                        automount_service_account_token=False,
                        scheduler_name=args.scheduler_name,
                        security_context=k8s.core.v1.PodSecurityContextArgs(seccomp_profile=RUNTIME_DEFAULT_SECCOMP),
                        tolerations=[k8s.core.v1.TolerationArgs(
                            key=NEURON_RESOURCE, operator="Exists", effect="NoSchedule")],
                        topology_spread_constraints=[
                            k8s.core.v1.TopologySpreadConstraintArgs(
                                max_skew=1, topology_key=key, when_unsatisfiable="ScheduleAnyway",
                                label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector))
                            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
                        ],
                        volumes=[
                            k8s.core.v1.VolumeArgs(name="model", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs()),
                            k8s.core.v1.VolumeArgs(name="scratch", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs()),
                            k8s.core.v1.VolumeArgs(name="config", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                                name=config_map.metadata.name)),
                        ],
                        init_containers=[k8s.core.v1.ContainerArgs(
                            name="fetch-model",
                            image=args.image,
                            image_pull_policy="Always",
                            command=["aws", "s3", "sync", "--only-show-errors",
                                     args.model_base_path.rstrip("/") + "/", f"{MODEL_DIR}/{args.model_name}/"],
                            env=region_env + scratch_env,
                            volume_mounts=[
                                k8s.core.v1.VolumeMountArgs(name="model", mount_path=MODEL_DIR),
                                k8s.core.v1.VolumeMountArgs(name="scratch", mount_path=SCRATCH_DIR),
                            ],
                            security_context=hardened_container(run_as_user=COPIER_UID),
                            resources=k8s.core.v1.ResourceRequirementsArgs(
                                requests={"cpu": "250m", "memory": "256Mi"},
                                limits={"cpu": "1", "memory": "512Mi"},
                            ),
                        )],
                        containers=[k8s.core.v1.ContainerArgs(
                            name=CONTAINER_NAME,
                            image=args.image,
                            image_pull_policy="Always",
                            command=[TF_SERVING_BINARY],
                            args=server_args(args.model_name, batching=args.batching_parameters is not None),
                            ports=[
                                k8s.core.v1.ContainerPortArgs(name="grpc", container_port=GRPC_PORT),
                                k8s.core.v1.ContainerPortArgs(name="http", container_port=REST_PORT),
                            ],
                            env=region_env + scratch_env,
                            resources=k8s.core.v1.ResourceRequirementsArgs(
                                requests={"cpu": args.resources.cpu_request, "memory": args.resources.memory_request,
                                          NEURON_RESOURCE: neuron},
                                limits={"cpu": args.resources.cpu_limit, "memory": args.resources.memory_limit,
                                        NEURON_RESOURCE: neuron},
                            ),
                            # The Neuron runtime locks its buffers in memory; nothing else is added.
                            security_context=hardened_container(add=["IPC_LOCK"]),
                            volume_mounts=[
                                k8s.core.v1.VolumeMountArgs(name="model", mount_path=MODEL_DIR, read_only=True),
                                k8s.core.v1.VolumeMountArgs(name="scratch", mount_path=SCRATCH_DIR),
                                k8s.core.v1.VolumeMountArgs(name="config", mount_path=CONFIG_DIR, read_only=True),
                            ],
                            startup_probe=k8s.core.v1.ProbeArgs(
                                http_get=model_status, period_seconds=10, failure_threshold=STARTUP_BUDGET_SECONDS // 10),
                            readiness_probe=k8s.core.v1.ProbeArgs(
                                http_get=model_status, period_seconds=10, failure_threshold=3),
                            # A TCP check: TensorFlow Serving does not implement the gRPC health service.
                            liveness_probe=k8s.core.v1.ProbeArgs(
                                tcp_socket=k8s.core.v1.TCPSocketActionArgs(port="grpc"),
                                period_seconds=20, timeout_seconds=5, failure_threshold=3),
                        )],
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(
                custom_timeouts=await_timeouts(args.replicas, args.rollout))),
        )

        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=metadata(),
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

        # Node drains and upgrades take one serving pod at a time.
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb", metadata=metadata(),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                max_unavailable=1, selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector)),
            opts=k8s_opts,
        )

        client_namespaces = [args.namespace, *(n for n in args.client_namespaces if n != args.namespace)]
        k8s.networking.v1.NetworkPolicy(
            f"{name}-clients", metadata=metadata("-clients"),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                policy_types=["Ingress"],
                ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    from_=[k8s.networking.v1.NetworkPolicyPeerArgs(
                        namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_expressions=[
                            k8s.meta.v1.LabelSelectorRequirementArgs(
                                key="kubernetes.io/metadata.name", operator="In", values=client_namespaces)]))],
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=port, protocol="TCP")
                           for port in (GRPC_PORT, REST_PORT)],
                )] + ([] if args.metrics_scraper_cidrs is None else [k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    # The collector, by its subnets' CIDRs (it is not a pod), on the port that serves the metrics.
                    from_=pulumi.Output.from_input(args.metrics_scraper_cidrs).apply(
                        lambda cidrs: [k8s.networking.v1.NetworkPolicyPeerArgs(
                            ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr)) for cidr in cidrs]),
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=REST_PORT, protocol="TCP")],
                )]),
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
