"""SystemNodeGroup: a small CPU node group for CoreDNS and add-ons, only when asked for."""

from __future__ import annotations

import pulumi

from components.node_parts import NODE_POLICIES
from components.system_node_group import STANDARD_AMI_TYPE, SystemNodeGroup, SystemNodeGroupArgs
from tests.components.options import declared_with_options


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


def test_system_node_group_follows_the_cluster_and_its_launch_template(run_stack) -> None:
    run = run_stack(systemNodes=2, systemNodeInstanceType="m7i.large")
    component = run.one("eks-inferentia:index:SystemNodeGroup")
    group = run.named("aws:eks/nodeGroup:NodeGroup", "system-nodes-ng")
    template = run.named("aws:ec2/launchTemplate:LaunchTemplate", "system-nodes-lt")
    role = run.named("aws:iam/role:Role", "system-nodes-node-role")
    tags = {"project": "eks-inferentia", "cluster": "inferentia-dev"}
    assert group.inputs["clusterName"] == "inferentia-dev"
    # The control plane's version, so the nodes are upgraded with it.
    assert group.inputs["version"] == "1.35"
    assert group.inputs["nodeRoleArn"] == role.outputs["arn"]
    # One node at a time on updates, the extra one (maxSize) taking its place.
    assert group.inputs["updateConfig"] == {"maxUnavailable": 1}
    assert group.inputs["launchTemplate"] == {"id": template.outputs["id"], "version": "1"}
    assert group.inputs["tags"] == tags
    assert {group.parent, template.parent, role.parent} == {component.urn}


def test_system_nodes_join_only_once_their_role_has_every_policy(run_stack) -> None:
    run = run_stack(systemNodes=2)
    component = run.one("eks-inferentia:index:SystemNodeGroup")
    group = run.named("aws:eks/nodeGroup:NodeGroup", "system-nodes-ng")
    attachments = [a for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if a.parent == component.urn]
    assert len(attachments) == len(NODE_POLICIES)
    # No input of the node group names an attachment: only depends_on makes it wait for them.
    assert {a.urn for a in attachments} <= set(group.dependencies)


def test_system_node_role_and_launch_template_say_what_they_are(run_stack) -> None:
    run = run_stack(systemNodes=2, systemNodeInstanceType="m7i.large")
    tags = {"project": "eks-inferentia", "cluster": "inferentia-dev"}
    role = run.named("aws:iam/role:Role", "system-nodes-node-role")
    assert role.inputs["description"] == "System nodes of EKS cluster inferentia-dev"
    assert role.inputs["tags"] == tags
    template = run.named("aws:ec2/launchTemplate:LaunchTemplate", "system-nodes-lt")
    assert template.inputs["description"] == "System nodes (m7i.large) of EKS managed node group system-nodes"
    assert template.inputs["tagSpecifications"] == [
        {"resourceType": "instance", "tags": {"Name": "system-nodes-m7i.large", **tags}}]
    assert template.inputs["tags"] == tags
    assert template.inputs["blockDeviceMappings"] == [{"deviceName": "/dev/xvda", "ebs": {
        "volumeSize": 50, "volumeType": "gp3", "encrypted": "true", "deleteOnTermination": "true"}}]


def test_system_node_group_registers_its_name_and_role(run_stack) -> None:
    run = run_stack(systemNodes=2)
    component = run.one("eks-inferentia:index:SystemNodeGroup")
    group = run.named("aws:eks/nodeGroup:NodeGroup", "system-nodes-ng")
    role = run.named("aws:iam/role:Role", "system-nodes-node-role")
    assert run.registered_outputs[component.urn] == {
        "node_group_name": group.outputs["nodeGroupName"], "node_role_arn": role.outputs["arn"]}


def test_the_callers_parent_and_dependencies_reach_the_component() -> None:
    def declare(opts: pulumi.ResourceOptions) -> None:
        SystemNodeGroup("system-nodes", SystemNodeGroupArgs(
            cluster_name="inferentia-dev", kubernetes_version="1.35", instance_type="m7i.large",
            subnet_ids=["subnet-0000000000000000a"], nodes=1), opts=opts)

    declared = declared_with_options(declare)
    component = declared.component("eks-inferentia:index:SystemNodeGroup")
    assert component.parent == declared.owner.urn
    assert component.dependencies == [declared.before.urn]
