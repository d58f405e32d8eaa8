"""eks-inferentia-consumer: a batch client of an eks-inferentia stack's TensorFlow Serving.

Reads the stack named by `infraStack` through a `pulumi.StackReference` and the typed reader
(`eks_inferentia.stack_reference`), builds a Kubernetes provider from its kubeconfig (secret), and
runs a Job in the serving namespace that asks for the model's status and sends one prediction
request per pod over the in-cluster REST endpoint. `pulumi up` waits for the Job to complete and
fails if a request fails.
"""

import pulumi
import pulumi_kubernetes as k8s

# The installed eks-inferentia package (requirements.txt installs it from this checkout).
from eks_inferentia.stack_reference import read_inference_stack, require_qualified_stack_name

# Pinned by tag and digest, the digest as several unrelated public projects pin this tag (not checked against Docker Hub here).
CURL_IMAGE = "curlimages/curl:8.16.0@sha256:463eaf6072688fe96ac64fa623fe73e1dbe25d8ad6c34404a669ad3ce1f104b6"
# The image's user is `curl_user` (uid 100, gid 101), a name: Kubernetes can only enforce runAsNonRoot with a number.
CURL_UID = 100
CURL_GID = 101
IMAGE_SIZE = 224
"""ResNet-50's input is 224x224x3 (the walkthrough's model); the request carries that many zeros per image."""
MAX_BATCH_IMAGES = 16
MAX_PARALLELISM = 10

# POSIX sh (the image's busybox). The URL and sizes come in as environment variables, never spliced into the script.
CLIENT_SCRIPT = r"""set -eu
echo "model status: GET $MODEL_URL"
curl -sS --fail-with-body --retry 10 --retry-delay 5 --retry-connrefused --max-time 10 "$MODEL_URL"
echo
pixel='[0.0,0.0,0.0]'
row="$pixel"
i=1
while [ "$i" -lt "$IMAGE_SIZE" ]; do row="$row,$pixel"; i=$((i + 1)); done
{
  printf '{"instances":['
  n=0
  while [ "$n" -lt "$BATCH_IMAGES" ]; do
    [ "$n" -eq 0 ] || printf ','
    printf '['
    r=0
    while [ "$r" -lt "$IMAGE_SIZE" ]; do
      [ "$r" -eq 0 ] || printf ','
      printf '[%s]' "$row"
      r=$((r + 1))
    done
    printf ']'
    n=$((n + 1))
  done
  printf ']}'
} > /tmp/request.json
echo "prediction: POST $MODEL_URL:predict ($BATCH_IMAGES image(s) of ${IMAGE_SIZE}x${IMAGE_SIZE}x3)"
if ! curl -sS --fail-with-body --max-time 120 -H 'Content-Type: application/json' \
    --data-binary @/tmp/request.json -o /tmp/response.json "$MODEL_URL:predict"; then
  cat /tmp/response.json >&2 || true
  exit 1
fi
grep -q '"predictions"' /tmp/response.json || { echo "no predictions in the answer:" >&2; head -c 300 /tmp/response.json >&2; exit 1; }
head -c 300 /tmp/response.json
echo
"""

config = pulumi.Config()
infra_stack = require_qualified_stack_name(config.require("infraStack"))
batch_images = config.get_int("batchImages", 1)
parallelism = config.get_int("parallelism", 1)
problems = [
    f"{key} is {value}, allowed 1 to {most}"
    for key, value, most in (("batchImages", batch_images, MAX_BATCH_IMAGES), ("parallelism", parallelism, MAX_PARALLELISM))
    if not 1 <= value <= most
]
if problems:
    raise pulumi.RunError("; ".join(problems))

# The infra stack's outputs, typed and checked against the outputs contract (version, names, types).
infra = read_inference_stack(pulumi.StackReference("infra", stack_name=infra_stack))
provider = k8s.Provider("inferentia", kubeconfig=infra.kubeconfig)  # kubeconfig stays secret

labels = {
    "app.kubernetes.io/name": "inference-batch-client",
    "app.kubernetes.io/part-of": "eks-inferentia-consumer",
    "app.kubernetes.io/managed-by": "pulumi",
}
model_url = pulumi.Output.concat(infra.rest_endpoint, "/v1/models/", infra.model_name)

job = k8s.batch.v1.Job(
    "batch-client",
    metadata=k8s.meta.v1.ObjectMetaArgs(
        namespace=infra.serving_namespace,  # the serving namespace's NetworkPolicy always admits its own pods
        labels=labels,
        # A Job's pod template cannot change; a failed Job is replaced on the next `pulumi up`.
        annotations={"pulumi.com/replaceUnready": "true"},
    ),
    spec=k8s.batch.v1.JobSpecArgs(
        completions=parallelism,
        parallelism=parallelism,
        backoff_limit=2,
        active_deadline_seconds=600,
        ttl_seconds_after_finished=3600,
        template=k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
            spec=k8s.core.v1.PodSpecArgs(
                restart_policy="Never",
                automount_service_account_token=False,
                enable_service_links=False,
                node_selector={"kubernetes.io/os": "linux"},
                security_context=k8s.core.v1.PodSecurityContextArgs(
                    run_as_non_root=True,
                    run_as_user=CURL_UID,
                    run_as_group=CURL_GID,
                    seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
                ),
                containers=[k8s.core.v1.ContainerArgs(
                    name="client",
                    image=CURL_IMAGE,
                    image_pull_policy="IfNotPresent",
                    command=["/bin/sh", "-c", CLIENT_SCRIPT],
                    env=[
                        k8s.core.v1.EnvVarArgs(name="MODEL_URL", value=model_url),
                        k8s.core.v1.EnvVarArgs(name="BATCH_IMAGES", value=str(batch_images)),
                        k8s.core.v1.EnvVarArgs(name="IMAGE_SIZE", value=str(IMAGE_SIZE)),
                    ],
                    resources=k8s.core.v1.ResourceRequirementsArgs(
                        requests={"cpu": "100m", "memory": "64Mi", "ephemeral-storage": "64Mi"},
                        limits={"cpu": "500m", "memory": "128Mi", "ephemeral-storage": "128Mi"},
                    ),
                    security_context=k8s.core.v1.SecurityContextArgs(
                        allow_privilege_escalation=False,
                        privileged=False,
                        read_only_root_filesystem=True,
                        run_as_non_root=True,
                        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
                    ),
                    # The request is written here: the root file system is read-only.
                    volume_mounts=[k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")],
                )],
                volumes=[k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="64Mi"))],
            ),
        ),
    ),
    opts=pulumi.ResourceOptions(provider=provider, custom_timeouts=pulumi.CustomTimeouts(create="15m", update="15m")),
)

pulumi.export("jobName", job.metadata.name)
pulumi.export("jobNamespace", job.metadata.namespace)
pulumi.export("modelUrl", model_url)
