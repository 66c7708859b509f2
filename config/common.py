"""Rules shared by several sections of the settings."""

from __future__ import annotations

import re

from config.errors import ConfigError
from config.reader import Section

# The values CloudWatch Logs accepts for a log group's retention, in days.
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

# Log groups of a production environment keep at least a year (AWS Control Tower
# CT.CLOUDWATCH.PR.2); development environments may keep less, acknowledged per log group.
PRODUCTION_LOG_RETENTION_DAYS = 365

# Tag keys and values as AWS accepts them (letters, digits, spaces and + - = . _ : / @).
_TAG_CHARS = r"[\w .:/=+\-@]*"


def log_retention(section: Section, name: str, *, minimum: int = 1) -> int:
    """A log retention in days that CloudWatch Logs accepts, at least ``minimum``."""
    days = section.integer(name, choices=LOG_RETENTION_DAYS)
    if days < minimum:
        raise ConfigError(section.key(name), days, f"must be at least {minimum} days")
    return days


def tags(section: Section, name: str) -> tuple[tuple[str, str], ...]:
    """Resource tags: at most 40 user tags, keys 1-128 and values 0-256 characters."""
    raw = section.mapping(name, {})
    if len(raw) > 40:
        raise ConfigError(section.key(name), len(raw), "must hold at most 40 tags")
    result = []
    for key, value in raw.items():
        where = f"{section.key(name)}.{key}"
        if not isinstance(value, str):
            raise ConfigError(where, value, "must be a string")
        if key.lower().startswith("aws:"):
            raise ConfigError(where, key, "tag keys must not start with 'aws:' (reserved)")
        if not 1 <= len(key) <= 128 or not re.fullmatch(_TAG_CHARS, key):
            raise ConfigError(where, key, "tag keys must be 1-128 letters, digits or + - = . _ : / @")
        if len(value) > 256 or not re.fullmatch(_TAG_CHARS, value):
            raise ConfigError(where, value, "tag values must be 0-256 letters, digits or + - = . _ : / @")
        result.append((key, value))
    return tuple(sorted(result))
