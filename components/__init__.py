"""Pulumi component resources of eks-inferentia, one per module."""

from components.addons import ClusterAddons, ClusterAddonsArgs
from components.autoscaling import ServingAutoscaler, ServingAutoscalerArgs
from components.cluster import NeuronCluster, NeuronClusterArgs
from components.device_plugin import NeuronDevicePlugin, NeuronDevicePluginArgs
from components.karpenter import Karpenter, KarpenterArgs
from components.model_access import ModelAccess, ModelAccessArgs
from components.monitoring import Monitoring, MonitoringArgs
from components.neuron_monitor import NeuronMonitor, NeuronMonitorArgs
from components.neuron_node_pool import NeuronNodePool, NeuronNodePoolArgs
from components.node_group import InferentiaNodeGroup, InferentiaNodeGroupArgs
from components.serving import TensorFlowServing, TensorFlowServingArgs
from components.smoke_test import SmokeTest, SmokeTestArgs
from components.system_node_group import SystemNodeGroup, SystemNodeGroupArgs

__all__ = [
    "ClusterAddons",
    "ClusterAddonsArgs",
    "InferentiaNodeGroup",
    "InferentiaNodeGroupArgs",
    "Karpenter",
    "KarpenterArgs",
    "ModelAccess",
    "ModelAccessArgs",
    "Monitoring",
    "MonitoringArgs",
    "NeuronCluster",
    "NeuronClusterArgs",
    "NeuronDevicePlugin",
    "NeuronDevicePluginArgs",
    "NeuronMonitor",
    "NeuronMonitorArgs",
    "NeuronNodePool",
    "NeuronNodePoolArgs",
    "ServingAutoscaler",
    "ServingAutoscalerArgs",
    "SmokeTest",
    "SmokeTestArgs",
    "SystemNodeGroup",
    "SystemNodeGroupArgs",
    "TensorFlowServing",
    "TensorFlowServingArgs",
]
