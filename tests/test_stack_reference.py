"""The typed stack-reference reader: one object per eks-inferentia stack, typed, checked, secrets kept."""

from __future__ import annotations

import asyncio
import typing
from collections.abc import Callable, Collection, Mapping
from typing import Any

import pulumi
import pytest
from pulumi.runtime import settings
from pulumi.runtime.config import set_all_config

from eks_inferentia.contract import CONTRACT_VERSION, OUTPUTS
from eks_inferentia.stack_reference import (
    VERSION_OUTPUT,
    ContractError,
    InferenceStack,
    attribute_name,
    contract_fields,
    contract_problems,
    output_kind,
    read_inference_stack,
    require_qualified_stack_name,
)
from tests.examples.fake_infra import (
    INFRA_STACK,
    KUBECONFIG,
    STACK_REFERENCE,
    contract_secret_names,
    reference_state,
    sample_outputs,
)

SECRET_NAMES = {spec.name for spec in OUTPUTS if spec.secret}


class InfraMocks(pulumi.runtime.Mocks):
    """Answers `pulumi.StackReference(INFRA_STACK)` with the given outputs."""

    def __init__(self, outputs: Mapping[str, Any], secret_names: Collection[str], engine_secrets: bool) -> None:
        self.outputs = outputs
        self.secret_names = secret_names
        self.engine_secrets = engine_secrets

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        assert args.typ == STACK_REFERENCE, args.typ
        assert args.resource_id == INFRA_STACK
        return args.resource_id, reference_state(args.resource_id, self.outputs, self.secret_names,
                                                 engine_secrets=self.engine_secrets)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        raise NotImplementedError(args.token)


@pytest.fixture
def infra() -> Callable[..., None]:
    """Point the mock engine at a fake infra stack; a fresh root stack, config and settings each time."""

    def configure(outputs: Mapping[str, Any] | None = None, secret_names: Collection[str] | None = None,
                  engine_secrets: bool = True) -> None:
        mocks = InfraMocks(sample_outputs() if outputs is None else outputs,
                           contract_secret_names() if secret_names is None else secret_names, engine_secrets)
        settings.ROOT.set(None)
        set_all_config({})
        pulumi.runtime.set_mocks(mocks, project="eks-inferentia-consumer", stack="test", preview=False)

    return configure


def _read() -> InferenceStack:
    return read_inference_stack(pulumi.StackReference("infra", stack_name=INFRA_STACK))


def _secretness(outputs: Mapping[str, pulumi.Output[Any]]) -> pulumi.Output[dict[str, bool]]:
    async def gather() -> dict[str, bool]:
        return {name: await output.is_secret() for name, output in outputs.items()}

    return pulumi.Output.from_input(asyncio.ensure_future(gather()))


# --- the dataclass follows the contract ----------------------------------------------------------


def test_attributes_are_the_contract_outputs_in_snake_case_and_order() -> None:
    assert contract_fields() == [attribute_name(spec.name) for spec in OUTPUTS], (
        "InferenceStack and OUTPUTS disagree: add (or remove) the attribute for the changed output")


def test_attribute_types_follow_the_contract_types() -> None:
    hints = typing.get_type_hints(InferenceStack)
    output: Any = pulumi.Output  # subscripted at run time with the kind's type
    for spec in OUTPUTS:
        expected = output[output_kind(spec).python_type]
        assert hints[attribute_name(spec.name)] == expected, f"{spec.name} ({spec.type})"


def test_attribute_names() -> None:
    assert attribute_name("contractVersion") == "contract_version"
    assert attribute_name("oidcProviderArn") == "oidc_provider_arn"
    assert attribute_name("privateSubnetIds") == "private_subnet_ids"
    assert attribute_name("kubeconfig") == "kubeconfig"
    assert attribute_name("apiURL") == "api_url"
    assert attribute_name("restURLPath") == "rest_url_path"  # an acronym inside a name ends before the next word


def test_unknown_contract_types_are_refused() -> None:
    spec = type(OUTPUTS[0])("flag", "boolean", "A flag.")
    with pytest.raises(TypeError, match=r"flag.*'boolean'"):
        output_kind(spec)


# --- happy path ----------------------------------------------------------------------------------


def test_reads_every_output_typed(infra) -> None:
    infra()
    expected = sample_outputs()

    @pulumi.runtime.test
    def read() -> pulumi.Output[Any]:
        stack = _read()
        names = contract_fields()

        def check(values: list[Any]) -> None:
            for spec, value in zip(OUTPUTS, values, strict=True):
                python_type = typing.get_origin(output_kind(spec).python_type) or output_kind(spec).python_type
                assert type(value) is python_type, f"{spec.name}: {value!r}"
                assert value == expected[spec.name]
            by_attribute = dict(zip(names, values, strict=True))
            assert by_attribute["replicas"] == 2 and type(by_attribute["replicas"]) is int  # 2.0 from the engine
            assert by_attribute["contract_version"] == CONTRACT_VERSION
            assert by_attribute["kubeconfig"] == KUBECONFIG

        return pulumi.Output.all(*(getattr(stack, name) for name in names)).apply(check)

    read()


def test_by_name_holds_the_same_outputs_under_contract_names(infra) -> None:
    infra()

    @pulumi.runtime.test
    def read() -> pulumi.Output[Any]:
        stack = _read()
        assert list(stack.by_name) == [spec.name for spec in OUTPUTS]
        for spec in OUTPUTS:
            assert stack.by_name[spec.name] is getattr(stack, attribute_name(spec.name))
        return stack.stack_name.apply(lambda name: assert_equal(name, INFRA_STACK))

    read()


def assert_equal(found: Any, expected: Any) -> None:
    assert found == expected


@pytest.mark.parametrize("engine_secrets", [True, False], ids=["secrets-in-outputs", "plain-outputs"])
def test_kubeconfig_is_secret_and_nothing_else(infra, engine_secrets: bool) -> None:
    # With engine_secrets the SDK marks the reference's whole `outputs` map secret, as with the real engine.
    infra(engine_secrets=engine_secrets)

    @pulumi.runtime.test
    def read() -> pulumi.Output[Any]:
        stack = _read()
        return _secretness(stack.by_name).apply(
            lambda secret: assert_equal({name for name, is_secret in secret.items() if is_secret}, SECRET_NAMES))

    assert "kubeconfig" in SECRET_NAMES
    read()


def test_contract_secrets_stay_secret_even_when_the_stack_did_not_mark_them(infra) -> None:
    infra(secret_names=[], engine_secrets=False)

    @pulumi.runtime.test
    def read() -> pulumi.Output[Any]:
        stack = _read()
        return _secretness({"kubeconfig": stack.kubeconfig, "restEndpoint": stack.rest_endpoint}).apply(
            lambda secret: assert_equal(secret, {"kubeconfig": True, "restEndpoint": False}))

    read()


def test_outputs_the_stack_marks_secret_stay_secret(infra) -> None:
    infra(secret_names=[*contract_secret_names(), "modelName"])

    @pulumi.runtime.test
    def read() -> pulumi.Output[Any]:
        return _secretness({"modelName": _read().model_name}).apply(lambda secret: assert_equal(secret, {"modelName": True}))

    read()


def test_extra_outputs_of_a_newer_stack_are_ignored(infra) -> None:
    infra(outputs=sample_outputs(somethingNew="x"))

    @pulumi.runtime.test
    def read() -> pulumi.Output[Any]:
        return _read().replicas.apply(lambda replicas: assert_equal(replicas, 2))

    read()


# --- failures ------------------------------------------------------------------------------------


def _fails_reading(attribute: str = "rest_endpoint") -> ContractError:
    @pulumi.runtime.test
    def read() -> pulumi.Output[Any]:
        return getattr(_read(), attribute)

    with pytest.raises(ContractError) as caught:
        read()
    return caught.value


@pytest.mark.parametrize("version", [CONTRACT_VERSION + 1.0, CONTRACT_VERSION + 0.5, "1"])
def test_a_different_contract_version_fails_naming_stack_found_and_supported_versions(infra, version: Any) -> None:
    infra(outputs=sample_outputs(**{VERSION_OUTPUT: version}))
    error = _fails_reading()
    assert error.stack == INFRA_STACK
    shown = str(int(version)) if isinstance(version, float) and version.is_integer() else repr(version)
    assert str(error) == (
        f"stack {INFRA_STACK} does not match the eks-inferentia outputs contract version {CONTRACT_VERSION}: "
        f"its contractVersion is {shown}, but this program supports contract version {CONTRACT_VERSION}")
    assert isinstance(error, pulumi.RunError)  # the CLI prints the message, no traceback


def test_a_missing_contract_version_fails(infra) -> None:
    outputs = sample_outputs()
    del outputs[VERSION_OUTPUT]
    infra(outputs=outputs)
    error = _fails_reading("kubeconfig")
    assert INFRA_STACK in str(error)
    assert f"exports no {VERSION_OUTPUT}" in str(error)
    assert f"supports contract version {CONTRACT_VERSION}" in str(error)


def test_version_one_point_zero_is_version_one() -> None:
    assert contract_problems(sample_outputs(**{VERSION_OUTPUT: float(CONTRACT_VERSION)})) == []
    assert contract_problems(sample_outputs(**{VERSION_OUTPUT: CONTRACT_VERSION})) == []
    assert contract_problems(sample_outputs(**{VERSION_OUTPUT: True})) != []  # a bool is not a version


def test_missing_outputs_fail_naming_every_one_and_the_stack(infra) -> None:
    # Two outputs other than the version, taken from the contract; reading a third still fails.
    gone = [spec.name for spec in OUTPUTS if spec.name != VERSION_OUTPUT][-2:]
    outputs = {name: value for name, value in sample_outputs().items() if name not in gone}
    infra(outputs=outputs)
    read_instead = next(attribute_name(spec.name) for spec in OUTPUTS if spec.name not in gone)
    error = _fails_reading(read_instead)
    assert error.stack == INFRA_STACK
    assert error.problems == (f"missing outputs {', '.join(gone)} (deploy it with the current eks-inferentia program)",)
    assert INFRA_STACK in str(error) and all(name in str(error) for name in gone)


def test_one_missing_output_is_named(infra) -> None:
    outputs = sample_outputs()
    del outputs["restEndpoint"]
    infra(outputs=outputs)
    error = _fails_reading("rest_endpoint")
    assert "missing output restEndpoint " in str(error)


def test_wrong_types_are_reported_without_showing_secrets(infra) -> None:
    infra(outputs=sample_outputs(replicas="two", kubeconfig={"apiVersion": "v1", "token": "hunter2"}))
    error = _fails_reading("model_name")
    assert "output replicas is 'two', not an integer" in error.problems
    assert "output kubeconfig is a dict, not a string" in error.problems
    assert "hunter2" not in str(error)


def test_an_undecryptable_secret_is_explained(infra) -> None:
    # The engine replaces a secret it cannot decrypt (another passphrase) with {} and keeps it secret.
    infra(outputs=sample_outputs(kubeconfig={}))
    error = _fails_reading("kubeconfig")
    assert error.problems == ("output kubeconfig is a secret this stack cannot decrypt: both stacks need the same "
                              "secrets provider (on a self-managed backend, the same PULUMI_CONFIG_PASSPHRASE)",)


def test_a_non_integral_number_is_not_an_integer() -> None:
    assert contract_problems(sample_outputs(replicas=2.5)) == ["output replicas is 2.5, not an integer"]


# --- stack names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["organization/eks-inferentia/dev", "acme/eks-inferentia/prod", "organization/eks_inferentia/dev.1"])
def test_qualified_stack_names_are_accepted(name: str) -> None:
    assert require_qualified_stack_name(name) == name


@pytest.mark.parametrize("name", ["dev", "eks-inferentia/dev", "organization/eks-inferentia/", "a/b/c/d", ""])
def test_other_stack_names_are_refused_with_the_rule(name: str) -> None:
    with pytest.raises(pulumi.RunError, match=r"<organization>/<project>/<stack>.*organization/eks-inferentia/dev"):
        require_qualified_stack_name(name)


def test_a_list_with_something_other_than_strings_is_not_a_list_of_strings() -> None:
    assert contract_problems(sample_outputs(privateSubnetIds=["subnet-1", 2])) == [
        "output privateSubnetIds is ['subnet-1', 2], not a list of strings"]
    assert contract_problems(sample_outputs(privateSubnetIds=("subnet-1", "subnet-2"))) == []


@pytest.mark.parametrize(("length", "shown"), [(60, "'" + "a" * 58 + "'"), (61, "'" + "a" * 56 + "...")])
def test_a_long_value_is_cut_to_60_characters_in_the_message(length: int, shown: str) -> None:
    value = "a" * (length - 2)  # its repr has the two quotes
    assert contract_problems(sample_outputs(replicas=value)) == [f"output replicas is {shown}, not an integer"]


def test_the_error_names_the_stack_the_version_and_every_problem() -> None:
    error = ContractError("acme/eks-inferentia/dev", ["missing output vpcId", "output replicas is 'two', not an integer"])
    assert str(error) == (f"stack acme/eks-inferentia/dev does not match the eks-inferentia outputs contract version "
                          f"{CONTRACT_VERSION}: missing output vpcId; output replicas is 'two', not an integer")


def test_the_stack_name_rule_is_explained_in_full() -> None:
    with pytest.raises(pulumi.RunError) as caught:
        require_qualified_stack_name("dev")
    assert str(caught.value) == (
        "'dev' is not a fully qualified stack name: a stack of another project is referenced as "
        "<organization>/<project>/<stack>; on a self-managed backend (file://, s3://) the organization is "
        "'organization', e.g. organization/eks-inferentia/dev")


def test_no_output_yields_a_value_when_the_contract_check_fails(infra) -> None:
    # Each output waits for the check, so nothing built from one is created from a stack that breaks the contract.
    infra(outputs=sample_outputs(**{VERSION_OUTPUT: CONTRACT_VERSION + 1}))
    seen: list[Any] = []

    @pulumi.runtime.test
    def read() -> pulumi.Output[Any]:
        return _read().rest_endpoint.apply(seen.append)

    with pytest.raises(ContractError):
        read()
    assert seen == []
