"""tools.render: the offline preview, and its manifests checked against Kubernetes schemas."""

from __future__ import annotations

import json
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tools.mock_engine import REDACTED
from tools.render import main, stack_config, stack_names

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
    assert [m.name.split("-", 2)[1] for m in manifests] == [
        "namespace", "serviceaccount", "configmap", "configmap", "deployment", "service", "poddisruptionbudget",
        "networkpolicy", "networkpolicy", "job"]
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


def test_set_takes_yaml_lists(tmp_path) -> None:
    assert main(["dev", "--set", "sshPublicKey=ssh-ed25519 AAAAC3Nz ops", "--set", "sshAllowedCidrs=[203.0.113.7/32]",
                 "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "resources.json").read_text())
    assert any(r["type"] == "aws:ec2/keyPair:KeyPair" for r in data["resources"])


def test_config_warnings_are_printed(tmp_path: Path, capsys) -> None:
    assert main(["dev", "--set", "replicas=3", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "warning: eks-inferentia:replicas: 1 of 3 serving pods stay Pending" in err
