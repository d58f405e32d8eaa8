"""What is pinned per Kubernetes version: one row for each version `kubernetesVersion` allows.

Two tables: the kube-scheduler image (below) and the EKS add-on versions (`ADDON_VERSIONS`).

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

from dataclasses import dataclass

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


# --- EKS add-ons ---------------------------------------------------------------------------------
#
# pulumi-eks asks for the *most recent* vpc-cni and kube-proxy add-on versions at every `pulumi up`
# when none is given (nodejs/eks/addons/cni-addon.ts, cluster/cluster.ts: `mostRecent: true`), so an
# `up` with no config change could roll `aws-node` and `kube-proxy`. Each row pins all four add-ons
# for one Kubernetes minor; they change together with `kubernetesVersion` and only with it.
#
# Sources (read offline; see docs/day-two-facts.md §1 for quotes and the commits):
# - kube-proxy, coredns: the AWS EKS User Guide's "latest version for each Kubernetes version" tables,
#   https://docs.aws.amazon.com/ja_jp/eks/latest/userguide/managing-kube-proxy.md and
#   https://docs.aws.amazon.com/ja_jp/eks/latest/userguide/managing-coredns.md (newest snapshots seen).
# - vpc-cni, eks-pod-identity-agent: awslabs/cdk-eks-blueprints @ 05d3dbd0a462409bf002c989750d0de13bf83af2
#   (2026-07-01), lib/addons/vpc-cni/index.ts and lib/addons/eks-pod-identity-agent/index.ts `versionMap`
#   (KubernetesVersion.V1_32 ... V1_35). Their 1.36 cells: no AWS source seen, so None (refused below).
#
# To bump: `aws eks describe-addon-versions --addon-name NAME --kubernetes-version 1.N` (the newest,
# or the row marked defaultVersion), edit the cell, note the source, and run the tests.

VPC_CNI = "vpc-cni"
KUBE_PROXY = "kube-proxy"
COREDNS = "coredns"
POD_IDENTITY_AGENT = "eks-pod-identity-agent"
ADDONS = (VPC_CNI, KUBE_PROXY, COREDNS, POD_IDENTITY_AGENT)

# None: no verified version for that Kubernetes minor; `addon_versions` refuses it rather than let
# pulumi-eks or EKS pick one.
ADDON_VERSIONS: dict[str, dict[str, str | None]] = {
    "1.32": {VPC_CNI: "v1.20.4-eksbuild.2", KUBE_PROXY: "v1.32.13-eksbuild.16",
             COREDNS: "v1.11.4-eksbuild.40", POD_IDENTITY_AGENT: "v1.3.10-eksbuild.2"},
    "1.33": {VPC_CNI: "v1.20.4-eksbuild.2", KUBE_PROXY: "v1.33.10-eksbuild.13",
             COREDNS: "v1.12.4-eksbuild.18", POD_IDENTITY_AGENT: "v1.3.10-eksbuild.2"},
    "1.34": {VPC_CNI: "v1.20.4-eksbuild.2", KUBE_PROXY: "v1.34.6-eksbuild.13",
             COREDNS: "v1.13.2-eksbuild.11", POD_IDENTITY_AGENT: "v1.3.10-eksbuild.2"},
    "1.35": {VPC_CNI: "v1.21.1-eksbuild.1", KUBE_PROXY: "v1.35.3-eksbuild.13",
             COREDNS: "v1.14.3-eksbuild.3", POD_IDENTITY_AGENT: "v1.3.10-eksbuild.2"},
    "1.36": {VPC_CNI: None, KUBE_PROXY: "v1.36.0-eksbuild.14",
             COREDNS: "v1.14.3-eksbuild.3", POD_IDENTITY_AGENT: None},
}


@dataclass(frozen=True)
class PinnedAddons:
    """The add-on versions of one Kubernetes minor, every one pinned."""

    vpc_cni: str
    kube_proxy: str
    coredns: str
    pod_identity_agent: str


class UnpinnedAddonError(ValueError):
    """A Kubernetes version whose add-on versions are not all pinned."""


def unpinned_addons(kubernetes_version: str) -> list[str]:
    """The add-ons with no verified version for `kubernetes_version` (every one if it has no row)."""
    row = ADDON_VERSIONS.get(kubernetes_version, {})
    return [addon for addon in ADDONS if row.get(addon) is None]


def addon_version_problems(kubernetes_version: str) -> list[str]:
    """Why `kubernetes_version` cannot be deployed with pinned add-ons: one line per missing version."""
    row = ADDON_VERSIONS.get(kubernetes_version)
    if row is None:
        return [f"kubernetesVersion {kubernetes_version}: no add-on versions are pinned for it "
                "(add a row to ADDON_VERSIONS in eks_inferentia/versions.py)"]
    return [f"kubernetesVersion {kubernetes_version}: no verified version of the {addon} add-on is pinned; "
            f"find one with `aws eks describe-addon-versions --addon-name {addon} --kubernetes-version "
            f"{kubernetes_version}` and set it in ADDON_VERSIONS (eks_inferentia/versions.py)"
            for addon in ADDONS if row.get(addon) is None]


def addon_versions(kubernetes_version: str) -> PinnedAddons:
    """The pinned add-on versions for a cluster of `kubernetes_version`; refuses a version with a gap."""
    problems = addon_version_problems(kubernetes_version)
    if problems:
        raise UnpinnedAddonError("; ".join(problems))
    row = ADDON_VERSIONS[kubernetes_version]
    return PinnedAddons(vpc_cni=str(row[VPC_CNI]), kube_proxy=str(row[KUBE_PROXY]),
                        coredns=str(row[COREDNS]), pod_identity_agent=str(row[POD_IDENTITY_AGENT]))


# --- KEDA ----------------------------------------------------------------------------------------
#
# The kedacore/charts chart (https://kedacore.github.io/charts, chart version = KEDA version) for each
# Kubernetes minor, inside the window KEDA tests each release on (keda.sh/docs/2.22/operate/cluster,
# "Kubernetes Compatibility": v2.19 on 1.32-1.34, v2.20 on 1.33-1.35, v2.21 on 1.34-1.36). No release is
# tested on all of 1.32-1.35, so 1.32 gets 2.19 and the rest 2.20; a cluster upgrade from 1.32 to 1.33
# moves KEDA one minor, as KEDA's upgrade notes ask. Versions and digests from kedacore/charts
# docs/index.yaml @ 1444d00 (2.19.0 sha256 6ee0edbb..., 2.20.2 sha256 db60b1fa...); 2.19.0 is the only
# 2.19 release. The CRD schemas the ScaledObject and TriggerAuthentication are checked against come from
# these two charts (tests/data/keda-crds.json).

KEDA_CHART_VERSIONS: dict[str, str] = {
    "1.32": "2.19.0",
    "1.33": "2.20.2",
    "1.34": "2.20.2",
    "1.35": "2.20.2",
}


def keda_chart_version(kubernetes_version: str) -> str:
    """The KEDA chart version for a cluster of `kubernetes_version` (a version `kubernetesVersion` accepts)."""
    return KEDA_CHART_VERSIONS[kubernetes_version]


# --- Karpenter (nodeProvisioner: karpenter) --------------------------------------------------------
#
# One chart version serves every Kubernetes minor the stack allows, so it is not a per-version row.
# Source: aws/karpenter-provider-aws @ 1d927085dd81a9df9301e613f371dac5b4d16bfe (2026-08-21, "docs: update for patch release v1.14.1"):
# - charts/karpenter/Chart.yaml `version: 1.14.1`; values.yaml pins the controller image the chart deploys,
#   public.ecr.aws/karpenter/controller:1.14.1@sha256:723130949e4cab989461ff07d1be4cd781d63515432494641b33c235f300ae23
#   (the chart's default: this program sets no image, so the chart version pins it);
# - website/content/en/v1.14/upgrading/compatibility.md, the compatibility matrix below (oldest Karpenter per
#   Kubernetes minor); website/content/en/v1.14/getting-started/getting-started-with-karpenter/cloudformation.yaml,
#   the reference IAM policies, queue and rules components/karpenter.py follows.
# The chart ships its CRDs in its crds/ folder (NodePool, NodeClaim, EC2NodeClass, NodeOverlay, CapacityBuffer);
# there is also a `karpenter-crd` chart, for installs that manage the CRDs apart, which this program does not need.
KARPENTER_CHART = "oci://public.ecr.aws/karpenter/karpenter"
KARPENTER_CHART_VERSION = "1.14.1"
KARPENTER_CONTROLLER_IMAGE = ("public.ecr.aws/karpenter/controller:1.14.1"
                              "@sha256:723130949e4cab989461ff07d1be4cd781d63515432494641b33c235f300ae23")
KARPENTER_COMPATIBILITY: dict[str, str] = {
    "1.30": "0.37", "1.31": "1.0.5", "1.32": "1.2", "1.33": "1.5", "1.34": "1.6", "1.35": "1.9", "1.36": "1.13",
}

# The EKS-optimized AL2023 AMI release the Karpenter nodes boot (`karpenterAmiAlias`): never `al2023@latest`,
# which rolls every node whenever AWS publishes an AMI. Karpenter resolves `al2023@<version>` through the SSM
# parameter /aws/service/eks/optimized-ami/<k8s>/amazon-linux-2023/x86_64/neuron/
# amazon-eks-node-al2023-x86_64-neuron-<k8s>-<version>/image_id for Neuron types (pkg/providers/amifamily/al2023.go
# at v1.14.1), so the release must publish the Neuron AMI of every Kubernetes minor the stack allows.
# Source: awslabs/amazon-eks-ami CHANGELOG.md, "AMI Release v20260714" (tag v20260714, commit b4fffb70f5c1),
# which lists amazon-eks-node-al2023-x86_64-neuron-<1.30 ... 1.36>-v20260714 (aws-neuronx-dkms 2.29.0.0).
DEFAULT_KARPENTER_AMI_ALIAS = "al2023@v20260714"


def karpenter_supports(kubernetes_version: str, karpenter_version: str = KARPENTER_CHART_VERSION) -> bool:
    """Whether Karpenter `karpenter_version` supports clusters of `kubernetes_version` (the matrix above)."""
    oldest = KARPENTER_COMPATIBILITY.get(kubernetes_version)

    def parts(version: str) -> tuple[int, ...]:
        return tuple(int(p) for p in version.split("."))

    return oldest is not None and parts(karpenter_version) >= parts(oldest)
