"""Drive the CrossGuard policy pack (policy/) the way the Pulumi engine does, with no CLI.

- `violations(policy, type, props)`: one policy on one resource. Props go through the policy
  SDK's own `deserialize_properties` and `unknown_checking_proxy`, as in the analyzer, so an
  unknown value (`UNKNOWN_STRING_VALUE` etc.) behaves as it does in a preview.
- `analyze(resources)`: the whole pack, through the SDK's analyzer service (`Analyze`, the
  method the engine calls over gRPC), on the registrations the mock engine recorded. Each
  resource's *wire* inputs (`Registration.raw_inputs`: camelCase, numbers as floats, secrets
  and unknowns marked) go in as the request's properties, exactly what the engine would send;
  the diagnostics come back with the enforcement level the pack gives them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi.runtime import proto
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import unknown_checking_proxy

from policy.policies import POLICIES
from tools.mock_engine import Registration

PACK_NAME = "eks-inferentia"
PROJECT = "eks-inferentia"


def urn_of(resource_type: str, name: str) -> str:
    return f"urn:pulumi:test::{PROJECT}::{resource_type}::{name}"


def resource_args(resource_type: str, props: Mapping[str, Any], *, name: str = "example",
                  config: Mapping[str, Any] | None = None) -> ResourceValidationArgs:
    """`ResourceValidationArgs` as the analyzer builds them from a resource's wire properties."""
    opts = PolicyResourceOptions(protect=False, ignore_changes=[], delete_before_replace=None, aliases=[],
                                 custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[])
    wrapped = unknown_checking_proxy(deserialize_properties(dict(props)))
    return ResourceValidationArgs(resource_type, wrapped, urn_of(resource_type, name), name, opts, None, config)


def violations(policy: Policy, resource_type: str, props: Mapping[str, Any], *, name: str = "example",
               config: Mapping[str, Any] | None = None) -> list[str]:
    """The messages `policy` reports for one resource."""
    assert isinstance(policy, ResourceValidationPolicy)
    found: list[str] = []

    def report_violation(message: str, urn: str | None = None) -> None:
        found.append(message)

    result = policy.validate(resource_args(resource_type, props, name=name, config=config), report_violation)
    assert result is None, "the pack's policies are synchronous"
    return found


@dataclass(frozen=True)
class Diagnostic:
    policy: str
    level: str
    """`advisory` or `mandatory`, as the pack reports it."""
    message: str
    urn: str
    resource_type: str


def _analyzer() -> _PolicyAnalyzerServicer:
    # The servicer `PolicyPack` serves over gRPC (policy/__main__.py); same default level as there.
    return _PolicyAnalyzerServicer(PACK_NAME, "0.0.1", POLICIES, EnforcementLevel.MANDATORY)


def analyze(resources: Iterable[Registration]) -> list[Diagnostic]:
    """Run every policy of the pack on each resource, as the engine does during an update or preview."""
    analyzer = _analyzer()
    diagnostics: list[Diagnostic] = []
    for resource in resources:
        request = proto.AnalyzeRequest(type=resource.type, urn=resource.urn, name=resource.name)
        request.properties.update(resource.raw_inputs)
        response = analyzer.Analyze(request, None)
        for diagnostic in response.diagnostics:
            diagnostics.append(Diagnostic(
                policy=diagnostic.policyName,
                level=proto.EnforcementLevel.Name(diagnostic.enforcementLevel).lower(),
                message=diagnostic.message,
                urn=diagnostic.urn or resource.urn,
                resource_type=resource.type,
            ))
    return diagnostics
