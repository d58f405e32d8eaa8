"""Where the network and the Neuron nodes go (eks_inferentia/placement.py), under the mock engine.

The dedicated VPC's zones follow the region or `availabilityZones`, never `instanceType`; the node
group takes those VPC zones that offer the type, and a placement that cannot work deploys nothing.
"""

from __future__ import annotations

import pulumi
import pytest

from eks_inferentia.placement import Placement, PlacementError, place, standard_zones, zones_offering
from tools.mock_engine import PROJECT, CloudMocks, run_program
from tools.render import stack_config

ZONES = ("us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d")
# Each family offered in other zones, as AWS does (Inf1 and Trainium are in few zones of a region).
OFFERINGS = {"inf1.2xlarge": ("us-west-2a", "us-west-2c"), "inf2.xlarge": ("us-west-2b", "us-west-2d"),
             "trn1.32xlarge": ("us-west-2a", "us-west-2d")}
COMPILED_FOR = {"inf1.2xlarge": "neuron", "inf2.xlarge": "neuronx", "trn1.32xlarge": "neuronx"}


def _run(**overrides):
    config = stack_config("dev")
    config.update({f"eks-inferentia:{key}": value for key, value in overrides.items()})
    return run_program(config, offerings=OFFERINGS)


def _node_group(run):
    return next(n for n in run.of_type("aws:eks/nodeGroup:NodeGroup") if n.name == "neuron-nodes-ng")


def _zones_of(run, subnets) -> set[str]:
    vpc = run.one("awsx:ec2:Vpc").outputs
    zones = run.one("awsx:ec2:Vpc").inputs["availabilityZoneNames"]
    by_subnet = dict(zip(vpc["privateSubnetIds"], zones, strict=True))
    return {by_subnet[subnet] for subnet in subnets}


def test_the_network_does_not_move_when_the_instance_type_changes() -> None:
    runs = {t: _run(instanceType=t, modelCompiledFor=COMPILED_FOR[t], neuronDevicesPerReplica=1, replicas=1,
                    desiredNodes=1, minNodes=1) for t in OFFERINGS}
    vpc_inputs = [run.one("awsx:ec2:Vpc").inputs for run in runs.values()]
    assert vpc_inputs[0]["availabilityZoneNames"] == ["us-west-2a", "us-west-2b"]  # the first two standard zones
    assert vpc_inputs[1:] == vpc_inputs[:-1]  # the same inputs, whatever the instance type
    # Each node group runs in the VPC zones that offer its type, and only there.
    assert _zones_of(runs["inf1.2xlarge"], _node_group(runs["inf1.2xlarge"]).inputs["subnetIds"]) == {"us-west-2a"}
    assert _zones_of(runs["inf2.xlarge"], _node_group(runs["inf2.xlarge"]).inputs["subnetIds"]) == {"us-west-2b"}
    assert _zones_of(runs["trn1.32xlarge"], _node_group(runs["trn1.32xlarge"]).inputs["subnetIds"]) == {"us-west-2a"}


def test_local_and_wavelength_zones_are_never_picked() -> None:
    # The mock lists an opted-in Local Zone, which sorts before the standard zones by name.
    zones = _run().one("awsx:ec2:Vpc").inputs["availabilityZoneNames"]
    assert zones == ["us-west-2a", "us-west-2b"] and not any("-lax-" in zone for zone in zones)


def test_configured_zones_are_the_vpcs() -> None:
    run = _run(availabilityZones=["us-west-2c", "us-west-2d", "us-west-2a"])
    assert run.one("awsx:ec2:Vpc").inputs["availabilityZoneNames"] == ["us-west-2c", "us-west-2d", "us-west-2a"]
    assert _zones_of(run, _node_group(run).inputs["subnetIds"]) == {"us-west-2a", "us-west-2c"}


def test_no_vpc_zone_offering_the_type_deploys_nothing_and_names_both_keys() -> None:
    with pytest.raises(PlacementError) as caught:
        _run(availabilityZones=["us-west-2b", "us-west-2d"])
    assert str(caught.value) == (
        "eks-inferentia:instanceType: 'inf1.2xlarge' is not offered in the VPC's zones us-west-2b, us-west-2d "
        "(eks-inferentia:availabilityZones: ['us-west-2b', 'us-west-2d']); zones of us-west-2 that offer it: "
        "us-west-2a, us-west-2c. Set availabilityZones to at least two zones including one of those "
        "(on a deployed stack this moves the network: pick the zones before the first pulumi up)")


def test_a_zone_of_another_region_is_refused() -> None:
    with pytest.raises(PlacementError, match=r"eks-inferentia:availabilityZones: \['us-east-1a'\] is not allowed; "
                                              r"expected standard zones of us-west-2: us-west-2a, us-west-2b"):
        _run(availabilityZones=["us-west-2a", "us-east-1a"])


def test_an_existing_vpc_uses_its_subnets_in_zones_offering_the_type() -> None:
    subnets = {"subnet-0000000000000000a": "us-west-2a", "subnet-0000000000000000b": "us-west-2b"}
    config = stack_config("dev")
    config.update({"eks-inferentia:vpcId": "vpc-0123456789abcdef0",
                   "eks-inferentia:privateSubnetIds": list(subnets),
                   "eks-inferentia:publicSubnetIds": ["subnet-0000000000000000c", "subnet-0000000000000000d"]})
    run = run_program(config, offerings=OFFERINGS, subnet_zones=subnets)
    assert run.of_type("awsx:ec2:Vpc") == []
    assert _node_group(run).inputs["subnetIds"] == ["subnet-0000000000000000a"]


class _RecordingMocks(CloudMocks):
    """The mock cloud, remembering each data source call (token and arguments) the program makes."""

    def __init__(self, **kwargs) -> None:
        super().__init__(preview=False, stack="dev", **kwargs)
        self.calls: list[tuple[str, dict]] = []

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.calls.append((args.token, args.args))
        return super().call(args)


@pytest.fixture
def cloud() -> _RecordingMocks:
    mocks = _RecordingMocks(region="us-west-2", offerings={"inf1.2xlarge": ("us-west-2c", "us-west-2a")})
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="dev", preview=False)
    return mocks


def test_the_lookups_ask_for_zones_offering_the_type_and_available_standard_zones(cloud: _RecordingMocks) -> None:
    assert zones_offering("inf1.2xlarge") == ["us-west-2a", "us-west-2c"]
    assert standard_zones() == ["us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"]
    assert cloud.calls == [
        ("aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings",
         {"locationType": "availability-zone", "filters": [{"name": "instance-type", "values": ["inf1.2xlarge"]}]}),
        ("aws:index/getAvailabilityZones:getAvailabilityZones",
         {"state": "available", "filters": [{"name": "opt-in-status", "values": ["opt-in-not-required"]}]}),
    ]


def test_a_type_offered_nowhere_in_the_region_is_refused_with_the_command_to_check(cloud: _RecordingMocks) -> None:
    with pytest.raises(PlacementError) as caught:
        zones_offering("inf2.xlarge")
    assert str(caught.value) == (
        "eks-inferentia:instanceType: 'inf2.xlarge' is not offered in any availability zone of us-west-2; pick another "
        "Neuron instance type or region (aws ec2 describe-instance-type-offerings --location-type availability-zone "
        "--filters Name=instance-type,Values=inf2.xlarge)")


def test_an_existing_vpc_gets_no_zones_of_its_own(cloud: _RecordingMocks) -> None:
    assert place("inf1.2xlarge", [], existing_vpc=True) == Placement(vpc_zones=(), node_zones=("us-west-2a", "us-west-2c"))
