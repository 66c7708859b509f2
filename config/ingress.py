"""Settings of the public front door: certificate, domain, idle timeout, WAF and its logs."""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass

from config.common import log_retention, log_retention_setting
from config.errors import ConfigError
from config.load_model import LoadModel
from config.reader import Section
from config.schema import Group, integer, optional_string, strings

# An ACM certificate is a UUID under certificate/ (arn:aws:acm:<region>:<account>:certificate/<uuid>).
_CERTIFICATE_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# A DNS name: dot-separated labels of letters, digits and inner hyphens, a letter-only top level.
_DOMAIN_NAME = r"(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"

# AWS WAF rate-based rules: the documented bounds of ``Limit`` (requests per evaluation window),
# https://docs.aws.amazon.com/waf/latest/APIReference/API_RateBasedStatement.html
RATE_LIMIT_MINIMUM = 10
RATE_LIMIT_MAXIMUM = 2_000_000_000
# The rate limits are sized from the load model (docs/capacity.md, "The front door"): every API
# request arrives from ONE upstream address (the MCP server), so the per-IP limit must carry the
# whole platform's peak at the planned growth, with headroom; the per-credential limit must carry
# the busiest user's peak with the same headroom, and stay below the per-IP one (else it limits
# nothing the per-IP rule does not).
RATE_LIMIT_GROWTH = 10
RATE_LIMIT_HEADROOM = 1.25
_MODEL = LoadModel()
PER_IP_FLOOR = math.ceil(_MODEL.scaled(RATE_LIMIT_GROWTH).peak_requests_per_window * RATE_LIMIT_HEADROOM)
PER_CREDENTIAL_FLOOR = math.ceil(_MODEL.credential_requests_per_window() * RATE_LIMIT_HEADROOM)
# ALB idle timeout bounds, seconds.
IDLE_TIMEOUT_MAXIMUM = 4000
# Each range is one inbound rule per listener port (two with a certificate: 443 and the 80 that
# redirects); a security group holds 60 inbound rules ("Amazon VPC quotas"), and the
# load balancer's group keeps room for what the network policy may add.
MAX_ALLOWED_CIDRS = 25

INGRESS = Group(
    "ingress",
    "The public front door: certificate, domain, who may connect, idle timeout, WAF and its logs.",
    (
        optional_string(
            "certificate_arn",
            "ACM certificate of the HTTPS listener; without one, plain HTTP on port 80",
            rules=(
                "`arn:aws:acm:<region>:<account>:certificate/<uuid>` of this environment's account and "
                "region",
                "required in a production environment",
                "`-c outpost:<env>:certificate_arn=...` replaces it",
            ),
        ),
        optional_string(
            "domain_name",
            "the API's name, covered by the certificate (`ApiUrl` uses it); point it at the load balancer",
            pattern=_DOMAIN_NAME,
            pattern_rule="must be a lower-case DNS name such as api.example.com",
            rules=("required with a certificate", "only with a certificate (no `http://` API URL)"),
        ),
        strings(
            "allowed_cidrs",
            "IPv4 ranges the load balancer admits (empty: the internet, only with a certificate)",
            default=[],
            rules=(
                f"at most {MAX_ALLOWED_CIDRS}",
                "IPv4 ranges with host bits zero",
                "required without a certificate, and then never `0.0.0.0/0` (the API would be served in "
                "clear to the internet)",
            ),
        ),
        integer(
            "idle_timeout_seconds", "load balancer idle timeout", minimum=1, maximum=IDLE_TIMEOUT_MAXIMUM
        ),
        integer(
            "rate_limit_per_5_minutes",
            "WAF: requests one IP may send per 5 minutes before `429` (all traffic comes from the MCP "
            "server's address)",
            minimum=RATE_LIMIT_MINIMUM,
            maximum=RATE_LIMIT_MAXIMUM,
            rules=(
                f"at least {PER_IP_FLOOR:,}: {RATE_LIMIT_HEADROOM:g} x the load model's peak at "
                f"{RATE_LIMIT_GROWTH}x the users, all from one upstream address",
            ),
        ),
        integer(
            "rate_limit_per_credential_per_5_minutes",
            "WAF: requests one API credential (`X-API-Key` or `Authorization` header) may send per "
            "5 minutes before `429`",
            minimum=RATE_LIMIT_MINIMUM,
            maximum=RATE_LIMIT_MAXIMUM,
            rules=(
                f"at least {PER_CREDENTIAL_FLOOR:,}: {RATE_LIMIT_HEADROOM:g} x the load model's busiest "
                f"credential ({_MODEL.dispatches_per_user_at_once} dispatches at once)",
                "below `rate_limit_per_5_minutes`",
            ),
        ),
        integer(
            "access_log_retention_days", "load balancer access logs expire after", minimum=7, maximum=3653
        ),
        log_retention_setting("waf_log_retention_days", "WAF log retention"),
    ),
)


@dataclass(frozen=True)
class IngressConfig:
    certificate_arn: str | None
    domain_name: str | None
    # IPv4 ranges the load balancer admits; empty: the whole internet (only with a certificate).
    allowed_cidrs: tuple[str, ...]
    idle_timeout_seconds: int
    # Per source address (the MCP server's, for all users) and per API credential header.
    rate_limit_per_5_minutes: int
    rate_limit_per_credential_per_5_minutes: int
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
        pattern = rf"arn:aws:acm:{re.escape(region)}:{account}:certificate/{_CERTIFICATE_ID}"
        if not isinstance(certificate, str) or not re.fullmatch(pattern, certificate):
            raise ConfigError(
                key,
                certificate,
                f"must be an ACM certificate ARN of account {account} in {region} "
                f"(arn:aws:acm:{region}:{account}:certificate/<uuid>)",
            )
    elif production:
        raise ConfigError(key, None, "a production environment must serve HTTPS: set an ACM certificate ARN")
    domain = section.optional_string("domain_name")
    if certificate is not None and domain is None:
        raise ConfigError(
            section.key("domain_name"),
            None,
            "is required with a certificate: the name the certificate covers, pointed at the load balancer",
        )
    if certificate is None and domain is not None:
        raise ConfigError(
            section.key("domain_name"),
            domain,
            f"needs a certificate: without one the load balancer serves plain HTTP and the ApiUrl "
            f"would be http://{domain}; set ingress.certificate_arn (or -c "
            f"{certificate_override_key(env_name)}=...) or remove domain_name",
        )
    config = IngressConfig(
        certificate_arn=certificate,
        domain_name=domain,
        allowed_cidrs=_allowed_cidrs(section, https=certificate is not None),
        idle_timeout_seconds=section.integer("idle_timeout_seconds"),
        **_rate_limits(section),
        access_log_retention_days=section.integer("access_log_retention_days"),
        waf_log_retention_days=log_retention(section, "waf_log_retention_days", production=production),
    )
    section.done()
    return config


def _rate_limits(section: Section) -> dict[str, int]:
    """The WAF's two rate limits, checked against the load model (``PER_IP_FLOOR`` and
    ``PER_CREDENTIAL_FLOOR``) and against each other."""
    per_ip = section.integer("rate_limit_per_5_minutes")
    if per_ip < PER_IP_FLOOR:
        raise ConfigError(
            section.key("rate_limit_per_5_minutes"),
            per_ip,
            f"must be at least {PER_IP_FLOOR}: every request comes from the MCP server's one address, and "
            f"the load model's peak at {RATE_LIMIT_GROWTH}x the users is "
            f"{_MODEL.scaled(RATE_LIMIT_GROWTH).peak_requests_per_window:,.0f} per 5 minutes "
            f"(x {RATE_LIMIT_HEADROOM:g} headroom)",
        )
    per_credential = section.integer("rate_limit_per_credential_per_5_minutes")
    if per_credential < PER_CREDENTIAL_FLOOR:
        raise ConfigError(
            section.key("rate_limit_per_credential_per_5_minutes"),
            per_credential,
            f"must be at least {PER_CREDENTIAL_FLOOR}: a user with {_MODEL.dispatches_per_user_at_once} "
            f"dispatches at once sends {_MODEL.credential_requests_per_window():,.0f} requests per 5 minutes "
            f"(x {RATE_LIMIT_HEADROOM:g} headroom)",
        )
    if per_credential >= per_ip:
        raise ConfigError(
            section.key("rate_limit_per_credential_per_5_minutes"),
            per_credential,
            f"must be below rate_limit_per_5_minutes ({per_ip}): one credential's limit at or above the "
            "whole upstream's limits nothing",
        )
    return {"rate_limit_per_5_minutes": per_ip, "rate_limit_per_credential_per_5_minutes": per_credential}


def _allowed_cidrs(section: Section, *, https: bool) -> tuple[str, ...]:
    """Who may reach the load balancer. Without a certificate the API would travel in clear
    over the internet (API keys included), so ranges are required and the internet refused."""
    cidrs = section.strings("allowed_cidrs")
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
