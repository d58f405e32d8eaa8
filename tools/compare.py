"""Compare two offline renders: which resources a change would replace, update, add or remove.

Resources are matched by (type, name), their URN identity. A matched resource is replaced when an
input that `tools.replacements.REPLACE_ON_CHANGE` lists for its type differs, or when what it is
built from is replaced: an input holding an ID, ARN or auto-name of a replaced resource (a new one
gets new ones: during a preview they are unknown, and Pulumi diffs an unknown as a change), or its
provider. Otherwise any differing input is an update in place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tools.mock_engine import REDACTED, SECRET_SIG, UNKNOWN, ProgramRun, Registration, plain
from tools.replacements import NOTES, REPLACE_ON_CHANGE, replacing

Key = tuple[str, str]
_MISSING = object()
# Outputs of a component that name what it created (vpcId, privateSubnetIds, oidcProviderArn, ...).
_IDENTITY_SUFFIXES = ("Id", "Ids", "Arn")
# Output strings shorter than this are not identities (statuses, versions).
_MIN_IDENTITY = 8


@dataclass
class Change:
    type: str
    name: str
    paths: list[str]
    """Inputs that differ (dotted), in order."""
    reasons: list[str] = field(default_factory=list)
    """Why it is replaced: `path: old -> new`, or what replaced thing it is built from."""


@dataclass
class Comparison:
    replaced: list[Change]
    updated: list[Change]
    added: list[Key]
    removed: list[Key]
    unchanged: int
    notes: list[str]


def key(resource: Registration) -> Key:
    return resource.type, resource.name


def unwrapped(raw: Any) -> Any:
    """Wire inputs with secrets replaced by their values, so a changed secret shows as a change."""
    if isinstance(raw, dict):
        if raw.get(SECRET_SIG[0]) == SECRET_SIG[1]:
            return unwrapped(raw.get("value"))
        return {name: unwrapped(value) for name, value in raw.items()}
    if isinstance(raw, list):
        return [unwrapped(item) for item in raw]
    return raw


def _is_objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths where two input trees differ. Lists of objects of the same length are compared
    item by item (`containers.0.image`); other lists, whole."""
    if isinstance(old, dict) and isinstance(new, dict):
        paths: list[str] = []
        for name in sorted(set(old) | set(new)):
            paths += changed_paths(old.get(name, _MISSING), new.get(name, _MISSING), f"{prefix}{name}.")
        return paths
    if _is_objects(old) and _is_objects(new) and len(old) == len(new):
        return [p for index, (a, b) in enumerate(zip(old, new, strict=True))
                for p in changed_paths(a, b, f"{prefix}{index}.")]
    return [] if old == new else [prefix.rstrip(".")]


def _at(tree: Any, path: str) -> Any:
    for part in path.split("."):
        if tree == REDACTED:
            return REDACTED
        if isinstance(tree, list) and part.isdigit() and int(part) < len(tree):
            tree = tree[int(part)]
        elif isinstance(tree, dict) and part in tree:
            tree = tree[part]
        else:
            return _MISSING
    return tree


def _shown(value: Any, skip: int = 0, limit: int = 60) -> str:
    """A value as JSON, from character `skip` on (after a prefix both sides share), at most `limit` long."""
    if value is _MISSING:
        return "(none)"
    text = json.dumps(value, sort_keys=True)
    text = "..." + text[skip:] if skip else text
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _before_after(was: Any, now: Any) -> str:
    if REDACTED in (was, now):
        return "(secret) changed"
    texts = [json.dumps(v, sort_keys=True) for v in (was, now) if v is not _MISSING]
    common = 0
    if len(texts) == 2:
        common = next((i for i, (a, b) in enumerate(zip(*texts, strict=False)) if a != b), min(map(len, texts)))
    skip = common - 12 if common > 24 else 0  # keep a little context before the difference
    return f"{_shown(was, skip)} -> {_shown(now, skip)}"


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) and value != UNKNOWN else []


def identities(resource: Registration) -> set[str]:
    """What a replacement gives a resource anew: the ID, ARN and names the provider chose (not inputs);
    for a remote component, the IDs and ARNs of what it created."""
    found: set[str] = set()
    for name, value in resource.outputs.items():
        if name in resource.inputs and name != "metadata":
            continue
        if resource.custom:
            if name in ("id", "arn") or name.endswith("Name") or name == "name":
                found.update(_strings(value))
            elif name == "metadata" and not (resource.inputs.get("metadata") or {}).get("name"):
                found.update(_strings((value or {}).get("name")))  # a Kubernetes auto-name
        elif name.endswith(_IDENTITY_SUFFIXES):
            found.update(_strings(value))
    return {s for s in found if len(s) >= _MIN_IDENTITY}


def _paths_holding(tree: Any, needles: set[str], prefix: str = "") -> list[str]:
    if isinstance(tree, dict):
        return [p for name in sorted(tree) for p in _paths_holding(tree[name], needles, f"{prefix}{name}.")]
    if _is_objects(tree):
        return [p for index, item in enumerate(tree) for p in _paths_holding(item, needles, f"{prefix}{index}.")]
    if any(needle in text for text in _strings(tree) for needle in needles):
        return [prefix.rstrip(".")]
    return []


def compare(baseline: ProgramRun, changed: ProgramRun) -> Comparison:
    old = {key(r): r for r in baseline.resources}
    new = {key(r): r for r in changed.resources}
    urn_key = {r.urn: key(r) for r in changed.resources}
    changes: dict[Key, Change] = {}
    replaced: set[Key] = set()
    notes: list[str] = []
    for k in sorted(old.keys() & new.keys()):
        paths = changed_paths(unwrapped(old[k].raw_inputs), unwrapped(new[k].raw_inputs))
        if not paths:
            continue
        change = changes[k] = Change(k[0], k[1], paths)
        before, after = plain(old[k].raw_inputs), plain(new[k].raw_inputs)
        for path in paths:
            if replacing(k[0], path):
                replaced.add(k)
                change.reasons.append(f"{path}: {_before_after(_at(before, path), _at(after, path))}")
            # A note on a replacing input is said when it replaces; one on another input, when it changes.
            top = path.split(".")[0]
            note = NOTES.get((k[0], top))
            if note and (replacing(k[0], path) or not replacing(k[0], top)):
                line = f"{k[0]} {k[1]}: {note}"
                if line not in notes:
                    notes.append(line)

    # What is built from a replaced resource: its inputs holding the old one's ID, ARN or auto-name
    # (in the changed run: the mock gives the new resource the same ones), or its provider.
    grew = True
    while grew:
        grew = False
        for k in sorted(old.keys() & new.keys()):
            if k in replaced:
                continue
            resource = new[k]
            reasons: list[str] = []
            # A provider reference is `<urn>::<id>`.
            provider = urn_key.get(resource.provider.rsplit("::", 1)[0]) if resource.provider else None
            if provider in replaced:
                reasons.append(f"its provider {provider[1]} is replaced")
            for source in sorted(replaced):
                if source == k or source not in new:
                    continue
                for path in _paths_holding(unwrapped(resource.raw_inputs), identities(new[source])):
                    change = changes.setdefault(k, Change(k[0], k[1], []))
                    if path not in change.paths:
                        change.paths.append(path)
                    if replacing(k[0], path):
                        reasons.append(f"{path} comes from {source[1]}, which is replaced")
            if reasons:
                change = changes.setdefault(k, Change(k[0], k[1], []))
                change.reasons += reasons
                replaced.add(k)
                grew = True

    ordered = [changes[k] for k in sorted(changes)]
    return Comparison(
        replaced=[c for c in ordered if (c.type, c.name) in replaced],
        updated=[c for c in ordered if (c.type, c.name) not in replaced],
        added=sorted(new.keys() - old.keys()),
        removed=sorted(old.keys() - new.keys()),
        unchanged=len(old.keys() & new.keys()) - len(changes),
        notes=notes,
    )


def unlisted_types(run: ProgramRun) -> list[str]:
    """Types in a run the replacement table does not cover (the program's own components have no inputs)."""
    return sorted({r.type for r in run.resources
                   if r.type not in REPLACE_ON_CHANGE and not r.type.startswith("eks-inferentia:index:")})


def report(comparison: Comparison, title: str) -> str:
    width = max((len(c.type) for c in comparison.replaced + comparison.updated), default=0)
    lines = [f"{title}:"]
    lines.append(f"  replaced ({len(comparison.replaced)}):")
    for c in comparison.replaced:
        shown = "; ".join(c.reasons[:3]) + (f"; ... (+{len(c.reasons) - 3})" if len(c.reasons) > 3 else "")
        lines.append(f"    {c.type:<{width}}  {c.name}  ({shown})")
    lines.append(f"  updated in place ({len(comparison.updated)}):")
    for c in comparison.updated:
        shown = ", ".join(c.paths[:4]) + (f", ... (+{len(c.paths) - 4})" if len(c.paths) > 4 else "")
        lines.append(f"    {c.type:<{width}}  {c.name}  ({shown})")
    for label, keys in (("added", comparison.added), ("removed", comparison.removed)):
        lines.append(f"  {label} ({len(keys)})" + (":" if keys else ""))
        lines += [f"    {t}  {n}" for t, n in keys]
    lines.append(f"  unchanged: {comparison.unchanged}")
    if comparison.notes:
        lines.append("  notes:")
        lines += [f"    - {note}" for note in comparison.notes]
    return "\n".join(lines)
