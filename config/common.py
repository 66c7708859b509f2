"""Rules shared by several sections of the settings."""

from __future__ import annotations

import re
from collections.abc import Mapping

from config.errors import ConfigError
from config.reader import Section
from config.schema import Setting, integer

# The values CloudWatch Logs accepts for a log group's retention, in days.
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
LOG_RETENTION_NAME = "a CloudWatch Logs retention (days)"

# Log groups of a production environment keep at least a year (AWS Control Tower
# CT.CLOUDWATCH.PR.2); development environments may keep less, acknowledged per log group.
PRODUCTION_LOG_RETENTION_DAYS = 365
DEVELOPMENT_LOG_RETENTION_DAYS = 7

# Tag keys and values as AWS accepts them (letters, digits, spaces and + - = . _ : / @).
_TAG_CHARS = r"[\w .:/=+\-@]*"
MAX_TAGS = 40


def log_retention_setting(name: str, meaning: str, *, minimum: int | None = None) -> Setting:
    """A log group's retention: a value CloudWatch Logs accepts; at least a year in production
    unless ``minimum`` (the same for every kind) is given."""
    floor = (
        f"at least {minimum}"
        if minimum is not None
        else f"at least {DEVELOPMENT_LOG_RETENTION_DAYS}, and {PRODUCTION_LOG_RETENTION_DAYS} in a "
        "production environment"
    )
    return integer(name, meaning, choices=LOG_RETENTION_DAYS, choices_name=LOG_RETENTION_NAME, rules=(floor,))


def log_retention(section: Section, name: str, *, production: bool, minimum: int | None = None) -> int:
    """A log retention in days that CloudWatch Logs accepts, at least ``minimum`` or else the
    floor of the environment's kind."""
    days = section.integer(name)
    if minimum is not None:
        floor, why = minimum, ""
    elif production:
        floor, why = PRODUCTION_LOG_RETENTION_DAYS, " in a production environment"
    else:
        floor, why = DEVELOPMENT_LOG_RETENTION_DAYS, ""
    if days < floor:
        raise ConfigError(section.key(name), days, f"must be at least {floor} days{why}")
    return days


TAGS = Setting(
    "tags",
    "object",
    "tags on every resource, besides `Environment` (the environment's name)",
    default={},
    rules=(
        f"at most {MAX_TAGS}",
        "keys 1-128 and values 0-256 letters, digits, spaces or `+ - = . _ : / @`",
        "no key starting with `aws:`",
        "merged key by key with `outpost.defaults.tags`",
    ),
)


def tags(section: Section, name: str) -> tuple[tuple[str, str], ...]:
    """Resource tags: at most 40 user tags, keys 1-128 and values 0-256 characters."""
    raw = section.raw(name)
    if not isinstance(raw, Mapping):
        raise ConfigError(section.key(name), raw, "must be an object")
    if len(raw) > MAX_TAGS:
        raise ConfigError(section.key(name), len(raw), f"must hold at most {MAX_TAGS} tags")
    written: Mapping[str, str] = getattr(raw, "where", {})
    result = []
    for key, value in raw.items():
        where = written.get(key, f"{section.key(name)}.{key}")
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
