"""docs/alerts.md, the alerts as deployed (tools/alerts_reference.py), is what the code makes now, and the README's
alert table names exactly the alerts the code declares, with their severities."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from eks_inferentia.config import KEYS_BY_NAME
from eks_inferentia.metrics import RuleTargets, alert_rules
from tools.alerts_reference import CONFIG_KEY_OF_FIELD, DOC, EXAMPLES, REGENERATE, code, config_sources, reference

ROOT = Path(__file__).resolve().parent.parent


def test_docs_alerts_md_is_what_the_code_makes() -> None:
    # An alert's text, expression, `for` or severity, a recording rule or the alert manager's routing changed.
    assert DOC.read_text() == reference(), f"docs/alerts.md is stale: run `{REGENERATE}` and commit it"


def test_the_readme_alert_table_names_every_alert_of_both_runtimes_with_its_severity() -> None:
    readme = (ROOT / "README.md").read_text()
    monitoring = readme[readme.index("\n## Monitoring\n"):]
    monitoring = monitoring[:monitoring.index("\n## ", 1)]
    table = re.findall(r"^\| `(\w+)` \((\w+)\) \|", monitoring, re.M)
    assert len(table) == len(set(table)), table
    declared = {(alert["alert"], alert["labels"]["severity"]) for example in EXAMPLES
                for alert in alert_rules(example.targets)}
    assert set(table) == declared


def test_every_rule_target_is_named_by_its_config_key() -> None:
    # __main__.py builds RuleTargets from these keys; a new field without one would be missing from the doc.
    assert [f.name for f in dataclasses.fields(RuleTargets)] == list(CONFIG_KEY_OF_FIELD)
    assert set(CONFIG_KEY_OF_FIELD.values()) <= set(KEYS_BY_NAME)
    assert [example.targets.runtime for example in EXAMPLES] == ["tensorflow-serving", "vllm"]


def test_the_config_behind_each_alert_is_found_by_changing_one_value_at_a_time() -> None:
    tf_serving, vllm = (config_sources(example.targets) for example in EXAMPLES)
    assert {alert: keys for alert, keys in tf_serving.items() if keys} == {
        "ModelNotAvailable": {"modelName": ["label model_name", "summary"]},
        "ServingReplicaDown": {"modelName": ["label model_name"]},
        "ModelLoadFailed": {"modelName": ["label model_name"]},
        "ModelLatencyP99High": {"latencyObjectiveMs": ["expression", "summary", "description"]},
    }
    assert {alert: keys for alert, keys in vllm.items() if keys} == {
        "ModelNotAvailable": {"modelName": ["label model_name", "summary"]},
        "ServingReplicaDown": {"modelName": ["label model_name"]},
        "TimeToFirstTokenP99High": {"latencyObjectiveMs": ["expression", "summary", "description"]},
        "RequestsWaitingHigh": {"maxConcurrentSequences": ["expression", "description"]},
    }


def test_a_text_is_shown_literally_as_a_code_span_whatever_backticks_it_holds() -> None:
    assert code("pod {{ $labels.pod }}") == "`pod {{ $labels.pod }}`"
    assert code("Check `kubectl get pods` now") == "``Check `kubectl get pods` now``"
    assert code("`kubectl` ``x``") == "``` `kubectl` ``x`` ```"
