"""Config: defaults, every rule, all problems at once, and Pulumi.yaml in step with the code."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

from eks_inferentia.capacity import ReplicaRange
from eks_inferentia.config import (
    CONFIG_KEYS,
    ConfigError,
    StackConfig,
    config_warnings,
    load_config,
)
from eks_inferentia.config import (
    DEFAULT_BATCHING_PARAMETERS as DEFAULT_BATCHING,
)
from eks_inferentia.instance_types import INSTANCE_TYPES
from tools.mock_engine import config_env
from tools.render import stack_config, stack_names

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
        "eks-inferentia:desiredNodes": "3",
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
            assert spec["items"] == {"type": "integer" if key.name == "modelVersions" else "string"}


@pytest.mark.parametrize("stack", stack_names())
def test_stack_files_are_valid(stack: str) -> None:
    # As the Pulumi CLI hands them over: Pulumi.yaml defaults and the stack file's values, as text.
    values = config_env(stack_config(stack))
    load_config({k: v for k, v in values.items() if k.startswith("eks-inferentia:")})


def test_readme_documents_every_key_and_output() -> None:
    from eks_inferentia.contract import outputs_table
    from tools.schema import pulumi_yaml_config, readme_config_table

    readme = (ROOT / "README.md").read_text()
    # A blank line after the table, or Markdown renders the next paragraph as table rows.
    assert readme_config_table() + "\n" in readme, "run `make schema` to regenerate the README's config table"
    assert outputs_table() + "\n\n" in readme, "run `make schema` to regenerate the README's outputs table"
    assert (ROOT / "Pulumi.yaml").read_text().endswith(pulumi_yaml_config()), "run `make schema`"


def test_schema_rewrite_keeps_a_blank_line_after_the_table(tmp_path: Path) -> None:
    from tools.schema import readme_config_table, rewrite

    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    stale = "| key | type | default | description |\n|---|---|---|---|\n| `old` | string | (none) | Gone. |\n"
    (tmp_path / "README.md").write_text(f"# t\n\n{stale}Rules beyond the types: ...\n")
    assert rewrite(tmp_path) == ["README.md"]
    assert (tmp_path / "README.md").read_text() == f"# t\n\n{readme_config_table()}\nRules beyond the types: ...\n"
    assert rewrite(tmp_path) == []  # and a second run changes nothing


def test_requests_above_what_a_node_allocates_are_refused_with_the_limit() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"modelBasePath": MODEL, "cpuRequest": "8", "cpuLimit": "8", "memoryRequest": "16Gi",
                     "memoryLimit": "16Gi", "monitoring": "false"})
    assert caught.value.problems == [
        "eks-inferentia:cpuRequest: '8' is not allowed; expected at most 7910m (what one inf1.2xlarge can allocate to pods)",
        "eks-inferentia:memoryRequest: '16Gi' is not allowed; expected at most 15.2Gi (what one inf1.2xlarge can allocate to pods)",
    ]


def test_with_monitoring_neuron_monitors_requests_come_off_every_neuron_node() -> None:
    # 7910m - 256m and 15611Mi - 128Mi: a request between the two would stay Pending beside neuron-monitor.
    with pytest.raises(ConfigError) as caught:
        load_config({"modelBasePath": MODEL, "cpuRequest": "7800m", "cpuLimit": "8", "memoryRequest": "15.2Gi",
                     "memoryLimit": "16Gi"})
    assert caught.value.problems == [
        "eks-inferentia:cpuRequest: '7800m' is not allowed; expected at most 7654m (what one inf1.2xlarge can allocate "
        "to pods, less 256m for neuron-monitor on every Neuron node)",
        "eks-inferentia:memoryRequest: '15.2Gi' is not allowed; expected at most 15.1Gi (what one inf1.2xlarge can "
        "allocate to pods, less 128Mi for neuron-monitor on every Neuron node)",
    ]
    # The same requests fit without monitoring.
    assert load_config({"modelBasePath": MODEL, "cpuRequest": "7800m", "cpuLimit": "8", "memoryRequest": "15.2Gi",
                        "memoryLimit": "16Gi", "monitoring": "false", "replicas": "1"}).cpu_request == "7800m"


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

    assert config_warnings(load_config({"modelBasePath": MODEL, "apiAllowedCidrs": '["203.0.113.0/24"]',
                                        "modelCompiledFor": "neuron"})) == []
    warnings = config_warnings(load_config({"modelBasePath": MODEL, "apiAllowedCidrs": '["203.0.113.0/24"]'}))
    assert warnings == ["eks-inferentia:modelCompiledFor: not set, so nothing checks that the model at modelBasePath "
                        "was compiled for inf1.2xlarge; set it to 'neuron'"]
    warnings = config_warnings(load_config({"modelBasePath": MODEL, "replicas": "3"}))
    assert any(w.startswith("eks-inferentia:replicas: 1 of 3 serving pods stay Pending") for w in warnings)
    assert any(w.startswith("eks-inferentia:apiAllowedCidrs: the cluster's API endpoint is open to 0.0.0.0/0") for w in warnings)
    warnings = config_warnings(load_config({"modelBasePath": MODEL, "instanceType": "inf1.6xlarge", "replicas": "1",
                                            "neuronDevicesPerReplica": "4", "neuronScheduler": "disabled",
                                            "desiredNodes": "1", "minNodes": "1"}))
    assert any("non-contiguous" in w for w in warnings)



# What the Pulumi CLI itself accepts for `type: integer` (Go's strconv.Atoi) and `type: boolean`;
# the program accepts no more, so the offline preview never passes what `pulumi preview` refuses.
@pytest.mark.parametrize(("key", "value"), [("replicas", "3.0"), ("replicas", " 3"), ("replicas", "3 "),
                                            ("replicas", "1e1"), ("smokeTest", "True"), ("smokeTest", "yes"),
                                            ("smokeTest", " true"), ("servingBatching", "1")])
def test_integers_and_booleans_are_exactly_what_the_pulumi_cli_accepts(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"modelBasePath": MODEL, key: value})
    assert caught.value.problems == [f"eks-inferentia:{key}: {value!r} is not allowed; expected "
                                     + ("an integer" if key == "replicas" else "true or false")]


OFF_WHEN_EMPTY = [key.name for key in CONFIG_KEYS if key.type == "string" and key.default == ""]


@pytest.mark.parametrize("blank", ["", "  "])
@pytest.mark.parametrize("key", [key.name for key in CONFIG_KEYS], ids=str)
def test_a_blank_value_is_refused_in_one_line_unless_blank_is_the_keys_default(key: str, blank: str) -> None:
    raw = {"modelBasePath": MODEL, key: blank}
    if key in OFF_WHEN_EMPTY and blank == "":
        load_config(raw)  # '' is the default: the feature is off
        return
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    assert len(caught.value.problems) == 1, caught.value.problems
    (problem,) = caught.value.problems
    if key == "modelBasePath":
        assert problem.startswith(f"eks-inferentia:modelBasePath is required (got {blank!r}, which counts as missing)")
    else:
        assert problem.startswith(f"eks-inferentia:{key}: {blank!r} is not allowed; expected ")


def test_an_empty_model_path_is_missing_so_no_bucket_wide_grant_is_ever_built() -> None:
    for path in ("", " ", "\t"):
        with pytest.raises(ConfigError, match=r"eks-inferentia:modelBasePath is required \(got"):
            load_config({"modelBasePath": path})


@pytest.mark.parametrize("key", [key.name for key in CONFIG_KEYS if key.type == "array" and key.items == "string"])
def test_an_empty_string_inside_a_list_is_refused_naming_the_key(key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"modelBasePath": MODEL, "sshPublicKey": "ssh-ed25519 AAAAC3Nz user", "vpcId": "vpc-0123456789abcdef0",
                     "privateSubnetIds": '["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]',
                     "publicSubnetIds": '["subnet-0123456789abcdef2"]', "sshAllowedCidrs": '["203.0.113.0/24"]',
                     key: '["  "]' if key == "apiAllowedCidrs" else '[""]'})
    assert [p.split(" is not allowed")[0] for p in caught.value.problems] == [f"eks-inferentia:{key}: ''"]


@pytest.mark.parametrize(("raw", "expected"), [
    ({"apiAllowedCidrs": "[]"}, "eks-inferentia:apiAllowedCidrs: [] is not allowed; expected at least one CIDR"),
    ({"sshPublicKey": "ssh-ed25519 AAAAC3Nz user", "sshAllowedCidrs": "[]"},
     "eks-inferentia:sshAllowedCidrs: [] is not allowed; expected at least one CIDR when sshPublicKey is set"),
    ({"vpcId": "vpc-0123456789abcdef0", "privateSubnetIds": '["subnet-0123456789abcdef0"]',
      "publicSubnetIds": '["subnet-0123456789abcdef2"]'},
     'eks-inferentia:privateSubnetIds: ["subnet-0123456789abcdef0"] is not allowed; expected at least two subnets'),
], ids=["api", "ssh", "private-subnets"])
def test_a_list_that_needs_items_refuses_too_few(raw: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"modelBasePath": MODEL, **raw})
    assert len(caught.value.problems) == 1 and caught.value.problems[0].startswith(expected), caught.value.problems


# One mistake, one line: a refused value is not judged again by the rules that follow.
ONE_MISTAKE = {
    "list-not-json": ({"apiAllowedCidrs": "10.0.0.0/8"}, ["apiAllowedCidrs"]),
    "ssh-list-not-json": ({"sshPublicKey": "ssh-ed25519 AAAAC3Nz user", "sshAllowedCidrs": "10.0.0.0/8"}, ["sshAllowedCidrs"]),
    "vpc-alone": ({"vpcId": "vpc-0123456789abcdef0"}, ["privateSubnetIds", "publicSubnetIds"]),
    "subnets-not-json": ({"vpcId": "vpc-0123456789abcdef0", "privateSubnetIds": "subnet-0123456789abcdef0",
                          "publicSubnetIds": '["subnet-0123456789abcdef2"]'}, ["privateSubnetIds"]),
    "min-above-max": ({"minNodes": "5"}, ["minNodes"]),
    "desired-above-max": ({"desiredNodes": "9"}, ["desiredNodes"]),
    "negative-desired": ({"desiredNodes": "-1"}, ["desiredNodes"]),
    "request-above-limit-and-node": ({"cpuRequest": "8"}, ["cpuRequest"]),
    "trainium-devices": ({"instanceType": "trn1.32xlarge", "neuronDevicesPerReplica": "2", "replicas": "1"},
                         ["neuronDevicesPerReplica"]),
    "bad-ssh-key-no-cidrs": ({"sshPublicKey": "not a key"}, ["sshPublicKey"]),
    "open-ssh-without-key": ({"sshAllowedCidrs": '["0.0.0.0/0"]'}, ["sshAllowedCidrs"]),
}


@pytest.mark.parametrize(("raw", "keys"), ONE_MISTAKE.values(), ids=ONE_MISTAKE.keys())
def test_one_mistake_gives_one_problem_line(raw: dict[str, str], keys: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"modelBasePath": MODEL, **raw})
    assert [p.split(":")[1].split(" ")[0] for p in caught.value.problems] == keys, caught.value.problems


@pytest.mark.parametrize(("zones", "problem"), [
    ('["us-west-2a"]', "eks-inferentia:availabilityZones: [\"us-west-2a\"] is not allowed; expected at least two zones "
                      "(EKS needs two), or [] to pick them"),
    ('["us-west-2a", "us-west-2a"]', "eks-inferentia:availabilityZones: [\"us-west-2a\", \"us-west-2a\"] is not allowed; "
                                     "expected each zone once"),
    ('["us-west-2a", "us-west-2-lax-1a"]', "eks-inferentia:availabilityZones: 'us-west-2-lax-1a' is not allowed; expected "
                                           "standard availability zones such as us-west-2a (no Local or Wavelength Zones)"),
])
def test_availability_zones_are_two_or_more_standard_zones(zones: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"modelBasePath": MODEL, "availabilityZones": zones})
    assert caught.value.problems == [problem]
    assert load_config({"modelBasePath": MODEL, "availabilityZones": '["us-west-2b", "us-west-2a"]'}).availability_zones == (
        "us-west-2b", "us-west-2a")


def test_availability_zones_do_not_go_with_an_existing_vpc() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"modelBasePath": MODEL, "vpcId": "vpc-0123456789abcdef0",
                     "privateSubnetIds": '["subnet-0000000000000000a", "subnet-0000000000000000b"]',
                     "publicSubnetIds": '["subnet-0000000000000000c"]', "availabilityZones": '["us-west-2a", "us-west-2b"]'})
    assert caught.value.problems == ["eks-inferentia:availabilityZones: [\"us-west-2a\", \"us-west-2b\"] is not allowed; "
                                     "expected [] with vpcId: an existing VPC's subnets decide the zones"]


@pytest.mark.parametrize(("instance_type", "compiled_for", "needed"), [
    ("inf2.xlarge", "neuron", "neuronx"), ("trn1.2xlarge", "neuron", "neuronx"), ("inf1.2xlarge", "neuronx", "neuron")])
def test_a_model_compiled_for_the_other_neuron_generation_is_refused(instance_type: str, compiled_for: str,
                                                                    needed: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"modelBasePath": MODEL, "instanceType": instance_type, "modelCompiledFor": compiled_for,
                     "replicas": "1", "desiredNodes": "1", "minNodes": "1"})
    (problem,) = caught.value.problems
    assert problem.startswith(f"eks-inferentia:modelCompiledFor: {compiled_for!r} is not allowed; expected '{needed}' "
                              f"for instanceType {instance_type} (tensorflow-{needed} models; a tensorflow-{compiled_for} "
                              "model does not load there)")
    config = load_config({"modelBasePath": MODEL, "instanceType": instance_type, "modelCompiledFor": needed,
                          "replicas": "1", "desiredNodes": "1", "minNodes": "1"})
    assert config.model_compiled_for == needed


def test_model_compiled_for_takes_only_the_two_compilers() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"modelBasePath": MODEL, "modelCompiledFor": "inf1"})
    assert caught.value.problems == [
        "eks-inferentia:modelCompiledFor: 'inf1' is not allowed; expected neuron, neuronx, or '' (the default: no check)"]


def test_every_shipped_stack_says_what_its_model_was_compiled_for() -> None:
    for stack in stack_names():
        assert stack_config(stack).get("eks-inferentia:modelCompiledFor") in ("neuron", "neuronx"), stack


def test_a_region_without_neuron_containers_needs_a_serving_image() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"modelBasePath": MODEL}, region="eu-north-1")
    (problem,) = caught.value.problems
    assert problem.startswith("aws:region: 'eu-north-1' has no Neuron Deep Learning Containers, and "
                              "eks-inferentia:servingImage is empty; expected a region among ap-east-2, ")
    assert load_config({"modelBasePath": MODEL, "servingImage": "registry.example.com/tfs:1"}, region="eu-north-1")
    assert load_config({"modelBasePath": MODEL}, region="us-west-2")
    # vLLM's image is no Deep Learning Container: under vllm such a region needs no servingImage.
    assert load_config({"servingRuntime": "vllm", "instanceType": "inf2.8xlarge", "modelBasePath": MODEL},
                       region="eu-north-1").serving_image is None


# --- Exact messages and boundaries: what a mutation run (`make mutation`) needs asserted in full ---------

def _problems(raw: dict[str, str], **kwargs: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config({"modelBasePath": MODEL, **raw}, **kwargs)
    return caught.value.problems


def _refused(key: str, shown: str, expected: str) -> str:
    return f"eks-inferentia:{key}: {shown} is not allowed; expected {expected}"


EXISTING_VPC = {"vpcId": "vpc-0123456789abcdef0",
                "privateSubnetIds": '["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]',
                "publicSubnetIds": '["subnet-0123456789abcdef2"]'}
SCRAPER_SUBNETS = '["subnet-0123456789abcdef3", "subnet-0123456789abcdef4"]'


def test_the_defaults_are_exactly_the_documented_ones() -> None:
    assert load_config({"modelBasePath": MODEL}) == StackConfig(
        cluster_name="inferentia", kubernetes_version="1.35", instance_type="inf1.2xlarge",
        desired_nodes=2, min_nodes=1, max_nodes=4, capacity_type="ON_DEMAND",
        ssh_public_key=None, ssh_allowed_cidrs=(), vpc_id=None, private_subnet_ids=(), availability_zones=(),
        public_subnet_ids=(), namespace="inference", serving_name="eks-neuron-test", replicas=2,
        neuron_devices_per_replica=1, cpu_request="1", cpu_limit="4", memory_request="1Gi", memory_limit="4Gi",
        neuron_scheduler="auto", model_name="resnet50_neuron", model_base_path=MODEL, model_versions=(),
        model_poll_seconds=60, model_volume_size="10Gi", model_compiled_for=None,
        model_kms_key_arn=None, model_access="pod-identity", serving_image=None, s3_access="bucket",
        neuron_chart_version="1.10.0",
        allowed_client_namespaces=(), serving_batching=False,
        batching_parameters="max_batch_size { value: 8 } batch_timeout_micros { value: 2000 } "
                            "num_batch_threads { value: 4 } max_enqueued_batches { value: 100 }",
        smoke_test=True, api_allowed_cidrs=("0.0.0.0/0",), system_nodes=0, system_node_instance_type="m6i.large",
        aws_profile=None)


def test_every_key_is_read_bare_or_namespaced_and_values_are_kept_as_given() -> None:
    given = {
        "clusterName": "prod_cluster-2", "kubernetesVersion": "1.33", "instanceType": "inf2.xlarge",
        "desiredNodes": "3", "minNodes": "0", "maxNodes": "5", "capacityType": "SPOT",
        "sshPublicKey": "ssh-rsa AAAAB3NzaC1yc2E= admin@example", "sshAllowedCidrs": '[" 203.0.113.7/32 "]',
        "vpcId": "vpc-0123456789abcdef0", "privateSubnetIds": '["subnet-0000000a", "subnet-0000000b"]',
        "publicSubnetIds": '["subnet-0000000c"]', "availabilityZones": "[]",
        "namespace": "serving", "servingName": "resnet", "replicas": "3", "neuronDevicesPerReplica": "1",
        "cpuRequest": "500m", "cpuLimit": "2", "memoryRequest": "512Mi", "memoryLimit": "2Gi",
        "neuronScheduler": "enabled", "modelName": "resnet.v2", "modelBasePath": " s3://models/a/b/ ",
        "modelVersions": "[3, 1]", "modelPollSeconds": "10", "modelVolumeSize": " 20Gi ",
        "modelCompiledFor": "neuronx",
        "modelKmsKeyArn": "arn:aws:kms:us-west-2:123456789012:key/mrk-0123456789abcdef0123456789abcdef",
        "modelAccess": "node-role",
        "servingImage": "registry.example.com:5000/tfs/serving:2.10", "allowedClientNamespaces": '["apps", "batch"]',
        "servingBatching": "true", "batchingParameters": "max_batch_size { value: 4 }", "smokeTest": "false",
        "s3Access": "all", "neuronChartVersion": "1.3.0-rc.1", "apiAllowedCidrs": '["203.0.113.0/24", "198.51.100.0/24"]',
        "systemNodes": "2", "systemNodeInstanceType": "c7i.xlarge",
    }
    expected = StackConfig(
        cluster_name="prod_cluster-2", kubernetes_version="1.33", instance_type="inf2.xlarge",
        desired_nodes=3, min_nodes=0, max_nodes=5, capacity_type="SPOT",
        ssh_public_key="ssh-rsa AAAAB3NzaC1yc2E= admin@example", ssh_allowed_cidrs=("203.0.113.7/32",),
        vpc_id="vpc-0123456789abcdef0", private_subnet_ids=("subnet-0000000a", "subnet-0000000b"),
        availability_zones=(), public_subnet_ids=("subnet-0000000c",), namespace="serving", serving_name="resnet",
        replicas=3, neuron_devices_per_replica=1, cpu_request="500m", cpu_limit="2", memory_request="512Mi",
        memory_limit="2Gi", neuron_scheduler="enabled", model_name="resnet.v2", model_base_path="s3://models/a/b/",
        model_versions=(3, 1), model_poll_seconds=10, model_volume_size="20Gi",
        model_compiled_for="neuronx",
        model_kms_key_arn="arn:aws:kms:us-west-2:123456789012:key/mrk-0123456789abcdef0123456789abcdef",
        model_access="node-role",
        serving_image="registry.example.com:5000/tfs/serving:2.10", s3_access="all", neuron_chart_version="1.3.0-rc.1",
        allowed_client_namespaces=("apps", "batch"), serving_batching=True,
        batching_parameters="max_batch_size { value: 4 }", smoke_test=False,
        api_allowed_cidrs=("203.0.113.0/24", "198.51.100.0/24"), system_nodes=2,
        system_node_instance_type="c7i.xlarge", aws_profile="deploy")
    assert load_config(given, region="us-west-2", aws_profile="deploy") == expected
    namespaced = {f"eks-inferentia:{key}": value for key, value in given.items()}
    assert load_config(namespaced, region="us-west-2", aws_profile="deploy") == expected
    assert (expected.model_bucket, expected.model_prefix) == ("models", "a/b")
    assert expected.uses_existing_vpc and expected.has_system_nodes and expected.uses_neuron_scheduler


def test_a_bare_key_wins_over_its_namespaced_spelling() -> None:
    config = load_config({"modelBasePath": MODEL, "replicas": "1", "eks-inferentia:replicas": "3"})
    assert config.replicas == 1


@pytest.mark.parametrize(("raw", "attribute", "value"), [
    ({"clusterName": "x" * 100}, "cluster_name", "x" * 100),
    ({"clusterName": "9"}, "cluster_name", "9"),
    *[({"kubernetesVersion": v}, "kubernetes_version", v) for v in ("1.32", "1.33", "1.34", "1.35")],
    ({"capacityType": "SPOT"}, "capacity_type", "SPOT"),
    ({"capacityType": "ON_DEMAND"}, "capacity_type", "ON_DEMAND"),
    ({"minNodes": "0", "desiredNodes": "0", "maxNodes": "1", "replicas": "1"}, "max_nodes", 1),
    ({"minNodes": "3", "desiredNodes": "3", "maxNodes": "3", "replicas": "3"}, "min_nodes", 3),
    ({"minNodes": "+2"}, "min_nodes", 2),
    *[({"neuronScheduler": mode}, "neuron_scheduler", mode) for mode in ("auto", "enabled", "disabled")],
    *[({"s3Access": mode}, "s3_access", mode) for mode in ("bucket", "all")],
    *[({"modelAccess": mode}, "model_access", mode) for mode in ("pod-identity", "node-role")],
    ({"namespace": "a" * 63}, "namespace", "a" * 63),
    ({"servingName": "a-1"}, "serving_name", "a-1"),
    ({"servingName": "a"}, "serving_name", "a"),
    ({"modelName": "m" * 128}, "model_name", "m" * 128),
    ({"modelBasePath": "s3://abc/m"}, "model_base_path", "s3://abc/m"),
    ({"modelBasePath": "s3://" + "b" * 63 + "/m"}, "model_base_path", "s3://" + "b" * 63 + "/m"),
    ({"modelBasePath": "s3://my.models-1/a/b"}, "model_base_path", "s3://my.models-1/a/b"),
    ({"modelBasePath": "s3://models/Xception/"}, "model_prefix", "Xception"),
    ({"cpuRequest": "4", "memoryRequest": "4Gi"}, "cpu_request", "4"),
    ({"cpuRequest": "4", "memoryRequest": "4Gi"}, "memory_request", "4Gi"),
    ({"modelCompiledFor": ""}, "model_compiled_for", None),
    ({"modelKmsKeyArn": "arn:aws-cn:kms:cn-north-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
     "model_kms_key_arn", "arn:aws-cn:kms:cn-north-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
    ({"modelKmsKeyArn": "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
     "model_kms_key_arn", "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
    ({"servingImage": "tfs@sha256:" + "a" * 64}, "serving_image", "tfs@sha256:" + "a" * 64),
    ({"sshPublicKey": "ecdsa-sha2-nistp521 AAAA==", "sshAllowedCidrs": '["2001:db8::1/128"]'},
     "ssh_public_key", "ecdsa-sha2-nistp521 AAAA=="),
    ({"sshPublicKey": "ssh-ed25519 AAAA", "sshAllowedCidrs": '["203.0.113.7/24"]'},  # host bits: allowed for SSH
     "ssh_allowed_cidrs", ("203.0.113.7/24",)),
    ({"vpcId": "vpc-01234567", "privateSubnetIds": '["subnet-01234567", "subnet-0123456789abcdef0"]',
      "publicSubnetIds": '["subnet-89abcdef"]'}, "vpc_id", "vpc-01234567"),
    ({"neuronChartVersion": "1.3.0-RC.1"}, "neuron_chart_version", "1.3.0-RC.1"),
    ({"systemNodes": "0"}, "system_nodes", 0),
    ({"systemNodes": "1"}, "system_nodes", 1),
    ({"servingBatching": "false"}, "serving_batching", False),
    ({"smokeTest": "true"}, "smoke_test", True),
    ({"servingBatching": "true"}, "batching_parameters",
     "max_batch_size { value: 8 } batch_timeout_micros { value: 2000 } num_batch_threads { value: 4 } "
     "max_enqueued_batches { value: 100 }"),
    ({"servingBatching": "true", "batchingParameters": 'thread_pool_name { value: "tfs-pool" } '
                                                      "pad_variable_length_inputs: true enable_large_batch_splitting: false"},
     "batching_parameters",
     'thread_pool_name { value: "tfs-pool" } pad_variable_length_inputs: true enable_large_batch_splitting: false'),
    ({"modelVolumeSize": "1Mi"}, "model_volume_size", "1Mi"),  # the least
    ({"modelVersions": "[1, 2, 3, 4, 5, 6, 7, 8]"}, "model_versions", (1, 2, 3, 4, 5, 6, 7, 8)),  # the most
    ({"modelPollSeconds": "0"}, "model_poll_seconds", 0),  # copy once
    ({"modelPollSeconds": "86400"}, "model_poll_seconds", 86400),  # daily
    ({"latencyObjectiveMs": "1"}, "latency_objective_ms", 1),
    ({"latencyObjectiveMs": "600000"}, "latency_objective_ms", 600000),
    ({"alertEmail": "on.call+ml@alerts.example.com"}, "alert_email", "on.call+ml@alerts.example.com"),
    ({**EXISTING_VPC, "scraperSubnetIds": SCRAPER_SUBNETS}, "scraper_subnet_ids",
     ("subnet-0123456789abcdef3", "subnet-0123456789abcdef4")),
    # Autoscaling: minReplicas = replicas = maxReplicas, and targetRequestsPerSecond from 0.001 to 100000.
    ({"autoscaling": "true", "targetRequestsPerSecond": "40", "minReplicas": "2", "maxReplicas": "2", "replicas": "2"},
     "replica_range", ReplicaRange(2, 2)),
    ({"autoscaling": "true", "targetRequestsPerSecond": "0.001"}, "target_requests_per_second", Fraction(1, 1000)),
    ({"autoscaling": "true", "targetRequestsPerSecond": "100000"}, "target_requests_per_second", Fraction(100000)),
], ids=repr)
def test_values_at_the_limits_of_their_rules_are_accepted(raw: dict[str, str], attribute: str, value: object) -> None:
    assert getattr(load_config({"modelBasePath": MODEL, **raw}), attribute) == value


EXACT_PROBLEMS = {
    "model-versions-not-integers": ({"modelVersions": '["1", 2]'}, [_refused(
        "modelVersions", repr('["1", 2]'), "a JSON list of integers, such as [1, 2]")]),
    "model-versions-decimal": ({"modelVersions": "[1.5]"}, [_refused(
        "modelVersions", "'[1.5]'", "a JSON list of integers, such as [1, 2]")]),
    "model-versions-boolean": ({"modelVersions": "[true]"}, [_refused(
        "modelVersions", "'[true]'", "a JSON list of integers, such as [1, 2]")]),
    "model-versions-not-a-list": ({"modelVersions": "3"}, [_refused(
        "modelVersions", "'3'", "a JSON list of integers, such as [1, 2]")]),
    "model-versions-zero": ({"modelVersions": "[2, 0]"}, [_refused(
        "modelVersions", "[2, 0]", "positive integers, the version folders (s3://.../N/) to serve")]),
    "model-versions-duplicate": ({"modelVersions": "[2, 3, 2]"}, [_refused(
        "modelVersions", "[2, 3, 2]", "each version once")]),
    "model-versions-too-many": ({"modelVersions": "[1, 2, 3, 4, 5, 6, 7, 8, 9]"}, [_refused(
        "modelVersions", "[1, 2, 3, 4, 5, 6, 7, 8, 9]",
        "at most 8 versions (each is copied to every pod and loaded onto its NeuronCores)")]),
    "model-poll-too-often": ({"modelPollSeconds": "9"}, [_refused(
        "modelPollSeconds", "9", "0 (copy the model once at pod start) or 10 to 86400 seconds")]),
    "model-poll-negative": ({"modelPollSeconds": "-1"}, [_refused(
        "modelPollSeconds", "-1", "0 (copy the model once at pod start) or 10 to 86400 seconds")]),
    "model-poll-over-a-day": ({"modelPollSeconds": "86401"}, [_refused(
        "modelPollSeconds", "86401", "0 (copy the model once at pod start) or 10 to 86400 seconds")]),
    "model-volume-not-a-quantity": ({"modelVolumeSize": "10GB"}, [_refused(
        "modelVolumeSize", "'10GB'", "a Kubernetes quantity such as 500m, 2, 512Mi or 4Gi")]),
    "model-volume-bytes": ({"modelVolumeSize": "1000"}, [_refused(
        "modelVolumeSize", "'1000'", "at least 1Mi, a quantity such as 10Gi")]),
    "model-volume-over-the-root-volume": ({"modelVolumeSize": "71Gi"}, [_refused(
        "modelVolumeSize", "'71Gi'", "at most 70Gi (a node's 100 GiB root volume less 30 GiB for the OS, images and "
        "the kubelet's eviction reserve)")]),
    "model-volumes-of-a-nodes-pods": ({"instanceType": "inf1.6xlarge", "replicas": "16", "maxNodes": "4",
                                       "modelVolumeSize": "20Gi", "modelCompiledFor": "neuron"}, [_refused(
        "replicas", "16", "at most 12: 4 x inf1.6xlarge (maxNodes) hold 3 pod(s) of 1 Neuron device(s) each, limited "
        "by modelVolumeSize (20Gi a pod of the 70Gi a node's root volume leaves for models)")]),
    "cluster-name-101": ({"clusterName": "c" * 101}, [_refused(
        "clusterName", repr("c" * 101), "1-100 characters of letters, digits, '-' and '_', starting with a letter or digit")]),
    "cluster-name-underscore-first": ({"clusterName": "_a"}, [
        "eks-inferentia:clusterName: '_a' is not allowed; expected 1-100 characters of letters, digits, '-' and '_', "
        "starting with a letter or digit"]),
    "kubernetes-unsupported": ({"kubernetesVersion": "1.31"}, [
        "eks-inferentia:kubernetesVersion: '1.31' is not allowed; expected one of 1.32, 1.33, 1.34, 1.35, 1.36"]),
    "kubernetes-unpinned": ({"kubernetesVersion": "1.36"}, [
        "eks-inferentia:kubernetesVersion: '1.36' is not allowed; expected a version whose EKS add-ons are all pinned: "
        "1.32, 1.33, 1.34, 1.35 (no verified vpc-cni or eks-pod-identity-agent version for 1.36 yet; see ADDON_VERSIONS "
        "in eks_inferentia/versions.py)"]),
    "instance-type": ({"instanceType": "m5.large"}, [
        "eks-inferentia:instanceType: 'm5.large' is not allowed; expected a Neuron instance type: inf1.24xlarge, "
        "inf1.2xlarge, inf1.6xlarge, inf1.xlarge, inf2.24xlarge, inf2.48xlarge, inf2.8xlarge, inf2.xlarge, trn1.2xlarge, "
        "trn1.32xlarge, trn1n.32xlarge, trn2.48xlarge"]),
    "unknown-instance-type-zero-devices": ({"instanceType": "m5.large", "neuronDevicesPerReplica": "0"}, [
        "eks-inferentia:instanceType: 'm5.large' is not allowed; expected a Neuron instance type: inf1.24xlarge, "
        "inf1.2xlarge, inf1.6xlarge, inf1.xlarge, inf2.24xlarge, inf2.48xlarge, inf2.8xlarge, inf2.xlarge, trn1.2xlarge, "
        "trn1.32xlarge, trn1n.32xlarge, trn2.48xlarge",
        "eks-inferentia:neuronDevicesPerReplica: 0 is not allowed; expected 1 or more"]),
    "min-negative": ({"minNodes": "-1"}, ["eks-inferentia:minNodes: -1 is not allowed; expected 0 or more"]),
    "desired-negative": ({"desiredNodes": "-1"}, ["eks-inferentia:desiredNodes: -1 is not allowed; expected 0 or more"]),
    "max-zero": ({"maxNodes": "0"}, ["eks-inferentia:maxNodes: 0 is not allowed; expected 1 or more"]),
    "min-above-max": ({"minNodes": "5"}, ["eks-inferentia:minNodes: 5 is not allowed; expected at most maxNodes (4)"]),
    "min-above-max-by-one": ({"minNodes": "4", "desiredNodes": "3", "maxNodes": "3", "replicas": "3"}, [
        "eks-inferentia:minNodes: 4 is not allowed; expected at most maxNodes (3)"]),
    "desired-below-min": ({"minNodes": "3"}, ["eks-inferentia:desiredNodes: 2 is not allowed; expected at least minNodes (3)"]),
    "desired-above-max": ({"desiredNodes": "5"}, ["eks-inferentia:desiredNodes: 5 is not allowed; expected at most maxNodes (4)"]),
    "capacity-type": ({"capacityType": "spot"}, [
        "eks-inferentia:capacityType: 'spot' is not allowed; expected one of ON_DEMAND, SPOT"]),
    "ssh-key-40": ({"sshPublicKey": "k" * 40}, [_refused(
        "sshPublicKey", repr("k" * 40), "an OpenSSH public key such as 'ssh-ed25519 AAAA... user@host'")]),
    "ssh-key-41": ({"sshPublicKey": "k" * 41}, [_refused(
        "sshPublicKey", repr("k" * 40 + "..."), "an OpenSSH public key such as 'ssh-ed25519 AAAA... user@host'")]),
    "ssh-cidr-not-a-cidr": ({"sshPublicKey": "ssh-ed25519 AAAA u", "sshAllowedCidrs": '["bad"]'}, [
        "eks-inferentia:sshAllowedCidrs: 'bad' is not allowed; expected an IPv4 or IPv6 CIDR such as 203.0.113.10/32"]),
    "ssh-cidr-open": ({"sshPublicKey": "ssh-ed25519 AAAA u", "sshAllowedCidrs": '["10.0.0.0/8", "::/0"]'}, [
        "eks-inferentia:sshAllowedCidrs: '::/0' is not allowed; expected a CIDR narrower than the whole internet; "
        "use SSM Session Manager for open access"]),
    "ssh-cidrs-without-key": ({"sshAllowedCidrs": '["10.0.0.0/8"]'}, [
        'eks-inferentia:sshAllowedCidrs: ["10.0.0.0/8"] is not allowed; expected an empty list unless sshPublicKey is set']),
    "ssh-key-without-cidrs": ({"sshPublicKey": "ssh-ed25519 AAAA u"}, [
        "eks-inferentia:sshAllowedCidrs: [] is not allowed; expected at least one CIDR when sshPublicKey is set "
        "(or leave SSH off and use SSM Session Manager)"]),
    "vpc-id": ({"vpcId": "vpc-0123456", "privateSubnetIds": '["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]',
                "publicSubnetIds": '["subnet-0123456789abcdef2"]'}, [
        "eks-inferentia:vpcId: 'vpc-0123456' is not allowed; expected a VPC ID such as vpc-0123456789abcdef0"]),
    "vpc-id-too-long": ({"vpcId": "vpc-0123456789abcdef01", "privateSubnetIds": '["subnet-01234567", "subnet-01234568"]',
                         "publicSubnetIds": '["subnet-01234569"]'}, [
        "eks-inferentia:vpcId: 'vpc-0123456789abcdef01' is not allowed; expected a VPC ID such as vpc-0123456789abcdef0"]),
    "vpc-alone": ({"vpcId": "vpc-0123456789abcdef0"}, [
        "eks-inferentia:privateSubnetIds: '' is not allowed; expected a value set together with vpcId and publicSubnetIds "
        "(all three for an existing VPC, none for a dedicated one)",
        "eks-inferentia:publicSubnetIds: '' is not allowed; expected a value set together with vpcId and privateSubnetIds "
        "(all three for an existing VPC, none for a dedicated one)"]),
    "refused-vpc-counts-as-given": ({"vpcId": "vpc-1", "privateSubnetIds": '["subnet-01234567", "subnet-01234568"]'}, [
        "eks-inferentia:vpcId: 'vpc-1' is not allowed; expected a VPC ID such as vpc-0123456789abcdef0",
        "eks-inferentia:publicSubnetIds: '' is not allowed; expected a value set together with vpcId and privateSubnetIds "
        "(all three for an existing VPC, none for a dedicated one)"]),
    "subnets-alone": ({"privateSubnetIds": '["subnet-1"]', "publicSubnetIds": '["subnet-01234567"]'}, [
        "eks-inferentia:privateSubnetIds: 'subnet-1' is not allowed; expected subnet IDs such as subnet-0123456789abcdef0",
        "eks-inferentia:vpcId: '' is not allowed; expected a value set together with privateSubnetIds and publicSubnetIds "
        "(all three for an existing VPC, none for a dedicated one)"]),
    "subnets-not-json-alone": ({"privateSubnetIds": "subnet-0123"}, [  # refused, but given: the other two are asked for
        'eks-inferentia:privateSubnetIds: \'subnet-0123\' is not allowed; expected a JSON list of strings, such as '
        '["first", "second"]',
        "eks-inferentia:vpcId: '' is not allowed; expected a value set together with privateSubnetIds and publicSubnetIds "
        "(all three for an existing VPC, none for a dedicated one)",
        "eks-inferentia:publicSubnetIds: '' is not allowed; expected a value set together with vpcId and privateSubnetIds "
        "(all three for an existing VPC, none for a dedicated one)"]),
    "empty-subnet-list-with-vpc": ({"vpcId": "vpc-01234567", "privateSubnetIds": "[]",
                                    "publicSubnetIds": '["subnet-01234567"]'}, [
        "eks-inferentia:privateSubnetIds: '[]' is not allowed; expected a value set together with vpcId and "
        "publicSubnetIds (all three for an existing VPC, none for a dedicated one)"]),
    "one-private-subnet": ({"vpcId": "vpc-01234567", "privateSubnetIds": '["subnet-01234567"]',
                            "publicSubnetIds": '["subnet-01234568"]'}, [
        'eks-inferentia:privateSubnetIds: ["subnet-01234567"] is not allowed; expected at least two subnets (EKS needs two '
        'availability zones)']),
    "public-subnet-id": ({"vpcId": "vpc-01234567", "privateSubnetIds": '["subnet-01234567", "subnet-01234568"]',
                          "publicSubnetIds": '["subnet-0123456789abcdef01"]'}, [
        "eks-inferentia:publicSubnetIds: 'subnet-0123456789abcdef01' is not allowed; expected subnet IDs such as "
        "subnet-0123456789abcdef0"]),
    "blank-subnets-with-vpc": ({"vpcId": "vpc-01234567", "privateSubnetIds": " ", "publicSubnetIds": '["subnet-01234567"]'}, [
        'eks-inferentia:privateSubnetIds: \' \' is not allowed; expected a JSON list of strings, such as ["first", "second"]; '
        "`pulumi config rm eks-inferentia:privateSubnetIds` restores the default ([])"]),
    "namespace-64": ({"namespace": "n" * 64}, [_refused(
        "namespace", repr("n" * 64),
        "a DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending alphanumeric")]),
    "serving-name-upper": ({"servingName": "A"}, [
        "eks-inferentia:servingName: 'A' is not allowed; expected a DNS-1123 label: at most 63 lowercase letters, digits "
        "and '-', starting and ending alphanumeric"]),
    "serving-name-ends-with-dash": ({"servingName": "a-"}, [
        "eks-inferentia:servingName: 'a-' is not allowed; expected a DNS-1123 label: at most 63 lowercase letters, digits "
        "and '-', starting and ending alphanumeric"]),
    "replicas-zero": ({"replicas": "0"}, ["eks-inferentia:replicas: 0 is not allowed; expected 1 or more"]),
    "devices-zero": ({"neuronDevicesPerReplica": "0"}, [
        "eks-inferentia:neuronDevicesPerReplica: 0 is not allowed; expected 1 to 1 (the Neuron devices of one inf1.2xlarge)"]),
    "devices-above-the-node": ({"instanceType": "inf2.48xlarge", "neuronDevicesPerReplica": "13"}, [
        "eks-inferentia:neuronDevicesPerReplica: 13 is not allowed; expected 1 to 12 (the Neuron devices of one inf2.48xlarge)"]),
    "trainium-devices": ({"instanceType": "trn2.48xlarge", "neuronDevicesPerReplica": "2", "replicas": "1"}, [
        "eks-inferentia:neuronDevicesPerReplica: 2 is not allowed; expected one of 1, 4, 8, 16 on Trainium "
        "(trn2.48xlarge): only those device groups are contiguous"]),
    "cpu-above-limit": ({"cpuRequest": "5"}, ["eks-inferentia:cpuRequest: '5' is not allowed; expected at most cpuLimit (4)"]),
    "cpu-above-limit-by-a-milli": ({"cpuRequest": "4001m"}, [
        "eks-inferentia:cpuRequest: '4001m' is not allowed; expected at most cpuLimit (4)"]),
    "memory-above-limit": ({"memoryRequest": "5Gi"}, [
        "eks-inferentia:memoryRequest: '5Gi' is not allowed; expected at most memoryLimit (4Gi)"]),
    "memory-above-limit-and-node": ({"memoryRequest": "16Gi"}, [
        "eks-inferentia:memoryRequest: '16Gi' is not allowed; expected at most memoryLimit (4Gi)"]),
    "quantity": ({"cpuLimit": "lots"}, [
        "eks-inferentia:cpuLimit: 'lots' is not allowed; expected a Kubernetes quantity such as 500m, 2, 512Mi or 4Gi"]),
    "quantity-zero": ({"cpuRequest": "0"}, ["eks-inferentia:cpuRequest: '0' is not allowed; expected a quantity above zero"]),
    "quantity-negative": ({"memoryLimit": "-1Gi"}, [
        "eks-inferentia:memoryLimit: '-1Gi' is not allowed; expected a quantity above zero"]),
    "scheduler": ({"neuronScheduler": "on"}, [
        "eks-inferentia:neuronScheduler: 'on' is not allowed; expected one of auto, enabled, disabled"]),
    "model-name-129": ({"modelName": "m" * 129}, [_refused(
        "modelName", repr("m" * 129), "1-128 letters, digits, '_', '.' and '-', starting with a letter or digit")]),
    "model-path-not-s3": ({"modelBasePath": "https://x/y"}, [
        "eks-inferentia:modelBasePath: 'https://x/y' is not allowed; expected an S3 URI, s3://bucket/prefix"]),
    **{f"bucket-{name}": ({"modelBasePath": f"s3://{bucket}/m"}, [_refused(
        "modelBasePath", repr(f"s3://{bucket}/m"),
        "s3://bucket/prefix with a valid bucket name (3-63 lowercase letters, digits, '.' and '-')")])
       for name, bucket in [("2-chars", "ab"), ("64-chars", "b" * 64), ("dots", "a..b"), ("ip-address", "192.168.1.1"),
                            ("upper", "Models")]},
    "no-prefix": ({"modelBasePath": "s3://bucket"}, [
        "eks-inferentia:modelBasePath: 's3://bucket' is not allowed; expected s3://bucket/prefix with a prefix naming "
        "the model's folder"]),
    "only-slashes": ({"modelBasePath": "s3://bucket//"}, [
        "eks-inferentia:modelBasePath: 's3://bucket//' is not allowed; expected s3://bucket/prefix with a prefix naming "
        "the model's folder"]),
    "kms": ({"modelKmsKeyArn": "alias/x"}, [
        "eks-inferentia:modelKmsKeyArn: 'alias/x' is not allowed; expected a KMS key ARN such as "
        "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"]),
    "image": ({"servingImage": "Bad Image"}, [
        "eks-inferentia:servingImage: 'Bad Image' is not allowed; expected an image reference such as "
        "registry/repository:tag or registry/repository@sha256:digest"]),
    "client-namespace": ({"allowedClientNamespaces": '["apps", "Apps"]'}, [
        "eks-inferentia:allowedClientNamespaces: 'Apps' is not allowed; expected namespace names (DNS-1123 labels)"]),
    "batching": ({"servingBatching": "true", "batchingParameters": "  junk \n more "}, [
        "eks-inferentia:batchingParameters: 'junk more' is not allowed; expected TensorFlow Serving batching parameters in "
        "text format, e.g. 'max_batch_size { value: 8 }', with fields among max_batch_size, batch_timeout_micros, "
        "num_batch_threads, max_enqueued_batches, thread_pool_name, allowed_batch_sizes, pad_variable_length_inputs, "
        "enable_large_batch_splitting"]),
    "api-host-bits": ({"apiAllowedCidrs": '["10.0.0.1/8"]'}, [
        "eks-inferentia:apiAllowedCidrs: '10.0.0.1/8' is not allowed; expected IPv4 CIDRs with no host bits set, "
        "such as 203.0.113.0/24"]),
    "api-ipv6": ({"apiAllowedCidrs": '["::/0", "10.0.0.0/8"]'}, [
        "eks-inferentia:apiAllowedCidrs: '::/0' is not allowed; expected IPv4 CIDRs (EKS public access CIDRs are IPv4)"]),
    "api-none": ({"apiAllowedCidrs": "[]"}, [
        'eks-inferentia:apiAllowedCidrs: [] is not allowed; expected at least one CIDR (["0.0.0.0/0"] for the whole '
        'internet)']),
    "api-not-a-list": ({"apiAllowedCidrs": '"10.0.0.0/8"'}, [
        'eks-inferentia:apiAllowedCidrs: \'"10.0.0.0/8"\' is not allowed; expected a JSON list of strings, such as '
        '["first", "second"]']),
    "api-not-strings": ({"apiAllowedCidrs": '["10.0.0.0/8", 1]'}, [
        'eks-inferentia:apiAllowedCidrs: \'["10.0.0.0/8", 1]\' is not allowed; expected a JSON list of strings, such as '
        '["first", "second"]']),
    "system-nodes": ({"systemNodes": "-1"}, [
        "eks-inferentia:systemNodes: -1 is not allowed; expected 0 (no system node group) or more"]),
    "system-type": ({"systemNodeInstanceType": "m6i"}, [
        "eks-inferentia:systemNodeInstanceType: 'm6i' is not allowed; expected an EC2 instance type such as m6i.large"]),
    "system-type-neuron": ({"systemNodeInstanceType": "inf2.xlarge"}, [
        "eks-inferentia:systemNodeInstanceType: 'inf2.xlarge' is not allowed; expected a CPU instance type such as "
        "m6i.large, not a Neuron one"]),
    "s3-access": ({"s3Access": "read"}, ["eks-inferentia:s3Access: 'read' is not allowed; expected one of bucket, all"]),
    "model-access": ({"modelAccess": "irsa"}, [
        "eks-inferentia:modelAccess: 'irsa' is not allowed; expected one of pod-identity, node-role"]),
    "chart-version": ({"neuronChartVersion": "1.3"}, [
        "eks-inferentia:neuronChartVersion: '1.3' is not allowed; expected a chart version such as 1.3.0"]),
    "ssh-cidrs-each-judged": ({"sshPublicKey": "ssh-ed25519 AAAA u", "sshAllowedCidrs": '["bad", "0.0.0.0/0"]'}, [
        "eks-inferentia:sshAllowedCidrs: 'bad' is not allowed; expected an IPv4 or IPv6 CIDR such as 203.0.113.10/32",
        "eks-inferentia:sshAllowedCidrs: '0.0.0.0/0' is not allowed; expected a CIDR narrower than the whole internet; "
        "use SSM Session Manager for open access"]),
    "api-cidrs-each-judged": ({"apiAllowedCidrs": '["10.0.0.1/8", "::/0"]'}, [
        "eks-inferentia:apiAllowedCidrs: '10.0.0.1/8' is not allowed; expected IPv4 CIDRs with no host bits set, "
        "such as 203.0.113.0/24",
        "eks-inferentia:apiAllowedCidrs: '::/0' is not allowed; expected IPv4 CIDRs (EKS public access CIDRs are IPv4)"]),
    "one-bad-private-subnet": ({"vpcId": "vpc-01234567", "privateSubnetIds": '["subnet-1"]',
                                "publicSubnetIds": '["subnet-01234567"]'}, [
        "eks-inferentia:privateSubnetIds: 'subnet-1' is not allowed; expected subnet IDs such as subnet-0123456789abcdef0"]),
    "one-bad-zone": ({"availabilityZones": '["us-west-2-lax-1a"]'}, [
        "eks-inferentia:availabilityZones: 'us-west-2-lax-1a' is not allowed; expected standard availability zones such "
        "as us-west-2a (no Local or Wavelength Zones)"]),
    "integer": ({"replicas": "x"}, ["eks-inferentia:replicas: 'x' is not allowed; expected an integer"]),
    "boolean": ({"smokeTest": "x"}, ["eks-inferentia:smokeTest: 'x' is not allowed; expected true or false"]),
    # A refused desiredNodes leaves capacity unjudged: 5 pods above maxNodes' 4 are not named too.
    "desired-above-max-capacity-not-judged": ({"desiredNodes": "9", "replicas": "5"}, [
        "eks-inferentia:desiredNodes: 9 is not allowed; expected at most maxNodes (4)"]),
    # modelCompiledFor is judged against a known instanceType only.
    "unknown-instance-type-compiled-for-not-judged": ({"instanceType": "m5.large", "modelCompiledFor": "neuron"}, [
        "eks-inferentia:instanceType: 'm5.large' is not allowed; expected a Neuron instance type: inf1.24xlarge, "
        "inf1.2xlarge, inf1.6xlarge, inf1.xlarge, inf2.24xlarge, inf2.48xlarge, inf2.8xlarge, inf2.xlarge, trn1.2xlarge, "
        "trn1.32xlarge, trn1n.32xlarge, trn2.48xlarge"]),
    # vLLM's keys are refused under a known servingRuntime only.
    "unknown-runtime-vllm-keys-not-judged": ({"servingRuntime": "triton", "maxConcurrentSequences": "16"}, [
        "eks-inferentia:servingRuntime: 'triton' is not allowed; expected one of tensorflow-serving, vllm"]),
    # monitoring (issue 10): latencyObjectiveMs from 1 to 600000 (ten minutes), one alert email, the collector's subnets.
    "latency-zero": ({"latencyObjectiveMs": "0"}, [
        "eks-inferentia:latencyObjectiveMs: 0 is not allowed; expected an integer from 1 to 600000 (milliseconds)"]),
    "latency-above-ten-minutes": ({"latencyObjectiveMs": "600001"}, [
        "eks-inferentia:latencyObjectiveMs: 600001 is not allowed; expected an integer from 1 to 600000 (milliseconds)"]),
    "alert-email-two-addresses": ({"alertEmail": "a@example.com, b@example.com"}, [
        "eks-inferentia:alertEmail: 'a@example.com, b@example.com' is not allowed; expected one email address such as "
        "oncall@example.com (or '' for none)"]),
    "alert-email-undotted-domain": ({"alertEmail": "oncall@example"}, [
        "eks-inferentia:alertEmail: 'oncall@example' is not allowed; expected one email address such as "
        "oncall@example.com (or '' for none)"]),
    "scraper-subnets-without-vpc": ({"scraperSubnetIds": SCRAPER_SUBNETS}, [
        f"eks-inferentia:scraperSubnetIds: {SCRAPER_SUBNETS} is not allowed; expected [] without vpcId: the dedicated "
        "VPC gets two subnets for the collector"]),
    "scraper-one-subnet": ({**EXISTING_VPC, "scraperSubnetIds": '["subnet-0123456789abcdef3"]'}, [
        'eks-inferentia:scraperSubnetIds: ["subnet-0123456789abcdef3"] is not allowed; expected [] or at least two '
        "subnets of vpcId in two zones (the managed collector needs two zones)"]),
    # A refused subnet ID is named once, not also as too few subnets.
    "scraper-bad-subnet-id": ({**EXISTING_VPC, "scraperSubnetIds": '["subnet-3"]'}, [
        "eks-inferentia:scraperSubnetIds: 'subnet-3' is not allowed; expected subnet IDs such as subnet-0123456789abcdef0"]),
    # ... nor also as set without vpcId.
    "scraper-bad-subnet-id-without-vpc": ({"scraperSubnetIds": '["subnet-3", "subnet-0123456789abcdef4"]'}, [
        "eks-inferentia:scraperSubnetIds: 'subnet-3' is not allowed; expected subnet IDs such as subnet-0123456789abcdef0"]),
}


@pytest.mark.parametrize(("raw", "problems"), EXACT_PROBLEMS.values(), ids=EXACT_PROBLEMS.keys())
def test_each_rule_refuses_with_its_exact_message(raw: dict[str, str], problems: list[str]) -> None:
    assert _problems(raw) == problems


def test_an_unknown_key_is_named_once_bare_or_namespaced_with_every_known_key() -> None:
    known = ("clusterName, kubernetesVersion, instanceType, desiredNodes, minNodes, maxNodes, capacityType, sshPublicKey, "
             "sshAllowedCidrs, vpcId, privateSubnetIds, publicSubnetIds, availabilityZones, namespace, servingName, "
             "replicas, neuronDevicesPerReplica, cpuRequest, cpuLimit, memoryRequest, memoryLimit, neuronScheduler, "
             "modelName, modelBasePath, modelVersions, modelPollSeconds, modelVolumeSize, modelCompiledFor, "
             "modelKmsKeyArn, modelAccess, servingImage, allowedClientNamespaces, "
             "servingBatching, batchingParameters, smokeTest, s3Access, neuronChartVersion, apiAllowedCidrs, "
             "systemNodes, systemNodeInstanceType, monitoring, latencyObjectiveMs, alertEmail, scraperSubnetIds, "
             "autoscaling, minReplicas, maxReplicas, targetRequestsPerSecond, targetRequestsWaiting, "
             "nodeProvisioner, extraInstanceTypes, karpenterAmiAlias, "
             "servingRuntime, tensorParallelSize, maxModelLength, maxConcurrentSequences, compiledArtifactsPath, "
             "modelSizeGiB")
    assert _problems({"replica": "3", "eks-inferentia:zone": "a"}) == [  # sorted as given
        f"eks-inferentia:zone is not a known key; known keys: {known}",
        f"eks-inferentia:replica is not a known key; known keys: {known}"]


def test_a_region_without_neuron_containers_is_one_exact_line() -> None:
    assert _problems({}, region="eu-north-1") == [
        "aws:region: 'eu-north-1' has no Neuron Deep Learning Containers, and eks-inferentia:servingImage is empty; "
        "expected a region among ap-east-2, ap-northeast-1, ap-south-1, ap-southeast-1, ap-southeast-2, eu-central-1, "
        "eu-west-1, eu-west-3, sa-east-1, us-east-1, us-east-2, us-west-2, or servingImage set to a TensorFlow Serving "
        "image for Neuron that the nodes can pull"]
    # A bad image in such a region is named for what it is, once.
    assert _problems({"servingImage": "Bad Image"}, region="eu-north-1") == [
        "eks-inferentia:servingImage: 'Bad Image' is not allowed; expected an image reference such as "
        "registry/repository:tag or registry/repository@sha256:digest"]


def test_the_missing_model_path_is_one_exact_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({})
    assert caught.value.problems == ["eks-inferentia:modelBasePath is required: S3 location of the Neuron-compiled "
                                     "SavedModel, s3://bucket/prefix (required)."]
    assert str(caught.value) == ("invalid configuration (1 problem); nothing was deployed:\n"
                                 "  - eks-inferentia:modelBasePath is required: S3 location of the Neuron-compiled "
                                 "SavedModel, s3://bucket/prefix (required).")
    with pytest.raises(ConfigError) as caught:
        load_config({"modelBasePath": " "})
    assert caught.value.problems == ["eks-inferentia:modelBasePath is required (got ' ', which counts as missing): "
                                     "S3 location of the Neuron-compiled SavedModel, s3://bucket/prefix (required)."]


def test_the_error_counts_its_problems_and_lists_each_on_its_own_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"modelBasePath": MODEL, "replicas": "0", "s3Access": "x"})
    assert str(caught.value) == (
        "invalid configuration (2 problems); nothing was deployed:\n"
        "  - eks-inferentia:replicas: 0 is not allowed; expected 1 or more\n"
        "  - eks-inferentia:s3Access: 'x' is not allowed; expected one of bucket, all")


# A blank value: what the key takes, and how to get its default back (shown as Pulumi.yaml writes it).
BLANK_KINDS = {"integer": "an integer", "boolean": "true or false",
               "array": 'a JSON list of strings, such as ["first", "second"]', "string": "a value",
               "integers": "a JSON list of integers, such as [1, 2]"}
SHOWN_DEFAULTS = {
    "clusterName": "'inferentia'", "kubernetesVersion": "'1.35'", "instanceType": "'inf1.2xlarge'", "desiredNodes": "2",
    "minNodes": "1", "maxNodes": "4", "capacityType": "'ON_DEMAND'", "sshAllowedCidrs": "[]", "privateSubnetIds": "[]",
    "publicSubnetIds": "[]", "availabilityZones": "[]", "namespace": "'inference'", "servingName": "'eks-neuron-test'",
    "replicas": "2", "neuronDevicesPerReplica": "1", "cpuRequest": "'1'", "cpuLimit": "'4'", "memoryRequest": "'1Gi'",
    "memoryLimit": "'4Gi'", "neuronScheduler": "'auto'", "modelName": "'resnet50_neuron'", "modelVersions": "[]",
    "modelPollSeconds": "60", "modelVolumeSize": "'10Gi'",
    "allowedClientNamespaces": "[]", "servingBatching": "false",
    "batchingParameters": "'max_batch_size { value: 8 } batch_timeout_micros { value: 2000 } num_batch_threads "
                          "{ value: 4 } max_enqueued_batches { value: 100 }'",
    "smokeTest": "true", "modelAccess": "'pod-identity'", "s3Access": "'bucket'", "neuronChartVersion": "'1.10.0'",
    "apiAllowedCidrs": '["0.0.0.0/0"]',
    "systemNodes": "0", "systemNodeInstanceType": "'m6i.large'",
    "monitoring": "true", "latencyObjectiveMs": "100", "scraperSubnetIds": "[]",
    "autoscaling": "false", "minReplicas": "1", "maxReplicas": "4",
    "nodeProvisioner": "'managed'", "extraInstanceTypes": "[]", "karpenterAmiAlias": "'al2023@v20260714'",
    "servingRuntime": "'tensorflow-serving'", "tensorParallelSize": "0", "maxModelLength": "4096",
    "maxConcurrentSequences": "8", "modelSizeGiB": "0", "targetRequestsWaiting": "0",
}


@pytest.mark.parametrize("blank", ["", " \t"])
@pytest.mark.parametrize("key", [key.name for key in CONFIG_KEYS if not key.required], ids=str)
def test_a_blank_value_says_exactly_what_the_key_takes_and_how_to_restore_its_default(key: str, blank: str) -> None:
    kind = BLANK_KINDS[next("integers" if k.items == "integer" else k.type for k in CONFIG_KEYS if k.name == key)]
    if key in OFF_WHEN_EMPTY:
        if blank == "":
            assert load_config({"modelBasePath": MODEL, key: blank}) == load_config({"modelBasePath": MODEL})
            return
        expected = f"{kind}, or '' (the default), not blanks"
    else:
        expected = f"{kind}; `pulumi config rm eks-inferentia:{key}` restores the default ({SHOWN_DEFAULTS[key]})"
    assert _problems({key: blank}) == [f"eks-inferentia:{key}: {blank!r} is not allowed; expected {expected}"]


def test_warnings_are_exact_and_in_order() -> None:
    from eks_inferentia.config import config_warnings

    assert config_warnings(load_config({"modelBasePath": MODEL, "instanceType": "inf1.6xlarge", "replicas": "1",
                                        "neuronDevicesPerReplica": "2", "neuronScheduler": "disabled",
                                        "desiredNodes": "1", "minNodes": "1",
                                        "apiAllowedCidrs": '["203.0.113.0/24", "0.0.0.0/0"]'})) == [
        "eks-inferentia:replicas: 2 of 4 Neuron devices at desiredNodes stay idle (paid for, unused); lower desiredNodes "
        "or raise replicas or neuronDevicesPerReplica",
        "eks-inferentia:apiAllowedCidrs: the cluster's API endpoint is open to 0.0.0.0/0; list your networks' CIDRs to "
        "close it (authentication still applies)",
        "eks-inferentia:neuronScheduler: 'disabled' with 2 devices per pod: the default scheduler may pick "
        "non-contiguous Neuron devices and the pod fails to start; use 'auto'",
        "eks-inferentia:modelCompiledFor: not set, so nothing checks that the model at modelBasePath was compiled for "
        "inf1.6xlarge; set it to 'neuron'"]
    assert config_warnings(load_config({"modelBasePath": MODEL, "instanceType": "inf2.xlarge",
                                        "apiAllowedCidrs": '["203.0.113.0/24"]', "replicas": "1", "desiredNodes": "1",
                                        "minNodes": "1"})) == [
        "eks-inferentia:modelCompiledFor: not set, so nothing checks that the model at modelBasePath was compiled for "
        "inf2.xlarge; set it to 'neuronx'"]
    # One device per pod needs no contiguous group: 'disabled' is then fine.
    assert config_warnings(load_config({"modelBasePath": MODEL, "neuronScheduler": "disabled", "modelCompiledFor": "neuron",
                                        "apiAllowedCidrs": '["10.0.0.0/8"]'})) == []


def test_every_open_cidr_is_named_in_the_warning() -> None:
    from eks_inferentia.config import config_warnings

    config = load_config({"modelBasePath": MODEL, "apiAllowedCidrs": '["0.0.0.0/0", "203.0.113.0/24", "0.0.0.0/0"]',
                          "modelCompiledFor": "neuron"})
    assert config_warnings(config) == [
        "eks-inferentia:apiAllowedCidrs: the cluster's API endpoint is open to 0.0.0.0/0, 0.0.0.0/0; list your "
        "networks' CIDRs to close it (authentication still applies)"]


def test_the_running_program_reads_its_namespace_region_and_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    import pulumi
    from pulumi.runtime.config import set_all_config

    from eks_inferentia.config import load_stack_config
    from tools.mock_engine import PROJECT, CloudMocks

    logged: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: logged.append(message))
    pulumi.runtime.set_mocks(CloudMocks(preview=False, stack="dev", region="eu-north-1"), project=PROJECT, stack="dev",
                             preview=False)
    try:
        set_all_config({"aws:region": "eu-north-1", "aws:profile": "ml-team", "eks-inferentia:modelBasePath": MODEL,
                        "eks-inferentia:servingImage": "registry.example.com/tfs:1"})
        config = load_stack_config()
        assert (config.aws_profile, config.serving_image, config.model_base_path) == (
            "ml-team", "registry.example.com/tfs:1", MODEL)
        # Each warning is logged as it is worded (here: the open API endpoint, and modelCompiledFor unset).
        assert logged == config_warnings(config) and len(logged) == 2
        # The stack's region (what get_region answers) is judged (no Neuron containers in eu-north-1), and a misspelt key is named.
        set_all_config({"aws:region": "eu-north-1", "eks-inferentia:modelBasePath": MODEL, "eks-inferentia:replica": "1"})
        with pytest.raises(ConfigError) as caught:
            load_stack_config()
        assert [problem.split(" ")[0] for problem in caught.value.problems] == ["aws:region:", "eks-inferentia:replica"]
        set_all_config({"aws:region": "eu-north-1", "eks-inferentia:modelBasePath": MODEL,
                        "eks-inferentia:servingImage": "registry.example.com/tfs:1"})
        assert load_stack_config().aws_profile is None
    finally:
        set_all_config({})


def test_node_role_model_access_is_warned_about_naming_the_key() -> None:
    assert not [w for w in config_warnings(load_config({"modelBasePath": MODEL})) if "modelAccess" in w]
    (warning,) = [w for w in config_warnings(load_config({"modelBasePath": MODEL, "modelAccess": "node-role"}))
                  if "modelAccess" in w]
    assert warning.startswith("eks-inferentia:modelAccess: 'node-role' gives the model's S3 read access to the Neuron node role")


# Each warning of config_warnings exactly, under its condition, and its absence when any part of the condition is false.
# QUIET silences the others (an open API endpoint, modelCompiledFor unset).
QUIET = {"modelBasePath": MODEL, "apiAllowedCidrs": '["203.0.113.0/24"]', "modelCompiledFor": "neuron"}


@pytest.mark.parametrize(("raw", "warnings"), [
    ({"modelAccess": "node-role"}, [
        "eks-inferentia:modelAccess: 'node-role' gives the model's S3 read access to the Neuron node role, so every pod "
        "on those nodes can use it (the metadata service answers pods, hop limit 2); 'pod-identity' (the default) gives "
        "it to the serving ServiceAccount only"]),
    ({"modelAccess": "pod-identity"}, []),
    # monitoring on, an existing VPC and no scraperSubnetIds: the collector shares the pods' subnets.
    (EXISTING_VPC, [
        "eks-inferentia:scraperSubnetIds: not set, so the managed Prometheus collector uses privateSubnetIds, and the "
        "NetworkPolicies admit those subnets' CIDRs, which hold every pod, to the metrics ports (9000, TensorFlow "
        "Serving's REST port, and 8000); give the collector two small subnets without pods"]),
    ({**EXISTING_VPC, "scraperSubnetIds": SCRAPER_SUBNETS}, []),  # subnets of its own
    ({**EXISTING_VPC, "monitoring": "false"}, []),  # no collector
    ({}, []),  # the dedicated VPC gives the collector two /28s of its own
], ids=["node-role", "pod-identity", "existing-vpc-without-scraper-subnets", "existing-vpc-with-scraper-subnets",
        "existing-vpc-without-monitoring", "dedicated-vpc"])
def test_each_warning_is_exact_and_only_under_its_condition(raw: dict[str, str], warnings: list[str]) -> None:
    assert config_warnings(load_config({**QUIET, **raw})) == warnings


# --- autoscaling (issue 11) ------------------------------------------------------------------------------------

AUTOSCALED = {"autoscaling": "true", "targetRequestsPerSecond": "40"}
TARGET_ALLOWED = "a decimal number above 0 and at most 100000, with at most 3 decimals, such as 12 or 7.5"
RANGE = "with autoscaling, replicas is the initial size, within"


def test_autoscaling_is_off_by_default_and_reads_its_range_and_target_when_on() -> None:
    from fractions import Fraction

    from eks_inferentia.capacity import ReplicaRange
    off = load_config({"modelBasePath": MODEL})
    assert (off.autoscaling, off.replica_range, off.target_requests_per_second) == (False, None, None)
    assert off.serving_shape.scaling is None
    on = load_config({"modelBasePath": MODEL, **AUTOSCALED, "targetRequestsPerSecond": "7.125"})
    assert on.replica_range == on.serving_shape.scaling == ReplicaRange(1, 4)
    assert on.target_requests_per_second == Fraction(57, 8)


@pytest.mark.parametrize(("raw", "problems"), [
    ({"autoscaling": "true", "targetRequestsPerSecond": "40", "monitoring": "false"},
     ["eks-inferentia:autoscaling: 'true' is not allowed; expected false while eks-inferentia:monitoring is false: KEDA "
      "scales on the serving metrics (the prediction rate, or vLLM's queue) in the stack's Amazon Managed Prometheus "
      "workspace; set monitoring to true"]),
    ({"autoscaling": "true"},
     ["eks-inferentia:targetRequestsPerSecond is required when eks-inferentia:autoscaling is true: the predictions per "
      "second one pod should carry (README, \"Autoscaling\": measure one pod's saturation with `python -m "
      "client.loadtest`, then set 10-20 % below it)"]),
    ({**AUTOSCALED, "minReplicas": "0"},
     [_refused("minReplicas", "0", "1 or more (no scale to zero: nothing in front of TensorFlow Serving holds requests "
                                   "while a pod starts)")]),
    ({**AUTOSCALED, "minReplicas": "3", "maxReplicas": "2", "replicas": "2"},
     [_refused("minReplicas", "3", "at most maxReplicas (2)")]),
    ({**AUTOSCALED, "minReplicas": "3"}, [_refused("replicas", "2", f"at least minReplicas (3): {RANGE} [3, 4]")]),
    ({**AUTOSCALED, "maxReplicas": "1"}, [_refused("replicas", "2", f"at most maxReplicas (1): {RANGE} [1, 1]")]),
    ({**AUTOSCALED, "maxReplicas": "5"},
     [_refused("maxReplicas", "5", "at most 4: 4 x inf1.2xlarge (maxNodes) hold 1 pod(s) of 1 Neuron device(s) each, "
                                   "so KEDA could never place more")]),
    ({**AUTOSCALED, "maxReplicas": "0"}, [_refused("maxReplicas", "0", "1 or more")]),
    ({**AUTOSCALED, "targetRequestsPerSecond": "0"}, [_refused("targetRequestsPerSecond", "'0'", TARGET_ALLOWED)]),
    ({**AUTOSCALED, "targetRequestsPerSecond": "1e3"}, [_refused("targetRequestsPerSecond", "'1e3'", TARGET_ALLOWED)]),
    ({**AUTOSCALED, "targetRequestsPerSecond": "-5"}, [_refused("targetRequestsPerSecond", "'-5'", TARGET_ALLOWED)]),
    ({**AUTOSCALED, "targetRequestsPerSecond": "2.0005"},
     [_refused("targetRequestsPerSecond", "'2.0005'", TARGET_ALLOWED)]),
    ({**AUTOSCALED, "targetRequestsPerSecond": "100000.5"},
     [_refused("targetRequestsPerSecond", "'100000.5'", TARGET_ALLOWED)]),
    ({**AUTOSCALED, "targetRequestsPerSecond": "forty"},
     [_refused("targetRequestsPerSecond", "'forty'", TARGET_ALLOWED)]),
    ({**AUTOSCALED, "replicas": "0"}, [_refused("replicas", "0", "1 or more")]),
    # One mistake, one line: a refused monitoring is not judged again as autoscaling without it ...
    ({**AUTOSCALED, "monitoring": "x"}, [_refused("monitoring", "'x'", "true or false")]),
    # ... and a refused autoscaling key leaves capacity unjudged: 5 pods above maxNodes' 4 are not named too.
    ({**AUTOSCALED, "monitoring": "false", "replicas": "5", "maxReplicas": "8"},
     ["eks-inferentia:autoscaling: 'true' is not allowed; expected false while eks-inferentia:monitoring is false: KEDA "
      "scales on the serving metrics (the prediction rate, or vLLM's queue) in the stack's Amazon Managed Prometheus "
      "workspace; set monitoring to true"]),
    ({**AUTOSCALED, "minReplicas": "3", "maxReplicas": "2", "replicas": "5"},
     [_refused("minReplicas", "3", "at most maxReplicas (2)")]),
    ({**AUTOSCALED, "maxReplicas": "0", "replicas": "5"}, [_refused("maxReplicas", "0", "1 or more")]),
], ids=["needs-monitoring", "target-required", "min-zero", "min-above-max", "replicas-below-min", "replicas-above-max",
        "max-beyond-max-nodes", "max-zero", "target-zero", "target-exponent", "target-negative", "target-4-decimals",
        "target-too-high", "target-word", "replicas-zero", "refused-monitoring-not-judged-again",
        "refused-autoscaling-capacity-not-judged", "refused-min-replicas-capacity-not-judged",
        "refused-max-replicas-capacity-not-judged"])
def test_each_autoscaling_rule_refuses_with_its_exact_message(raw: dict[str, str], problems: list[str]) -> None:
    assert _problems(raw) == problems


def test_autoscaling_keys_are_not_judged_against_replicas_while_autoscaling_is_off() -> None:
    config = load_config({"modelBasePath": MODEL, "minReplicas": "3", "maxReplicas": "3"})
    assert (config.autoscaling, config.replica_range, config.min_replicas) == (False, None, 3)


def test_autoscaled_warnings_name_min_and_max_replicas() -> None:
    warnings = config_warnings(load_config({"modelBasePath": MODEL, **AUTOSCALED, "modelCompiledFor": "neuron",
                                            "apiAllowedCidrs": '["203.0.113.0/24"]'}))
    assert warnings == [
        "eks-inferentia:maxReplicas: 2 x inf1.2xlarge (desiredNodes) hold 2 serving pods, so pods KEDA adds above that, "
        "up to 4, stay Pending (the Neuron node group does not grow by itself); raise desiredNodes or lower maxReplicas",
        "eks-inferentia:minReplicas: at 1 pod(s), 1 of 2 Neuron devices at desiredNodes stay idle (paid for, unused) "
        "whenever demand is low; lower desiredNodes or raise minReplicas"]


# servingRuntime vllm (issue 14).
LLM = "s3://my-models/llama-3.1-8b-instruct/"
VLLM = {"servingRuntime": "vllm", "instanceType": "inf2.8xlarge", "modelBasePath": LLM}


def _vllm_problems(**raw: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config({**VLLM, **raw})
    return caught.value.problems


def test_vllm_defaults_take_every_neuroncore_of_the_pod() -> None:
    config = load_config(VLLM)
    assert config.uses_vllm and config.serving_runtime == "vllm"
    assert (config.tensor_parallel_size, config.max_model_length, config.max_concurrent_sequences) == (2, 4096, 8)
    assert config.compiled_artifacts_path is None and config.model_size_gib == 0
    assert load_config({**VLLM, "instanceType": "trn1.32xlarge", "neuronDevicesPerReplica": "4",
                        "desiredNodes": "1", "minNodes": "1", "replicas": "4"}).tensor_parallel_size == 8
    assert load_config({**VLLM, "instanceType": "trn2.48xlarge", "neuronDevicesPerReplica": "16", "desiredNodes": "1",
                        "minNodes": "1", "replicas": "1"}).tensor_parallel_size == 64  # LNC=2: 4 a device
    assert load_config({**VLLM, "tensorParallelSize": "1"}).tensor_parallel_size == 1
    assert not load_config({"modelBasePath": MODEL}).uses_vllm


def test_vllm_is_refused_on_inf1_naming_both_keys() -> None:
    assert _vllm_problems(instanceType="inf1.2xlarge") == [
        "eks-inferentia:servingRuntime: 'vllm' needs NeuronCore-v2 or later (inf2, trn1, trn1n or trn2), but "
        "eks-inferentia:instanceType is 'inf1.2xlarge' (Inferentia1); choose an inf2, trn1, trn1n or trn2 "
        "instanceType, or servingRuntime 'tensorflow-serving'"]
    assert _vllm_problems(servingRuntime="triton") == [
        "eks-inferentia:servingRuntime: 'triton' is not allowed; expected one of tensorflow-serving, vllm"]


def test_tensor_parallel_size_must_divide_the_pods_neuroncores() -> None:
    assert _vllm_problems(instanceType="trn1.32xlarge", neuronDevicesPerReplica="4", tensorParallelSize="3") == [
        "eks-inferentia:tensorParallelSize: 3 is not allowed; expected 0 (all of them) or a divisor of the pod's 8 "
        "NeuronCores (4 trn1.32xlarge device(s) x 2, neuronDevicesPerReplica): 1, 2, 4, 8"]
    assert _vllm_problems(tensorParallelSize="4") == [
        "eks-inferentia:tensorParallelSize: 4 is not allowed; expected 0 (all of them) or a divisor of the pod's 2 "
        "NeuronCores (1 inf2.8xlarge device(s) x 2, neuronDevicesPerReplica): 1, 2"]
    assert _vllm_problems(tensorParallelSize="-1") == [
        "eks-inferentia:tensorParallelSize: -1 is not allowed; expected 0 (every NeuronCore of the pod) or a "
        "positive integer"]
    assert _vllm_problems(maxModelLength="0", maxConcurrentSequences="0") == [
        "eks-inferentia:maxModelLength: 0 is not allowed; expected a positive number of tokens",
        "eks-inferentia:maxConcurrentSequences: 0 is not allowed; expected a positive number of sequences"]


def test_tensorflow_serving_keys_are_refused_under_vllm_with_why() -> None:
    assert _vllm_problems(modelVersions="[3]", modelPollSeconds="0", modelCompiledFor="neuronx",
                          servingBatching="true", batchingParameters="max_batch_size { value: 4 }") == [
        "eks-inferentia:modelVersions applies to servingRuntime 'tensorflow-serving' only (a Hugging Face model folder "
        "has no version folders; point modelBasePath at another folder to change the model); remove it "
        "(`pulumi config rm eks-inferentia:modelVersions`) under servingRuntime 'vllm'",
        "eks-inferentia:modelPollSeconds applies to servingRuntime 'tensorflow-serving' only (vllm copies the model "
        "once at pod start; a new modelBasePath rolls the pods); remove it (`pulumi config rm "
        "eks-inferentia:modelPollSeconds`) under servingRuntime 'vllm'",
        "eks-inferentia:modelCompiledFor applies to servingRuntime 'tensorflow-serving' only (vLLM compiles the model "
        "for instanceType itself, or loads compiledArtifactsPath); remove it (`pulumi config rm "
        "eks-inferentia:modelCompiledFor`) under servingRuntime 'vllm'",
        "eks-inferentia:servingBatching applies to servingRuntime 'tensorflow-serving' only (vLLM batches "
        "continuously; maxConcurrentSequences sets how many sequences run together); remove it (`pulumi config rm "
        "eks-inferentia:servingBatching`) under servingRuntime 'vllm'",
        "eks-inferentia:batchingParameters applies to servingRuntime 'tensorflow-serving' only (vLLM batches "
        "continuously; maxConcurrentSequences sets how many sequences run together); remove it (`pulumi config rm "
        "eks-inferentia:batchingParameters`) under servingRuntime 'vllm'"]
    # The CLI hands the program every default of Pulumi.yaml: a key at its default is not "set".
    assert load_config({**VLLM, "modelVersions": "[]", "modelPollSeconds": "60", "servingBatching": "false",
                        "modelCompiledFor": "", "batchingParameters": DEFAULT_BATCHING}).uses_vllm


def test_vllm_keys_are_refused_under_tensorflow_serving() -> None:
    assert _problems({"maxConcurrentSequences": "16", "compiledArtifactsPath": MODEL + "x/"}) == [
        "eks-inferentia:maxConcurrentSequences applies to servingRuntime 'vllm' only; remove it (`pulumi config rm "
        "eks-inferentia:maxConcurrentSequences`) or set servingRuntime to 'vllm'",
        "eks-inferentia:compiledArtifactsPath applies to servingRuntime 'vllm' only; remove it (`pulumi config rm "
        "eks-inferentia:compiledArtifactsPath`) or set servingRuntime to 'vllm'"]
    assert load_config({"modelBasePath": MODEL, "tensorParallelSize": "0", "modelSizeGiB": "0"}).serving_runtime == \
        "tensorflow-serving"


VLLM_AUTOSCALED = {**VLLM, "autoscaling": "true"}
WAITING_ALLOWED = ("1 to 32 (4 x maxConcurrentSequences, 8): the requests waiting in vLLM's queue per pod that KEDA "
                   "aims for")


def test_vllm_autoscales_on_target_requests_waiting() -> None:
    from fractions import Fraction
    config = load_config({**VLLM_AUTOSCALED, "targetRequestsWaiting": "4"})
    assert (config.target_requests_waiting, config.target_requests_per_second) == (4, None)
    assert config.scaling_target == Fraction(4)
    assert load_config({**VLLM_AUTOSCALED, "targetRequestsWaiting": "32"}).target_requests_waiting == 32
    assert load_config({**VLLM_AUTOSCALED, "targetRequestsWaiting": "64",
                        "maxConcurrentSequences": "16"}).target_requests_waiting == 64
    # The CLI hands Pulumi.yaml's default '' over as if set: it is not "set".
    assert load_config({**VLLM_AUTOSCALED, "targetRequestsWaiting": "4",
                        "targetRequestsPerSecond": ""}).target_requests_waiting == 4
    # Without autoscaling nothing reads it: the config holds 0, as under tensorflow-serving.
    unscaled = load_config({**VLLM, "targetRequestsWaiting": "4"})
    assert (unscaled.scaling_target, unscaled.target_requests_waiting) == (None, 0)
    tf = load_config({"modelBasePath": MODEL, **AUTOSCALED, "targetRequestsWaiting": "0"})
    assert (tf.target_requests_waiting, tf.scaling_target) == (0, Fraction(40))


@pytest.mark.parametrize(("raw", "problems"), [
    ({}, ["eks-inferentia:targetRequestsWaiting is required when eks-inferentia:autoscaling is true under "
          f"servingRuntime 'vllm': {WAITING_ALLOWED} (README, \"Autoscaling\": raise the load with `python -m "
          "client.loadtest --openai` and watch the time to first token and the queue)"]),
    ({"targetRequestsWaiting": "33"},
     [_refused("targetRequestsWaiting", "33", f"{WAITING_ALLOWED}; a longer queue makes a new request wait about 4 "
                                               "full batches for its first token")]),
    ({"targetRequestsWaiting": "65", "maxConcurrentSequences": "16"},
     [_refused("targetRequestsWaiting", "65", "1 to 64 (4 x maxConcurrentSequences, 16): the requests waiting in "
                                               "vLLM's queue per pod that KEDA aims for; a longer queue makes a new "
                                               "request wait about 4 full batches for its first token")]),
    ({"targetRequestsWaiting": "-1"},
     [_refused("targetRequestsWaiting", "-1", "0 (the default) or a positive number of requests")]),
    ({"targetRequestsWaiting": "four"}, [_refused("targetRequestsWaiting", "'four'", "an integer")]),
    ({"targetRequestsWaiting": "4", "targetRequestsPerSecond": "40"},
     ["eks-inferentia:targetRequestsPerSecond applies to servingRuntime 'tensorflow-serving' only (an LLM request's "
      "cost varies a hundredfold with its prompt and output, so autoscaling under vllm scales on the requests waiting "
      "in vLLM's queue, targetRequestsWaiting); remove it (`pulumi config rm eks-inferentia:targetRequestsPerSecond`) "
      "under servingRuntime 'vllm'"]),
], ids=["required", "above-4x-sequences", "above-4x-16-sequences", "negative", "word", "requests-per-second"])
def test_each_vllm_autoscaling_rule_refuses_with_its_exact_message(raw: dict[str, str], problems: list[str]) -> None:
    assert _vllm_problems(**VLLM_AUTOSCALED, **raw) == problems


def test_target_requests_per_second_is_refused_under_vllm_even_without_autoscaling() -> None:
    assert [p.split(" ")[0] for p in _vllm_problems(targetRequestsPerSecond="40")] == [
        "eks-inferentia:targetRequestsPerSecond"]


def test_target_requests_waiting_is_refused_under_tensorflow_serving() -> None:
    assert _problems({**AUTOSCALED, "targetRequestsWaiting": "4"}) == [
        "eks-inferentia:targetRequestsWaiting applies to servingRuntime 'vllm' only; remove it (`pulumi config rm "
        "eks-inferentia:targetRequestsWaiting`) or set servingRuntime to 'vllm'"]


def test_compiled_artifacts_lie_inside_the_model_folder_its_grant_covers() -> None:
    inside = LLM + "neuron-artifacts/inf2.8xlarge-tp2/"
    assert load_config({**VLLM, "compiledArtifactsPath": inside}).compiled_artifacts_path == inside
    expected = ("'' or an S3 folder inside modelBasePath (s3://my-models/llama-3.1-8b-instruct/...), which the model's "
                "S3 grant covers, such as s3://my-models/llama-3.1-8b-instruct/neuron-artifacts/inf2.8xlarge-tp2/")
    for outside in ("s3://other-bucket/artifacts/", "s3://my-models/llama-3.1-8b/x/", LLM):
        assert _vllm_problems(compiledArtifactsPath=outside) == [
            f"eks-inferentia:compiledArtifactsPath: {outside!r} is not allowed; expected {expected}"]


def test_model_size_sets_the_least_memory_request_and_model_volume() -> None:
    assert _vllm_problems(modelSizeGiB="16", memoryRequest="33Gi", memoryLimit="64Gi", modelVolumeSize="20Gi") == [
        "eks-inferentia:memoryRequest: '33Gi' is not allowed; expected at least 34Gi for a 16 GiB model (modelSizeGiB): "
        "vLLM on NxD Inference holds the weights about 2 times in host memory while it loads them, plus 2 GiB for "
        "the server (an estimate)",
        "eks-inferentia:modelVolumeSize: '20Gi' is not allowed; expected at least 21Gi: the 16 GiB of weights "
        "(modelSizeGiB) and 5 GiB for the compiled artifacts (an estimate)"]
    config = load_config({**VLLM, "modelSizeGiB": "16", "memoryRequest": "34Gi", "memoryLimit": "64Gi",
                          "modelVolumeSize": "21Gi"})
    assert config.model_size_gib == 16
    # What one node can give pods still bounds it: 2 x 64 GiB + 2 does not fit an inf2.xlarge (16 GiB).
    problems = _vllm_problems(instanceType="inf2.xlarge", modelSizeGiB="64", memoryRequest="130Gi",
                              memoryLimit="130Gi", modelVolumeSize="69Gi")
    assert [p.split(":")[1] for p in problems] == ["memoryRequest"] and "what one inf2.xlarge can allocate" in problems[0]


# _check_vllm in full: each rule's exact lines, and a key an earlier rule refused is not judged again (one mistake, one
# line). inf2.8xlarge has 1 Neuron device of 2 NeuronCores.
ARTIFACTS_OUTSIDE = "'' or an S3 folder inside modelBasePath ({folder}...), which the model's S3 grant covers, such as " \
                    "{folder}neuron-artifacts/{instance_type}-tp2/"
VLLM_EXACT_PROBLEMS = {
    # 2 devices are refused on inf2.8xlarge, so their 4 NeuronCores are not judged against tensorParallelSize 3 too.
    "refused-devices-not-judged-for-tensor-parallel-size": ({"neuronDevicesPerReplica": "2", "tensorParallelSize": "3"}, [
        "eks-inferentia:neuronDevicesPerReplica: 2 is not allowed; expected 1 to 1 (the Neuron devices of one inf2.8xlarge)"]),
    # A refused modelBasePath is no folder to hold compiledArtifactsPath.
    "refused-model-path-not-judged-for-artifacts": (
        {"modelBasePath": "s3://my-models", "compiledArtifactsPath": "s3://other-bucket/artifacts/"}, [
            "eks-inferentia:modelBasePath: 's3://my-models' is not allowed; expected s3://bucket/prefix with a prefix "
            "naming the model's folder"]),
    # memoryRequest above memoryLimit is not judged again against modelSizeGiB (16 GiB needs 34Gi).
    "refused-memory-request-not-judged-for-model-size": (
        {"modelSizeGiB": "16", "memoryRequest": "5Gi", "modelVolumeSize": "21Gi"}, [
            "eks-inferentia:memoryRequest: '5Gi' is not allowed; expected at most memoryLimit (4Gi)"]),
    # modelVolumeSize that is no quantity is not judged against modelSizeGiB (16 GiB needs 21Gi).
    "unparsed-model-volume-not-judged-for-model-size": (
        {"modelSizeGiB": "16", "memoryRequest": "34Gi", "memoryLimit": "64Gi", "modelVolumeSize": "10GB"}, [
            "eks-inferentia:modelVolumeSize: '10GB' is not allowed; expected a Kubernetes quantity such as 500m, 2, 512Mi "
            "or 4Gi"]),
    # modelVolumeSize above a node's root volume (capacity) is not judged again against modelSizeGiB (67 GiB needs 72Gi).
    "refused-model-volume-not-judged-for-model-size": (
        {"instanceType": "inf2.48xlarge", "modelSizeGiB": "67", "memoryRequest": "136Gi", "memoryLimit": "136Gi",
         "modelVolumeSize": "71Gi"}, [
            "eks-inferentia:modelVolumeSize: '71Gi' is not allowed; expected at most 70Gi (a node's 100 GiB root volume "
            "less 30 GiB for the OS, images and the kubelet's eviction reserve)"]),
    # The example folder names the stack's instanceType ...
    "artifacts-example-names-the-instance-type": ({"instanceType": "trn1.2xlarge",
                                                   "compiledArtifactsPath": "s3://other-bucket/artifacts/"}, [
        "eks-inferentia:compiledArtifactsPath: 's3://other-bucket/artifacts/' is not allowed; expected "
        + ARTIFACTS_OUTSIDE.format(folder=LLM, instance_type="trn1.2xlarge")]),
    # ... or inf2.8xlarge when instanceType is refused as blank (both mistakes are named).
    "artifacts-example-without-an-instance-type": ({"instanceType": "", "compiledArtifactsPath": "s3://other-bucket/a/"}, [
        "eks-inferentia:instanceType: '' is not allowed; expected a value; `pulumi config rm eks-inferentia:instanceType` "
        "restores the default ('inf1.2xlarge')",
        "eks-inferentia:compiledArtifactsPath: 's3://other-bucket/a/' is not allowed; expected "
        + ARTIFACTS_OUTSIDE.format(folder=LLM, instance_type="inf2.8xlarge")]),
    # Folders are compared whole: llm-/ is beside llm-XX/, not inside it.
    "artifacts-in-a-folder-whose-name-the-model-folders-extends": (
        {"modelBasePath": "s3://my-models/llm-XX/", "compiledArtifactsPath": "s3://my-models/llm-/"}, [
            "eks-inferentia:compiledArtifactsPath: 's3://my-models/llm-/' is not allowed; expected "
            + ARTIFACTS_OUTSIDE.format(folder="s3://my-models/llm-XX/", instance_type="inf2.8xlarge")]),
    "model-size-negative": ({"modelSizeGiB": "-1"}, [
        "eks-inferentia:modelSizeGiB: -1 is not allowed; expected 0 (unknown) or the weights' size in GiB"]),
    # modelCompiledFor is refused as TensorFlow Serving's only, not also as the wrong compiler for inf2.
    "compiled-for-refused-once": ({"modelCompiledFor": "neuron"}, [
        "eks-inferentia:modelCompiledFor applies to servingRuntime 'tensorflow-serving' only (vLLM compiles the model for "
        "instanceType itself, or loads compiledArtifactsPath); remove it (`pulumi config rm "
        "eks-inferentia:modelCompiledFor`) under servingRuntime 'vllm'"]),
}


@pytest.mark.parametrize(("raw", "problems"), VLLM_EXACT_PROBLEMS.values(), ids=VLLM_EXACT_PROBLEMS.keys())
def test_each_vllm_rule_refuses_with_its_exact_message(raw: dict[str, str], problems: list[str]) -> None:
    assert _vllm_problems(**raw) == problems


@pytest.mark.parametrize(("raw", "attribute", "value"), [
    # rstrip("/") strips slashes only: a model folder whose name ends in X keeps it, and so does an artifacts folder.
    ({"modelBasePath": "s3://my-models/llm-XX/", "compiledArtifactsPath": "s3://my-models/llm-XX/neuron/"},
     "compiled_artifacts_path", "s3://my-models/llm-XX/neuron/"),
    ({"modelBasePath": "s3://my-models/llm-XX/", "compiledArtifactsPath": "s3://my-models/llm-XX/XX"},
     "compiled_artifacts_path", "s3://my-models/llm-XX/XX"),
    # Without modelSizeGiB nothing bounds modelVolumeSize from below (modelSizeGiB + 5 GiB would be 5Gi).
    ({"modelVolumeSize": "4Gi"}, "model_volume_size", "4Gi"),
    ({"maxModelLength": "1"}, "max_model_length", 1),  # the least
    ({"maxConcurrentSequences": "1"}, "max_concurrent_sequences", 1),  # the least
], ids=repr)
def test_vllm_values_at_the_limits_of_their_rules_are_accepted(raw: dict[str, str], attribute: str, value: object) -> None:
    assert getattr(load_config({**VLLM, **raw}), attribute) == value


def test_vllm_warnings_name_what_is_unchecked_or_idle() -> None:
    assert config_warnings(load_config({**VLLM, "apiAllowedCidrs": '["203.0.113.0/24"]', "tensorParallelSize": "1"})) == [
        "eks-inferentia:tensorParallelSize: 1 of the pod's 2 NeuronCores serve the model; the others stay idle "
        "(0 takes them all)",
        "eks-inferentia:modelSizeGiB: not set, so nothing checks that memoryRequest (1Gi) and modelVolumeSize (10Gi) "
        "hold the model; set it to the size of the safetensors files in GiB",
        "eks-inferentia:latencyObjectiveMs: 100 ms, the default, is under vllm the objective for the p99 time to first "
        "token, which a long prompt alone can exceed; set it to what your users accept, such as 2000",
        "eks-inferentia:compiledArtifactsPath: not set, so every pod compiles the model for inf2.8xlarge when it "
        "starts (tens of minutes for a 7-8B model); see the README for producing the artifacts once"]
    assert config_warnings(load_config({**VLLM, "apiAllowedCidrs": '["203.0.113.0/24"]', "modelSizeGiB": "2",
                                        "memoryRequest": "6Gi", "memoryLimit": "8Gi", "latencyObjectiveMs": "2000",
                                        "compiledArtifactsPath": LLM + "neuron/"})) == []
