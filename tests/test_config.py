"""Config: defaults, every rule, all problems at once, and Pulumi.yaml in step with the code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from eks_inferentia.config import CONFIG_KEYS, ConfigError, load_config
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
            assert spec["items"] == {"type": "string"}


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


@pytest.mark.parametrize("key", [key.name for key in CONFIG_KEYS if key.type == "array"])
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
