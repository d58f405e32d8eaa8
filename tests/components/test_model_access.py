"""ModelAccess: the serving ServiceAccount's own role (or the node role) may read the model prefix, and nothing more."""

from __future__ import annotations

import json

from components.model_access import model_read_policy, pod_identity_trust_policy

ROLE = "aws:iam/role:Role"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"


def test_bucket_mode_grants_list_on_the_prefix_and_get_below_it(run_stack) -> None:
    run = run_stack()
    policy = json.loads(run.one("aws:iam/policy:Policy").inputs["policy"])
    # The whole document: list the prefix (and only it), read the objects below it, nothing else.
    assert policy == {"Version": "2012-10-17", "Statement": [
        {"Sid": "ListModelPrefix", "Effect": "Allow", "Action": "s3:ListBucket",
         "Resource": "arn:aws:s3:::your-bucket-of-models",
         "Condition": {"StringLike": {"s3:prefix": ["resnet50_neuron", "resnet50_neuron/*"]}}},
        {"Sid": "ReadModelObjects", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::your-bucket-of-models/resnet50_neuron/*"},
    ]}
    attachment = next(a for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                      if a.name == "model-attach")
    model_role = run.named(ROLE, "model-role")
    assert attachment.inputs["role"] == model_role.outputs["name"] != run.outputs["nodeRoleName"]
    assert attachment.inputs["policyArn"] == run.outputs["modelAccessPolicyArn"]
    assert run.outputs["modelRoleArn"] == model_role.outputs["arn"]


def test_pod_identity_role_trusts_eks_pod_identity_for_the_serving_service_account_only(run_stack) -> None:
    run = run_stack()
    trust = json.loads(run.named(ROLE, "model-role").inputs["assumeRolePolicy"])
    assert trust == {"Version": "2012-10-17", "Statement": [{
        "Sid": "EksPodIdentityForTheServingServiceAccount", "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {
            "aws:RequestTag/eks-cluster-arn": "arn:aws:eks:us-west-2:123456789012:cluster/inferentia-dev",
            "aws:RequestTag/kubernetes-namespace": "inference",
            "aws:RequestTag/kubernetes-service-account": "eks-neuron-test"}}}]}
    association = run.one(ASSOCIATION)
    assert association.inputs == {"clusterName": "inferentia-dev", "namespace": "inference",
                                  "serviceAccount": "eks-neuron-test", "roleArn": run.outputs["modelRoleArn"],
                                  "tags": {"project": "eks-inferentia", "cluster": "inferentia-dev"}}
    # The association waits for the grant, and the serving Deployment waits for the association.
    grants = {a.urn for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if a.name == "model-attach"}
    assert grants <= set(association.dependencies)
    deployment = run.one("kubernetes:apps/v1:Deployment")
    assert association.urn in deployment.dependencies


def test_pod_identity_leaves_the_node_role_without_s3(run_stack) -> None:
    run = run_stack(modelKmsKeyArn=KEY, s3Access="all")
    node_role_grants = [a.inputs["policyArn"] for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                        if a.inputs["role"] == run.outputs["nodeRoleName"]]
    assert node_role_grants and not [arn for arn in node_role_grants if "S3" in arn or "policy/model" in arn]


def test_node_role_mode_is_the_walkthroughs(run_stack) -> None:
    run = run_stack(modelAccess="node-role")
    assert run.named(ROLE, "neuron-nodes-node-role")
    assert [r.name for r in run.of_type(ROLE) if r.name == "model-role"] == []
    assert run.of_type(ASSOCIATION) == []
    attachment = next(a for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                      if a.name == "model-attach")
    assert attachment.inputs["role"] == run.outputs["nodeRoleName"]
    assert run.outputs["modelRoleArn"] == ""


def test_trust_policy_names_its_three_tags() -> None:
    condition = json.loads(pod_identity_trust_policy("arn:c", "ns", "sa"))["Statement"][0]["Condition"]
    assert condition == {"StringEquals": {"aws:RequestTag/eks-cluster-arn": "arn:c",
                                          "aws:RequestTag/kubernetes-namespace": "ns",
                                          "aws:RequestTag/kubernetes-service-account": "sa"}}


def test_all_mode_attaches_s3_read_only_as_the_walkthrough_does(run_stack) -> None:
    run = run_stack(s3Access="all")
    assert run.of_type("aws:iam/policy:Policy") == []
    assert run.outputs["modelAccessPolicyArn"] == "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"


def test_policy_follows_the_partition() -> None:
    policy = json.loads(model_read_policy("aws-cn", "models", "a/b"))
    assert policy["Statement"][1]["Resource"] == "arn:aws-cn:s3:::models/a/b/*"


KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_a_kms_encrypted_model_gets_decrypt_on_its_key_through_s3_only(run_stack) -> None:
    policy = json.loads(run_stack(modelKmsKeyArn=KEY).one("aws:iam/policy:Policy").inputs["policy"])
    # The key's region, not the stack's: SSE-KMS keys live beside their bucket.
    assert policy["Statement"][2] == {
        "Sid": "DecryptModelObjects", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY,
        "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}}
    assert len(json.loads(run_stack().one("aws:iam/policy:Policy").inputs["policy"])["Statement"]) == 2


def test_all_mode_with_a_kms_key_adds_only_the_decrypt_grant(run_stack) -> None:
    run = run_stack(s3Access="all", modelKmsKeyArn=KEY)
    (policy,) = run.of_type("aws:iam/policy:Policy")
    assert [s["Action"] for s in json.loads(policy.inputs["policy"])["Statement"]] == ["kms:Decrypt"]
    attached = {a.inputs["policyArn"] for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if a.name.startswith("model-")}
    assert attached == {"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", policy.outputs["arn"]}


def test_china_partition_endpoints() -> None:
    key = "arn:aws-cn:kms:cn-north-1:123456789012:key/mrk-" + "0" * 32
    statement = json.loads(model_read_policy("aws-cn", "models", "m", key))["Statement"][2]
    assert statement["Condition"]["StringEquals"]["kms:ViaService"] == "s3.cn-north-1.amazonaws.com.cn"


TAGS = {"project": "eks-inferentia", "cluster": "inferentia-dev"}


def test_the_models_role_and_policy_say_what_they_are_for(run_stack) -> None:
    run = run_stack()
    component = run.one("eks-inferentia:index:ModelAccess")
    role = run.named(ROLE, "model-role")
    assert role.inputs["description"] == (
        "Reads the model for ServiceAccount inference/eks-neuron-test of EKS cluster inferentia-dev (EKS Pod Identity)")
    assert role.inputs["tags"] == TAGS
    policy = run.named("aws:iam/policy:Policy", "model-read-model")
    assert policy.inputs["description"] == "Read the model under s3://your-bucket-of-models/resnet50_neuron/"
    assert policy.inputs["tags"] == TAGS
    # The document as written, two-space indented: a reformatted one is a diff on every `pulumi up`.
    assert policy.inputs["policy"].startswith('{\n  "Version": "2012-10-17",\n  "Statement": [\n    {\n      "Sid"')
    assert role.inputs["assumeRolePolicy"].startswith('{\n  "Version": "2012-10-17",\n  "Statement": [\n    {\n')
    assert {role.parent, policy.parent, run.one(ASSOCIATION).parent} == {component.urn}
    assert run.registered_outputs[component.urn] == {"policy_arn": policy.outputs["arn"], "role_arn": role.outputs["arn"]}


def test_under_node_role_the_component_registers_an_empty_role_arn(run_stack) -> None:
    run = run_stack(modelAccess="node-role")
    component = run.one("eks-inferentia:index:ModelAccess")
    policy = run.named("aws:iam/policy:Policy", "model-read-model")
    assert run.registered_outputs[component.urn] == {"policy_arn": policy.outputs["arn"], "role_arn": ""}


def test_all_mode_with_a_kms_key_decrypt_policy_and_the_association_waiting_for_both_grants(run_stack) -> None:
    run = run_stack(s3Access="all", modelKmsKeyArn=KEY)
    decrypt = run.named("aws:iam/policy:Policy", "model-decrypt-model")
    assert decrypt.inputs["description"] == "Decrypt the model's objects through S3"
    assert decrypt.inputs["tags"] == TAGS
    assert decrypt.inputs["policy"].startswith('{\n  "Version": "2012-10-17",\n  "Statement": [\n    {\n')
    role = run.named(ROLE, "model-role")
    grants = {a.name: a for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
              if a.name in ("model-attach", "model-attach-decrypt")}
    assert grants["model-attach-decrypt"].inputs == {"role": role.outputs["name"], "policyArn": decrypt.outputs["arn"]}
    assert grants["model-attach"].inputs["role"] == role.outputs["name"]
    # The first pod's credentials must already decrypt: the association waits for every grant.
    assert {g.urn for g in grants.values()} <= set(run.one(ASSOCIATION).dependencies)
    # This variant's own resources are the component's children too (the identity tests cover only the stacks).
    component = run.one("eks-inferentia:index:ModelAccess").urn
    assert {decrypt.parent, *(g.parent for g in grants.values())} == {component}


def test_the_callers_parent_and_dependencies_reach_the_model_access_component() -> None:
    from components.model_access import ModelAccess, ModelAccessArgs
    from tests.components.options import declared_with_options

    declared = declared_with_options(lambda opts: ModelAccess("model", ModelAccessArgs(
        node_role_name="neuron-nodes-node-role", cluster_name="inferentia-dev",
        cluster_arn="arn:aws:eks:us-west-2:123456789012:cluster/inferentia-dev", namespace="inference",
        service_account="eks-neuron-test", bucket="models", prefix="resnet50_neuron"), opts=opts))
    component = declared.component("eks-inferentia:index:ModelAccess")
    assert component.parent == declared.owner.urn
    assert component.dependencies == [declared.before.urn]


def test_the_association_attribute_is_none_under_node_role_and_the_association_under_pod_identity() -> None:
    # The attribute's documented contract (`association`: None under `node-role`), for callers that wait on it.
    from collections.abc import Callable

    import pulumi
    import pulumi_aws as aws

    from components.model_access import ModelAccess, ModelAccessArgs
    from tests.components.options import declared_with_options

    declared: dict[str, ModelAccess] = {}

    def declare(access: str) -> Callable[[pulumi.ResourceOptions], object]:
        def program(opts: pulumi.ResourceOptions) -> object:
            declared[access] = ModelAccess("model", ModelAccessArgs(
                node_role_name="neuron-nodes-node-role", cluster_name="inferentia-dev",
                cluster_arn="arn:aws:eks:us-west-2:123456789012:cluster/inferentia-dev", namespace="inference",
                service_account="eks-neuron-test", bucket="models", prefix="resnet50_neuron", access=access), opts=opts)
            return declared[access]
        return program

    for access in ("node-role", "pod-identity"):
        declared_with_options(declare(access))
    assert declared["node-role"].association is None
    assert isinstance(declared["pod-identity"].association, aws.eks.PodIdentityAssociation)
