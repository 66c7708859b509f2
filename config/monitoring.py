"""Settings of the Monitoring stack: who is told, and when an alarm fires."""

from __future__ import annotations

from dataclasses import dataclass

from config.errors import ConfigError
from config.reader import Section

# Deliberately plain: one address, no display name, no plus-less rule; SNS confirms it.
_EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"


@dataclass(frozen=True)
class MonitoringConfig:
    alarm_email: str | None
    response_time_p95_ms: int
    http_5xx_per_5_minutes: int
    cpu_percent: int
    memory_percent: int


def parse_monitoring(section: Section, *, production: bool) -> MonitoringConfig:
    config = MonitoringConfig(
        alarm_email=section.optional_string(
            "alarm_email", pattern=_EMAIL, rule="must be an e-mail address (or null for no subscription)"
        ),
        response_time_p95_ms=section.integer("response_time_p95_ms", minimum=10, maximum=60_000),
        http_5xx_per_5_minutes=section.integer("http_5xx_per_5_minutes", minimum=1, maximum=100_000),
        cpu_percent=section.integer("cpu_percent", minimum=10, maximum=100),
        memory_percent=section.integer("memory_percent", minimum=10, maximum=100),
    )
    if production and config.alarm_email is None:
        raise ConfigError(
            section.key("alarm_email"), None, "production alarms must reach a person: set an e-mail address"
        )
    section.done()
    return config
