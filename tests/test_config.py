"""Config: defaults, every rule, all problems at once, and Pulumi.yaml in step with the code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from eks_inferentia.config import CONFIG_KEYS, ConfigError, load_config
from eks_inferentia.instance_types import INSTANCE_TYPES

ROOT = Path(__file__).resolve().parent.parent
MODEL = "s3://my-models/resnet50_neuron/"


def test_defaults_are_the_walkthroughs() -> None:
    config = load_config({"modelBasePath": MODEL})
    assert (config.cluster_name, config.instance_type) == ("inferentia", "inf1.2xlarge")
    assert (config.desired_nodes, config.min_nodes, config.max_nodes) == (2, 1, 4)
    assert (config.namespace, config.serving_name, config.replicas) == ("inference", "eks-neuron-test", 2)
    assert (config.model_name, config.neuron_devices_per_replica) == ("resnet50_neuron", 1)
    assert (config.model_bucket, config.model_prefix) == ("my-models", "resnet50_neuron")
    assert config.s3_access == "bucket" and config.ssh_public_key is None and config.vpc_id is None


def test_namespaced_keys_and_json_arrays_are_read() -> None:
    config = load_config({
        "eks-inferentia:modelBasePath": MODEL,
        "eks-inferentia:sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB user@host",
        "eks-inferentia:sshAllowedCidrs": json.dumps(["203.0.113.7/32", "2001:db8::/64"]),
        "eks-inferentia:desiredNodes": "3.0",
    })
    assert config.ssh_allowed_cidrs == ("203.0.113.7/32", "2001:db8::/64")
    assert config.desired_nodes == 3


BAD_VALUES = [
    ("clusterName", "-starts-with-dash"),
    ("clusterName", "x" * 101),
    ("kubernetesVersion", "1.20"),
    ("kubernetesVersion", "1.31"),  # leaves EKS extended support on 2026-11-26
    ("kubernetesVersion", "latest"),
    ("instanceType", "p4d.24xlarge"),
    ("desiredNodes", "two"),
    ("desiredNodes", "2.5"),
    ("desiredNodes", "9"),
    ("minNodes", "-1"),
    ("maxNodes", "0"),
    ("capacityType", "spot"),
    ("namespace", "Inference"),
    ("servingName", "eks_neuron_test"),
    ("replicas", "0"),
    ("neuronDevicesPerReplica", "0"),
    ("neuronDevicesPerReplica", "2"),
    ("modelName", "has space"),
    ("modelBasePath", "https://bucket/model"),
    ("modelBasePath", "s3://Bad_Bucket/model"),
    ("modelBasePath", "s3://bucket-only"),
    ("servingImage", "not an image"),
    ("modelKmsKeyArn", "alias/models"),
    ("modelKmsKeyArn", "arn:aws:kms:us-west-2:123456789012:alias/models"),
    ("s3Access", "read"),
    ("neuronChartVersion", "latest"),
    ("sshAllowedCidrs", '["203.0.113.7/32"]'),
    ("privateSubnetIds", "subnet-0123456789abcdef0"),
    ("replicas", "5"),  # 4 x inf1.2xlarge (maxNodes) hold 4 single-device pods
    ("cpuRequest", "lots"),
    ("cpuRequest", "0"),
    ("cpuRequest", "5"),  # above cpuLimit
    ("memoryLimit", "4GB"),
    ("memoryRequest", "5Gi"),  # above memoryLimit
    ("neuronScheduler", "on"),
    ("servingBatching", "yes"),
    ("smokeTest", "maybe"),
    ("allowedClientNamespaces", '["Apps"]'),
    ("apiAllowedCidrs", '["10.0.0.1/8"]'),
    ("apiAllowedCidrs", '["2001:db8::/32"]'),
    ("systemNodes", "-1"),
    ("systemNodeInstanceType", "inf2.xlarge"),
    ("systemNodeInstanceType", "m6i"),
]


@pytest.mark.parametrize(("key", "value"), BAD_VALUES)
def test_bad_value_is_refused_naming_key_and_value(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"modelBasePath": MODEL, key: value})
    assert any(f"eks-inferentia:{key}" in problem for problem in caught.value.problems), caught.value.problems
    shown = value.strip('[]"')[:20]
    assert any(shown in problem for problem in caught.value.problems), caught.value.problems


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"replicas": "two", "instanceType": "m5.large", "namespace": "UPPER", "capacityType": "x"})
    problems = "\n".join(caught.value.problems)
    for key in ("replicas", "instanceType", "namespace", "capacityType", "modelBasePath"):
        assert f"eks-inferentia:{key}" in problems
    assert len(caught.value.problems) == 5
    assert "nothing was deployed" in str(caught.value)


def test_model_base_path_is_required() -> None:
    with pytest.raises(ConfigError, match="eks-inferentia:modelBasePath is required"):
        load_config({})


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0", "not-a-cidr"])
def test_ssh_is_never_open_to_the_world(cidr: str) -> None:
    with pytest.raises(ConfigError, match="eks-inferentia:sshAllowedCidrs"):
        load_config({"modelBasePath": MODEL, "sshPublicKey": "ssh-ed25519 AAAAC3Nz user",
                     "sshAllowedCidrs": json.dumps([cidr])})


def test_ssh_key_needs_allowed_cidrs() -> None:
    with pytest.raises(ConfigError, match="at least one CIDR"):
        load_config({"modelBasePath": MODEL, "sshPublicKey": "ssh-ed25519 AAAAC3Nz user"})


def test_existing_vpc_needs_all_three_keys() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"modelBasePath": MODEL, "vpcId": "vpc-0123456789abcdef0"})
    problems = "\n".join(caught.value.problems)
    assert "eks-inferentia:privateSubnetIds" in problems and "eks-inferentia:publicSubnetIds" in problems


def test_devices_per_replica_follow_the_instance_table() -> None:
    config = load_config({"modelBasePath": MODEL, "instanceType": "inf2.48xlarge", "neuronDevicesPerReplica": "12"})
    assert config.neuron_devices_per_replica == INSTANCE_TYPES["inf2.48xlarge"].neuron_devices
    with pytest.raises(ConfigError, match=r"1 to 12"):
        load_config({"modelBasePath": MODEL, "instanceType": "inf2.48xlarge", "neuronDevicesPerReplica": "13"})


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="eks-inferentia:replica is not a known key"):
        load_config({"modelBasePath": MODEL, "replica": "3"})


def test_pulumi_yaml_declares_every_key_with_the_codes_type_and_default() -> None:
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    assert list(declared) == [key.name for key in CONFIG_KEYS]
    for key in CONFIG_KEYS:
        spec = declared[key.name]
        assert spec["type"] == key.type, key.name
        assert spec["description"] == key.description, key.name
        if key.required:
            assert "default" not in spec, key.name
        else:
            assert spec["default"] == key.default, key.name
        if key.type == "array":
            assert spec["items"] == {"type": "string"}


@pytest.mark.parametrize("stack_file", sorted(ROOT.glob("Pulumi.*.yaml")), ids=lambda p: p.name)
def test_stack_files_are_valid(stack_file: Path) -> None:
    values = yaml.safe_load(stack_file.read_text())["config"]
    ours = {k: (json.dumps(v) if isinstance(v, list) else str(v)) for k, v in values.items()
            if k.startswith("eks-inferentia:")}
    load_config(ours)


def test_readme_documents_every_key_and_output() -> None:
    from eks_inferentia.contract import outputs_table
    from tools.schema import pulumi_yaml_config, readme_config_table

    readme = (ROOT / "README.md").read_text()
    assert readme_config_table() in readme, "run `python -m tools.schema` to regenerate the README's config table"
    assert outputs_table() in readme
    assert (ROOT / "Pulumi.yaml").read_text().endswith(pulumi_yaml_config()), "run `python -m tools.schema`"


def test_requests_above_what_a_node_allocates_are_refused_with_the_limit() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"modelBasePath": MODEL, "cpuRequest": "8", "cpuLimit": "8", "memoryRequest": "16Gi",
                     "memoryLimit": "16Gi"})
    assert caught.value.problems == [
        "eks-inferentia:cpuRequest: '8' is not allowed; expected at most 7910m (what one inf1.2xlarge can allocate to pods)",
        "eks-inferentia:memoryRequest: '16Gi' is not allowed; expected at most 15.2Gi (what one inf1.2xlarge can allocate to pods)",
    ]


@pytest.mark.parametrize(("devices", "ok"), [(1, True), (2, False), (4, True), (8, True), (12, False), (16, True)])
def test_trainium_pods_take_contiguous_device_groups(devices: int, ok: bool) -> None:
    raw = {"modelBasePath": MODEL, "instanceType": "trn1.32xlarge", "neuronDevicesPerReplica": str(devices), "replicas": "1"}
    if ok:
        assert load_config(raw).neuron_devices_per_replica == devices
    else:
        with pytest.raises(ConfigError, match="one of 1, 4, 8, 16 on Trainium"):
            load_config(raw)


def test_batching_parameters_are_checked_when_batching_is_on() -> None:
    bad = "max_batch_size { value: 8 } rm -rf"
    assert load_config({"modelBasePath": MODEL, "batchingParameters": bad}).serving_batching is False
    with pytest.raises(ConfigError, match="eks-inferentia:batchingParameters"):
        load_config({"modelBasePath": MODEL, "servingBatching": "true", "batchingParameters": bad})
    config = load_config({"modelBasePath": MODEL, "servingBatching": "true",
                          "batchingParameters": "max_batch_size { value: 4 }\nallowed_batch_sizes: 1 allowed_batch_sizes: 4"})
    assert config.batching_parameters == "max_batch_size { value: 4 } allowed_batch_sizes: 1 allowed_batch_sizes: 4"


def test_scheduler_auto_turns_on_exactly_for_multi_device_pods() -> None:
    def uses(**raw: str) -> bool:
        return load_config({"modelBasePath": MODEL, "instanceType": "inf1.6xlarge", **raw}).uses_neuron_scheduler

    assert not uses() and uses(neuronDevicesPerReplica="2")
    assert uses(neuronScheduler="enabled") and not uses(neuronDevicesPerReplica="2", neuronScheduler="disabled")


def test_warnings_name_the_key_and_what_to_do() -> None:
    from eks_inferentia.config import config_warnings

    assert config_warnings(load_config({"modelBasePath": MODEL, "apiAllowedCidrs": '["203.0.113.0/24"]'})) == []
    warnings = config_warnings(load_config({"modelBasePath": MODEL, "replicas": "3"}))
    assert any(w.startswith("eks-inferentia:replicas: 1 of 3 serving pods stay Pending") for w in warnings)
    assert any(w.startswith("eks-inferentia:apiAllowedCidrs: the cluster's API endpoint is open to 0.0.0.0/0") for w in warnings)
    warnings = config_warnings(load_config({"modelBasePath": MODEL, "instanceType": "inf1.6xlarge", "replicas": "1",
                                            "neuronDevicesPerReplica": "4", "neuronScheduler": "disabled",
                                            "desiredNodes": "1", "minNodes": "1"}))
    assert any("non-contiguous" in w for w in warnings)

