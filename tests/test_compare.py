"""`tools.render --compare-with`: what a config change would replace, update, add and remove, and the
replacement table it reads (tools/replacements.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tools.compare import Comparison, compare, unlisted_types, unwrapped
from tools.mock_engine import ProgramRun
from tools.render import main, stack_names
from tools.replacements import REPLACE_ON_CHANGE, replacing

SSH = {"sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB user@host", "sshAllowedCidrs": ["203.0.113.7/32"]}


def _names(changes: list) -> list[tuple[str, str]]:
    return [(c.type, c.name) for c in changes]


def _compare(run_stack: Callable[..., ProgramRun], **overrides: Any) -> Comparison:
    return compare(run_stack("dev"), run_stack("dev", **overrides))


def test_a_new_instance_family_replaces_the_node_group_and_updates_its_launch_template(run_stack) -> None:
    result = _compare(run_stack, instanceType="inf2.xlarge", modelCompiledFor="neuronx")
    replaced = {(c.type, c.name): c for c in result.replaced}
    node_group = replaced[("aws:eks/nodeGroup:NodeGroup", "neuron-nodes-ng")]
    assert node_group.reasons == ['instanceTypes: ["inf1.2xlarge"] -> ["inf2.xlarge"]']
    assert ("aws:ec2/launchTemplate:LaunchTemplate", "neuron-nodes-lt") in _names(result.updated)
    assert ("aws:ec2/launchTemplate:LaunchTemplate", "neuron-nodes-lt") not in replaced
    assert result.added == [] and result.removed == []


def test_more_replicas_only_update_the_deployment_in_place(run_stack) -> None:
    result = _compare(run_stack, replicas=3)
    assert result.replaced == [] and result.added == [] and result.removed == []
    assert [(c.type, c.name, c.paths) for c in result.updated] == [
        ("kubernetes:apps/v1:Deployment", "serving-deployment", ["spec.replicas"])]


def test_a_stack_compared_with_itself_shows_nothing(run_stack) -> None:
    run = run_stack("dev")
    result = compare(run, run_stack("dev"))
    assert (result.replaced, result.updated, result.added, result.removed) == ([], [], [], [])
    assert result.unchanged == len(run.resources)


def test_a_replaced_policy_replaces_the_attachment_that_names_its_arn(run_stack) -> None:
    # The policy's description (ForceNew) names the bucket; the new policy has a new ARN, which the
    # attachment's policyArn (ForceNew) holds, though the mock gives both policies the same ARN.
    result = _compare(run_stack, modelBasePath="s3://another-bucket/resnet50_neuron/")
    replaced = {(c.type, c.name): c for c in result.replaced}
    assert ("aws:iam/policy:Policy", "model-read-model") in replaced
    attachment = replaced[("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "model-attach")]
    assert attachment.reasons == ["policyArn comes from model-read-model, which is replaced"]


def test_a_new_cluster_name_replaces_the_kubernetes_provider_and_every_object_it_manages(run_stack) -> None:
    result = _compare(run_stack, clusterName="inferentia-other")
    replaced = _names(result.replaced)
    assert ("pulumi:providers:kubernetes", "inferentia-k8s") in replaced
    objects = [r for r in run_stack("dev").resources if r.type.startswith("kubernetes:")]
    assert objects and all((r.type, r.name) in replaced for r in objects)


def _runs(run_stack: Callable[..., ProgramRun]) -> list[ProgramRun]:
    """Runs that between them declare every type the program can: both stacks, SSH on, KMS-encrypted model,
    an alert email, Karpenter."""
    return [*(run_stack(stack) for stack in stack_names()), run_stack("dev", **SSH),
            run_stack("dev", modelKmsKeyArn="arn:aws:kms:us-west-2:123456789012:key/"
                                            "1234abcd-12ab-34cd-56ef-1234567890ab"),
            run_stack("dev", alertEmail="oncall@example.com"),
            run_stack("prod", nodeProvisioner="karpenter", desiredNodes=None, minNodes=None)]


def _has_path(tree: Any, parts: list[str]) -> bool:
    if not parts:
        return True
    head, rest = parts[0], parts[1:]
    if head == "*":
        return isinstance(tree, list) and any(_has_path(item, rest) for item in tree)
    return isinstance(tree, dict) and head in tree and _has_path(tree[head], rest)


def test_the_replacement_table_names_only_inputs_the_program_sets(run_stack) -> None:
    runs = _runs(run_stack)
    inputs: dict[str, list[Any]] = {}
    for run in runs:
        for resource in run.resources:
            inputs.setdefault(resource.type, []).append(unwrapped(resource.raw_inputs))
    assert set(REPLACE_ON_CHANGE) <= set(inputs), "the table names types the program never declares"
    unknown = [(type_, path) for type_, paths in REPLACE_ON_CHANGE.items() for path in paths
               if not any(_has_path(tree, path.split(".")) for tree in inputs[type_])]
    assert unknown == []
    assert [unlisted_types(run) for run in runs] == [[]] * len(runs)


@pytest.mark.parametrize(("type_", "path", "replaces"), [
    ("awsx:ec2:Vpc", "subnetSpecs.1.cidrMask", True),
    ("awsx:ec2:Vpc", "subnetSpecs.1.tags.cluster", False),
    ("awsx:ec2:Vpc", "subnetSpecs", True),  # the list itself grew or shrank
    ("aws:eks/nodeGroup:NodeGroup", "launchTemplate.version", False),
    ("aws:eks/nodeGroup:NodeGroup", "launchTemplate", True),
    ("kubernetes:batch/v1:Job", "spec.template.spec.containers.0.image", True),
    ("kubernetes:apps/v1:Deployment", "spec.template.spec.containers.0.image", False),
])
def test_a_changed_path_replaces_when_it_is_under_over_or_at_a_listed_one(type_: str, path: str,
                                                                          replaces: bool) -> None:
    assert replacing(type_, path) is replaces


def test_the_cli_prints_the_comparison_and_exits_0(capsys) -> None:
    assert main(["dev", "--set", "instanceType=inf2.xlarge", "--set", "modelCompiledFor=neuronx", "--compare-with", "dev"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Comparing dev (baseline) with dev --set instanceType=inf2.xlarge --set modelCompiledFor=neuronx:"
    assert out[1].startswith("  replaced (")
    (line,) = [line for line in out if "neuron-nodes-ng" in line]
    assert line.split() == ["aws:eks/nodeGroup:NodeGroup", "neuron-nodes-ng", "(instanceTypes:",
                            '["inf1.2xlarge"]', "->", '["inf2.xlarge"])']
    assert out[-1].startswith("  unchanged: ")


def test_an_unknown_baseline_stack_exits_2_naming_the_stacks(capsys) -> None:
    assert main(["dev", "--compare-with", "staging"]) == 2
    assert capsys.readouterr().err == ("error: --compare-with staging: no stack file Pulumi.staging.yaml; "
                                       f"stacks here: {', '.join(stack_names())}\n")
