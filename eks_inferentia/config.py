"""Stack configuration: every key, its type, default and rule, in one place.

`CONFIG_KEYS` is the single declaration of the `eks-inferentia` config namespace; `Pulumi.yaml`
declares the same keys (a test keeps the two in step). `load_config` reads raw string values
(as the Pulumi CLI hands them to the program, or as `tools.render` builds them), applies the
defaults itself (the SDK does not apply `Pulumi.yaml` defaults; the CLI does), checks every
rule, and either returns one frozen `StackConfig` or raises `ConfigError` listing every
problem at once. It runs before any resource is declared, so bad config deploys nothing.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal, TypeVar

import pulumi

from eks_inferentia.capacity import (
    NodeDaemons,
    NodePoolLimit,
    ReplicaRange,
    ServingShape,
    capacity_problems,
    keyed_capacity_warnings,
)
from eks_inferentia.images import NEURON_DLC_REGIONS
from eks_inferentia.instance_types import INSTANCE_TYPES, TRAINIUM_DEVICE_COUNTS, InstanceTypeFacts, supported_instance_types
from eks_inferentia.metrics import NEURON_MONITOR_CPU_REQUEST, NEURON_MONITOR_MEMORY_REQUEST
from eks_inferentia.quantity import GIB, MIB, QuantityError, format_memory, parse_quantity
from eks_inferentia.versions import DEFAULT_KARPENTER_AMI_ALIAS, KARPENTER_CHART_VERSION, karpenter_supports, unpinned_addons

NAMESPACE = "eks-inferentia"

ConfigType = Literal["string", "integer", "boolean", "array"]

# Kubernetes versions that EKS supports (standard or extended support) on 2026-11-25 and for which
# the EKS-optimized Amazon Linux 2023 Neuron AMI (AMI type AL2023_x86_64_NEURON) is published.
# 1.31 leaves extended support on 2026-11-26; 1.34 leaves standard support on 2026-12-02, so the
# default is 1.35 (standard support until 2027-03-27).
SUPPORTED_KUBERNETES_VERSIONS = ("1.32", "1.33", "1.34", "1.35", "1.36")

# The Neuron Helm chart version this release is tested against (see components/device_plugin.py).
DEFAULT_NEURON_CHART_VERSION = "1.10.0"

CAPACITY_TYPES = ("ON_DEMAND", "SPOT")
# Who launches the Neuron nodes: an EKS managed node group of fixed size, or Karpenter, from pending pods.
NODE_PROVISIONERS = ("managed", "karpenter")
# Karpenter's NodePool may allow both capacity types (it then launches Spot when it can, On-Demand otherwise).
SPOT_AND_ON_DEMAND = "SPOT_AND_ON_DEMAND"
S3_ACCESS_MODES = ("bucket", "all")
# Whose credentials read the model: a role of the serving pods' own (EKS Pod Identity), or the node role.
MODEL_ACCESS_MODES = ("pod-identity", "node-role")
NEURON_SCHEDULER_MODES = ("auto", "enabled", "disabled")
TARGET_DECIMALS = 3
OPEN_TO_THE_WORLD = ("0.0.0.0/0", "::/0")
# modelPollSeconds: 0 copies the model once at pod start; otherwise a sidecar lists the S3 prefix this often
# (one LIST request and one AWS CLI start a round, so not more often than every 10 s; at least daily).
MODEL_POLL_MIN_SECONDS = 10
MODEL_POLL_MAX_SECONDS = 86400
# modelVersions: every listed version is copied to each pod and loaded onto its NeuronCores at once.
MAX_MODEL_VERSIONS = 8
# TensorFlow Serving's BatchingParameters (session_bundle_config.proto), in text format.
DEFAULT_BATCHING_PARAMETERS = (
    "max_batch_size { value: 8 } batch_timeout_micros { value: 2000 } "
    "num_batch_threads { value: 4 } max_enqueued_batches { value: 100 }"
)
# By how each field is written: `name { value: N }`, `allowed_batch_sizes: N` (repeated), `name: true|false`.
_WRAPPED_BATCHING_FIELDS = ("max_batch_size", "batch_timeout_micros", "num_batch_threads", "max_enqueued_batches",
                            "thread_pool_name", "enable_large_batch_splitting")
_BOOLEAN_BATCHING_FIELDS = ("pad_variable_length_inputs", "enable_large_batch_splitting")
_BATCHING_FIELDS = ("max_batch_size", "batch_timeout_micros", "num_batch_threads", "max_enqueued_batches",
                    "thread_pool_name", "allowed_batch_sizes", "pad_variable_length_inputs", "enable_large_batch_splitting")

# servingRuntime: the walkthrough's TensorFlow Serving, or vLLM's OpenAI-compatible server (issue 14).
SERVING_RUNTIMES = ("tensorflow-serving", "vllm")
VLLM_FAMILIES = "inf2, trn1, trn1n or trn2"
# Keys that configure TensorFlow Serving only, refused under vllm when the stack sets them, each with why.
TF_SERVING_ONLY_KEYS: dict[str, str] = {
    "modelVersions": "a Hugging Face model folder has no version folders; point modelBasePath at another folder "
                     "to change the model",
    "modelPollSeconds": "vllm copies the model once at pod start; a new modelBasePath rolls the pods",
    "modelCompiledFor": "vLLM compiles the model for instanceType itself, or loads compiledArtifactsPath",
    "servingBatching": "vLLM batches continuously; maxConcurrentSequences sets how many sequences run together",
    "batchingParameters": "vLLM batches continuously; maxConcurrentSequences sets how many sequences run together",
    "targetRequestsPerSecond": "an LLM request's cost varies a hundredfold with its prompt and output, so autoscaling "
                               "under vllm scales on the requests waiting in vLLM's queue, targetRequestsWaiting",
}
# Keys that configure vLLM only, refused under tensorflow-serving when the stack sets them.
VLLM_ONLY_KEYS = ("tensorParallelSize", "maxModelLength", "maxConcurrentSequences", "compiledArtifactsPath",
                  "modelSizeGiB", "targetRequestsWaiting")
# targetRequestsWaiting's ceiling, in multiples of maxConcurrentSequences: a pod whose queue holds that many requests
# makes a newly arrived one wait for about four full batches to finish before its first token (tens of seconds for a
# 7-8B model writing hundreds of tokens). Past it the target no longer bounds latency: it is a typo, not a choice.
TARGET_WAITING_PER_SEQUENCE = 4
# latencyObjectiveMs under vllm is the p99 time to first token, for which the default 100 ms is tight.
VLLM_SUGGESTED_LATENCY_OBJECTIVE_MS = 2000
# modelSizeGiB rules (estimates, not published figures; README "Serving an LLM with vLLM"): NxD Inference
# reads the checkpoint into host memory and shards it there before the shards go to the NeuronCores, so the
# weights are held about twice at the peak, plus the server, tokenizer and Python; the model volume holds the
# weights and the compiled artifacts (NEFFs, a few GiB for a 7-8B model).
VLLM_HOST_MEMORY_FACTOR = 2
VLLM_SERVER_MEMORY_GIB = 2
VLLM_ARTIFACTS_ALLOWANCE_GIB = 5


def neuron_node_daemons(monitoring: bool) -> NodeDaemons:
    """What this stack's DaemonSets request on every Neuron node: neuron-monitor's, when `monitoring` is on."""
    if not monitoring:
        return NodeDaemons()
    return NodeDaemons(cpu=parse_quantity(NEURON_MONITOR_CPU_REQUEST), memory=parse_quantity(NEURON_MONITOR_MEMORY_REQUEST),
                       names=("neuron-monitor",))


@dataclass(frozen=True)
class ConfigKey:
    name: str
    type: ConfigType
    default: Any
    description: str
    required: bool = False
    items: Literal["string", "integer"] = "string"
    """The type of an array's items (Pulumi.yaml `items: type:`)."""


CONFIG_KEYS: tuple[ConfigKey, ...] = (
    ConfigKey("clusterName", "string", "inferentia",
              "Name of the EKS cluster (1-100 characters: letters, digits, '-' and '_', starting with a letter or digit)."),
    ConfigKey("kubernetesVersion", "string", "1.35",
              f"Kubernetes version of the cluster; one of {', '.join(SUPPORTED_KUBERNETES_VERSIONS)}, and only a "
              "version whose EKS add-ons are all pinned (eks_inferentia/versions.py; 1.36 not yet). Upgrade one minor at a time."),
    ConfigKey("instanceType", "string", "inf1.2xlarge",
              "EC2 instance type of the Neuron node group: an inf1, inf2, trn1, trn1n or trn2 size."),
    ConfigKey("desiredNodes", "integer", 2,
              "Number of Neuron nodes to run (0 <= minNodes <= desiredNodes <= maxNodes); no other value than the "
              "default under nodeProvisioner karpenter."),
    ConfigKey("minNodes", "integer", 1,
              "Minimum size of the Neuron node group; no other value than the default under nodeProvisioner karpenter."),
    ConfigKey("maxNodes", "integer", 4,
              "Maximum size of the Neuron node group (at least 1); under nodeProvisioner karpenter, the NodePool's limit is "
              "maxNodes x the Neuron devices of its largest instance type."),
    ConfigKey("capacityType", "string", "ON_DEMAND",
              "Capacity type of the Neuron nodes: ON_DEMAND or SPOT, or under nodeProvisioner karpenter also SPOT_AND_ON_DEMAND."),
    ConfigKey("sshPublicKey", "string", "",
              "OpenSSH public key for SSH access to the nodes; empty (default) turns SSH off. Prefer SSM Session Manager."),
    ConfigKey("sshAllowedCidrs", "array", [],
              "CIDRs allowed to reach port 22 when sshPublicKey is set; required then, and never 0.0.0.0/0 or ::/0."),
    ConfigKey("vpcId", "string", "",
              "ID of an existing VPC to use; empty (default) creates a dedicated VPC. Set with privateSubnetIds and publicSubnetIds."),
    ConfigKey("privateSubnetIds", "array", [], "Private subnets of the existing VPC (nodes run here)."),
    ConfigKey("publicSubnetIds", "array", [], "Public subnets of the existing VPC (for internet-facing load balancers)."),
    ConfigKey("availabilityZones", "array", [],
              "Availability zones of the dedicated VPC, at least two standard zones of the region (no Local or "
              "Wavelength Zones); empty (default) takes the region's first two by name. Never follows instanceType, "
              "so changing it never moves the network; the Neuron nodes use those of these zones that offer it."),
    ConfigKey("namespace", "string", "inference", "Kubernetes namespace of the TensorFlow Serving workload (a DNS-1123 label)."),
    ConfigKey("servingName", "string", "eks-neuron-test",
              "Name of the TensorFlow Serving Deployment and Service (a DNS-1123 label)."),
    ConfigKey("replicas", "integer", 2, "Number of TensorFlow Serving pods (at least 1)."),
    ConfigKey("neuronDevicesPerReplica", "integer", 1,
              "Neuron devices (aws.amazon.com/neuron) each pod requests; at most the instance type's device count; "
              f"on Trainium one of {', '.join(map(str, TRAINIUM_DEVICE_COUNTS))}."),
    ConfigKey("cpuRequest", "string", "1", "CPU each serving pod requests, a Kubernetes quantity (at most cpuLimit)."),
    ConfigKey("cpuLimit", "string", "4", "CPU limit of each serving pod, a Kubernetes quantity."),
    ConfigKey("memoryRequest", "string", "1Gi", "Memory each serving pod requests, a Kubernetes quantity (at most memoryLimit)."),
    ConfigKey("memoryLimit", "string", "4Gi", "Memory limit of each serving pod, a Kubernetes quantity."),
    ConfigKey("neuronScheduler", "string", "auto",
              "Neuron scheduler extension, for contiguous devices: 'auto' (on when neuronDevicesPerReplica > 1), "
              "'enabled' or 'disabled'."),
    ConfigKey("modelName", "string", "resnet50_neuron",
              "Name TensorFlow Serving serves the model under (clients ask for this name)."),
    ConfigKey("modelBasePath", "string", None,
              "S3 location of the Neuron-compiled SavedModel, s3://bucket/prefix (required).", required=True),
    ConfigKey("modelVersions", "array", [],
              "Model versions (the N of s3://.../N/) TensorFlow Serving serves, exactly these: positive integers, each "
              f"once, at most {MAX_MODEL_VERSIONS}; only they are copied. Empty (default) serves the highest version. "
              "A change rolls the pods; to roll back, set the previous version.", items="integer"),
    ConfigKey("modelPollSeconds", "integer", 60,
              "Seconds between a sidecar's looks at modelBasePath: a new version folder is copied and served without a "
              f"redeploy, versions gone from S3 are removed. 0 copies once at pod start; else {MODEL_POLL_MIN_SECONDS} "
              f"to {MODEL_POLL_MAX_SECONDS}."),
    ConfigKey("modelVolumeSize", "string", "10Gi",
              "Size of each pod's model volume (emptyDir sizeLimit, requested as ephemeral-storage), a Kubernetes "
              "quantity: room for the versions served plus one more being copied. Pods on one node must fit its "
              "root volume."),
    ConfigKey("modelCompiledFor", "string", "",
              "What the model was compiled with: 'neuron' (tensorflow-neuron, for inf1) or 'neuronx' "
              "(tensorflow-neuronx, for inf2, trn1, trn1n, trn2); must match instanceType. Empty (default) skips the "
              "check, with a warning."),
    ConfigKey("modelKmsKeyArn", "string", "",
              "ARN of the customer-managed KMS key that encrypts the model's objects (SSE-KMS); the nodes get "
              "kms:Decrypt on it through S3 only. Empty (default) for SSE-S3 or unencrypted objects."),
    ConfigKey("modelAccess", "string", "pod-identity",
              "Whose credentials read the model: 'pod-identity' (default: an IAM role for the serving ServiceAccount "
              "only, through EKS Pod Identity; the node role gets no S3 access and pods cannot reach the node's "
              "metadata service) or 'node-role' (the walkthrough's: the node role reads the model, with a warning). "
              "Changing it rolls the Neuron nodes."),
    ConfigKey("servingImage", "string", "",
              "TensorFlow Serving image; empty (default) picks the Deep Learning Container for the instance family and region."),
    ConfigKey("allowedClientNamespaces", "array", [],
              "Namespaces whose pods may call the model (NetworkPolicy); the serving namespace is always allowed."),
    ConfigKey("servingBatching", "boolean", False,
              "Server-side batching in TensorFlow Serving (--enable_batching), the main throughput lever on NeuronCores."),
    ConfigKey("batchingParameters", "string", DEFAULT_BATCHING_PARAMETERS,
              "TensorFlow Serving batching parameters (text format) used when servingBatching is true."),
    ConfigKey("smokeTest", "boolean", True,
              "After the Deployment is ready, a Job asks the model's status and one prediction; `pulumi up` fails if they fail."),
    ConfigKey("s3Access", "string", "bucket",
              "What the model's credentials may read (the pods' role, or the node role under modelAccess 'node-role'): "
              "'bucket' (only the model prefix) or 'all' (AmazonS3ReadOnlyAccess)."),
    ConfigKey("neuronChartVersion", "string", DEFAULT_NEURON_CHART_VERSION,
              "Version of the Neuron Helm chart (oci://public.ecr.aws/neuron/neuron-helm-chart)."),
    ConfigKey("apiAllowedCidrs", "array", list(OPEN_TO_THE_WORLD[:1]),
              "CIDRs that may reach the cluster's public API endpoint (private access is always on); "
              "the default, the whole internet, gets a warning."),
    ConfigKey("systemNodes", "integer", 0,
              "Size of a small CPU node group for CoreDNS and add-ons; when above 0, Neuron nodes get the "
              "aws.amazon.com/neuron=true:NoSchedule taint so only accelerator work lands on them."),
    ConfigKey("systemNodeInstanceType", "string", "m6i.large", "EC2 instance type of the system node group."),
    # Monitoring (issue 10): Amazon Managed Service for Prometheus, neuron-monitor, alerts to SNS.
    ConfigKey("monitoring", "boolean", True,
              "An Amazon Managed Service for Prometheus workspace and managed collector scraping TensorFlow Serving and "
              "neuron-monitor (a DaemonSet on the Neuron nodes), recording rules, alerts to an SNS topic; false declares none of it."),
    ConfigKey("latencyObjectiveMs", "integer", 100,
              "p99 prediction latency objective in milliseconds (1 to 600000): above it for 10 minutes, an alert fires. "
              "Under servingRuntime vllm, the p99 time to first token."),
    ConfigKey("alertEmail", "string", "",
              "Email address subscribed to the alerts' SNS topic (it must confirm SNS's mail); empty (default): none."),
    ConfigKey("scraperSubnetIds", "array", [],
              "With vpcId: two or more subnets of it, in two zones, for the managed collector's network interfaces; "
              "the NetworkPolicies admit their CIDRs to the metrics ports, so use subnets without pods. Empty (default): "
              "privateSubnetIds, with a warning. Without vpcId leave it empty: the dedicated VPC gets two /28s for it."),
    # Autoscaling (issue 11): KEDA scales the serving Deployment on the model's request rate in Amazon Managed Prometheus.
    ConfigKey("autoscaling", "boolean", False,
              "KEDA scales the serving pods between minReplicas and maxReplicas on the model's prediction rate (under "
              "vllm, the requests waiting in vLLM's queue) in Amazon Managed Prometheus (needs monitoring); replicas "
              "is then only the initial size, and `pulumi up` leaves the live count to KEDA. No scale to zero."),
    ConfigKey("minReplicas", "integer", 1,
              "With autoscaling: the fewest serving pods (at least 1; at most replicas)."),
    ConfigKey("maxReplicas", "integer", 4,
              "With autoscaling: the most serving pods (at least replicas); maxNodes nodes (under nodeProvisioner "
              "karpenter, the NodePool's limit) must hold them."),
    # Pulumi.yaml has no number type (string, integer, boolean, array), so a string the program reads as a decimal.
    ConfigKey("targetRequestsPerSecond", "string", "",
              "With autoscaling (required then): predictions per second one pod should carry, a decimal number above 0 "
              f"with at most {TARGET_DECIMALS} decimals; set it 10-20 % below one pod's measured saturation "
              "(README, \"Autoscaling\"). Refused under servingRuntime vllm, which scales on targetRequestsWaiting."),
    ConfigKey("targetRequestsWaiting", "integer", 0,
              "vllm, with autoscaling (required then): requests waiting in vLLM's queue per pod that KEDA aims for, "
              f"1 to {TARGET_WAITING_PER_SEQUENCE} x maxConcurrentSequences (README, \"Autoscaling\"). 0 (default) "
              "otherwise; refused under tensorflow-serving."),
    # Node provisioning (issue 11): Karpenter launches the Neuron nodes from pending pods.
    ConfigKey("nodeProvisioner", "string", "managed",
              "Who launches the Neuron nodes: 'managed' (an EKS managed node group of desiredNodes nodes) or 'karpenter' "
              f"(Karpenter {KARPENTER_CHART_VERSION} on the system nodes, systemNodes >= 1, launches nodes for pending "
              "pods and removes idle ones; desiredNodes and minNodes then keep their defaults, which it ignores)."),
    ConfigKey("extraInstanceTypes", "array", [],
              "Under nodeProvisioner karpenter, more Neuron instance types the NodePool may launch besides instanceType: "
              "of instanceType's NeuronCore generation, each with at least neuronDevicesPerReplica devices. [] under managed."),
    ConfigKey("karpenterAmiAlias", "string", DEFAULT_KARPENTER_AMI_ALIAS,
              "The EKS-optimized AL2023 AMI release of the Karpenter nodes, al2023@vYYYYMMDD (an awslabs/amazon-eks-ami "
              "release; never al2023@latest). A change replaces the Neuron nodes one at a time."),
    # Serving runtime (issue 14): vLLM's OpenAI-compatible server for large language models.
    ConfigKey("servingRuntime", "string", "tensorflow-serving",
              "What serves the model: 'tensorflow-serving' (default, the walkthrough's) or 'vllm' (vLLM's "
              f"OpenAI-compatible server on port 8000, {VLLM_FAMILIES} only). Under vllm modelBasePath is the S3 folder "
              "of a Hugging Face-format model (config, tokenizer, safetensors), modelName the name clients pass as "
              "`model`, and modelVersions, modelPollSeconds, modelCompiledFor, servingBatching and batchingParameters "
              "are refused. Changing it replaces the serving workload."),
    ConfigKey("tensorParallelSize", "integer", 0,
              "vllm: NeuronCores one model instance is sharded over (--tensor-parallel-size); 0 (default) takes every "
              "NeuronCore of the pod's devices (2 per inf2/trn1 device, 4 logical per trn2 device); else a divisor of them."),
    ConfigKey("maxModelLength", "integer", 4096,
              "vllm: longest sequence, prompt plus output, in tokens (--max-model-len); at most the model's own limit."),
    ConfigKey("maxConcurrentSequences", "integer", 8,
              "vllm: sequences one pod runs at once (--max-num-seqs); more requests wait in vLLM's queue."),
    ConfigKey("compiledArtifactsPath", "string", "",
              "vllm: S3 folder of pre-compiled Neuron artifacts for this model, instanceType and the three keys above, "
              "inside modelBasePath (s3://.../model/neuron-artifacts/inf2-tp2/; the model's grant covers it); copied "
              "beside the model so a pod loads them instead of compiling. Empty (default): each pod compiles at "
              "start, and the startup budget and `pulumi up` wait an hour longer (README)."),
    ConfigKey("modelSizeGiB", "integer", 0,
              "vllm: size of the model's weights in GiB (the safetensors files); when set, memoryRequest must hold "
              f"{VLLM_HOST_MEMORY_FACTOR} x this + {VLLM_SERVER_MEMORY_GIB} GiB and modelVolumeSize this + "
              f"{VLLM_ARTIFACTS_ALLOWANCE_GIB} GiB (estimates, README). 0 (default): unchecked, with a warning."),
)

KEYS_BY_NAME: dict[str, ConfigKey] = {key.name: key for key in CONFIG_KEYS}


@dataclass(frozen=True)
class StackConfig:
    """The validated configuration of one stack. Built only by `load_config`."""

    cluster_name: str
    kubernetes_version: str
    instance_type: str
    desired_nodes: int
    min_nodes: int
    max_nodes: int
    capacity_type: str
    ssh_public_key: str | None
    ssh_allowed_cidrs: tuple[str, ...]
    vpc_id: str | None
    private_subnet_ids: tuple[str, ...]
    availability_zones: tuple[str, ...]
    public_subnet_ids: tuple[str, ...]
    namespace: str
    serving_name: str
    replicas: int
    neuron_devices_per_replica: int
    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str
    neuron_scheduler: str
    model_name: str
    model_base_path: str
    model_versions: tuple[int, ...]
    model_poll_seconds: int
    model_volume_size: str
    model_compiled_for: str | None
    model_kms_key_arn: str | None
    model_access: str
    serving_image: str | None
    s3_access: str
    neuron_chart_version: str
    allowed_client_namespaces: tuple[str, ...]
    serving_batching: bool
    batching_parameters: str
    smoke_test: bool
    api_allowed_cidrs: tuple[str, ...]
    system_nodes: int
    system_node_instance_type: str
    aws_profile: str | None = None
    """`aws:profile` of the stack: the Kubernetes provider signs its requests with it too."""
    monitoring: bool = True
    latency_objective_ms: int = 100
    alert_email: str | None = None
    scraper_subnet_ids: tuple[str, ...] = ()
    autoscaling: bool = False
    min_replicas: int = 1
    max_replicas: int = 4
    target_requests_per_second: Fraction | None = None
    """Set (and above 0) exactly when autoscaling is on under servingRuntime tensorflow-serving."""
    target_requests_waiting: int = 0
    """Above 0 exactly when autoscaling is on under servingRuntime vllm."""

    node_provisioner: str = "managed"
    extra_instance_types: tuple[str, ...] = ()
    karpenter_ami_alias: str = DEFAULT_KARPENTER_AMI_ALIAS

    @property
    def replica_range(self) -> ReplicaRange | None:
        """[minReplicas, maxReplicas] with autoscaling; None without."""
        return ReplicaRange(self.min_replicas, self.max_replicas) if self.autoscaling else None

    serving_runtime: str = "tensorflow-serving"
    tensor_parallel_size: int = 0
    """Resolved: never 0 under vllm (0 in the config means every NeuronCore of the pod)."""
    max_model_length: int = 4096
    max_concurrent_sequences: int = 8
    compiled_artifacts_path: str | None = None
    model_size_gib: int = 0

    @property
    def uses_vllm(self) -> bool:
        return self.serving_runtime == "vllm"

    @property
    def scaling_target(self) -> Fraction | None:
        """KEDA's per-pod target (components/autoscaling.py) with autoscaling: targetRequestsWaiting under vllm,
        targetRequestsPerSecond under tensorflow-serving; None without autoscaling."""
        if not self.autoscaling:
            return None
        return Fraction(self.target_requests_waiting) if self.uses_vllm else self.target_requests_per_second

    @property
    def serving_shape(self) -> ServingShape:
        return ServingShape(
            instance=self.instance, replicas=self.replicas, devices_per_replica=self.neuron_devices_per_replica,
            desired_nodes=self.desired_nodes, max_nodes=self.max_nodes,
            cpu_request=parse_quantity(self.cpu_request), memory_request=parse_quantity(self.memory_request),
            model_volume=parse_quantity(self.model_volume_size), node_daemons=neuron_node_daemons(self.monitoring),
            scaling=self.replica_range,
            node_pool=NodePoolLimit(tuple(INSTANCE_TYPES[t] for t in self.neuron_instance_types), self.max_nodes)
            if self.uses_karpenter else None,
        )

    @property
    def uses_karpenter(self) -> bool:
        """Karpenter launches the Neuron nodes (no managed Neuron node group)."""
        return self.node_provisioner == "karpenter"

    @property
    def node_pool_neuron_limit(self) -> int:
        """The NodePool's limit on aws.amazon.com/neuron: maxNodes x the devices of its largest instance type."""
        return self.max_nodes * max(INSTANCE_TYPES[t].neuron_devices for t in self.neuron_instance_types)

    @property
    def neuron_instance_types(self) -> tuple[str, ...]:
        """Every instance type the Neuron nodes may have: instanceType, then extraInstanceTypes (Karpenter only)."""
        return (self.instance_type, *self.extra_instance_types)

    @property
    def uses_neuron_scheduler(self) -> bool:
        """Whether the Neuron scheduler extension places the serving pods."""
        if self.neuron_scheduler == "auto":
            return self.neuron_devices_per_replica > 1
        return self.neuron_scheduler == "enabled"

    @property
    def has_system_nodes(self) -> bool:
        return self.system_nodes > 0

    @property
    def instance(self) -> InstanceTypeFacts:
        return INSTANCE_TYPES[self.instance_type]

    @property
    def uses_existing_vpc(self) -> bool:
        return self.vpc_id is not None

    @property
    def collector_subnet_ids(self) -> tuple[str, ...]:
        """Subnets of an existing VPC for the managed collector: scraperSubnetIds, else the private subnets;
        () with the dedicated VPC, which gets subnets of the collector's own."""
        if not self.uses_existing_vpc:
            return ()
        return self.scraper_subnet_ids or self.private_subnet_ids

    @property
    def model_bucket(self) -> str:
        return split_s3_uri(self.model_base_path)[0]

    @property
    def model_prefix(self) -> str:
        return split_s3_uri(self.model_base_path)[1]

    @property
    def uses_pod_identity(self) -> bool:
        """The serving pods read the model with a role of their own, not the node role's."""
        return self.model_access == "pod-identity"


class ConfigError(pulumi.RunError):
    """Every problem found in a stack's configuration, one message per problem.

    A `RunError`, so `pulumi up` prints the problems without a Python traceback."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            f"invalid configuration ({len(problems)} problem{'s' if len(problems) != 1 else ''}); "
            "nothing was deployed:\n" + "\n".join(f"  - {p}" for p in problems)
        )


_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$")
_DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# TF Serving takes the model name into URLs (/v1/models/<name>) and metric labels.
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_SSH_KEY = re.compile(
    r"^(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521) [A-Za-z0-9+/]+={0,3}( .*)?$"
)
# [registry[:port]/]path[:tag][@sha256:digest], the grammar of docker/distribution's reference package.
_IMAGE_REF = re.compile(
    r"^(?:(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$")
_BATCHING_FIELD = (rf"(?:(?:{'|'.join(_WRAPPED_BATCHING_FIELDS)}) \{{ ?value: ?(?:\d+|\"[\w-]+\") ?\}}"
                   r"|allowed_batch_sizes: ?\d+"
                   rf"|(?:{'|'.join(_BOOLEAN_BATCHING_FIELDS)}): ?(?:true|false))")
_BATCHING_PARAMETERS = re.compile(rf"^{_BATCHING_FIELD}(?: {_BATCHING_FIELD})*$")
_KMS_KEY_ARN = re.compile(
    r"^arn:aws(-cn|-us-gov)?:kms:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:key/([0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$")
_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8,17}$")
# A standard zone: region name and one letter (us-west-2a). Local Zones (us-west-2-lax-1a) and
# Wavelength Zones (us-east-1-wl1-bos-wlz-1) carry more, and have no EKS control plane or Neuron types.
_STANDARD_ZONE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d[a-z]$")
COMPILERS = {"neuron": "tensorflow-neuron", "neuronx": "tensorflow-neuronx"}
# One address: a local part and a dotted domain, no blanks, commas or angle brackets (SNS takes one address).
_EMAIL_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_EMAIL_LABEL}(?:\.{_EMAIL_LABEL})+$")
MAX_LATENCY_OBJECTIVE_MS = 600_000
# targetRequestsPerSecond: KEDA hands the threshold to the HPA in milli-units (GetMetricTargetMili), so a
# fourth decimal would be dropped silently; the ceiling is far above what one pod serves.
_DECIMAL = re.compile(r"^(\d+)(\.\d+)?$")
MAX_TARGET_REQUESTS_PER_SECOND = 100_000
_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8,17}$")
# An AL2023 release pinned by date (awslabs/amazon-eks-ami tags vYYYYMMDD); never `latest`.
_KARPENTER_AMI_ALIAS = re.compile(r"^al2023@v20\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$")


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/a/b/` -> (`bucket`, `a/b`)."""
    without_scheme = uri[len("s3://"):]
    bucket, _, prefix = without_scheme.partition("/")
    return bucket, prefix.strip("/")


def full_key(name: str) -> str:
    return f"{NAMESPACE}:{name}"


class _Reader:
    """Parses raw config strings by declared type, collecting problems instead of raising.

    Values arrive as the Pulumi CLI hands them to the program: strings, with lists as JSON text.
    A parser returns None when the value is refused; `ok` tells later rules which keys were
    refused already, so that one mistake gives one problem line.
    """

    def __init__(self, raw: Mapping[str, str | None]) -> None:
        self.raw = raw
        self.problems: list[str] = []
        self.refused: set[str] = set()

    def problem(self, name: str, value: object, allowed: str) -> None:
        self.refused.add(name)
        shown = json.dumps(list(value)) if isinstance(value, (list, tuple)) else repr(value)
        self.problems.append(f"{full_key(name)}: {shown} is not allowed; expected {allowed}")

    def ok(self, *names: str) -> bool:
        """Whether none of these keys has been refused (later rules judge only accepted values)."""
        return self.refused.isdisjoint(names)

    def _raw(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is None:
            value = self.raw.get(full_key(name))
        return value

    def _blank(self, name: str, value: str) -> None:
        """A blank value of a key with a default: say how to get the default back."""
        key = KEYS_BY_NAME[name]
        allowed = {"integer": "an integer", "boolean": "true or false",
                   "array": 'a JSON list of strings, such as ["first", "second"]' if key.items == "string"
                   else "a JSON list of integers, such as [1, 2]"}.get(key.type, "a value")
        if key.default == "":
            self.problem(name, value, f"{allowed}, or '' (the default), not blanks")
        else:
            self.problem(name, value, f"{allowed}; `pulumi config rm {full_key(name)}` restores the default "
                                      f"({_shown_default(key)})")

    def string(self, name: str) -> str | None:
        key = KEYS_BY_NAME[name]
        value = self._raw(name)
        if value is not None and value.strip():
            return value.strip()
        if key.required:  # an empty value of a required key is missing
            self.refused.add(name)
            given = "" if value is None else f" (got {value!r}, which counts as missing)"
            self.problems.append(f"{full_key(name)} is required{given}: {key.description}")
            return None
        if value is None:
            return str(key.default)
        if value == "" and key.default == "":
            return ""  # this key's default: the feature it names is off
        self._blank(name, value)
        return None

    def integer(self, name: str) -> int | None:
        value = self._raw(name)
        if value is None:
            return int(KEYS_BY_NAME[name].default)
        # What the Pulumi CLI accepts for `type: integer` (Go's strconv.Atoi): no blanks, no decimals.
        if not re.fullmatch(r"[+-]?\d+", value):
            if value.strip():
                self.problem(name, value, "an integer")
            else:
                self._blank(name, value)
            return None
        return int(value)

    def decimal(self, name: str, most: int, decimals: int) -> Fraction | None:
        """A plain decimal number in a string key (`12`, `7.5`): no sign, exponent or blanks; above 0, at most
        `most`, at most `decimals` decimals. '' (the key's default) is None, for the caller to judge."""
        value = self.string(name)
        if not value:
            return None
        allowed = f"a decimal number above 0 and at most {most}, with at most {decimals} decimals, such as 12 or 7.5"
        match = _DECIMAL.match(value)
        if not match or len((match.group(2) or ".")[1:]) > decimals:
            self.problem(name, value, allowed)
            return None
        number = Fraction(value)
        if not 0 < number <= most:
            self.problem(name, value, allowed)
            return None
        return number

    def at_least(self, name: str, value: int | None, least: int, allowed: str) -> int | None:
        if value is not None and value < least:
            self.problem(name, value, allowed)
            return None
        return value

    def boolean(self, name: str) -> bool | None:
        value = self._raw(name)
        if value is None:
            return bool(KEYS_BY_NAME[name].default)
        # What the Pulumi CLI accepts for `type: boolean`: exactly `true` or `false`.
        if value not in ("true", "false"):
            if value.strip():
                self.problem(name, value, "true or false")
            else:
                self._blank(name, value)
            return None
        return value == "true"

    def quantity(self, name: str) -> Fraction | None:
        value = self.string(name)
        if value is None:
            return None
        try:
            amount = parse_quantity(value)
        except QuantityError:
            self.problem(name, value, "a Kubernetes quantity such as 500m, 2, 512Mi or 4Gi")
            return None
        if amount <= 0:
            self.problem(name, value, "a quantity above zero")
            return None
        return amount

    def _json_list(self, name: str, item_ok: Callable[[Any], bool], allowed: str) -> tuple[Any, ...] | None:
        """An array key: its default when unset, else a JSON list whose items all pass `item_ok`."""
        value = self._raw(name)
        if value is None:
            return tuple(KEYS_BY_NAME[name].default)
        if not value.strip():
            self._blank(name, value)
            return None
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, list) or not all(item_ok(item) for item in parsed):
            self.problem(name, value, allowed)
            return None
        return tuple(parsed)

    def array(self, name: str) -> tuple[str, ...] | None:
        items = self._json_list(name, lambda item: isinstance(item, str), 'a JSON list of strings, such as ["first", "second"]')
        return None if items is None else tuple(item.strip() for item in items)

    def integers(self, name: str) -> tuple[int, ...] | None:
        """An array of integers: JSON whole numbers only (no strings, decimals or booleans)."""
        return self._json_list(name, lambda item: type(item) is int, "a JSON list of integers, such as [1, 2]")

    def one_of(self, name: str, allowed: tuple[str, ...]) -> str | None:
        value = self.string(name)
        if value is not None and value not in allowed:
            self.problem(name, value, "one of " + ", ".join(allowed))
            return None
        return value

    def matching(self, name: str, value: str | None, pattern: re.Pattern[str], allowed: str) -> None:
        if value is not None and not pattern.match(value):
            self.problem(name, value, allowed)


def _shown_default(key: ConfigKey) -> str:
    if key.type == "array":
        return json.dumps(key.default)
    if key.type == "boolean":
        return str(key.default).lower()
    return repr(key.default) if key.type == "string" else str(key.default)


def _check_cidrs(reader: _Reader, name: str, cidrs: tuple[str, ...] | None) -> None:
    for cidr in cidrs or ():
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            reader.problem(name, cidr, "an IPv4 or IPv6 CIDR such as 203.0.113.10/32")
            continue
        if network.prefixlen == 0:
            reader.problem(name, cidr, "a CIDR narrower than the whole internet; use SSM Session Manager for open access")


def _check_model_path(reader: _Reader, path: str | None) -> None:
    if path is None:
        return  # already reported as required
    if not path.startswith("s3://"):
        reader.problem("modelBasePath", path, "an S3 URI, s3://bucket/prefix")
        return
    bucket, prefix = split_s3_uri(path)
    if not _BUCKET_NAME.match(bucket) or ".." in bucket or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", bucket):
        reader.problem("modelBasePath", path,
                       "s3://bucket/prefix with a valid bucket name (3-63 lowercase letters, digits, '.' and '-')")
    elif not prefix:
        reader.problem("modelBasePath", path, "s3://bucket/prefix with a prefix naming the model's folder")


_T = TypeVar("_T")


def _accepted(value: _T | None) -> _T:
    """A value that passed its rules: None only for refused values, and refused config raises first."""
    assert value is not None
    return value


def _set_otherwise(r: _Reader, name: str) -> bool:
    """Whether the stack sets `name`, accepted by its own rules, to other than its default. (The Pulumi CLI
    hands the program every default of Pulumi.yaml, so "set at all" cannot be told from "left alone".)"""
    key = KEYS_BY_NAME[name]
    if r._raw(name) is None or not r.ok(name):
        return False
    parse = {"integer": r.integer, "boolean": r.boolean, "string": r.string,
             "array": r.integers if key.items == "integer" else r.array}[key.type]
    value = parse(name)
    if isinstance(value, str):
        return " ".join(value.split()) != " ".join(str(key.default).split())
    if isinstance(value, tuple):
        return value != tuple(key.default)
    return value is not None and value != key.default


def _check_vllm(r: _Reader, instance_type: str | None, facts: InstanceTypeFacts | None, devices: int | None,
                tensor_parallel_size: int | None, model_base_path: str | None, compiled_artifacts_path: str | None,
                model_size_gib: int | None, memory_request: Fraction | None,
                model_volume: Fraction | None) -> int | None:
    """The rules of servingRuntime `vllm`; returns the tensor parallel size with 0 resolved, or None."""
    for name, reason in TF_SERVING_ONLY_KEYS.items():
        if _set_otherwise(r, name):
            r.refused.add(name)
            r.problems.append(f"{full_key(name)} applies to servingRuntime 'tensorflow-serving' only ({reason}); "
                              f"remove it (`pulumi config rm {full_key(name)}`) under servingRuntime 'vllm'")
    if facts is not None and not facts.family.uses_neuronx:
        r.refused.update(("servingRuntime", "instanceType"))
        r.problems.append(f"{full_key('servingRuntime')}: 'vllm' needs NeuronCore-v2 or later ({VLLM_FAMILIES}), but "
                          f"{full_key('instanceType')} is {instance_type!r} (Inferentia1); choose an {VLLM_FAMILIES} "
                          "instanceType, or servingRuntime 'tensorflow-serving'")
        return None
    resolved = tensor_parallel_size
    if facts is not None and devices is not None and tensor_parallel_size is not None \
            and r.ok("instanceType", "neuronDevicesPerReplica"):
        per_device = facts.logical_cores_per_device
        cores = devices * per_device
        if tensor_parallel_size == 0:
            resolved = cores
        elif cores % tensor_parallel_size:
            divisors = ", ".join(str(n) for n in range(1, cores + 1) if cores % n == 0)
            r.problem("tensorParallelSize", tensor_parallel_size,
                      f"0 (all of them) or a divisor of the pod's {cores} NeuronCores ({devices} {instance_type} "
                      f"device(s) x {per_device}, neuronDevicesPerReplica): {divisors}")
            resolved = None
    if compiled_artifacts_path and model_base_path is not None and r.ok("modelBasePath"):
        folder = model_base_path.rstrip("/") + "/"
        inside = compiled_artifacts_path.rstrip("/") + "/"
        if not inside.startswith(folder) or inside == folder:
            r.problem("compiledArtifactsPath", compiled_artifacts_path,
                      f"'' or an S3 folder inside modelBasePath ({folder}...), which the model's S3 grant covers, "
                      f"such as {folder}neuron-artifacts/{instance_type or 'inf2.8xlarge'}-tp2/")
    if model_size_gib and memory_request is not None and r.ok("memoryRequest"):
        needed = Fraction((VLLM_HOST_MEMORY_FACTOR * model_size_gib + VLLM_SERVER_MEMORY_GIB) * GIB)
        if memory_request < needed:
            r.problem("memoryRequest", r.string("memoryRequest"),
                      f"at least {format_memory(needed)} for a {model_size_gib} GiB model (modelSizeGiB): "
                      f"vLLM on NxD Inference holds the weights about {VLLM_HOST_MEMORY_FACTOR} times in host memory "
                      f"while it loads them, plus {VLLM_SERVER_MEMORY_GIB} GiB for the server (an estimate)")
    if model_size_gib and model_volume is not None and r.ok("modelVolumeSize"):
        needed = Fraction((model_size_gib + VLLM_ARTIFACTS_ALLOWANCE_GIB) * GIB)
        if model_volume < needed:
            r.problem("modelVolumeSize", r.string("modelVolumeSize"),
                      f"at least {format_memory(needed)}: the {model_size_gib} GiB of weights (modelSizeGiB) "
                      f"and {VLLM_ARTIFACTS_ALLOWANCE_GIB} GiB for the compiled artifacts (an estimate)")
    return resolved


def load_config(raw: Mapping[str, str | None], *, region: str | None = None, aws_profile: str | None = None) -> StackConfig:
    """Validate raw config values (key -> string, arrays JSON-encoded) into a `StackConfig`.

    Keys may be given bare (`replicas`) or namespaced (`eks-inferentia:replicas`). `region` is the
    stack's AWS region, for the rules that depend on it; `aws_profile` its `aws:profile`, if any.
    Raises `ConfigError` with every problem found, one line per mistake.
    """
    r = _Reader(raw)

    cluster_name = r.string("clusterName")
    r.matching("clusterName", cluster_name, _CLUSTER_NAME,
               "1-100 characters of letters, digits, '-' and '_', starting with a letter or digit")

    kubernetes_version = r.one_of("kubernetesVersion", SUPPORTED_KUBERNETES_VERSIONS)
    unpinned = unpinned_addons(kubernetes_version) if kubernetes_version is not None else []
    if unpinned:
        # Never let EKS or pulumi-eks pick an add-on version: refuse the minor until its row is complete.
        r.problem("kubernetesVersion", kubernetes_version,
                  "a version whose EKS add-ons are all pinned: "
                  + ", ".join(v for v in SUPPORTED_KUBERNETES_VERSIONS if not unpinned_addons(v))
                  + f" (no verified {' or '.join(unpinned)} version for {kubernetes_version} yet; "
                  "see ADDON_VERSIONS in eks_inferentia/versions.py)")

    instance_type = r.string("instanceType")
    facts = INSTANCE_TYPES.get(instance_type) if instance_type is not None else None
    if instance_type is not None and facts is None:
        r.problem("instanceType", instance_type,
                  "a Neuron instance type: " + ", ".join(supported_instance_types()))

    node_provisioner = r.one_of("nodeProvisioner", NODE_PROVISIONERS)
    karpenter = node_provisioner == "karpenter"
    serving_runtime = r.one_of("servingRuntime", SERVING_RUNTIMES)
    vllm = serving_runtime == "vllm"

    # 0 <= minNodes <= desiredNodes <= maxNodes, maxNodes >= 1: each value first, then one line for the order.
    minimum = r.at_least("minNodes", r.integer("minNodes"), 0, "0 or more")
    desired = r.at_least("desiredNodes", r.integer("desiredNodes"), 0, "0 or more")
    maximum = r.at_least("maxNodes", r.integer("maxNodes"), 1, "1 or more")
    if karpenter:
        # Karpenter sizes the Neuron nodes from the pending pods: a node count would be silently ignored. The CLI
        # hands Pulumi.yaml's defaults over as if the stack had set them, so a stack's value equal to the default
        # cannot be told from none (and means nothing either); any other value is refused.
        for name, given in (("desiredNodes", desired), ("minNodes", minimum)):
            default = KEYS_BY_NAME[name].default
            if given is not None and given != default and r.ok(name):
                r.problem(name, given, f"no value but the default ({default}) under nodeProvisioner karpenter, which "
                                       "launches Neuron nodes for pending pods and removes idle ones (maxNodes bounds the "
                                       f"NodePool): `pulumi config rm {full_key(name)}`")
    elif minimum is not None and maximum is not None and minimum > maximum:
        r.problem("minNodes", minimum, f"at most maxNodes ({maximum})")
    elif minimum is not None and desired is not None and desired < minimum:
        r.problem("desiredNodes", desired, f"at least minNodes ({minimum})")
    elif maximum is not None and desired is not None and desired > maximum:
        r.problem("desiredNodes", desired, f"at most maxNodes ({maximum})")

    if (r._raw("capacityType") or "").strip() == SPOT_AND_ON_DEMAND and node_provisioner == "managed":
        r.problem("capacityType", SPOT_AND_ON_DEMAND,
                  "ON_DEMAND or SPOT under nodeProvisioner managed (a managed node group has one capacity type; "
                  "SPOT_AND_ON_DEMAND needs nodeProvisioner karpenter)")
        capacity_type = None
    else:
        capacity_type = r.one_of("capacityType", (*CAPACITY_TYPES, SPOT_AND_ON_DEMAND) if karpenter else CAPACITY_TYPES)

    ssh_public_key = r.string("sshPublicKey")
    if ssh_public_key and not _SSH_KEY.match(ssh_public_key):
        r.problem("sshPublicKey", ssh_public_key[:40] + ("..." if len(ssh_public_key) > 40 else ""),
                  "an OpenSSH public key such as 'ssh-ed25519 AAAA... user@host'")
    ssh_allowed_cidrs = r.array("sshAllowedCidrs")
    _check_cidrs(r, "sshAllowedCidrs", ssh_allowed_cidrs)
    if ssh_allowed_cidrs is not None and r.ok("sshPublicKey", "sshAllowedCidrs"):
        if ssh_public_key and not ssh_allowed_cidrs:
            r.problem("sshAllowedCidrs", list(ssh_allowed_cidrs),
                      "at least one CIDR when sshPublicKey is set (or leave SSH off and use SSM Session Manager)")
        elif ssh_public_key == "" and ssh_allowed_cidrs:
            r.problem("sshAllowedCidrs", list(ssh_allowed_cidrs), "an empty list unless sshPublicKey is set")

    vpc_id = r.string("vpcId")
    if vpc_id:
        r.matching("vpcId", vpc_id, _VPC_ID, "a VPC ID such as vpc-0123456789abcdef0")
    private_subnet_ids = r.array("privateSubnetIds")
    public_subnet_ids = r.array("publicSubnetIds")
    for name, subnets in (("privateSubnetIds", private_subnet_ids), ("publicSubnetIds", public_subnet_ids)):
        for subnet in subnets or ():
            r.matching(name, subnet, _SUBNET_ID, "subnet IDs such as subnet-0123456789abcdef0")
    # All three or none. A value refused above counts as given unless it was blank, and is not named again.
    existing_network = {name: bool(value) if value is not None else bool((r._raw(name) or "").strip())
                        for name, value in (("vpcId", vpc_id), ("privateSubnetIds", private_subnet_ids),
                                            ("publicSubnetIds", public_subnet_ids))}
    if any(existing_network.values()) and not all(existing_network.values()):
        for name, given in existing_network.items():
            if not given and r.ok(name):
                r.problem(name, r._raw(name) or "", "a value set together with "
                          + " and ".join(n for n in existing_network if n != name)
                          + " (all three for an existing VPC, none for a dedicated one)")
    elif vpc_id and private_subnet_ids is not None and len(private_subnet_ids) < 2 and r.ok("privateSubnetIds"):
        r.problem("privateSubnetIds", list(private_subnet_ids), "at least two subnets (EKS needs two availability zones)")

    availability_zones = r.array("availabilityZones")
    for zone in availability_zones or ():
        r.matching("availabilityZones", zone, _STANDARD_ZONE,
                   "standard availability zones such as us-west-2a (no Local or Wavelength Zones)")
    if availability_zones and r.ok("availabilityZones"):
        if len(set(availability_zones)) != len(availability_zones):
            r.problem("availabilityZones", list(availability_zones), "each zone once")
        elif len(availability_zones) < 2:
            r.problem("availabilityZones", list(availability_zones), "at least two zones (EKS needs two), or [] to pick them")
        elif vpc_id:
            r.problem("availabilityZones", list(availability_zones),
                      "[] with vpcId: an existing VPC's subnets decide the zones")

    namespace = r.string("namespace")
    r.matching("namespace", namespace, _DNS_1123_LABEL,
               "a DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending alphanumeric")
    serving_name = r.string("servingName")
    r.matching("servingName", serving_name, _DNS_1123_LABEL,
               "a DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending alphanumeric")

    replicas = r.at_least("replicas", r.integer("replicas"), 1, "1 or more")

    devices = r.integer("neuronDevicesPerReplica")
    if devices is not None:
        most = facts.neuron_devices if facts else None
        if devices < 1 or (most is not None and devices > most):
            r.problem("neuronDevicesPerReplica", devices,
                      f"1 to {most} (the Neuron devices of one {instance_type})" if most else "1 or more")
        elif facts is not None and facts.is_trainium and devices not in TRAINIUM_DEVICE_COUNTS:
            r.problem("neuronDevicesPerReplica", devices,
                      f"one of {', '.join(str(n) for n in TRAINIUM_DEVICE_COUNTS if n <= facts.neuron_devices)} "
                      f"on Trainium ({instance_type}): only those device groups are contiguous")

    extra_instance_types = r.array("extraInstanceTypes")
    for extra in extra_instance_types or ():
        if extra not in INSTANCE_TYPES:
            r.problem("extraInstanceTypes", extra, "Neuron instance types: " + ", ".join(supported_instance_types()))
    if not r.ok("extraInstanceTypes"):
        pass
    elif extra_instance_types and node_provisioner == "managed":
        r.problem("extraInstanceTypes", list(extra_instance_types),
                  "[] under nodeProvisioner managed (a managed node group runs instanceType only)")
    elif extra_instance_types and facts is not None and devices is not None and r.ok("neuronDevicesPerReplica"):
        candidates = node_pool_candidates(facts, devices)
        for extra in extra_instance_types:
            if extra not in candidates:
                r.problem("extraInstanceTypes", extra,
                          f"Neuron instance types of {instance_type}'s generation (NeuronCore-v{facts.family.neuron_core_version}) "
                          f"with at least neuronDevicesPerReplica ({devices}) device(s) that a pod can use: "
                          + (", ".join(candidates) or f"none besides {instance_type}"))
        if r.ok("extraInstanceTypes") and len(set(extra_instance_types)) != len(extra_instance_types):
            r.problem("extraInstanceTypes", list(extra_instance_types), "each instance type once")

    requests_and_limits = {name: r.quantity(name) for name in ("cpuRequest", "cpuLimit", "memoryRequest", "memoryLimit")}
    model_volume = r.quantity("modelVolumeSize")
    if model_volume is not None and model_volume < MIB:
        r.problem("modelVolumeSize", r.string("modelVolumeSize"), "at least 1Mi, a quantity such as 10Gi")
        model_volume = None
    for request, limit in (("cpuRequest", "cpuLimit"), ("memoryRequest", "memoryLimit")):
        asked, most_allowed = requests_and_limits[request], requests_and_limits[limit]
        if asked is not None and most_allowed is not None and asked > most_allowed:
            r.problem(request, r.string(request), f"at most {limit} ({r.string(limit)})")
    neuron_scheduler = r.one_of("neuronScheduler", NEURON_SCHEDULER_MODES)

    monitoring = r.boolean("monitoring")
    autoscaling, replica_range, target_rps = _autoscaling(r, replicas, monitoring, vllm)
    # Judge capacity only from values that passed their own rules (the others are reported already).
    cpu_request, memory_request = requests_and_limits["cpuRequest"], requests_and_limits["memoryRequest"]
    if karpenter:
        desired = 0 if r.ok("desiredNodes") else None  # no desired size: the NodePool's limit is the fleet's
    node_pool = (NodePoolLimit((facts, *(INSTANCE_TYPES[t] for t in extra_instance_types or ())), maximum)
                 if karpenter and facts is not None and maximum is not None and r.ok("extraInstanceTypes") else None)
    if (facts is not None and replicas is not None and devices is not None and desired is not None
            and maximum is not None and cpu_request is not None and memory_request is not None
            and model_volume is not None and (node_pool is not None or not karpenter)
            and r.ok("instanceType", "replicas", "neuronDevicesPerReplica", "desiredNodes", "maxNodes",
                     "cpuRequest", "memoryRequest", "modelVolumeSize", "autoscaling", "minReplicas", "maxReplicas")):
        shape = ServingShape(instance=facts, replicas=replicas, devices_per_replica=devices,
                             desired_nodes=desired, max_nodes=maximum,
                             cpu_request=cpu_request, memory_request=memory_request, model_volume=model_volume,
                             node_daemons=neuron_node_daemons(bool(monitoring)), scaling=replica_range, node_pool=node_pool)
        for name, value, allowed in capacity_problems(shape):
            r.problem(name, value, allowed)

    model_name = r.string("modelName")
    r.matching("modelName", model_name, _MODEL_NAME,
               "1-128 letters, digits, '_', '.' and '-', starting with a letter or digit")
    model_base_path = r.string("modelBasePath")
    _check_model_path(r, model_base_path)
    model_versions = r.integers("modelVersions")
    if model_versions is not None:
        if any(version < 1 for version in model_versions):
            r.problem("modelVersions", model_versions, "positive integers, the version folders (s3://.../N/) to serve")
        elif len(set(model_versions)) != len(model_versions):
            r.problem("modelVersions", model_versions, "each version once")
        elif len(model_versions) > MAX_MODEL_VERSIONS:
            r.problem("modelVersions", model_versions,
                      f"at most {MAX_MODEL_VERSIONS} versions (each is copied to every pod and loaded onto its NeuronCores)")
    model_poll_seconds = r.integer("modelPollSeconds")
    if model_poll_seconds is not None and model_poll_seconds != 0 and not (
            MODEL_POLL_MIN_SECONDS <= model_poll_seconds <= MODEL_POLL_MAX_SECONDS):
        r.problem("modelPollSeconds", model_poll_seconds,
                  f"0 (copy the model once at pod start) or {MODEL_POLL_MIN_SECONDS} to {MODEL_POLL_MAX_SECONDS} seconds")
        model_poll_seconds = None
    # A model compiled for one Neuron generation does not load on the other: refuse the pair.
    model_compiled_for = r.string("modelCompiledFor")
    if model_compiled_for not in (None, "", *COMPILERS):
        r.problem("modelCompiledFor", model_compiled_for, "neuron, neuronx, or '' (the default: no check)")
    elif model_compiled_for and facts is not None and not vllm:
        needed = "neuronx" if facts.family.uses_neuronx else "neuron"
        if model_compiled_for != needed:
            r.problem("modelCompiledFor", model_compiled_for,
                      f"'{needed}' for instanceType {instance_type} ({COMPILERS[needed]} models; a "
                      f"{COMPILERS[model_compiled_for]} model does not load there): compile the model for "
                      f"{instance_type} and point modelBasePath at it, or keep the instance family")

    model_kms_key_arn = r.string("modelKmsKeyArn")
    if model_kms_key_arn:
        r.matching("modelKmsKeyArn", model_kms_key_arn, _KMS_KEY_ARN,
                   "a KMS key ARN such as arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")

    model_access = r.one_of("modelAccess", MODEL_ACCESS_MODES)

    serving_image = r.string("servingImage")
    if serving_image == "" and region is not None and region not in NEURON_DLC_REGIONS and not vllm:
        # Not a problem of one key alone: either of the two may change.
        r.refused.add("servingImage")
        r.problems.append(
            f"aws:region: {region!r} has no Neuron Deep Learning Containers, and eks-inferentia:servingImage is empty; "
            f"expected a region among {', '.join(sorted(NEURON_DLC_REGIONS))}, or servingImage set to a "
            "TensorFlow Serving image for Neuron that the nodes can pull")
    if serving_image:
        r.matching("servingImage", serving_image, _IMAGE_REF,
                   "an image reference such as registry/repository:tag or registry/repository@sha256:digest")

    allowed_client_namespaces = r.array("allowedClientNamespaces")
    for client_namespace in allowed_client_namespaces or ():
        r.matching("allowedClientNamespaces", client_namespace, _DNS_1123_LABEL, "namespace names (DNS-1123 labels)")
    serving_batching = r.boolean("servingBatching")
    batching_text = r.string("batchingParameters")
    batching_parameters = " ".join(batching_text.split()) if batching_text is not None else None
    if serving_batching and batching_parameters is not None and not _BATCHING_PARAMETERS.match(batching_parameters):
        r.problem("batchingParameters", batching_parameters,
                  "TensorFlow Serving batching parameters in text format, e.g. 'max_batch_size { value: 8 }', "
                  "with fields among " + ", ".join(_BATCHING_FIELDS))
    smoke_test = r.boolean("smokeTest")

    api_allowed_cidrs = r.array("apiAllowedCidrs")
    if api_allowed_cidrs == ():
        r.problem("apiAllowedCidrs", [], 'at least one CIDR (["0.0.0.0/0"] for the whole internet)')
    for cidr in api_allowed_cidrs or ():
        try:
            network = ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            r.problem("apiAllowedCidrs", cidr, "IPv4 CIDRs with no host bits set, such as 203.0.113.0/24")
            continue
        if network.version != 4:
            r.problem("apiAllowedCidrs", cidr, "IPv4 CIDRs (EKS public access CIDRs are IPv4)")

    system_nodes = r.at_least("systemNodes", r.integer("systemNodes"), 0, "0 (no system node group) or more")
    if karpenter and system_nodes == 0:
        r.problem("systemNodes", system_nodes,
                  "at least 1 under nodeProvisioner karpenter (the Karpenter controller runs on the system nodes: "
                  "never on the nodes it manages)")
    karpenter_ami_alias = r.string("karpenterAmiAlias")
    r.matching("karpenterAmiAlias", karpenter_ami_alias, _KARPENTER_AMI_ALIAS,
               "al2023@vYYYYMMDD, an EKS-optimized AL2023 AMI release (awslabs/amazon-eks-ami releases), "
               f"such as {DEFAULT_KARPENTER_AMI_ALIAS}; never al2023@latest, which replaces every node whenever AWS "
               "publishes an AMI")
    if karpenter and kubernetes_version is not None and not karpenter_supports(kubernetes_version):
        r.problem("nodeProvisioner", node_provisioner,
                  f"managed on Kubernetes {kubernetes_version}: Karpenter {KARPENTER_CHART_VERSION} does not support it "
                  "(eks_inferentia/versions.py, KARPENTER_COMPATIBILITY)")
    system_node_instance_type = r.string("systemNodeInstanceType")
    if system_node_instance_type is not None and not _INSTANCE_TYPE.match(system_node_instance_type):
        r.problem("systemNodeInstanceType", system_node_instance_type, "an EC2 instance type such as m6i.large")
    elif system_node_instance_type in INSTANCE_TYPES:
        r.problem("systemNodeInstanceType", system_node_instance_type,
                  "a CPU instance type such as m6i.large, not a Neuron one")

    s3_access = r.one_of("s3Access", S3_ACCESS_MODES)
    neuron_chart_version = r.string("neuronChartVersion")
    r.matching("neuronChartVersion", neuron_chart_version,
               re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$"), "a chart version such as 1.3.0")

    latency_objective_ms = r.integer("latencyObjectiveMs")
    if latency_objective_ms is not None and not 1 <= latency_objective_ms <= MAX_LATENCY_OBJECTIVE_MS:
        r.problem("latencyObjectiveMs", latency_objective_ms,
                  f"an integer from 1 to {MAX_LATENCY_OBJECTIVE_MS} (milliseconds)")
        latency_objective_ms = None
    alert_email = r.string("alertEmail")
    if alert_email:
        r.matching("alertEmail", alert_email, _EMAIL, "one email address such as oncall@example.com (or '' for none)")
    scraper_subnet_ids = r.array("scraperSubnetIds")
    for subnet in scraper_subnet_ids or ():
        r.matching("scraperSubnetIds", subnet, _SUBNET_ID, "subnet IDs such as subnet-0123456789abcdef0")
    if scraper_subnet_ids and not vpc_id and r.ok("scraperSubnetIds"):
        r.problem("scraperSubnetIds", list(scraper_subnet_ids),
                  "[] without vpcId: the dedicated VPC gets two subnets for the collector")
    elif scraper_subnet_ids is not None and len(scraper_subnet_ids) == 1 and r.ok("scraperSubnetIds"):
        r.problem("scraperSubnetIds", list(scraper_subnet_ids),
                  "[] or at least two subnets of vpcId in two zones (the managed collector needs two zones)")

    tensor_parallel_size = r.at_least("tensorParallelSize", r.integer("tensorParallelSize"), 0,
                                      "0 (every NeuronCore of the pod) or a positive integer")
    max_model_length = r.at_least("maxModelLength", r.integer("maxModelLength"), 1, "a positive number of tokens")
    max_concurrent_sequences = r.at_least("maxConcurrentSequences", r.integer("maxConcurrentSequences"), 1,
                                          "a positive number of sequences")
    compiled_artifacts_path = r.string("compiledArtifactsPath")
    model_size_gib = r.at_least("modelSizeGiB", r.integer("modelSizeGiB"), 0, "0 (unknown) or the weights' size in GiB")
    target_waiting = r.at_least("targetRequestsWaiting", r.integer("targetRequestsWaiting"), 0,
                                "0 (the default) or a positive number of requests")
    if vllm and autoscaling:
        target_waiting = _target_requests_waiting(r, target_waiting, max_concurrent_sequences)
    if vllm:
        tensor_parallel_size = _check_vllm(r, instance_type, facts, devices, tensor_parallel_size, model_base_path,
                                           compiled_artifacts_path, model_size_gib,
                                           requests_and_limits["memoryRequest"], model_volume)
    elif serving_runtime is not None:
        for name in VLLM_ONLY_KEYS:
            if _set_otherwise(r, name):
                r.refused.add(name)
                r.problems.append(f"{full_key(name)} applies to servingRuntime 'vllm' only; remove it "
                                  f"(`pulumi config rm {full_key(name)}`) or set servingRuntime to 'vllm'")

    unknown = sorted(k for k in raw if k.removeprefix(f"{NAMESPACE}:") not in KEYS_BY_NAME)
    for key in unknown:
        r.problems.append(f"{full_key(key.removeprefix(f'{NAMESPACE}:'))} is not a known key; known keys: "
                          + ", ".join(KEYS_BY_NAME))

    if r.problems:
        raise ConfigError(r.problems)

    # Every None below is a refused value, reported above, so `_accepted` holds.
    return StackConfig(
        cluster_name=_accepted(cluster_name),
        kubernetes_version=_accepted(kubernetes_version),
        instance_type=_accepted(instance_type),
        desired_nodes=_accepted(desired),
        min_nodes=_accepted(minimum),
        max_nodes=_accepted(maximum),
        capacity_type=_accepted(capacity_type),
        ssh_public_key=ssh_public_key or None,
        ssh_allowed_cidrs=_accepted(ssh_allowed_cidrs),
        vpc_id=vpc_id or None,
        private_subnet_ids=_accepted(private_subnet_ids),
        availability_zones=_accepted(availability_zones),
        public_subnet_ids=_accepted(public_subnet_ids),
        namespace=_accepted(namespace),
        serving_name=_accepted(serving_name),
        replicas=_accepted(replicas),
        neuron_devices_per_replica=_accepted(devices),
        cpu_request=_accepted(r.string("cpuRequest")),
        cpu_limit=_accepted(r.string("cpuLimit")),
        memory_request=_accepted(r.string("memoryRequest")),
        memory_limit=_accepted(r.string("memoryLimit")),
        neuron_scheduler=_accepted(neuron_scheduler),
        model_name=_accepted(model_name),
        model_base_path=_accepted(model_base_path),
        model_versions=_accepted(model_versions),
        model_poll_seconds=_accepted(model_poll_seconds),
        model_volume_size=_accepted(r.string("modelVolumeSize")),
        model_compiled_for=model_compiled_for or None,
        model_kms_key_arn=model_kms_key_arn or None,
        model_access=_accepted(model_access),
        serving_image=serving_image or None,
        s3_access=_accepted(s3_access),
        neuron_chart_version=_accepted(neuron_chart_version),
        allowed_client_namespaces=_accepted(allowed_client_namespaces),
        serving_batching=_accepted(serving_batching),
        batching_parameters=_accepted(batching_parameters),
        smoke_test=_accepted(smoke_test),
        api_allowed_cidrs=_accepted(api_allowed_cidrs),
        system_nodes=_accepted(system_nodes),
        system_node_instance_type=_accepted(system_node_instance_type),
        aws_profile=aws_profile or None,
        monitoring=_accepted(monitoring),
        latency_objective_ms=_accepted(latency_objective_ms),
        alert_email=alert_email or None,
        scraper_subnet_ids=_accepted(scraper_subnet_ids),
        autoscaling=_accepted(autoscaling),
        min_replicas=replica_range.minimum if replica_range else _accepted(r.integer("minReplicas")),
        max_replicas=replica_range.maximum if replica_range else _accepted(r.integer("maxReplicas")),
        target_requests_per_second=target_rps,
        target_requests_waiting=_accepted(target_waiting) if vllm and autoscaling else 0,
        node_provisioner=_accepted(node_provisioner),
        extra_instance_types=_accepted(extra_instance_types),
        karpenter_ami_alias=_accepted(karpenter_ami_alias),
        serving_runtime=_accepted(serving_runtime),
        tensor_parallel_size=_accepted(tensor_parallel_size),
        max_model_length=_accepted(max_model_length),
        max_concurrent_sequences=_accepted(max_concurrent_sequences),
        compiled_artifacts_path=compiled_artifacts_path or None,
        model_size_gib=_accepted(model_size_gib),
    )


def _autoscaling(r: _Reader, replicas: int | None, monitoring: bool | None, vllm: bool = False
                 ) -> tuple[bool | None, ReplicaRange | None, Fraction | None]:
    """autoscaling, minReplicas, maxReplicas, targetRequestsPerSecond: (autoscaling, the range, the target).

    The range and target are judged only under autoscaling (without it nothing reads them); the
    range is None unless autoscaling is on and every rule holds. Under vllm the target is None: vLLM scales on
    targetRequestsWaiting (`_target_requests_waiting`), and a targetRequestsPerSecond set is refused."""
    autoscaling = r.boolean("autoscaling")
    minimum = r.at_least("minReplicas", r.integer("minReplicas"), 1,
                         "1 or more (no scale to zero: nothing in front of TensorFlow Serving holds requests while a pod starts)")
    maximum = r.at_least("maxReplicas", r.integer("maxReplicas"), 1, "1 or more")
    target = r.decimal("targetRequestsPerSecond", MAX_TARGET_REQUESTS_PER_SECOND, TARGET_DECIMALS)
    if not autoscaling:
        return autoscaling, None, None
    if monitoring is False:
        r.problem("autoscaling", "true", f"false while {full_key('monitoring')} is false: KEDA scales on the serving metrics "
                                       "(the prediction rate, or vLLM's queue) in the stack's Amazon Managed Prometheus "
                                       "workspace; set monitoring to true")
    if vllm:
        target = None
    elif target is None and r.ok("targetRequestsPerSecond"):
        r.refused.add("targetRequestsPerSecond")
        r.problems.append(f"{full_key('targetRequestsPerSecond')} is required when {full_key('autoscaling')} is true: "
                          "the predictions per second one pod should carry (README, \"Autoscaling\": measure one pod's "
                          "saturation with `python -m client.loadtest`, then set 10-20 % below it)")
    if minimum is None or maximum is None or replicas is None:
        return autoscaling, None, target
    if minimum > maximum:
        r.problem("minReplicas", minimum, f"at most maxReplicas ({maximum})")
    elif replicas < minimum:
        r.problem("replicas", replicas, f"at least minReplicas ({minimum}): with autoscaling, replicas is the initial "
                                        f"size, within [{minimum}, {maximum}]")
    elif replicas > maximum:
        r.problem("replicas", replicas, f"at most maxReplicas ({maximum}): with autoscaling, replicas is the initial "
                                        f"size, within [{minimum}, {maximum}]")
    if not r.ok("autoscaling", "minReplicas", "maxReplicas", "replicas"):
        return autoscaling, None, target
    return autoscaling, ReplicaRange(minimum, maximum), target


def _target_requests_waiting(r: _Reader, target: int | None, max_concurrent_sequences: int | None) -> int | None:
    """targetRequestsWaiting under vllm with autoscaling: 1 to TARGET_WAITING_PER_SEQUENCE x maxConcurrentSequences.
    0 is its default, so 0 counts as missing (the CLI hands the default over as if the stack had set it)."""
    if target is None or max_concurrent_sequences is None:
        return None
    most = TARGET_WAITING_PER_SEQUENCE * max_concurrent_sequences
    allowed = (f"1 to {most} ({TARGET_WAITING_PER_SEQUENCE} x maxConcurrentSequences, {max_concurrent_sequences}): "
               "the requests waiting in vLLM's queue per pod that KEDA aims for")
    if target == 0:
        r.refused.add("targetRequestsWaiting")
        r.problems.append(f"{full_key('targetRequestsWaiting')} is required when {full_key('autoscaling')} is true under "
                          f"servingRuntime 'vllm': {allowed} (README, \"Autoscaling\": raise the load with `python -m "
                          "client.loadtest --openai` and watch the time to first token and the queue)")
        return None
    if target > most:
        r.problem("targetRequestsWaiting", target, f"{allowed}; a longer queue makes a new request wait about "
                                                   f"{TARGET_WAITING_PER_SEQUENCE} full batches for its first token")
        return None
    return target


def node_pool_candidates(instance: InstanceTypeFacts, devices_per_replica: int) -> list[str]:
    """The instance types a NodePool may add to `instance`: its NeuronCore generation (a compiled model loads on
    that generation only), at least `devices_per_replica` devices, and on Trainium a contiguous device count."""
    return [name for name, facts in sorted(INSTANCE_TYPES.items())
            if name != instance.name and facts.family.neuron_core_version == instance.family.neuron_core_version
            and facts.neuron_devices >= devices_per_replica
            and (not facts.is_trainium or devices_per_replica in TRAINIUM_DEVICE_COUNTS)]


def config_warnings(config: StackConfig) -> list[str]:
    """What deploys but deserves a second look; `load_stack_config` logs these as warnings."""
    warnings = [f"{full_key(key)}: {w}" for key, w in keyed_capacity_warnings(config.serving_shape)]
    open_cidrs = [c for c in config.api_allowed_cidrs if c in OPEN_TO_THE_WORLD]
    if open_cidrs:
        warnings.append(f"{full_key('apiAllowedCidrs')}: the cluster's API endpoint is open to {', '.join(open_cidrs)}; "
                        "list your networks' CIDRs to close it (authentication still applies)")
    if (config.neuron_scheduler == "disabled" and config.neuron_devices_per_replica > 1):
        warnings.append(f"{full_key('neuronScheduler')}: 'disabled' with {config.neuron_devices_per_replica} devices per "
                        "pod: the default scheduler may pick non-contiguous Neuron devices and the pod fails to start; "
                        "use 'auto'")
    if config.model_access == "node-role":
        warnings.append(f"{full_key('modelAccess')}: 'node-role' gives the model's S3 read access to the Neuron node "
                        "role, so every pod on those nodes can use it (the metadata service answers pods, hop limit 2); "
                        "'pod-identity' (the default) gives it to the serving ServiceAccount only")
    if config.monitoring and config.uses_existing_vpc and not config.scraper_subnet_ids:
        warnings.append(f"{full_key('scraperSubnetIds')}: not set, so the managed Prometheus collector uses "
                        "privateSubnetIds, and the NetworkPolicies admit those subnets' CIDRs, which hold every pod, to "
                        "the metrics ports (9000, TensorFlow Serving's REST port, and 8000); give the collector two "
                        "small subnets without pods")
    if config.uses_vllm:
        return warnings + vllm_warnings(config)
    if config.model_compiled_for is None:
        warnings.append(f"{full_key('modelCompiledFor')}: not set, so nothing checks that the model at modelBasePath was "
                        f"compiled for {config.instance_type}; set it to "
                        f"'{'neuronx' if config.instance.family.uses_neuronx else 'neuron'}'")
    return warnings


def vllm_warnings(config: StackConfig) -> list[str]:
    """What deserves a second look under servingRuntime `vllm`."""
    warnings = []
    cores = config.neuron_devices_per_replica * config.instance.logical_cores_per_device
    if config.tensor_parallel_size < cores:
        warnings.append(f"{full_key('tensorParallelSize')}: {config.tensor_parallel_size} of the pod's {cores} "
                        "NeuronCores serve the model; the others stay idle (0 takes them all)")
    if not config.model_size_gib:
        warnings.append(f"{full_key('modelSizeGiB')}: not set, so nothing checks that memoryRequest "
                        f"({config.memory_request}) and modelVolumeSize ({config.model_volume_size}) hold the model; "
                        "set it to the size of the safetensors files in GiB")
    if config.latency_objective_ms == KEYS_BY_NAME["latencyObjectiveMs"].default:
        warnings.append(f"{full_key('latencyObjectiveMs')}: {config.latency_objective_ms} ms, the default, is under vllm "
                        "the objective for the p99 time to first token, which a long prompt alone can exceed; set it "
                        f"to what your users accept, such as {VLLM_SUGGESTED_LATENCY_OBJECTIVE_MS}")
    if config.compiled_artifacts_path is None:
        warnings.append(f"{full_key('compiledArtifactsPath')}: not set, so every pod compiles the model for "
                        f"{config.instance_type} when it starts (tens of minutes for a 7-8B model); see the README "
                        "for producing the artifacts once")
    return warnings


def load_stack_config() -> StackConfig:
    """Read the `eks-inferentia` namespace from the running Pulumi program and validate it.

    Every key the stack sets in the namespace is read, so a misspelt key is reported, not ignored.
    """
    from pulumi.runtime.config import CONFIG, get_config_env

    get = pulumi.Config(NAMESPACE).get
    prefix = f"{NAMESPACE}:"
    stack_keys = {key[len(prefix):] for key in {**get_config_env(), **CONFIG.get()} if key.startswith(prefix)}
    names = [key.name for key in CONFIG_KEYS] + sorted(stack_keys - set(KEYS_BY_NAME))
    import pulumi_aws as aws

    config = load_config({name: get(name) for name in names}, region=aws.get_region().region,
                         aws_profile=pulumi.Config("aws").get("profile"))
    for warning in config_warnings(config):
        pulumi.log.warn(warning)
    return config
