"""Offline, credential-free preview: run the program under the mock engine and show what it declares.

    python -m tools.render STACK [--set key=value ...] [--out DIR]
    python -m tools.render STACK [--set key=value ...] --compare-with BASELINE

Config comes from `Pulumi.yaml` defaults, then `Pulumi.STACK.yaml`, then `--set` overrides, each
value as the Pulumi CLI hands it to the program: `--set KEY=VALUE` is `pulumi config set KEY VALUE`
(the text itself: `1.30` stays 1.30, `yes` stays yes), and a list only when written as JSON
(`--set 'sshAllowedCidrs=["203.0.113.7/32"]'`, as a YAML list in the stack file). Prints a preview-like tree of
resources and writes `DIR/resources.json` (type, name, parent, inputs with secrets redacted)
and `DIR/manifests/*.yaml` (each Kubernetes object the program declares directly). Invalid
config: exit 2 with one line per problem, and nothing is written.

`--compare-with BASELINE` renders the stack BASELINE as it is, then STACK with the `--set` overrides,
and prints what going from the first to the second would do, resource by resource (matched by type
and name, their URN identity): those replaced, with the inputs that force it (tools/replacements.py
says which inputs of each type do), then those updated in place, added and removed. Nothing is
written. `dev --set instanceType=inf2.xlarge --compare-with dev` asks what that one change does to
dev; `prod --compare-with dev` compares two stacks. An unknown BASELINE exits 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import yaml

from eks_inferentia.config import NAMESPACE, ConfigError
from eks_inferentia.placement import PlacementError
from tools.compare import compare, report
from tools.mock_engine import PROJECT, REDACTED, ProgramRun, Registration, plain, run_program

ROOT = Path(__file__).resolve().parent.parent


def stack_names(root: Path = ROOT) -> list[str]:
    """Stacks that have a `Pulumi.<stack>.yaml`, sorted."""
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def _full(key: str) -> str:
    return key if ":" in key else f"{NAMESPACE}:{key}"


def _cli_default(value: Any) -> Any:
    """A `Pulumi.yaml` default as the CLI hands it over: a string, integer or boolean as its text
    (booleans as `true`/`false`), a list or map as itself (JSON on the wire)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, (str, int)) else value


def _stack_file_values(text: str) -> dict[str, Any]:
    """A stack file's `config:` as the Pulumi CLI reads it: a scalar as the text written (`1.30` is
    "1.30", `yes` is "yes", nothing or `null` is ""), a list or map as itself (JSON on the wire)."""
    document = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(document, yaml.MappingNode):
        return {}
    config = next((value for key, value in document.value if key.value == "config"), None)
    if not isinstance(config, yaml.MappingNode):
        return {}
    values: dict[str, Any] = {}
    for key, value in config.value:
        if isinstance(value, yaml.ScalarNode):
            values[key.value] = "" if value.tag == "tag:yaml.org,2002:null" else value.value
        else:
            values[key.value] = yaml.SafeLoader("").construct_document(value)
    return values


def set_value(text: str) -> Any:
    """`--set KEY=TEXT` as `pulumi config set KEY TEXT` stores it: TEXT itself, and a list or map
    only when TEXT is one written as JSON (as `pulumi config set --path` or a YAML list would store it)."""
    if text.lstrip().startswith(("[", "{")):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            return text
        if isinstance(parsed, (list, dict)):
            return parsed
    return text


def stack_config(stack: str, overrides: list[str] | None = None, root: Path = ROOT) -> dict[str, Any]:
    """Config as the CLI would assemble it: project defaults, the stack file, then overrides."""
    project = yaml.safe_load((root / "Pulumi.yaml").read_text())
    config: dict[str, Any] = {}
    for key, spec in (project.get("config") or {}).items():
        if isinstance(spec, dict) and "default" in spec:
            config[_full(key)] = _cli_default(spec["default"])
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        raise FileNotFoundError(f"no stack file {stack_file.name}; stacks here: " + ", ".join(stack_names(root)))
    config.update(_stack_file_values(stack_file.read_text()))
    for override in overrides or []:
        key, sep, value = override.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set takes KEY=VALUE, got {override!r}")
        config[_full(key.strip())] = set_value(value)
    return config


def declared_type_problems(config: dict[str, Any], stack: str, root: Path = ROOT) -> list[str]:
    """What the Pulumi CLI refuses before the program runs, and the program cannot see: a string
    for a key `Pulumi.yaml` declares an array (the program receives both as JSON text), or a list
    or map for any other key."""
    declared = yaml.safe_load((root / "Pulumi.yaml").read_text()).get("config") or {}
    problems = []
    for name, spec in declared.items():
        key, value = _full(name), config.get(_full(name))
        is_array = isinstance(spec, dict) and spec.get("type") == "array"
        if is_array and isinstance(value, str):
            items = [item.strip().strip("'\"") for item in value.strip().strip("[]").split(",") if item.strip()]
            problems.append(
                f"{key}: {value!r} is not allowed; expected a list (the Pulumi CLI refuses a string for an array "
                f"key): --set '{name}={json.dumps(items or ['...'])}' here, a YAML list in Pulumi.{stack}.yaml, "
                f"or `pulumi config set --path '{key}[0]' {items[0] if items else '...'}`")
        elif not is_array and isinstance(value, (list, dict)):
            problems.append(f"{key}: {json.dumps(value)} is not allowed; expected a single "
                            f"{spec.get('type', 'value') if isinstance(spec, dict) else 'value'}, not a list or map")
    return problems


def _short(urn: str) -> str:
    return urn.rsplit("::", 1)[-1] if urn else ""


def tree(run: ProgramRun) -> str:
    children: dict[str, list[Registration]] = {}
    urns = {r.urn for r in run.resources}
    for r in run.resources:
        children.setdefault(r.parent if r.parent in urns else "", []).append(r)
    # The stack resource is named <project>-<stack>, as its children's `parent` in resources.json says.
    stack = next((_short(r.parent) for r in run.resources if r.parent and r.parent not in urns), PROJECT)
    lines = [f"     {'Type':<56}Name", f" +   {'pulumi:pulumi:Stack':<56}{stack}"]

    def walk(parent: str, depth: int) -> None:
        for r in sorted(children.get(parent, []), key=lambda r: (r.type, r.name)):
            label = "   " * depth + ("└─ " if depth else " ├─ ") + r.type
            lines.append(f" +  {label:<57}{r.name}")
            walk(r.urn, depth + 1)

    walk("", 0)
    lines.append(f"\nResources:\n    + {len(run.resources) + 1} to create")
    return "\n".join(lines)


# Apply order: what others live in or refer to comes first.
KIND_ORDER = ("Namespace", "ServiceAccount", "ConfigMap", "Deployment", "Service", "PodDisruptionBudget",
              "NetworkPolicy", "Job")


def _checked_manifest(resource: Registration) -> dict[str, Any]:
    """The object as the Kubernetes provider sends it: the inputs, with the name and annotation its
    Check gives an object declared without `metadata.name` (the mock engine records them)."""
    manifest = plain(resource.raw_inputs)
    checked = plain(resource.outputs.get("metadata") or {})
    metadata = manifest.setdefault("metadata", {})
    if not metadata.get("name"):
        metadata["name"] = checked["name"]
        metadata["annotations"] = {**(metadata.get("annotations") or {}), **(checked.get("annotations") or {})}
    return manifest


def kubernetes_manifests(run: ProgramRun) -> list[dict[str, Any]]:
    """Every Kubernetes object declared directly (not the Helm chart's, which the chart renders),
    in apply order."""
    manifests = [_checked_manifest(r) for r in run.resources
                 if r.custom and r.type.startswith("kubernetes:") and not r.type.startswith("kubernetes:helm")]

    def order(manifest: dict[str, Any]) -> tuple[int, str, str]:
        kind = manifest["kind"]
        rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
        return rank, kind, manifest["metadata"]["name"]

    return sorted(manifests, key=order)


def write(run: ProgramRun, out: Path) -> int:
    """Write resources.json and the manifests; return how many manifests were written."""
    out.mkdir(parents=True, exist_ok=True)
    resources = [
        {"type": r.type, "name": r.name, "parent": _short(r.parent), "custom": r.custom, "inputs": plain(r.raw_inputs)}
        for r in sorted(run.resources, key=lambda r: r.urn)
    ]
    (out / "resources.json").write_text(json.dumps(
        {"resources": resources, "outputs": {k: (REDACTED if k in run.secret_outputs else v)
                                            for k, v in run.outputs.items()}}, indent=2) + "\n")
    manifests_dir = out / "manifests"
    manifests_dir.mkdir(exist_ok=True)
    for old in manifests_dir.glob("*.yaml"):
        old.unlink()
    manifests = kubernetes_manifests(run)
    for index, manifest in enumerate(manifests):
        name = f"{index:02d}-{manifest['kind'].lower()}-{manifest['metadata']['name']}.yaml"
        (manifests_dir / name).write_text(yaml.safe_dump(manifest, sort_keys=True))
    return len(manifests)


def _render(stack: str, overrides: list[str]) -> ProgramRun | None:
    """Run the program for a stack and overrides, or print why not (exit code 2) and return None."""
    try:
        config = stack_config(stack, overrides)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    type_problems = declared_type_problems(config, stack)
    if type_problems:
        print(f"error: stack {stack!r} has invalid configuration:", file=sys.stderr)
        for problem in type_problems:
            print(f"  - {problem}", file=sys.stderr)
        return None
    region = str(config.get("aws:region", "us-west-2"))
    # The program's warnings (pulumi.log.warn) reach Python logging under the mock engine.
    logging.basicConfig(format="warning: %(message)s", level=logging.WARNING, stream=sys.stderr, force=True)
    try:
        return run_program(config, stack=stack, region=region)
    except ConfigError as error:
        print(f"error: stack {stack!r} has invalid configuration:", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
    except PlacementError as error:
        print(f"error: {error}", file=sys.stderr)
    return None


def _compare(args: argparse.Namespace) -> int:
    if args.compare_with not in stack_names():
        print(f"error: --compare-with {args.compare_with}: no stack file Pulumi.{args.compare_with}.yaml; "
              "stacks here: " + ", ".join(stack_names()), file=sys.stderr)
        return 2
    baseline = _render(args.compare_with, [])
    changed = _render(args.stack, args.set) if baseline is not None else None
    if baseline is None or changed is None:
        return 2
    target = " ".join([args.stack, *(f"--set {override}" for override in args.set)])
    print(report(compare(baseline, changed), f"Comparing {args.compare_with} (baseline) with {target}"))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.render", description=__doc__.split("\n\n")[0])
    parser.add_argument("stack", help="stack name: reads Pulumi.STACK.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, as `pulumi config set KEY VALUE` would; lists as JSON")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default build/render/STACK)")
    parser.add_argument("--compare-with", metavar="BASELINE", default=None,
                        help="render the stack BASELINE as it is and say what going to STACK (with the --set "
                             "overrides) would replace, update, add and remove; writes nothing")
    args = parser.parse_args(argv)
    if args.compare_with is not None:
        if args.out is not None:
            parser.error("--out writes a render; --compare-with writes nothing")
        return _compare(args)

    run = _render(args.stack, args.set)
    if run is None:
        return 2
    region = str(stack_config(args.stack, args.set).get("aws:region", "us-west-2"))
    out = args.out or ROOT / "build" / "render" / args.stack
    print(f"Previewing stack {args.stack} offline (mock engine, region {region}):\n")
    print(tree(run))
    print("\nOutputs:")
    for name, value in run.outputs.items():
        shown = REDACTED if name in run.secret_outputs else json.dumps(value)
        print(f"    {name:<22}: {shown}")
    manifest_count = write(run, out)
    print(f"\nWrote {out / 'resources.json'} and {manifest_count} manifests in {out / 'manifests'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
