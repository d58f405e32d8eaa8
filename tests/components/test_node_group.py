"""InferentiaNodeGroup: Neuron AMI, placement, IAM, launch template, SSH."""

from __future__ import annotations

import json

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
