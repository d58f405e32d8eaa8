"""Which component serves the model: TensorFlowServing or VllmServing, by `servingRuntime`.

`declare_serving` builds the chosen one from the stack's configuration and returns what the rest of the
program reads from either (namespace, Service and Deployment names, endpoints, image), so the smoke test,
monitoring, autoscaling and the outputs plug into both alike. Each component aliases the other's type:
changing `servingRuntime` updates the same Kubernetes objects in place (same names, the same namespace)
rather than creating new ones beside the old, which Kubernetes would refuse by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.serving import Resources, TensorFlowServing, TensorFlowServingArgs
from components.vllm_serving import VllmServing, VllmServingArgs
from eks_inferentia.capacity import rollout_strategy
from eks_inferentia.config import StackConfig
from eks_inferentia.images import serving_image, vllm_image

TF_SERVING_TYPE = "eks-inferentia:index:TensorFlowServing"
VLLM_SERVING_TYPE = "eks-inferentia:index:VllmServing"


@dataclass(frozen=True)
class ServingContext:
    """What the serving component takes from the rest of the program."""

    region: pulumi.Input[str]
    provider: k8s.Provider
    scheduler_name: str | None
    pods_depend_on: Sequence[pulumi.Resource]
    metrics_scraper_cidrs: pulumi.Input[Sequence[str]] | None = None
    autoscaled_max_replicas: int | None = None
    """maxReplicas when KEDA owns the replica count; None without autoscaling."""


@dataclass(frozen=True)
class Serving:
    """The serving component and what the program reads from it, whichever runtime it is."""

    component: pulumi.ComponentResource
    image: pulumi.Output[str]
    namespace: pulumi.Output[str]
    service_name: pulumi.Output[str]
    deployment_name: pulumi.Output[str]
    grpc_endpoint: pulumi.Output[str]
    """`<service>.<ns>.svc.cluster.local:8500`; empty under vllm (no gRPC)."""
    rest_endpoint: pulumi.Output[str]
    """TensorFlow Serving's REST URL (port 9000), or vLLM's base URL (port 8000)."""
    openai_endpoint: pulumi.Output[str]
    """`http://<service>.<ns>.svc.cluster.local:8000/v1` under vllm; empty under tensorflow-serving."""


def declare_serving(name: str, config: StackConfig, context: ServingContext) -> Serving:
    """The serving component `config.serving_runtime` names, as `name` (its resources' names and URNs)."""
    resources = Resources(cpu_request=config.cpu_request, memory_request=config.memory_request,
                          cpu_limit=config.cpu_limit, memory_limit=config.memory_limit)
    opts = pulumi.ResourceOptions(depends_on=list(context.pods_depend_on))
    if config.uses_vllm:
        image = pulumi.Output.from_input(vllm_image(config.serving_image))
        vllm = VllmServing(name, VllmServingArgs(
            namespace=config.namespace,
            name=config.serving_name,
            image=image,
            model_name=config.model_name,
            model_base_path=config.model_base_path,
            region=context.region,
            replicas=config.replicas,
            neuron_devices_per_replica=config.neuron_devices_per_replica,
            tensor_parallel_size=config.tensor_parallel_size,
            max_model_length=config.max_model_length,
            max_concurrent_sequences=config.max_concurrent_sequences,
            compiled_artifacts_path=config.compiled_artifacts_path,
            rollout=rollout_strategy(config.serving_shape),
            resources=resources,
            scheduler_name=context.scheduler_name,
            client_namespaces=config.allowed_client_namespaces,
            model_volume_size=config.model_volume_size,
            pods_use_node_role=not config.uses_pod_identity,
            pods_depend_on=context.pods_depend_on,
            provider=context.provider,
            metrics_scraper_cidrs=context.metrics_scraper_cidrs,
            autoscaled_max_replicas=context.autoscaled_max_replicas,
        ), opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
            aliases=[pulumi.Alias(type_=TF_SERVING_TYPE)])))
        return Serving(vllm, image, vllm.namespace, vllm.service_name, vllm.deployment_name, vllm.grpc_endpoint,
                       vllm.rest_endpoint, vllm.openai_endpoint)

    image = serving_image(config.serving_image, config.instance.family, context.region)
    tf = TensorFlowServing(name, TensorFlowServingArgs(
        namespace=config.namespace,
        name=config.serving_name,
        image=image,
        model_name=config.model_name,
        model_base_path=config.model_base_path,
        region=context.region,
        replicas=config.replicas,
        neuron_devices_per_replica=config.neuron_devices_per_replica,
        rollout=rollout_strategy(config.serving_shape),
        resources=resources,
        scheduler_name=context.scheduler_name,
        client_namespaces=config.allowed_client_namespaces,
        batching_parameters=config.batching_parameters if config.serving_batching else None,
        model_versions=config.model_versions,
        model_poll_seconds=config.model_poll_seconds,
        model_volume_size=config.model_volume_size,
        pods_use_node_role=not config.uses_pod_identity,
        # Pods get Pod Identity credentials only if the association exists when they are created.
        pods_depend_on=context.pods_depend_on,
        provider=context.provider,
        metrics_scraper_cidrs=context.metrics_scraper_cidrs,
        autoscaled_max_replicas=context.autoscaled_max_replicas,
    ), opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=VLLM_SERVING_TYPE)])))
    return Serving(tf, image, tf.namespace, tf.service_name, tf.deployment_name, tf.grpc_endpoint, tf.rest_endpoint,
                   pulumi.Output.from_input(""))
