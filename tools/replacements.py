"""Which inputs force a replacement, per resource type the program declares.

`REPLACE_ON_CHANGE[type]` lists input paths (wire names, dotted into objects, `*` for any item of a
list of objects) whose change makes the provider replace the resource instead of updating it. A
changed path replaces when it is one of these, lies under one, or holds one (a whole block added or
removed, a list of objects growing or shrinking). Only inputs the program sets
are listed (tests/test_compare.py checks each path exists in a rendered run); the provider comments
name the other replace-triggering fields the program leaves unset.

Sources, read for this table (`verified`), or not re-read here (`not verified`):
- pulumi-aws resources are bridged from terraform-provider-aws: a field with `ForceNew: true` in the
  Terraform schema replaces (the bridge turns ForceNew into a replacement in its Diff). Files read in
  hashicorp/terraform-provider-aws (the stored versions named beside each entry; pulumi_aws 7.51.1 is
  built on a 6.x provider, whose schemas these match for the fields the program uses).
- pulumi-kubernetes: provider/pkg/provider/provider.go Diff (`forceNewFields := []string{".metadata.name",
  ".metadata.namespace"}`, then `k.forceNewProperties(newInputs)`) and provider/pkg/provider/diff.go
  (the per-kind `forceNew` table), pulumi/pulumi-kubernetes @ 94977969 (unchanged since v4.32.0).
- Remote components (`eks:index:Cluster`, `awsx:ec2:Vpc`, the Helm Chart v4) are not replaced
  themselves; an input listed for them replaces the child resources it feeds (named in NOTES).
"""

from __future__ import annotations

# Every Kubernetes object: "Changing the identity of the resource always causes a replacement."
# (provider.go: forceNewFields := []string{".metadata.name", ".metadata.namespace"}) (verified)
_K8S_IDENTITY = ("metadata.name", "metadata.namespace")

REPLACE_ON_CHANGE: dict[str, tuple[str, ...]] = {
    # internal/service/eks/node_group.go @ b11fc0fd (verified): ForceNew on ami_type, capacity_type,
    # cluster_name, instance_types, launch_template.id / .name, node_role_arn, subnet_ids (also
    # disk_size, node_group_name(_prefix), remote_access, which the program does not set). Not
    # ForceNew: labels, launch_template.version, scaling_config, taint, update_config, version, tags.
    "aws:eks/nodeGroup:NodeGroup": ("amiType", "capacityType", "clusterName", "instanceTypes",
                                    "launchTemplate.id", "nodeRoleArn", "subnetIds"),
    # internal/service/eks/addon.go (verified in a stored version): addon_name and cluster_name are
    # ForceNew; addon_version, configuration_values and resolve_conflicts_* update in place.
    "aws:eks/addon:Addon": ("addonName", "clusterName"),
    # internal/service/eks/pod_identity_association.go (verified in a stored version): cluster_name, namespace
    # and service_account RequiresReplace; role_arn, disable_session_tags and target_role_arn update in place.
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": ("clusterName", "namespace", "serviceAccount"),
    # internal/service/ec2/vpc_endpoint.go (not verified here): service_name, vpc_id and vpc_endpoint_type are
    # ForceNew; route_table_ids and tags update in place.
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("serviceName", "vpcEndpointType", "vpcId"),
    # internal/service/ec2/ec2_launch_template.go (verified for update_default_version, user_data,
    # vpc_security_group_ids: no ForceNew): only name / name_prefix replace, and the program lets
    # pulumi auto-name it. Every other change makes a new template version.
    "aws:ec2/launchTemplate:LaunchTemplate": (),
    # internal/service/iam/role.go (verified in stored versions: description and assume_role_policy
    # are not ForceNew, path is). name / name_prefix replace too (not verified here); the program
    # sets none of them (auto-named).
    "aws:iam/role:Role": (),
    # internal/service/iam/role_policy_attachment.go @ 04c79849 (verified): role and policy_arn are
    # both ForceNew; the resource has no Update.
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("policyArn", "role"),
    # internal/service/iam/policy.go @ 01ccd9a2 (verified): description, name, name_prefix and path
    # are ForceNew; policy (a new default version) and tags update in place.
    "aws:iam/policy:Policy": ("description",),
    # internal/service/kms/alias.go @ 01c08000 (verified): name and name_prefix are ForceNew;
    # target_key_id updates in place (UpdateAlias).
    "aws:kms/alias:Alias": ("name",),
    # internal/service/kms/key.go (verified in stored versions): customer_master_key_spec is ForceNew;
    # description, enable_key_rotation and deletion_window_in_days are not. key_usage, multi_region,
    # custom_key_store_id are ForceNew too (not verified here); the program sets none of them.
    "aws:kms/key:Key": (),
    # internal/service/ec2/ec2_key_pair.go @ 05bc9541 (verified): public_key, key_name and
    # key_name_prefix are ForceNew; "Tags only." is all Update does.
    "aws:ec2/keyPair:KeyPair": ("publicKey",),
    # internal/service/ec2/vpc_security_group.go @ 01606926 (verified): description, name,
    # name_prefix and vpc_id are ForceNew; ingress/egress rules update in place.
    "aws:ec2/securityGroup:SecurityGroup": ("description", "vpcId"),
    # pulumi-eks nodejs/eks/cluster/cluster.ts @ 7bf0c1b (verified): `name: args.name` goes to the
    # aws.eks.Cluster, whose name is ForceNew (internal/service/eks/cluster.go @ 00555dc5, verified).
    # Not ForceNew there: version, vpc_config subnet_ids / public_access_cidrs / endpoint access
    # (UpdateClusterConfig), enabled_cluster_log_types, access_config.authentication_mode,
    # encryption_config (see NOTES). With skipDefaultSecurityGroups no security group uses vpcId.
    "eks:index:Cluster": ("name",),
    # pulumi-awsx awsx/ec2/vpc.ts @ e60adf3 (verified): the aws.ec2.Vpc gets cidrBlock; each
    # aws.ec2.Subnet is named `<vpc>-<spec>-<1-based zone index>` (subnetNaming.ts) and gets
    # `availabilityZone: spec.azName, cidrBlock: spec.cidrBlock`, the CIDRs allocated from the VPC's
    # block, the zone count and each spec's cidrMask (subnetDistributorNew.ts allocateSubnetCidrBlocks).
    # aws_vpc cidr_block and aws_subnet availability_zone / cidr_block are ForceNew (not verified here).
    "awsx:ec2:Vpc": ("availabilityZoneNames", "cidrBlock", "subnetSpecs.*.cidrMask", "subnetSpecs.*.type"),
    # pulumi-kubernetes provider.go DiffConfig (verified): a replacement when the kubeconfig's active
    # cluster changes ("we try to strike a reasonable balance by planning a replacement iff the active
    # cluster in the kubeconfig changes"); every object using a replaced provider is replaced too.
    # Listed whole: here the kubeconfig changes only with the cluster (conservative).
    "pulumi:providers:kubernetes": ("kubeconfig",),
    # Chart v4 is a component: the provider renders the chart and diffs each object it contains with
    # the rules below at deploy time; those objects are not in this render (not verified per object).
    "kubernetes:helm.sh/v4:Chart": (),
    # diff.go (verified): core/v1 has no extra fields for Namespace, ServiceAccount; ConfigMap
    # `.binaryData`, `.data` replace unless the provider enables enableConfigMapMutable (default false,
    # provider.go: "Default to false."; the program does not enable it).
    "kubernetes:core/v1:Namespace": ("metadata.name",),
    "kubernetes:core/v1:ServiceAccount": _K8S_IDENTITY,
    "kubernetes:core/v1:ConfigMap": (*_K8S_IDENTITY, "data"),
    # diff.go `Service: properties{".spec.clusterIP"}` (verified); the program leaves clusterIP unset.
    "kubernetes:core/v1:Service": _K8S_IDENTITY,
    # diff.go `var deployment = ... ".spec.selector" ...` (apps/v1, verified).
    "kubernetes:apps/v1:Deployment": (*_K8S_IDENTITY, "spec.selector"),
    # diff.go `var job = ... ".spec.completions", ".spec.parallelism", ".spec.selector", ".spec.template"`
    # (batch/v1, verified): any change to the pod template replaces the Job. metadata.name would too;
    # the program leaves the Job auto-named.
    "kubernetes:batch/v1:Job": ("metadata.namespace", "spec.template"),
    # diff.go lists PodDisruptionBudget `.spec` only under policy/v1beta1 (verified); policy/v1, which
    # the program uses, has no entry, so its spec updates in place.
    "kubernetes:policy/v1:PodDisruptionBudget": _K8S_IDENTITY,
    # networking.k8s.io has no entry in diff.go (verified).
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": _K8S_IDENTITY,
    # diff.go `var daemonset = ... ".spec.selector"` (apps/v1, verified @ 94977969).
    "kubernetes:apps/v1:DaemonSet": (*_K8S_IDENTITY, "spec.selector"),
    # Monitoring (components/monitoring.py). Scraper: pulumi_aws 7.51.1 amp/scraper.py (verified): "If you
    # change a Scraper's source ..., Terraform will delete the current Scraper and create a new one."
    # Workspace: only kms_key_arn replaces, unset here (pulumi_aws docs; not verified in the provider source).
    # The others: the fields that name the parent object (not verified in terraform-provider-aws here).
    "aws:amp/workspace:Workspace": (),
    "aws:amp/scraper:Scraper": ("source",),
    "aws:amp/ruleGroupNamespace:RuleGroupNamespace": ("name", "workspaceId"),
    "aws:amp/alertManagerDefinition:AlertManagerDefinition": ("workspaceId",),
    "aws:ec2/subnet:Subnet": ("availabilityZone", "cidrBlock", "vpcId"),
    "aws:sns/topic:Topic": (),
    "aws:sns/topicPolicy:TopicPolicy": ("arn",),
    "aws:sns/topicSubscription:TopicSubscription": ("endpoint", "protocol", "topic"),
    # Karpenter (nodeProvisioner karpenter; components/karpenter.py, neuron_node_pool.py), not verified in
    # terraform-provider-aws here: a queue's name and fifo_queue replace (both unset: the queue is auto-named),
    # a queue policy's queue_url, a rule's name and bus (unset), a target's rule and target_id, an access entry's
    # cluster, principal and type, an ec2 Tag's resource and key (its value updates in place).
    "aws:sqs/queue:Queue": (),
    "aws:sqs/queuePolicy:QueuePolicy": ("queueUrl",),
    "aws:cloudwatch/eventRule:EventRule": (),
    "aws:cloudwatch/eventTarget:EventTarget": ("rule", "targetId"),
    "aws:eks/accessEntry:AccessEntry": ("clusterName", "principalArn", "type"),
    "aws:ec2/tag:Tag": ("resourceId", "key"),
    # Custom resources have no entry in pulumi-kubernetes' diff.go: only their identity replaces (verified, as above).
    "kubernetes:karpenter.sh/v1:NodePool": ("metadata.name",),
    "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass": ("metadata.name",),
}

# What the table cannot say by itself: printed under the comparison when the input changed.
NOTES: dict[tuple[str, str], str] = {
    ("awsx:ec2:Vpc", "availabilityZoneNames"):
        "awsx names subnets by zone index (<vpc>-private-N, <vpc>-public-N): a different zone at an index "
        "replaces that index's subnets, and a different number of zones can move every subnet's CIDR",
    ("awsx:ec2:Vpc", "cidrBlock"): "a new VPC CIDR replaces the VPC and every subnet in it",
    ("awsx:ec2:Vpc", "subnetSpecs"): "a different cidrMask or list of specs moves subnet CIDRs, which replaces those subnets",
    ("eks:index:Cluster", "encryptionConfigKeyArn"):
        "EKS cannot change the key of an encrypted cluster: terraform-provider-aws only associates a key "
        "when there was none (AssociateEncryptionConfig), and removing it forces a new cluster",
    ("eks:index:Cluster", "privateSubnetIds"):
        "EKS updates a cluster's subnets in place (UpdateClusterConfig), within the cluster's VPC only",
    ("kubernetes:helm.sh/v4:Chart", "version"):
        "a new chart version updates the chart's objects; any of them may still be replaced by its own "
        "immutable fields, which only the deploy-time render shows",
}


def _covers(path: str, changed_path: str) -> bool:
    """`path` (with `*` for any list index) and `changed_path` agree as far as the shorter goes."""
    return all(want == got or (want == "*" and got.isdigit())
               for want, got in zip(path.split("."), changed_path.split("."), strict=False))


def replacing(type_: str, changed_path: str) -> bool:
    """Whether a change at `changed_path` (dotted, list items by index) of a `type_` resource forces a replacement."""
    return any(_covers(path, changed_path) for path in REPLACE_ON_CHANGE.get(type_, ()))
