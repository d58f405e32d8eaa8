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
    ("s3Access", "read"),
    ("neuronChartVersion", "latest"),
    ("sshAllowedCidrs", '["203.0.113.7/32"]'),
    ("privateSubnetIds", "subnet-0123456789abcdef0"),
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

    readme = (ROOT / "README.md").read_text()
    for key in CONFIG_KEYS:
        assert f"`{key.name}`" in readme, key.name
    assert outputs_table() in readme
