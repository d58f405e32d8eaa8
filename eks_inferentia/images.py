"""Container images: the TensorFlow Serving and vLLM Deep Learning Containers for Neuron.

Facts from aws/deep-learning-containers (the `tensorflow/inference/docker/2.10/py3/sdk2.17.0`
Dockerfiles and the last full `available_images.md`): these are the newest TensorFlow Serving
images for Neuron (later Neuron SDK releases ship PyTorch only); the server binary is
`/usr/local/bin/tensorflow_model_server_neuron`; the images carry the AWS CLI v1, which the
serving pods use to copy the model from S3 (TF Serving 2.7+ has no `s3://` file system).

The vLLM image (servingRuntime `vllm`) is the Neuron team's `pytorch-inference-vllm-neuronx`, from ECR
Public (one registry for every region). Facts from aws-neuron/deep-learning-containers @ 2be9ed1 (tag
2.32.0): its README's `vllm-inference-neuronx` table and `vllm/inference/0.16.0/Dockerfile.neuronx`
(unchanged since tag 2.31.1). Of the published lines, only vLLM 0.16.0 (vllm-neuron plugin `release-0.5.3`
on NxD Inference, Neuron SDK 2.31.1) lists inf2, trn1 and trn2; vLLM 0.21 and 0.24 (the new vLLM Neuron,
SDK 2.31-2.32) list trn2 and trn3 only, and 2.32.0 stopped publishing the 0.16 line ("legacy vLLM 0.16
... no longer published. Use a 2.31.0 or earlier image", aws-neuron-sdk release notes, containers
2.32.0). So one image serves every family this program supports, with the same flags. The image has the
AWS CLI v2 (`/usr/local/bin/aws`) and Python 3.12 (`python3`, conda); its entrypoint runs its arguments.
"""

from __future__ import annotations

import pulumi

from eks_inferentia.instance_types import NeuronFamily

INF1_IMAGE = "tensorflow-inference-neuron:2.10.1-neuron-py310-sdk2.17.0-ubuntu20.04"
NEURONX_IMAGE = "tensorflow-inference-neuronx:2.10.1-neuronx-py310-sdk2.17.0-ubuntu20.04"

VLLM_IMAGE = "public.ecr.aws/neuron/pytorch-inference-vllm-neuronx:0.16.0-neuronx-py312-sdk2.31.1-ubuntu24.04"
"""vLLM 0.16.0 with vllm-neuron 0.5.3 and NxD Inference 0.10 on Neuron SDK 2.31.1: inf2, trn1, trn1n, trn2."""

TF_SERVING_BINARY = "/usr/local/bin/tensorflow_model_server_neuron"
AWS_CLI = "/usr/local/bin/aws"

DLC_DEFAULT_ACCOUNT = "763104351884"
# Regions whose Deep Learning Containers registry is not in the default account.
DLC_ACCOUNT_BY_REGION: dict[str, str] = {
    "af-south-1": "626614931356",
    "ap-east-1": "871362719292",
    "ap-east-2": "975050140332",
    "ap-south-2": "772153158452",
    "ap-southeast-3": "907027046896",
    "ap-southeast-4": "457447274322",
    "ap-southeast-5": "550225433462",
    "ap-southeast-6": "633930458069",
    "ap-southeast-7": "590183813437",
    "ap-northeast-3": "364406365360",
    "ca-west-1": "204538143572",
    "eu-south-1": "692866216735",
    "eu-south-2": "503227376785",
    "eu-central-2": "380420809688",
    "il-central-1": "780543022126",
    "mx-central-1": "637423239942",
    "me-south-1": "217643126080",
    "me-central-1": "914824155844",
    "cn-north-1": "727897471807",
    "cn-northwest-1": "727897471807",
}

# Regions where the Neuron Deep Learning Containers are published.
NEURON_DLC_REGIONS = frozenset({
    "us-east-1", "us-east-2", "us-west-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
    "ap-east-2", "ap-northeast-1", "eu-central-1", "eu-west-1", "eu-west-3", "sa-east-1",
})


def dlc_registry(region: str) -> str:
    account = DLC_ACCOUNT_BY_REGION.get(region, DLC_DEFAULT_ACCOUNT)
    suffix = ".com.cn" if region.startswith("cn-") else ".com"
    return f"{account}.dkr.ecr.{region}.amazonaws{suffix}"


def default_serving_image(family: NeuronFamily, region: str) -> str:
    """The TensorFlow Serving DLC for an instance family, from the region's DLC registry."""
    return f"{dlc_registry(region)}/{NEURONX_IMAGE if family.uses_neuronx else INF1_IMAGE}"


def serving_image(configured: str | None, family: NeuronFamily, region: pulumi.Input[str]) -> pulumi.Output[str]:
    """The configured `servingImage`, or else the family's default from the region's registry."""
    if configured:
        return pulumi.Output.from_input(configured)
    return pulumi.Output.from_input(region).apply(lambda name: default_serving_image(family, name))


def vllm_image(configured: str | None) -> str:
    """The configured `servingImage`, or else the vLLM Neuron DLC (ECR Public, the same in every region)."""
    return configured or VLLM_IMAGE
