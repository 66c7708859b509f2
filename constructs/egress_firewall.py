"""The egress firewall: AWS Network Firewall between the public subnets and the internet gateway.

Every packet between the VPC and the internet crosses a firewall endpoint, both ways: a public
subnet's default route leads to its zone's endpoint (not to the internet gateway), and the
gateway's edge route table sends what comes back for a public subnet to the same endpoint. The
NAT gateways sit in the public subnets, so every task's and function's internet traffic (agents,
control plane, Lambdas) is inspected; so is the load balancer's.

The policy (strict rule order) passes, in this order:

1. connections from outside the VPC to the public subnets on 443 and 80 (clients of the load
   balancer; its security group and AWS WAF decide who gets in);
2. TLS connections whose SNI, and HTTP requests whose Host, is one of the environment's names
   (``config.egress``: the shared base, each agent's provider, the AWS APIs);

and drops every other established connection, logging it (``aws:alert_established``) to an
encrypted log group. The Monitoring stack alarms on the dropped packets.

What it does not stop (docs/egress.md): a client that sends an allowed SNI to another address
(the firewall reads the name, not where it leads), anything an allowed service accepts with the
attacker's own credentials. DNS is the DNS firewall's (constructs/dns_firewall.py): the VPC's
resolver answers the same names and no others. The lists are per
agent in the settings, but the agents share subnets and a security group, so every agent may
reach the union of them.

Network Firewall: https://docs.aws.amazon.com/network-firewall/latest/developerguide/arch-single-zone-igw.html
(the IGW edge route table: https://docs.aws.amazon.com/vpc/latest/userguide/gateway-route-tables.html);
domain lists: https://docs.aws.amazon.com/network-firewall/latest/developerguide/stateful-rule-groups-domain-names.html;
strict order and ``aws:drop_established``:
https://docs.aws.amazon.com/network-firewall/latest/developerguide/suricata-rule-evaluation-order.html
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Fn
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_networkfirewall as nfw

from compliance.acknowledgements import acknowledge, control_tower, in_packs
from compliance.scanners import skip_checkov
from config.egress import RULE_GROUP_CAPACITY, TARGET_TYPES, EgressConfig
from config.names import pascal, resource_name
from constructs import Construct
from constructs.log_encryption import LogsKey

HTTPS = 443
HTTP = 80
# The inbound pass rule is one Suricata rule; a stateful group's capacity is its rule count.
INBOUND_CAPACITY = 10
PACKS_WITH_IGW_RULE = ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")


@dataclass(frozen=True)
class FirewallEndpoint:
    """One firewall (one zone, one endpoint): what the alarms and the routes name."""

    zone: str
    firewall_name: str
    endpoint_id: str


def inbound_rules(ports: Sequence[int]) -> str:
    """Clients from outside the VPC to the load balancer in the public subnets, nothing else."""
    listed = ",".join(str(port) for port in ports)
    return (
        f'pass tcp !$HOME_NET any -> $PUBLIC_NET [{listed}] (msg:"clients to the load balancer"; '
        "sid:1000001; rev:1;)"
    )


class EgressFirewall(Construct):
    """``endpoints`` (one per firewall zone), ``allow_list`` and ``policy``, ``alert_logs``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.Vpc,
        config: EgressConfig,
        env_name: str,
        region: str,
        account: str,
        logs_key: LogsKey,
        production: bool,
        also_allowed: tuple[str, ...] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        # ``also_allowed``: hosts beside the settings' (GuardDuty's agent registry, config/guardduty.py).
        self.allowed = tuple(sorted({*config.allowed(region=region, account=account), *also_allowed}))
        self.allow_list = nfw.CfnRuleGroup(
            self,
            "AllowList",
            rule_group_name=resource_name(env_name, "egress-allow-list"),
            type="STATEFUL",
            capacity=RULE_GROUP_CAPACITY,
            description=f"Outpost {env_name}: the names the tasks may reach (TLS SNI, HTTP Host)",
            rule_group=nfw.CfnRuleGroup.RuleGroupProperty(
                rules_source=nfw.CfnRuleGroup.RulesSourceProperty(
                    rules_source_list=nfw.CfnRuleGroup.RulesSourceListProperty(
                        generated_rules_type="ALLOWLIST",
                        targets=list(self.allowed),
                        target_types=list(TARGET_TYPES),
                    )
                ),
                stateful_rule_options=nfw.CfnRuleGroup.StatefulRuleOptionsProperty(rule_order="STRICT_ORDER"),
            ),
        )
        public_cidrs = [subnet.ipv4_cidr_block for subnet in vpc.public_subnets]
        self.inbound = nfw.CfnRuleGroup(
            self,
            "Inbound",
            rule_group_name=resource_name(env_name, "egress-inbound"),
            type="STATEFUL",
            capacity=INBOUND_CAPACITY,
            description=f"Outpost {env_name}: clients to the load balancer",
            rule_group=nfw.CfnRuleGroup.RuleGroupProperty(
                rule_variables=nfw.CfnRuleGroup.RuleVariablesProperty(
                    ip_sets={"PUBLIC_NET": nfw.CfnRuleGroup.IPSetProperty(definition=public_cidrs)}
                ),
                rules_source=nfw.CfnRuleGroup.RulesSourceProperty(rules_string=inbound_rules((HTTPS, HTTP))),
                stateful_rule_options=nfw.CfnRuleGroup.StatefulRuleOptionsProperty(rule_order="STRICT_ORDER"),
            ),
        )
        self.policy = nfw.CfnFirewallPolicy(
            self,
            "Policy",
            firewall_policy_name=resource_name(env_name, "egress"),
            description=f"Outpost {env_name}: clients in to the load balancer, allow-listed names out",
            firewall_policy=nfw.CfnFirewallPolicy.FirewallPolicyProperty(
                # Every packet goes to the stateful engine; nothing is decided statelessly.
                stateless_default_actions=["aws:forward_to_sfe"],
                stateless_fragment_default_actions=["aws:forward_to_sfe"],
                stateful_default_actions=["aws:drop_established", "aws:alert_established"],
                stateful_engine_options=nfw.CfnFirewallPolicy.StatefulEngineOptionsProperty(
                    rule_order="STRICT_ORDER", stream_exception_policy="DROP"
                ),
                stateful_rule_group_references=[
                    nfw.CfnFirewallPolicy.StatefulRuleGroupReferenceProperty(
                        resource_arn=self.inbound.attr_rule_group_arn, priority=100
                    ),
                    nfw.CfnFirewallPolicy.StatefulRuleGroupReferenceProperty(
                        resource_arn=self.allow_list.attr_rule_group_arn, priority=200
                    ),
                ],
            ),
        )
        self.alert_logs = logs_key.log_group(
            "RefusedConnections", scope=self, retention_days=config.alert_log_retention_days
        )
        zones = list(vpc.availability_zones)
        self.endpoints = [
            self._firewall(vpc, zone, cidr, env_name, production)
            for zone, cidr in zip(zones[: config.firewall_zones], config.firewall_subnets, strict=True)
        ]
        self._route_through(vpc)

    def _firewall(
        self, vpc: ec2.Vpc, zone: str, cidr: str, env_name: str, production: bool
    ) -> FirewallEndpoint:
        """One firewall with one endpoint in ``zone``'s firewall subnet (its own /28, whose only
        route leads to the internet gateway), logging what it refuses.

        One firewall per zone, not one with a subnet per zone: a firewall's ``EndpointIds`` lists
        ``<zone>:<endpoint>`` pairs in no stated order, and a route must name its own zone's.
        """
        label = pascal(zone[-1])
        subnet = ec2.Subnet(
            self,
            f"Subnet{label.upper()}",
            vpc_id=vpc.vpc_id,
            availability_zone=zone,
            cidr_block=cidr,
            map_public_ip_on_launch=False,
        )
        # The route needs the gateway attached; it names the gateway itself (a DependsOn on it
        # too would be redundant: cfn-lint W3005).
        route = ec2.CfnRoute(
            subnet,
            "DefaultRoute",
            route_table_id=subnet.route_table.route_table_id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=vpc.internet_gateway_id,
        )
        attachment = vpc.node.find_child("VPCGW")
        assert isinstance(attachment, ec2.CfnVPCGatewayAttachment)
        route.add_resource_dependency(attachment)
        acknowledge(
            route,
            "Only the firewall's endpoint sits in this subnet: its route to the internet gateway "
            "carries what the firewall has inspected and allowed.",
            *in_packs("VPCNoUnrestrictedRouteToIGW", PACKS_WITH_IGW_RULE),
        )
        acknowledge(
            subnet,
            "Zones are explicit settings so that synth needs no AWS lookup; the settings check "
            "rejects any zone outside the environment's region.",
            "CloudFormation-Validate::W3010",
        )
        name = resource_name(env_name, f"egress-{zone[-1]}")
        firewall = nfw.CfnFirewall(
            self,
            f"Firewall{label.upper()}",
            firewall_name=name,
            description=f"Outpost {env_name}: egress firewall of {zone}",
            firewall_policy_arn=self.policy.attr_firewall_policy_arn,
            vpc_id=vpc.vpc_id,
            subnet_mappings=[nfw.CfnFirewall.SubnetMappingProperty(subnet_id=subnet.subnet_id)],
            delete_protection=production,
            subnet_change_protection=True,
        )
        acknowledge(
            firewall,
            "One firewall per zone, each with its zone's one endpoint, because a firewall's EndpointIds "
            "come in no stated order and a route must name its own zone's endpoint; the environment has "
            "a firewall in every zone that holds a NAT gateway, which the settings check requires of "
            "every zone in production, so a zone's outage leaves the other zones filtered.",
            control_tower("netfw_multi_az_enabled_check"),
        )
        if not production:
            skip_checkov(
                firewall,
                "CKV_AWS_344",
                "A development environment is destroyed and recreated (make rehearse-recreate); "
                "production firewalls have deletion protection.",
            )
        nfw.CfnLoggingConfiguration(
            self,
            f"Logging{label.upper()}",
            firewall_arn=firewall.attr_firewall_arn,
            logging_configuration=nfw.CfnLoggingConfiguration.LoggingConfigurationProperty(
                log_destination_configs=[
                    nfw.CfnLoggingConfiguration.LogDestinationConfigProperty(
                        log_destination_type="CloudWatchLogs",
                        log_type="ALERT",
                        log_destination={"logGroup": self.alert_logs.log_group_name},
                    )
                ]
            ),
        )
        # "us-east-1a:vpce-0123..." -> "vpce-0123...": the one endpoint of this firewall.
        endpoint = Fn.select(1, Fn.split(":", Fn.select(0, firewall.attr_endpoint_ids)))
        return FirewallEndpoint(zone=zone, firewall_name=name, endpoint_id=endpoint)

    def endpoint_of(self, zone: str) -> FirewallEndpoint:
        """``zone``'s endpoint, or the first zone's where ``zone`` has none."""
        return next((e for e in self.endpoints if e.zone == zone), self.endpoints[0])

    def _route_through(self, vpc: ec2.Vpc) -> None:
        """Public subnets out through their endpoint; the internet gateway in through it."""
        edge = ec2.CfnRouteTable(self, "EdgeRoutes", vpc_id=vpc.vpc_id)
        ec2.CfnGatewayRouteTableAssociation(
            self, "EdgeAssociation", gateway_id=vpc.internet_gateway_id or "", route_table_id=edge.ref
        )
        for subnet in vpc.public_subnets:
            endpoint = self.endpoint_of(subnet.availability_zone).endpoint_id
            route = subnet.node.find_child("DefaultRoute")
            assert isinstance(route, ec2.CfnRoute)
            route.gateway_id = None
            route.vpc_endpoint_id = endpoint
            ec2.CfnRoute(
                self,
                f"Return{pascal(subnet.availability_zone[-1]).upper()}",
                route_table_id=edge.ref,
                destination_cidr_block=subnet.ipv4_cidr_block,
                vpc_endpoint_id=endpoint,
            )
