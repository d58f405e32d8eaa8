"""Run the Pulumi program offline under the SDK's mock engine and record what it declares.

Shared by the tests and `tools.render`. No Pulumi CLI, AWS account or cluster is involved:
`pulumi.runtime.set_mocks` stands in for the engine, `CloudMocks` answers for AWS (resource
outputs and data-source calls), and `RecordingMonitor` keeps every resource registration with
its parent and its raw inputs (secrets and unknowns still marked).

Pitfalls this module handles:
- Remote components (`eks:index:Cluster`, `awsx:ec2:Vpc`, `kubernetes:helm.sh/v4:Chart`) are
  not expanded: the mock sees their inputs and returns the outputs we give it.
- Resource references the mock returns are rebuilt by the SDK; `eksCluster` of the EKS cluster
  component is such a reference, so a matching `aws:eks/cluster:Cluster` is registered with the
  monitor for the SDK's `getResource` look-up. The program itself hands remote components only
  plain values (a resource object as input would be rebuilt on the monitor's thread and fail
  with "attached to a different loop").
- Numbers come back as floats and objects keep camelCase wire names: `plain()` turns integral
  floats back into integers.
- Each answer mirrors what the real provider returns, with the source it was read from: pulumi-eks'
  OIDC outputs and kubeconfig, pulumi-aws auto-names, pulumi-kubernetes auto-names (every object
  without `metadata.name` gets one, so references between objects resolve as they do for real),
  and `aws.iam.get_policy_document`'s JSON as terraform-provider-aws writes it.
- In preview mode only what the providers' Check decides is known (inputs, auto-names); IDs and
  everything the cloud assigns stay unknown, as in `pulumi preview`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import runpy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.proto import provider_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

PROJECT = "eks-inferentia"
PROGRAM = Path(__file__).resolve().parent.parent / "__main__.py"
UNKNOWN = rpc.UNKNOWN
SECRET_SIG = rpc._special_sig_key, rpc._special_secret_sig
COMPUTED = "<computed>"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
REDACTED = "[secret]"

DEFAULT_REGION = "us-west-2"
DEFAULT_ZONES = ("us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d")
# An opted-in Local Zone: DescribeAvailabilityZones lists it beside the standard zones unless filtered
# on `opt-in-status` (and by name it sorts before them).
DEFAULT_LOCAL_ZONES = ("us-west-2-lax-1a",)
# Which zones offer which instance types, in the mocked region (Inf1 is not in every zone).
DEFAULT_OFFERINGS: dict[str, tuple[str, ...]] = {"*": ("us-west-2a", "us-west-2b", "us-west-2c")}


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    provider: str
    inputs: dict[str, Any]
    """Deserialized inputs (secrets unwrapped, unknowns as `UNKNOWN`)."""
    raw_inputs: dict[str, Any]
    """Inputs as sent on the wire: secrets and unknowns still marked."""
    outputs: dict[str, Any]
    """The state the mock returned for it."""
    dependencies: list[str]
    """URNs it waits for (`depends_on` and the resources its inputs come from)."""
    custom_timeouts: dict[str, str]
    """`customTimeouts` resource option as sent: `create`, `update`, `delete` (only those given)."""
    ignore_changes: list[str] = field(default_factory=list)
    """`ignoreChanges` resource option as sent (property paths)."""
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    """For each input property, the URNs its value came from (the request's `propertyDependencies`),
    which the engine keeps in the resource's state and sends to `AnalyzeStack`."""
    aliases: list[str] = field(default_factory=list)
    """The `aliases` resource option as sent: each alias spec's type (or name), or an alias URN."""


@dataclass
class ProgramRun:
    resources: list[Registration]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    unknown_outputs: set[str]
    preview: bool
    registered_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each component's `register_outputs`, by URN, as wire values."""

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Registration:
        found = self.of_type(type_)
        assert len(found) == 1, f"expected one {type_}, found {len(found)}"
        return found[0]

    def named(self, type_: str, name: str) -> Registration:
        """The resource of `type_` called `name` (the Pulumi resource name)."""
        found = [r for r in self.of_type(type_) if r.name == name]
        assert len(found) == 1, f"expected one {type_} named {name}, found {len(found)}"
        return found[0]

    def by_urn(self, urn: str) -> Registration | None:
        return next((r for r in self.resources if r.urn == urn), None)


def _stable_hex(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _aws_autoname(name: str) -> str:
    """pulumi-aws' default auto-name: the resource name, '-', seven random hex digits (here stable ones)."""
    return f"{name}-{_stable_hex(name, length=7)}"


# Resources whose name property pulumi-aws auto-names when it is not given (the program relies on these).
_AWS_AUTONAMED = {"aws:iam/role:Role": "name", "aws:iam/policy:Policy": "name", "aws:sns/topic:Topic": "name",
                  "aws:sqs/queue:Queue": "name", "aws:cloudwatch/eventRule:EventRule": "name"}

AUTONAMED_ANNOTATION = "pulumi.com/autonamed"


def _is_kubernetes_object(typ: str) -> bool:
    return typ.startswith("kubernetes:") and not typ.startswith(("kubernetes:helm", "pulumi:providers"))


def kubernetes_checked_inputs(typ: str, name: str, inputs: dict) -> dict:
    """The object as pulumi-kubernetes' Check leaves it: without `metadata.name` (or `generateName`)
    it gets `<resource name>-<8 hex digits>` and the annotation `pulumi.com/autonamed: "true"`
    (provider/pkg/metadata/naming.go, AssignNameIfAutonamable: `resource.NewUniqueName(randomSeed,
    urn.Name()+"-", 0, 0, nil)`). Check runs in previews too, so the name is known there."""
    checked = copy.deepcopy(inputs)
    metadata = checked.setdefault("metadata", {})
    if not metadata.get("name") and not metadata.get("generateName"):
        metadata["name"] = f"{name}-{_stable_hex(typ, name, length=8)}"
        metadata["annotations"] = {**(metadata.get("annotations") or {}), AUTONAMED_ANNOTATION: "true"}
    return checked


def _string_list(values: list[str]) -> str | list[str]:
    """terraform-provider-aws policyDecodeConfigStringList: one item is a string, more are sorted in reverse."""
    if len(values) == 1:
        return values[0]
    return sorted(values, reverse=True)


def policy_document_json(inputs: dict) -> str:
    """`aws.iam.get_policy_document`'s `json` as the data source renders it.

    Read from terraform-provider-aws internal/service/iam/policy_model.go and
    policy_document_data_source.go: statements keep their order; `Sid` and empty elements are
    left out (`json:",omitempty"`); `Effect` defaults to Allow; actions, resources and principal
    identifiers collapse to a string when there is one (policyDecodeConfigStringList); principals
    become `{type: identifiers}` and conditions `{test: {variable: values}}`, a single value as a
    string; maps are written with sorted keys; the whole is `json.MarshalIndent(doc, "", "  ")`.
    """
    statements = []
    for given in inputs.get("statements") or []:
        statement: dict[str, Any] = {}
        if given.get("sid"):
            statement["Sid"] = given["sid"]
        statement["Effect"] = given.get("effect") or "Allow"
        for wire, element in (("actions", "Action"), ("notActions", "NotAction"),
                              ("resources", "Resource"), ("notResources", "NotResource")):
            if given.get(wire):
                statement[element] = _string_list(list(given[wire]))
        for wire, element in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
            if given.get(wire):
                principals: dict[str, Any] = {}
                for principal in given[wire]:
                    principals[principal["type"]] = _string_list(list(principal["identifiers"]))
                statement[element] = dict(sorted(principals.items()))
        if given.get("conditions"):
            conditions: dict[str, dict[str, Any]] = {}
            for condition in given["conditions"]:
                values = list(condition["values"])
                conditions.setdefault(condition["test"], {})[condition["variable"]] = (
                    values[0] if len(values) == 1 else values)
            statement["Condition"] = {test: dict(sorted(v.items())) for test, v in sorted(conditions.items())}
        statements.append(statement)
    document: dict[str, Any] = {"Version": inputs.get("version") or "2012-10-17"}
    if inputs.get("policyId"):
        document["Id"] = inputs["policyId"]
    if statements:
        document["Statement"] = statements
    return json.dumps(document, indent=2)


def pulumi_eks_kubeconfig(cluster_name: str, endpoint: str, region: str) -> dict[str, Any]:
    """The kubeconfig pulumi-eks generates (nodejs/eks/cluster/cluster.ts, generateKubeconfig):
    `aws --region R eks get-token --cluster-name N --output json` with KUBERNETES_EXEC_INFO set."""
    return {
        "apiVersion": "v1",
        "clusters": [{"cluster": {"server": endpoint, "certificate-authority-data": "bW9jaw=="}, "name": "kubernetes"}],
        "contexts": [{"context": {"cluster": "kubernetes", "user": "aws"}, "name": "aws"}],
        "current-context": "aws",
        "kind": "Config",
        "users": [{"name": "aws", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": ["--region", region, "eks", "get-token", "--cluster-name", cluster_name, "--output", "json"],
            "env": [{"name": "KUBERNETES_EXEC_INFO", "value": '{"apiVersion": "client.authentication.k8s.io/v1beta1"}'}],
        }}}],
    }


class CloudMocks(pulumi.runtime.Mocks):
    """Answers for AWS and Kubernetes as a freshly created stack would see them."""

    def __init__(self, *, preview: bool, stack: str, region: str = DEFAULT_REGION,
                 zones: tuple[str, ...] = DEFAULT_ZONES,
                 offerings: Mapping[str, tuple[str, ...]] | None = None,
                 subnet_zones: Mapping[str, str] | None = None) -> None:
        self.preview = preview
        self.stack = stack
        self.region = region
        self.zones = zones
        self.offerings = dict(DEFAULT_OFFERINGS if offerings is None else offerings)
        self.subnet_zones: dict[str, str] = dict(subnet_zones or {})
        self.local_zones = DEFAULT_LOCAL_ZONES
        self.kubeconfig_of_cluster: dict[str, Any] | None = None
        self.monitor: RecordingMonitor | None = None

    # --- data sources -------------------------------------------------------------------
    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        return self._call(args.token, args.args), []

    def _call(self, token: str, inputs: dict) -> dict:
        if token == "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings":
            # DescribeInstanceTypeOfferings lists regions unless asked for zones (LocationType defaults to
            # "region"), and every type unless filtered on `instance-type`: answer only the question the
            # program must ask, so a program that asks another one fails here.
            if inputs.get("locationType") != "availability-zone":
                return {"id": self.region, "locations": [self.region], "locationTypes": ["region"],
                        "instanceTypes": ["*"]}
            (instance_filter,) = [f for f in inputs.get("filters") or [] if f["name"] == "instance-type"]
            (instance_type,) = instance_filter["values"]
            zones = self.offerings.get(instance_type, self.offerings.get("*", ()))
            return {"id": self.region, "locations": list(zones), "locationTypes": ["availability-zone"] * len(zones),
                    "instanceTypes": [instance_type] * len(zones)}
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            listed = [(zone, "opt-in-not-required") for zone in self.zones]
            listed += [(zone, "opted-in") for zone in self.local_zones]
            for given in inputs.get("filters") or []:
                if given["name"] == "opt-in-status":
                    listed = [(zone, status) for zone, status in listed if status in given["values"]]
            return {"id": self.region, "names": [zone for zone, _ in listed],
                    "zoneIds": [f"usw2-az{i + 1}" for i in range(len(listed))]}
        if token == "eks:index:Cluster/getKubeconfig":
            # pulumi-eks getKubeconfig: generateKubeconfig(..., includeProfile=true, opts) adds `--profile NAME`.
            kubeconfig = self.kubeconfig_of_cluster
            assert kubeconfig is not None, "getKubeconfig called before the cluster was created"
            exec_ = kubeconfig["users"][0]["user"]["exec"]
            with_profile = copy.deepcopy(kubeconfig)
            with_profile["users"][0]["user"]["exec"]["args"] = [
                *exec_["args"], *(["--role", inputs["roleArn"]] if inputs.get("roleArn") else []),
                *(["--profile", inputs["profileName"]] if inputs.get("profileName") else [])]
            return {"result": json.dumps(with_profile)}
        if token == "aws:index/getRegion:getRegion":
            return {"id": self.region, "name": self.region, "region": self.region,
                    "endpoint": f"ec2.{self.region}.amazonaws.com", "description": self.region}
        if token == "aws:index/getPartition:getPartition":
            return {"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com",
                    "reverseDnsPrefix": "com.amazonaws"}
        if token == "aws:ec2/getSubnet:getSubnet":
            subnet_id = inputs["id"]
            zone = self.subnet_zones.get(subnet_id) or self.zones[int(_stable_hex(subnet_id), 16) % len(self.zones)]
            third_octet = int(_stable_hex(subnet_id, "cidr", length=2), 16)
            return {"id": subnet_id, "availabilityZone": zone, "vpcId": "vpc-" + _stable_hex("vpc"),
                    "cidrBlock": f"172.31.{third_octet}.0/24"}
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"id": "123456789012", "accountId": "123456789012", "userId": "AIDAEXAMPLEUSERID",
                    "arn": "arn:aws:iam::123456789012:user/mock"}
        if token == "aws:iam/getPolicyDocument:getPolicyDocument":
            document = policy_document_json(inputs)
            return {"id": str(int(_stable_hex(document, length=8), 16)), "json": document}
        raise NotImplementedError(f"the mock engine has no answer for data source {token}")

    # --- resources ----------------------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        # A remote component's outputs are not its inputs (awsx's `natGateways` goes in as
        # options and comes out as resources), so components echo nothing back.
        state = dict(args.inputs) if args.custom else {}
        if args.custom and _is_kubernetes_object(args.typ):
            state = kubernetes_checked_inputs(args.typ, args.name, state)
        if self.preview:
            # A preview runs the providers' Check, not Create: names chosen in Check (auto-names) are
            # known, the ID and everything the cloud assigns stay unknown. The SDK treats an empty ID
            # as unknown during a preview (pulumi/runtime/resource.py: `is_known = bool(resp.id)`).
            state.update(self._check_outputs(args.typ, args.name, args.inputs))
            return None, state
        outputs = self._outputs(args.typ, args.name, args.inputs)
        state.update(outputs)
        resource_id = f"{args.name}-id" if args.custom else None
        if args.typ.startswith("aws:") and "id" in outputs:
            resource_id = outputs["id"]
        if _is_kubernetes_object(args.typ):
            # pulumi-kubernetes uses `<namespace>/<name>` (or `<name>` for cluster-scoped objects) as the ID.
            metadata = state["metadata"]
            resource_id = "/".join(part for part in (metadata.get("namespace"), metadata["name"]) if part)
        return resource_id, state

    def _check_outputs(self, typ: str, name: str, inputs: dict) -> dict[str, Any]:
        """What a provider's Check adds to the inputs: pulumi-aws auto-names (`<name>-<7 hex>`,
        pulumi-terraform-bridge's AutoName default applied in Check, so previews show them)."""
        if typ in _AWS_AUTONAMED and not inputs.get(_AWS_AUTONAMED[typ]):
            return {_AWS_AUTONAMED[typ]: _aws_autoname(name)}
        return {}

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}::123456789012:{resource}"

    def _regional_arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:123456789012:{resource}"

    @staticmethod
    def _uuid(name: str) -> str:
        h = _stable_hex(name, "uuid", length=32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"

    def _outputs(self, typ: str, name: str, inputs: dict) -> dict[str, Any]:
        if typ == "awsx:ec2:Vpc":
            zones = inputs.get("availabilityZoneNames") or list(self.zones[:2])
            private = [f"subnet-{_stable_hex(name, 'private', z)}" for z in zones]
            public = [f"subnet-{_stable_hex(name, 'public', z)}" for z in zones]
            for subnet, zone in zip(private + public, zones + zones, strict=True):
                self.subnet_zones[subnet] = zone
            vpc_id = f"vpc-{_stable_hex(name)}"
            # awsx/ec2/vpc.ts: every subnet gets an aws.ec2.RouteTable of its own (child of the subnet) and an
            # aws.ec2.RouteTableAssociation (child of the route table); `routeTables` and
            # `routeTableAssociations` are references to them, public and private alike, in subnet order.
            assert self.monitor is not None
            route_tables, associations = [], []
            for subnet, kind in [(s, "private") for s in private] + [(s, "public") for s in public]:
                table_id = f"rtb-{_stable_hex(name, subnet)}"
                route_tables.append(self.monitor.register_child(
                    "aws:ec2/routeTable:RouteTable", f"{name}-{kind}-{subnet}", table_id,
                    {"id": table_id, "vpcId": vpc_id}))
                association_id = f"rtbassoc-{_stable_hex(name, subnet, 'association')}"
                associations.append(self.monitor.register_child(
                    "aws:ec2/routeTableAssociation:RouteTableAssociation", f"{name}-{kind}-{subnet}", association_id,
                    {"id": association_id, "subnetId": subnet, "routeTableId": table_id}))
            return {"vpcId": vpc_id, "privateSubnetIds": private, "publicSubnetIds": public,
                    "routeTables": route_tables, "routeTableAssociations": associations}
        if typ == "eks:index:Cluster":
            return self._eks_cluster_outputs(name, inputs)
        if typ == "aws:iam/role:Role":
            role_name = inputs.get("name") or _aws_autoname(name)
            return {"name": role_name, "arn": f"arn:aws:iam::123456789012:role/{role_name}", "id": role_name}
        if typ == "aws:iam/policy:Policy":
            policy_name = inputs.get("name") or _aws_autoname(name)
            arn = f"arn:aws:iam::123456789012:policy/{policy_name}"
            return {"name": policy_name, "arn": arn, "id": arn}
        if typ == "aws:kms/key:Key":
            key_id = f"{_stable_hex(name, length=8)}-0000-4000-8000-{_stable_hex(name, 'key', length=12)}"
            return {"id": key_id, "keyId": key_id, "arn": f"arn:aws:kms:{self.region}:123456789012:key/{key_id}"}
        if typ == "aws:ec2/launchTemplate:LaunchTemplate":
            return {"id": f"lt-{_stable_hex(name)}", "latestVersion": 1, "defaultVersion": 1}
        if typ == "aws:ec2/securityGroup:SecurityGroup":
            return {"id": f"sg-{_stable_hex(name)}"}
        if typ == "aws:ec2/keyPair:KeyPair":
            return {"keyName": inputs.get("keyName") or f"{name}-{_stable_hex(name, length=7)}", "id": name}
        if typ == "aws:eks/addon:Addon":
            # terraform-provider-aws internal/service/eks: `addonResourceIDSeparator = ":"`,
            # ID `<cluster name>:<add-on name>`; the ARN EKS assigns ends in a generated suffix.
            cluster_name, addon_name = inputs.get("clusterName"), inputs["addonName"]
            return {"id": f"{cluster_name}:{addon_name}", "arn": self._arn(
                "eks", f"addon/{cluster_name}/{addon_name}/{_stable_hex(name, length=8)}").replace(
                "::", f":{self.region}:", 1)}
        if typ == "aws:eks/podIdentityAssociation:PodIdentityAssociation":
            # terraform-provider-aws internal/service/eks/pod_identity_association.go: the ID is the association ID
            # (`data.ID = data.AssociationID`); EKS assigns `a-` and 17 characters, and an ARN
            # arn:aws:eks:<region>:<account>:podidentityassociation/<cluster>/<association ID>.
            association_id = f"a-{_stable_hex(name, 'association')}"
            return {"id": association_id, "associationId": association_id,
                    "associationArn": f"arn:aws:eks:{self.region}:123456789012:podidentityassociation/"
                                      f"{inputs.get('clusterName')}/{association_id}",
                    "externalId": _stable_hex(name, "external", length=32), "disableSessionTags": False}
        if typ == "aws:ec2/vpcEndpoint:VpcEndpoint":
            # A gateway endpoint's ID, and the managed prefix list of the service that the route tables get.
            return {"id": f"vpce-{_stable_hex(name)}", "prefixListId": f"pl-{_stable_hex(name, length=8)}",
                    "arn": f"arn:aws:ec2:{self.region}:123456789012:vpc-endpoint/vpce-{_stable_hex(name)}",
                    "state": "available"}
        # Amazon Managed Service for Prometheus and SNS, as pulumi-aws 7.51.1 documents them (amp/*.py, sns/*.py):
        # workspace IDs `ws-<uuid>` and an endpoint ending in "/", scraper IDs `s-<uuid>` with a service-linked
        # role, rule group namespaces imported by ARN, topics by ARN (their ID), subscriptions `<topic arn>:<uuid>`.
        if typ == "aws:amp/workspace:Workspace":
            workspace_id = f"ws-{self._uuid(name)}"
            return {"id": workspace_id, "arn": self._regional_arn("aps", f"workspace/{workspace_id}"),
                    "prometheusEndpoint": f"https://aps-workspaces.{self.region}.amazonaws.com/workspaces/{workspace_id}/"}
        if typ == "aws:amp/scraper:Scraper":
            scraper_id = f"s-{self._uuid(name)}"
            return {"id": scraper_id, "arn": self._regional_arn("aps", f"scraper/{scraper_id}"),
                    "roleArn": "arn:aws:iam::123456789012:role/aws-service-role/scraper.aps.amazonaws.com/"
                               f"AWSServiceRoleForAmazonPrometheusScraper_{_stable_hex(name, length=7)}"}
        if typ == "aws:amp/ruleGroupNamespace:RuleGroupNamespace":
            arn = self._regional_arn("aps", f"rulegroupsnamespace/{self._uuid(name)}/{inputs.get('name')}")
            return {"id": arn, "arn": arn}
        if typ == "aws:amp/alertManagerDefinition:AlertManagerDefinition":
            return {"id": inputs.get("workspaceId")}
        if typ == "aws:sns/topic:Topic":
            topic_name = inputs.get("name") or _aws_autoname(name)
            arn = self._regional_arn("sns", topic_name)
            return {"id": arn, "arn": arn, "name": topic_name}
        if typ == "aws:sns/topicPolicy:TopicPolicy":
            return {"id": inputs.get("arn"), "owner": "123456789012"}
        if typ == "aws:sns/topicSubscription:TopicSubscription":
            arn = f"{inputs.get('topic')}:{self._uuid(name)}"
            return {"id": arn, "arn": arn, "pendingConfirmation": True}
        if typ == "aws:ec2/subnet:Subnet":
            subnet_id = f"subnet-{_stable_hex(name)}"
            self.subnet_zones[subnet_id] = str(inputs.get("availabilityZone"))
            return {"id": subnet_id, "arn": self._regional_arn("ec2", f"subnet/{subnet_id}")}
        # Karpenter's (components/karpenter.py, neuron_node_pool.py), as terraform-provider-aws sets their IDs: a
        # queue's and its policy's ID is the queue URL (sqs/queue.go `d.SetId(aws.ToString(output.QueueUrl))`,
        # queue_policy.go); a rule's its name on the default bus (events/rule.go); a target's `<rule>-<target id>`
        # (events/target.go targetCreateResourceID); an access entry's `<cluster>:<principal ARN>` (eks/access_entry.go
        # accessEntryCreateResourceID); an ec2 Tag's `<resource id>,<key>` (ec2/tag.go).
        if typ == "aws:sqs/queue:Queue":
            queue_name = inputs.get("name") or _aws_autoname(name)
            url = f"https://sqs.{self.region}.amazonaws.com/123456789012/{queue_name}"
            return {"id": url, "url": url, "name": queue_name, "arn": self._regional_arn("sqs", queue_name)}
        if typ == "aws:sqs/queuePolicy:QueuePolicy":
            return {"id": inputs.get("queueUrl")}
        if typ == "aws:cloudwatch/eventRule:EventRule":
            rule_name = inputs.get("name") or _aws_autoname(name)
            return {"id": rule_name, "name": rule_name, "arn": self._regional_arn("events", f"rule/{rule_name}")}
        if typ == "aws:cloudwatch/eventTarget:EventTarget":
            return {"id": f"{inputs.get('rule')}-{inputs.get('targetId')}"}
        if typ == "aws:eks/accessEntry:AccessEntry":
            cluster_name, principal = inputs.get("clusterName"), str(inputs.get("principalArn"))
            role_path = principal.split(":", 5)[-1]  # role/<name>
            return {"id": f"{cluster_name}:{principal}",
                    "accessEntryArn": f"arn:aws:eks:{self.region}:123456789012:access-entry/{cluster_name}/"
                                      f"{role_path.replace('role/', 'role/123456789012/', 1)}/{self._uuid(name)}",
                    # EKS sets the user name of an EC2_LINUX entry itself (the API refuses one as input).
                    "userName": "system:node:{{EC2PrivateDNSName}}"}
        if typ == "aws:ec2/tag:Tag":
            return {"id": f"{inputs.get('resourceId')},{inputs.get('key')}"}
        if typ == "aws:eks/nodeGroup:NodeGroup":
            node_group_name = inputs.get("nodeGroupName") or f"{name}-{_stable_hex(name, length=7)}"
            return {"nodeGroupName": node_group_name, "status": "ACTIVE",
                    "id": f"{inputs.get('clusterName')}:{node_group_name}"}
        return {}

    def _eks_cluster_outputs(self, name: str, inputs: dict) -> dict[str, Any]:
        cluster_name = inputs.get("name") or f"{name}-eksCluster-{_stable_hex(name, length=7)}"
        issuer = f"oidc.eks.{self.region}.amazonaws.com/id/{_stable_hex(cluster_name, length=32).upper()}"
        cluster_sg = f"sg-{_stable_hex(cluster_name, 'cluster')}"
        eks_cluster_state = {
            "name": cluster_name,
            "arn": self._arn("eks", f"cluster/{cluster_name}").replace("::", f":{self.region}:", 1),
            "version": inputs.get("version"),
            "vpcConfig": {"clusterSecurityGroupId": cluster_sg},
        }
        assert self.monitor is not None
        eks_cluster_ref = self.monitor.register_child(
            "aws:eks/cluster:Cluster", f"{name}-eksCluster", cluster_name, eks_cluster_state)
        kubeconfig = pulumi_eks_kubeconfig(
            cluster_name, f"https://{_stable_hex(cluster_name, length=32).upper()}.gr7.{self.region}.eks.amazonaws.com",
            self.region)
        issuer_url = f"https://{issuer}"
        self.kubeconfig_of_cluster = kubeconfig
        return {
            "eksCluster": eks_cluster_ref,
            "kubeconfig": kubeconfig,
            "kubeconfigJson": json.dumps(kubeconfig),
            "oidcProviderArn": f"arn:aws:iam::123456789012:oidc-provider/{issuer}",
            # pulumi-eks nodejs/eks/cluster/cluster.ts (v4.3.0 and later): `oidcProviderUrl: oidcIssuerUrl`
            # (the EKS identity's issuer, with its https:// scheme) and
            # `oidcIssuer: oidcIssuerUrl.apply((url) => url.replace("https://", ""))`.
            "oidcProviderUrl": issuer_url,
            "oidcIssuer": issuer,
            # With skipDefaultSecurityGroups, `core.cluster.vpcConfig.clusterSecurityGroupId`: the group EKS creates.
            "clusterSecurityGroupId": cluster_sg,
        }


class RecordingMonitor(mocks.MockMonitor):
    """A mock monitor that keeps every registration with its parent and wire-format inputs."""

    def __init__(self, mocks_: CloudMocks) -> None:
        super().__init__(mocks_)
        mocks_.monitor = self
        self.registrations: list[Registration] = []
        self.registered_outputs: dict[str, dict[str, Any]] = {}

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            raw = json_format.MessageToDict(request.object)
            self.registrations.append(Registration(
                type=request.type, name=request.name, urn=response.urn, parent=request.parent,
                custom=bool(request.custom), provider=request.provider,
                inputs=rpc.deserialize_properties(request.object), raw_inputs=raw,
                outputs=self.resources[response.urn].state, dependencies=list(request.dependencies),
                custom_timeouts={field: getattr(request.customTimeouts, field)
                                 for field in ("create", "update", "delete") if getattr(request.customTimeouts, field)},
                ignore_changes=list(request.ignoreChanges),
                property_dependencies={key: list(deps.urns) for key, deps in request.propertyDependencies.items()},
                aliases=[(alias.spec.type or alias.spec.name) if alias.HasField("spec") else alias.urn
                         for alias in request.aliases],
            ))
        return response

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine makes them (sdk/go/common/resource/urn.go `NewURN`): the parent's whole
        qualified type, `$`, the type; a top-level resource's parent (the stack) adds nothing. The SDK's
        mock keeps only the parent's last type and keeps the stack's, so its URNs differ from real ones."""
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != ROOT_STACK_TYPE:
                type_ = f"{parent_type}${type_}"
        return "urn:pulumi:" + "::".join([settings.get_stack(), settings.get_project(), type_, name])

    def RegisterResourceOutputs(self, request):  # noqa: N802 (gRPC method name)
        """A component's `register_outputs`; kept as wire values (deserializing a resource reference
        would rebuild it on this thread's event loop)."""
        self.registered_outputs[request.urn] = json_format.MessageToDict(request.outputs)
        return super().RegisterResourceOutputs(request)

    def Call(self, request):  # noqa: N802 (gRPC method name)
        """Method calls on remote components (`eks.Cluster.get_kubeconfig`), which the SDK's mock
        monitor does not implement. The arguments stay wire values: deserializing `__self__` would
        rebuild the component on this thread's event loop ("attached to a different loop")."""
        args = json_format.MessageToDict(request.args)
        answer, _ = self.mocks.call(pulumi.runtime.MockCallArgs(token=request.tok, args=args, provider=request.provider))
        return provider_pb2.CallResponse(**{"return": _sync_await(rpc.serialize_properties(answer, {}))})

    def register_child(self, type_: str, name: str, resource_id: str, state: dict) -> dict:
        """Register a resource a remote component would create; return a reference to it."""
        urn = self.make_urn("", type_, name)
        self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, resource_id, state)
        return {rpc._special_sig_key: rpc._special_resource_sig, "urn": urn, "id": resource_id}


def plain(value: Any) -> Any:
    """Wire values as a user would write them: integral floats as ints, secrets redacted,
    unknowns shown as `<computed>`."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG[0]) == SECRET_SIG[1]:
            return REDACTED
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == UNKNOWN:
        return COMPUTED
    return value


def config_env(values: Mapping[str, Any]) -> dict[str, str]:
    """Config values as the CLI hands them to a program: strings, with lists and maps as JSON."""
    env: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, (list, dict)):
            env[key] = json.dumps(value)
        elif isinstance(value, bool):
            env[key] = "true" if value else "false"
        else:
            env[key] = str(value)
    return env


def run_program(config: Mapping[str, Any], *, stack: str = "dev", preview: bool = False,
                region: str = DEFAULT_REGION, offerings: Mapping[str, tuple[str, ...]] | None = None,
                subnet_zones: Mapping[str, str] | None = None,
                program: Callable[[], None] | None = None) -> ProgramRun:
    """Run `__main__.py` with `config` (full keys, e.g. `eks-inferentia:replicas`) and return what it declared.

    `program`, when given, runs instead of `__main__.py` (a component declared on its own, with options
    the program does not pass). Exceptions from the program (bad config, a failed placement) propagate.
    """
    cloud = CloudMocks(preview=preview, stack=stack, region=region, offerings=offerings, subnet_zones=subnet_zones)
    monitor = RecordingMonitor(cloud)
    settings.ROOT.set(None)
    set_all_config({"aws:region": region, **config_env(config)})
    pulumi.runtime.set_mocks(cloud, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    settings.SETTINGS.outputs.clear()

    def main() -> None:
        runpy.run_path(str(PROGRAM), run_name="__main__")

    _sync_await(run_pulumi_func(program or main))

    root = settings.get_root_resource()
    outputs: dict[str, Any] = {}
    secret: set[str] = set()
    unknown: set[str] = set()
    for name, value in getattr(root, "outputs", {}).items():
        out = pulumi.Output.from_input(value)
        resolved = _sync_await(out.future(with_unknowns=True))
        if not _sync_await(out.is_known()) or _contains_unknown(resolved):
            unknown.add(name)
            resolved = COMPUTED
        if _sync_await(out.is_secret()):
            secret.add(name)
        outputs[name] = plain(resolved)
    return ProgramRun(monitor.registrations, outputs, secret, unknown, preview, monitor.registered_outputs)


def _contains_unknown(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_unknown(v) for v in value)
    return isinstance(value, pulumi.output.Unknown)
