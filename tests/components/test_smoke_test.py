"""SmokeTest: a Job after the serving Deployment, that pulumi waits for, re-run when the model changes."""

from __future__ import annotations

from components.smoke_test import CHECK_SCRIPT, SMOKE_TEST_IMAGE


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
    script = next(c for c in run.of_type("kubernetes:core/v1:ConfigMap") if "smoke_check.py" in c.inputs["data"])
    assert script.inputs["data"]["smoke_check.py"] == CHECK_SCRIPT.read_text()


def test_job_is_bounded_cleaned_up_and_replaced_when_it_failed(run_stack) -> None:
    job = _job(run_stack())
    spec = job["spec"]
    assert spec["backoffLimit"] <= 2 and spec["activeDeadlineSeconds"] <= 600 and spec["ttlSecondsAfterFinished"] > 0
    assert job["metadata"]["annotations"]["pulumi.com/replaceUnready"] == "true"
    assert "name" not in job["metadata"]  # auto-named, so a changed Job is created beside the old one
    assert spec["template"]["spec"]["restartPolicy"] == "Never"


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
