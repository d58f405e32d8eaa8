"""Pod hardening shared by the serving Deployment and the smoke-test Job.

Not a component: helpers that build the Kubernetes security settings and the checkov skip
annotations both workloads use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi_kubernetes as k8s

RUNTIME_DEFAULT_SECCOMP = k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault")


def hardened_container(add: Sequence[str] = (), run_as_user: int | None = None) -> k8s.core.v1.SecurityContextArgs:
    """No privilege, no escalation, read-only root, every capability dropped but `add`; non-root when `run_as_user`."""
    return k8s.core.v1.SecurityContextArgs(
        allow_privilege_escalation=False,
        privileged=False,
        read_only_root_filesystem=True,
        run_as_non_root=True if run_as_user is not None else None,
        run_as_user=run_as_user,
        run_as_group=run_as_user,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"], add=list(add) or None),
        seccomp_profile=RUNTIME_DEFAULT_SECCOMP,
    )


def checkov_skip_annotations(skips: Mapping[str, str]) -> dict[str, str]:
    """`checkov.io/skipN` annotations, `CHECK_ID=reason`, in check order."""
    return {f"checkov.io/skip{i}": f"{check}={reason}" for i, (check, reason) in enumerate(sorted(skips.items()), start=1)}
