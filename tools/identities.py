"""Resource identities: the URN of every resource each stack declares, kept in `tests/identities/`.

A URN is a resource's identity in the state: its name and its parents' types. When a change to the
code alters one (a renamed resource, a child moved to another parent), `pulumi up` deletes the live
resource and creates a new one: the cluster, a node group or the model's IAM role, in every stack
that runs the program. Such a change must be deliberate, with an `aliases` option where the old
resource must live on. `tests/test_identities.py` compares the program's URNs with the files here;
`make identities` rewrites them after a deliberate change, so the review shows every identity added
or removed.
"""

from __future__ import annotations

import sys
import typing
from pathlib import Path

import pulumi

import components
from tools.mock_engine import ProgramRun, run_program
from tools.render import ROOT, stack_config, stack_names

IDENTITIES_DIR = ROOT / "tests" / "identities"


def identities(run: ProgramRun) -> list[str]:
    """Every declared resource's URN, sorted (registration order depends on the event loop)."""
    return sorted(resource.urn for resource in run.resources)


def kubernetes_provider_problems(run: ProgramRun) -> list[str]:
    """Kubernetes objects not deployed through the cluster's own provider. Without it, pulumi-kubernetes
    falls back to the ambient kubeconfig: whatever cluster `kubectl` points at on the deploying machine."""
    providers = run.of_type("pulumi:providers:kubernetes")
    if len(providers) != 1:
        return [f"expected one Kubernetes provider, found {len(providers)}"]
    cluster_provider = providers[0].urn
    return [f"{resource.urn}: provider {resource.provider or '(default)'}, not the cluster's {cluster_provider}"
            for resource in run.resources
            if resource.type.startswith("kubernetes:") and not resource.provider.startswith(providers[0].urn + "::")]


def component_output_names(token: str) -> set[str] | None:
    """The `pulumi.Output` attributes the component class of `token` declares (None: not one of ours)."""
    for name in components.__all__:
        cls = getattr(components, name)
        if isinstance(cls, type) and issubclass(cls, pulumi.ComponentResource) and \
                f"eks-inferentia:index:{cls.__name__}" == token:
            # Annotations stay strings under `from __future__ import annotations`; read them as written.
            return {attr for attr, hint in cls.__annotations__.items()
                    if (hint.startswith("pulumi.Output[") if isinstance(hint, str) else typing.get_origin(hint) is pulumi.Output)}
    return None


def registered_output_problems(run: ProgramRun) -> list[str]:
    """Components whose `register_outputs` differs from their declared Output attributes: the state then
    records other outputs than the code exposes (and `pulumi stack --show-urns` readers see stale ones)."""
    problems = []
    for resource in run.resources:
        declared = component_output_names(resource.type)
        if declared is None:
            continue
        registered = set(run.registered_outputs.get(resource.urn, {}))
        if registered != declared:
            problems.append(f"{resource.type} {resource.name}: registers {sorted(registered)}, declares {sorted(declared)}")
    return problems


def stack_identities(stack: str) -> list[str]:
    config = stack_config(stack)
    return identities(run_program(config, stack=stack, region=str(config.get("aws:region", "us-west-2"))))


def identities_file(stack: str, root: Path = IDENTITIES_DIR) -> Path:
    return root / f"{stack}.txt"


def main(argv: list[str] | None = None) -> int:
    stacks = (argv if argv is not None else sys.argv[1:]) or stack_names()
    IDENTITIES_DIR.mkdir(parents=True, exist_ok=True)
    for stack in stacks:
        urns = stack_identities(stack)
        identities_file(stack).write_text("\n".join(urns) + "\n")
        print(f"{identities_file(stack).relative_to(ROOT)}: {len(urns)} resources")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
