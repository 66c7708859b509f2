"""Settings of the Network stack: address plan, NAT, endpoints, flow logs."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from config.common import PRODUCTION_LOG_RETENTION_DAYS, log_retention
from config.errors import ConfigError
from config.reader import Section

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
    if not 16 <= vpc.prefixlen <= 24:
        raise ConfigError(section.key("vpc_cidr"), cidr_text, "VPC prefix must be between /16 and /24")
    if not vpc.is_private:
        raise ConfigError(section.key("vpc_cidr"), cidr_text, "must be a private (RFC 1918) range")

    azs = section.strings("availability_zones")
    if not azs:
        raise ConfigError(section.key("availability_zones"), list(azs), "must name at least one zone")
    if production and len(azs) < 2:
        raise ConfigError(
            section.key("availability_zones"), list(azs), "a production environment needs at least 2 zones"
        )
    for az in azs:
        if not re.fullmatch(re.escape(region) + r"[a-z]", az):
            raise ConfigError(
                section.key("availability_zones"), az, f"must be a zone of region {region}, e.g. {region}a"
            )

    public_mask = section.integer("public_subnet_mask", minimum=vpc.prefixlen, maximum=28)
    private_mask = section.integer("private_subnet_mask", minimum=vpc.prefixlen, maximum=28)
    needed = len(azs) * (2 ** (32 - public_mask) + 2 ** (32 - private_mask))
    if needed > vpc.num_addresses:
        raise ConfigError(
            section.key("private_subnet_mask"),
            private_mask,
            f"{len(azs)} public /{public_mask} and {len(azs)} private /{private_mask} subnets "
            f"need {needed} addresses but {cidr_text} has {vpc.num_addresses}",
        )

    nat = section.integer("nat_gateways", minimum=1, maximum=len(azs))
    endpoints = section.strings("interface_endpoints", choices=INTERFACE_ENDPOINTS)
    retention = log_retention(
        section, "flow_log_retention_days", minimum=PRODUCTION_LOG_RETENTION_DAYS if production else 7
    )
    min_ips = section.integer("min_agent_task_ips", minimum=0)
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
