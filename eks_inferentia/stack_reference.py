"""Read an eks-inferentia stack's outputs from another Pulumi program: one typed, checked object.

    import pulumi
    import pulumi_kubernetes as k8s
    from eks_inferentia.stack_reference import read_inference_stack

    infra = read_inference_stack(pulumi.StackReference("organization/eks-inferentia/dev"))
    provider = k8s.Provider("inferentia", kubeconfig=infra.kubeconfig)   # stays secret
    infra.rest_endpoint    # Output[str]   http://eks-neuron-test.inference.svc.cluster.local:9000
    infra.replicas         # Output[int]   2 (an int, not the engine's 2.0)

Attributes are the contract's output names in snake_case (`restEndpoint` -> `rest_endpoint`,
`attribute_name`); `by_name` has the same Outputs under the contract's own names, so an output
added to `OUTPUTS` can be read as `infra.by_name["newOutput"]` before it has an attribute. The
reader is driven by `OUTPUTS`: names, types, secretness and the checks all come from it; only the
typed attributes of `InferenceStack` are written out, and a test fails when they and `OUTPUTS`
disagree.

Checks, done once for all outputs when the reference is read, inside the Outputs so that
`pulumi preview`/`pulumi up` stop with the message and declare nothing that depends on them:

- `contractVersion` must be `CONTRACT_VERSION` (the engine hands numbers over as floats: 1.0 is 1).
  A different or missing version fails alone, since the other outputs then mean something else.
- Every output of `OUTPUTS` must be there (all missing names in one message) with its type.

Failures are `ContractError` (a `pulumi.RunError`: the CLI shows its message without a traceback),
naming the stack and every problem. Every Output of an `InferenceStack` carries the failure, so
reading one means the referenced stack matches the whole contract. (Checking only the outputs a
program uses is not possible this way: the SDK awaits every Output a program creates before it
exits, used or not, so a failing one stops the program all the same.)

Secrets: outputs the contract marks secret (`kubeconfig`) are wrapped in `pulumi.Output.secret`
whatever the referenced stack says; outputs the referenced stack marks secret stay secret (the
SDK's `StackReference.get_output` reads `secretOutputNames`); the others are plain, even though the
engine marks the reference's whole `outputs` map secret as soon as one output is. A secret the
engine cannot decrypt (the stacks use different passphrases) arrives as `{}`; the check says so.

Stack names: a program reads a stack of another project by its fully qualified name,
`<organization>/<project>/<stack>`. On a self-managed backend (`pulumi login file://...`,
`s3://...`) the organization is literally `organization`: `organization/eks-inferentia/dev`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

import pulumi

from eks_inferentia.contract import CONTRACT_VERSION, OUTPUTS, OutputSpec

VERSION_OUTPUT = "contractVersion"
"""The output that carries the contract's version."""

_EXTRA: Mapping[str, Any] = MappingProxyType({"contract": False})
"""Metadata of `InferenceStack` fields that are not contract outputs."""

_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class ContractError(pulumi.RunError):
    """The referenced stack does not export what this program was written for."""

    def __init__(self, stack: str, problems: Sequence[str]) -> None:
        self.stack = stack
        self.problems = tuple(problems)
        super().__init__(
            f"stack {stack} does not match the eks-inferentia outputs contract version {CONTRACT_VERSION}: "
            + "; ".join(self.problems))


# --- types ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputKind:
    """How an `OutputSpec.type` ("integer", "string", "list of string") is checked and converted."""

    python_type: Any
    """The value type of the Output: `InferenceStack`'s attribute is `pulumi.Output[python_type]`."""
    description: str
    accepts: Callable[[Any], bool]
    convert: Callable[[Any], Any]


def _is_integral(value: Any) -> bool:
    # Numbers cross the engine as floats: 2.0 is the integer 2, 2.5 is not an integer, True is not one either.
    return not isinstance(value, bool) and (isinstance(value, int) or (isinstance(value, float) and value.is_integer()))


def _is_string_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value)


KINDS: Mapping[str, OutputKind] = MappingProxyType({
    "string": OutputKind(str, "a string", lambda value: isinstance(value, str), str),
    "integer": OutputKind(int, "an integer", _is_integral, int),
    "list of string": OutputKind(list[str], "a list of strings", _is_string_list, list),
})


def output_kind(spec: OutputSpec) -> OutputKind:
    """The kind of an output; `OutputSpec.type` may carry a note in parentheses, e.g. "string (secret)"."""
    base = re.sub(r"\s*\(.*\)\s*$", "", spec.type)
    try:
        return KINDS[base]
    except KeyError:
        raise TypeError(f"eks_inferentia.stack_reference cannot read output {spec.name}: "
                        f"its contract type {spec.type!r} is not one of {sorted(KINDS)}; add it to KINDS") from None


def attribute_name(output_name: str) -> str:
    """The `InferenceStack` attribute of a contract output: `oidcProviderArn` -> `oidc_provider_arn`."""
    words = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", output_name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", words).lower()


# --- checks --------------------------------------------------------------------------------------


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def contract_problems(outputs: Mapping[str, Any]) -> list[str]:
    """Everything wrong with a stack's outputs (plain values, as the engine gives them), or [].

    Secret values are never quoted, only their type.
    """
    version = outputs.get(VERSION_OUTPUT)
    if version is None:
        return [f"it exports no {VERSION_OUTPUT} (it is not an eks-inferentia stack, or was deployed before "
                f"the outputs contract); this program supports contract version {CONTRACT_VERSION}"]
    if not _is_integral(version) or int(version) != CONTRACT_VERSION:
        return [f"its {VERSION_OUTPUT} is {_shown(version)}, but this program supports contract version {CONTRACT_VERSION}"]

    problems: list[str] = []
    missing = [spec.name for spec in OUTPUTS if outputs.get(spec.name) is None]
    if missing:
        problems.append(f"missing output{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                        f"(deploy it with the current eks-inferentia program)")
    for spec in OUTPUTS:
        value = outputs.get(spec.name)
        kind = output_kind(spec)
        if value is None or kind.accepts(value):
            continue
        if spec.secret and value == {}:
            # The engine hands a secret it cannot decrypt over as {} (it logs "eliding undecryptable secrets").
            problems.append(f"output {spec.name} is a secret this stack cannot decrypt: both stacks need the same "
                            "secrets provider (on a self-managed backend, the same PULUMI_CONFIG_PASSPHRASE)")
        else:
            found = f"a {type(value).__name__}" if spec.secret else _shown(value)
            problems.append(f"output {spec.name} is {found}, not {kind.description}")
    return problems


def check_outputs(stack: str, outputs: Mapping[str, Any] | None) -> None:
    """Raise `ContractError` naming `stack` and every problem of its outputs; return if there is none."""
    problems = contract_problems(outputs or {})
    if problems:
        raise ContractError(stack, problems)


def require_qualified_stack_name(name: str) -> str:
    """`name` if it is `<organization>/<project>/<stack>`; otherwise a `pulumi.RunError` explaining the rule."""
    if not _STACK_NAME.match(name):
        raise pulumi.RunError(
            f"{name!r} is not a fully qualified stack name: a stack of another project is referenced as "
            "<organization>/<project>/<stack>; on a self-managed backend (file://, s3://) the organization is "
            "'organization', e.g. organization/eks-inferentia/dev")
    return name


# --- the typed reader ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InferenceStack:
    """The outputs of an eks-inferentia stack, read through a `pulumi.StackReference` and checked.

    One attribute per entry of `OUTPUTS`, in the same order, named `attribute_name(spec.name)`.
    """

    contract_version: pulumi.Output[int]
    cluster_name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    oidc_provider_url: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    vpc_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    node_group_name: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]
    node_role_name: pulumi.Output[str]
    instance_type: pulumi.Output[str]
    model_access_policy_arn: pulumi.Output[str]
    model_role_arn: pulumi.Output[str]
    serving_namespace: pulumi.Output[str]
    serving_service_name: pulumi.Output[str]
    grpc_endpoint: pulumi.Output[str]
    rest_endpoint: pulumi.Output[str]
    serving_runtime: pulumi.Output[str]
    openai_endpoint: pulumi.Output[str]
    model_name: pulumi.Output[str]
    replicas: pulumi.Output[int]
    prometheus_workspace_arn: pulumi.Output[str]
    prometheus_query_endpoint: pulumi.Output[str]
    alert_topic_arn: pulumi.Output[str]
    node_provisioner: pulumi.Output[str]
    node_pool_name: pulumi.Output[str]

    stack_name: pulumi.Output[str] = field(metadata=_EXTRA)
    """Name of the referenced stack."""
    by_name: Mapping[str, pulumi.Output[Any]] = field(metadata=_EXTRA)
    """Every output of `OUTPUTS` under its contract name (the same Outputs as the attributes)."""


def contract_fields() -> list[str]:
    """The attributes of `InferenceStack` that are contract outputs, in order."""
    return [f.name for f in fields(InferenceStack) if f.metadata.get("contract", True)]


def _typed_output(reference: pulumi.StackReference, checked: pulumi.Output[str], spec: OutputSpec) -> pulumi.Output[Any]:
    kind = output_kind(spec)
    # `checked` fails with the ContractError; `get_output` keeps the referenced stack's secretness of this one output.
    value = pulumi.Output.all(checked, reference.get_output(spec.name)).apply(lambda args: kind.convert(args[1]))
    return pulumi.Output.secret(value) if spec.secret else value


def read_inference_stack(reference: pulumi.StackReference) -> InferenceStack:
    """The referenced eks-inferentia stack's outputs, typed and checked against the contract.

    Every Output fails with a `ContractError` when the stack's `contractVersion` is not
    `CONTRACT_VERSION`, or when an output of `OUTPUTS` is missing or of the wrong type.
    """
    stack_name = reference.name.apply(lambda name: name or "(unnamed stack reference)")

    def check(args: list[Any]) -> str:
        name, outputs = args
        check_outputs(name, outputs)
        return str(name)

    # The engine marks the whole outputs map secret when any output is; the check's result is only
    # the stack's name, so it is unsecreted and does not make every output secret.
    checked = pulumi.Output.unsecret(pulumi.Output.all(stack_name, reference.outputs).apply(check))
    by_name = {spec.name: _typed_output(reference, checked, spec) for spec in OUTPUTS}
    attributes = set(contract_fields())
    return InferenceStack(
        **{attribute_name(name): output for name, output in by_name.items() if attribute_name(name) in attributes},
        stack_name=stack_name,
        by_name=MappingProxyType(by_name),
    )
