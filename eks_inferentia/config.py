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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pulumi

from eks_inferentia.instance_types import INSTANCE_TYPES, InstanceTypeFacts, supported_instance_types

NAMESPACE = "eks-inferentia"

ConfigType = Literal["string", "integer", "array"]

# Kubernetes versions that EKS supports (standard or extended support) and for which the
# EKS-optimized Amazon Linux 2023 Neuron AMI (AMI type AL2023_x86_64_NEURON) is published.
SUPPORTED_KUBERNETES_VERSIONS = ("1.31", "1.32", "1.33", "1.34", "1.35")

# The Neuron Helm chart version this release is tested against (see components/device_plugin.py).
DEFAULT_NEURON_CHART_VERSION = "1.9.0"

CAPACITY_TYPES = ("ON_DEMAND", "SPOT")
S3_ACCESS_MODES = ("bucket", "all")


@dataclass(frozen=True)
class ConfigKey:
    name: str
    type: ConfigType
    default: Any
    description: str
    required: bool = False


CONFIG_KEYS: tuple[ConfigKey, ...] = (
    ConfigKey("clusterName", "string", "inferentia",
              "Name of the EKS cluster (1-100 characters: letters, digits, '-' and '_', starting with a letter or digit)."),
    ConfigKey("kubernetesVersion", "string", "1.34",
              f"Kubernetes version of the cluster; one of {', '.join(SUPPORTED_KUBERNETES_VERSIONS)}."),
    ConfigKey("instanceType", "string", "inf1.2xlarge",
              "EC2 instance type of the Neuron node group: an inf1, inf2, trn1, trn1n or trn2 size."),
    ConfigKey("desiredNodes", "integer", 2, "Number of Neuron nodes to run (0 <= minNodes <= desiredNodes <= maxNodes)."),
    ConfigKey("minNodes", "integer", 1, "Minimum size of the Neuron node group."),
    ConfigKey("maxNodes", "integer", 4, "Maximum size of the Neuron node group (at least 1)."),
    ConfigKey("capacityType", "string", "ON_DEMAND", "Capacity type of the Neuron nodes: ON_DEMAND or SPOT."),
    ConfigKey("sshPublicKey", "string", "",
              "OpenSSH public key for SSH access to the nodes; empty (default) turns SSH off. Prefer SSM Session Manager."),
    ConfigKey("sshAllowedCidrs", "array", [],
              "CIDRs allowed to reach port 22 when sshPublicKey is set; required then, and never 0.0.0.0/0 or ::/0."),
    ConfigKey("vpcId", "string", "",
              "ID of an existing VPC to use; empty (default) creates a dedicated VPC. Set with privateSubnetIds and publicSubnetIds."),
    ConfigKey("privateSubnetIds", "array", [], "Private subnets of the existing VPC (nodes run here)."),
    ConfigKey("publicSubnetIds", "array", [], "Public subnets of the existing VPC (for internet-facing load balancers)."),
    ConfigKey("namespace", "string", "inference", "Kubernetes namespace of the TensorFlow Serving workload (a DNS-1123 label)."),
    ConfigKey("servingName", "string", "eks-neuron-test",
              "Name of the TensorFlow Serving Deployment and Service (a DNS-1123 label)."),
    ConfigKey("replicas", "integer", 2, "Number of TensorFlow Serving pods (at least 1)."),
    ConfigKey("neuronDevicesPerReplica", "integer", 1,
              "Neuron devices (aws.amazon.com/neuron) each pod requests; at most the instance type's device count."),
    ConfigKey("modelName", "string", "resnet50_neuron",
              "Name TensorFlow Serving serves the model under (clients ask for this name)."),
    ConfigKey("modelBasePath", "string", None,
              "S3 location of the Neuron-compiled SavedModel, s3://bucket/prefix (required).", required=True),
    ConfigKey("servingImage", "string", "",
              "TensorFlow Serving image; empty (default) picks the Deep Learning Container for the instance family and region."),
    ConfigKey("s3Access", "string", "bucket",
              "Model access for the node role: 'bucket' (read only the model prefix) or 'all' (AmazonS3ReadOnlyAccess)."),
    ConfigKey("neuronChartVersion", "string", DEFAULT_NEURON_CHART_VERSION,
              "Version of the Neuron Helm chart (oci://public.ecr.aws/neuron/neuron-helm-chart)."),
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
    public_subnet_ids: tuple[str, ...]
    namespace: str
    serving_name: str
    replicas: int
    neuron_devices_per_replica: int
    model_name: str
    model_base_path: str
    serving_image: str | None
    s3_access: str
    neuron_chart_version: str

    @property
    def instance(self) -> InstanceTypeFacts:
        return INSTANCE_TYPES[self.instance_type]

    @property
    def uses_existing_vpc(self) -> bool:
        return self.vpc_id is not None

    @property
    def model_bucket(self) -> str:
        return split_s3_uri(self.model_base_path)[0]

    @property
    def model_prefix(self) -> str:
        return split_s3_uri(self.model_base_path)[1]


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
_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8,17}$")


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/a/b/` -> (`bucket`, `a/b`)."""
    without_scheme = uri[len("s3://"):]
    bucket, _, prefix = without_scheme.partition("/")
    return bucket, prefix.strip("/")


def full_key(name: str) -> str:
    return f"{NAMESPACE}:{name}"


class _Reader:
    """Parses raw config strings by declared type, collecting problems instead of raising."""

    def __init__(self, raw: Mapping[str, str | None]) -> None:
        self.raw = raw
        self.problems: list[str] = []

    def problem(self, name: str, value: object, allowed: str) -> None:
        self.problems.append(f"{full_key(name)}: {value!r} is not allowed; expected {allowed}")

    def _raw(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is None:
            value = self.raw.get(full_key(name))
        return value

    def string(self, name: str) -> str:
        key = KEYS_BY_NAME[name]
        value = self._raw(name)
        if value is None:
            if key.required:
                self.problems.append(f"{full_key(name)} is required: {key.description}")
                return ""
            return str(key.default)
        return value.strip()

    def optional_string(self, name: str) -> str | None:
        value = self.string(name)
        return value or None

    def integer(self, name: str) -> int | None:
        value = self._raw(name)
        if value is None:
            return int(KEYS_BY_NAME[name].default)
        # Accept "2" and "2.0" (YAML and JSON round trips), refuse "two" and "2.5".
        if not re.fullmatch(r"\s*-?\d+(\.0+)?\s*", value):
            self.problem(name, value, "an integer")
            return None
        return int(float(value))

    def array(self, name: str) -> tuple[str, ...]:
        value = self._raw(name)
        if value is None or value.strip() == "":
            return tuple(KEYS_BY_NAME[name].default)
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
            self.problem(name, value, "a list of strings")
            return ()
        return tuple(item.strip() for item in parsed)

    def one_of(self, name: str, allowed: tuple[str, ...]) -> str:
        value = self.string(name)
        if value not in allowed:
            self.problem(name, value, "one of " + ", ".join(allowed))
        return value

    def matching(self, name: str, value: str, pattern: re.Pattern[str], allowed: str) -> None:
        if not pattern.match(value):
            self.problem(name, value, allowed)


def _check_cidrs(reader: _Reader, name: str, cidrs: tuple[str, ...]) -> None:
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            reader.problem(name, cidr, "an IPv4 or IPv6 CIDR such as 203.0.113.10/32")
            continue
        if network.prefixlen == 0:
            reader.problem(name, cidr, "a CIDR narrower than the whole internet; use SSM Session Manager for open access")


def _check_model_path(reader: _Reader, path: str) -> None:
    if not path:
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


def load_config(raw: Mapping[str, str | None]) -> StackConfig:
    """Validate raw config values (key -> string, arrays JSON-encoded) into a `StackConfig`.

    Keys may be given bare (`replicas`) or namespaced (`eks-inferentia:replicas`).
    Raises `ConfigError` with every problem found.
    """
    r = _Reader(raw)

    cluster_name = r.string("clusterName")
    r.matching("clusterName", cluster_name, _CLUSTER_NAME,
               "1-100 characters of letters, digits, '-' and '_', starting with a letter or digit")

    kubernetes_version = r.one_of("kubernetesVersion", SUPPORTED_KUBERNETES_VERSIONS)

    instance_type = r.string("instanceType")
    facts = INSTANCE_TYPES.get(instance_type)
    if facts is None:
        r.problem("instanceType", instance_type,
                  "a Neuron instance type: " + ", ".join(supported_instance_types()))

    desired, minimum, maximum = r.integer("desiredNodes"), r.integer("minNodes"), r.integer("maxNodes")
    if minimum is not None and minimum < 0:
        r.problem("minNodes", minimum, "0 or more")
    if maximum is not None and maximum < 1:
        r.problem("maxNodes", maximum, "1 or more")
    if minimum is not None and desired is not None and desired < minimum:
        r.problem("desiredNodes", desired, f"at least minNodes ({minimum})")
    if maximum is not None and desired is not None and desired > maximum:
        r.problem("desiredNodes", desired, f"at most maxNodes ({maximum})")
    if minimum is not None and maximum is not None and minimum > maximum:
        r.problem("minNodes", minimum, f"at most maxNodes ({maximum})")

    capacity_type = r.one_of("capacityType", CAPACITY_TYPES)

    ssh_public_key = r.optional_string("sshPublicKey")
    ssh_allowed_cidrs = r.array("sshAllowedCidrs")
    if ssh_public_key is not None:
        if not _SSH_KEY.match(ssh_public_key):
            r.problem("sshPublicKey", ssh_public_key[:40] + ("..." if len(ssh_public_key) > 40 else ""),
                      "an OpenSSH public key such as 'ssh-ed25519 AAAA... user@host'")
        if not ssh_allowed_cidrs:
            r.problem("sshAllowedCidrs", list(ssh_allowed_cidrs),
                      "at least one CIDR when sshPublicKey is set (or leave SSH off and use SSM Session Manager)")
    elif ssh_allowed_cidrs:
        r.problem("sshAllowedCidrs", list(ssh_allowed_cidrs), "an empty list unless sshPublicKey is set")
    _check_cidrs(r, "sshAllowedCidrs", ssh_allowed_cidrs)

    vpc_id = r.optional_string("vpcId")
    private_subnet_ids = r.array("privateSubnetIds")
    public_subnet_ids = r.array("publicSubnetIds")
    existing_network = {"vpcId": bool(vpc_id), "privateSubnetIds": bool(private_subnet_ids),
                        "publicSubnetIds": bool(public_subnet_ids)}
    if any(existing_network.values()) and not all(existing_network.values()):
        for name, given in existing_network.items():
            if not given:
                r.problem(name, r._raw(name) or "", "set together with "
                          + " and ".join(n for n in existing_network if n != name)
                          + " (all three for an existing VPC, none for a dedicated one)")
    if vpc_id:
        r.matching("vpcId", vpc_id, _VPC_ID, "a VPC ID such as vpc-0123456789abcdef0")
    for name, subnets in (("privateSubnetIds", private_subnet_ids), ("publicSubnetIds", public_subnet_ids)):
        for subnet in subnets:
            r.matching(name, subnet, _SUBNET_ID, "subnet IDs such as subnet-0123456789abcdef0")
    if vpc_id and len(private_subnet_ids) < 2:
        r.problem("privateSubnetIds", list(private_subnet_ids), "at least two subnets (EKS needs two availability zones)")

    namespace = r.string("namespace")
    r.matching("namespace", namespace, _DNS_1123_LABEL,
               "a DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending alphanumeric")
    serving_name = r.string("servingName")
    r.matching("servingName", serving_name, _DNS_1123_LABEL,
               "a DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending alphanumeric")

    replicas = r.integer("replicas")
    if replicas is not None and replicas < 1:
        r.problem("replicas", replicas, "1 or more")

    devices = r.integer("neuronDevicesPerReplica")
    if devices is not None:
        most = facts.neuron_devices if facts else None
        if devices < 1 or (most is not None and devices > most):
            r.problem("neuronDevicesPerReplica", devices,
                      f"1 to {most} (the Neuron devices of one {instance_type})" if most else "1 or more")

    model_name = r.string("modelName")
    r.matching("modelName", model_name, _MODEL_NAME,
               "1-128 letters, digits, '_', '.' and '-', starting with a letter or digit")
    model_base_path = r.string("modelBasePath")
    _check_model_path(r, model_base_path)

    serving_image = r.optional_string("servingImage")
    if serving_image is not None:
        r.matching("servingImage", serving_image, _IMAGE_REF,
                   "an image reference such as registry/repository:tag or registry/repository@sha256:digest")

    s3_access = r.one_of("s3Access", S3_ACCESS_MODES)
    neuron_chart_version = r.string("neuronChartVersion")
    r.matching("neuronChartVersion", neuron_chart_version,
               re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$"), "a chart version such as 1.3.0")

    unknown = sorted(k for k in raw if k.removeprefix(f"{NAMESPACE}:") not in KEYS_BY_NAME)
    for key in unknown:
        r.problems.append(f"{full_key(key.removeprefix(f'{NAMESPACE}:'))} is not a known key; known keys: "
                          + ", ".join(KEYS_BY_NAME))

    if r.problems:
        raise ConfigError(r.problems)

    # Every None below was reported as a problem above, so these asserts hold.
    assert desired is not None and minimum is not None and maximum is not None
    assert replicas is not None and devices is not None
    return StackConfig(
        cluster_name=cluster_name,
        kubernetes_version=kubernetes_version,
        instance_type=instance_type,
        desired_nodes=desired,
        min_nodes=minimum,
        max_nodes=maximum,
        capacity_type=capacity_type,
        ssh_public_key=ssh_public_key,
        ssh_allowed_cidrs=ssh_allowed_cidrs,
        vpc_id=vpc_id,
        private_subnet_ids=private_subnet_ids,
        public_subnet_ids=public_subnet_ids,
        namespace=namespace,
        serving_name=serving_name,
        replicas=replicas,
        neuron_devices_per_replica=devices,
        model_name=model_name,
        model_base_path=model_base_path,
        serving_image=serving_image,
        s3_access=s3_access,
        neuron_chart_version=neuron_chart_version,
    )


def load_stack_config() -> StackConfig:
    """Read the `eks-inferentia` namespace from the running Pulumi program and validate it.

    Every key the stack sets in the namespace is read, so a misspelt key is reported, not ignored.
    """
    from pulumi.runtime.config import CONFIG, get_config_env

    get = pulumi.Config(NAMESPACE).get
    prefix = f"{NAMESPACE}:"
    stack_keys = {key[len(prefix):] for key in {**get_config_env(), **CONFIG.get()} if key.startswith(prefix)}
    names = [key.name for key in CONFIG_KEYS] + sorted(stack_keys - set(KEYS_BY_NAME))
    return load_config({name: get(name) for name in names})
