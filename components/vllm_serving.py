"""VllmServing: a large language model behind vLLM's OpenAI-compatible server (servingRuntime `vllm`).

The same shape as TensorFlowServing (components/serving.py), for vLLM on NxD Inference:
- Image: the Neuron vLLM Deep Learning Container (eks_inferentia/images.py: vLLM 0.16.0, vllm-neuron
  0.5.3, Neuron SDK 2.31.1; inf2, trn1, trn1n, trn2).
- The model: `modelBasePath` is the S3 folder of a Hugging Face-format model. It has no version folders,
  so an init container copies it once (`eks_inferentia/model_copy.py`, the same Pod Identity credentials
  and check as TensorFlow Serving's copier, `model_sync.py` mounted beside it) into the model emptyDir,
  which the server mounts read-only. `compiledArtifactsPath`, when set, is copied into a second folder of
  that volume, `NEURON_COMPILED_ARTIFACTS`, so the server loads the Neuron artifacts instead of compiling;
  without it the server compiles at start and writes them there (Neuron SDK "vLLM User Guide for NxD
  Inference", "Loading pre-compiled models": the variable names where to load from, and where to store
  a compile when loading fails or it is unset; unset, they go under the model's own folder, read-only here).
- Server: `vllm serve /models/model` (no `--device`: vLLM detects the Neuron platform) with the flags of
  that guide and the Neuron online-serving quickstart: `--served-model-name` (modelName, what clients pass
  as `model`), `--tensor-parallel-size`, `--max-model-len`, `--max-num-seqs`, `--no-enable-prefix-caching`
  and `--num-gpu-blocks-override` equal to `--max-num-seqs` (NxD Inference's contiguous KV cache: "Set
  num_gpu_blocks_override to exactly max_num_seqs" without prefix caching or chunked prefill, the guide's
  known issue 2), `--port 8000`. `VLLM_NEURON_FRAMEWORK=neuronx-distributed-inference` as the quickstart
  sets it; `HF_HUB_OFFLINE=1`: the model is local and the pod's egress has no business with the Hub.
- Probes: startup on `/health` (vLLM's server listens only once the model is loaded, so the budget covers
  loading and, without artifacts, a compile), readiness on `/v1/models`, liveness on `/health`.
- Metrics on `/metrics` of the same port, annotated for the managed collector's `vllm` job.
- Pods: as hardened as the Neuron runtime allows, as TensorFlow Serving's: root with only IPC_LOCK, a
  read-only root file system with emptyDirs where vLLM, PyTorch and the Neuron compiler write (HOME and
  TMPDIR on /tmp, the compiler's cache under /var/tmp), `/dev/shm` a memory emptyDir (vLLM's processes
  exchange tensors there; it counts against the memory limit). PDB, NetworkPolicies and egress from
  `declare_pod_policies`.
Not run on hardware from here: the read-only root file system in particular is checked against the
image's Dockerfile and the documents above, not against a running pod (README, "Serving an LLM with vLLM").
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.pod_security import hardened_container
from components.serving import (
    AUTOSCALED_FIELDS,
    COPIER_UID,
    NEURON_RESOURCE,
    SYNC_SCRIPT,
    WAVE_MARGIN_SECONDS,
    Resources,
    ServingPolicies,
    declare_pod_policies,
    pod_annotations,
    rollout_waves,
    serving_deployment_spec,
    serving_scaffold,
)
from eks_inferentia.metrics import VLLM_APP_NAME

VLLM_PORT = 8000
METRICS_PATH = "/metrics"
MODEL_DIR = "/models"
MODEL_PATH = f"{MODEL_DIR}/model"
COMPILED_PATH = f"{MODEL_DIR}/compiled"
SCRIPTS_DIR = "/etc/model-copy"
COPY_SCRIPT = SYNC_SCRIPT.with_name("model_copy.py")
SCRATCH_DIR = "/tmp"
COMPILER_CACHE_DIR = "/var/tmp"
SHM_DIR = "/dev/shm"
# vLLM's shared memory: Docker's default 64 MiB is known to be too small for it (vLLM's docs ask for
# `--ipc=host` or `--shm-size`); 2 GiB is an estimate for one pod's engine and API processes.
SHM_SIZE = "2Gi"
CONTAINER_NAME = "vllm"
# Time budgets, estimates (README, "Serving an LLM with vLLM"):
# - loading compiled artifacts and a 7-8B model's weights onto the NeuronCores: the Neuron quickstart says
#   "Server startup typically takes 5-10 minutes"; 15 minutes leaves room.
STARTUP_BUDGET_SECONDS = 900
# - compiling at start, without compiledArtifactsPath: "a small-ish model of 15GB might take around 15min to
#   compile" (vLLM User Guide for NxD Inference); an hour covers slower compiles of 7-8B models.
COMPILE_ALLOWANCE_SECONDS = 3600
# - pulling the vLLM Deep Learning Container (over 10 GB unpacked) on a node that never ran it.
IMAGE_PULL_ALLOWANCE_SECONDS = 900
# - copying a 7-8B model's ~16 GB (and its artifacts) from S3 in the region.
MODEL_COPY_ALLOWANCE_SECONDS = 900


@dataclass(frozen=True)
class VllmServingArgs:
    namespace: str
    name: str
    """Name of the Deployment, Service, ServiceAccount, PodDisruptionBudget and NetworkPolicies."""
    image: pulumi.Input[str]
    model_name: str
    """The served model name: what clients pass as `model`."""
    model_base_path: str
    """s3://bucket/prefix/ of the Hugging Face-format model."""
    region: pulumi.Input[str]
    replicas: int
    neuron_devices_per_replica: int
    tensor_parallel_size: int
    max_model_length: int
    max_concurrent_sequences: int
    rollout: tuple[int, int]
    provider: k8s.Provider
    compiled_artifacts_path: str | None = None
    """s3:// folder of the compiled Neuron artifacts, inside model_base_path; None: compile at start."""
    resources: Resources = field(default_factory=Resources)
    scheduler_name: str | None = None
    client_namespaces: Sequence[str] = ()
    model_volume_size: str = "10Gi"
    pods_use_node_role: bool = False
    pods_depend_on: Sequence[pulumi.Resource] = ()
    metrics_scraper_cidrs: pulumi.Input[Sequence[str]] | None = None
    autoscaled_max_replicas: int | None = None
    """maxReplicas when KEDA owns the replica count (`pulumi up` then leaves spec.replicas alone); None without."""


def server_args(model_name: str, tensor_parallel_size: int, max_model_length: int,
                max_concurrent_sequences: int) -> list[str]:
    """`vllm serve`'s arguments (see the module docstring for each flag's source)."""
    return [
        MODEL_PATH,
        f"--served-model-name={model_name}",
        f"--port={VLLM_PORT}",
        f"--tensor-parallel-size={tensor_parallel_size}",
        f"--max-model-len={max_model_length}",
        f"--max-num-seqs={max_concurrent_sequences}",
        "--no-enable-prefix-caching",
        f"--num-gpu-blocks-override={max_concurrent_sequences}",
    ]


def copy_command(model_base_path: str, compiled_artifacts_path: str | None, pods_use_node_role: bool) -> list[str]:
    """The init container's copy of the model (and the artifacts) from S3 (`eks_inferentia/model_copy.py`)."""
    command = ["python3", f"{SCRIPTS_DIR}/{COPY_SCRIPT.name}", "--source", model_base_path.rstrip("/") + "/",
               "--dest", MODEL_PATH, "--artifacts-dest", COMPILED_PATH]
    if compiled_artifacts_path:
        command += ["--artifacts", compiled_artifacts_path.rstrip("/") + "/"]
    return [*command, "--credentials", "node-role" if pods_use_node_role else "pod-identity"]


def startup_budget_seconds(compiles: bool) -> int:
    """How long the startup probe waits for `/health`: loading, and compiling when there are no artifacts."""
    return STARTUP_BUDGET_SECONDS + (COMPILE_ALLOWANCE_SECONDS if compiles else 0)


def await_timeouts(replicas: int, rollout: tuple[int, int], compiles: bool) -> pulumi.CustomTimeouts:
    """How long `pulumi up` waits for the Deployment: per wave the image pull, the copy, the startup budget
    (with a compile when there are no artifacts) and a margin; a create is one wave, an update one per round."""
    wave = (IMAGE_PULL_ALLOWANCE_SECONDS + MODEL_COPY_ALLOWANCE_SECONDS + startup_budget_seconds(compiles)
            + WAVE_MARGIN_SECONDS)
    create_minutes = -(-wave // 60)
    update_minutes = -(-wave * rollout_waves(replicas, rollout) // 60)
    return pulumi.CustomTimeouts(create=f"{create_minutes}m", update=f"{update_minutes}m")


def config_files() -> dict[str, str]:
    """The copier's scripts: model_copy.py imports model_sync.py's credentials check and AWS CLI runner."""
    return {COPY_SCRIPT.name: COPY_SCRIPT.read_text(), SYNC_SCRIPT.name: SYNC_SCRIPT.read_text()}


class VllmServing(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    service_name: pulumi.Output[str]
    deployment_name: pulumi.Output[str]
    grpc_endpoint: pulumi.Output[str]
    rest_endpoint: pulumi.Output[str]
    openai_endpoint: pulumi.Output[str]

    def __init__(self, name: str, args: VllmServingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-inferentia:index:VllmServing", name, None, opts)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.provider)
        scaffold = serving_scaffold(name, args.name, args.namespace, VLLM_APP_NAME, k8s_opts)
        labels, selector, namespace_name = scaffold.labels, scaffold.selector, scaffold.namespace_name
        metadata, service_account = scaffold.metadata, scaffold.service_account
        files = config_files()
        config_map = k8s.core.v1.ConfigMap(f"{name}-config", metadata=metadata("-config"), data=files, opts=k8s_opts)
        config_checksum = hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest()[:16]

        copier_env = [
            k8s.core.v1.EnvVarArgs(name="AWS_REGION", value=args.region),
            k8s.core.v1.EnvVarArgs(name="AWS_DEFAULT_REGION", value=args.region),
            *([] if args.pods_use_node_role else [k8s.core.v1.EnvVarArgs(name="AWS_EC2_METADATA_DISABLED", value="true")]),
            k8s.core.v1.EnvVarArgs(name="HOME", value=SCRATCH_DIR),
            k8s.core.v1.EnvVarArgs(name="TMPDIR", value=SCRATCH_DIR),
            k8s.core.v1.EnvVarArgs(name="PYTHONDONTWRITEBYTECODE", value="1"),
        ]
        copier = k8s.core.v1.ContainerArgs(
            name="fetch-model",
            image=args.image,
            image_pull_policy="Always",
            command=copy_command(args.model_base_path, args.compiled_artifacts_path, args.pods_use_node_role),
            env=copier_env,
            volume_mounts=[
                k8s.core.v1.VolumeMountArgs(name="model", mount_path=MODEL_DIR),
                k8s.core.v1.VolumeMountArgs(name="scratch", mount_path=SCRATCH_DIR),
                k8s.core.v1.VolumeMountArgs(name="config", mount_path=SCRIPTS_DIR, read_only=True),
            ],
            security_context=hardened_container(run_as_user=COPIER_UID),
            # The model volume's writer requests its size, so the scheduler reserves it for the pod's life.
            resources=k8s.core.v1.ResourceRequirementsArgs(
                requests={"cpu": "500m", "memory": "512Mi", "ephemeral-storage": args.model_volume_size},
                limits={"cpu": "2", "memory": "1Gi"}),
        )

        compiles = not args.compiled_artifacts_path
        health = k8s.core.v1.HTTPGetActionArgs(path="/health", port="http")
        neuron = str(args.neuron_devices_per_replica)
        server = k8s.core.v1.ContainerArgs(
            name=CONTAINER_NAME,
            image=args.image,
            image_pull_policy="Always",
            command=["vllm", "serve"],
            args=server_args(args.model_name, args.tensor_parallel_size, args.max_model_length,
                             args.max_concurrent_sequences),
            ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=VLLM_PORT)],
            env=[
                k8s.core.v1.EnvVarArgs(name="NEURON_COMPILED_ARTIFACTS", value=COMPILED_PATH),
                k8s.core.v1.EnvVarArgs(name="VLLM_NEURON_FRAMEWORK", value="neuronx-distributed-inference"),
                k8s.core.v1.EnvVarArgs(name="HF_HUB_OFFLINE", value="1"),
                k8s.core.v1.EnvVarArgs(name="HOME", value=SCRATCH_DIR),
                k8s.core.v1.EnvVarArgs(name="TMPDIR", value=SCRATCH_DIR),
                k8s.core.v1.EnvVarArgs(name="PYTHONDONTWRITEBYTECODE", value="1"),
            ],
            resources=k8s.core.v1.ResourceRequirementsArgs(
                requests={"cpu": args.resources.cpu_request, "memory": args.resources.memory_request,
                          NEURON_RESOURCE: neuron},
                limits={"cpu": args.resources.cpu_limit, "memory": args.resources.memory_limit,
                        NEURON_RESOURCE: neuron},
            ),
            # The Neuron runtime locks its buffers in memory; nothing else is added.
            security_context=hardened_container(add=["IPC_LOCK"]),
            volume_mounts=[
                k8s.core.v1.VolumeMountArgs(name="model", mount_path=MODEL_PATH, sub_path="model", read_only=True),
                k8s.core.v1.VolumeMountArgs(name="model", mount_path=COMPILED_PATH, sub_path="compiled"),
                k8s.core.v1.VolumeMountArgs(name="scratch", mount_path=SCRATCH_DIR),
                k8s.core.v1.VolumeMountArgs(name="compiler-cache", mount_path=COMPILER_CACHE_DIR),
                k8s.core.v1.VolumeMountArgs(name="shm", mount_path=SHM_DIR),
            ],
            startup_probe=k8s.core.v1.ProbeArgs(
                http_get=health, period_seconds=10, failure_threshold=startup_budget_seconds(compiles) // 10),
            readiness_probe=k8s.core.v1.ProbeArgs(
                http_get=k8s.core.v1.HTTPGetActionArgs(path="/v1/models", port="http"),
                period_seconds=10, timeout_seconds=5, failure_threshold=3),
            liveness_probe=k8s.core.v1.ProbeArgs(
                http_get=health, period_seconds=20, timeout_seconds=5, failure_threshold=3),
        )

        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=scaffold.deployment_metadata(args.image, autoscaled=args.autoscaled_max_replicas is not None),
            spec=serving_deployment_spec(
                replicas=args.replicas, selector=selector, labels=labels, rollout=args.rollout,
                pod_annotations=pod_annotations(VLLM_PORT, METRICS_PATH, config_checksum),
                service_account_name=service_account.metadata.name,
                scheduler_name=args.scheduler_name,
                volumes=[
                    k8s.core.v1.VolumeArgs(name="model", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
                        size_limit=args.model_volume_size)),
                    k8s.core.v1.VolumeArgs(name="scratch", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs()),
                    k8s.core.v1.VolumeArgs(name="compiler-cache", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs()),
                    k8s.core.v1.VolumeArgs(name="shm", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
                        medium="Memory", size_limit=SHM_SIZE)),
                    k8s.core.v1.VolumeArgs(name="config", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                        name=config_map.metadata.name)),
                ],
                init_containers=[copier],
                containers=[server],
            ),
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(
                custom_timeouts=await_timeouts(max(args.replicas, args.autoscaled_max_replicas or 0), args.rollout,
                                               compiles),
                ignore_changes=AUTOSCALED_FIELDS if args.autoscaled_max_replicas is not None else None,
                depends_on=list(args.pods_depend_on))),
        )

        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=metadata(),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=selector,
                ports=[k8s.core.v1.ServicePortArgs(name="http", port=VLLM_PORT, target_port="http", app_protocol="http")],
            ),
            opts=k8s_opts,
        )

        declare_pod_policies(name, ServingPolicies(
            namespace=args.namespace, namespace_name=namespace_name, metadata=metadata, selector=selector,
            client_namespaces=args.client_namespaces, ports=(VLLM_PORT,), metrics_port=VLLM_PORT,
            metrics_scraper_cidrs=args.metrics_scraper_cidrs, pods_use_node_role=args.pods_use_node_role),
            k8s_opts)

        self.namespace = namespace_name
        self.service_name = service.metadata.name
        self.deployment_name = deployment.metadata.name
        base = pulumi.Output.concat("http://", self.service_name, ".", self.namespace, f".svc.cluster.local:{VLLM_PORT}")
        # No gRPC under vLLM; the REST endpoint is the server's base URL, the OpenAI one its /v1.
        self.grpc_endpoint = pulumi.Output.from_input("")
        self.rest_endpoint = base
        self.openai_endpoint = pulumi.Output.concat(base, "/v1")
        self.register_outputs({
            "namespace": self.namespace,
            "service_name": self.service_name,
            "deployment_name": self.deployment_name,
            "grpc_endpoint": self.grpc_endpoint,
            "rest_endpoint": self.rest_endpoint,
            "openai_endpoint": self.openai_endpoint,
        })
