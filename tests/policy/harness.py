"""Drive the CrossGuard policy pack (policy/) the way the Pulumi engine does, with no CLI.

- `violations(policy, type, props)`: one policy on one resource. Props go through the policy
  SDK's own `deserialize_properties` and `unknown_checking_proxy`, as in the analyzer, so an
  unknown value (`UNKNOWN_STRING_VALUE` etc.) behaves as it does in a preview.
- `analyze(resources)`: the whole pack, through the SDK's analyzer service (`Analyze`, the
  method the engine calls over gRPC), on the registrations the mock engine recorded. Each
  resource's *wire* inputs (`Registration.raw_inputs`: camelCase, numbers as floats, secrets
  and unknowns marked) go in as the request's properties, exactly what the engine would send;
  the diagnostics come back with the enforcement level the pack gives them.
- `analyze_stack(resources)`: the pack's stack policies, through the servicer's `AnalyzeStack`, the
  call the engine makes once every step of a preview or update is done (pulumi/pulumi
  pkg/resource/deploy/step_generator.go `AnalyzeResources`, sdk/go/common/resource/plugin/
  analyzer_plugin.go `AnalyzeStack`). Each resource goes in as an `AnalyzerResource` with its
  *output* state (`Registration.outputs`, what the mock returned; in a preview, inputs and
  auto-names with what the cloud assigns unknown), its parent, its dependencies and its property
  dependencies, as the engine keeps them in the state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format
from pulumi.runtime import proto, rpc
from pulumi.runtime.sync_await import _sync_await
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


@dataclass(frozen=True)
class StackReport:
    diagnostics: list[Diagnostic]
    not_applicable: dict[str, str]
    """Stack policies that said they do not apply to this stack, with their reasons."""


def _without_resource_references(value: Any) -> Any:
    """The engine marshals AnalyzeStack's properties without `KeepResources` (analyzer_plugin.go), so a resource
    reference goes over as its ID, or its URN when it has none (sdk/go/common/resource/plugin/rpc.go
    `MarshalPropertyValue`); pulumi_policy's deserializer knows no resource references."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_resource_sig:
            return value.get("id") or value["urn"]
        return {key: _without_resource_references(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_resource_references(item) for item in value]
    return value


def _stack_resource(resource: Registration) -> proto.AnalyzerResource:
    # The state as the mock monitor answered the program (MockMonitor.RegisterResource serializes it the same way):
    # unknowns as the SDK's sentinel, secrets marked.
    outputs = json_format.MessageToDict(_sync_await(rpc.serialize_properties(resource.outputs, {})))
    message = proto.AnalyzerResource(
        type=resource.type, urn=resource.urn, name=resource.name, parent=resource.parent,
        dependencies=resource.dependencies)
    message.properties.update(_without_resource_references(outputs))
    for key, urns in resource.property_dependencies.items():
        if urns:  # the engine leaves out properties without dependencies (analyzer_plugin.go)
            message.propertyDependencies[key].urns.extend(urns)
    return message


def analyze_stack(resources: Iterable[Registration]) -> StackReport:
    """Run the pack's stack policies over the whole stack, as the engine does at the end of a preview or update."""
    resources = list(resources)
    types = {r.urn: r.type for r in resources}
    request = proto.AnalyzeStackRequest(resources=[_stack_resource(r) for r in resources])
    response = _analyzer().AnalyzeStack(request, None)
    diagnostics = [Diagnostic(
        policy=d.policyName,
        level=proto.EnforcementLevel.Name(d.enforcementLevel).lower(),
        message=d.message,
        urn=d.urn,
        resource_type=types.get(d.urn, ""),
    ) for d in response.diagnostics]
    return StackReport(diagnostics, {n.policy_name: n.reason for n in response.not_applicable})
