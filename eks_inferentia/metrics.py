"""Monitoring as data: the metrics the exporters emit, the managed collector's scrape configuration,
the recording and alerting rules, and the alert manager definition.

Plain Python and YAML, no Pulumi resources (those are in `components/monitoring.py` and
`components/neuron_monitor.py`), so every piece is unit-tested offline; the tests parse every
PromQL expression here and in `dashboards/inference.json` with a real PromQL parser and check that
each metric it names is in `EXPORTED_METRICS`.

Sources (docs/monitoring-facts.md has the details):
- TensorFlow Serving 2.10.1's Prometheus exporter, tensorflow/serving @ 2e2e3e5:
  `tensorflow_serving/util/prometheus_exporter.cc` (every character outside [a-zA-Z0-9_] of a
  metric's name becomes ':', so `/tensorflow/serving/request_count` is exported as
  `:tensorflow:serving:request_count`; counters get no `_total`; samplers are histograms),
  `tensorflow_serving/servables/tensorflow/util.cc` (the serving metrics, latencies in
  microseconds) and TensorFlow's `tensorflow/cc/saved_model/loader.cc` (load attempts).
- neuron-monitor's Prometheus exporter (`neuron-monitor-prometheus.py`, a prometheus_client
  program): a real scrape on inf1.xlarge, DataDog/integrations-core
  `aws_neuron/tests/fixtures/aws_neuron_metrics.txt` @ 951b4d9.
- vLLM's Prometheus metrics (servingRuntime `vllm`), from its V1 engine's `PrometheusStatLogger`
  (`vllm/v1/metrics/loggers.py`; prometheus_client adds `_total` to counters and `_bucket`/`_sum`/`_count`
  to histograms; labels `model_name` (the served model name) and `engine`). Read at vllm-project/vllm
  @ 005a810 (a 0.10-era tree, the one stored here); the pinned image runs vLLM 0.16.0, whose tree was not
  at hand. Every name used here is in that tree and still in vLLM's current metrics tests
  (`vllm:kv_cache_usage_perc`, the name since `vllm:gpu_cache_usage_perc` was deprecated, in both); the
  vLLM Neuron plugin serves them from vLLM's own frontend, unchanged.
- `up`: written by the scraper itself for every target (Prometheus, "Jobs and instances").
- The managed collector's limits: AMP user guide, "AMP-collector-how-to", "Scraper configuration"
  (only kubernetes_sd_configs; sections global, scrape_config, static_config, relabel_config,
  metric_relabel_configs, kubernetes_sd_config; no scrape interval under 30 seconds).
- The alert manager definition: AMP user guide "AMP-alertmanager-config" and
  "AMP-alertmanager-receiver-config" (the config is a block string under `alertmanager_config`,
  SNS receivers need `sigv4.region`, no `api_url`, `repeat_interval` at most five days).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from textwrap import indent
from typing import Any

import yaml

TF_SERVING = "TensorFlow Serving 2.10.1 (tensorflow_serving/servables/tensorflow/util.cc @ 2e2e3e5)"
TF_LOADER = "TensorFlow SavedModel loader (tensorflow/cc/saved_model/loader.cc)"
NEURON_MONITOR = "neuron-monitor-prometheus.py (DataDog/integrations-core aws_neuron fixture @ 951b4d9)"
VLLM = "vLLM V1 PrometheusStatLogger (vllm/v1/metrics/loggers.py @ 005a810; image vLLM 0.16.0)"
PROMETHEUS = "the scraper itself (Prometheus 'Jobs and instances': up per target)"

# Every metric a rule, an alert or the dashboard may name, with the exporter that emits it.
EXPORTED_METRICS: Mapping[str, str] = {
    ":tensorflow:serving:request_count": TF_SERVING,  # counter; labels model_name, status
    ":tensorflow:serving:request_latency_bucket": TF_SERVING,  # histogram, µs; model_name, API, entrypoint
    ":tensorflow:serving:request_latency_sum": TF_SERVING,
    ":tensorflow:serving:request_latency_count": TF_SERVING,
    ":tensorflow:serving:runtime_latency_bucket": TF_SERVING,  # histogram, µs; model_name, API, runtime
    ":tensorflow:serving:runtime_latency_sum": TF_SERVING,
    ":tensorflow:serving:runtime_latency_count": TF_SERVING,
    ":tensorflow:cc:saved_model:load_attempt_count": TF_LOADER,  # counter; model_path, status (success|fail)
    ":tensorflow:cc:saved_model:load_latency": TF_LOADER,  # counter, µs; model_path
    "neuroncore_utilization_ratio": NEURON_MONITOR,  # gauge 0-1; neuroncore, runtime_tag, instance labels
    "neuron_runtime_memory_used_bytes": NEURON_MONITOR,  # gauge; memory_location (host|neuron_device)
    "neuron_hardware_info": NEURON_MONITOR,  # gauge 1; neuron_device_count, neuron_device_memory_size
    "hardware_ecc_events_total": NEURON_MONITOR,  # counter; event_type (mem|sram _ecc_ corrected|uncorrected)
    "execution_errors_total": NEURON_MONITOR,  # counter; error_type (generic, numerical, ..., hardware)
    "execution_latency_seconds": NEURON_MONITOR,  # gauge per percentile (p0..p100), not a histogram
    "instance_info": NEURON_MONITOR,  # gauge 1; instance labels
    "vllm:time_to_first_token_seconds_bucket": VLLM,  # histogram, s; model_name, engine
    "vllm:time_to_first_token_seconds_sum": VLLM,
    "vllm:time_to_first_token_seconds_count": VLLM,
    "vllm:time_per_output_token_seconds_bucket": VLLM,  # histogram, s: the time between two output tokens
    "vllm:e2e_request_latency_seconds_bucket": VLLM,  # histogram, s
    "vllm:generation_tokens_total": VLLM,  # counter: output tokens
    "vllm:prompt_tokens_total": VLLM,  # counter: prompt (prefill) tokens
    "vllm:request_success_total": VLLM,  # counter; finished_reason (stop, length, abort)
    "vllm:num_requests_running": VLLM,  # gauge: sequences on the NeuronCores now
    "vllm:num_requests_waiting": VLLM,  # gauge: requests in vLLM's queue (the scaling signal)
    "vllm:kv_cache_usage_perc": VLLM,  # gauge 0-1: share of the KV-cache blocks in use
    "up": PROMETHEUS,
}

SERVING_JOB = "tensorflow-serving"
NEURON_MONITOR_JOB = "neuron-monitor"
VLLM_JOB = "vllm"
VLLM_APP_NAME = "vllm"  # the vLLM pods' app.kubernetes.io/name (components/vllm_serving.py)
NEURON_MONITOR_PORT = 8000
NEURON_MONITOR_PORT_NAME = "metrics"
SERVING_METRICS_PORT_NAME = "http"  # the serving container's REST port (components/serving.py)
# The collector's floor; every sample costs money, and alert windows are minutes long.
SCRAPE_INTERVAL_SECONDS = 30
# neuron-monitor's requests on every Neuron node (the official manifest's values).
NEURON_MONITOR_CPU_REQUEST = "256m"
NEURON_MONITOR_MEMORY_REQUEST = "128Mi"
NEURON_MONITOR_CPU_LIMIT = "500m"
NEURON_MONITOR_MEMORY_LIMIT = "256Mi"

# Prediction calls only: REST `predict|classify|regress` (http_server.cc), gRPC `Predict|...`
# (prediction_service_impl.cc). The probes' `GET /v1/models/<model>` is recorded with API="".
PREDICT_APIS = "predict|classify|regress|Predict|Classify|Regress"

# Recording rules: names follow Prometheus' level:metric:operations convention.
REQUEST_RATE = "model:tfs_requests:rate5m"
ERROR_RATIO = "model:tfs_request_errors:ratio_rate5m"
LATENCY_P50 = "model:tfs_request_latency_seconds:p50_5m"
LATENCY_P99 = "model:tfs_request_latency_seconds:p99_5m"
NEURONCORE_UTILIZATION = "node:neuroncore_utilization:avg"
RECORDED_METRICS = (REQUEST_RATE, ERROR_RATIO, LATENCY_P50, LATENCY_P99, NEURONCORE_UTILIZATION)
# Under servingRuntime `vllm`, in place of the TensorFlow Serving ones.
VLLM_TTFT_P50 = "model:vllm_time_to_first_token_seconds:p50_5m"
VLLM_TTFT_P99 = "model:vllm_time_to_first_token_seconds:p99_5m"
VLLM_GENERATION_TOKENS = "model:vllm_generation_tokens:rate5m"
VLLM_REQUESTS_WAITING = "model:vllm_requests_waiting:sum"
VLLM_KV_CACHE_USAGE = "model:vllm_kv_cache_usage:max"
VLLM_RECORDED_METRICS = (VLLM_TTFT_P50, VLLM_TTFT_P99, VLLM_GENERATION_TOKENS, VLLM_REQUESTS_WAITING,
                         VLLM_KV_CACHE_USAGE, NEURONCORE_UTILIZATION)
KV_CACHE_USAGE_THRESHOLD = 0.95

# The autoscaler's signal (components/autoscaling.py): the model's prediction calls a second, all pods together.
# request_count has no API label and counts the probes' model-status calls too (~0.1/s a pod, and more pods
# would mean more "load"), so this counts request_latency's samples: TF Serving records one for each
# successful predict/classify/regress call (REST 200, gRPC OK), never for a probe (API="").
# 2m: four 30 s scrapes, enough for rate() to ride out one missed scrape.
AUTOSCALING_RATE_WINDOW = "2m"

ERROR_RATIO_THRESHOLD = 0.01
NEURONCORE_UTILIZATION_THRESHOLD = 0.9
ALERT_REPEAT_INTERVAL = "4h"


@dataclass(frozen=True)
class RuleTargets:
    """What the rules are about: the serving job's model name (`up` has no model label)."""

    model_name: str
    latency_objective_ms: int
    """p99 prediction latency; under vllm, p99 time to first token."""
    runtime: str = "tensorflow-serving"
    max_concurrent_sequences: int = 8
    """vllm: sequences one pod runs at once; a queue longer than this for long is an alert."""


def _latency_quantile(quantile: float) -> str:
    # TensorFlow Serving records latency in microseconds: / 1e6 gives seconds.
    return (f"histogram_quantile({quantile}, sum by (le, model_name) "
            f"(rate(:tensorflow:serving:request_latency_bucket{{API=~\"{PREDICT_APIS}\"}}[5m]))) / 1e6")


def _neuroncore_rule() -> dict[str, str]:
    return {"record": NEURONCORE_UTILIZATION,
            "expr": f'avg by (node, instance_id, instance_type) (neuroncore_utilization_ratio{{job="{NEURON_MONITOR_JOB}"}})'}


def vllm_recording_rules() -> list[dict[str, str]]:
    def ttft(quantile: float) -> str:
        return (f"histogram_quantile({quantile}, sum by (le, model_name) "
                f'(rate(vllm:time_to_first_token_seconds_bucket{{job="{VLLM_JOB}"}}[5m])))')
    return [
        {"record": VLLM_TTFT_P50, "expr": ttft(0.5)},
        {"record": VLLM_TTFT_P99, "expr": ttft(0.99)},
        {"record": VLLM_GENERATION_TOKENS,
         "expr": f'sum by (model_name) (rate(vllm:generation_tokens_total{{job="{VLLM_JOB}"}}[5m]))'},
        {"record": VLLM_REQUESTS_WAITING,
         "expr": f'sum by (model_name) (vllm:num_requests_waiting{{job="{VLLM_JOB}"}})'},
        {"record": VLLM_KV_CACHE_USAGE,
         "expr": f'max by (model_name) (vllm:kv_cache_usage_perc{{job="{VLLM_JOB}"}})'},
        _neuroncore_rule(),
    ]


def recording_rules(runtime: str) -> list[dict[str, str]]:
    if runtime == "vllm":
        return vllm_recording_rules()
    requests = "sum by (model_name) (rate(:tensorflow:serving:request_count[5m]))"
    errors = 'sum by (model_name) (rate(:tensorflow:serving:request_count{status!="OK"}[5m]))'
    return [
        # Every request REST answers, probes included (~0.1/s per pod: request_count has no API label).
        {"record": REQUEST_RATE, "expr": requests},
        # 0 rather than no series when nothing failed, so the dashboard draws a line.
        {"record": ERROR_RATIO, "expr": f"({errors} or {requests} * 0) / {requests}"},
        {"record": LATENCY_P50, "expr": _latency_quantile(0.5)},
        {"record": LATENCY_P99, "expr": _latency_quantile(0.99)},
        _neuroncore_rule(),
    ]


def _neuron_alerts() -> list[dict[str, Any]]:
    """The Neuron device alerts, whatever serves the model."""
    return [
        {"alert": "NeuronCoreUtilizationHigh",
         "expr": f"{NEURONCORE_UTILIZATION} > {NEURONCORE_UTILIZATION_THRESHOLD}",
         "for": "15m",
         "labels": {"severity": "warning"},
         "annotations": {
             "summary": "NeuronCores of node {{ $labels.node }} above 90% for 15 minutes",
             "description": "NeuronCore utilisation is {{ $value | humanizePercentage }}: requests queue and "
                            "latency grows. Add replicas (and nodes) or spread the load."}},
        {"alert": "NeuronDeviceUncorrectedEccError",
         "expr": 'sum by (node, instance_id, neuron_device_index, event_type) '
                 '(increase(hardware_ecc_events_total{event_type=~".*_uncorrected"}[10m])) > 0',
         "for": "1m",
         "labels": {"severity": "critical"},
         "annotations": {
             "summary": "Uncorrected ECC error on Neuron device {{ $labels.neuron_device_index }} of {{ $labels.node }}",
             "description": "The device's memory returned corrupt data ({{ $labels.event_type }}); its results "
                            "cannot be trusted. Cordon and drain the node, then replace the instance."}},
        {"alert": "NeuronHardwareExecutionErrors",
         "expr": 'sum by (node, instance_id) (increase(execution_errors_total{error_type="hardware"}[10m])) > 0',
         "for": "1m",
         "labels": {"severity": "warning"},
         "annotations": {
             "summary": "Neuron hardware execution errors on {{ $labels.node }}",
             "description": "The Neuron runtime reported hardware errors while running the model; if they "
                            "continue, drain the node and replace the instance."}},
    ]


def vllm_alert_rules(targets: RuleTargets) -> list[dict[str, Any]]:
    objective_seconds = targets.latency_objective_ms / 1000
    serving_up = f'up{{job="{VLLM_JOB}"}}'
    return [
        {"alert": "ModelNotAvailable",
         # vLLM's HTTP server, which serves /metrics, starts once the model is loaded (and compiled).
         "expr": f"sum({serving_up}) == 0 or absent({serving_up})",
         "for": "5m",
         "labels": {"severity": "critical", "model_name": targets.model_name},
         "annotations": {
             "summary": f"No vLLM pod answers for model {targets.model_name}",
             "description": "No vLLM pod has answered the collector for 5 minutes: the model is not being served "
                            "(a pod compiling the model answers only when it is done). Check `kubectl get pods` in "
                            "the serving namespace and the pods' events and logs."}},
        {"alert": "ServingReplicaDown",
         "expr": f"{serving_up} == 0",
         "for": "10m",
         "labels": {"severity": "warning", "model_name": targets.model_name},
         "annotations": {
             "summary": "vLLM pod {{ $labels.pod }} does not answer",
             "description": "Pod {{ $labels.pod }} on node {{ $labels.node }} has not answered for 10 minutes; "
                            "the other replicas carry its traffic."}},
        {"alert": "TimeToFirstTokenP99High",
         "expr": f"{VLLM_TTFT_P99} > {objective_seconds}",
         "for": "10m",
         "labels": {"severity": "warning"},
         "annotations": {
             "summary": f"p99 time to first token of {{{{ $labels.model_name }}}} above {targets.latency_objective_ms} ms",
             "description": "p99 time to first token is {{ $value | humanizeDuration }} over 10 minutes, above the "
                            f"objective of {targets.latency_objective_ms} ms (latencyObjectiveMs). Requests waiting "
                            "in vLLM's queue want more replicas; long prompts want a larger tensorParallelSize."}},
        # Per pod: the model's total queue grows with the replica count under autoscaling (each pod held at
        # targetRequestsWaiting), so only one pod's own queue above a whole batch says the pods are too few.
        {"alert": "RequestsWaitingHigh",
         "expr": f'max by (model_name) (vllm:num_requests_waiting{{job="{VLLM_JOB}"}}) > {targets.max_concurrent_sequences}',
         "for": "10m",
         "labels": {"severity": "warning"},
         "annotations": {
             "summary": "A pod of {{ $labels.model_name }} has more requests waiting than it runs at once",
             "description": "One pod's vLLM queue has held more than maxConcurrentSequences "
                            f"({targets.max_concurrent_sequences}) requests for 10 minutes ({{{{ $value }}}} now). "
                            "Add replicas (and nodes), or raise maxReplicas."}},
        {"alert": "KVCacheFull",
         "expr": f"{VLLM_KV_CACHE_USAGE} > {KV_CACHE_USAGE_THRESHOLD}",
         "for": "15m",
         "labels": {"severity": "warning"},
         "annotations": {
             "summary": "The KV cache of a {{ $labels.model_name }} pod is more than 95% used",
             "description": "Every sequence slot of a pod has been taken for 15 minutes, so new requests wait; "
                            "add replicas, or raise maxConcurrentSequences if the NeuronCores have room."}},
        *_neuron_alerts(),
    ]


def alert_rules(targets: RuleTargets) -> list[dict[str, Any]]:
    if targets.runtime == "vllm":
        return vllm_alert_rules(targets)
    objective_seconds = targets.latency_objective_ms / 1000
    serving_up = f'up{{job="{SERVING_JOB}"}}'
    return [
        {"alert": "ModelNotAvailable",
         # TF Serving 2.10.1 has no per-model availability gauge. Its HTTP server, which serves the
         # metrics, starts only once the model is loaded, so no answering target means no model.
         "expr": f"sum({serving_up}) == 0 or absent({serving_up})",
         "for": "5m",
         "labels": {"severity": "critical", "model_name": targets.model_name},
         "annotations": {
             "summary": f"No TensorFlow Serving pod answers for model {targets.model_name}",
             "description": "No serving pod has answered the collector for 5 minutes: the model is not being "
                            "served. Check `kubectl get pods` in the serving namespace and the pods' events and logs."}},
        {"alert": "ServingReplicaDown",
         "expr": f"{serving_up} == 0",
         "for": "10m",
         "labels": {"severity": "warning", "model_name": targets.model_name},
         "annotations": {
             "summary": "TensorFlow Serving pod {{ $labels.pod }} does not answer",
             "description": "Pod {{ $labels.pod }} on node {{ $labels.node }} has not answered for 10 minutes; "
                            "the other replicas carry its traffic."}},
        {"alert": "ModelLoadFailed",
         "expr": 'sum by (model_path) (increase(:tensorflow:cc:saved_model:load_attempt_count{status="fail"}[15m])) > 0',
         "for": "1m",
         "labels": {"severity": "warning", "model_name": targets.model_name},
         "annotations": {
             "summary": "A model version failed to load: {{ $labels.model_path }}",
             "description": "TensorFlow Serving could not load {{ $labels.model_path }} (wrong compiler for the "
                            "instance family, a corrupt upload, or out of device memory); see the pod's log."}},
        {"alert": "ModelErrorRatioHigh",
         "expr": f"{ERROR_RATIO} > {ERROR_RATIO_THRESHOLD}",
         "for": "10m",
         "labels": {"severity": "warning"},
         "annotations": {
             "summary": "More than 1% of requests to {{ $labels.model_name }} fail",
             "description": "{{ $value | humanizePercentage }} of requests failed over 10 minutes (status is "
                            "not OK). Look at the status label of :tensorflow:serving:request_count; "
                            "INVALID_ARGUMENT is the clients, the others the server."}},
        {"alert": "ModelLatencyP99High",
         "expr": f"{LATENCY_P99} > {objective_seconds}",
         "for": "10m",
         "labels": {"severity": "warning"},
         "annotations": {
             "summary": f"p99 latency of {{{{ $labels.model_name }}}} above {targets.latency_objective_ms} ms",
             "description": "p99 prediction latency is {{ $value | humanizeDuration }} over 10 minutes, above the "
                            f"objective of {targets.latency_objective_ms} ms (latencyObjectiveMs). Check NeuronCore "
                            "utilisation: saturated cores want more replicas or nodes, idle ones batching."}},
        *_neuron_alerts(),
    ]


def rules_yaml(targets: RuleTargets) -> str:
    """The rule group namespace's data: a Prometheus rules file."""
    return yaml.safe_dump({"groups": [
        {"name": "eks-inferentia-recording", "rules": recording_rules(targets.runtime)},
        {"name": "eks-inferentia-alerts", "rules": alert_rules(targets)},
    ]}, sort_keys=False, width=1000)


def rule_expressions(targets: RuleTargets) -> list[str]:
    return [rule["expr"] for rule in [*recording_rules(targets.runtime), *alert_rules(targets)]]


def _pod_job(job: str, namespace: str, app_label: tuple[str, str], port_name: str) -> dict[str, Any]:
    """A pod-role job: pods of `namespace` with `app_label`, annotated `prometheus.io/scrape: "true"`,
    one target per pod on its `port_name` container port, at its `prometheus.io/path`."""
    label, value = app_label
    meta = "__meta_kubernetes_pod_"
    return {
        "job_name": job,
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [namespace]}}],
        "relabel_configs": [
            {"source_labels": [f"{meta}label_{label}"], "regex": value, "action": "keep"},
            {"source_labels": [f"{meta}annotation_prometheus_io_scrape"], "regex": "true", "action": "keep"},
            # Pending pods have no IP; Succeeded/Failed ones serve nothing.
            {"source_labels": [f"{meta}phase"], "regex": "Running", "action": "keep"},
            # The pod role gives one target per container port: keep the metrics port's, and only it.
            {"source_labels": [f"{meta}container_port_name"], "regex": port_name, "action": "keep"},
            {"source_labels": [f"{meta}annotation_prometheus_io_path"], "regex": "(.+)",
             "target_label": "__metrics_path__", "action": "replace"},
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace", "action": "replace"},
            {"source_labels": [f"{meta}name"], "target_label": "pod", "action": "replace"},
            {"source_labels": [f"{meta}node_name"], "target_label": "node", "action": "replace"},
        ],
    }


def scrape_configuration(cluster_name: str, serving_namespace: str, neuron_monitor_namespace: str,
                         runtime: str) -> str:
    """The managed collector's scrape configuration (YAML): the serving pods (TensorFlow Serving's, or vLLM's
    under servingRuntime `vllm`, on their `http` port at `/metrics`) and neuron-monitor."""
    serving = (_pod_job(VLLM_JOB, serving_namespace, ("app_kubernetes_io_name", VLLM_APP_NAME), SERVING_METRICS_PORT_NAME)
               if runtime == "vllm" else
               _pod_job(SERVING_JOB, serving_namespace, ("app_kubernetes_io_name", "tensorflow-serving"),
                        SERVING_METRICS_PORT_NAME))
    return yaml.safe_dump({
        "global": {"scrape_interval": f"{SCRAPE_INTERVAL_SECONDS}s",
                   "external_labels": {"cluster": cluster_name}},
        "scrape_configs": [
            serving,
            _pod_job(NEURON_MONITOR_JOB, neuron_monitor_namespace, ("app_kubernetes_io_name", "neuron-monitor"),
                     NEURON_MONITOR_PORT_NAME),
        ],
    }, sort_keys=False, width=1000)


def scaling_query(runtime: str, model_name: str, namespace: str) -> str:
    """PromQL for KEDA's Prometheus trigger (components/autoscaling.py): the serving Deployment's load, summed over
    its pods in `namespace`, one series; with an `AverageValue` target the HPA divides it by the pods' target.

    TensorFlow Serving: predictions a second to `model_name` (see AUTOSCALING_RATE_WINDOW: request_latency's
    samples, not request_count, which counts the probes too).
    vLLM: requests waiting in vLLM's own queue (`model_name` is vLLM's label, the served model name), not request
    rate: an LLM request's cost varies with its prompt and output lengths a hundredfold, so only the queue says
    the pods are full.

    `or vector(0)`: before the first request (or with no pod answering) the series do not exist and the sum is
    empty, which means no load (KEDA's scaler refuses an empty answer with ignoreNullValues false)."""
    if runtime == "vllm":
        selector = f'job="{VLLM_JOB}",namespace="{namespace}",model_name="{model_name}"'
        return f"sum(vllm:num_requests_waiting{{{selector}}}) or vector(0)"
    selector = (f'job="{SERVING_JOB}",namespace="{namespace}",model_name="{model_name}",API=~"{PREDICT_APIS}"')
    return (f"sum(rate(:tensorflow:serving:request_latency_count{{{selector}}}[{AUTOSCALING_RATE_WINDOW}])) "
            "or vector(0)")


def alertmanager_definition(topic_arn: str, region: str) -> str:
    """The AMP alert manager definition: every alert to the SNS topic, grouped per alert and model or node."""
    config = {
        "route": {
            "receiver": "sns",
            "group_by": ["alertname", "model_name", "node"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": ALERT_REPEAT_INTERVAL,
        },
        "receivers": [{
            "name": "sns",
            "sns_configs": [{
                "topic_arn": topic_arn,
                "sigv4": {"region": region},
                # The default subject can exceed SNS's 100 characters (AMP-alertmanager-receiver-config).
                "subject": "{{ .Status }}: {{ .CommonLabels.alertname }}",
            }],
        }],
    }
    inner = yaml.safe_dump(config, sort_keys=False, width=1000)
    return "alertmanager_config: |\n" + indent(inner, "  ")
