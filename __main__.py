"""eks-inferentia: the "Machine learning inference using AWS Inferentia" walkthrough as a Pulumi program.

Read top to bottom, it follows the walkthrough: configuration, the cluster (and, if asked, a
system node group), the Inferentia node group (or, under nodeProvisioner karpenter, Karpenter and its
NodePool), the EKS add-ons, model access in S3, the Neuron device plugin, monitoring, TensorFlow
Serving (or vLLM, by servingRuntime), the client's check as a smoke-test Job, and the outputs.
"""

import pulumi
import pulumi_aws as aws

from components import (
    ClusterAddons,
    ClusterAddonsArgs,
    InferentiaNodeGroup,
    InferentiaNodeGroupArgs,
    Karpenter,
    KarpenterArgs,
    ModelAccess,
    ModelAccessArgs,
    Monitoring,
    MonitoringArgs,
    NeuronCluster,
    NeuronClusterArgs,
    NeuronDevicePlugin,
    NeuronDevicePluginArgs,
    NeuronMonitor,
    NeuronMonitorArgs,
    NeuronNodePool,
    NeuronNodePoolArgs,
    ServingAutoscaler,
    ServingAutoscalerArgs,
    SmokeTest,
    SmokeTestArgs,
    SystemNodeGroup,
    SystemNodeGroupArgs,
)
from components.neuron_monitor import NEURON_MONITOR_NAMESPACE
from components.neuron_node_pool import DISCOVERY_TAG
from components.node_parts import IMDS_HOP_LIMIT, NODE_ROLE_IMDS_HOP_LIMIT
from components.serving_runtime import ServingContext, declare_serving
from eks_inferentia.config import load_stack_config
from eks_inferentia.contract import CONTRACT_VERSION, StackOutputs
from eks_inferentia.metrics import RuleTargets
from eks_inferentia.placement import place
from eks_inferentia.versions import addon_versions, keda_chart_version

# Configuration: validated as a whole before anything is declared.
config = load_stack_config()
placement = place(config.instance_type, config.availability_zones, existing_vpc=config.uses_existing_vpc)
addons = addon_versions(config.kubernetes_version)
tags = {"project": "eks-inferentia", "cluster": config.cluster_name}

# Create a cluster (eksctl create cluster ... --with-oidc).
cluster = NeuronCluster("inferentia", NeuronClusterArgs(
    cluster_name=config.cluster_name,
    kubernetes_version=config.kubernetes_version,
    vpc_zones=placement.vpc_zones,
    addons=addons,
    vpc_id=config.vpc_id,
    private_subnet_ids=config.private_subnet_ids,
    public_subnet_ids=config.public_subnet_ids,
    api_allowed_cidrs=config.api_allowed_cidrs,
    aws_profile=config.aws_profile,
    # Karpenter finds the private subnets by this tag.
    private_subnet_tags={DISCOVERY_TAG: config.cluster_name} if config.uses_karpenter else {},
    tags=tags,
))

# A small CPU node group for CoreDNS and add-ons, so the Neuron nodes can be kept for inference.
system_nodes = SystemNodeGroup("system-nodes", SystemNodeGroupArgs(
    cluster_name=cluster.cluster_name,
    kubernetes_version=config.kubernetes_version,
    instance_type=config.system_node_instance_type,
    subnet_ids=cluster.private_subnet_ids,
    nodes=config.system_nodes,
    tags=tags,
)) if config.has_system_nodes else None

# ... with Inf1 nodes (--nodegroup-name ng-inf1 --node-type inf1.2xlarge --nodes 2 ...); under nodeProvisioner
# karpenter none: Karpenter launches them, below.
node_group = None if config.uses_karpenter else InferentiaNodeGroup("neuron-nodes", InferentiaNodeGroupArgs(
    cluster_name=cluster.cluster_name,
    kubernetes_version=config.kubernetes_version,
    instance_type=config.instance_type,
    subnet_ids=cluster.private_subnet_ids,
    zones=placement.node_zones,
    vpc_id=cluster.vpc_id,
    cluster_security_group_id=cluster.cluster_security_group_id,
    desired_nodes=config.desired_nodes,
    min_nodes=config.min_nodes,
    max_nodes=config.max_nodes,
    capacity_type=config.capacity_type,
    ssh_public_key=config.ssh_public_key,
    ssh_allowed_cidrs=config.ssh_allowed_cidrs,
    dedicated=config.has_system_nodes,
    pods_use_node_role=not config.uses_pod_identity,
    tags=tags,
))

# CoreDNS and the Pod Identity Agent as EKS add-ons at pinned versions, once there are nodes to run on.
cluster_addons = ClusterAddons("addons", ClusterAddonsArgs(
    cluster_name=cluster.cluster_name,
    versions=addons,
    node_groups=[group for group in (node_group, system_nodes) if group is not None],
    system_nodes=system_nodes is not None,
    tags=tags,
))

# Karpenter on the system nodes (its credentials come through the Pod Identity Agent), and the NodePool it
# launches the Neuron nodes from when serving pods are pending (README, "How it works").
karpenter = Karpenter("karpenter", KarpenterArgs(
    cluster_name=cluster.cluster_name,
    cluster_arn=cluster.cluster_arn,
    provider=cluster.provider,
    system_nodes=config.system_nodes,
    chart_depends_on=[cluster_addons] + ([system_nodes] if system_nodes else []),
    tags=tags,
)) if config.uses_karpenter else None
node_pool = NeuronNodePool("neuron-node-pool", NeuronNodePoolArgs(
    cluster_name=cluster.cluster_name,
    instance_types=config.neuron_instance_types,
    max_neuron_devices=config.node_pool_neuron_limit,
    capacity_type=config.capacity_type,
    ami_alias=config.karpenter_ami_alias,
    node_role_name=karpenter.node_role_name,
    cluster_security_group_id=cluster.cluster_security_group_id,
    provider=cluster.provider,
    controller=karpenter,
    existing_subnet_ids=config.private_subnet_ids,
    imds_hop_limit=IMDS_HOP_LIMIT if config.uses_pod_identity else NODE_ROLE_IMDS_HOP_LIMIT,
    tags=tags,
)) if karpenter else None
# What the work on Neuron nodes waits for, and the role those nodes run with.
if node_group is not None:
    neuron_nodes: pulumi.Resource = node_group
    node_role_name, node_role_arn = node_group.node_role_name, node_group.node_role_arn
else:
    assert karpenter is not None and node_pool is not None
    neuron_nodes = node_pool
    node_role_name, node_role_arn = karpenter.node_role_name, karpenter.node_role_arn

# Let the serving pods read the trained model from S3: a role of their own through EKS Pod Identity,
# or the walkthrough's grant to the node role (aws iam attach-role-policy ...).
model_access = ModelAccess("model", ModelAccessArgs(
    node_role_name=node_role_name,
    cluster_name=cluster.cluster_name,
    cluster_arn=cluster.cluster_arn,
    namespace=config.namespace,
    service_account=config.serving_name,
    bucket=config.model_bucket,
    prefix=config.model_prefix,
    mode=config.s3_access,
    access=config.model_access,
    kms_key_arn=config.model_kms_key_arn,
    tags=tags,
))

# The Neuron device plugin, which eksctl installs for Inf1 node groups, and the Neuron
# scheduler extension when pods need several contiguous devices.
device_plugin = NeuronDevicePlugin("neuron-device-plugin", NeuronDevicePluginArgs(
    chart_version=config.neuron_chart_version,
    kubernetes_version=config.kubernetes_version,
    provider=cluster.provider,
    neuron_scheduler=config.uses_neuron_scheduler,
), opts=pulumi.ResourceOptions(depends_on=[neuron_nodes] + ([system_nodes] if system_nodes else [])))

# Monitoring: an Amazon Managed Service for Prometheus workspace and managed collector, neuron-monitor on
# every Neuron node, recording rules, and alerts to an SNS topic (README, "Monitoring").
monitoring = Monitoring("monitoring", MonitoringArgs(
    cluster_name=cluster.cluster_name,
    cluster_arn=cluster.cluster_arn,
    vpc_id=cluster.vpc_id,
    cluster_security_group_id=cluster.cluster_security_group_id,
    serving_namespace=config.namespace,
    neuron_monitor_namespace=NEURON_MONITOR_NAMESPACE,
    rule_targets=RuleTargets(model_name=config.model_name, latency_objective_ms=config.latency_objective_ms,
                             runtime=config.serving_runtime, max_concurrent_sequences=config.max_concurrent_sequences),
    zones=placement.vpc_zones,
    scraper_subnet_ids=config.collector_subnet_ids,
    alert_email=config.alert_email,
    tags=tags,
)) if config.monitoring else None
if monitoring:
    NeuronMonitor("neuron-monitor", NeuronMonitorArgs(
        instance_types=list(config.neuron_instance_types),
        scraper_cidrs=monitoring.scraper_cidrs,
        provider=cluster.provider,
    ))

# Deploy TensorFlow Serving (rn50_deployment.yaml, rn50_service.yaml), or vLLM under servingRuntime `vllm`.
region = aws.get_region_output().region
serving = declare_serving("serving", config, ServingContext(
    region=region,
    provider=cluster.provider,
    scheduler_name=device_plugin.pod_scheduler_name,
    # Pods get Pod Identity credentials only if the association exists when they are created.
    pods_depend_on=[device_plugin, neuron_nodes, model_access],
    metrics_scraper_cidrs=monitoring.scraper_cidrs if monitoring else None,
    autoscaled_max_replicas=config.max_replicas if config.autoscaling else None,
))

# Scale the serving pods on the model's prediction rate (under vllm, the requests waiting in vLLM's queue) in
# Amazon Managed Prometheus, with KEDA (README, "Autoscaling"). The config refuses autoscaling without monitoring;
# `replicas` was only the initial size.
if config.autoscaling and monitoring and config.scaling_target:
    ServingAutoscaler("autoscaling", ServingAutoscalerArgs(
        cluster_name=cluster.cluster_name,
        cluster_arn=cluster.cluster_arn,
        region=region,
        workspace_arn=monitoring.workspace_arn,
        prometheus_endpoint=monitoring.prometheus_endpoint,
        namespace=serving.namespace,
        deployment_name=serving.deployment_name,
        model_name=config.model_name,
        min_replicas=config.min_replicas,
        max_replicas=config.max_replicas,
        runtime=config.serving_runtime,
        compiles=config.uses_vllm and not config.compiled_artifacts_path,
        target=config.scaling_target,
        chart_version=keda_chart_version(config.kubernetes_version),
        system_nodes=config.has_system_nodes,
        pods_depend_on=[system_nodes] if system_nodes else [neuron_nodes],
        provider=cluster.provider,
        tags=tags,
    ))

# Run the walkthrough's client check in the cluster: a model that does not load or answer fails `pulumi up`.
if config.smoke_test:
    SmokeTest("smoke-test", SmokeTestArgs(
        namespace=serving.namespace,
        rest_endpoint=serving.rest_endpoint,
        model_name=config.model_name,
        model_base_path=config.model_base_path,
        serving_image=serving.image,
        model_versions=config.model_versions,
        runtime=config.serving_runtime,
        provider=cluster.provider,
    ), opts=pulumi.ResourceOptions(depends_on=[serving.component]))

# Outputs: the stable contract other stacks read.
StackOutputs(
    contractVersion=CONTRACT_VERSION,
    clusterName=cluster.cluster_name,
    kubeconfig=cluster.kubeconfig,
    oidcProviderArn=cluster.oidc_provider_arn,
    oidcProviderUrl=cluster.oidc_provider_url,
    oidcIssuer=cluster.oidc_issuer,
    vpcId=cluster.vpc_id,
    privateSubnetIds=cluster.private_subnet_ids,
    # Under nodeProvisioner karpenter there is no managed Neuron node group: nodeGroupName is empty.
    nodeGroupName=node_group.node_group_name if node_group else "",
    nodeRoleArn=node_role_arn,
    nodeRoleName=node_role_name,
    instanceType=config.instance_type,
    modelAccessPolicyArn=model_access.policy_arn,
    modelRoleArn=model_access.role_arn,
    servingNamespace=serving.namespace,
    servingServiceName=serving.service_name,
    grpcEndpoint=serving.grpc_endpoint,
    restEndpoint=serving.rest_endpoint,
    servingRuntime=config.serving_runtime,
    openaiEndpoint=serving.openai_endpoint,
    modelName=config.model_name,
    replicas=config.replicas,
    # Empty strings when monitoring is false: the contract's outputs are always there.
    prometheusWorkspaceArn=monitoring.workspace_arn if monitoring else "",
    prometheusQueryEndpoint=monitoring.query_endpoint if monitoring else "",
    alertTopicArn=monitoring.alert_topic_arn if monitoring else "",
    nodeProvisioner=config.node_provisioner,
    nodePoolName=node_pool.node_pool_name if node_pool else "",
).export()
