"""Settings of the egress firewall: which names the environment's tasks may reach on the internet.

Read from each environment's ``egress`` block (``docs/egress.md`` explains the mechanism)::

    "egress": {
      "base": ["github.com", ".githubusercontent.com", "registry.npmjs.org", "pypi.org", ...],
      "agents": {"claude": ["api.anthropic.com"], "codex": ["api.openai.com"], ...},
      "aws_services": ["ecr.api", "ecr.dkr", "logs", "secretsmanager", ...],
      "alert_log_retention_days": 30
    }

``base`` is what every agent (and the control plane) needs: the git host and the package
registries; ``agents.<agent>`` adds that agent's model provider. ``aws_services`` are the AWS
APIs the tasks and functions call through the NAT gateways (an interface endpoint with private
DNS takes its service's traffic off that route; S3 and DynamoDB go through gateway endpoints).
A name matches exactly; a leading dot (``.githubusercontent.com``) matches the domain and every
subdomain (AWS Network Firewall's domain-list syntax).

The firewall has an endpoint in each zone that holds a NAT gateway (``network.nat_gateways``,
the first zones): the same trade between cost and a zone's outage, and a production
environment has both in every zone.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from config.common import log_retention, log_retention_setting
from config.errors import ConfigError
from config.network import INTERFACE_ENDPOINTS, NetworkConfig
from config.reader import Section
from config.registry import AGENTS
from config.schema import Group, strings

# A DNS name of at least two labels, lower case, each label 1-63 letters, digits or inner
# hyphens; an optional leading dot for "and every subdomain". No wildcard, no trailing dot.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN_PATTERN = rf"\.?{_LABEL}(?:\.{_LABEL})+"
DOMAIN_RULE = (
    "lower-case DNS names of two labels or more (a leading '.' adds every subdomain); no '*', "
    "no IP address, no top-level domain alone"
)
MAX_DOMAIN = 253
# The firewall subnets: one /28 per zone (the smallest subnet a VPC takes), at the top of the
# VPC's range, where CDK's tiers (allocated from the bottom) never reach.
FIREWALL_SUBNET_PREFIX = 28
# A stateful rule group's capacity is fixed when it is created (changing it replaces the group,
# whose name must then be free); a domain list uses one unit per name and target type
# (TLS_SNI, HTTP_HOST). https://docs.aws.amazon.com/network-firewall/latest/developerguide/rule-group-managing.html
RULE_GROUP_CAPACITY = 1000
TARGET_TYPES = ("TLS_SNI", "HTTP_HOST")


EGRESS = Group(
    "egress",
    "The egress firewall (AWS Network Firewall between the public subnets and the internet "
    "gateway, an endpoint in each zone that holds a NAT gateway): the names the environment's tasks "
    "may reach; every other connection is dropped, logged and alarmed on (docs/egress.md).",
    (
        strings(
            "base",
            "names every agent reaches: the git host and the package registries",
            rules=(DOMAIN_RULE,),
        ),
        Group(
            "agents",
            "Each agent's own names (its model provider), beside `base`; all five are required.",
            (
                strings(
                    "<agent>",
                    "the names this agent reaches beside `base`",
                    rules=(DOMAIN_RULE, "not in `base`"),
                ),
            ),
            names=AGENTS,
        ),
        strings(
            "aws_services",
            "AWS APIs the tasks and functions reach through NAT (`ecr.dkr` is the environment's own "
            "registry host only)",
            choices=INTERFACE_ENDPOINTS,
        ),
        log_retention_setting(
            "alert_log_retention_days", "retention of the firewall's log of refused connections"
        ),
    ),
)


@dataclass(frozen=True)
class EgressConfig:
    base: tuple[str, ...]
    agents: tuple[tuple[str, tuple[str, ...]], ...]  # (agent, its own names), in AGENTS order
    aws_services: tuple[str, ...]
    alert_log_retention_days: int
    firewall_subnets: tuple[str, ...]  # one /28 per zone with a NAT gateway, at the top of the VPC's range

    @property
    def firewall_zones(self) -> int:
        """Zones with a firewall endpoint: the first ones, as many as hold a NAT gateway."""
        return len(self.firewall_subnets)

    def agent_domains(self, agent: str) -> tuple[str, ...]:
        """What ``agent`` is meant to reach: ``base`` and its own names."""
        return self.base + dict(self.agents)[agent]

    def aws_domains(self, *, region: str, account: str) -> tuple[str, ...]:
        """The host names of ``aws_services`` in ``region`` (``ecr.dkr``: this account's registry only)."""
        return tuple(aws_host(service, region=region, account=account) for service in self.aws_services)

    def allowed(self, *, region: str, account: str) -> tuple[str, ...]:
        """Every name the firewall lets through, sorted: base, every agent's, the AWS hosts."""
        names = {
            *self.base,
            *(d for _, own in self.agents for d in own),
            *self.aws_domains(region=region, account=account),
        }
        return tuple(sorted(names))


def aws_host(service: str, *, region: str, account: str) -> str:
    """``logs`` -> ``logs.<region>.amazonaws.com``; ECR's two APIs by their own host names."""
    if service == "ecr.api":
        return f"api.ecr.{region}.amazonaws.com"
    if service == "ecr.dkr":
        return f"{account}.dkr.ecr.{region}.amazonaws.com"
    return f"{service}.{region}.amazonaws.com"


def _domains(section: Section, name: str) -> tuple[str, ...]:
    values = section.strings(name)
    for value in values:
        if len(value) > MAX_DOMAIN or not re.fullmatch(DOMAIN_PATTERN, value):
            raise ConfigError(section.key(name), value, f"must be one of {DOMAIN_RULE}")
        last = value.rsplit(".", 1)[1]
        if last.isdigit() or _is_address(value.lstrip(".")):
            raise ConfigError(section.key(name), value, "is an IP address: the firewall matches names only")
    return values


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _covered(name: str, by: tuple[str, ...]) -> str | None:
    """The entry of ``by`` that already matches ``name`` (itself, or a '.domain' above it)."""
    bare = name.lstrip(".")
    for entry in by:
        if entry == name or (entry.startswith(".") and (bare == entry[1:] or bare.endswith(entry))):
            return entry
    return None


def firewall_subnets(network: NetworkConfig, zones: int) -> tuple[str, ...]:
    """The last ``zones`` /28 blocks of the VPC's range, the first zone's the highest."""
    vpc = ipaddress.IPv4Network(network.vpc_cidr)
    blocks = list(vpc.subnets(new_prefix=FIREWALL_SUBNET_PREFIX))
    return tuple(str(blocks[-1 - index]) for index in range(zones))


def parse_egress(
    section: Section, *, network: NetworkConfig, production: bool, vpc_cidr_key: str
) -> EgressConfig:
    """``vpc_cidr_key``: where ``network.vpc_cidr`` was written (a full address plan is its error)."""
    base = _domains(section, "base")
    agents_section = section.section("agents")
    agents: list[tuple[str, tuple[str, ...]]] = []
    for agent in AGENTS:
        own = _domains(agents_section, agent)
        for name in own:
            covering = _covered(name, base)
            if covering is not None:
                raise ConfigError(
                    agents_section.key(agent), name, f"is already allowed by egress.base ({covering})"
                )
        agents.append((agent, own))
    agents_section.done()
    services = section.strings("aws_services")
    zones = len(network.availability_zones)
    firewall_zones = network.nat_gateways
    retention = log_retention(section, "alert_log_retention_days", production=production)
    section.done()

    # The firewall subnets sit above the public and private tiers; the address plan must leave room.
    vpc = ipaddress.IPv4Network(network.vpc_cidr)
    tiers = zones * (2 ** (32 - network.public_subnet_mask) + 2 ** (32 - network.private_subnet_mask))
    top = firewall_zones * 2 ** (32 - FIREWALL_SUBNET_PREFIX)
    if tiers + top > vpc.num_addresses:
        raise ConfigError(
            vpc_cidr_key,
            network.vpc_cidr,
            f"leaves no room for the egress firewall's {firewall_zones} /{FIREWALL_SUBNET_PREFIX} "
            f"subnets above the tiers ({tiers} of its {vpc.num_addresses} addresses are taken); widen it",
        )
    config = EgressConfig(
        base=base,
        agents=tuple(agents),
        aws_services=services,
        alert_log_retention_days=retention,
        firewall_subnets=firewall_subnets(network, firewall_zones),
    )
    # Every name and target type takes one unit of the rule group's fixed capacity (the AWS
    # hosts count too; a leading-dot name is still one entry).
    names = len(base) + sum(len(own) for _, own in agents) + len(services)
    units = names * len(TARGET_TYPES)
    if units > RULE_GROUP_CAPACITY:
        raise ConfigError(
            section.key("base"),
            len(base),
            f"the allow-list takes {units} units of the rule group's fixed capacity of {RULE_GROUP_CAPACITY}",
        )
    return config
