"""Resource identities (tools/identities.py): what a change to the code would replace in live stacks.

The URNs each stack declares match `tests/identities/<stack>.txt`, so a refactor that renames a
resource or moves it under another parent (which `pulumi up` turns into delete-and-create) shows up
in review; every Kubernetes object goes through the cluster's own provider; each component records
in the state exactly the outputs it declares.
"""

from __future__ import annotations

import dataclasses
import difflib

import pytest

from tools.identities import (
    component_output_names,
    identities,
    identities_file,
    kubernetes_provider_problems,
    registered_output_problems,
)
from tools.mock_engine import ROOT_STACK_TYPE
from tools.render import stack_names

STACKS = stack_names()
VARIANTS: dict[str, dict[str, object]] = {
    "system-nodes": {"systemNodes": 2},
    "scheduler-batching": {"neuronScheduler": "enabled", "servingBatching": "true"},
    "no-smoke-test": {"smokeTest": "false"},
    "autoscaling": {"autoscaling": "true", "targetRequestsPerSecond": "40", "systemNodes": 2},
    "karpenter": {"nodeProvisioner": "karpenter", "systemNodes": 1, "desiredNodes": None, "minNodes": None},
    "vllm": {"servingRuntime": "vllm", "instanceType": "inf2.8xlarge", "modelCompiledFor": "",
             "modelBasePath": "s3://your-bucket-of-models/llama-3.1-8b-instruct/", "modelName": "llama-3.1-8b",
             "memoryRequest": "34Gi", "memoryLimit": "64Gi"},
}


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_declares_the_recorded_identities(run_stack, stack: str) -> None:
    recorded = identities_file(stack).read_text().splitlines()
    declared = identities(run_stack(stack))
    diff = "\n".join(difflib.unified_diff(recorded, declared, "recorded", "declared", lineterm=""))
    assert declared == recorded, (
        f"stack {stack}: resource identities changed. A changed URN deletes the live resource and creates "
        f"a new one; add `aliases` where it must survive, then run `make identities` to record the change.\n{diff}")


def test_urns_are_the_engines() -> None:
    # Top-level components have no stack prefix; a grandchild carries its whole chain of parent types.
    recorded = identities_file("dev").read_text().splitlines()
    assert "urn:pulumi:dev::eks-inferentia::eks-inferentia:index:NeuronCluster::inferentia" in recorded
    assert ("urn:pulumi:dev::eks-inferentia::eks-inferentia:index:InferentiaNodeGroup$aws:eks/nodeGroup:NodeGroup"
            "::neuron-nodes-ng") in recorded
    assert not [urn for urn in recorded if ROOT_STACK_TYPE in urn]


@pytest.mark.parametrize("variant", [*STACKS, *VARIANTS])
def test_every_kubernetes_object_goes_through_the_clusters_provider(run_stack, variant: str) -> None:
    run = run_stack(variant) if variant in STACKS else run_stack("dev", **VARIANTS[variant])
    assert run.of_type("kubernetes:core/v1:Namespace"), "the stack declares Kubernetes objects"
    assert kubernetes_provider_problems(run) == []


def test_an_object_on_the_default_provider_is_reported(run_stack) -> None:
    run = run_stack("dev")
    job = run.one("kubernetes:batch/v1:Job")
    broken = dataclasses.replace(run, resources=[
        dataclasses.replace(r, provider="") if r is job else r for r in run.resources])
    cluster_provider = run.one("pulumi:providers:kubernetes").urn
    assert kubernetes_provider_problems(broken) == [f"{job.urn}: provider (default), not the cluster's {cluster_provider}"]


@pytest.mark.parametrize("variant", [*STACKS, *VARIANTS])
def test_each_component_registers_the_outputs_it_declares(run_stack, variant: str) -> None:
    run = run_stack(variant) if variant in STACKS else run_stack("dev", **VARIANTS[variant])
    assert registered_output_problems(run) == []


def test_a_component_registering_other_outputs_is_reported(run_stack) -> None:
    run = run_stack("dev")
    node_group = run.one("eks-inferentia:index:InferentiaNodeGroup")
    outputs = dict(run.registered_outputs)
    outputs[node_group.urn] = {**outputs[node_group.urn], "LAUNCH_TEMPLATE_ID": "lt-1"}
    del outputs[node_group.urn]["launch_template_id"]
    problems = registered_output_problems(dataclasses.replace(run, registered_outputs=outputs))
    assert problems == ["eks-inferentia:index:InferentiaNodeGroup neuron-nodes: registers "
                        "['LAUNCH_TEMPLATE_ID', 'node_group_name', 'node_role_arn', 'node_role_name', 'subnet_ids'], "
                        "declares ['launch_template_id', 'node_group_name', 'node_role_arn', 'node_role_name', 'subnet_ids']"]


def test_declared_outputs_come_from_the_type_hints() -> None:
    assert component_output_names("eks-inferentia:index:SmokeTest") == {"job_name"}
    # The cluster's Kubernetes provider is an attribute but not an output.
    assert "provider" not in (component_output_names("eks-inferentia:index:NeuronCluster") or set())
    assert component_output_names("eks:index:Cluster") is None
