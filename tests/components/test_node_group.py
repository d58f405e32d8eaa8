"""InferentiaNodeGroup: Neuron AMI, placement, IAM, launch template, SSH."""

from __future__ import annotations

import json
import re

import pytest

from components.node_group import NEURON_AMI_TYPE
from components.node_parts import NODE_POLICIES
from eks_inferentia.placement import PlacementError
from tools.mock_engine import run_program
from tools.render import stack_config


def test_managed_node_group_on_the_neuron_ami(run_stack) -> None:
    run = run_stack()
    node_group = run.one("aws:eks/nodeGroup:NodeGroup").inputs
    assert node_group["amiType"] == NEURON_AMI_TYPE == "AL2023_x86_64_NEURON"
    assert node_group["instanceTypes"] == ["inf1.2xlarge"]
    assert node_group["clusterName"] == "inferentia-dev"
    assert node_group["capacityType"] == "ON_DEMAND"
    assert node_group["version"] == "1.35"
    assert node_group["scalingConfig"] == {"desiredSize": 2, "minSize": 1, "maxSize": 4}
    template = run.one("aws:ec2/launchTemplate:LaunchTemplate")
    assert node_group["launchTemplate"] == {"id": template.outputs["id"], "version": "1"}


def test_nodes_only_in_private_subnets_of_zones_offering_the_type(run_stack) -> None:
    run = run_stack()
    # The mock region offers inf1.2xlarge in us-west-2a..c, and the VPC is built in a and b.
    assert run.one("aws:eks/nodeGroup:NodeGroup").inputs["subnetIds"] == run.outputs["privateSubnetIds"]


def test_subnets_in_zones_without_the_type_are_left_out() -> None:
    config = stack_config("dev")
    config.update({
        "eks-inferentia:vpcId": "vpc-0123456789abcdef0",
        "eks-inferentia:privateSubnetIds": ["subnet-0000000000000000a", "subnet-0000000000000000b"],
        "eks-inferentia:publicSubnetIds": ["subnet-0000000000000000c"],
    })
    run = run_program(config, offerings={"inf1.2xlarge": ("us-west-2b",)},
                      subnet_zones={"subnet-0000000000000000a": "us-west-2a", "subnet-0000000000000000b": "us-west-2b"})
    assert run.one("aws:eks/nodeGroup:NodeGroup").inputs["subnetIds"] == ["subnet-0000000000000000b"]


def test_an_instance_type_the_region_lacks_deploys_nothing() -> None:
    with pytest.raises(PlacementError, match=r"eks-inferentia:instanceType: 'inf1\.2xlarge' is not offered"):
        run_program(stack_config("dev"), offerings={"inf1.2xlarge": ()})


def test_node_role_has_the_node_policies_and_no_more(run_stack) -> None:
    run = run_stack()
    role = next(r for r in run.of_type("aws:iam/role:Role") if r.name == "neuron-nodes-node-role")
    # The whole trust policy, as aws.iam.get_policy_document writes it: EC2 may assume the role, nothing else.
    assert json.loads(role.inputs["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2.amazonaws.com"}}],
    }
    attached = {a.inputs["policyArn"] for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if a.name.startswith("neuron-nodes-")}
    assert attached == {f"arn:aws:iam::aws:policy/{policy}" for policy in NODE_POLICIES}


def test_launch_template_requires_imdsv2_and_encrypts_the_root_volume(run_stack) -> None:
    template = run_stack().one("aws:ec2/launchTemplate:LaunchTemplate").inputs
    # Pod Identity (the default): pods get no IMDS token, so no node credentials.
    assert template["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required",
                                           "httpPutResponseHopLimit": 1}
    (root,) = template["blockDeviceMappings"]
    assert root["ebs"]["encrypted"] == "true" and root["ebs"]["volumeType"] == "gp3"
    assert "keyName" not in template and "vpcSecurityGroupIds" not in template


def test_no_ssh_unless_a_key_is_configured(run_stack) -> None:
    run = run_stack()
    assert run.of_type("aws:ec2/keyPair:KeyPair") == []
    assert run.of_type("aws:ec2/securityGroup:SecurityGroup") == []


def test_ssh_opens_port_22_only_to_the_allowed_cidrs(run_stack) -> None:
    run = run_stack(sshPublicKey="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB ops@example",
                    sshAllowedCidrs=["203.0.113.7/32", "2001:db8::/64"])
    key = run.one("aws:ec2/keyPair:KeyPair").inputs
    assert key["publicKey"].startswith("ssh-ed25519 ")
    (rule,) = run.one("aws:ec2/securityGroup:SecurityGroup").inputs["ingress"]
    assert (rule["fromPort"], rule["toPort"], rule["protocol"]) == (22, 22, "tcp")
    assert rule["cidrBlocks"] == ["203.0.113.7/32"] and rule["ipv6CidrBlocks"] == ["2001:db8::/64"]
    template = run.one("aws:ec2/launchTemplate:LaunchTemplate").inputs
    # The EKS-created cluster security group must stay on the nodes, beside the SSH group.
    cluster_sg = run.one("eks:index:Cluster").outputs["clusterSecurityGroupId"]
    ssh_sg = run.one("aws:ec2/securityGroup:SecurityGroup").outputs["id"]
    assert template["vpcSecurityGroupIds"] == [cluster_sg, ssh_sg]
    assert template["keyName"] == run.one("aws:ec2/keyPair:KeyPair").outputs["keyName"]


def test_spot_capacity(run_stack) -> None:
    assert run_stack(capacityType="SPOT").one("aws:eks/nodeGroup:NodeGroup").inputs["capacityType"] == "SPOT"


def test_neuron_nodes_are_tainted_only_when_system_nodes_run_coredns(run_stack) -> None:
    (neuron,) = [n for n in run_stack().of_type("aws:eks/nodeGroup:NodeGroup")]
    assert "taints" not in neuron.inputs  # CoreDNS must still schedule somewhere
    groups = {n.inputs["amiType"]: n.inputs for n in run_stack(systemNodes=2).of_type("aws:eks/nodeGroup:NodeGroup")}
    assert groups[NEURON_AMI_TYPE]["taints"] == [{"key": "aws.amazon.com/neuron", "value": "true", "effect": "NO_SCHEDULE"}]
    assert "taints" not in groups["AL2023_x86_64_STANDARD"]


def test_node_role_model_access_lets_pods_reach_imds_one_hop_further(run_stack) -> None:
    template = run_stack(modelAccess="node-role").one("aws:ec2/launchTemplate:LaunchTemplate").inputs
    assert template["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required",
                                           "httpPutResponseHopLimit": 2}


TAGS = {"project": "eks-inferentia", "cluster": "inferentia-dev"}


def test_neuron_node_group_updates_one_node_at_a_time_and_is_tagged(run_stack) -> None:
    run = run_stack()
    component = run.one("eks-inferentia:index:InferentiaNodeGroup")
    group = run.named("aws:eks/nodeGroup:NodeGroup", "neuron-nodes-ng")
    role = run.named("aws:iam/role:Role", "neuron-nodes-node-role")
    assert group.inputs["updateConfig"] == {"maxUnavailable": 1}
    assert group.inputs["labels"] == {"eks-inferentia/role": "neuron"}
    assert group.inputs["nodeRoleArn"] == role.outputs["arn"]
    assert group.inputs["tags"] == role.inputs["tags"] == TAGS
    assert role.inputs["description"] == "Neuron nodes of EKS cluster inferentia-dev"
    assert {group.parent, role.parent} == {component.urn}
    # No input of the node group names an attachment: only depends_on makes it wait for the role's policies.
    attachments = {a.urn for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                   if a.parent == component.urn}
    assert len(attachments) == len(NODE_POLICIES)
    assert attachments <= set(group.dependencies)
    # The role is EC2's, assumed by no one else, and its policies attach to this very role.
    for attachment in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        if attachment.parent == component.urn:
            assert attachment.inputs["role"] == role.outputs["name"]


def test_neuron_launch_template_names_its_instances_and_sizes_the_root_volume(run_stack) -> None:
    template = run_stack().named("aws:ec2/launchTemplate:LaunchTemplate", "neuron-nodes-lt").inputs
    assert template["description"] == "Neuron nodes (inf1.2xlarge) of EKS managed node group neuron-nodes"
    assert template["tagSpecifications"] == [
        {"resourceType": "instance", "tags": {"Name": "neuron-nodes-inf1.2xlarge", **TAGS}}]
    assert template["tags"] == TAGS
    # Nodes launched by EKS take the template's latest version only if it is the default.
    assert template["updateDefaultVersion"] is True
    assert template["blockDeviceMappings"] == [{"deviceName": "/dev/xvda", "ebs": {
        "volumeSize": 100, "volumeType": "gp3", "encrypted": "true", "deleteOnTermination": "true"}}]


def test_ssh_key_and_group_are_tagged_and_ipv4_only_cidrs_open_no_ipv6(run_stack) -> None:
    run = run_stack(sshPublicKey="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB ops@example",
                    sshAllowedCidrs=["203.0.113.7/32"])
    component = run.one("eks-inferentia:index:InferentiaNodeGroup")
    key = run.one("aws:ec2/keyPair:KeyPair")
    group = run.one("aws:ec2/securityGroup:SecurityGroup")
    assert key.name == group.name == "neuron-nodes-ssh"
    assert key.inputs == {"publicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB ops@example", "tags": TAGS}
    assert group.inputs == {
        "vpcId": run.outputs["vpcId"],
        "description": "SSH to Neuron nodes from sshAllowedCidrs only",
        "ingress": [{"description": "SSH", "protocol": "tcp", "fromPort": 22, "toPort": 22,
                     "cidrBlocks": ["203.0.113.7/32"]}],
        "tags": TAGS,
    }
    assert {key.parent, group.parent} == {component.urn}


def test_ssh_from_ipv6_only_cidrs_opens_no_ipv4(run_stack) -> None:
    run = run_stack(sshPublicKey="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB ops@example",
                    sshAllowedCidrs=["2001:db8::/64"])
    (rule,) = run.one("aws:ec2/securityGroup:SecurityGroup").inputs["ingress"]
    assert rule["ipv6CidrBlocks"] == ["2001:db8::/64"]
    assert "cidrBlocks" not in rule


def test_neuron_node_group_registers_what_it_declares(run_stack) -> None:
    run = run_stack()
    component = run.one("eks-inferentia:index:InferentiaNodeGroup")
    group = run.named("aws:eks/nodeGroup:NodeGroup", "neuron-nodes-ng")
    role = run.named("aws:iam/role:Role", "neuron-nodes-node-role")
    template = run.named("aws:ec2/launchTemplate:LaunchTemplate", "neuron-nodes-lt")
    assert run.registered_outputs[component.urn] == {
        "node_group_name": group.outputs["nodeGroupName"],
        "node_role_arn": role.outputs["arn"],
        "node_role_name": role.outputs["name"],
        "subnet_ids": run.outputs["privateSubnetIds"],
        "launch_template_id": template.outputs["id"],
    }


def test_the_callers_parent_and_dependencies_reach_the_node_group_component() -> None:
    from components.node_group import InferentiaNodeGroup, InferentiaNodeGroupArgs
    from tests.components.options import declared_with_options

    declared = declared_with_options(lambda opts: InferentiaNodeGroup("neuron-nodes", InferentiaNodeGroupArgs(
        cluster_name="inferentia-dev", kubernetes_version="1.35", instance_type="inf1.2xlarge",
        subnet_ids=["subnet-0000000000000000a"], zones=["us-west-2a"], vpc_id="vpc-0123456789abcdef0",
        cluster_security_group_id="sg-0123456789abcdef0", desired_nodes=1, min_nodes=1, max_nodes=2), opts=opts))
    component = declared.component("eks-inferentia:index:InferentiaNodeGroup")
    assert component.parent == declared.owner.urn
    assert component.dependencies == [declared.before.urn]


def test_ssh_cidrs_with_host_bits_are_split_by_family_as_given(run_stack) -> None:
    # The config accepts a CIDR with host bits set; telling IPv4 from IPv6 must not refuse it (strict=False).
    run = run_stack(sshPublicKey="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB ops@example",
                    sshAllowedCidrs=["203.0.113.7/24", "2001:db8::1/64"])
    (rule,) = run.one("aws:ec2/securityGroup:SecurityGroup").inputs["ingress"]
    assert rule["cidrBlocks"] == ["203.0.113.7/24"] and rule["ipv6CidrBlocks"] == ["2001:db8::1/64"]


def test_no_private_subnet_in_a_zone_offering_the_type_is_refused_naming_subnets_and_zones() -> None:
    config = stack_config("dev")
    config.update({
        "eks-inferentia:vpcId": "vpc-0123456789abcdef0",
        "eks-inferentia:privateSubnetIds": ["subnet-0000000000000000a", "subnet-0000000000000000b"],
        "eks-inferentia:publicSubnetIds": ["subnet-0000000000000000c"],
    })
    message = ("none of the private subnets ['subnet-0000000000000000a', 'subnet-0000000000000000b'] is in a zone "
               "offering the instance type (us-west-2c, us-west-2d); add a private subnet in one of those zones")
    with pytest.raises(ValueError, match=re.escape(message)):
        run_program(config, offerings={"inf1.2xlarge": ("us-west-2c", "us-west-2d")},
                    subnet_zones={"subnet-0000000000000000a": "us-west-2a", "subnet-0000000000000000b": "us-west-2b"})
