"""Cross-object checks over rendered Kubernetes manifests: every name one object gives for another
resolves, every port a Service or probe names exists, every selector picks the pods it is meant to,
and an autoscaler's scaleTargetRef (and a KEDA trigger's authenticationRef) names an object the stack declares.

Schema validation and checkov read one object at a time, so a Deployment mounting a ConfigMap
that does not exist, a Service whose `targetPort` names no container port, or a NetworkPolicy
whose selector matches nothing all pass them. These checks read the objects together.
`reference_problems(manifests)` returns one line per problem (empty: none).

"Meant to" is read from the labels: an object labelled `app.kubernetes.io/name: X` selects exactly
the workloads whose pods are labelled `app.kubernetes.io/name: X` in its namespace.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
APP_LABEL = "app.kubernetes.io/name"
# Namespaces every cluster has; objects may live there without the stack declaring them.
BUILT_IN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")

Manifest = Mapping[str, Any]


def _label(manifest: Manifest) -> str:
    metadata = manifest.get("metadata") or {}
    return f"{manifest.get('kind')} {metadata.get('namespace', '')}/{metadata.get('name')}".replace(" /", " ")


def pod_template(manifest: Manifest) -> Mapping[str, Any] | None:
    """The pod template of a workload (a CronJob's is one level deeper), or None."""
    if manifest.get("kind") not in WORKLOAD_KINDS:
        return None
    spec = manifest.get("spec") or {}
    if manifest["kind"] == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return spec.get("template") or {}


def _containers(pod_spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from pod_spec.get("initContainers") or []
    yield from pod_spec.get("containers") or []


def _nulls(value: Any, path: str) -> Iterator[str]:
    if value is None:
        yield path
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _nulls(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nulls(item, f"{path}[{index}]")


def _matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


class _Index:
    def __init__(self, manifests: Sequence[Manifest]) -> None:
        self.manifests = manifests
        self.names: set[tuple[str, str, str]] = set()
        self.by_key: dict[tuple[str, str, str], Manifest] = {}
        for manifest in manifests:
            metadata = manifest.get("metadata") or {}
            key = (manifest.get("kind", ""), metadata.get("namespace", ""), metadata.get("name", ""))
            self.names.add(key)
            self.by_key[key] = manifest
        self.namespaces = {name for kind, _, name in self.names if kind == "Namespace"} | set(BUILT_IN_NAMESPACES)

    def has(self, kind: str, namespace: str, name: str) -> bool:
        return (kind, namespace, name) in self.names

    def workloads(self, namespace: str) -> list[Manifest]:
        return [m for m in self.manifests if pod_template(m) is not None
                and (m.get("metadata") or {}).get("namespace") == namespace]


def _pod_references(index: _Index, manifest: Manifest, namespace: str) -> Iterator[str]:
    who = _label(manifest)
    template = pod_template(manifest) or {}
    pod = template.get("spec") or {}
    account = pod.get("serviceAccountName")
    if account and account != "default" and not index.has("ServiceAccount", namespace, account):
        yield f"{who}: serviceAccountName {account!r} is not a ServiceAccount the stack declares in {namespace}"
    volume_names = set()
    for volume in pod.get("volumes") or []:
        volume_names.add(volume.get("name"))
        config_map = volume.get("configMap")
        if config_map is not None:
            yield from _config_map_reference(index, who, namespace, config_map.get("name"),
                                             [item.get("key") for item in config_map.get("items") or []],
                                             optional=bool(config_map.get("optional")), what=f"volume {volume.get('name')!r}")
        secret = volume.get("secret")
        if secret is not None and not secret.get("optional") and not index.has("Secret", namespace, secret.get("secretName")):
            yield f"{who}: volume {volume.get('name')!r} mounts Secret {secret.get('secretName')!r}, which the stack does not declare"
        claim = volume.get("persistentVolumeClaim")
        if claim is not None and not index.has("PersistentVolumeClaim", namespace, claim.get("claimName")):
            yield f"{who}: volume {volume.get('name')!r} claims {claim.get('claimName')!r}, which the stack does not declare"
    for container in _containers(pod):
        name = container.get("name")
        for mount in container.get("volumeMounts") or []:
            if mount.get("name") not in volume_names:
                yield f"{who}: container {name!r} mounts volume {mount.get('name')!r}, which the pod does not have"
        for env in container.get("env") or []:
            source = env.get("valueFrom") or {}
            ref = source.get("configMapKeyRef")
            if ref is not None:
                yield from _config_map_reference(index, who, namespace, ref.get("name"), [ref.get("key")],
                                                 optional=bool(ref.get("optional")), what=f"env {env.get('name')!r}")
            ref = source.get("secretKeyRef")
            if ref is not None and not ref.get("optional") and not index.has("Secret", namespace, ref.get("name")):
                yield f"{who}: env {env.get('name')!r} reads Secret {ref.get('name')!r}, which the stack does not declare"
        for env_from in container.get("envFrom") or []:
            for kind, field in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                ref = env_from.get(field)
                if ref is not None and not ref.get("optional") and not index.has(kind, namespace, ref.get("name")):
                    yield f"{who}: envFrom {kind} {ref.get('name')!r} is not declared by the stack"
        port_names = {port.get("name") for port in container.get("ports") or [] if port.get("name")}
        for probe_name in PROBES:
            probe = container.get(probe_name) or {}
            for handler in ("httpGet", "tcpSocket", "grpc"):
                port = (probe.get(handler) or {}).get("port")
                if isinstance(port, str) and port not in port_names:
                    yield f"{who}: container {name!r} {probe_name} uses port {port!r}, which the container does not name"


def _config_map_reference(index: _Index, who: str, namespace: str, name: str | None, keys: Sequence[str | None],
                          *, optional: bool, what: str) -> Iterator[str]:
    config_map = index.by_key.get(("ConfigMap", namespace, name or ""))
    if config_map is None:
        if not optional:
            yield f"{who}: {what} reads ConfigMap {name!r}, which the stack does not declare in {namespace}"
        return
    data = {**(config_map.get("data") or {}), **(config_map.get("binaryData") or {})}
    for key in keys:
        if key is not None and key not in data:
            yield f"{who}: {what} reads key {key!r} of ConfigMap {name!r}, which has only {sorted(data)}"


def _selected(index: _Index, namespace: str, selector: Mapping[str, str]) -> list[Manifest]:
    return [w for w in index.workloads(namespace)
            if _matches(selector, ((pod_template(w) or {}).get("metadata") or {}).get("labels") or {})]


def _selector_problems(index: _Index, manifest: Manifest, namespace: str, selector: Mapping[str, str] | None,
                       field: str) -> Iterator[str]:
    who = _label(manifest)
    if field == "podSelector" and selector == {}:
        return  # a NetworkPolicy's empty podSelector means every pod of the namespace
    selected = _selected(index, namespace, selector or {})
    if not selected:
        yield f"{who}: {field} {dict(selector or {})} selects no pod the stack declares in {namespace}"
        return
    app = ((manifest.get("metadata") or {}).get("labels") or {}).get(APP_LABEL)
    if app is not None:
        meant = [w for w in index.workloads(namespace)
                 if (((pod_template(w) or {}).get("metadata") or {}).get("labels") or {}).get(APP_LABEL) == app]
        if {_label(w) for w in selected} != {_label(w) for w in meant}:
            yield (f"{who}: {field} selects {sorted(_label(w) for w in selected)}, "
                   f"but its app ({app}) runs in {sorted(_label(w) for w in meant)}")


def _service_problems(index: _Index, service: Manifest, namespace: str) -> Iterator[str]:
    spec = service.get("spec") or {}
    yield from _selector_problems(index, service, namespace, spec.get("selector"), "selector")
    pods = [(pod_template(w) or {}).get("spec") or {} for w in _selected(index, namespace, spec.get("selector") or {})]
    for port in spec.get("ports") or []:
        target = port.get("targetPort", port.get("port"))
        for pod in pods:
            declared = [p for c in pod.get("containers") or [] for p in c.get("ports") or []]
            names = {p.get("name") for p in declared}
            numbers = {p.get("containerPort") for p in declared}
            if (isinstance(target, str) and target not in names) or (isinstance(target, int) and target not in numbers):
                yield f"{_label(service)}: port {port.get('name')!r} targets {target!r}, which no container it selects declares"


def _trigger_authentication_problems(index: _Index, scaled_object: Manifest, namespace: str) -> Iterator[str]:
    """A KEDA trigger's `authenticationRef` names a TriggerAuthentication of its namespace (kind
    `TriggerAuthentication`, the default) or a cluster-scoped ClusterTriggerAuthentication."""
    for number, trigger in enumerate((scaled_object.get("spec") or {}).get("triggers") or []):
        ref = trigger.get("authenticationRef")
        if ref is None:
            continue
        kind = ref.get("kind") or "TriggerAuthentication"
        where = namespace if kind == "TriggerAuthentication" else ""
        if not index.has(kind, where, ref.get("name", "")):
            yield (f"{_label(scaled_object)}: trigger {number} ({trigger.get('type')}) authenticationRef {dict(ref)} is not "
                   f"a {kind} the stack declares{' in ' + namespace if where else ''}")


def reference_problems(manifests: Sequence[Manifest]) -> list[str]:
    """Every dangling name, missing port and mis-aimed selector among `manifests`."""
    index = _Index(manifests)
    problems: list[str] = []
    for manifest in manifests:
        who = _label(manifest)
        problems += [f"{who}: {path} is null" for path in _nulls(manifest, "")]
        kind = manifest.get("kind")
        metadata = manifest.get("metadata") or {}
        namespace = metadata.get("namespace", "")
        if kind != "Namespace" and namespace and namespace not in index.namespaces:
            problems.append(f"{who}: namespace {namespace!r} is not one the stack declares")
        spec = manifest.get("spec") or {}
        template = pod_template(manifest)
        if template is not None:
            problems += _pod_references(index, manifest, namespace)
            own = ((spec.get("selector") or {}).get("matchLabels")) if kind != "CronJob" else None
            labels = (template.get("metadata") or {}).get("labels") or {}
            if own is not None and not _matches(own, labels):
                problems.append(f"{who}: selector {own} does not match its own pod template's labels {labels}")
        elif kind == "Service":
            problems += _service_problems(index, manifest, namespace)
        elif kind == "PodDisruptionBudget":
            problems += _selector_problems(index, manifest, namespace, (spec.get("selector") or {}).get("matchLabels"),
                                           "selector")
        elif kind == "NetworkPolicy" and spec.get("podSelector") not in ({}, None):
            # `podSelector: {}` selects every pod of the namespace (a default-deny policy); null is reported above.
            problems += _selector_problems(index, manifest, namespace, (spec.get("podSelector") or {}).get("matchLabels"),
                                           "podSelector")
        elif kind == "NodePool":
            # Karpenter's NodePool launches nodes of the EC2NodeClass it names (cluster-scoped, like the NodePool).
            ref = ((spec.get("template") or {}).get("spec") or {}).get("nodeClassRef") or {}
            if not index.has(str(ref.get("kind")), "", str(ref.get("name"))):
                problems.append(f"{who}: nodeClassRef {ref.get('kind')} {ref.get('name')!r} is not one the stack declares")
        elif kind in ("HorizontalPodAutoscaler", "ScaledObject"):
            target = spec.get("scaleTargetRef") or {}
            if not index.has(target.get("kind", "Deployment"), namespace, target.get("name", "")):
                problems.append(f"{who}: scaleTargetRef {target} is not an object the stack declares")
            problems += _trigger_authentication_problems(index, manifest, namespace)
    return problems
