"""SmokeTest: after TensorFlow Serving is ready, a Job asks the model's status and one prediction.

Under servingRuntime `vllm` the Job runs `eks_inferentia/openai_smoke_check.py` instead: it lists the
model (`GET /v1/models`) and asks for one short completion (`POST /v1/completions`).

Pulumi waits for a Job to complete and fails the update when it fails, so `pulumi up` stops
with the Job's message when the model does not load or does not answer. The check is
`eks_inferentia/smoke_check.py` (standard library only), mounted from a ConfigMap into a small,
pinned Python image. The Job is auto-named and its pod template carries the model location,
the serving image and the check's own hash, so a change to any of them replaces the Job and
runs the check again; `ttlSecondsAfterFinished` cleans it up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from components.pod_security import RUNTIME_DEFAULT_SECCOMP, checkov_skip_annotations, hardened_container

CHECK_SCRIPT = Path(__file__).resolve().parent.parent / "eks_inferentia" / "smoke_check.py"
OPENAI_CHECK_SCRIPT = CHECK_SCRIPT.with_name("openai_smoke_check.py")
# Docker's official Python image through the ECR Public mirror (no Docker Hub pull limits on nodes).
SMOKE_TEST_IMAGE = "public.ecr.aws/docker/library/python:3.13.9-alpine3.22"
RUN_AS_USER = 10001
TIMEOUT_SECONDS = 300
# Pulumi waits for the Job (pulumi-kubernetes' default is 10 minutes, provider/pkg/await/job.go
# `DefaultJobTimeoutMins`): as long as the Job may run (its activeDeadlineSeconds counts from its
# start, scheduling and the image pull included), plus a minute to see it finish.
AWAIT_TIMEOUT = f"{-(-(TIMEOUT_SECONDS + 60) // 60)}m"
KEEP_FINISHED_SECONDS = 600
CHECKOV_SKIPS = {"CKV_K8S_43": "the image is pinned by its full version tag (python 3.13.9, alpine 3.22)"}


@dataclass(frozen=True)
class SmokeTestArgs:
    namespace: pulumi.Input[str]
    """The serving namespace (its NetworkPolicy admits pods from there)."""
    rest_endpoint: pulumi.Input[str]
    """TensorFlow Serving's in-cluster REST URL, or under vllm the server's base URL (without `/v1`)."""
    model_name: str
    model_base_path: str
    """Where the model comes from; a change re-runs the check."""
    serving_image: pulumi.Input[str]
    """The server's image; a change re-runs the check."""
    provider: k8s.Provider
    model_versions: Sequence[int] = ()
    """modelVersions: the check waits for each to be AVAILABLE and asks the highest; a change re-runs it."""
    runtime: str = "tensorflow-serving"
    """servingRuntime: `vllm` runs the OpenAI-compatible check."""


def check_files(runtime: str) -> tuple[dict[str, str], str]:
    """(the ConfigMap's scripts, the one the Job runs): the OpenAI check imports smoke_check.py's helpers."""
    files = {CHECK_SCRIPT.name: CHECK_SCRIPT.read_text()}
    if runtime == "vllm":
        files[OPENAI_CHECK_SCRIPT.name] = OPENAI_CHECK_SCRIPT.read_text()
        return files, OPENAI_CHECK_SCRIPT.name
    return files, CHECK_SCRIPT.name


class SmokeTest(pulumi.ComponentResource):
    job_name: pulumi.Output[str]

    def __init__(self, name: str, args: SmokeTestArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-inferentia:index:SmokeTest", name, None, opts)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.provider)
        files, entry = check_files(args.runtime)
        script = "".join(files.values())
        labels = {"app.kubernetes.io/name": "smoke-test", "app.kubernetes.io/managed-by": "pulumi"}

        config_map = k8s.core.v1.ConfigMap(
            f"{name}-script",
            metadata=k8s.meta.v1.ObjectMetaArgs(namespace=args.namespace, labels=labels),
            data=files,
            opts=k8s_opts,
        )
        # The check serves nothing: no pod may connect to it (checkov CKV2_K8S_6 wants every pod under a
        # NetworkPolicy). Egress stays open: the VPC CNI's policy agent and Service IPs in egress rules
        # are a known source of trouble, and the check only calls the in-cluster Service.
        k8s.networking.v1.NetworkPolicy(
            f"{name}-no-ingress",
            metadata=k8s.meta.v1.ObjectMetaArgs(namespace=args.namespace, labels=labels),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                policy_types=["Ingress"],
            ),
            opts=k8s_opts,
        )
        job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                namespace=args.namespace, labels=labels,
                annotations={
                    # A Job that failed last time is replaced, not awaited again, on the next `pulumi up`.
                    "pulumi.com/replaceUnready": "true",
                    **checkov_skip_annotations(CHECKOV_SKIPS),
                }),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=1,
                active_deadline_seconds=TIMEOUT_SECONDS,
                ttl_seconds_after_finished=KEEP_FINISHED_SECONDS,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels, annotations={
                        "eks-inferentia/model": f"{args.model_name} {args.model_base_path}",
                        "eks-inferentia/serving-image": args.serving_image,
                        "eks-inferentia/check-sha256": hashlib.sha256(script.encode()).hexdigest()[:16],
                    }),
                    spec=k8s.core.v1.PodSpecArgs(
                        restart_policy="Never",
                        automount_service_account_token=False,
                        security_context=k8s.core.v1.PodSecurityContextArgs(
                            run_as_non_root=True, run_as_user=RUN_AS_USER, run_as_group=RUN_AS_USER,
                            seccomp_profile=RUNTIME_DEFAULT_SECCOMP),
                        containers=[k8s.core.v1.ContainerArgs(
                            name="smoke-test",
                            image=SMOKE_TEST_IMAGE,
                            image_pull_policy="Always",
                            command=["python", f"/smoke/{entry}", args.rest_endpoint, args.model_name,
                                     *([",".join(map(str, args.model_versions))] if args.model_versions else [])],
                            env=[k8s.core.v1.EnvVarArgs(name="PYTHONDONTWRITEBYTECODE", value="1")],
                            resources=k8s.core.v1.ResourceRequirementsArgs(
                                requests={"cpu": "100m", "memory": "64Mi"}, limits={"cpu": "500m", "memory": "256Mi"}),
                            security_context=hardened_container(run_as_user=RUN_AS_USER),
                            termination_message_policy="FallbackToLogsOnError",
                            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="script", mount_path="/smoke", read_only=True)],
                        )],
                        volumes=[k8s.core.v1.VolumeArgs(name="script", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                            name=config_map.metadata.name))],
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(
                custom_timeouts=pulumi.CustomTimeouts(create=AWAIT_TIMEOUT, update=AWAIT_TIMEOUT))),
        )
        self.job_name = job.metadata.name
        self.register_outputs({"job_name": self.job_name})
