"""The policies of the eks-inferentia CrossGuard pack, as one list: `POLICIES`.

`__main__.py` serves them (the Pulumi CLI runs it for `--policy-pack policy`); tests import this
module directly, without starting the pack's gRPC server.

What a policy sees. `args.props` are the resource's *input* properties as the engine sends them:
camelCase wire names (`amiType`, `metadataOptions.httpTokens`, `enabledClusterLogTypes`), numbers
as floats, secrets unwrapped, and, during `pulumi preview`, values that are not known yet as
unknowns (reading one through the SDK's proxy raises `UnknownValueError`). Rules read props
through `plain()`, which never raises and turns unknowns into `UNKNOWN`; a rule skips what it
cannot know yet. During `pulumi up` every input is known, so mandatory rules are enforced there.

Which resources. The types the engine really registers: the program's own AWS and Kubernetes
resources, and the children that remote components register through the engine too: pulumi-eks'
`eks:index:Cluster` creates an `aws:eks/cluster:Cluster` (`enabledClusterLogTypes`,
`vpcConfig.endpointPublicAccess`, `vpcConfig.publicAccessCidrs`), IAM roles with
`RolePolicyAttachment`s and security group rules; a Helm chart (`kubernetes:helm.sh/v4:Chart`)
registers every object it renders (the Neuron device plugin's DaemonSet). The EKS rules check the
component's inputs as well as its child's: the offline mock engine sees only the component.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

# --- resource types -------------------------------------------------------------------------
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
# Karpenter's launch template: the EC2NodeClass (nodeProvisioner karpenter) sets the nodes' metadata options.
EC2_NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SECURITY_GROUP_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_CLUSTER_COMPONENT = "eks:index:Cluster"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
IAM_POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"
POD_IDENTITY_ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"

# --- facts the rules rely on ------------------------------------------------------------------
# EC2 instance families with Inferentia or Trainium (Neuron) devices.
NEURON_FAMILIES = ("inf1", "inf2", "trn1", "trn1n", "trn2", "trn2u")
_NEURON_INSTANCE_TYPE = re.compile(r"^(?:" + "|".join(NEURON_FAMILIES) + r")\.[0-9a-z-]+$")
# EKS AMI types whose image carries the Neuron kernel driver: the AL2023 Neuron AMI, and the
# legacy Amazon Linux 2 accelerated AMI (AL2_x86_64_GPU ships the NVIDIA *and* Neuron drivers;
# AWS stopped publishing AL2 AMIs with Kubernetes 1.33, so it only fits older clusters).
NEURON_AMI_TYPES = ("AL2023_x86_64_NEURON", "AL2_x86_64_GPU")
RECOMMENDED_NEURON_AMI_TYPE = "AL2023_x86_64_NEURON"
# The Neuron runtime locks its buffers in memory; nothing else may be added.
ALLOWED_CAPABILITIES = frozenset({"IPC_LOCK"})
REQUIRED_CLUSTER_LOG_TYPES = ("api", "audit", "authenticator")
SSH_PORT = 22
_ALL_PROTOCOLS = frozenset({"-1", "all"})
# Port fields of ICMP rules hold ICMP type and code, not ports.
_ICMP_PROTOCOLS = frozenset({"icmp", "1", "icmpv6", "58"})
_AWS_MANAGED_POLICY = r"^arn:[a-z0-9-]+:iam::aws:policy/{name}$"
ADMINISTRATOR_ACCESS = re.compile(_AWS_MANAGED_POLICY.format(name="AdministratorAccess"))
S3_READ_ONLY_ACCESS = re.compile(_AWS_MANAGED_POLICY.format(name="AmazonS3ReadOnlyAccess"))
_WILDCARD_ACTIONS = frozenset({"*", "*:*"})
# AWS-managed policies that allow S3 actions: the S3 family (AmazonS3ReadOnlyAccess, AmazonS3FullAccess, ...) and
# the job-function policies that cover every service (AdministratorAccess "*", PowerUserAccess NotAction iam/
# organizations/account, ReadOnlyAccess "s3:Get*" and "s3:List*").
AWS_MANAGED_S3_POLICY = re.compile(_AWS_MANAGED_POLICY.format(
    name=r"(?:AmazonS3[A-Za-z0-9_-]*|AdministratorAccess|PowerUserAccess|ReadOnlyAccess)"))
# The service principal a node role trusts (EC2; `.com.cn` in the China regions).
NODE_ROLE_PRINCIPALS = frozenset({"ec2.amazonaws.com", "ec2.amazonaws.com.cn"})

# Kubernetes kinds that carry a pod spec, and where it is.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
_KUBERNETES_TYPE = re.compile(r"^kubernetes:[^:]+:(?P<kind>[A-Za-z]+)$")
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


# --- reading props ----------------------------------------------------------------------------
class _Unknown:
    """A value a preview cannot know yet."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = _Unknown()
_UNKNOWN_SENTINELS = frozenset({
    UNKNOWN_BOOLEAN_VALUE, UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE, UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE, UNKNOWN_ARCHIVE_VALUE, UNKNOWN_OBJECT_VALUE,
})


def plain(value: Any) -> Any:
    """Props as plain dicts and lists, unknown values as `UNKNOWN`; never raises `UnknownValueError`."""
    if isinstance(value, Secret):
        return plain(value.value)
    if isinstance(value, str):
        return UNKNOWN if value in _UNKNOWN_SENTINELS else value
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key in value:
            try:
                result[key] = plain(value[key])
            except UnknownValueError:
                result[key] = UNKNOWN
        return result
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        items: list[Any] = []
        for index in range(len(value)):
            try:
                items.append(plain(value[index]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return value


def dig(value: Any, *path: str) -> Any:
    """`value[path[0]][path[1]]...`: None when a step is missing, `UNKNOWN` when one is unknown."""
    for key in path:
        if value is UNKNOWN:
            return UNKNOWN
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def as_list(value: Any) -> list[Any]:
    """A list prop (None is empty); a scalar (IAM's `"Action": "s3:GetObject"`) as a one-item list."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def is_neuron_instance_type(instance_type: Any) -> bool:
    return isinstance(instance_type, str) and bool(_NEURON_INSTANCE_TYPE.match(instance_type))


def is_world(cidr: Any) -> bool:
    """0.0.0.0/0, ::/0, or any other way of writing "every address"."""
    if not isinstance(cidr, str):
        return False
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False


def _number(value: Any) -> int | None:
    if isinstance(value, bool) or value is None or value is UNKNOWN:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


Validate = Callable[[ResourceValidationArgs, ReportViolation], None]
Rule = Callable[[str, dict[str, Any], Mapping[str, Any]], Iterator[str]]


def _validate(rules: Mapping[str, Rule]) -> Validate:
    """A validate callback that runs the rule for the resource's type on its plain props."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        rule = rules.get(args.resource_type)
        if rule is None:
            return
        props = plain(args.props)
        for message in rule(args.resource_type, props, args.get_config()):
            report_violation(message, None)

    return validate


def _validate_kubernetes_pods(rule: Callable[[str, Mapping[str, Any]], Iterator[str]]) -> Validate:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        match = _KUBERNETES_TYPE.match(args.resource_type)
        if match is None:
            return
        kind = match["kind"].removesuffix("Patch")
        if kind not in POD_SPEC_PATHS:
            return
        pod_spec = dig(plain(args.props), *POD_SPEC_PATHS[kind])
        if not isinstance(pod_spec, Mapping):
            return
        for message in rule(kind, pod_spec):
            report_violation(message, None)

    return validate


# --- 1. Neuron nodes run a Neuron AMI -------------------------------------------------------------
def _neuron_ami_node_group(_type: str, props: dict[str, Any], _config: Mapping[str, Any]) -> Iterator[str]:
    neuron_types = [t for t in as_list(props.get("instanceTypes")) if is_neuron_instance_type(t)]
    if not neuron_types:
        return
    ami_type = props.get("amiType")
    if ami_type is UNKNOWN or ami_type in NEURON_AMI_TYPES:
        return
    instances = ", ".join(neuron_types)
    if ami_type in (None, "", "CUSTOM"):
        how = "amiType CUSTOM" if ami_type == "CUSTOM" else "no amiType"
        yield (f"node group of {instances} has {how}: its AMI then comes from the launch template's imageId (or EKS' "
               f"default AMI type), which this policy cannot check for the Neuron driver; set amiType "
               f"{RECOMMENDED_NEURON_AMI_TYPE}")
    else:
        yield (f"node group of {instances} uses amiType {ami_type}, which has no Neuron driver: the "
               f"aws.amazon.com/neuron devices never appear; use {RECOMMENDED_NEURON_AMI_TYPE}")


def _neuron_ami_launch_template(_type: str, props: dict[str, Any], _config: Mapping[str, Any]) -> Iterator[str]:
    instance_type = props.get("instanceType")
    if not is_neuron_instance_type(instance_type):
        return
    image_id = props.get("imageId")
    if image_id is UNKNOWN or image_id:
        shown = "(not known yet)" if image_id is UNKNOWN else image_id
        yield (f"launch template for {instance_type} sets imageId {shown}: a custom AMI cannot be checked for the "
               f"Neuron driver; leave imageId unset and give the node group amiType {RECOMMENDED_NEURON_AMI_TYPE} "
               f"(or, for an AMI you have vetted, set this policy to advisory in the stack's policy config)")


neuron_nodes_use_neuron_ami = ResourceValidationPolicy(
    name="neuron-nodes-use-neuron-ami",
    description="Nodes of Neuron instance types (inf1, inf2, trn1, trn1n, trn2) run an EKS AMI type with the Neuron "
                f"driver ({', '.join(NEURON_AMI_TYPES)}).",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_validate({NODE_GROUP: _neuron_ami_node_group, LAUNCH_TEMPLATE: _neuron_ami_launch_template}),
)


# --- 2. IMDSv2 only ---------------------------------------------------------------------------------
def _imdsv2(_type: str, props: dict[str, Any], _config: Mapping[str, Any]) -> Iterator[str]:
    options = props.get("metadataOptions")
    if options is UNKNOWN or dig(options, "httpEndpoint") == "disabled":
        return  # no metadata service at all: nothing to downgrade
    tokens = dig(options, "httpTokens")
    if tokens is UNKNOWN or tokens == "required":
        return
    shown = "not set" if tokens is None else f"{tokens!r}"
    yield (f"metadataOptions.httpTokens is {shown}: instances would answer IMDSv1 requests, which any SSRF "
           f"in a pod can use to steal the node role's credentials; set httpTokens to \"required\"")


def _imdsv2_node_class(_type: str, props: dict[str, Any], _config: Mapping[str, Any]) -> Iterator[str]:
    """Karpenter's EC2NodeClass: `spec.metadataOptions`, whose httpTokens default is `required` (left out is fine)."""
    options = dig(props, "spec", "metadataOptions")
    if options is UNKNOWN or dig(options, "httpEndpoint") == "disabled":
        return
    tokens = dig(options, "httpTokens")
    if tokens is UNKNOWN or tokens in (None, "required"):
        return
    yield (f"spec.metadataOptions.httpTokens is {tokens!r}: the nodes Karpenter launches would answer IMDSv1 requests, "
           f"which any SSRF in a pod can use to steal the node role's credentials; set httpTokens to \"required\" "
           f"(Karpenter's default)")


launch_templates_require_imdsv2 = ResourceValidationPolicy(
    name="launch-templates-require-imdsv2",
    description="Launch templates, and Karpenter's EC2NodeClasses, require IMDSv2 session tokens "
                "(metadataOptions.httpTokens = required).",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_validate({LAUNCH_TEMPLATE: _imdsv2, EC2_NODE_CLASS: _imdsv2_node_class}),
)


# --- 3. No SSH or all ports from the internet ----------------------------------------------------------
def _exposure(protocol: Any, from_port: Any, to_port: Any) -> str | None:
    """What an ingress rule opens that this policy forbids to the world, or None."""
    if protocol is UNKNOWN:
        return None
    proto = str(protocol).strip().lower()
    if proto in _ALL_PROTOCOLS:
        return "all protocols and ports"
    if proto in _ICMP_PROTOCOLS:
        return None
    low, high = _number(from_port), _number(to_port)
    if low is None or high is None:
        return None
    if low <= SSH_PORT <= high:
        return f"port {SSH_PORT}" if low == high else f"ports {low}-{high}, which include {SSH_PORT}"
    return None


def _world_message(what: str, where: str, cidrs: Sequence[str]) -> str:
    return (f"{where} opens {what} to {', '.join(cidrs)}; allow only your networks' CIDRs "
            f"(and prefer SSM Session Manager to SSH)")


def _world_cidrs(*lists: Any) -> list[str]:
    return [cidr for values in lists for cidr in as_list(values) if is_world(cidr)]


def _open_security_group(_type: str, props: dict[str, Any], _config: Mapping[str, Any]) -> Iterator[str]:
    for index, rule in enumerate(as_list(props.get("ingress"))):
        if not isinstance(rule, Mapping):
            continue
        cidrs = _world_cidrs(rule.get("cidrBlocks"), rule.get("ipv6CidrBlocks"))
        what = _exposure(rule.get("protocol"), rule.get("fromPort"), rule.get("toPort")) if cidrs else None
        if what:
            yield _world_message(what, f"ingress[{index}]", cidrs)


def _open_security_group_rule(_type: str, props: dict[str, Any], _config: Mapping[str, Any]) -> Iterator[str]:
    if props.get("type") != "ingress":
        return
    cidrs = _world_cidrs(props.get("cidrBlocks"), props.get("ipv6CidrBlocks"))
    what = _exposure(props.get("protocol"), props.get("fromPort"), props.get("toPort")) if cidrs else None
    if what:
        yield _world_message(what, "the ingress rule", cidrs)


def _open_ingress_rule(_type: str, props: dict[str, Any], _config: Mapping[str, Any]) -> Iterator[str]:
    cidrs = _world_cidrs(props.get("cidrIpv4"), props.get("cidrIpv6"))
    what = _exposure(props.get("ipProtocol"), props.get("fromPort"), props.get("toPort")) if cidrs else None
    if what:
        yield _world_message(what, "the ingress rule", cidrs)


no_world_open_ssh_or_all_ports = ResourceValidationPolicy(
    name="no-world-open-ssh-or-all-ports",
    description="No security group rule opens port 22, or every port, to 0.0.0.0/0 or ::/0.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_validate({
        SECURITY_GROUP: _open_security_group,
        SECURITY_GROUP_RULE: _open_security_group_rule,
        SECURITY_GROUP_INGRESS_RULE: _open_ingress_rule,
    }),
)


# --- 4. Containers: no privilege, no capability beyond IPC_LOCK --------------------------------------------
def _capability(name: Any) -> str:
    text = str(name).strip().upper()
    return text.removeprefix("CAP_")


# The one exception: neuron-monitor, the Neuron project's own image, as a DaemonSet (components/neuron_monitor.py).
# It reads every Neuron device of its node through the driver's device files, which a container reaches
# only privileged (the official manifest and the AWS Neuron Operator run it so). Only this repository, only
# in a DaemonSet's regular containers.
PRIVILEGED_DAEMON_SET_IMAGE = re.compile(r"^public\.ecr\.aws/neuron/neuron-monitor(:[\w][\w.-]*|@sha256:[0-9a-f]{64})$")


def _privilege_allowed(kind: str, field: str, container: Mapping[str, Any]) -> bool:
    image = container.get("image")
    return (kind == "DaemonSet" and field == "containers" and isinstance(image, str)
            and PRIVILEGED_DAEMON_SET_IMAGE.match(image) is not None)


def _container_privileges(kind: str, pod_spec: Mapping[str, Any]) -> Iterator[str]:
    for field in _CONTAINER_LISTS:
        for container in as_list(pod_spec.get(field)):
            if not isinstance(container, Mapping):
                continue
            name = container.get("name") or "?"
            where = f"{kind} {field[:-1]} {name!r}" if isinstance(name, str) else f"{kind} {field[:-1]}"
            context = container.get("securityContext")
            if dig(context, "privileged") is True and not _privilege_allowed(kind, field, container):
                yield f"{where} is privileged: it gets every device and capability of the node; remove privileged: true"
            added = [c for c in as_list(dig(context, "capabilities", "add")) if c is not UNKNOWN]
            extra = sorted({_capability(c) for c in added} - ALLOWED_CAPABILITIES)
            if extra:
                yield (f"{where} adds capabilities {', '.join(extra)}; only {', '.join(sorted(ALLOWED_CAPABILITIES))} "
                       f"(the Neuron runtime's locked memory) is allowed")


containers_not_privileged = ResourceValidationPolicy(
    name="containers-not-privileged",
    description="Containers (Pods, Deployments, StatefulSets, DaemonSets, Jobs, CronJobs) are never privileged and add "
                "no Linux capability beyond IPC_LOCK; the one exception is the neuron-monitor image "
                "(public.ecr.aws/neuron/neuron-monitor) in a DaemonSet, which reads the node's Neuron devices.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_validate_kubernetes_pods(_container_privileges),
)


# --- 5. IAM: no administrator roles ---------------------------------------------------------------------
def _statements(document: Any) -> list[Mapping[str, Any]]:
    """The statements of an IAM policy document given as JSON text or as an object."""
    if document is UNKNOWN or document is None:
        return []
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []  # not JSON: IAM refuses it anyway
    statements = dig(document, "Statement")
    return [s for s in as_list(statements) if isinstance(s, Mapping)]


def wildcard_statements(document: Any) -> list[str]:
    """Statements that allow every action (`*` or `*:*`) on every resource (`*`), by Sid or index."""
    found = []
    for index, statement in enumerate(_statements(document)):
        if statement.get("Effect", "Allow") != "Allow":
            continue
        actions = {a for a in as_list(statement.get("Action")) if isinstance(a, str)}
        resources = {r for r in as_list(statement.get("Resource")) if isinstance(r, str)}
        if actions & _WILDCARD_ACTIONS and "*" in resources:
            sid = statement.get("Sid")
            found.append(f"statement {sid!r}" if isinstance(sid, str) and sid else f"statement {index}")
    return found


def _admin_document(where: str, document: Any) -> Iterator[str]:
    for statement in wildcard_statements(document):
        yield (f"{where} {statement} allows Action \"*\" on Resource \"*\": that is administrator access; "
               f"grant the actions and resources the role needs")


def _admin_arns(arns: Any, where: str) -> Iterator[str]:
    for arn in as_list(arns):
        if isinstance(arn, str) and ADMINISTRATOR_ACCESS.match(arn):
            yield f"{where} attaches {arn}: no role of this stack gets administrator access"


def _admin_role(_type: str, props: dict[str, Any], _config: Mapping[str, Any]) -> Iterator[str]:
    yield from _admin_arns(props.get("managedPolicyArns"), "managedPolicyArns")
    for inline in as_list(props.get("inlinePolicies")):
        name = dig(inline, "name")
        yield from _admin_document(f"inline policy {name!r}" if isinstance(name, str) else "an inline policy",
                                   dig(inline, "policy"))


def _admin_policy_document(_type: str, props: dict[str, Any], _config: Mapping[str, Any]) -> Iterator[str]:
    yield from _admin_document("the policy document", props.get("policy"))


def _admin_attachment(type_: str, props: dict[str, Any], _config: Mapping[str, Any]) -> Iterator[str]:
    if type_ == IAM_POLICY_ATTACHMENT and not as_list(props.get("roles")):
        return  # attaches to users or groups only
    yield from _admin_arns(props.get("policyArn"), "the attachment")


def _admin_exclusive_attachments(_type: str, props: dict[str, Any], _config: Mapping[str, Any]) -> Iterator[str]:
    yield from _admin_arns(props.get("policyArns"), "policyArns")


iam_no_administrator_roles = ResourceValidationPolicy(
    name="iam-no-administrator-roles",
    description="No IAM role gets AdministratorAccess, and no IAM policy allows Action \"*\" on Resource \"*\".",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_validate({
        IAM_ROLE: _admin_role,
        IAM_ROLE_POLICY: _admin_policy_document,
        IAM_POLICY: _admin_policy_document,
        IAM_ROLE_POLICY_ATTACHMENT: _admin_attachment,
        IAM_POLICY_ATTACHMENT: _admin_attachment,
        IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE: _admin_exclusive_attachments,
    }),
)


# --- 6. EKS control plane logs -----------------------------------------------------------------------------
def _cluster_logs(_type: str, props: dict[str, Any], _config: Mapping[str, Any]) -> Iterator[str]:
    log_types = props.get("enabledClusterLogTypes")
    if log_types is UNKNOWN:
        return
    enabled = {t for t in as_list(log_types) if isinstance(t, str)}
    missing = [t for t in REQUIRED_CLUSTER_LOG_TYPES if t not in enabled]
    if missing:
        yield (f"enabledClusterLogTypes lacks {', '.join(missing)}: without them there is no record of who called the "
               f"Kubernetes API and how they authenticated; enable {', '.join(REQUIRED_CLUSTER_LOG_TYPES)}")


eks_control_plane_logs = ResourceValidationPolicy(
    name="eks-control-plane-logs",
    description="EKS clusters send their api, audit and authenticator logs to CloudWatch.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_validate({EKS_CLUSTER: _cluster_logs, EKS_CLUSTER_COMPONENT: _cluster_logs}),
)


# --- 7. Pod Identity: node roles get no S3 access ------------------------------------------------------
# How the rule knows the model is read through EKS Pod Identity: from the stack's resources, not from its
# config. A PodIdentityAssociation in the stack means pods get credentials of their own, so no role
# trusted by EC2 (a node role, whose credentials every pod on the node can take from the instance metadata
# service) needs S3. The stack's config would also reach the pack (the engine hands it over as
# PULUMI_CONFIG, which pulumi_policy loads before each call), but not everywhere the pack runs (pulumi's
# engine/check.go, a policy check of a stack's state, passes no config), and `modelAccess`'s default would
# have to be repeated here; the association is what actually gives pods their identity.
#
# A stack policy sees every resource's *output* state: a role's `name`, `assumeRolePolicy`,
# `managedPolicyArns`, `inlinePolicies`; a policy's `arn` and `policy`; attachments' `role`/`roles`/`roleName`
# and `policyArn(s)`. During a preview what the cloud assigns (a new policy's ARN) is unknown: a property whose
# value is unknown is followed to the resources it was computed from (`property_dependencies`).
def _excludes_every_s3_action(pattern: Any) -> bool:
    """Whether a `NotAction` pattern (`*`, `s3:*`) leaves out every S3 action."""
    if not isinstance(pattern, str):
        return False
    service, _, action = pattern.strip().lower().partition(":")
    return (service == "*" and not action) or (fnmatch.fnmatchcase("s3", service) and action == "*")


def _s3_action(pattern: Any) -> bool:
    """Whether an IAM action pattern (`*`, `s3:*`, `s3:Get*`, `S3:GetObject`) matches some S3 action."""
    if not isinstance(pattern, str):
        return False
    text = pattern.strip().lower()
    if text == "*":
        return True
    service, _, action = text.partition(":")
    return fnmatch.fnmatchcase("s3", service) and bool(action)


def s3_statements(document: Any) -> list[str]:
    """Statements that allow some S3 action, by Sid or index: an `Action` matching an S3 action, or a
    `NotAction` that does not exclude every S3 action."""
    found = []
    for index, statement in enumerate(_statements(document)):
        if statement.get("Effect", "Allow") != "Allow":
            continue
        if "NotAction" in statement:
            grants = not any(_excludes_every_s3_action(a) for a in as_list(statement.get("NotAction")))
        else:
            grants = any(_s3_action(a) for a in as_list(statement.get("Action")))
        if grants:
            sid = statement.get("Sid")
            found.append(f"statement {sid!r}" if isinstance(sid, str) and sid else f"statement {index}")
    return found


def _allow_s3(statements: list[str]) -> str:
    """`statement 'A' allows` or `statements 'A', 'B' allow` S3 actions."""
    if len(statements) == 1:
        return f"{statements[0]} allows S3 actions"
    return f"statements {', '.join(s.removeprefix('statement ') for s in statements)} allow S3 actions"


def trusts_ec2(assume_role_policy: Any) -> bool:
    """Whether a trust policy lets EC2 instances assume the role (a node role)."""
    for statement in _statements(assume_role_policy):
        if statement.get("Effect", "Allow") != "Allow":
            continue
        services = as_list(dig(statement.get("Principal"), "Service"))
        if any(isinstance(s, str) and s.strip().lower() in NODE_ROLE_PRINCIPALS for s in services):
            return True
    return False


class _Stack:
    """The stack's resources, their plain output state, and what the rule looks up in them."""

    def __init__(self, resources: Sequence[Any]) -> None:
        self.resources = [(r, plain(r.props)) for r in resources]
        self.policies = [(r, props) for r, props in self.resources if r.resource_type == IAM_POLICY]

    def of_type(self, type_: str) -> list[tuple[Any, dict[str, Any]]]:
        return [(r, props) for r, props in self.resources if r.resource_type == type_]

    @staticmethod
    def sources(resource: Any, key: str, type_: str) -> list[Any]:
        """Resources of `type_` the property `key` of `resource` was computed from."""
        return [d for d in resource.property_dependencies.get(key, []) if d.resource_type == type_]

    def refers_to_role(self, resource: Any, key: str, value: Any, role: Any, role_name: str) -> bool:
        """Whether `value`, the property `key` of `resource` (a role name or a list of them), names `role`."""
        values = as_list(value)
        if role_name in values:
            return True
        if any(v is UNKNOWN for v in values) or value is UNKNOWN:
            return role in self.sources(resource, key, IAM_ROLE)
        return False

    def policy_grants(self, resource: Any, key: str, arn: Any) -> Iterator[str]:
        """What S3 access the policy ARN `arn` (property `key` of `resource`) gives, in words."""
        if isinstance(arn, str) and AWS_MANAGED_S3_POLICY.match(arn):
            yield f"the AWS-managed policy {arn}"
            return
        if arn is UNKNOWN:
            candidates = [(p, props) for p, props in self.policies if p in self.sources(resource, key, IAM_POLICY)]
        else:
            candidates = [(p, props) for p, props in self.policies if isinstance(arn, str) and props.get("arn") == arn]
        for policy, props in candidates:
            statements = s3_statements(props.get("policy"))
            if statements:
                shown = arn if isinstance(arn, str) else "its ARN not known yet"
                yield f"policy {policy.name} ({shown}), whose {_allow_s3(statements)}"

    def node_role_grants(self, role: Any, props: dict[str, Any]) -> Iterator[tuple[Any, str]]:
        """(resource to blame, grant) for each way `role` gets S3 access."""
        name = props.get("name")
        if not isinstance(name, str):
            return
        for arn in as_list(props.get("managedPolicyArns")):
            for grant in self.policy_grants(role, "managedPolicyArns", arn):
                yield role, f"its managedPolicyArns list {grant}"
        for inline in as_list(props.get("inlinePolicies")):
            statements = s3_statements(dig(inline, "policy"))
            if statements:
                yield role, f"its inline policy {dig(inline, 'name')!r}, whose {_allow_s3(statements)}"
        for resource, attached in self.of_type(IAM_ROLE_POLICY):
            if self.refers_to_role(resource, "role", attached.get("role"), role, name):
                statements = s3_statements(attached.get("policy"))
                if statements:
                    yield resource, f"the role policy {resource.name}, whose {_allow_s3(statements)}"
        for type_, role_key in ((IAM_ROLE_POLICY_ATTACHMENT, "role"), (IAM_POLICY_ATTACHMENT, "roles")):
            for resource, attached in self.of_type(type_):
                if self.refers_to_role(resource, role_key, attached.get(role_key), role, name):
                    for grant in self.policy_grants(resource, "policyArn", attached.get("policyArn")):
                        yield resource, f"the attachment {resource.name} attaches {grant}"
        for resource, attached in self.of_type(IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE):
            if self.refers_to_role(resource, "roleName", attached.get("roleName"), role, name):
                for arn in as_list(attached.get("policyArns")):
                    for grant in self.policy_grants(resource, "policyArns", arn):
                        yield resource, f"the exclusive attachments {resource.name} attach {grant}"


def _node_roles_without_s3(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    stack = _Stack(args.resources)
    associations = [r.name for r, _ in stack.of_type(POD_IDENTITY_ASSOCIATION)]
    if not associations:
        args.not_applicable("no EKS Pod Identity association in the stack (eks-inferentia:modelAccess node-role): "
                            "the node role is how pods read the model")
    for role, props in stack.of_type(IAM_ROLE):
        if not trusts_ec2(props.get("assumeRolePolicy")):
            continue
        for resource, grant in stack.node_role_grants(role, props):
            report_violation(
                f"node role {props['name']} (trusted by EC2) gets S3 access: {grant}. The stack gives pods their "
                f"own identity through EKS Pod Identity ({', '.join(associations)}), yet every pod on these nodes "
                f"can take the node role's credentials from the instance metadata service; the model's grant "
                f"belongs on the Pod Identity role: remove this one from the node role (or set "
                f"eks-inferentia:modelAccess to node-role to read the model through the node role instead)",
                resource.urn)


node_roles_without_s3_under_pod_identity = StackValidationPolicy(
    name="node-roles-without-s3-under-pod-identity",
    description="When the stack reads the model through EKS Pod Identity (a PodIdentityAssociation exists), no role "
                "trusted by EC2 (a node role) gets S3 access: no AmazonS3* (or admin, power-user, read-only) "
                "policy, and no attached or inline policy allowing s3: actions.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_node_roles_without_s3,
)


# --- advisory: the API endpoint open to the internet -------------------------------------------------------
def _open_endpoint(type_: str, props: dict[str, Any], _config: Mapping[str, Any]) -> Iterator[str]:
    access = props.get("vpcConfig") if type_ == EKS_CLUSTER else props
    if access is UNKNOWN:
        return
    public = dig(access, "endpointPublicAccess")
    if public is UNKNOWN or public is False:
        return  # EKS turns public access on when the field is left out
    cidrs = dig(access, "publicAccessCidrs")
    if cidrs is UNKNOWN:
        return
    listed = as_list(cidrs)
    if not listed:
        yield ("the public API endpoint has no publicAccessCidrs, so EKS opens it to 0.0.0.0/0; list your networks' "
               "CIDRs (eks-inferentia:apiAllowedCidrs) or turn public access off")
    elif world := [c for c in listed if is_world(c)]:
        yield (f"the public API endpoint is open to {', '.join(world)}; only authentication stands between the internet "
               f"and the Kubernetes API: list your networks' CIDRs (eks-inferentia:apiAllowedCidrs)")


eks_api_endpoint_not_public = ResourceValidationPolicy(
    name="eks-api-endpoint-not-world-open",
    description="The EKS API endpoint is not reachable from the whole internet.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_validate({EKS_CLUSTER: _open_endpoint, EKS_CLUSTER_COMPONENT: _open_endpoint}),
)


# --- advisory: a role that reads every bucket -----------------------------------------------------------------
def _s3_read_all_arns(arns: Any) -> Iterator[str]:
    for arn in as_list(arns):
        if isinstance(arn, str) and S3_READ_ONLY_ACCESS.match(arn):
            yield (f"{arn} lets whoever gets this role read every bucket of the account (the serving pods, for "
                   f"the Pod Identity role; every pod on the nodes, for a node role); eks-inferentia:s3Access "
                   f"\"bucket\" grants only the model's prefix")


def _s3_read_all_role(_type: str, props: dict[str, Any], _config: Mapping[str, Any]) -> Iterator[str]:
    yield from _s3_read_all_arns(props.get("managedPolicyArns"))


def _s3_read_all_attachment(type_: str, props: dict[str, Any], _config: Mapping[str, Any]) -> Iterator[str]:
    if type_ == IAM_POLICY_ATTACHMENT and not as_list(props.get("roles")):
        return
    yield from _s3_read_all_arns(props.get("policyArn"))


def _s3_read_all_exclusive(_type: str, props: dict[str, Any], _config: Mapping[str, Any]) -> Iterator[str]:
    yield from _s3_read_all_arns(props.get("policyArns"))


roles_not_reading_every_bucket = ResourceValidationPolicy(
    name="roles-not-reading-every-bucket",
    description="No role gets AmazonS3ReadOnlyAccess (s3Access: all); the model's role reads only the model's prefix.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_validate({
        IAM_ROLE: _s3_read_all_role,
        IAM_ROLE_POLICY_ATTACHMENT: _s3_read_all_attachment,
        IAM_POLICY_ATTACHMENT: _s3_read_all_attachment,
        IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE: _s3_read_all_exclusive,
    }),
)


POLICIES: list[Policy] = [
    neuron_nodes_use_neuron_ami,
    launch_templates_require_imdsv2,
    no_world_open_ssh_or_all_ports,
    containers_not_privileged,
    iam_no_administrator_roles,
    eks_control_plane_logs,
    node_roles_without_s3_under_pod_identity,
    eks_api_endpoint_not_public,
    roles_not_reading_every_bucket,
]
