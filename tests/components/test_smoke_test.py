"""SmokeTest: a Job after the serving Deployment, that pulumi waits for, re-run when the model changes."""

from __future__ import annotations

import hashlib
import re

from components.smoke_test import (
    CHECK_SCRIPT,
    CHECKOV_SKIPS,
    KEEP_FINISHED_SECONDS,
    OPENAI_CHECK_SCRIPT,
    SMOKE_TEST_IMAGE,
    TIMEOUT_SECONDS,
    check_files,
)
from eks_inferentia.images import INF1_IMAGE
from tests.components.test_vllm_serving import VLLM


def _job(run) -> dict:
    return run.one("kubernetes:batch/v1:Job").inputs


def test_job_checks_the_served_model_over_rest_after_the_deployment(run_stack) -> None:
    run = run_stack()
    job = _job(run)
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["image"] == SMOKE_TEST_IMAGE and ":3.13.9-alpine3.22" in SMOKE_TEST_IMAGE
    assert container["command"] == ["python", "/smoke/smoke_check.py",
                                    "http://eks-neuron-test.inference.svc.cluster.local:9000", "resnet50_neuron"]
    assert job["metadata"]["namespace"] == "inference"  # admitted by the serving NetworkPolicy
    smoke = run.one("eks-inferentia:index:SmokeTest")
    waits_for = {r.type for r in run.resources if r.urn in smoke.dependencies}
    assert "kubernetes:apps/v1:Deployment" in waits_for
    script = run.named("kubernetes:core/v1:ConfigMap", "smoke-test-script")
    assert script.inputs["data"] == {"smoke_check.py": CHECK_SCRIPT.read_text()}
    # The Job mounts exactly that ConfigMap, by the name the provider gives it.
    (volume,) = job["spec"]["template"]["spec"]["volumes"]
    assert volume == {"name": "script", "configMap": {"name": script.outputs["metadata"]["name"]}}


def test_job_is_bounded_cleaned_up_and_replaced_when_it_failed(run_stack) -> None:
    run = run_stack()
    job = run.one("kubernetes:batch/v1:Job")
    spec = job.inputs["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"], spec["ttlSecondsAfterFinished"]) == (
        1, TIMEOUT_SECONDS, KEEP_FINISHED_SECONDS)
    # Exactly these annotations: Pulumi awaits the Job (no `pulumi.com/skipAwait`) and replaces one
    # that failed last time instead of waiting on it again.
    assert job.inputs["metadata"]["annotations"] == {
        "pulumi.com/replaceUnready": "true", "checkov.io/skip1": f"CKV_K8S_43={CHECKOV_SKIPS['CKV_K8S_43']}"}
    # Pulumi waits as long as the Job may run, plus room for its pod to be scheduled and pull its image.
    assert job.custom_timeouts == {"create": "6m", "update": "6m"}
    assert "name" not in job.inputs["metadata"]  # auto-named, so a changed Job is created beside the old one
    assert re.fullmatch(r"smoke-test-job-[0-9a-f]{8}", job.outputs["metadata"]["name"])
    assert spec["template"]["spec"]["restartPolicy"] == "Never"


def test_job_re_runs_when_the_check_itself_changes(run_stack) -> None:
    annotations = _job(run_stack())["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {
        "eks-inferentia/model": "resnet50_neuron s3://your-bucket-of-models/resnet50_neuron/",
        "eks-inferentia/serving-image": "763104351884.dkr.ecr.us-west-2.amazonaws.com/" + INF1_IMAGE,
        # The hash of the script the ConfigMap carries: a changed check changes the pod template.
        "eks-inferentia/check-sha256": hashlib.sha256(CHECK_SCRIPT.read_bytes()).hexdigest()[:16],
    }


def test_nothing_may_connect_to_the_check(run_stack) -> None:
    run = run_stack()
    policy = run.named("kubernetes:networking.k8s.io/v1:NetworkPolicy", "smoke-test-no-ingress").inputs
    pod_labels = _job(run)["spec"]["template"]["metadata"]["labels"]
    assert policy["metadata"]["namespace"] == "inference"
    assert policy["spec"] == {"podSelector": {"matchLabels": pod_labels}, "policyTypes": ["Ingress"]}


def test_pod_is_hardened(run_stack) -> None:
    pod = _job(run_stack())["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 10000
    (container,) = pod["containers"]
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"


def test_a_new_model_or_image_re_runs_the_check(run_stack) -> None:
    annotations = _job(run_stack())["spec"]["template"]["metadata"]["annotations"]
    moved = _job(run_stack(modelBasePath="s3://your-bucket-of-models/resnet50_v2/"))["spec"]["template"]["metadata"]
    assert moved["annotations"]["eks-inferentia/model"] != annotations["eks-inferentia/model"]
    image = _job(run_stack(servingImage="registry.example.com/tfs:2"))["spec"]["template"]["metadata"]["annotations"]
    assert image["eks-inferentia/serving-image"] == "registry.example.com/tfs:2"


def test_smoke_test_can_be_turned_off(run_stack) -> None:
    run = run_stack(smokeTest=False)
    assert run.of_type("eks-inferentia:index:SmokeTest") == [] and run.of_type("kubernetes:batch/v1:Job") == []


def test_pinned_versions_are_what_the_check_waits_for_and_a_new_list_re_runs_it(run_stack) -> None:
    job = _job(run_stack(modelVersions=[2, 3]))
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "/smoke/smoke_check.py",
                                    "http://eks-neuron-test.inference.svc.cluster.local:9000", "resnet50_neuron", "2,3"]
    # The command is part of the pod template: a rollback to [2] is a new Job, so the check runs again.
    (rolled_back,) = _job(run_stack(modelVersions=[2]))["spec"]["template"]["spec"]["containers"]
    assert rolled_back["command"][-1] == "2"


LABELS = {"app.kubernetes.io/name": "smoke-test", "app.kubernetes.io/managed-by": "pulumi"}


def test_the_check_its_script_and_its_policy_carry_the_same_labels(run_stack) -> None:
    run = run_stack()
    job = _job(run)
    script = run.named("kubernetes:core/v1:ConfigMap", "smoke-test-script").inputs["metadata"]
    policy = run.named("kubernetes:networking.k8s.io/v1:NetworkPolicy", "smoke-test-no-ingress").inputs["metadata"]
    assert script == policy == {"namespace": "inference", "labels": LABELS}
    assert job["metadata"]["labels"] == job["spec"]["template"]["metadata"]["labels"] == LABELS


def test_the_check_container_is_small_fresh_and_reads_its_script_read_only(run_stack) -> None:
    (container,) = _job(run_stack())["spec"]["template"]["spec"]["containers"]
    assert container["name"] == "smoke-test"
    assert container["imagePullPolicy"] == "Always"
    assert container["env"] == [{"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}]  # the root filesystem is read-only
    assert container["resources"] == {"requests": {"cpu": "100m", "memory": "64Mi"},
                                      "limits": {"cpu": "500m", "memory": "256Mi"}}
    assert container["volumeMounts"] == [{"name": "script", "mountPath": "/smoke", "readOnly": True}]


def test_the_check_runs_as_one_unprivileged_user_under_the_runtimes_seccomp_profile(run_stack) -> None:
    pod = _job(run_stack())["spec"]["template"]["spec"]
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
        "runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def test_smoke_test_registers_the_jobs_name(run_stack) -> None:
    run = run_stack()
    component = run.one("eks-inferentia:index:SmokeTest")
    job = run.one("kubernetes:batch/v1:Job")
    assert run.registered_outputs[component.urn] == {"job_name": job.outputs["metadata"]["name"]}
    assert {job.parent, run.named("kubernetes:core/v1:ConfigMap", "smoke-test-script").parent} == {component.urn}


def test_under_vllm_the_job_runs_the_openai_check_beside_the_helpers_it_imports(run_stack) -> None:
    scripts = {"smoke_check.py": CHECK_SCRIPT.read_text(), "openai_smoke_check.py": OPENAI_CHECK_SCRIPT.read_text()}
    assert check_files("vllm") == (scripts, "openai_smoke_check.py")
    assert check_files("tensorflow-serving") == ({"smoke_check.py": CHECK_SCRIPT.read_text()}, "smoke_check.py")
    run = run_stack(**VLLM)
    job = _job(run)
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "python", "/smoke/openai_smoke_check.py", "http://eks-neuron-test.inference.svc.cluster.local:8000",
        "llama-3.1-8b"]
    assert run.named("kubernetes:core/v1:ConfigMap", "smoke-test-script").inputs["data"] == scripts
    # Either script changed re-runs the check: the hash covers both, in the ConfigMap's order.
    both = (scripts["smoke_check.py"] + scripts["openai_smoke_check.py"]).encode()
    assert job["spec"]["template"]["metadata"]["annotations"]["eks-inferentia/check-sha256"] == (
        hashlib.sha256(both).hexdigest()[:16])
