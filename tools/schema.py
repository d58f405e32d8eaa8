"""Keep Pulumi.yaml's config block and the README's configuration and outputs tables in step with
`CONFIG_KEYS` and the outputs contract (`eks_inferentia.contract.OUTPUTS`).

`make schema` (`.venv/bin/python -m tools.schema`) rewrites both from the code; the tests fail when either drifts.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from eks_inferentia.config import CONFIG_KEYS, ConfigKey
from eks_inferentia.contract import outputs_table

ROOT = Path(__file__).resolve().parent.parent
CONFIG_HEADER = "  # Every key of the eks-inferentia namespace; eks_inferentia/config.py applies and validates the same defaults.\n"


def _yaml_scalar(value: object) -> str:
    return json.dumps(value)  # JSON scalars and lists are valid YAML flow values


def pulumi_yaml_config() -> str:
    """The `config:` block of Pulumi.yaml."""
    lines = ["config:\n", CONFIG_HEADER]
    for key in CONFIG_KEYS:
        lines.append(f"  {key.name}:\n    type: {key.type}\n")
        if key.type == "array":
            lines.append(f"    items:\n      type: {key.items}\n")
        lines.append(f"    description: {json.dumps(key.description)}\n")
        if not key.required:
            lines.append(f"    default: {_yaml_scalar(key.default)}\n")
    return "".join(lines)


def _default_cell(key: ConfigKey) -> str:
    if key.required:
        return "(required)"
    if key.default in ("", []):
        return "(none)"
    if isinstance(key.default, bool):
        return f"`{str(key.default).lower()}`"
    if isinstance(key.default, list):
        return f"`{json.dumps(key.default)}`"
    return f"`{key.default}`"


def readme_config_table() -> str:
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    rows += [f"| `{key.name}` | {key.type} | {_default_cell(key)} | {key.description} |" for key in CONFIG_KEYS]
    return "\n".join(rows) + "\n"


def rewrite(root: Path = ROOT) -> list[str]:
    """Rewrite Pulumi.yaml and README.md from the code; return the files that changed."""
    changed = []
    pulumi_yaml = root / "Pulumi.yaml"
    text = pulumi_yaml.read_text()
    new = text[: text.index("config:\n")] + pulumi_yaml_config()
    if new != text:
        pulumi_yaml.write_text(new)
        changed.append(pulumi_yaml.name)
    readme = root / "README.md"
    text = readme.read_text()
    # The table, then one blank line: without it Markdown reads the next paragraph as more table rows.
    new = re.sub(r"\| key \| type \| default \| description \|\n(?:\|.*\|\n)+\n*", lambda _: readme_config_table() + "\n",
                 text, count=1)
    new = re.sub(r"\| output \| type \| description \|\n(?:\|.*\|\n)+\n*", lambda _: outputs_table() + "\n\n",
                 new, count=1)
    if new != text:
        readme.write_text(new)
        changed.append(readme.name)
    return changed


if __name__ == "__main__":
    print("rewrote: " + (", ".join(rewrite()) or "nothing"), file=sys.stderr)
