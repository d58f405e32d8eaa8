"""A fake eks-inferentia stack for `pulumi.StackReference` under the mock engine.

The engine reads a stack reference with `ReadResource`; the mock's `new_resource` answers with the
state the engine's built-in `pulumi:pulumi:StackReference` provider gives: `name`, `outputs` and
`secretOutputNames`. The real engine also marks the secret values inside `outputs` as secrets
(`engine_secrets=True`), which makes the SDK treat the whole `outputs` map as secret.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from typing import Any

from pulumi.runtime import rpc

from eks_inferentia.contract import CONTRACT_VERSION, OUTPUTS
from eks_inferentia.stack_reference import VERSION_OUTPUT, output_kind

STACK_REFERENCE = "pulumi:pulumi:StackReference"
INFRA_STACK = "organization/eks-inferentia/dev"

KUBECONFIG = json.dumps({
    "apiVersion": "v1", "kind": "Config", "current-context": "aws",
    "clusters": [{"name": "kubernetes", "cluster": {"server": "https://EXAMPLE.gr7.us-west-2.eks.amazonaws.com",
                                                    "certificate-authority-data": "bW9jaw=="}}],
    "contexts": [{"name": "aws", "context": {"cluster": "kubernetes", "user": "aws"}}],
    "users": [{"name": "aws", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
                                                "args": ["eks", "get-token", "--cluster-name", "inferentia-dev"]}}}],
})

# Values with a meaning the consumer relies on; every other output gets a value of its contract type.
KNOWN_VALUES: dict[str, Any] = {
    VERSION_OUTPUT: float(CONTRACT_VERSION),  # numbers cross the engine as floats
    "kubeconfig": KUBECONFIG,
    "servingNamespace": "inference",
    "servingServiceName": "eks-neuron-test",
    "restEndpoint": "http://eks-neuron-test.inference.svc.cluster.local:9000",
    "grpcEndpoint": "eks-neuron-test.inference.svc.cluster.local:8500",
    "modelName": "resnet50_neuron",
    "replicas": 2.0,
}


def sample_outputs(**overrides: Any) -> dict[str, Any]:
    """Outputs of a stack that matches the contract, one per entry of `OUTPUTS`, as the engine hands them over."""
    samples: dict[Any, Callable[[str], Any]] = {
        str: lambda name: f"sample-{name}",
        int: lambda name: 3.0,
        list[str]: lambda name: [f"sample-{name}-1", f"sample-{name}-2"],
    }
    outputs: dict[str, Any] = {}
    for spec in OUTPUTS:
        outputs[spec.name] = KNOWN_VALUES.get(spec.name, samples[output_kind(spec).python_type](spec.name))
    outputs.update(overrides)
    return outputs


def contract_secret_names() -> list[str]:
    return [spec.name for spec in OUTPUTS if spec.secret]


def reference_state(name: str, outputs: Mapping[str, Any], secret_names: Collection[str], *,
                    engine_secrets: bool) -> dict[str, Any]:
    """The state of a `pulumi:pulumi:StackReference` resource reading stack `name`."""
    wire_outputs = {
        key: rpc.wrap_rpc_secret(value) if engine_secrets and key in secret_names else value
        for key, value in outputs.items()
    }
    return {"name": name, "outputs": wire_outputs, "secretOutputNames": sorted(secret_names)}
