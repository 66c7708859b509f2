"""Settings of the public front door: certificate, domain, idle timeout, WAF and its logs."""

from __future__ import annotations

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


@dataclass(frozen=True)
class IngressConfig:
    certificate_arn: str | None
    domain_name: str | None
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
