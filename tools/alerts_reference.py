"""docs/alerts.md, the on-call reference of the alerts: for each serving runtime, every alert and recording rule as
`eks_inferentia.metrics` deploys them, and the alert manager's routing.

The rules are read back from `rules_yaml`, the rule group namespace's data itself, for one example stack per
runtime; which of their values come from config is found by changing one config value at a time and seeing
which fields change. `make docs` (`.venv/bin/python -m tools.alerts_reference`) rewrites the file;
tests/test_alerts_reference.py fails when it differs from what the code makes.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from components.monitoring import RULE_GROUP_NAMESPACE
from eks_inferentia.config import KEYS_BY_NAME, VLLM_SUGGESTED_LATENCY_OBJECTIVE_MS
from eks_inferentia.metrics import RuleTargets, alertmanager_definition, rules_yaml

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "alerts.md"
REGENERATE = "make docs"

# The config key behind each RuleTargets field (__main__.py builds RuleTargets from these).
CONFIG_KEY_OF_FIELD: Mapping[str, str] = {
    "model_name": "modelName",
    "latency_objective_ms": "latencyObjectiveMs",
    "runtime": "servingRuntime",
    "max_concurrent_sequences": "maxConcurrentSequences",
}


@dataclasses.dataclass(frozen=True)
class Example:
    title: str
    targets: RuleTargets
    about: str
    """Where the example's config values come from."""


EXAMPLES = (
    Example("TensorFlow Serving", RuleTargets(
        model_name=str(KEYS_BY_NAME["modelName"].default),
        latency_objective_ms=int(KEYS_BY_NAME["latencyObjectiveMs"].default),
        runtime=str(KEYS_BY_NAME["servingRuntime"].default)), "the defaults"),
    Example("vLLM", RuleTargets(
        model_name="llama-3.1-8b",
        latency_objective_ms=VLLM_SUGGESTED_LATENCY_OBJECTIVE_MS,
        runtime="vllm",
        max_concurrent_sequences=int(KEYS_BY_NAME["maxConcurrentSequences"].default)),
        f"the README's vLLM example; {VLLM_SUGGESTED_LATENCY_OBJECTIVE_MS} ms is the objective the config suggests for "
        "time to first token"),
)
# The SNS topic is the stack's own (Pulumi names it monitoring-alerts-<suffix>); its ARN is the output alertTopicArn.
EXAMPLE_REGION = "us-west-2"
EXAMPLE_TOPIC_ARN = f"arn:aws:sns:{EXAMPLE_REGION}:123456789012:monitoring-alerts-4f3c2a1"


def code(text: str) -> str:
    """`text` as a Markdown code span, literally: a backtick run longer than any inside it."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _rule_groups(targets: RuleTargets) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The recording rules and the alerts, as the rule group namespace holds them."""
    recording, alerting = yaml.safe_load(rules_yaml(targets))["groups"]
    return recording["rules"], alerting["rules"]


def _fields(alert: Mapping[str, Any]) -> dict[str, Any]:
    """An alert's fields a person reads, by the name the doc gives them."""
    return {"expression": alert["expr"], "for": alert["for"],
            **{f"label {name}": value for name, value in alert["labels"].items()},
            **{name: value for name, value in alert["annotations"].items()}}


def config_sources(targets: RuleTargets) -> dict[str, dict[str, list[str]]]:
    """Per alert, the config keys its fields follow and the fields each one changes: the alerts with one config
    value changed at a time, compared with the example's."""
    _, alerts = _rule_groups(targets)
    example = {alert["alert"]: _fields(alert) for alert in alerts}
    sources: dict[str, dict[str, list[str]]] = {name: {} for name in example}
    for field, key in CONFIG_KEY_OF_FIELD.items():
        if field == "runtime":
            continue  # it chooses the rules: one section each
        value = getattr(targets, field)
        other: Any = value + 1 if isinstance(value, int) else value + "-other"
        for alert in _rule_groups(dataclasses.replace(targets, **{field: other}))[1]:
            fields = _fields(alert)
            differ = [name for name in fields if fields[name] != example[alert["alert"]].get(name)]
            if differ:
                sources[alert["alert"]][key] = differ
    return sources


def _runtime_section(example: Example) -> list[str]:
    title, targets = example.title, example.targets
    recording, alerts = _rule_groups(targets)
    sources = config_sources(targets)
    used = {key for keys in sources.values() for key in keys}
    config_values = [f"`{key}: {getattr(targets, field)}`" for field, key in CONFIG_KEY_OF_FIELD.items() if key in used]
    out = [f"## {title} (`servingRuntime: {targets.runtime}`)", "",
           f"The example stack's config ({example.about}): {', '.join(config_values)}.", "",
           "| alert | severity | for | from config |", "|---|---|---|---|"]
    for alert in alerts:
        keys = ", ".join(f"`{key}`" for key in sources[alert["alert"]]) or "-"
        out.append(f"| [`{alert['alert']}`](#{_anchor(title, alert['alert'])}) | {alert['labels']['severity']} "
                   f"| {alert['for']} | {keys} |")
    out += ["", f"### Alerts ({title})", ""]
    for alert in alerts:
        out += [f'<a id="{_anchor(title, alert["alert"])}"></a>', f"#### {alert['alert']}", "",
                f"- severity: `{alert['labels']['severity']}`, for: `{alert['for']}`"]
        labels = {name: value for name, value in alert["labels"].items() if name != "severity"}
        if labels:
            out.append("- other labels: " + ", ".join(code(f"{name}={value}") for name, value in labels.items()))
        for key, fields in sources[alert["alert"]].items():
            out.append(f"- from config: `{key}` (here `{getattr(targets, _field_of(key))}`) in {', '.join(fields)}")
        out += ["- expression:", "", "  ```promql", f"  {alert['expr']}", "  ```", ""]
        for name, text in alert["annotations"].items():
            out += [f"{name}: {code(text)}", ""]
    out += [f"### Recording rules ({title})", "",
            "The alerts and the dashboard read these; they take nothing from config.", ""]
    for rule in recording:
        out += [f"- `{rule['record']}`", "", "  ```promql", f"  {rule['expr']}", "  ```", ""]
    return out


def _field_of(key: str) -> str:
    return next(field for field, name in CONFIG_KEY_OF_FIELD.items() if name == key)


def _anchor(title: str, alert: str) -> str:
    return f"{re.sub(r'[^a-z0-9]+', '-', title.lower()).strip('-')}-{alert.lower()}"


def _alert_manager_section() -> list[str]:
    definition = alertmanager_definition(EXAMPLE_TOPIC_ARN, EXAMPLE_REGION)
    config = yaml.safe_load(yaml.safe_load(definition)["alertmanager_config"])
    route = config["route"]
    (receiver,) = config["receivers"]
    out = ["## Alert manager (both runtimes)", "",
           "Every alert of both rule groups goes to one receiver; `alertEmail` (config) subscribes an address to "
           "its SNS topic, which must confirm SNS's mail first.", ""]
    out += [f"- `{name}`: " + (", ".join(f"`{v}`" for v in value) if isinstance(value, list) else f"`{value}`")
            for name, value in route.items()]
    for sns in receiver["sns_configs"]:
        out += [f"- receiver `{receiver['name']}`: the SNS topic of stack output `alertTopicArn` "
                f"(here {code(sns['topic_arn'])}), signed for the stack's region `aws:region` "
                f"(here `{sns['sigv4']['region']}`), mail subject {code(sns['subject'])}"]
    out += ["", "The definition as deployed, with that topic and region:", "", "```yaml", definition.rstrip("\n"),
            "```", ""]
    return out


def reference() -> str:
    """docs/alerts.md's text."""
    out = ["# Alerts and recording rules", "",
           "Generated by `make docs` from `eks_inferentia/metrics.py` (`tools/alerts_reference.py`); do not edit.", "",
           f"Amazon Managed Service for Prometheus evaluates these in the rule group namespace `{RULE_GROUP_NAMESPACE}`; "
           "`servingRuntime` chooses which set is deployed. Each alert is shown as deployed for an example stack: "
           "its expression, and its summary and description as templates (`{{ $labels.x }}` and `{{ $value }}` "
           "are filled in when the alert fires, in the SNS mail). The values that come from config are named "
           "under each alert (\"from config\") and in the tables' last column.", ""]
    for example in EXAMPLES:
        out += _runtime_section(example)
    out += _alert_manager_section()
    return "\n".join(out).rstrip("\n") + "\n"


def main() -> int:
    text = reference()
    changed = not DOC.exists() or DOC.read_text() != text
    if changed:
        DOC.write_text(text)
    print(f"{DOC.relative_to(ROOT)}: {'rewritten' if changed else 'unchanged'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
