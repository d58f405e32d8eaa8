"""The stack outputs contract: the names, types and meaning of what the stack exports.

Other stacks read these through `pulumi.StackReference`; the names are stable. A change that
removes or retypes an output bumps `CONTRACT_VERSION`; adding an output does not. The README's
outputs table is generated from, and tested against, `OUTPUTS`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import pulumi

CONTRACT_VERSION = 1


@dataclass(frozen=True)
class OutputSpec:
    name: str
    type: str
    description: str
    secret: bool = False


OUTPUTS: tuple[OutputSpec, ...] = (
    OutputSpec("contractVersion", "integer", "Version of this outputs contract; bumped when an output is removed or retyped."),
    OutputSpec("clusterName", "string", "Name of the EKS cluster."),
    OutputSpec("kubeconfig", "string (secret)", "Kubeconfig (JSON) for the cluster; authenticates with `aws eks get-token`.", secret=True),
    OutputSpec("oidcProviderArn", "string", "ARN of the cluster's IAM OIDC provider (for IAM roles for service accounts)."),
    OutputSpec("oidcProviderUrl", "string", "Issuer URL of the cluster's IAM OIDC provider, with its `https://` scheme."),
    OutputSpec("oidcIssuer", "string",
               "The same issuer without `https://`: the form IAM trust-policy condition keys take (`<oidcIssuer>:sub`)."),
    OutputSpec("vpcId", "string", "VPC the cluster runs in."),
    OutputSpec("privateSubnetIds", "list of string", "Private subnets of the cluster's VPC."),
    OutputSpec("nodeGroupName", "string", "Name of the Neuron managed node group; empty under `nodeProvisioner: karpenter`."),
    OutputSpec("nodeRoleArn", "string", "ARN of the Neuron nodes' IAM role."),
    OutputSpec("nodeRoleName", "string", "Name of the Neuron nodes' IAM role."),
    OutputSpec("instanceType", "string", "EC2 instance type of the Neuron nodes."),
    OutputSpec("modelAccessPolicyArn", "string",
               "ARN of the IAM policy that grants the model's S3 read access (to `modelRoleArn`, or to the node role "
               "under `modelAccess: node-role`)."),
    OutputSpec("modelRoleArn", "string",
               "ARN of the IAM role the serving pods read the model with (EKS Pod Identity); empty under "
               "`modelAccess: node-role`."),
    OutputSpec("servingNamespace", "string", "Kubernetes namespace of TensorFlow Serving."),
    OutputSpec("servingServiceName", "string", "Name of the TensorFlow Serving Service."),
    OutputSpec("grpcEndpoint", "string", "In-cluster gRPC endpoint, `<service>.<namespace>.svc.cluster.local:8500`; "
               "empty under `servingRuntime: vllm` (no gRPC)."),
    OutputSpec("restEndpoint", "string", "In-cluster REST endpoint, `http://<service>.<namespace>.svc.cluster.local:9000`; "
               "under `servingRuntime: vllm` the vLLM server's base URL, `http://<service>.<namespace>.svc.cluster.local:8000`."),
    OutputSpec("servingRuntime", "string", "What serves the model: `tensorflow-serving` or `vllm`."),
    OutputSpec("openaiEndpoint", "string",
               "In-cluster OpenAI-compatible API, `http://<service>.<namespace>.svc.cluster.local:8000/v1`, under "
               "`servingRuntime: vllm`; empty under `tensorflow-serving`."),
    OutputSpec("modelName", "string", "Name the model is served under."),
    OutputSpec("replicas", "integer", "Number of TensorFlow Serving pods; with autoscaling, the initial number (KEDA sets the live one)."),
    OutputSpec("prometheusWorkspaceArn", "string",
               "ARN of the Amazon Managed Service for Prometheus workspace; empty when `monitoring` is false."),
    OutputSpec("prometheusQueryEndpoint", "string",
               "The workspace's PromQL query URL (`.../workspaces/<id>/api/v1/query`, SigV4); empty when `monitoring` is false."),
    OutputSpec("alertTopicArn", "string", "ARN of the SNS topic the alerts go to; empty when `monitoring` is false."),
    OutputSpec("nodeProvisioner", "string",
               "Who launches the Neuron nodes: `managed` (the node group `nodeGroupName`) or `karpenter` (the NodePool "
               "`nodePoolName`; `nodeGroupName` is then empty)."),
    OutputSpec("nodePoolName", "string", "Name of Karpenter's Neuron NodePool; empty under `nodeProvisioner: managed`."),
)


@dataclass(frozen=True)
class StackOutputs:
    """What the program exports; one attribute per entry of `OUTPUTS`, in the same order."""

    contractVersion: pulumi.Input[int]
    clusterName: pulumi.Input[str]
    kubeconfig: pulumi.Input[str]
    oidcProviderArn: pulumi.Input[str]
    oidcProviderUrl: pulumi.Input[str]
    oidcIssuer: pulumi.Input[str]
    vpcId: pulumi.Input[str]
    privateSubnetIds: pulumi.Input[Any]
    nodeGroupName: pulumi.Input[str]
    nodeRoleArn: pulumi.Input[str]
    nodeRoleName: pulumi.Input[str]
    instanceType: pulumi.Input[str]
    modelAccessPolicyArn: pulumi.Input[str]
    modelRoleArn: pulumi.Input[str]
    servingNamespace: pulumi.Input[str]
    servingServiceName: pulumi.Input[str]
    grpcEndpoint: pulumi.Input[str]
    restEndpoint: pulumi.Input[str]
    servingRuntime: pulumi.Input[str]
    openaiEndpoint: pulumi.Input[str]
    modelName: pulumi.Input[str]
    replicas: pulumi.Input[int]
    prometheusWorkspaceArn: pulumi.Input[str]
    prometheusQueryEndpoint: pulumi.Input[str]
    alertTopicArn: pulumi.Input[str]
    nodeProvisioner: pulumi.Input[str]
    nodePoolName: pulumi.Input[str]

    def export(self) -> None:
        """`pulumi.export` every output, marking the secret ones secret."""
        specs = {spec.name: spec for spec in OUTPUTS}
        for field in fields(self):
            value = getattr(self, field.name)
            pulumi.export(field.name, pulumi.Output.secret(value) if specs[field.name].secret else value)


def outputs_table() -> str:
    """The README's outputs table, in Markdown."""
    rows = ["| output | type | description |", "|---|---|---|"]
    rows += [f"| `{spec.name}` | {spec.type} | {spec.description} |" for spec in OUTPUTS]
    return "\n".join(rows)
