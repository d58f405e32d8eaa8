"""TensorFlowServing: the walkthrough's `rn50_deployment.yaml` and `rn50_service.yaml`, fixed and hardened.

What changed from the walkthrough, and why:
- The image is the TensorFlow 2.10.1 Serving Deep Learning Container for the instance family
  (the walkthrough's TF 1.15 / neuron-rtd image is long out of support).
- TensorFlow Serving 2.7 and later has no `s3://` file system, so `--model_base_path=s3://...`
  fails to load. An init container copies `modelBasePath` into a pod-local volume with the
  AWS CLI the image ships (over TLS, verified: the walkthrough's `S3_VERIFY_SSL: "0"` is gone),
  and the server loads it from there.
- New versions without a redeploy (tensorflow/serving issues 1963, 1794): with `modelPollSeconds` above 0 a
  native sidecar (an init container with `restartPolicy: Always`, on by default since Kubernetes 1.29) runs
  `eks_inferentia/model_sync.py` every so often, after the one-shot `fetch-model` copy that runs it once
  before the server starts. It copies a new version folder into a staging folder and renames it into
  place, and TensorFlow Serving's own file-system polling (`--file_system_poll_wait_seconds`, 1 s by default
  in 2.10) loads it and unloads the versions the sidecar removed. `modelVersions` pins the versions with a
  model config file (`--model_config_file`, which replaces `--model_name`/`--model_base_path`).
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
- Network: the namespace denies all ingress by default (an empty podSelector covers every pod
  there, the smoke-test Job's too), and the serving pods' egress is limited to what they need
  (see `egress_rules`).
- Credentials: under modelAccess `pod-identity` the EKS webhook injects the Pod Identity
  variables into every container (its token is a projected volume of its own,
  `eks-pod-identity-token`, audience `pods.eks.amazonaws.com`: `automountServiceAccountToken:
  false` keeps only the Kubernetes API token off the pod), and `AWS_EC2_METADATA_DISABLED` keeps
  the AWS CLI from waiting on a metadata service that does not answer pods (hop limit 1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from components.pod_security import RUNTIME_DEFAULT_SECCOMP, checkov_skip_annotations, hardened_container
from eks_inferentia.images import TF_SERVING_BINARY

GRPC_PORT = 8500
REST_PORT = 9000
MODEL_DIR = "/models"
# The sync script copies a version here, then renames it into MODEL_DIR/<model>/N: the same emptyDir, so the
# rename is atomic, and outside the model's base path, so TensorFlow Serving never lists it.
STAGING_DIR = f"{MODEL_DIR}/.sync"
SYNC_SCRIPT = Path(__file__).resolve().parent.parent / "eks_inferentia" / "model_sync.py"
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
"""Per version copied at pod start (the highest one, or each of modelVersions)."""
# Scheduling, container start and the first readiness checks, per wave.
WAVE_MARGIN_SECONDS = 60

MONITORING_CONFIG = f'prometheus_config {{\n  enable: true\n  path: "{METRICS_PATH}"\n}}\n'

# Checks the server container cannot pass, and why; written into the Deployment's annotations.
CHECKOV_SKIPS = {
    "CKV_K8S_23": "the Neuron runtime runs as root so that IPC_LOCK takes effect",
    "CKV_K8S_40": "the Neuron runtime runs as root so that IPC_LOCK takes effect",
    "CKV_K8S_25": "IPC_LOCK is added, and only it: the Neuron runtime locks its DMA buffers in memory",
}
# Where the serving pods may connect (NetworkPolicy egress), each with why:
# - DNS: CoreDNS (the kube-dns pods in kube-system), UDP and TCP 53.
DNS_PORT = 53
# - S3 and STS over HTTPS. A NetworkPolicy takes CIDRs, not names or the S3 managed prefix list
#   (pl-...), and S3's addresses change, so this is any address on port 443; the S3 gateway endpoint
#   (components/cluster.py) keeps that traffic off the NAT gateway in a dedicated VPC.
HTTPS_PORT = 443
# - The EKS Pod Identity Agent (hostNetwork on every node), HTTP on its link-local addresses
#   (EKS user guide, "Set up the Amazon EKS Pod Identity Agent": 169.254.170.23 and [fd00:ec2::23]).
#   The VPC CNI's network policy agent always admits the node's own IP (aws/aws-network-policy-agent#65),
#   but these are not the node's IP, so they are allowed by name; with Cilium the same policy is
#   known to need it (cilium/cilium#34387).
POD_IDENTITY_AGENT_CIDRS = ("169.254.170.23/32", "fd00:ec2::23/128")
# - Under modelAccess `node-role` only: the instance metadata service, for the node role's credentials.
IMDS_CIDR = "169.254.169.254/32"
HTTP_PORT = 80

# With autoscaling, what `pulumi up` leaves to KEDA's HPA after the Deployment is created. The Kubernetes provider
# applies server-side by default (since 4.0.0, pulumi-kubernetes#2398), as its own field manager, without force.
# The HPA controller writes spec.replicas through the scale subresource (manager kube-controller-manager, an
# Update), which takes the field's ownership; declaring replicas again would then fail the apply with "conflict
# with kube-controller-manager with subresource scale: .spec.replicas" (pulumi-kubernetes issues 2491, 2569), and
# with force it would reset the live count. Leaving replicas out instead would let SSA drop a field Pulumi owns,
# which resets it to 1. ignoreChanges does what is needed under SSA (provider/pkg/await/await.go
# handleSSAIgnoreFields; since 4.3.0 and 4.9.0, #2566 and #2828; read at 94977969, after v4.32.0; this project
# installs 4.34.2): a field another manager owns and Pulumi does not is dropped from the apply; one Pulumi still
# owns (no scaling yet) is sent with its live value. The engine keeps the old input, so a changed `replicas`
# shows no diff.
AUTOSCALED_FIELDS = ["spec.replicas"]
# Without autoscaling the program alone owns the Deployment, so its apply is forced (pulumi-kubernetes' SSA
# `pulumi.com/patchForce` annotation): a `kubectl scale` or `kubectl edit` in between, or the HPA's ownership of
# spec.replicas left from a stack that just turned autoscaling off, would otherwise fail the next `pulumi up`
# with a field-manager conflict; forced, the stack's values win, as infrastructure code should. Adding the
# annotation to a live Deployment changes its metadata only: no pod restarts.
PATCH_FORCE = {"pulumi.com/patchForce": "true"}


def deployment_annotations(image: str, autoscaled: bool) -> dict[str, str]:
    """The serving Deployment's annotations: checkov's skips with their reasons, and a forced apply unless KEDA
    owns the replica count (a forced apply would then take spec.replicas back from the HPA)."""
    return {**checkov_skips(image), **({} if autoscaled else PATCH_FORCE)}

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
    model_versions: Sequence[int] = ()
    """The versions to serve, exactly (a model config file); empty serves the highest version."""
    model_poll_seconds: int = 60
    """How often the sync sidecar looks at S3 for new versions; 0: no sidecar, the model is copied once."""
    model_volume_size: str = "10Gi"
    """sizeLimit of the model emptyDir, and the ephemeral storage its writers request."""
    pods_use_node_role: bool = False
    """modelAccess `node-role`: the pods read the model with the node role through IMDS, not Pod Identity."""
    pods_depend_on: Sequence[pulumi.Resource] = ()
    """What the Deployment is created after (the Pod Identity association, the device plugin). A component's
    `depends_on` does not reach its children, so the component's own options would not order the pods."""
    metrics_scraper_cidrs: pulumi.Input[Sequence[str]] | None = None
    """CIDRs of the managed Prometheus collector's subnets, admitted to the REST port (metrics); None: none."""
    autoscaled_max_replicas: int | None = None
    """With autoscaling: maxReplicas. KEDA's HPA owns the replica count (`replicas` only creates the Deployment),
    and a rollout may start with this many pods, so the update timeout covers them; None: `replicas` is the count."""


def egress_rules(pods_use_node_role: bool) -> list[k8s.networking.v1.NetworkPolicyEgressRuleArgs]:
    """Where the serving pods may connect: DNS, HTTPS, and the credentials' source (see the constants above)."""
    policy_port = k8s.networking.v1.NetworkPolicyPortArgs
    rules = [
        k8s.networking.v1.NetworkPolicyEgressRuleArgs(
            to=[k8s.networking.v1.NetworkPolicyPeerArgs(
                namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                    match_labels={"kubernetes.io/metadata.name": "kube-system"}),
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}))],
            ports=[policy_port(port=DNS_PORT, protocol="UDP"), policy_port(port=DNS_PORT, protocol="TCP")],
        ),
        k8s.networking.v1.NetworkPolicyEgressRuleArgs(
            to=[k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr="0.0.0.0/0"))],
            ports=[policy_port(port=HTTPS_PORT, protocol="TCP")],
        ),
    ]
    credentials = (IMDS_CIDR,) if pods_use_node_role else POD_IDENTITY_AGENT_CIDRS
    rules.append(k8s.networking.v1.NetworkPolicyEgressRuleArgs(
        to=[k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr))
            for cidr in credentials],
        ports=[policy_port(port=HTTP_PORT, protocol="TCP")],
    ))
    return rules


@dataclass(frozen=True)
class ServingPolicies:
    """What the serving pods' PodDisruptionBudget and NetworkPolicies need (`declare_pod_policies`)."""

    namespace: str
    namespace_name: pulumi.Input[str]
    metadata: Callable[[str], k8s.meta.v1.ObjectMetaArgs]
    """Metadata of the component's objects, from a name suffix ('' or '-clients')."""
    selector: dict[str, str]
    client_namespaces: Sequence[str]
    ports: Sequence[int]
    """The ports clients may call."""
    metrics_port: int
    metrics_scraper_cidrs: pulumi.Input[Sequence[str]] | None
    pods_use_node_role: bool


def declare_pod_policies(name: str, policies: ServingPolicies, opts: pulumi.ResourceOptions) -> None:
    """The serving pods' PodDisruptionBudget, their ingress (the client namespaces on `ports`, the metrics
    collector on `metrics_port`) and egress (`egress_rules`) NetworkPolicies, and the namespace's
    default-deny ingress; shared by TensorFlowServing and VllmServing, children of the component `opts` names."""
    metadata, selector = policies.metadata, policies.selector
    # Node drains and upgrades take one serving pod at a time.
    k8s.policy.v1.PodDisruptionBudget(
        f"{name}-pdb", metadata=metadata(""),
        spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
            max_unavailable=1, selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector)),
        opts=opts,
    )

    client_namespaces = [policies.namespace, *(n for n in policies.client_namespaces if n != policies.namespace)]
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
                       for port in policies.ports],
            )] + ([] if policies.metrics_scraper_cidrs is None else [k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                # The collector, by its subnets' CIDRs (it is not a pod), on the port that serves the metrics.
                from_=pulumi.Output.from_input(policies.metrics_scraper_cidrs).apply(
                    lambda cidrs: [k8s.networking.v1.NetworkPolicyPeerArgs(
                        ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr)) for cidr in cidrs]),
                ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=policies.metrics_port, protocol="TCP")],
            )]),
        ),
        opts=opts,
    )

    # Every pod in the namespace admits nothing unless a policy of its own says so (the one above does).
    k8s.networking.v1.NetworkPolicy(
        f"{name}-default-deny-ingress",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="default-deny-ingress", namespace=policies.namespace_name,
                                            labels={"app.kubernetes.io/managed-by": "pulumi"}),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(), policy_types=["Ingress"]),
        opts=opts,
    )
    k8s.networking.v1.NetworkPolicy(
        f"{name}-egress", metadata=metadata("-egress"),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
            policy_types=["Egress"],
            egress=egress_rules(policies.pods_use_node_role),
        ),
        opts=opts,
    )


@dataclass(frozen=True)
class ServingScaffold:
    """What both serving components (TensorFlowServing, VllmServing) start from: the namespace, the pods'
    ServiceAccount (no Kubernetes API token), their labels and selector, and metadata for their objects."""

    workload_name: str
    labels: dict[str, str]
    selector: dict[str, str]
    namespace_name: pulumi.Output[str]
    service_account: k8s.core.v1.ServiceAccount

    def metadata(self, suffix: str = "") -> k8s.meta.v1.ObjectMetaArgs:
        """`<workload><suffix>` in the serving namespace, with the pods' labels."""
        return k8s.meta.v1.ObjectMetaArgs(name=self.workload_name + suffix, namespace=self.namespace_name,
                                          labels=self.labels)

    def deployment_metadata(self, image: pulumi.Input[str], autoscaled: bool) -> k8s.meta.v1.ObjectMetaArgs:
        """The Deployment's metadata: its checkov skips and, unless KEDA owns the replica count, a forced apply."""
        return k8s.meta.v1.ObjectMetaArgs(
            name=self.workload_name, namespace=self.namespace_name, labels=self.labels,
            annotations=pulumi.Output.from_input(image).apply(lambda image: deployment_annotations(image, autoscaled)))


def pod_annotations(metrics_port: int, metrics_path: str, config_checksum: str) -> dict[str, str]:
    """The serving pods' annotations: where their Prometheus metrics are, and the checksum of their config files
    (a change rolls the pods)."""
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(metrics_port),
        "prometheus.io/path": metrics_path,
        "eks-inferentia/config-checksum": config_checksum,
    }


def serving_scaffold(name: str, workload_name: str, namespace: str, app_name: str,
                     k8s_opts: pulumi.ResourceOptions) -> ServingScaffold:
    """The serving namespace (`<name>-ns`) and ServiceAccount (`<name>-sa`), children of the calling component."""
    labels = {
        "app": workload_name,
        "app.kubernetes.io/name": app_name,
        "app.kubernetes.io/instance": workload_name,
        "app.kubernetes.io/managed-by": "pulumi",
    }
    namespace_resource = k8s.core.v1.Namespace(
        f"{name}-ns",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=namespace, labels={"app.kubernetes.io/managed-by": "pulumi"}),
        opts=k8s_opts,
    )
    namespace_name = namespace_resource.metadata.name
    service_account = k8s.core.v1.ServiceAccount(
        f"{name}-sa",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=workload_name, namespace=namespace_name, labels=labels),
        automount_service_account_token=False, opts=k8s_opts)
    return ServingScaffold(workload_name, labels, {"app": workload_name}, namespace_name, service_account)


def serving_deployment_spec(*, replicas: int, selector: dict[str, str], labels: dict[str, str],
                            rollout: tuple[int, int], pod_annotations: dict[str, str],
                            service_account_name: pulumi.Input[str], scheduler_name: str | None,
                            volumes: Sequence[k8s.core.v1.VolumeArgs],
                            init_containers: Sequence[k8s.core.v1.ContainerArgs],
                            containers: Sequence[k8s.core.v1.ContainerArgs]) -> k8s.apps.v1.DeploymentSpecArgs:
    """A serving Deployment's spec, shared by TensorFlowServing and VllmServing: rolling updates by `rollout`
    ((maxSurge, maxUnavailable)), the pods on the Neuron nodes (their taint tolerated), spread over zones and
    nodes, with their own ServiceAccount and no API token, seccomp RuntimeDefault."""
    max_surge, max_unavailable = rollout
    return k8s.apps.v1.DeploymentSpecArgs(
        replicas=replicas,
        selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
        strategy=k8s.apps.v1.DeploymentStrategyArgs(
            type="RollingUpdate",
            rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_surge=max_surge, max_unavailable=max_unavailable),
        ),
        template=k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels, annotations=pod_annotations),
            spec=k8s.core.v1.PodSpecArgs(
                service_account_name=service_account_name,
                automount_service_account_token=False,
                scheduler_name=scheduler_name,
                security_context=k8s.core.v1.PodSecurityContextArgs(seccomp_profile=RUNTIME_DEFAULT_SECCOMP),
                tolerations=[k8s.core.v1.TolerationArgs(key=NEURON_RESOURCE, operator="Exists", effect="NoSchedule")],
                topology_spread_constraints=[
                    k8s.core.v1.TopologySpreadConstraintArgs(
                        max_skew=1, topology_key=key, when_unsatisfiable="ScheduleAnyway",
                        label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector))
                    for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
                ],
                volumes=list(volumes),
                init_containers=list(init_containers),
                containers=list(containers),
            ),
        ),
    )


def rollout_waves(replicas: int, rollout: tuple[int, int]) -> int:
    """How many pods-at-a-time rounds a rolling update of `replicas` takes: it replaces
    max(maxSurge, maxUnavailable) pods per round (1 with either strategy in `eks_inferentia.capacity`)."""
    per_wave = max(*rollout, 1)
    return -(-replicas // per_wave)


def await_timeouts(replicas: int, rollout: tuple[int, int], versions_copied: int = 1) -> pulumi.CustomTimeouts:
    """How long `pulumi up` waits for the Deployment to become ready.

    pulumi-kubernetes waits 10 minutes by default (provider/pkg/await/deployment.go,
    `DefaultDeploymentTimeoutMins = 10`; `customTimeouts` wins over it), less than one pod may
    need: image pull, the first model copy (every version the pod starts with, before the server
    starts), the whole startup budget. One wave is that sum plus a margin; a create starts every
    pod at once (one wave), an update replaces them wave by wave.
    """
    wave = (IMAGE_PULL_ALLOWANCE_SECONDS + MODEL_COPY_ALLOWANCE_SECONDS * max(versions_copied, 1)
            + STARTUP_BUDGET_SECONDS + WAVE_MARGIN_SECONDS)
    create_minutes = -(-wave // 60)
    update_minutes = -(-wave * rollout_waves(replicas, rollout) // 60)
    return pulumi.CustomTimeouts(create=f"{create_minutes}m", update=f"{update_minutes}m")


def server_args(model_name: str, batching: bool = False, pinned_versions: bool = False) -> list[str]:
    # --model_config_file replaces --model_name and --model_base_path (TF Serving 2.10 main.cc: "If used,
    # --model_name, --model_base_path are ignored"), so only one of the two is passed.
    model = ([f"--model_config_file={CONFIG_DIR}/models.config"] if pinned_versions
             else [f"--model_name={model_name}", f"--model_base_path={MODEL_DIR}/{model_name}"])
    args = [
        f"--port={GRPC_PORT}",
        f"--rest_api_port={REST_PORT}",
        *model,
        f"--monitoring_config_file={CONFIG_DIR}/monitoring.config",
    ]
    if batching:
        args += ["--enable_batching=true", f"--batching_parameters_file={CONFIG_DIR}/batching.config"]
    return args


def model_config(model_name: str, versions: Sequence[int]) -> str:
    """A ModelServerConfig (text format) that serves exactly `versions` of the model
    (tensorflow_serving/config/model_server_config.proto, file_system_storage_path_source.proto)."""
    listed = "".join(f"        versions: {version}\n" for version in versions)
    return ("model_config_list {\n"
            "  config {\n"
            f'    name: "{model_name}"\n'
            f'    base_path: "{MODEL_DIR}/{model_name}"\n'
            '    model_platform: "tensorflow"\n'
            "    model_version_policy {\n"
            "      specific {\n"
            f"{listed}"
            "      }\n"
            "    }\n"
            "  }\n"
            "}\n")


def config_files(batching_parameters: str | None, model_name: str = "", model_versions: Sequence[int] = (),
                 sync_script: str = "") -> dict[str, str]:
    files = {"monitoring.config": MONITORING_CONFIG}
    if batching_parameters is not None:
        files["batching.config"] = batching_parameters + "\n"
    if model_versions:
        files["models.config"] = model_config(model_name, model_versions)
    if sync_script:
        files["model_sync.py"] = sync_script
    return files


def sync_command(model_base_path: str, model_name: str, versions: Sequence[int], poll_seconds: int,
                 pods_use_node_role: bool) -> list[str]:
    """The copier's command: once (`poll_seconds` 0, the init container) or every `poll_seconds` (the sidecar).
    Under Pod Identity it first checks the pod got its credentials, with a message that says what to do."""
    command = ["python3", f"{CONFIG_DIR}/model_sync.py", "--source", model_base_path.rstrip("/") + "/",
               "--dest", f"{MODEL_DIR}/{model_name}", "--staging", STAGING_DIR,
               "--credentials", "node-role" if pods_use_node_role else "pod-identity"]
    if versions:
        command += ["--versions", ",".join(map(str, versions))]
    return command + (["--interval", str(poll_seconds)] if poll_seconds else ["--once"])


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
        scaffold = serving_scaffold(name, args.name, args.namespace, "tensorflow-serving", k8s_opts)
        labels, selector, namespace_name = scaffold.labels, scaffold.selector, scaffold.namespace_name
        metadata, service_account = scaffold.metadata, scaffold.service_account

        files = config_files(args.batching_parameters, args.model_name, args.model_versions, SYNC_SCRIPT.read_text())
        config_map = k8s.core.v1.ConfigMap(f"{name}-config", metadata=metadata("-config"), data=files, opts=k8s_opts)
        # A config change rolls the pods: TensorFlow Serving reads these files only at start. That includes
        # modelVersions (models.config): the server could poll it (--model_config_file_poll_wait_seconds), but
        # then it would drop the old versions before the sidecar had copied the new ones, on its own schedule
        # after the kubelet refreshed the ConfigMap, where `pulumi up` waits for nothing and the smoke test
        # sees nothing. A rollout starts each new pod with exactly the new versions, and is awaited and checked.
        config_checksum = hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest()[:16]

        region_env = [
            k8s.core.v1.EnvVarArgs(name="AWS_REGION", value=args.region),
            k8s.core.v1.EnvVarArgs(name="AWS_DEFAULT_REGION", value=args.region),
        ]
        scratch_env = [k8s.core.v1.EnvVarArgs(name="HOME", value=SCRATCH_DIR),
                       k8s.core.v1.EnvVarArgs(name="TMPDIR", value=SCRATCH_DIR)]
        if not args.pods_use_node_role:
            # Pod Identity only: a missing association fails at once instead of after IMDS time-outs.
            region_env.append(k8s.core.v1.EnvVarArgs(name="AWS_EC2_METADATA_DISABLED", value="true"))
        copier_env = [*region_env, *scratch_env, k8s.core.v1.EnvVarArgs(name="PYTHONDONTWRITEBYTECODE", value="1")]
        copier_mounts = [
            k8s.core.v1.VolumeMountArgs(name="model", mount_path=MODEL_DIR),
            k8s.core.v1.VolumeMountArgs(name="scratch", mount_path=SCRATCH_DIR),
            k8s.core.v1.VolumeMountArgs(name="config", mount_path=CONFIG_DIR, read_only=True),
        ]

        def copier(name: str, poll_seconds: int, requests: dict[str, str], limits: dict[str, str],
                   restart_policy: str | None = None) -> k8s.core.v1.ContainerArgs:
            # The model volume's writers request its size: emptyDir usage counts against the pod, and a
            # sidecar's requests add to the server's, so the scheduler reserves it once for the pod's life.
            return k8s.core.v1.ContainerArgs(
                name=name,
                image=args.image,
                image_pull_policy="Always",
                restart_policy=restart_policy,
                command=sync_command(args.model_base_path, args.model_name, args.model_versions, poll_seconds,
                                     args.pods_use_node_role),
                env=copier_env,
                volume_mounts=copier_mounts,
                security_context=hardened_container(run_as_user=COPIER_UID),
                resources=k8s.core.v1.ResourceRequirementsArgs(
                    requests={**requests, "ephemeral-storage": args.model_volume_size}, limits=limits),
            )

        # First the whole copy, before the server starts; then, when polling, the sidecar that keeps it current.
        copiers = [copier("fetch-model", 0, {"cpu": "250m", "memory": "256Mi"}, {"cpu": "1", "memory": "512Mi"})]
        if args.model_poll_seconds:
            copiers.append(copier("model-sync", args.model_poll_seconds, {"cpu": "50m", "memory": "128Mi"},
                                  {"cpu": "500m", "memory": "512Mi"}, restart_policy="Always"))
        model_status = k8s.core.v1.HTTPGetActionArgs(path=f"/v1/models/{args.model_name}", port="http")
        neuron = str(args.neuron_devices_per_replica)

        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=scaffold.deployment_metadata(args.image, autoscaled=args.autoscaled_max_replicas is not None),
            spec=serving_deployment_spec(
                replicas=args.replicas, selector=selector, labels=labels, rollout=args.rollout,
                pod_annotations=pod_annotations(REST_PORT, METRICS_PATH, config_checksum),
                service_account_name=service_account.metadata.name,
                scheduler_name=args.scheduler_name,
                volumes=[
                    k8s.core.v1.VolumeArgs(name="model", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
                        size_limit=args.model_volume_size)),
                    k8s.core.v1.VolumeArgs(name="scratch", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs()),
                    k8s.core.v1.VolumeArgs(name="config", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                        name=config_map.metadata.name)),
                ],
                init_containers=copiers,
                containers=[k8s.core.v1.ContainerArgs(
                    name=CONTAINER_NAME,
                    image=args.image,
                    image_pull_policy="Always",
                    command=[TF_SERVING_BINARY],
                    args=server_args(args.model_name, batching=args.batching_parameters is not None,
                                     pinned_versions=bool(args.model_versions)),
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
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(
                custom_timeouts=await_timeouts(max(args.replicas, args.autoscaled_max_replicas or 0), args.rollout,
                                               max(len(args.model_versions), 1)),
                ignore_changes=AUTOSCALED_FIELDS if args.autoscaled_max_replicas is not None else None,
                depends_on=list(args.pods_depend_on))),
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

        declare_pod_policies(name, ServingPolicies(
            namespace=args.namespace, namespace_name=namespace_name, metadata=metadata, selector=selector,
            client_namespaces=args.client_namespaces, ports=(GRPC_PORT, REST_PORT), metrics_port=REST_PORT,
            metrics_scraper_cidrs=args.metrics_scraper_cidrs, pods_use_node_role=args.pods_use_node_role),
            k8s_opts)

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
