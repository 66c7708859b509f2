"""Network stack: the VPC and the whole network policy of one environment."""

from __future__ import annotations

from typing import Any

from config import EnvironmentConfig
from config.api import CONTROL_PLANE_PORT
from config.guardduty import firewall_hosts
from constructs import Construct
from constructs.dns_firewall import DnsFirewall
from constructs.egress_firewall import EgressFirewall
from constructs.log_encryption import LogsKey
from constructs.network_policy import NetworkPolicy
from constructs.operations_alarms import NetworkWatched
from constructs.outpost_vpc import OutpostVpc
from stacks.base import OutpostStack
from stacks.exports import NetworkExports


class NetworkStack(OutpostStack):
    """VPC, NAT, flow logs, endpoints, the egress and DNS firewalls and every security group; changes rarely.

    ``exports``: the VPC and the groups, for the stacks whose resources sit in them;
    ``watched``: the NAT gateways, for the alarms.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description="VPC, NAT, flow logs, endpoints, egress firewall and every security group",
            **kwargs,
        )
        self.logs_key = LogsKey(
            self,
            "LogsKey",
            description=f"Outpost {config.name}: encrypts the VPC flow logs and the firewall's refusals",
            removal_policy=self.data_removal_policy,
            production=config.is_production,
        )
        network = OutpostVpc(self, "Network", config=config.network, logs_key=self.logs_key)
        self.vpc = network.vpc
        self.nat_gateway_ids = network.nat_gateway_ids
        self.policy = NetworkPolicy(
            self,
            "NetworkPolicy",
            vpc=self.vpc,
            env_name=config.name,
            control_plane_port=CONTROL_PLANE_PORT,
            ingress=config.ingress,
        )
        self.interface_endpoints = network.add_interface_endpoints(
            config.network.interface_endpoints, security_group=self.policy.endpoints
        )
        self.firewall = EgressFirewall(
            self,
            "EgressFirewall",
            vpc=self.vpc,
            config=config.egress,
            env_name=config.name,
            region=config.region,
            account=config.account,
            logs_key=self.logs_key,
            production=config.is_production,
            also_allowed=firewall_hosts(config.audit.guardduty_agent, config.network.interface_endpoints),
        )
        # The resolver answers the same names, so nothing leaves as DNS queries either.
        self.dns_firewall = DnsFirewall(
            self, "DnsFirewall", vpc=self.vpc, env_name=config.name, names=self.firewall.allowed
        )

    @property
    def exports(self) -> NetworkExports:
        return NetworkExports(vpc=self.vpc, groups=self.policy.groups)

    @property
    def watched(self) -> NetworkWatched:
        return NetworkWatched(
            nat_gateway_ids=self.nat_gateway_ids,
            firewalls=tuple((e.zone, e.firewall_name) for e in self.firewall.endpoints),
        )
