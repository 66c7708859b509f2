"""Settings of the Network stack: address plan, NAT, endpoints, flow logs."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from config.common import log_retention, log_retention_setting
from config.errors import ConfigError
from config.reader import Section
from config.regions import ZONE_LETTERS, zones_in_words
from config.schema import Group, integer, string, strings

# Interface endpoints an environment may ask for, by the short name AWS gives the service.
INTERFACE_ENDPOINTS: tuple[str, ...] = (
    "ecr.api",
    "ecr.dkr",
    "ecs",
    "logs",
    "secretsmanager",
    "sts",
    "kms",
    "ssm",
    "events",
    "monitoring",
    "elasticfilesystem",
)

# AWS keeps five addresses of every subnet (network, router, DNS, future, broadcast).
RESERVED_PER_SUBNET = 5
# A VPC's primary IPv4 block is a /16 to a /28 ("VPC CIDR blocks"); below a /24 nothing here fits.
VPC_PREFIXES = (16, 24)
MAX_SUBNET_PREFIX = 28

NETWORK = Group(
    "network",
    "The Network stack: address plan, NAT, endpoints, flow logs.",
    (
        string(
            "vpc_cidr",
            "private IPv4 range of the VPC",
            rules=(
                f"IPv4 CIDR, /{VPC_PREFIXES[0]} to /{VPC_PREFIXES[1]}, RFC 1918",
                "large enough for a public and a private subnet in every zone",
            ),
        ),
        strings(
            "availability_zones",
            "zones, explicit so synth needs no lookups",
            rules=(
                "zones of `region` (`config/regions.py` lists each region's zone letters)",
                "at least 1, and 2 in a production environment",
            ),
        ),
        integer(
            "public_subnet_mask",
            "prefix length of each zone's public subnet (load balancer, NAT)",
            maximum=MAX_SUBNET_PREFIX,
            rules=("at least the VPC's prefix length",),
        ),
        integer(
            "private_subnet_mask",
            "prefix length of each zone's private subnet (tasks, functions, endpoints)",
            maximum=MAX_SUBNET_PREFIX,
            rules=("at least the VPC's prefix length", "leaves room for `min_agent_task_ips`"),
        ),
        integer(
            "nat_gateways",
            "NAT gateways (agents need egress); the first zones get one each",
            minimum=1,
            rules=("at most the number of zones", "one per zone in a production environment"),
        ),
        strings("interface_endpoints", "interface endpoints in every zone", choices=INTERFACE_ENDPOINTS),
        log_retention_setting("flow_log_retention_days", "retention of the VPC flow logs"),
        integer(
            "min_agent_task_ips",
            "concurrent agent tasks the private tier must fit (one address each)",
            minimum=0,
        ),
    ),
)


@dataclass(frozen=True)
class NetworkConfig:
    vpc_cidr: str
    availability_zones: tuple[str, ...]
    public_subnet_mask: int
    private_subnet_mask: int
    nat_gateways: int
    interface_endpoints: tuple[str, ...]
    flow_log_retention_days: int
    min_agent_task_ips: int

    @property
    def private_ips_per_az(self) -> int:
        return int(2 ** (32 - self.private_subnet_mask)) - RESERVED_PER_SUBNET

    @property
    def agent_task_ip_capacity(self) -> int:
        """Addresses left for agent tasks in the private tier.

        Each interface endpoint places one network interface in every private subnet;
        everything else there (control-plane tasks) is counted against this too, so the
        figure is an upper bound on concurrent agent tasks, one address each.
        """
        per_az = self.private_ips_per_az - len(self.interface_endpoints)
        return per_az * len(self.availability_zones)


def parse_network(section: Section, *, region: str, production: bool) -> NetworkConfig:
    cidr_text = section.string("vpc_cidr")
    try:
        vpc = ipaddress.IPv4Network(cidr_text, strict=True)
    except ValueError:
        raise ConfigError(
            section.key("vpc_cidr"), cidr_text, "must be an IPv4 network in CIDR notation, e.g. 10.0.0.0/16"
        ) from None
    low, high = VPC_PREFIXES
    if not low <= vpc.prefixlen <= high:
        raise ConfigError(
            section.key("vpc_cidr"), cidr_text, f"VPC prefix must be between /{low} and /{high}"
        )
    if not vpc.is_private:
        raise ConfigError(section.key("vpc_cidr"), cidr_text, "must be a private (RFC 1918) range")

    azs = _zones(section, region=region, production=production)
    public_mask = section.integer("public_subnet_mask", minimum=low)
    private_mask = section.integer("private_subnet_mask", minimum=low)
    # The address plan is the CIDR's to hold: a range too small for the subnets is the CIDR's
    # error (the masks are usually inherited; the CIDR is the environment's own).
    needed = len(azs) * (2 ** (32 - public_mask) + 2 ** (32 - private_mask))
    if min(public_mask, private_mask) < vpc.prefixlen or needed > vpc.num_addresses:
        raise ConfigError(
            section.key("vpc_cidr"),
            cidr_text,
            f"is too small: {len(azs)} public /{public_mask} and {len(azs)} private /{private_mask} "
            f"subnets need {needed} addresses but {cidr_text} has {vpc.num_addresses}; widen it or "
            "raise public_subnet_mask / private_subnet_mask",
        )

    nat = section.integer("nat_gateways", maximum=len(azs))
    if production and nat < len(azs):
        raise ConfigError(
            section.key("nat_gateways"),
            nat,
            f"a production environment has one NAT gateway per zone ({len(azs)}): a zone's outage must "
            "not cut the other zones' egress",
        )
    endpoints = section.strings("interface_endpoints")
    retention = log_retention(section, "flow_log_retention_days", production=production)
    min_ips = section.integer("min_agent_task_ips")
    section.done()

    config = NetworkConfig(
        vpc_cidr=cidr_text,
        availability_zones=azs,
        public_subnet_mask=public_mask,
        private_subnet_mask=private_mask,
        nat_gateways=nat,
        interface_endpoints=endpoints,
        flow_log_retention_days=retention,
        min_agent_task_ips=min_ips,
    )
    if config.agent_task_ip_capacity < min_ips:
        raise ConfigError(
            section.key("private_subnet_mask"),
            private_mask,
            f"leaves room for {config.agent_task_ip_capacity} agent tasks, "
            f"below min_agent_task_ips {min_ips}",
        )
    return config


def _zones(section: Section, *, region: str, production: bool) -> tuple[str, ...]:
    azs = section.strings("availability_zones")
    key = section.key("availability_zones")
    if not azs:
        raise ConfigError(key, list(azs), "must name at least one zone")
    if production and len(azs) < 2:
        raise ConfigError(key, list(azs), "a production environment needs at least 2 zones")
    for az in azs:
        if not az.startswith(region) or az[len(region) :] not in tuple(ZONE_LETTERS[region]):
            raise ConfigError(key, az, f"must be a zone of region {region}: {zones_in_words(region)}")
    return azs
