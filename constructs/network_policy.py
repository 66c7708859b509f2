"""Every security group of an environment and every rule between them, in one place.

This file *is* the network policy (see the table in the README): the load balancer takes
HTTPS (and HTTP, to redirect) from the internet, or, without a certificate, plain HTTP from
the configured ranges only, and talks only to the control plane's port; the control plane
and agents reach out on 443 only; agents accept nothing at all; interface endpoints accept
443 from the control plane, agents and the dispatch janitor (ECS, when the environment has an
``ecs`` endpoint); the workspaces file system accepts NFS (2049) from
the control plane, agents and the workspace sweeper only and sends nothing; the task-state
callback and the dispatch janitor Lambdas reach out on 443 only (the callback's one call,
to DynamoDB, goes through the gateway endpoint; SQS dead-lettering is done by the Lambda
service); the workspace sweeper Lambda talks NFS to the file system and nothing else; the
artifacts collector Lambda talks NFS to the file system and HTTPS out (S3 and DynamoDB,
through their gateway endpoints). No
group keeps CDK's allow-all egress, and every rule says why it exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2

from compliance.acknowledgements import acknowledge
from compliance.scanners import skip_checkov
from config.ingress import IngressConfig
from constructs import Construct

HTTPS = 443
HTTP = 80
NFS = 2049


@dataclass(frozen=True)
class SecurityGroups:
    """The groups by who sits in them, as the README's policy table names them."""

    load_balancer: ec2.ISecurityGroup
    control_plane: ec2.ISecurityGroup
    agents: ec2.ISecurityGroup
    endpoints: ec2.ISecurityGroup
    file_system: ec2.ISecurityGroup
    callback: ec2.ISecurityGroup
    sweeper: ec2.ISecurityGroup
    janitor: ec2.ISecurityGroup
    collector: ec2.ISecurityGroup


class NetworkPolicy(Construct):
    """Security groups: ``load_balancer``, ``control_plane``, ``agents``, ``endpoints``,
    ``file_system`` (EFS mount targets), ``callback`` (the task-state Lambda), ``sweeper``
    (the workspace-sweeper Lambda), ``janitor`` (the dispatch-janitor Lambda) and ``collector``
    (the artifacts-collector Lambda)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        env_name: str,
        control_plane_port: int,
        ingress: IngressConfig,
    ) -> None:
        super().__init__(scope, construct_id)

        def group(group_id: str, purpose: str) -> ec2.SecurityGroup:
            return ec2.SecurityGroup(
                self,
                group_id,
                vpc=vpc,
                description=f"Outpost {env_name}: {purpose}",
                allow_all_outbound=False,
                allow_all_ipv6_outbound=False,
            )

        self.load_balancer = group("LoadBalancer", "public application load balancer")
        self.control_plane = group("ControlPlane", "control-plane API tasks")
        self.agents = group("Agents", "isolated agent tasks, no inbound traffic")
        self.endpoints = group("Endpoints", "VPC interface endpoints")
        self.file_system = group("FileSystem", "workspaces EFS mount targets, NFS from tasks only")
        self.callback = group("Callback", "task-state callback Lambda, outbound HTTPS only")
        self.sweeper = group("Sweeper", "workspace sweeper Lambda, NFS to the workspaces file system only")
        self.janitor = group("Janitor", "dispatch janitor Lambda, outbound HTTPS only")
        self.collector = group(
            "Collector", "artifacts collector Lambda, NFS to the workspaces file system and HTTPS out"
        )

        self._admit_clients(ingress)
        self.load_balancer.connections.allow_to(
            self.control_plane,
            ec2.Port.tcp(control_plane_port),
            "Load balancer forwards API requests to the control-plane container port",
        )

        self._reach_out()
        self._admit_to_endpoints_and_file_system()

    def _reach_out(self) -> None:
        """Egress of the control plane, the agents and the two HTTPS functions: 443 only."""
        self.control_plane.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(HTTPS),
            "Control plane calls AWS APIs over HTTPS (endpoints or NAT)",
        )
        self.agents.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(HTTPS),
            "Agents reach model providers, git hosting and package registries over HTTPS only",
        )

        self.callback.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(HTTPS),
            "Task-state callback calls DynamoDB over HTTPS (through the gateway endpoint)",
        )
        self.janitor.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(HTTPS),
            "Dispatch janitor calls the ECS and EFS APIs over HTTPS (endpoints or NAT)",
        )
        self.collector.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(HTTPS),
            "Artifacts collector calls S3 and DynamoDB over HTTPS (through the gateway endpoints)",
        )

    def _admit_to_endpoints_and_file_system(self) -> None:
        """HTTPS to the interface endpoints, NFS to the file system, from their clients only."""
        # Every group that calls an AWS API with an interface endpoint: with private DNS on, the
        # service's public name resolves to the endpoint, so a caller missing here cannot reach
        # that service at all (the dispatch janitor's ECS calls timed out this way in prod).
        # `make paths` checks each caller's route (tools/paths/*_paths.py).
        for client, who in (
            (self.control_plane, "control plane"),
            (self.agents, "agents"),
            (self.janitor, "dispatch janitor"),
        ):
            self.endpoints.connections.allow_from(
                client, ec2.Port.tcp(HTTPS), f"HTTPS from the {who} to AWS service endpoints"
            )
        # The workspaces file system: NFS from the tasks and the function that mount it,
        # nothing else in, and no egress rule at all (a mount target never opens a connection).
        for client, who in (
            (self.control_plane, "control plane"),
            (self.agents, "agents"),
            (self.sweeper, "workspace sweeper"),
            (self.collector, "artifacts collector"),
        ):
            self.file_system.connections.allow_from(
                client, ec2.Port.tcp(NFS), f"NFS from the {who} to the workspaces file system"
            )

    def _admit_clients(self, ingress: IngressConfig) -> None:
        """The load balancer's inbound rules. With a certificate: 443, and 80 that only
        redirects, from ``allowed_cidrs`` or else the internet. Without one: plain HTTP on 80,
        and only from ``allowed_cidrs`` (the settings check requires them and refuses /0)."""
        if not ingress.https:
            for cidr in ingress.allowed_cidrs:
                self.load_balancer.add_ingress_rule(
                    ec2.Peer.ipv4(cidr),
                    ec2.Port.tcp(HTTP),
                    f"Plain HTTP to the API from {cidr} only (no certificate configured)",
                )
            return
        peers = [ec2.Peer.ipv4(cidr) for cidr in ingress.allowed_cidrs] or [ec2.Peer.any_ipv4()]
        for peer in peers:
            who = peer.unique_id if ingress.allowed_cidrs else "the internet"
            self.load_balancer.add_ingress_rule(peer, ec2.Port.tcp(HTTPS), f"HTTPS from {who} to the API")
            self.load_balancer.add_ingress_rule(
                peer, ec2.Port.tcp(HTTP), f"HTTP from {who}: only redirected to HTTPS"
            )
        if ingress.allowed_cidrs:
            return
        acknowledge(
            self.load_balancer,
            "The public API's front door must accept the internet on 443 (80 only redirects): "
            "AWS WAF (managed rules, per-IP rate limit) filters requests, the listener is "
            "TLS 1.3 only and unknown paths get a fixed 404 before reaching any task.",
            "AwsSolutions-EC23",
        )
        skip_checkov(
            self.load_balancer,
            "CKV_AWS_260",
            "Port 80 on the public load balancer only answers with a redirect to HTTPS; AWS WAF "
            "filters every request.",
        )

    @property
    def groups(self) -> SecurityGroups:
        """Every group, for the stacks whose resources sit in them."""
        return SecurityGroups(
            load_balancer=self.load_balancer,
            control_plane=self.control_plane,
            agents=self.agents,
            endpoints=self.endpoints,
            file_system=self.file_system,
            callback=self.callback,
            sweeper=self.sweeper,
            janitor=self.janitor,
            collector=self.collector,
        )

    @staticmethod
    def without_rules(scope: Construct, construct_id: str, group: ec2.ISecurityGroup) -> ec2.ISecurityGroup:
        """``group`` for a resource outside the Network stack: an immutable import.

        CDK adds a rule wherever two resources are connected (a load balancer and its target,
        say); on a group imported this way it adds none, so every rule stays in the policy,
        and no second copy of a policy rule (which EC2 refuses as a duplicate) lands in
        another stack. (CDK's own idiom for an import, ``SecurityGroup.from_security_group_id``:
        it makes no resource, so a construct of its own would be an empty wrapper.)
        """
        return ec2.SecurityGroup.from_security_group_id(
            scope, construct_id, group.security_group_id, mutable=False, allow_all_outbound=False
        )
