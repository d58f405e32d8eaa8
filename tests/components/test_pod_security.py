"""pod_security: the hardened container settings and checkov's skip annotations, value by value.

The serving Deployment, the smoke-test Job and the neuron-monitor DaemonSet render these; here each helper
is called on its own, with and without a user and added capabilities, so a changed default shows up
even where no workload of the dev stack takes that branch.
"""

from __future__ import annotations

from typing import Any

from pulumi._types import input_type_to_dict

from components.pod_security import RUNTIME_DEFAULT_SECCOMP, checkov_skip_annotations, hardened_container


def as_dict(value: Any) -> Any:
    """An input type as the camelCase dict Pulumi sends, nested types included; unset fields are absent."""
    if hasattr(value, "_translate_property") or type(value).__name__.endswith("Args"):
        return {key: as_dict(item) for key, item in input_type_to_dict(value).items() if item is not None}
    if isinstance(value, list):
        return [as_dict(item) for item in value]
    return value


LOCKED_DOWN = {"allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
               "seccompProfile": {"type": "RuntimeDefault"}}


def test_without_a_user_the_image_user_stays_and_every_capability_is_dropped() -> None:
    assert as_dict(hardened_container()) == {**LOCKED_DOWN, "capabilities": {"drop": ["ALL"]}}


def test_a_user_makes_the_container_non_root_with_that_uid_and_gid() -> None:
    assert as_dict(hardened_container(run_as_user=10001)) == {
        **LOCKED_DOWN, "runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
        "capabilities": {"drop": ["ALL"]}}


def test_added_capabilities_are_the_only_ones_kept() -> None:
    assert as_dict(hardened_container(add=("IPC_LOCK",))) == {
        **LOCKED_DOWN, "capabilities": {"drop": ["ALL"], "add": ["IPC_LOCK"]}}
    assert as_dict(hardened_container(add=["IPC_LOCK", "SYS_NICE"], run_as_user=10001)) == {
        **LOCKED_DOWN, "runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
        "capabilities": {"drop": ["ALL"], "add": ["IPC_LOCK", "SYS_NICE"]}}


def test_the_seccomp_profile_is_the_runtimes_default() -> None:
    assert as_dict(RUNTIME_DEFAULT_SECCOMP) == {"type": "RuntimeDefault"}


def test_checkov_skips_are_numbered_from_one_in_check_order() -> None:
    assert checkov_skip_annotations({"CKV_K8S_43": "pinned by tag", "CKV_K8S_16": "privileged"}) == {
        "checkov.io/skip1": "CKV_K8S_16=privileged",
        "checkov.io/skip2": "CKV_K8S_43=pinned by tag",
    }
    assert checkov_skip_annotations({}) == {}
