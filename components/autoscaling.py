"""ServingAutoscaler: KEDA scales the serving Deployment on the model's prediction rate (TensorFlow Serving) or on
the requests waiting in vLLM's queue (servingRuntime `vllm`).

- KEDA from its official chart (kedacore/charts, `KEDA_REPOSITORY`), pinned per Kubernetes minor
  (`eks_inferentia.versions.KEDA_CHART_VERSIONS`), in its own namespace, on the system nodes when
  the stack has them (the Neuron nodes are tainted then, and KEDA tolerates nothing).
- The operator's AWS credentials come from EKS Pod Identity: a role trusted for the `keda-operator`
  ServiceAccount of this cluster only (the session-tag conditions of `components.model_access`),
  allowed `aps:QueryMetrics` on the stack's workspace and nothing else. The association exists
  before the chart's pods are created: the EKS webhook injects credentials only at admission.
- A `TriggerAuthentication` with `podIdentity.provider: aws` and `identityOwner: keda`. In KEDA
  2.19.0 and 2.20.2 (pkg/scalers/aws/aws_common.go `GetAwsAuthorization`, aws_config_cache.go,
  pkg/scaling/resolver/scale_resolvers.go) provider `aws` without `roleArn` signs with the
  operator's own default credential chain, which finds the Pod Identity agent; `identityOwner: keda`
  is that default (`IsWorkloadIdentityOwner` is false when it is unset), written out so nobody reads
  it as the workload's role. The serving pods' role (model access) is never used.
- A `ScaledObject` on the serving Deployment with one Prometheus trigger: KEDA's scaler GETs
  `<serverAddress>/api/v1/query` (prometheus_scaler.go `ExecutePromQuery`), so `serverAddress` is the
  workspace's endpoint without `/api/v1/query` and without its trailing '/', and signs it with SigV4
  for service `aps` in `awsRegion` (aws_sigv4.go). The query is `eks_inferentia.metrics.scaling_query`; the
  threshold is an `AverageValue` target: the HPA wants ceil(total predictions a second / targetRequestsPerSecond)
  pods, or under vllm ceil(total requests waiting / targetRequestsWaiting).

Timing (README, "Autoscaling"): scale-up reacts at once but adds at most `SCALE_UP_PODS` pods a
minute; scale-down waits `SCALE_DOWN_STABILIZATION_SECONDS`, what a removed pod costs to bring back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.addons import SYSTEM_NODE_SELECTOR
from components.model_access import pod_identity_trust_policy
from components.serving import IMAGE_PULL_ALLOWANCE_SECONDS, MODEL_COPY_ALLOWANCE_SECONDS, STARTUP_BUDGET_SECONDS
from components.vllm_serving import startup_budget_seconds
from eks_inferentia.metrics import SCRAPE_INTERVAL_SECONDS, VLLM_APP_NAME, scaling_query

KEDA_REPOSITORY = "https://kedacore.github.io/charts"
KEDA_CHART = "keda"
KEDA_NAMESPACE = "keda"
# The chart's `serviceAccount.operator.name` (its default, set explicitly): the Pod Identity association's target.
KEDA_OPERATOR_SERVICE_ACCOUNT = "keda-operator"
KEDA_API_VERSION = "keda.sh/v1alpha1"
TRIGGER_AUTHENTICATION_NAME = "amp-pod-identity"

# KEDA asks AMP every scrape interval: polling faster reads the same samples again.
POLLING_INTERVAL_SECONDS = SCRAPE_INTERVAL_SECONDS
# Scale-down: the HPA acts on the highest recommendation of this window, so a dip shorter than it removes
# no pod. A pod removed and then needed again costs, on a node that lacks the image, the image pull, the model
# copy and the startup budget (components/serving.py): 600 + 300 + 600 s = 25 minutes without serving it.
SCALE_DOWN_STABILIZATION_SECONDS = IMAGE_PULL_ALLOWANCE_SECONDS + MODEL_COPY_ALLOWANCE_SECONDS + STARTUP_BUDGET_SECONDS
# The most autoscaling/v2 allows (HPAScalingRules.stabilizationWindowSeconds <= 3600).
HPA_MAX_STABILIZATION_SECONDS = 3600


def scale_down_window(runtime: str = "tensorflow-serving", compiles: bool = False) -> int:
    """Seconds the HPA waits before removing a pod: what bringing one back costs. A vLLM pod's startup
    budget is its own (model load, and a compile without compiledArtifactsPath), capped at the HPA's maximum."""
    if runtime == "vllm":
        return min(HPA_MAX_STABILIZATION_SECONDS,
                   IMAGE_PULL_ALLOWANCE_SECONDS + MODEL_COPY_ALLOWANCE_SECONDS + startup_budget_seconds(compiles))
    return SCALE_DOWN_STABILIZATION_SECONDS


# Then one pod at a time, each removal seen in the 2-minute rate and a few scrapes before the next.
SCALE_DOWN_PODS, SCALE_DOWN_PERIOD_SECONDS = 1, 300
# Scale-up: no window (a pod takes minutes to serve, waiting longer only adds to it), at most two pods a minute.
# An AverageValue target on the total rate does not overshoot while new pods start (the HPA divides the total,
# not the per-pod load), so the cap guards against a spike in the rate itself (a retry storm) pulling many
# image pulls and model copies from S3 at once; a sustained N-fold rise is met within N/2 minutes.
SCALE_UP_PODS, SCALE_UP_PERIOD_SECONDS = 2, 60
# When AMP cannot be asked (throttling, a lost permission) for this many polls, keep the pods that run.
FALLBACK_FAILURE_THRESHOLD = 3


@dataclass(frozen=True)
class ServingAutoscalerArgs:
    cluster_name: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    region: pulumi.Input[str]
    workspace_arn: pulumi.Input[str]
    """The stack's AMP workspace: the only one the operator may query."""
    prometheus_endpoint: pulumi.Input[str]
    """The workspace's `prometheus_endpoint` (https://aps-workspaces.<region>.amazonaws.com/workspaces/<id>/)."""
    namespace: pulumi.Input[str]
    """The serving namespace: the ScaledObject and TriggerAuthentication live beside the Deployment."""
    deployment_name: pulumi.Input[str]
    model_name: str
    min_replicas: int
    max_replicas: int
    target: Fraction
    """Per pod: predictions a second (targetRequestsPerSecond), or under vllm requests waiting (targetRequestsWaiting)."""
    chart_version: str
    provider: k8s.Provider
    system_nodes: bool = False
    """KEDA's pods run on the system node group (the Neuron nodes are tainted then)."""
    pods_depend_on: Sequence[pulumi.Resource] = ()
    """What the chart waits for besides the association (the node groups its pods run on): a component's
    `depends_on` does not reach its children."""
    tags: dict[str, str] = field(default_factory=dict)
    runtime: str = "tensorflow-serving"
    """servingRuntime: which query the trigger asks (`scaling_query`)."""
    compiles: bool = False
    """vllm without compiledArtifactsPath: a pod compiles at start, so bringing one back takes longer."""


def query_metrics_policy(workspace_arn: str) -> str:
    """The operator's only permission: PromQL queries against the stack's workspace."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "QueryServingMetrics",
        "Effect": "Allow",
        "Action": "aps:QueryMetrics",
        "Resource": workspace_arn,
    }]}, indent=2)


def keda_values(system_nodes: bool) -> dict[str, Any]:
    """Helm values: the chart's defaults (operator, metrics API server, admission webhooks, CRDs) with the
    operator's ServiceAccount named as the association expects, on the system nodes if there are any."""
    values: dict[str, Any] = {
        "crds": {"install": True},
        "serviceAccount": {"operator": {"create": True, "name": KEDA_OPERATOR_SERVICE_ACCOUNT}},
    }
    if system_nodes:
        values["nodeSelector"] = dict(SYSTEM_NODE_SELECTOR)
    return values


def server_address(prometheus_endpoint: str) -> str:
    """KEDA appends `/api/v1/query` itself: the workspace endpoint without its trailing '/'."""
    return prometheus_endpoint.rstrip("/")


def threshold(target: Fraction) -> str:
    """The trigger's threshold as KEDA parses it (strconv.ParseFloat): a plain decimal, at most 3 decimals."""
    if target.denominator == 1:
        return str(target.numerator)
    return f"{float(target):.3f}".rstrip("0")


def hpa_behavior(scale_down_seconds: int = SCALE_DOWN_STABILIZATION_SECONDS) -> dict[str, Any]:
    """`advanced.horizontalPodAutoscalerConfig.behavior` (autoscaling/v2 HorizontalPodScalingRules)."""
    return {
        "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                    "policies": [{"type": "Pods", "value": SCALE_UP_PODS, "periodSeconds": SCALE_UP_PERIOD_SECONDS}]},
        "scaleDown": {"stabilizationWindowSeconds": scale_down_seconds, "selectPolicy": "Max",
                      "policies": [{"type": "Pods", "value": SCALE_DOWN_PODS,
                                    "periodSeconds": SCALE_DOWN_PERIOD_SECONDS}]},
    }


def scaled_object_spec(deployment_name: pulumi.Input[str], min_replicas: int, max_replicas: int,
                       trigger_metadata: dict[str, pulumi.Input[str]], authentication_name: str,
                       scale_down_seconds: int = SCALE_DOWN_STABILIZATION_SECONDS) -> dict[str, Any]:
    """The ScaledObject's spec (keda.sh/v1alpha1): the Deployment, the range, the HPA's behaviour, one Prometheus
    trigger; when AMP cannot be asked `FALLBACK_FAILURE_THRESHOLD` times running, the running pods stay."""
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment_name},
        "pollingInterval": POLLING_INTERVAL_SECONDS,
        "minReplicaCount": min_replicas,
        "maxReplicaCount": max_replicas,
        "fallback": {"failureThreshold": FALLBACK_FAILURE_THRESHOLD, "replicas": min_replicas,
                     "behavior": "currentReplicas"},
        "advanced": {"horizontalPodAutoscalerConfig": {"behavior": hpa_behavior(scale_down_seconds)}},
        "triggers": [{
            "type": "prometheus",
            "metricType": "AverageValue",
            "metadata": trigger_metadata,
            "authenticationRef": {"name": authentication_name},
        }],
    }


class ServingAutoscaler(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    scaled_object_name: pulumi.Output[str]

    def __init__(self, name: str, args: ServingAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-inferentia:index:ServingAutoscaler", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.provider)

        role = aws.iam.Role(
            f"{name}-keda-role",
            description=pulumi.Output.concat(
                "Queries the serving metrics for KEDA (", KEDA_NAMESPACE, "/", KEDA_OPERATOR_SERVICE_ACCOUNT,
                ") of EKS cluster ", args.cluster_name, " (EKS Pod Identity)"),
            assume_role_policy=pulumi.Output.from_input(args.cluster_arn).apply(
                lambda arn: pod_identity_trust_policy(arn, KEDA_NAMESPACE, KEDA_OPERATOR_SERVICE_ACCOUNT,
                                                      sid="EksPodIdentityForTheKedaOperator")),
            tags=args.tags,
            opts=child,
        )
        policy = aws.iam.Policy(
            f"{name}-query-metrics",
            description="Query the serving metrics in the stack's Amazon Managed Prometheus workspace",
            policy=pulumi.Output.from_input(args.workspace_arn).apply(query_metrics_policy),
            tags=args.tags,
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(f"{name}-query-metrics", role=role.name, policy_arn=policy.arn,
                                                  opts=child)
        association = aws.eks.PodIdentityAssociation(
            f"{name}-keda-pod-identity",
            cluster_name=args.cluster_name,
            namespace=KEDA_NAMESPACE,
            service_account=KEDA_OPERATOR_SERVICE_ACCOUNT,
            role_arn=role.arn,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment]),
        )

        namespace = k8s.core.v1.Namespace(
            f"{name}-keda-ns",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=KEDA_NAMESPACE, labels={"app.kubernetes.io/managed-by": "pulumi"}),
            opts=k8s_opts,
        )
        chart = k8s.helm.v4.Chart(
            f"{name}-keda",
            chart=KEDA_CHART,
            repository_opts=k8s.helm.v4.RepositoryOptsArgs(repo=KEDA_REPOSITORY),
            version=args.chart_version,
            namespace=namespace.metadata.name,
            values=keda_values(args.system_nodes),
            # The operator's pods must be admitted after the association exists, or they get no credentials.
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(
                depends_on=[association, *args.pods_depend_on])),
        )

        # The custom resources need the chart's CRDs and its admission webhook.
        cr_opts = pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[chart]))
        app = VLLM_APP_NAME if args.runtime == "vllm" else "tensorflow-serving"
        labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/managed-by": "pulumi"}
        authentication = k8s.apiextensions.CustomResource(
            f"{name}-trigger-auth",
            api_version=KEDA_API_VERSION,
            kind="TriggerAuthentication",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=TRIGGER_AUTHENTICATION_NAME, namespace=args.namespace, labels=labels),
            spec={"podIdentity": {"provider": "aws", "identityOwner": "keda"}},
            opts=cr_opts,
        )
        # Each value its own Output, so a preview shows every field it knows (only the workspace's address is
        # unknown before the workspace exists).
        trigger_metadata = {
            "serverAddress": pulumi.Output.from_input(args.prometheus_endpoint).apply(server_address),
            "awsRegion": args.region,
            "query": pulumi.Output.from_input(args.namespace).apply(
                lambda namespace: scaling_query(args.runtime, args.model_name, namespace)),
            "threshold": threshold(args.target),
            # The query always answers one series (`or vector(0)`); anything else is an error, not zero load.
            "ignoreNullValues": "false",
        }
        scaled_object = k8s.apiextensions.CustomResource(
            f"{name}-scaled-object",
            api_version=KEDA_API_VERSION,
            kind="ScaledObject",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.deployment_name, namespace=args.namespace, labels=labels),
            spec=scaled_object_spec(args.deployment_name, args.min_replicas, args.max_replicas, trigger_metadata,
                                    TRIGGER_AUTHENTICATION_NAME, scale_down_window(args.runtime, args.compiles)),
            opts=pulumi.ResourceOptions.merge(cr_opts, pulumi.ResourceOptions(depends_on=[authentication])),
        )

        self.role_arn = role.arn
        self.scaled_object_name = scaled_object.id.apply(lambda id_: id_.rpartition("/")[2])
        self.register_outputs({"role_arn": self.role_arn, "scaled_object_name": self.scaled_object_name})
