"""Monitoring as data: every PromQL expression (rules, alerts, dashboard) parses with a real PromQL parser
(promql-parser, the Rust parser of GreptimeTeam, compatible with Prometheus 2.45) and names only metrics
the exporters emit (`EXPORTED_METRICS`) or the recording rules write; the scrape configuration keeps to
what the managed collector accepts; the alert manager definition is what AMP asks for."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from components.cluster import VPC_CIDR
from components.monitoring import SCRAPER_SUBNET_CIDRS, query_endpoint, sns_topic_policy
from eks_inferentia.metrics import (
    EXPORTED_METRICS,
    RECORDED_METRICS,
    SCRAPE_INTERVAL_SECONDS,
    VLLM_RECORDED_METRICS,
    RuleTargets,
    alert_rules,
    alertmanager_definition,
    recording_rules,
    rule_expressions,
    rules_yaml,
    scaling_query,
    scrape_configuration,
)

DASHBOARD = Path(__file__).resolve().parent.parent / "dashboards" / "inference.json"
TARGETS = RuleTargets(model_name="resnet50_neuron", latency_objective_ms=100)
VLLM_TARGETS = RuleTargets(model_name="llama-3.1-8b", latency_objective_ms=2000, runtime="vllm",
                           max_concurrent_sequences=8)
KNOWN = set(EXPORTED_METRICS) | set(RECORDED_METRICS) | set(VLLM_RECORDED_METRICS)
# Grafana's global variables, replaced as Grafana would before the query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "2m", "$__interval": "1m", "$__range": "3h"}


def metric_names(query: str) -> set[str]:
    """Every metric a query selects: vector selectors' names and `__name__` matchers."""
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            names.update(m.value for m in node.matchers.matchers if m.name == "__name__")

    promql_parser.walk(promql_parser.parse(query), pre_visit=visit)
    return names


def unknown_metrics(query: str) -> set[str]:
    return metric_names(query) - KNOWN


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = []
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            query = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                query = query.replace(variable, value)
            assert "$" not in query, f"an unsubstituted variable in {target['expr']!r}"
            queries.append(query)
    return queries


@pytest.mark.parametrize("query", rule_expressions(TARGETS) + rule_expressions(VLLM_TARGETS) + dashboard_queries()
                         + [scaling_query(runtime, "m", "inference") for runtime in ("tensorflow-serving", "vllm")])
def test_every_expression_parses_and_names_only_exported_metrics(query: str) -> None:
    assert metric_names(query), query
    assert unknown_metrics(query) == set(), query


def test_the_check_catches_an_unknown_metric_a_name_matcher_and_a_syntax_error() -> None:
    assert unknown_metrics("rate(:tensorflow:serving:request_count_total[5m])") == {
        ":tensorflow:serving:request_count_total"}
    assert unknown_metrics('{__name__="neuroncore_utilisation_ratio"}') == {"neuroncore_utilisation_ratio"}
    assert unknown_metrics('sum(rate(hardware_ecc_events_total{event_type="x"}[5m]))') == set()
    for broken in ("sum(rate(up[5m])", "rate(up)", "histogram_quantile(0.99, sum by (le) (rate(up[5x])))"):
        with pytest.raises(ValueError):
            metric_names(broken)


def test_rules_file_has_the_recording_rules_and_every_alert_has_a_for_window() -> None:
    groups = yaml.safe_load(rules_yaml(TARGETS))["groups"]
    assert [g["name"] for g in groups] == ["eks-inferentia-recording", "eks-inferentia-alerts"]
    assert [r["record"] for r in groups[0]["rules"]] == list(RECORDED_METRICS)
    alerts = {r["alert"]: r for r in groups[1]["rules"]}
    assert {"ModelNotAvailable", "ModelErrorRatioHigh", "ModelLatencyP99High", "NeuronCoreUtilizationHigh",
            "NeuronDeviceUncorrectedEccError"} <= set(alerts)
    for alert in alerts.values():
        assert re.fullmatch(r"\d+m", alert["for"]), alert
        assert alert["labels"]["severity"] in ("critical", "warning")
        assert alert["annotations"]["summary"] and alert["annotations"]["description"]
    assert alerts["NeuronCoreUtilizationHigh"]["for"] == "15m"
    assert alerts["NeuronCoreUtilizationHigh"]["expr"].endswith("> 0.9")
    assert alerts["ModelErrorRatioHigh"]["expr"].endswith("> 0.01")


def test_latency_is_converted_from_microseconds_and_the_objective_from_milliseconds() -> None:
    # Prediction calls only: the probes (API="") left out; microseconds / 1e6 are seconds.
    bucket = ':tensorflow:serving:request_latency_bucket{API=~"predict|classify|regress|Predict|Classify|Regress"}'
    latency = {r["record"]: r["expr"] for r in recording_rules("tensorflow-serving") if "latency" in r["record"]}
    assert latency == {
        "model:tfs_request_latency_seconds:p50_5m": f"histogram_quantile(0.5, sum by (le, model_name) (rate({bucket}[5m]))) / 1e6",
        "model:tfs_request_latency_seconds:p99_5m": f"histogram_quantile(0.99, sum by (le, model_name) (rate({bucket}[5m]))) / 1e6",
    }
    alert = next(a for a in alert_rules(RuleTargets("m", 250)) if a["alert"] == "ModelLatencyP99High")
    assert alert["expr"].endswith("> 0.25")
    assert "250 ms" in alert["annotations"]["summary"]


def test_scrape_configuration_keeps_to_what_the_managed_collector_accepts() -> None:
    config = yaml.safe_load(scrape_configuration("inferentia-dev", "inference", "neuron-monitor", "tensorflow-serving"))
    assert set(config) == {"global", "scrape_configs"}
    assert int(config["global"]["scrape_interval"].removesuffix("s")) >= 30 == SCRAPE_INTERVAL_SECONDS
    allowed_job_keys = {"job_name", "kubernetes_sd_configs", "relabel_configs", "metric_relabel_configs",
                        "static_configs", "scrape_interval", "metrics_path", "honor_labels"}
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"tensorflow-serving", "neuron-monitor"}
    for job in jobs.values():
        assert set(job) <= allowed_job_keys
        assert job["kubernetes_sd_configs"][0]["role"] == "pod"
        targets = {r.get("target_label") for r in job["relabel_configs"]}
        assert {"__metrics_path__", "namespace", "pod", "node"} <= targets
        assert not any(r.get("action") == "replace" and r.get("target_label") == "__address__"
                       for r in job["relabel_configs"])  # the container port's own address is kept
    assert jobs["tensorflow-serving"]["kubernetes_sd_configs"][0]["namespaces"] == {"names": ["inference"]}
    ports = {job: next(r["regex"] for r in jobs[job]["relabel_configs"]
                       if r["source_labels"] == ["__meta_kubernetes_pod_container_port_name"]) for job in jobs}
    assert ports == {"tensorflow-serving": "http", "neuron-monitor": "metrics"}


def test_alert_manager_definition_is_a_block_string_with_an_sns_receiver() -> None:
    # The longest topic name SNS allows (256 characters): its line is written whole, as every other.
    topic_arn = "arn:aws:sns:ap-southeast-2:123456789012:" + "alerts-" * 36 + "abcd"
    definition = alertmanager_definition(topic_arn, "ap-southeast-2")
    assert definition == (
        "alertmanager_config: |\n"
        "  route:\n"
        "    receiver: sns\n"
        "    group_by:\n"
        "    - alertname\n"
        "    - model_name\n"
        "    - node\n"
        "    group_wait: 30s\n"
        "    group_interval: 5m\n"
        "    repeat_interval: 4h\n"  # AMP allows at most five days
        "  receivers:\n"
        "  - name: sns\n"
        "    sns_configs:\n"
        f"    - topic_arn: {topic_arn}\n"
        "      sigv4:\n"  # SNS receivers need sigv4.region, and no api_url or http_config
        "        region: ap-southeast-2\n"
        "      subject: '{{ .Status }}: {{ .CommonLabels.alertname }}'\n")
    inner = yaml.safe_load(yaml.safe_load(definition)["alertmanager_config"])
    assert inner["route"]["group_by"] == ["alertname", "model_name", "node"]
    assert inner["receivers"][0]["sns_configs"][0]["topic_arn"] == topic_arn


def test_topic_policy_lets_only_this_workspace_of_this_account_publish() -> None:
    policy = json.loads(sns_topic_policy("arn:aws:sns:us-west-2:1:t", "arn:aws:aps:us-west-2:1:workspace/ws-1", "1",
                                         "us-west-2"))
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "aps.amazonaws.com"}
    assert statement["Action"] == ["sns:Publish", "sns:GetTopicAttributes"]
    assert statement["Resource"] == "arn:aws:sns:us-west-2:1:t"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": "arn:aws:aps:us-west-2:1:workspace/ws-1"},
                                      "StringEquals": {"AWS:SourceAccount": "1"}}
    opt_in = json.loads(sns_topic_policy("t", "w", "1", "af-south-1"))
    assert opt_in["Statement"][0]["Principal"] == {"Service": "af-south-1.aps.amazonaws.com"}


def test_query_endpoint_appends_the_query_path_to_the_workspace_endpoint() -> None:
    assert query_endpoint("https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-1/") == \
        "https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-1/api/v1/query"


def _awsx_legacy_layout(zones: int) -> list[ipaddress.IPv4Network]:
    """awsx's default ("Legacy") allocation of this VPC's specs: private /19s for every zone, then public
    /20s, packed from the bottom of the range (SubnetAllocationStrategy.LEGACY's docstring)."""
    vpc = ipaddress.IPv4Network(VPC_CIDR)
    cursor, subnets = int(vpc.network_address), []
    for prefix in [19] * zones + [20] * zones:
        size = 2 ** (32 - prefix)
        cursor = -(-cursor // size) * size
        subnets.append(ipaddress.IPv4Network(f"{ipaddress.IPv4Address(cursor)}/{prefix}"))
        cursor += size
    return subnets


@pytest.mark.parametrize("zones", [2, 3, 4, 5])
def test_the_collector_subnets_sit_in_the_vpc_outside_every_awsx_subnet(zones: int) -> None:
    vpc = ipaddress.IPv4Network(VPC_CIDR)
    scraper = [ipaddress.IPv4Network(c) for c in SCRAPER_SUBNET_CIDRS]
    assert all(s.subnet_of(vpc) for s in scraper) and not scraper[0].overlaps(scraper[1])
    for subnet in _awsx_legacy_layout(zones):
        assert subnet.subnet_of(vpc)
        assert not any(subnet.overlaps(s) for s in scraper), (zones, subnet)


def test_dashboard_imports_anywhere_through_its_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    (variable,) = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
    assert variable["name"] == "datasource" and variable["query"] == "prometheus"
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for wanted in ("request rate", "error ratio", "p50 / p90 / p99", "replicas", "neuroncore utilisation",
                   "device memory", "model load"):
        assert wanted in titles
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"] and all(t["datasource"] == panel["datasource"] for t in panel["targets"])


def test_under_vllm_the_rules_record_ttft_tokens_queue_and_kv_cache_and_alert_on_them() -> None:
    groups = yaml.safe_load(rules_yaml(VLLM_TARGETS))["groups"]
    assert [r["record"] for r in groups[0]["rules"]] == list(VLLM_RECORDED_METRICS)
    alerts = {r["alert"]: r for r in groups[1]["rules"]}
    assert list(alerts) == ["ModelNotAvailable", "ServingReplicaDown", "TimeToFirstTokenP99High", "RequestsWaitingHigh",
                            "KVCacheFull", "NeuronCoreUtilizationHigh", "NeuronDeviceUncorrectedEccError",
                            "NeuronHardwareExecutionErrors"]
    assert alerts["ModelNotAvailable"]["expr"] == 'sum(up{job="vllm"}) == 0 or absent(up{job="vllm"})'
    assert alerts["TimeToFirstTokenP99High"]["expr"] == "model:vllm_time_to_first_token_seconds:p99_5m > 2.0"
    assert "2000 ms" in alerts["TimeToFirstTokenP99High"]["annotations"]["summary"]
    # One pod's own queue, not the model's total (which grows with the replica count under autoscaling).
    assert alerts["RequestsWaitingHigh"]["expr"] == 'max by (model_name) (vllm:num_requests_waiting{job="vllm"}) > 8'
    assert alerts["KVCacheFull"]["expr"] == "model:vllm_kv_cache_usage:max > 0.95"
    for alert in alerts.values():
        assert re.fullmatch(r"\d+m", alert["for"]), alert
    # TensorFlow Serving's rules are untouched by the runtime field's default.
    assert rules_yaml(TARGETS) == rules_yaml(RuleTargets("resnet50_neuron", 100, runtime="tensorflow-serving"))
    ttft = 'sum by (le, model_name) (rate(vllm:time_to_first_token_seconds_bucket{job="vllm"}[5m]))'
    assert recording_rules("vllm") == [
        {"record": "model:vllm_time_to_first_token_seconds:p50_5m", "expr": f"histogram_quantile(0.5, {ttft})"},
        {"record": "model:vllm_time_to_first_token_seconds:p99_5m", "expr": f"histogram_quantile(0.99, {ttft})"},
        {"record": "model:vllm_generation_tokens:rate5m",
         "expr": 'sum by (model_name) (rate(vllm:generation_tokens_total{job="vllm"}[5m]))'},
        {"record": "model:vllm_requests_waiting:sum", "expr": 'sum by (model_name) (vllm:num_requests_waiting{job="vllm"})'},
        {"record": "model:vllm_kv_cache_usage:max", "expr": 'max by (model_name) (vllm:kv_cache_usage_perc{job="vllm"})'},
        {"record": "node:neuroncore_utilization:avg",
         "expr": 'avg by (node, instance_id, instance_type) (neuroncore_utilization_ratio{job="neuron-monitor"})'},
    ]


def test_under_vllm_the_collector_scrapes_the_vllm_pods_metrics_on_their_http_port() -> None:
    config = yaml.safe_load(scrape_configuration("inferentia-dev", "inference", "neuron-monitor", "vllm"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"vllm", "neuron-monitor"}
    keep = {tuple(r["source_labels"]): r["regex"] for r in jobs["vllm"]["relabel_configs"] if r["action"] == "keep"}
    assert keep == {("__meta_kubernetes_pod_label_app_kubernetes_io_name",): "vllm",
                    ("__meta_kubernetes_pod_annotation_prometheus_io_scrape",): "true",
                    ("__meta_kubernetes_pod_phase",): "Running",
                    ("__meta_kubernetes_pod_container_port_name",): "http"}
    assert jobs["vllm"]["kubernetes_sd_configs"][0]["namespaces"] == {"names": ["inference"]}


# Prometheus' relabelling (prometheus/model/relabel/relabel.go) and the Kubernetes pod role's target labels
# (prometheus/discovery/kubernetes/pod.go), enough to run the collector's configuration against pods.
RELABEL_FIELDS = {"source_labels", "separator", "regex", "target_label", "replacement", "action"}


def _sanitize(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def _pod_targets(pod: dict[str, Any]) -> list[dict[str, str]]:
    """One target per container port, labelled as the pod role labels it."""
    meta = "__meta_kubernetes_pod_"
    common = {"__meta_kubernetes_namespace": pod["namespace"], f"{meta}name": pod["name"],
              f"{meta}node_name": pod["node"], f"{meta}phase": pod["phase"], f"{meta}ip": pod["ip"],
              **{f"{meta}label_{_sanitize(k)}": v for k, v in pod["labels"].items()},
              **{f"{meta}annotation_{_sanitize(k)}": v for k, v in pod["annotations"].items()}}
    return [{**common, "__address__": f"{pod['ip']}:{port}", f"{meta}container_port_name": name,
             f"{meta}container_port_number": str(port)} for name, port in pod["ports"].items()]


def _relabel(labels: dict[str, str], configs: list[dict[str, Any]]) -> dict[str, str] | None:
    """The labels after `configs`, or None when a rule drops the target. Prometheus loads its configuration
    strictly: an unknown field or action is an error, not ignored."""
    labels = dict(labels)
    for config in configs:
        assert set(config) <= RELABEL_FIELDS, f"unknown relabel field(s) {set(config) - RELABEL_FIELDS}"
        action = config.get("action", "replace")
        assert action in {"keep", "drop", "replace"}, f"unknown relabel action {action!r}"
        value = config.get("separator", ";").join(labels.get(name, "") for name in config.get("source_labels", []))
        match = re.fullmatch(config.get("regex", "(.*)"), value)
        if (action == "keep" and not match) or (action == "drop" and match):
            return None
        if action == "replace" and match:
            result = match.expand(re.sub(r"\$(\d+)", r"\\\1", config.get("replacement", "$1")))
            if result:
                labels[config["target_label"]] = result
            else:
                labels.pop(config["target_label"], None)
    return labels


def _scraped(configuration: str, pods: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """Per job, the targets the collector scrapes among `pods`, with their labels (meta labels dropped)."""
    scraped: dict[str, list[dict[str, str]]] = {}
    for job in yaml.safe_load(configuration)["scrape_configs"]:
        (discovery,) = job["kubernetes_sd_configs"]
        assert discovery["role"] == "pod"
        namespaces = discovery["namespaces"]["names"]
        for pod in pods:
            if pod["namespace"] not in namespaces:
                continue
            for target in _pod_targets(pod):
                start = {**target, "job": job["job_name"], "__metrics_path__": job.get("metrics_path", "/metrics"),
                         "__scheme__": "http"}
                labels = _relabel(start, job["relabel_configs"])
                if labels is not None:
                    scraped.setdefault(job["job_name"], []).append(
                        {k: v for k, v in labels.items() if not k.startswith("__meta_")})
    return scraped


def _pod(name: str, namespace: str, app: str, ports: dict[str, int], path: str, phase: str = "Running",
         scrape: str = "true") -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "node": f"node-of-{name}", "phase": phase, "ip": f"10.0.{len(name)}.9",
            "labels": {"app.kubernetes.io/name": app, "pod-template-hash": "5d8f"},
            "annotations": {"prometheus.io/scrape": scrape, "prometheus.io/path": path}, "ports": ports}


@pytest.mark.parametrize("runtime", ["tensorflow-serving", "vllm"])
def test_the_collector_scrapes_exactly_each_running_pods_metrics_port_at_its_annotated_path(runtime: str) -> None:
    serving_app, serving_ports, serving_path = (
        ("vllm", {"http": 8000}, "/metrics") if runtime == "vllm" else
        ("tensorflow-serving", {"http": 9000, "grpc": 8500}, "/monitoring/prometheus/metrics"))
    pods = [
        _pod("serving-a", "inference", serving_app, serving_ports, serving_path),
        _pod("serving-pending", "inference", serving_app, serving_ports, serving_path, phase="Pending"),
        _pod("serving-elsewhere", "other", serving_app, serving_ports, serving_path),
        _pod("serving-unannotated", "inference", serving_app, serving_ports, serving_path, scrape="false"),
        _pod("smoke-test", "inference", "smoke-test", {"http": 8080}, "/metrics"),
        _pod("monitor-a", "neuron-monitor", "neuron-monitor", {"metrics": 8000}, "/metrics"),
        _pod("monitor-in-serving-namespace", "inference", "neuron-monitor", {"metrics": 8000}, "/metrics"),
    ]
    configuration = scrape_configuration("inferentia-dev", "inference", "neuron-monitor", runtime)
    assert yaml.safe_load(configuration)["global"] == {"scrape_interval": "30s",
                                                       "external_labels": {"cluster": "inferentia-dev"}}
    serving_port = serving_ports["http"]
    assert _scraped(configuration, pods) == {
        "vllm" if runtime == "vllm" else "tensorflow-serving": [
            {"__address__": f"10.0.9.9:{serving_port}", "__metrics_path__": serving_path, "__scheme__": "http",
             "job": "vllm" if runtime == "vllm" else "tensorflow-serving",
             "namespace": "inference", "pod": "serving-a", "node": "node-of-serving-a"}],
        "neuron-monitor": [
            {"__address__": "10.0.9.9:8000", "__metrics_path__": "/metrics", "__scheme__": "http",
             "job": "neuron-monitor", "namespace": "neuron-monitor", "pod": "monitor-a", "node": "node-of-monitor-a"}],
    }


def test_the_relabel_simulation_refuses_what_prometheus_refuses() -> None:
    target = {"a": "x"}
    with pytest.raises(AssertionError, match="unknown relabel field"):
        _relabel(target, [{"SOURCE_LABELS": ["a"], "regex": "x", "action": "keep"}])
    with pytest.raises(AssertionError, match="unknown relabel action 'REPLACE'"):
        _relabel(target, [{"source_labels": ["a"], "target_label": "b", "action": "REPLACE"}])
    assert _relabel(target, [{"source_labels": ["a"], "regex": "(.+)", "target_label": "b"}]) == {"a": "x", "b": "x"}
    assert _relabel(target, [{"source_labels": ["missing"], "regex": "(.+)", "target_label": "a"}]) == target
    assert _relabel(target, [{"source_labels": ["a"], "regex": "x.", "action": "keep"}]) is None


def test_the_scrape_configuration_text_is_stable_because_any_change_replaces_the_collector() -> None:
    # aws.amp.Scraper's scrapeConfiguration forces a replacement (about 20 minutes without scrapes): the text,
    # not just its meaning, is the contract, key order included.
    text = scrape_configuration("inferentia-dev", "inference", "neuron-monitor", "tensorflow-serving")
    assert text.startswith("global:\n  scrape_interval: 30s\n  external_labels:\n    cluster: inferentia-dev\n"
                           "scrape_configs:\n- job_name: tensorflow-serving\n  kubernetes_sd_configs:\n  - role: pod\n")
    assert "  - source_labels:\n    - __meta_kubernetes_pod_label_app_kubernetes_io_name\n    regex: tensorflow-serving\n" \
           "    action: keep\n" in text


def test_autoscaling_under_vllm_scales_on_requests_waiting_not_request_rate() -> None:
    # job and namespace as the vllm scrape job writes them; model_name is vLLM's own label, the served model name.
    assert scaling_query("vllm", "llama-3.1-8b", "inference") == (
        'sum(vllm:num_requests_waiting{job="vllm",namespace="inference",model_name="llama-3.1-8b"}) or vector(0)')
    assert scaling_query("tensorflow-serving", "rn50", "inference") == (
        'sum(rate(:tensorflow:serving:request_latency_count{job="tensorflow-serving",namespace="inference",'
        'model_name="rn50",API=~"predict|classify|regress|Predict|Classify|Regress"}[2m])) or vector(0)')


def test_the_dashboard_shows_vllms_time_to_first_token_tokens_per_second_queue_and_kv_cache() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    vllm = {p["title"]: {metric for t in p["targets"] for metric in metric_names(
        t["expr"].replace("$__rate_interval", "2m"))} for p in dashboard["panels"] if p["title"].startswith("vLLM")}
    assert vllm == {
        "vLLM: time to first token p50 / p99, time per output token p50": {
            "vllm:time_to_first_token_seconds_bucket", "vllm:time_per_output_token_seconds_bucket"},
        "vLLM: tokens per second (output, prompt)": {"vllm:generation_tokens_total", "vllm:prompt_tokens_total"},
        "vLLM: requests waiting / running": {"vllm:num_requests_waiting", "vllm:num_requests_running"},
        "vLLM: KV-cache use per pod": {"vllm:kv_cache_usage_perc"},
    }
