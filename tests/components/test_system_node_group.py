"""SystemNodeGroup: a small CPU node group for CoreDNS and add-ons, only when asked for."""

from __future__ import annotations

from components.node_parts import NODE_POLICIES
from components.system_node_group import STANDARD_AMI_TYPE


def test_no_system_nodes_by_default(run_stack) -> None:
    run = run_stack()
    assert run.of_type("eks-inferentia:index:SystemNodeGroup") == []
    assert len(run.of_type("aws:eks/nodeGroup:NodeGroup")) == 1


def test_system_node_group_runs_the_standard_ami_on_the_configured_type(run_stack) -> None:
    run = run_stack(systemNodes=2, systemNodeInstanceType="m7i.large")
    (component,) = run.of_type("eks-inferentia:index:SystemNodeGroup")
    group = next(n for n in run.of_type("aws:eks/nodeGroup:NodeGroup") if n.parent == component.urn)
    assert group.inputs["amiType"] == STANDARD_AMI_TYPE
    assert group.inputs["instanceTypes"] == ["m7i.large"]
    assert group.inputs["scalingConfig"] == {"desiredSize": 2, "minSize": 2, "maxSize": 3}
    assert group.inputs["labels"] == {"eks-inferentia/role": "system"}
    # All private subnets, not only the zones that offer the Neuron type.
    assert group.inputs["subnetIds"] == run.outputs["privateSubnetIds"]
    template = next(t for t in run.of_type("aws:ec2/launchTemplate:LaunchTemplate") if t.parent == component.urn)
    assert template.inputs["metadataOptions"]["httpTokens"] == "required"
    # Always 1: only hostNetwork pods here call AWS with the node role, whatever modelAccess is.
    assert template.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
    attached = {a.inputs["policyArn"].rsplit("/", 1)[1] for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if a.parent == component.urn}
    assert attached == set(NODE_POLICIES)


def test_device_plugin_waits_for_the_nodes(run_stack) -> None:
    run = run_stack(systemNodes=1)
    plugin = run.one("eks-inferentia:index:NeuronDevicePlugin")
    # The SDK expands a dependency on a component into its children.
    waits_for = {r.name for r in run.resources if r.urn in plugin.dependencies}
    assert {"system-nodes-ng", "neuron-nodes-ng"} <= waits_for
