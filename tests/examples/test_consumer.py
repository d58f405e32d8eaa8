"""examples/consumer: another project reads the infra stack and runs a batch client Job against its model.

The consumer's `__main__.py` runs under the mock engine the way `tools.mock_engine.run_program` runs the
infra program (runpy, its own project name and config, a recording monitor), with the infra stack
answered by a fake `pulumi:pulumi:StackReference`.
"""

from __future__ import annotations

import re
import runpy
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from eks_inferentia.contract import OUTPUTS
from eks_inferentia.stack_reference import VERSION_OUTPUT, ContractError
from tests.examples.fake_infra import (
    INFRA_STACK,
    KUBECONFIG,
    STACK_REFERENCE,
    contract_secret_names,
    reference_state,
    sample_outputs,
)
from tools.mock_engine import SECRET_SIG, CloudMocks, ProgramRun, RecordingMonitor, config_env, plain

CONSUMER = Path(__file__).resolve().parents[2] / "examples" / "consumer"
PROJECT_FILE = yaml.safe_load((CONSUMER / "Pulumi.yaml").read_text())
PROJECT = PROJECT_FILE["name"]
JOB = "kubernetes:batch/v1:Job"
PROVIDER = "pulumi:providers:kubernetes"


@dataclass
class InfraStack:
    outputs: Mapping[str, Any]
    secret_names: Collection[str]


class ConsumerMocks(CloudMocks):
    """CloudMocks plus the infra stack behind `pulumi.StackReference`."""

    def __init__(self, stacks: Mapping[str, InfraStack], *, preview: bool, stack: str) -> None:
        super().__init__(preview=preview, stack=stack)
        self.stacks = stacks
        self.references: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        if args.typ == STACK_REFERENCE:
            assert args.resource_id is not None
            self.references.append(args.resource_id)
            infra = self.stacks[args.resource_id]  # an unknown stack fails, as `pulumi up` would
            return args.resource_id, reference_state(args.resource_id, infra.outputs, infra.secret_names, engine_secrets=True)
        return super().new_resource(args)  # auto-names Kubernetes objects as the provider does


def run_consumer(config: Mapping[str, Any], stacks: Mapping[str, InfraStack], *, preview: bool = False,
                 stack: str = "dev") -> tuple[ProgramRun, ConsumerMocks]:
    """Run examples/consumer/__main__.py under the mock engine; like `tools.mock_engine.run_program`."""
    mocks = ConsumerMocks(stacks, preview=preview, stack=stack)
    monitor = RecordingMonitor(mocks)
    settings.ROOT.set(None)
    set_all_config(config_env(config))
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    settings.SETTINGS.outputs.clear()

    def program() -> None:
        runpy.run_path(str(CONSUMER / "__main__.py"), run_name="__main__")

    _sync_await(run_pulumi_func(program))

    outputs: dict[str, Any] = {}
    secret: set[str] = set()
    for name, value in getattr(settings.get_root_resource(), "outputs", {}).items():
        out = pulumi.Output.from_input(value)
        if _sync_await(out.is_secret()):
            secret.add(name)
        outputs[name] = plain(_sync_await(out.future(with_unknowns=True)))
    return ProgramRun(monitor.registrations, outputs, secret, set(), preview), mocks


def dev_config(**overrides: Any) -> dict[str, Any]:
    stack_file = yaml.safe_load((CONSUMER / "Pulumi.dev.yaml").read_text())
    config = dict(stack_file["config"])
    config.update({f"{PROJECT}:{key}": value for key, value in overrides.items()})
    return config


def fake_infra(**overrides: Any) -> dict[str, InfraStack]:
    return {INFRA_STACK: InfraStack(sample_outputs(**overrides), contract_secret_names())}


def _pod(run: ProgramRun) -> dict[str, Any]:
    return run.one(JOB).inputs["spec"]["template"]["spec"]


# --- the project ---------------------------------------------------------------------------------


def test_project_declares_the_infra_stack_as_required_config() -> None:
    assert PROJECT == "eks-inferentia-consumer"
    assert PROJECT_FILE["runtime"]["name"] == "python"
    assert PROJECT_FILE["runtime"]["options"]["virtualenv"]
    infra_stack = PROJECT_FILE["config"]["infraStack"]
    assert infra_stack["type"] == "string" and "default" not in infra_stack  # required: `pulumi up` asks for it
    assert "<organization>/<project>/<stack>" in infra_stack["description"]
    assert "organization/eks-inferentia/dev" in infra_stack["description"]  # the self-managed backend's rule
    assert dev_config() == {f"{PROJECT}:infraStack": INFRA_STACK}


def test_requirements_are_pinned_and_install_the_package() -> None:
    lines = [line for line in (CONSUMER / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")]
    # The eks-inferentia package of this checkout (pip reads the path from examples/consumer, where pulumi runs it).
    assert lines == ["pulumi==3.272.0", "pulumi-kubernetes==4.34.2", "../.."]
    assert (CONSUMER / lines[-1]).resolve() == CONSUMER.parents[1]
    assert (CONSUMER.parents[1] / "pyproject.toml").read_text().count('name = "eks-inferentia"') == 1


def test_the_program_imports_the_package_without_touching_sys_path() -> None:
    program = (CONSUMER / "__main__.py").read_text()
    assert "sys.path" not in program
    assert "from eks_inferentia.stack_reference import read_inference_stack, require_qualified_stack_name\n" in program


# --- the program ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def consumer() -> tuple[ProgramRun, ConsumerMocks]:
    return run_consumer(dev_config(), fake_infra())


def test_reads_the_configured_infra_stack(consumer) -> None:
    run, mocks = consumer
    assert mocks.references == [INFRA_STACK]
    # The Job is auto-named `<resource name>-<8 hex digits>`, as pulumi-kubernetes does.
    assert re.fullmatch(r"batch-client-[0-9a-f]{8}", run.outputs["jobName"])
    assert run.outputs["jobNamespace"] == "inference"
    assert run.secret_outputs == set()


def test_kubernetes_provider_gets_the_kubeconfig_as_a_secret(consumer) -> None:
    run, _ = consumer
    provider = run.one(PROVIDER)
    kubeconfig = provider.inputs["kubeconfig"]
    assert kubeconfig[SECRET_SIG[0]] == SECRET_SIG[1]  # sent as a secret: encrypted in the consumer's state
    assert kubeconfig["value"] == KUBECONFIG
    job = run.one(JOB)
    assert job.provider.startswith(provider.urn + "::")


def test_job_runs_in_the_serving_namespace(consumer) -> None:
    job = consumer[0].one(JOB).inputs
    assert job["metadata"]["namespace"] == "inference"
    assert job["metadata"]["annotations"] == {"pulumi.com/replaceUnready": "true"}


def test_job_asks_the_model_status_and_a_prediction_over_the_rest_endpoint(consumer) -> None:
    (container,) = _pod(consumer[0])["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["MODEL_URL"] == "http://eks-neuron-test.inference.svc.cluster.local:9000/v1/models/resnet50_neuron"
    assert env["BATCH_IMAGES"] == "1" and env["IMAGE_SIZE"] == "224"
    shell, flag, script = container["command"]
    assert (shell, flag) == ("/bin/sh", "-c")
    assert script.startswith("set -eu\n")
    assert 'curl -sS --fail-with-body --retry 10 --retry-delay 5 --retry-connrefused --max-time 10 "$MODEL_URL"\n' in script
    assert '--data-binary @/tmp/request.json -o /tmp/response.json "$MODEL_URL:predict"' in script
    assert '"predictions"' in script
    assert container["image"].startswith("curlimages/curl:") and container["image"].split(":")[1][0].isdigit()


def test_client_pod_is_hardened(consumer) -> None:
    run, _ = consumer
    job = run.one(JOB).inputs["spec"]
    assert job["backoffLimit"] == 2
    assert job["ttlSecondsAfterFinished"] == 3600
    assert job["activeDeadlineSeconds"] == 600
    pod = _pod(run)
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 100, "runAsGroup": 101,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert set(container["resources"]) == {"requests", "limits"}
    assert {"cpu", "memory"} <= set(container["resources"]["requests"]) & set(container["resources"]["limits"])
    # The only writable place is a size-limited scratch volume.
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    assert "tolerations" not in pod  # never takes a (tainted) Neuron node from the model


def test_batch_size_and_parallelism_come_from_config() -> None:
    run, _ = run_consumer(dev_config(batchImages=4, parallelism=3), fake_infra())
    job = run.one(JOB).inputs["spec"]
    assert job["parallelism"] == 3 and job["completions"] == 3
    env = {e["name"]: e["value"] for e in job["template"]["spec"]["containers"][0]["env"]}
    assert env["BATCH_IMAGES"] == "4"


def test_the_job_follows_the_infra_stack_outputs() -> None:
    run, _ = run_consumer(dev_config(), fake_infra(
        servingNamespace="models", restEndpoint="http://tfs.models.svc.cluster.local:9000", modelName="bert"))
    job = run.one(JOB).inputs
    assert job["metadata"]["namespace"] == "models"
    env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MODEL_URL"] == "http://tfs.models.svc.cluster.local:9000/v1/models/bert"


def test_preview_declares_the_same_job(consumer) -> None:
    run, _ = run_consumer(dev_config(), fake_infra(), preview=True)
    assert run.one(JOB).inputs["spec"]["template"] == consumer[0].one(JOB).inputs["spec"]["template"]


# --- failures ------------------------------------------------------------------------------------


def test_a_stack_of_another_contract_version_deploys_nothing() -> None:
    with pytest.raises(ContractError, match=f"stack {INFRA_STACK} .*its contractVersion is 2, but this program supports"):
        run_consumer(dev_config(), fake_infra(**{VERSION_OUTPUT: 2.0}))
    monitor = settings.SETTINGS.monitor
    assert monitor.registrations == []  # not even the provider: it waits for the kubeconfig, which carries the error


def test_a_stack_missing_an_output_is_named() -> None:
    stacks = fake_infra()
    outputs = dict(stacks[INFRA_STACK].outputs)
    del outputs["modelName"]
    with pytest.raises(ContractError, match=f"stack {INFRA_STACK} .*missing output modelName "):
        run_consumer(dev_config(), {INFRA_STACK: InfraStack(outputs, contract_secret_names())})


@pytest.mark.parametrize("value", ["dev", "eks-inferentia/dev"])
def test_an_unqualified_infra_stack_name_is_refused(value: str) -> None:
    with pytest.raises(pulumi.RunError, match="organization/eks-inferentia/dev"):
        run_consumer(dev_config(infraStack=value), fake_infra())


@pytest.mark.parametrize(("key", "value"), [("batchImages", 0), ("parallelism", 11), ("batchImages", 17)])
def test_out_of_range_sizes_are_refused(key: str, value: int) -> None:
    with pytest.raises(pulumi.RunError, match=f"{key} is {value}, allowed 1 to"):
        run_consumer(dev_config(**{key: value}), fake_infra())


# --- against the real infra program --------------------------------------------------------------


def test_reads_what_the_infra_program_exports(run_stack) -> None:
    infra_run = run_stack("dev")
    assert set(infra_run.outputs) == {spec.name for spec in OUTPUTS}
    # `plain` redacted the secrets; any string stands in for them.
    outputs = {name: KUBECONFIG if name in infra_run.secret_outputs else value for name, value in infra_run.outputs.items()}
    run, _ = run_consumer(dev_config(), {INFRA_STACK: InfraStack(outputs, sorted(infra_run.secret_outputs))})
    job = run.one(JOB).inputs
    assert job["metadata"]["namespace"] == infra_run.outputs["servingNamespace"]
    env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MODEL_URL"] == f"{infra_run.outputs['restEndpoint']}/v1/models/{infra_run.outputs['modelName']}"
