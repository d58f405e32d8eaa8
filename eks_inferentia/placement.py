"""Where the network and the Neuron nodes go: the VPC's zones, and those of them that offer the type.

The dedicated VPC's zones depend only on the region (its first two standard zones by name) or on
`availabilityZones`, never on `instanceType`: pulumi-awsx names subnets by the index of their zone
(awsx/ec2/subnetNaming.ts: `<vpc>-<spec>-<1-based index>`), so a zone list that followed the
instance type would move the same subnets to other zones when the type changes, replacing them
under the EKS control plane's network interfaces and the NAT gateway. The Neuron node group then
uses those VPC zones that offer the instance type (Inf1, Inf2 and Trainium are offered in only
some zones). Both are looked up once, before any resource is declared, so a placement that
cannot work deploys nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

VPC_ZONE_COUNT = 2


class PlacementError(pulumi.RunError):
    """The region, or the chosen zones, cannot run the configured instance type."""


@dataclass(frozen=True)
class Placement:
    vpc_zones: tuple[str, ...]
    """Zones of a dedicated VPC, in subnet order (empty with an existing VPC)."""
    node_zones: tuple[str, ...]
    """Zones the Neuron node group may use: they offer the instance type (and are VPC zones, for a dedicated VPC)."""


def zones_offering(instance_type: str) -> list[str]:
    """Availability zones (names) of the stack's region that offer `instance_type`, sorted."""
    offerings = aws.ec2.get_instance_type_offerings(
        location_type="availability-zone",
        filters=[aws.ec2.GetInstanceTypeOfferingsFilterArgs(name="instance-type", values=[instance_type])],
    )
    zones = sorted(set(offerings.locations))
    if not zones:
        region = aws.get_region().region
        raise PlacementError(
            f"eks-inferentia:instanceType: {instance_type!r} is not offered in any availability zone of {region}; "
            "pick another Neuron instance type or region (aws ec2 describe-instance-type-offerings "
            f"--location-type availability-zone --filters Name=instance-type,Values={instance_type})"
        )
    return zones


def standard_zones() -> list[str]:
    """The region's available standard zones, sorted: no Local or Wavelength Zones, which the API
    lists too once opted in (pulumi-aws get_availability_zones: filter `opt-in-status` =
    `opt-in-not-required`, which "for Availability Zones always has" that value)."""
    zones = aws.get_availability_zones(
        state="available",
        filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
    )
    return sorted(zones.names)


def place(instance_type: str, configured_zones: Sequence[str], existing_vpc: bool) -> Placement:
    """The VPC's zones and the node group's, or `PlacementError` naming the keys to change."""
    offered = zones_offering(instance_type)
    if existing_vpc:
        return Placement(vpc_zones=(), node_zones=tuple(offered))
    standard = standard_zones()
    if configured_zones:
        unknown = [zone for zone in configured_zones if zone not in standard]
        if unknown:
            region = aws.get_region().region  # only for the message: a placement that works never asks
            raise PlacementError(
                f"eks-inferentia:availabilityZones: {unknown} is not allowed; expected standard zones of {region}: "
                + ", ".join(standard))
        vpc_zones = tuple(configured_zones)
    else:
        vpc_zones = tuple(standard[:VPC_ZONE_COUNT])
    node_zones = tuple(zone for zone in vpc_zones if zone in offered)
    if not node_zones:
        region = aws.get_region().region
        raise PlacementError(
            f"eks-inferentia:instanceType: {instance_type!r} is not offered in the VPC's zones {', '.join(vpc_zones)} "
            f"(eks-inferentia:availabilityZones: {list(configured_zones)}); zones of {region} that offer it: "
            f"{', '.join(offered)}. Set availabilityZones to at least two zones including one of those "
            "(on a deployed stack this moves the network: pick the zones before the first pulumi up)")
    return Placement(vpc_zones=vpc_zones, node_zones=node_zones)
