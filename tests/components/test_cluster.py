"""NeuronCluster: VPC, EKS cluster inputs, Kubernetes provider, outputs."""

from __future__ import annotations

import json

import pytest

from components.cluster import CLUSTER_LOG_TYPES, route_tables_of
from eks_inferentia.versions import ADDON_VERSIONS, KUBE_PROXY, VPC_CNI
from tools.mock_engine import REDACTED, _stable_hex, plain, run_program
from tools.render import stack_config


def test_dedicated_vpc_in_zones_offering_the_instance_type(run_stack) -> None:
    run = run_stack()
    vpc = run.one("awsx:ec2:Vpc").inputs
    assert vpc["availabilityZoneNames"] == ["us-west-2a", "us-west-2b"]
    assert vpc["natGateways"] == {"strategy": "Single"}
    specs = {spec["type"]: spec for spec in vpc["subnetSpecs"]}
    assert specs["Private"]["tags"]["kubernetes.io/role/internal-elb"] == "1"
    assert specs["Public"]["tags"]["kubernetes.io/role/elb"] == "1"


def test_eks_cluster_inputs(run_stack) -> None:
    run = run_stack()
    cluster = run.one("eks:index:Cluster")
    inputs = cluster.inputs
    assert inputs["name"] == "inferentia-dev" and inputs["version"] == "1.35"
    assert inputs["skipDefaultNodeGroup"] is True
    assert inputs["createOidcProvider"] is True
    assert inputs["authenticationMode"] == "API"
    assert inputs["enabledClusterLogTypes"] == list(CLUSTER_LOG_TYPES)
    assert inputs["endpointPrivateAccess"] is True
    assert inputs["nodeAssociatePublicIpAddress"] is False
    vpc = run.one("awsx:ec2:Vpc")
    assert cluster.parent == vpc.parent and run.by_urn(cluster.parent).type == "eks-inferentia:index:NeuronCluster"


def test_kubernetes_provider_gets_the_kubeconfig_as_a_secret(run_stack) -> None:
    provider = run_stack().one("pulumi:providers:kubernetes")
    wire = provider.raw_inputs["kubeconfig"]
    assert plain(wire) == REDACTED  # sent to the engine as a secret
    # Exactly the kubeconfig pulumi-eks generated for the cluster, not one of our own making.
    eks_cluster = run_stack().one("eks:index:Cluster")
    assert wire["value"] == eks_cluster.outputs["kubeconfigJson"]
    exec_args = json.loads(wire["value"])["users"][0]["user"]["exec"]["args"]
    assert exec_args == ["--region", "us-west-2", "eks", "get-token", "--cluster-name", "inferentia-dev", "--output", "json"]


def test_oidc_provider_url_is_pulumi_eks_issuer_url_with_its_scheme(run_stack) -> None:
    run = run_stack()
    eks_cluster = run.one("eks:index:Cluster").outputs
    # pulumi-eks: oidcProviderUrl keeps https://, oidcIssuer drops it; the contract documents the URL.
    assert run.outputs["oidcProviderUrl"] == eks_cluster["oidcProviderUrl"]
    assert run.outputs["oidcProviderUrl"] == "https://" + eks_cluster["oidcIssuer"]
    assert run.outputs["oidcProviderArn"] == eks_cluster["oidcProviderArn"]


def test_existing_vpc_is_used_as_given(run_stack) -> None:
    run = run_stack(vpcId="vpc-0123456789abcdef0",
                    privateSubnetIds=["subnet-0000000000000000a", "subnet-0000000000000000b"],
                    publicSubnetIds=["subnet-0000000000000000c", "subnet-0000000000000000d"])
    assert run.of_type("awsx:ec2:Vpc") == []
    inputs = run.one("eks:index:Cluster").inputs
    assert inputs["vpcId"] == "vpc-0123456789abcdef0"
    assert inputs["privateSubnetIds"] == ["subnet-0000000000000000a", "subnet-0000000000000000b"]
    assert run.outputs["vpcId"] == "vpc-0123456789abcdef0"


def test_secrets_are_envelope_encrypted_with_a_rotated_key_of_the_stacks_own(run_stack) -> None:
    run = run_stack()
    key = run.one("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert run.by_urn(key.parent).type == "eks-inferentia:index:NeuronCluster"
    assert run.one("eks:index:Cluster").inputs["encryptionConfigKeyArn"] == key.outputs["arn"]
    assert run.one("aws:kms/alias:Alias").inputs["name"] == "alias/eks/inferentia-dev-secrets"


def test_public_api_endpoint_is_limited_to_the_allowed_cidrs(run_stack) -> None:
    assert run_stack().one("eks:index:Cluster").inputs["publicAccessCidrs"] == ["0.0.0.0/0"]
    inputs = run_stack(apiAllowedCidrs=["203.0.113.0/24"]).one("eks:index:Cluster").inputs
    assert inputs["publicAccessCidrs"] == ["203.0.113.0/24"] and inputs["endpointPrivateAccess"] is True


def test_vpc_cni_enforces_network_policies(run_stack) -> None:
    assert run_stack().one("eks:index:Cluster").inputs["vpcCniOptions"]["enableNetworkPolicy"] is True


def test_the_kubernetes_provider_signs_with_the_stacks_aws_profile() -> None:
    config = {**stack_config("dev"), "aws:profile": "ml-team"}
    run = run_program(config)
    wire = run.one("pulumi:providers:kubernetes").raw_inputs["kubeconfig"]
    assert plain(wire) == REDACTED
    exec_args = json.loads(wire["value"])["users"][0]["user"]["exec"]["args"]
    assert exec_args[-2:] == ["--profile", "ml-team"]
    # The exported kubeconfig stays without it, as pulumi-eks exports it (for other users and CI).
    assert "--profile" not in run.one("eks:index:Cluster").outputs["kubeconfigJson"]


def test_vpc_cni_and_kube_proxy_are_pinned_to_the_clusters_row(run_stack) -> None:
    for version in ("1.35", "1.32"):
        inputs = run_stack(kubernetesVersion=version).one("eks:index:Cluster").inputs
        # Without a version pulumi-eks asks for the most recent one at every `up`.
        assert inputs["vpcCniOptions"]["addonVersion"] == ADDON_VERSIONS[version][VPC_CNI]
        assert inputs["vpcCniOptions"]["enableNetworkPolicy"] is True
        assert inputs["kubeProxyAddonOptions"]["version"] == ADDON_VERSIONS[version][KUBE_PROXY]
    assert ADDON_VERSIONS["1.35"][KUBE_PROXY] != ADDON_VERSIONS["1.32"][KUBE_PROXY]


def test_pulumi_eks_makes_no_coredns_addon_of_its_own(run_stack) -> None:
    # CoreDNS is ClusterAddons' add-on, created after the nodes; pulumi-eks must not make a second one.
    assert run_stack().one("eks:index:Cluster").inputs["corednsAddonOptions"]["enabled"] is False


def test_dedicated_vpc_gets_an_s3_gateway_endpoint_on_its_private_route_tables(run_stack) -> None:
    run = run_stack()
    endpoint = run.one("aws:ec2/vpcEndpoint:VpcEndpoint").inputs
    vpc = run.one("awsx:ec2:Vpc")
    # The mock's awsx answer: one route table per subnet, rtb-<hash of VPC and subnet> (tools/mock_engine.py).
    tables = {subnet: f"rtb-{_stable_hex(vpc.name, subnet)}"
              for subnet in run.outputs["privateSubnetIds"] + vpc.outputs["publicSubnetIds"]}
    assert len(vpc.outputs["routeTableAssociations"]) == len(tables) == 4
    assert endpoint["serviceName"] == "com.amazonaws.us-west-2.s3"
    assert endpoint["vpcEndpointType"] == "Gateway"
    assert endpoint["vpcId"] == run.outputs["vpcId"]
    # The private subnets' tables only: the public ones reach S3 through the internet gateway anyway.
    assert endpoint["routeTableIds"] == [tables[s] for s in run.outputs["privateSubnetIds"]]


def test_existing_vpc_gets_no_endpoint(run_stack) -> None:
    run = run_stack(vpcId="vpc-0123456789abcdef0",
                    privateSubnetIds=["subnet-0000000000000000a", "subnet-0000000000000000b"],
                    publicSubnetIds=["subnet-0000000000000000c", "subnet-0000000000000000d"])
    assert run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") == []


def test_route_tables_of_keeps_the_private_subnets_tables_in_order() -> None:
    pairs = [["subnet-a", "rtb-1"], ["subnet-b", "rtb-2"], ["subnet-p", "rtb-3"]]
    assert route_tables_of(pairs, ["subnet-b", "subnet-a"]) == ["rtb-2", "rtb-1"]
    with pytest.raises(ValueError, match="subnet-x"):
        route_tables_of(pairs, ["subnet-a", "subnet-x"])


def test_the_callers_parent_and_dependencies_reach_the_cluster_component() -> None:
    from components.cluster import NeuronCluster, NeuronClusterArgs
    from eks_inferentia.versions import addon_versions
    from tests.components.options import declared_with_options

    declared = declared_with_options(lambda opts: NeuronCluster("inferentia", NeuronClusterArgs(
        cluster_name="inferentia-dev", kubernetes_version="1.35", addons=addon_versions("1.35"),
        vpc_zones=("us-west-2a", "us-west-2b")), opts=opts))
    component = declared.component("eks-inferentia:index:NeuronCluster")
    assert component.parent == declared.owner.urn
    assert component.dependencies == [declared.before.urn]


TAGS = {"project": "eks-inferentia", "cluster": "inferentia-dev"}


def test_dedicated_vpc_inputs_as_eksctl_builds_it(run_stack) -> None:
    vpc = run_stack().one("awsx:ec2:Vpc").inputs
    assert vpc == {
        "cidrBlock": "10.0.0.0/16",
        "availabilityZoneNames": ["us-west-2a", "us-west-2b"],
        "natGateways": {"strategy": "Single"},
        "subnetSpecs": [
            {"type": "Private", "cidrMask": 19, "tags": {"kubernetes.io/role/internal-elb": "1", **TAGS}},
            {"type": "Public", "cidrMask": 20, "tags": {"kubernetes.io/role/elb": "1", **TAGS}},
        ],
        "enableDnsHostnames": True,
        "tags": {"Name": "inferentia-dev-vpc", **TAGS},
    }


def test_the_s3_endpoint_and_the_secrets_key_are_named_and_tagged(run_stack) -> None:
    run = run_stack()
    assert run.one("aws:ec2/vpcEndpoint:VpcEndpoint").inputs["tags"] == {"Name": "inferentia-dev-s3", **TAGS}
    key = run.one("aws:kms/key:Key")
    assert key.inputs == {
        "description": "Envelope encryption of Kubernetes secrets in EKS cluster inferentia-dev",
        "enableKeyRotation": True, "deletionWindowInDays": 30, "tags": TAGS}
    alias = run.one("aws:kms/alias:Alias")
    assert alias.inputs == {"name": "alias/eks/inferentia-dev-secrets", "targetKeyId": key.outputs["keyId"]}
    component = run.one("eks-inferentia:index:NeuronCluster")
    assert {key.parent, alias.parent, run.one("aws:ec2/vpcEndpoint:VpcEndpoint").parent} == {component.urn}


def test_eks_cluster_runs_in_the_vpcs_subnets_without_pulumi_eks_security_groups(run_stack) -> None:
    run = run_stack()
    inputs = run.one("eks:index:Cluster").inputs
    vpc = run.one("awsx:ec2:Vpc").outputs
    assert inputs["vpcId"] == vpc["vpcId"]
    assert inputs["privateSubnetIds"] == vpc["privateSubnetIds"]
    assert inputs["publicSubnetIds"] == vpc["publicSubnetIds"]
    assert inputs["skipDefaultSecurityGroups"] is True
    assert inputs["endpointPublicAccess"] is True
    assert inputs["tags"] == TAGS


def test_existing_vpcs_public_subnets_reach_the_cluster(run_stack) -> None:
    run = run_stack(vpcId="vpc-0123456789abcdef0",
                    privateSubnetIds=["subnet-0000000000000000a", "subnet-0000000000000000b"],
                    publicSubnetIds=["subnet-0000000000000000c", "subnet-0000000000000000d"])
    inputs = run.one("eks:index:Cluster").inputs
    assert inputs["publicSubnetIds"] == ["subnet-0000000000000000c", "subnet-0000000000000000d"]
    assert run.outputs["privateSubnetIds"] == ["subnet-0000000000000000a", "subnet-0000000000000000b"]
    component = run.one("eks-inferentia:index:NeuronCluster")
    registered = run.registered_outputs[component.urn]
    assert registered["vpc_id"] == "vpc-0123456789abcdef0"
    assert registered["public_subnet_ids"] == ["subnet-0000000000000000c", "subnet-0000000000000000d"]


def test_cluster_registers_what_it_declares(run_stack) -> None:
    run = run_stack()
    component = run.one("eks-inferentia:index:NeuronCluster")
    eks_cluster = run.one("eks:index:Cluster").outputs
    vpc = run.one("awsx:ec2:Vpc").outputs
    registered = dict(run.registered_outputs[component.urn])
    kubeconfig = registered.pop("kubeconfig")
    assert plain(kubeconfig) == REDACTED and kubeconfig["value"] == eks_cluster["kubeconfigJson"]
    assert registered == {
        "cluster_name": "inferentia-dev",
        "cluster_arn": "arn:aws:eks:us-west-2:123456789012:cluster/inferentia-dev",
        "oidc_provider_arn": eks_cluster["oidcProviderArn"],
        "oidc_provider_url": eks_cluster["oidcProviderUrl"],
        "oidc_issuer": eks_cluster["oidcIssuer"],
        "vpc_id": vpc["vpcId"],
        "private_subnet_ids": vpc["privateSubnetIds"],
        "public_subnet_ids": vpc["publicSubnetIds"],
        "cluster_security_group_id": eks_cluster["clusterSecurityGroupId"],
        "secrets_key_arn": run.one("aws:kms/key:Key").outputs["arn"],
    }
    assert run.one("pulumi:providers:kubernetes").parent == component.urn
