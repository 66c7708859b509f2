"""Settings of the Monitoring stack: who is told, and when an alarm fires."""

from __future__ import annotations

from dataclasses import dataclass

from config.errors import ConfigError
from config.reader import Section
from config.schema import Group, integer, optional_string

# Deliberately plain: one address, no display name, no plus-less rule; SNS confirms it.
EMAIL_PATTERN = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"

MONITORING = Group(
    "monitoring",
    "The Monitoring stack: who is told, and when an alarm fires.",
    (
        optional_string(
            "alarm_email",
            "who is told: an e-mail subscription of the alarm topic (left out: none)",
            pattern=EMAIL_PATTERN,
            pattern_rule="must be an e-mail address (leave the key out for no subscription)",
            rules=("required in a production environment",),
        ),
        integer(
            "response_time_p95_ms",
            "p95 API latency that raises the alarm (two 5-minute periods)",
            minimum=10,
            maximum=60_000,
        ),
        integer(
            "http_5xx_per_5_minutes",
            "5xx answers (load balancer or control plane) per 5 minutes that raise the alarm",
            minimum=1,
            maximum=100_000,
        ),
        integer(
            "cpu_percent", "control-plane CPU that raises the alarm (15 minutes)", minimum=10, maximum=100
        ),
        integer(
            "memory_percent",
            "control-plane memory that raises the alarm (15 minutes)",
            minimum=10,
            maximum=100,
        ),
        integer(
            "efs_storage_gib",
            "workspaces file system size (EFS `StorageBytes`, all storage classes) that raises the alarm",
            default=500,
            minimum=1,
            maximum=1_000_000,
        ),
        integer(
            "efs_growth_gib_per_hour",
            "workspaces growth in one hour that raises the alarm (v1 filled 25 GB in 6 hours)",
            default=10,
            minimum=1,
            maximum=100_000,
        ),
        integer(
            "fargate_vcpu_quota_percent",
            "Fargate On-Demand vCPUs in use, in percent of the account's quota, that raises the alarm "
            "(made by the environment that owns the account alarms)",
            default=80,
            minimum=10,
            maximum=100,
        ),
        integer(
            "waf_blocked_per_5_minutes",
            "requests one web ACL rule blocks in 5 minutes that raise its alarm",
            default=100,
            minimum=1,
            maximum=10_000_000,
        ),
        integer(
            "dynamodb_throttles_per_5_minutes",
            "throttled reads plus writes of one dispatch table in 5 minutes that raise its alarm",
            default=1,
            minimum=1,
            maximum=1_000_000,
        ),
    ),
)


@dataclass(frozen=True)
class MonitoringConfig:
    alarm_email: str | None
    response_time_p95_ms: int
    http_5xx_per_5_minutes: int
    cpu_percent: int
    memory_percent: int
    efs_storage_gib: int = 500
    efs_growth_gib_per_hour: int = 10
    fargate_vcpu_quota_percent: int = 80
    waf_blocked_per_5_minutes: int = 100
    dynamodb_throttles_per_5_minutes: int = 1


def parse_monitoring(section: Section, *, production: bool) -> MonitoringConfig:
    config = MonitoringConfig(
        alarm_email=section.optional_string("alarm_email"),
        response_time_p95_ms=section.integer("response_time_p95_ms"),
        http_5xx_per_5_minutes=section.integer("http_5xx_per_5_minutes"),
        cpu_percent=section.integer("cpu_percent"),
        memory_percent=section.integer("memory_percent"),
        efs_storage_gib=section.integer("efs_storage_gib"),
        efs_growth_gib_per_hour=section.integer("efs_growth_gib_per_hour"),
        fargate_vcpu_quota_percent=section.integer("fargate_vcpu_quota_percent"),
        waf_blocked_per_5_minutes=section.integer("waf_blocked_per_5_minutes"),
        dynamodb_throttles_per_5_minutes=section.integer("dynamodb_throttles_per_5_minutes"),
    )
    if production and config.alarm_email is None:
        raise ConfigError(
            section.key("alarm_email"), None, "production alarms must reach a person: set an e-mail address"
        )
    section.done()
    return config
