"""tools.render: the offline preview, and its manifests checked against Kubernetes schemas."""

from __future__ import annotations

import json
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tools.mock_engine import REDACTED, config_env
from tools.render import declared_type_problems, main, stack_config, stack_names

ROOT = Path(__file__).resolve().parent.parent
STACKS = stack_names()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    out = {}
    for stack in STACKS:
        folder = tmp_path_factory.mktemp(stack)
        assert main([stack, "--out", str(folder)]) == 0
        out[stack] = folder
    return out


def _floats(value) -> list:
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats(v)]
    return [value] if isinstance(value, float) else []


@pytest.mark.parametrize("stack", STACKS)
def test_manifests_pass_strict_schema_validation_for_the_stacks_kubernetes_version(rendered, stack: str) -> None:
    version = stack_config(stack)["eks-inferentia:kubernetesVersion"]
    manifests = sorted((rendered[stack] / "manifests").glob("*.yaml"))
    # Serving's and neuron-monitor's namespaces and service accounts; NetworkPolicies: the namespace's default deny,
    # serving's clients and egress, the smoke test's, neuron-monitor's; the DaemonSet: neuron-monitor's.
    assert [m.name.split("-", 2)[1] for m in manifests] == [
        "namespace", "namespace", "serviceaccount", "serviceaccount", "configmap", "configmap", "deployment",
        "service", "poddisruptionbudget", "networkpolicy", "networkpolicy", "networkpolicy", "networkpolicy",
        "networkpolicy", "job", "daemonset"]
    for path in manifests:
        manifest = yaml.safe_load(path.read_text())
        kubernetes_validate.validate(manifest, f"{version}.0", strict=True)
        assert _floats(manifest) == [], path.name


def test_schema_validation_would_catch_a_wrong_field(rendered) -> None:
    manifest = yaml.safe_load(next((rendered["dev"] / "manifests").glob("*deployment*")).read_text())
    manifest["spec"]["template"]["spec"]["containers"][0]["port"] = 8500  # not a field
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(manifest, "1.34.0", strict=True)


def test_resources_json_lists_everything_with_secrets_redacted(rendered) -> None:
    data = json.loads((rendered["dev"] / "resources.json").read_text())
    types = [r["type"] for r in data["resources"]]
    assert "eks:index:Cluster" in types and "kubernetes:helm.sh/v4:Chart" in types
    provider = next(r for r in data["resources"] if r["type"] == "pulumi:providers:kubernetes")
    assert provider["inputs"]["kubeconfig"] == REDACTED
    assert data["outputs"]["kubeconfig"] == REDACTED
    assert "get-token" not in (rendered["dev"] / "resources.json").read_text()
    node_group = next(r for r in data["resources"] if r["type"] == "aws:eks/nodeGroup:NodeGroup")
    assert node_group["parent"] == "neuron-nodes"
    assert node_group["inputs"]["scalingConfig"] == {"desiredSize": 2, "maxSize": 4, "minSize": 1}


def test_tree_is_printed(capsys, tmp_path) -> None:
    assert main(["dev", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "eks-inferentia:index:InferentiaNodeGroup" in printed and REDACTED in printed


def test_invalid_config_exits_2_listing_each_problem(capsys, tmp_path) -> None:
    code = main(["dev", "--set", "replicas=two", "--set", "instanceType=p4d.24xlarge", "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "eks-inferentia:replicas: 'two'" in err and "eks-inferentia:instanceType: 'p4d.24xlarge'" in err
    assert not (tmp_path / "resources.json").exists()


def test_unknown_stack_exits_2(capsys) -> None:
    assert main(["nosuchstack"]) == 2
    assert "Pulumi.nosuchstack.yaml" in capsys.readouterr().err


def test_set_takes_json_lists(tmp_path) -> None:
    assert main(["dev", "--set", "sshPublicKey=ssh-ed25519 AAAAC3Nz ops", "--set", 'sshAllowedCidrs=["203.0.113.7/32"]',
                 "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "resources.json").read_text())
    assert any(r["type"] == "aws:ec2/keyPair:KeyPair" for r in data["resources"])


def test_set_hands_the_program_what_pulumi_config_set_would() -> None:
    config = stack_config("dev", ["kubernetesVersion=1.30", "servingBatching=yes", "replicas=3", "modelName=",
                                  "clusterName=null", "servingImage=[not json", 'sshAllowedCidrs=["10.0.0.0/8"]',
                                  "eks-inferentia:namespace=ml=1"])
    expected = {"kubernetesVersion": "1.30", "servingBatching": "yes", "replicas": "3", "modelName": "",
                "clusterName": "null", "servingImage": "[not json", "sshAllowedCidrs": '["10.0.0.0/8"]', "namespace": "ml=1"}
    env = config_env(config)  # what the program receives
    assert {key: env[f"eks-inferentia:{key}"] for key in expected} == expected


@pytest.mark.parametrize(("override", "problem"), [
    ("servingBatching=yes", "eks-inferentia:servingBatching: 'yes' is not allowed; expected true or false"),
    ("kubernetesVersion=1.30", "eks-inferentia:kubernetesVersion: '1.30' is not allowed; expected one of 1.32,"),
    ("modelBasePath=", "eks-inferentia:modelBasePath is required (got '', which counts as missing)"),
    ("apiAllowedCidrs=10.0.0.0/8", "eks-inferentia:apiAllowedCidrs: '10.0.0.0/8' is not allowed; expected a list "
     "(the Pulumi CLI refuses a string for an array key): --set 'apiAllowedCidrs=[\"10.0.0.0/8\"]'"),
    ("modelName=[1]", "eks-inferentia:modelName: [1] is not allowed; expected a single string, not a list or map"),
])
def test_a_bad_set_gives_exactly_one_problem_line(override: str, problem: str, capsys, tmp_path) -> None:
    assert main(["dev", "--set", override, "--out", str(tmp_path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "error: stack 'dev' has invalid configuration:"
    assert len(lines) == 2 and lines[1].startswith(f"  - {problem}"), lines


def test_stack_files_are_read_as_the_pulumi_cli_reads_them(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.x.yaml").write_text(
        "config:\n  eks-inferentia:kubernetesVersion: 1.30\n  eks-inferentia:smokeTest: yes\n"
        "  eks-inferentia:replicas: 03\n  eks-inferentia:vpcId:\n  eks-inferentia:modelName: 'quoted'\n"
        "  eks-inferentia:apiAllowedCidrs:\n    - 10.0.0.0/8\n  eks-inferentia:sshAllowedCidrs: '[\"10.0.0.0/8\"]'\n")
    config = stack_config("x", root=tmp_path)
    assert {k: config[f"eks-inferentia:{k}"] for k in ("kubernetesVersion", "smokeTest", "replicas", "vpcId", "modelName",
                                                       "apiAllowedCidrs", "sshAllowedCidrs", "servingBatching", "maxNodes",
                                                       "desiredNodes", "minNodes")} == {
        "kubernetesVersion": "1.30", "smokeTest": "yes", "replicas": "03", "vpcId": "", "modelName": "quoted",
        "apiAllowedCidrs": ["10.0.0.0/8"], "sshAllowedCidrs": '["10.0.0.0/8"]',
        # The rest: Pulumi.yaml defaults, as text. desiredNodes and minNodes are handed over too, as the CLI does
        # (so under nodeProvisioner karpenter config.py refuses only a value other than their default).
        "servingBatching": "false", "maxNodes": "4", "desiredNodes": "2", "minNodes": "1"}
    # A quoted JSON string where Pulumi.yaml declares an array: the CLI refuses it before the program runs.
    assert declared_type_problems(config, "x", root=tmp_path) == [
        "eks-inferentia:sshAllowedCidrs: '[\"10.0.0.0/8\"]' is not allowed; expected a list (the Pulumi CLI refuses a "
        "string for an array key): --set 'sshAllowedCidrs=[\"10.0.0.0/8\"]' here, a YAML list in Pulumi.x.yaml, "
        "or `pulumi config set --path 'eks-inferentia:sshAllowedCidrs[0]' 10.0.0.0/8`"]


def test_the_tree_names_the_stack_as_resources_json_does(capsys, tmp_path) -> None:
    assert main(["dev", "--out", str(tmp_path)]) == 0
    stack_line = next(line for line in capsys.readouterr().out.splitlines() if "pulumi:pulumi:Stack" in line)
    parents = {r["parent"] for r in json.loads((tmp_path / "resources.json").read_text())["resources"]}
    assert stack_line.split()[-1] == "eks-inferentia-dev" and "eks-inferentia-dev" in parents


def test_config_warnings_are_printed(tmp_path: Path, capsys) -> None:
    assert main(["dev", "--set", "replicas=3", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "warning: eks-inferentia:replicas: 1 of 3 serving pods stay Pending" in err
