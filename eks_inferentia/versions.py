"""What is pinned per Kubernetes version: one row for each version `kubernetesVersion` allows.

A cluster upgrade changes these together with the control plane, and nothing else changes them:
a `pulumi up` with the same config deploys the same versions.

The kube-scheduler the Neuron chart runs beside the default one (`scheduler.customScheduler`,
on when `neuronScheduler` is) defaults to the chart's own `v1.31.12-eks-1-31-30`, outside
Kubernetes' version-skew policy for 1.32 and later clusters (a kube-scheduler may not be newer
than the API server, nor more than one minor older). Each row is the EKS Distro build of the
cluster's minor, read from aws/eks-distro `docs/contents/releases/<1-XX>/<N>/index.md` (commit
178844623f233bd3ee66c14776e7c1fb55895f12; `projects/kubernetes/kubernetes/1-XX/GIT_TAG` agrees).
"""

from __future__ import annotations

EKS_DISTRO_KUBE_SCHEDULER = "public.ecr.aws/eks-distro/kubernetes/kube-scheduler"

KUBE_SCHEDULER_TAGS: dict[str, str] = {
    "1.32": "v1.32.13-eks-1-32-41",  # releases/1-32/41
    "1.33": "v1.33.13-eks-1-33-31",  # releases/1-33/31
    "1.34": "v1.34.9-eks-1-34-21",   # releases/1-34/21
    "1.35": "v1.35.6-eks-1-35-13",   # releases/1-35/13
    "1.36": "v1.36.2-eks-1-36-7",    # releases/1-36/7
}


def kube_scheduler_image(kubernetes_version: str) -> dict[str, str]:
    """The chart's `scheduler.customScheduler.image` values for a cluster of `kubernetes_version`."""
    return {"repository": EKS_DISTRO_KUBE_SCHEDULER, "tag": KUBE_SCHEDULER_TAGS[kubernetes_version]}
