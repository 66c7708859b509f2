"""Settings of the public front door: certificate, domain, idle timeout, WAF and its logs."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from config.common import PRODUCTION_LOG_RETENTION_DAYS, log_retention
from config.errors import ConfigError
from config.reader import Section

# An ACM certificate is a UUID under certificate/ (arn:aws:acm:<region>:<account>:certificate/<uuid>).
_CERTIFICATE_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# A DNS name: dot-separated labels of letters, digits and inner hyphens, a letter-only top level.
_DOMAIN_NAME = r"(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"

# AWS WAF rate-based rules: the documented bounds of ``Limit`` (requests per evaluation window).
RATE_LIMIT_MINIMUM = 10
RATE_LIMIT_MAXIMUM = 2_000_000_000
# ALB idle timeout bounds, seconds.
IDLE_TIMEOUT_MAXIMUM = 4000
# Each range is one inbound rule per listener port (two with a certificate: 443 and the 80 that
# redirects); a security group holds 60 inbound rules ("Amazon VPC quotas"), and the
# load balancer's group keeps room for what the network policy may add.
MAX_ALLOWED_CIDRS = 25


@dataclass(frozen=True)
class IngressConfig:
    certificate_arn: str | None
    domain_name: str | None
    # IPv4 ranges the load balancer admits; empty: the whole internet (only with a certificate).
    allowed_cidrs: tuple[str, ...]
    idle_timeout_seconds: int
    rate_limit_per_5_minutes: int
    access_log_retention_days: int
    waf_log_retention_days: int

    @property
    def https(self) -> bool:
        """Serve HTTPS (and only redirect on port 80); without a certificate, plain HTTP."""
        return self.certificate_arn is not None


def certificate_override_key(env_name: str) -> str:
    """Context key that sets an environment's certificate: ``-c outpost:prod:certificate_arn=...``."""
    return f"outpost:{env_name}:certificate_arn"


def parse_ingress(
    section: Section,
    *,
    region: str,
    account: str,
    production: bool,
    env_name: str,
    certificate_override: str | None = None,
) -> IngressConfig:
    """``certificate_override`` (from context) replaces ``certificate_arn`` of ``cdk.json``."""
    key = section.key("certificate_arn")
    certificate = section.optional_string("certificate_arn")
    if certificate_override is not None:
        key, certificate = certificate_override_key(env_name), certificate_override
    if certificate is not None:
        pattern = rf"arn:aws(?:-cn|-us-gov)?:acm:{re.escape(region)}:{account}:certificate/{_CERTIFICATE_ID}"
        if not isinstance(certificate, str) or not re.fullmatch(pattern, certificate):
            raise ConfigError(
                key,
                certificate,
                f"must be an ACM certificate ARN of account {account} in {region} "
                f"(arn:aws:acm:{region}:{account}:certificate/<uuid>)",
            )
    elif production:
        raise ConfigError(key, None, "a production environment must serve HTTPS: set an ACM certificate ARN")
    domain = section.optional_string(
        "domain_name", pattern=_DOMAIN_NAME, rule="must be a lower-case DNS name such as api.example.com"
    )
    if certificate is not None and domain is None:
        raise ConfigError(
            section.key("domain_name"),
            None,
            "is required with a certificate: the name the certificate covers, pointed at the load balancer",
        )
    config = IngressConfig(
        certificate_arn=certificate,
        domain_name=domain,
        allowed_cidrs=_allowed_cidrs(section, https=certificate is not None),
        idle_timeout_seconds=section.integer("idle_timeout_seconds", minimum=1, maximum=IDLE_TIMEOUT_MAXIMUM),
        rate_limit_per_5_minutes=section.integer(
            "rate_limit_per_5_minutes", minimum=RATE_LIMIT_MINIMUM, maximum=RATE_LIMIT_MAXIMUM
        ),
        access_log_retention_days=section.integer("access_log_retention_days", minimum=7, maximum=3653),
        waf_log_retention_days=log_retention(
            section, "waf_log_retention_days", minimum=PRODUCTION_LOG_RETENTION_DAYS if production else 7
        ),
    )
    section.done()
    return config


def _allowed_cidrs(section: Section, *, https: bool) -> tuple[str, ...]:
    """Who may reach the load balancer. Without a certificate the API would travel in clear
    over the internet (API keys included), so ranges are required and the internet refused."""
    cidrs = section.strings("allowed_cidrs", [])
    key = section.key("allowed_cidrs")
    if len(cidrs) > MAX_ALLOWED_CIDRS:
        raise ConfigError(
            key, len(cidrs), f"must hold at most {MAX_ALLOWED_CIDRS} ranges (security-group rules)"
        )
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            raise ConfigError(
                key, cidr, "must be an IPv4 range such as 203.0.113.0/24 (host bits zero)"
            ) from None
        if network.prefixlen == 0 and not https:
            raise ConfigError(
                key,
                cidr,
                "admits the whole internet to plain HTTP (API keys in clear): list your office or VPN "
                "ranges, or set a certificate_arn",
            )
        if network.version != 4:
            raise ConfigError(key, cidr, "must be an IPv4 range: the load balancer listens on IPv4 only")
    if not https and not cidrs:
        raise ConfigError(
            key,
            None,
            "is required without a certificate: the API would be served in clear to the whole internet; "
            "list the ranges that may use plain HTTP, or set a certificate_arn",
        )
    return tuple(cidrs)
