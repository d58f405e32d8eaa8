"""__main__ end to end under the mock engine: every stack, preview and update, the outputs contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.device_plugin import CHART_NEURON_INSTANCES
from eks_inferentia.config import ConfigError
from eks_inferentia.contract import CONTRACT_VERSION, OUTPUTS
from eks_inferentia.instance_types import INSTANCE_TYPES
from tools.mock_engine import run_program
from tools.render import stack_config, stack_names

ROOT = Path(__file__).resolve().parent.parent
STACKS = stack_names()
COMPONENTS = {"NeuronCluster", "InferentiaNodeGroup", "ModelAccess", "NeuronDevicePlugin", "TensorFlowServing"}


def test_there_are_dev_and_prod_stacks() -> None:
    assert {"dev", "prod"} <= set(STACKS)


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
def test_stack_declares_every_component_and_exports_the_contract(run_stack, stack: str, preview: bool) -> None:
    run = run_stack(stack, preview=preview)
    types = {r.type for r in run.resources}
    assert {f"eks-inferentia:index:{name}" for name in COMPONENTS} <= types
    # Components sit at the top; everything else is parented to one of them.
    components = {r.urn for r in run.resources if r.type.startswith("eks-inferentia:index:")}
    for resource in run.resources:
        if resource.urn not in components:
            assert resource.parent in components, f"{resource.type} {resource.name} is not in a component"
    assert list(run.outputs) == [spec.name for spec in OUTPUTS]
    assert run.outputs["contractVersion"] == CONTRACT_VERSION
    assert "kubeconfig" in run.secret_outputs
    assert {spec.name for spec in OUTPUTS if spec.secret} == run.secret_outputs


def test_preview_leaves_cloud_assigned_values_unknown(run_stack) -> None:
    run = run_stack("dev", preview=True)
    assert {"nodeRoleArn", "modelAccessPolicyArn", "vpcId", "kubeconfig"} <= run.unknown_outputs
    # What config decides is known before anything exists.
    assert run.outputs["instanceType"] == "inf1.2xlarge" and run.outputs["replicas"] == 2
    assert "instanceType" not in run.unknown_outputs


def test_update_resolves_every_output(run_stack) -> None:
    run = run_stack("dev")
    assert run.unknown_outputs == set()
    assert run.outputs["grpcEndpoint"] == "eks-neuron-test.inference.svc.cluster.local:8500"
    assert run.outputs["restEndpoint"] == "http://eks-neuron-test.inference.svc.cluster.local:9000"
    assert run.outputs["modelName"] == "resnet50_neuron"


def test_prod_runs_inferentia2_with_the_neuronx_image(run_stack) -> None:
    run = run_stack("prod")
    instance_types = {n.inputs["amiType"]: n.inputs["instanceTypes"] for n in run.of_type("aws:eks/nodeGroup:NodeGroup")}
    assert instance_types["AL2023_x86_64_NEURON"] == ["inf2.xlarge"]
    image = run.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.startswith("763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-inference-neuronx:")


def test_serving_waits_for_nodes_device_plugin_and_model_access(run_stack) -> None:
    run = run_stack("dev")
    serving = run.one("eks-inferentia:index:TensorFlowServing")
    # The SDK expands a dependency on a component into its children.
    waits_for = {(r.type, r.name) for r in run.resources if r.urn in serving.dependencies}
    assert {("aws:eks/nodeGroup:NodeGroup", "neuron-nodes-ng"),
            ("kubernetes:helm.sh/v4:Chart", "neuron-device-plugin-chart"),
            ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "model-attach")} <= waits_for


@pytest.mark.parametrize("stack", STACKS)
def test_bad_config_deploys_nothing(stack: str) -> None:
    config = stack_config(stack)
    config.update({"eks-inferentia:replicas": "two", "eks-inferentia:desiredNodes": 9})
    with pytest.raises(ConfigError) as caught:
        run_program(config, stack=stack)
    assert len(caught.value.problems) == 2
    from pulumi.runtime import settings

    monitor = settings.SETTINGS.monitor
    assert monitor.registrations == []  # not one resource was registered


def test_a_misspelt_key_in_the_stack_is_reported() -> None:
    config = stack_config("dev")
    config["eks-inferentia:replica"] = 3
    with pytest.raises(ConfigError, match="eks-inferentia:replica is not a known key"):
        run_program(config)


def test_prod_keeps_its_neuron_nodes_for_inference(run_stack) -> None:
    run = run_stack("prod")
    assert len(run.of_type("eks-inferentia:index:SystemNodeGroup")) == 1
    neuron = next(n for n in run.of_type("aws:eks/nodeGroup:NodeGroup") if n.inputs["amiType"] == "AL2023_x86_64_NEURON")
    assert neuron.inputs["taints"][0]["key"] == "aws.amazon.com/neuron"


def test_config_warnings_reach_the_engine_log(caplog) -> None:
    with caplog.at_level("WARNING"):
        run_program({**stack_config("dev"), "eks-inferentia:replicas": 3})
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "eks-inferentia:replicas: 1 of 3 serving pods stay Pending" in logged
    assert "eks-inferentia:apiAllowedCidrs" in logged


@pytest.mark.parametrize("instance_type", sorted(INSTANCE_TYPES))
def test_every_neuron_family_works_end_to_end(run_stack, instance_type: str) -> None:
    facts = INSTANCE_TYPES[instance_type]
    devices = 4 if facts.is_trainium and facts.neuron_devices >= 4 else 1
    run = run_stack(instanceType=instance_type, neuronDevicesPerReplica=devices, replicas=1, desiredNodes=1, minNodes=1,
                    modelCompiledFor="neuronx" if facts.family.uses_neuronx else "neuron")
    (group,) = run.of_type("aws:eks/nodeGroup:NodeGroup")
    assert group.inputs["amiType"] == "AL2023_x86_64_NEURON" and group.inputs["instanceTypes"] == [instance_type]
    assert instance_type in CHART_NEURON_INSTANCES  # the device plugin's own node affinity admits it
    pod = run.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]
    image = pod["containers"][0]["image"]
    assert ("tensorflow-inference-neuronx:" in image) == facts.family.uses_neuronx
    assert pod["containers"][0]["resources"]["limits"]["aws.amazon.com/neuron"] == str(devices)
    assert ("schedulerName" in pod) == (devices > 1)
