"""NeuronCluster: the network and the EKS control plane (the walkthrough's `eksctl create cluster`).

A dedicated VPC (public and private subnets in two zones, one NAT gateway, as eksctl builds)
or an existing one; an EKS cluster with its IAM OIDC provider (`--with-oidc`), no default node
group, access entries for authentication; and a Kubernetes provider built from its kubeconfig.

Hardening the walkthrough leaves out: Kubernetes secrets envelope-encrypted with a KMS key of
the stack's own (rotated yearly); control-plane logs for the API, audit and authenticator; the
public API endpoint limited to `api_allowed_cidrs`, with private access on so nodes never leave
the VPC to reach it; and NetworkPolicy enforcement in the VPC CNI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_awsx as awsx
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from eks_inferentia.versions import PinnedAddons

# Control-plane logs worth having from day one: who called the API, and how they authenticated.
CLUSTER_LOG_TYPES = ("api", "audit", "authenticator")
VPC_CIDR = "10.0.0.0/16"
SECRETS_KEY_DELETION_WINDOW_DAYS = 30


@dataclass(frozen=True)
class NeuronClusterArgs:
    cluster_name: str
    """Name of the EKS cluster."""
    kubernetes_version: str
    """Kubernetes version, `1.N`."""
    addons: PinnedAddons
    """Add-on versions for `kubernetes_version`; vpc-cni and kube-proxy are installed with the cluster."""
    vpc_zones: Sequence[str] = ()
    """Zones of a dedicated VPC, in subnet order (`eks_inferentia.placement`); never follows the instance type."""
    vpc_id: str | None = None
    """An existing VPC; with it, `private_subnet_ids` and `public_subnet_ids` are required."""
    private_subnet_ids: Sequence[str] = ()
    public_subnet_ids: Sequence[str] = ()
    api_allowed_cidrs: Sequence[str] = ("0.0.0.0/0",)
    """CIDRs that may reach the public API endpoint."""
    aws_profile: str | None = None
    """The stack's `aws:profile`: the Kubernetes provider's kubeconfig signs with it."""
    private_subnet_tags: dict[str, str] = field(default_factory=dict)
    """More tags of the dedicated VPC's private subnets (Karpenter's discovery tag); updated in place."""
    tags: dict[str, str] = field(default_factory=dict)


def route_tables_of(associations: Sequence[Sequence[str]], subnet_ids: Sequence[str]) -> list[str]:
    """The route tables associated with `subnet_ids`, from (subnet, route table) pairs, once each, in subnet order."""
    by_subnet = {subnet: route_table for subnet, route_table in associations}
    missing = [subnet for subnet in subnet_ids if subnet not in by_subnet]
    if missing:
        raise ValueError(f"no route table is associated with subnets {missing}")
    return list(dict.fromkeys(by_subnet[subnet] for subnet in subnet_ids))


class NeuronCluster(pulumi.ComponentResource):
    cluster_name: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    oidc_provider_url: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    vpc_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[Sequence[str]]
    public_subnet_ids: pulumi.Output[Sequence[str]]
    cluster_security_group_id: pulumi.Output[str]
    secrets_key_arn: pulumi.Output[str]
    provider: k8s.Provider
    """Kubernetes provider for the cluster; pass it to every Kubernetes resource."""

    def __init__(self, name: str, args: NeuronClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-inferentia:index:NeuronCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        if args.vpc_id is None:
            vpc = awsx.ec2.Vpc(
                f"{name}-vpc",
                cidr_block=VPC_CIDR,
                # Subnets are named by the index of their zone: this list must not change on a live stack.
                availability_zone_names=list(args.vpc_zones),
                nat_gateways=awsx.ec2.NatGatewayConfigurationArgs(strategy=awsx.ec2.NatGatewayStrategy.SINGLE),
                subnet_specs=[
                    # Tags let the AWS Load Balancer Controller find subnets for Services and Ingresses.
                    awsx.ec2.SubnetSpecArgs(type=awsx.ec2.SubnetType.PRIVATE, cidr_mask=19,
                                            tags={"kubernetes.io/role/internal-elb": "1", **args.private_subnet_tags,
                                                  **args.tags}),
                    awsx.ec2.SubnetSpecArgs(type=awsx.ec2.SubnetType.PUBLIC, cidr_mask=20,
                                            tags={"kubernetes.io/role/elb": "1", **args.tags}),
                ],
                enable_dns_hostnames=True,
                tags={"Name": f"{args.cluster_name}-vpc", **args.tags},
                opts=child,
            )
            self.vpc_id = vpc.vpc_id
            self.private_subnet_ids = vpc.private_subnet_ids
            self.public_subnet_ids = vpc.public_subnet_ids
            def subnet_and_route_table(associations: Sequence[aws.ec2.RouteTableAssociation]) -> pulumi.Output[Any]:
                return pulumi.Output.all(*[pulumi.Output.all(a.subnet_id, a.route_table_id) for a in associations])

            pairs: pulumi.Output[Any] = vpc.route_table_associations.apply(subnet_and_route_table)
            partition = aws.get_partition_output()
            region = aws.get_region_output().region
            aws.ec2.VpcEndpoint(
                f"{name}-s3",
                vpc_id=self.vpc_id,
                # com.amazonaws.<region>.s3 (cn.com.amazonaws.<region>.s3 in China).
                service_name=pulumi.Output.concat(partition.reverse_dns_prefix, ".", region, ".s3"),
                vpc_endpoint_type="Gateway",
                route_table_ids=pulumi.Output.all(pairs, vpc.private_subnet_ids).apply(
                    lambda both: route_tables_of(both[0], both[1])),
                tags={"Name": f"{args.cluster_name}-s3", **args.tags},
                opts=child,
            )
        else:
            self.vpc_id = pulumi.Output.from_input(args.vpc_id)
            self.private_subnet_ids = pulumi.Output.from_input(list(args.private_subnet_ids))
            self.public_subnet_ids = pulumi.Output.from_input(list(args.public_subnet_ids))

        secrets_key = aws.kms.Key(
            f"{name}-secrets",
            description=f"Envelope encryption of Kubernetes secrets in EKS cluster {args.cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=SECRETS_KEY_DELETION_WINDOW_DAYS,
            tags=args.tags,
            opts=child,
        )
        aws.kms.Alias(f"{name}-secrets", name=f"alias/eks/{args.cluster_name}-secrets",
                      target_key_id=secrets_key.key_id, opts=child)

        # Only plain values go into the remote eks.Cluster component: no resource objects.
        cluster = eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            version=args.kubernetes_version,
            vpc_id=self.vpc_id,
            private_subnet_ids=self.private_subnet_ids,
            public_subnet_ids=self.public_subnet_ids,
            node_associate_public_ip_address=False,
            skip_default_node_group=True,
            # Managed node groups use the security group EKS creates; pulumi-eks' own are for self-managed nodes.
            skip_default_security_groups=True,
            create_oidc_provider=True,
            authentication_mode=eks.AuthenticationMode.API,
            endpoint_private_access=True,
            endpoint_public_access=True,
            public_access_cidrs=list(args.api_allowed_cidrs),
            encryption_config_key_arn=secrets_key.arn,
            enabled_cluster_log_types=list(CLUSTER_LOG_TYPES),
            # Enforce NetworkPolicy objects (the serving namespace admits only its clients).
            # Pinned add-on versions: without them pulumi-eks takes the newest at every `up`.
            vpc_cni_options=eks.VpcCniOptionsArgs(enable_network_policy=True, addon_version=args.addons.vpc_cni),
            kube_proxy_addon_options=eks.KubeProxyAddonOptionsArgs(version=args.addons.kube_proxy),
            # CoreDNS is a ClusterAddons child, created once nodes exist; never a second copy here.
            coredns_addon_options=eks.CoreDnsAddonOptionsArgs(enabled=False),
            tags=args.tags,
            opts=child,
        )
        self.cluster_name = cluster.eks_cluster.name
        self.cluster_arn = cluster.eks_cluster.arn
        self.kubeconfig = pulumi.Output.secret(cluster.kubeconfig_json)
        self.oidc_provider_arn = cluster.oidc_provider_arn
        # pulumi-eks: oidcProviderUrl keeps the issuer's https://, oidcIssuer drops it (cluster.ts).
        self.oidc_provider_url = cluster.oidc_provider_url
        self.oidc_issuer = cluster.oidc_issuer
        self.cluster_security_group_id = cluster.cluster_security_group_id
        self.secrets_key_arn = secrets_key.arn

        # pulumi-eks exports its kubeconfig without the profile ("used by the user to interact with the
        # cluster and enable multi-user access", cluster.ts); the provider must sign with the stack's
        # profile, or it uses the ambient credentials and gets Unauthorized.
        provider_kubeconfig = self.kubeconfig
        if args.aws_profile:
            with_profile: pulumi.Output[str] = cluster.get_kubeconfig(profile_name=args.aws_profile)
            provider_kubeconfig = pulumi.Output.secret(with_profile)
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=provider_kubeconfig,
            opts=child,
        )

        self.register_outputs({
            "cluster_name": self.cluster_name,
            "cluster_arn": self.cluster_arn,
            "kubeconfig": self.kubeconfig,
            "oidc_provider_arn": self.oidc_provider_arn,
            "oidc_provider_url": self.oidc_provider_url,
            "oidc_issuer": self.oidc_issuer,
            "vpc_id": self.vpc_id,
            "private_subnet_ids": self.private_subnet_ids,
            "public_subnet_ids": self.public_subnet_ids,
            "cluster_security_group_id": self.cluster_security_group_id,
            "secrets_key_arn": self.secrets_key_arn,
        })

