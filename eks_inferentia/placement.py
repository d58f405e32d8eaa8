"""Where the Neuron nodes can run: the availability zones that offer the instance type.

Inf1, Inf2 and Trainium are offered in only some zones of a region; a node group with a
subnet in a zone without the type fails to scale. This is looked up once, before any
resource is declared, so an instance type the region does not offer deploys nothing.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


class PlacementError(pulumi.RunError):
    """The region cannot run the configured instance type."""


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


def region_zones() -> list[str]:
    """Every available zone of the stack's region (to pad a dedicated VPC to two zones)."""
    return sorted(aws.get_availability_zones(state="available").names)
