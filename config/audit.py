"""Settings of the Audit stack: how long audit data is kept, how it is locked, what is recorded."""

from __future__ import annotations

import re
from dataclasses import dataclass

from config.common import log_retention
from config.errors import ConfigError
from config.reader import Section

# A year is the floor: audit evidence is kept at least 365 days (PCI DSS 10.7 and the issue).
MIN_RETENTION_DAYS = 365
# S3 Object Lock accepts a default retention of up to 100 years.
MAX_RETENTION_DAYS = 36500
LOCK_MODES: tuple[str, ...] = ("COMPLIANCE", "GOVERNANCE")
MAX_DATA_EVENT_SELECTORS = 100

# An S3 bucket name, optionally followed by an object-key prefix: ``my-bucket`` or ``my-bucket/logs/``.
_BUCKET_SELECTOR = r"(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>[^\s*]*))?"


@dataclass(frozen=True)
class S3DataEventSelector:
    """Object-level events of one bucket, or of the keys under ``prefix`` in it."""

    bucket: str
    prefix: str = ""


@dataclass(frozen=True)
class AuditConfig:
    bucket_retention_days: int
    object_lock_mode: str
    log_group_retention_days: int
    access_log_retention_days: int
    # S3 object-level (data) events: every bucket of the account, or only the named ones.
    log_all_s3_data_events: bool
    s3_data_event_selectors: tuple[S3DataEventSelector, ...]


def parse_audit(section: Section, *, production: bool) -> AuditConfig:
    retention = section.integer(
        "bucket_retention_days", minimum=MIN_RETENTION_DAYS, maximum=MAX_RETENTION_DAYS
    )
    mode = section.string("object_lock_mode", choices=LOCK_MODES)
    if production and mode != "COMPLIANCE":
        raise ConfigError(
            section.key("object_lock_mode"),
            mode,
            "a production environment must use COMPLIANCE, so nobody can shorten the retention",
        )
    log_days = log_retention(section, "log_group_retention_days", minimum=MIN_RETENTION_DAYS)
    access_days = section.integer(
        "access_log_retention_days", minimum=MIN_RETENTION_DAYS, maximum=MAX_RETENTION_DAYS
    )
    log_all, selectors = _s3_data_events(section, "s3_data_events")
    section.done()
    return AuditConfig(
        bucket_retention_days=retention,
        object_lock_mode=mode,
        log_group_retention_days=log_days,
        access_log_retention_days=access_days,
        log_all_s3_data_events=log_all,
        s3_data_event_selectors=selectors,
    )


def _s3_data_events(section: Section, name: str) -> tuple[bool, tuple[S3DataEventSelector, ...]]:
    """``false`` (none), ``true`` (every bucket) or a list of ``bucket`` / ``bucket/prefix``."""
    value = section.raw(name)
    if isinstance(value, bool):
        return value, ()
    if not isinstance(value, list):
        raise ConfigError(
            section.key(name),
            value,
            "must be true, false or a list of bucket names (bucket or bucket/prefix)",
        )
    entries = section.strings(name)
    if not entries:
        raise ConfigError(section.key(name), [], "an empty list records nothing: write false instead")
    if len(entries) > MAX_DATA_EVENT_SELECTORS:
        raise ConfigError(
            section.key(name), len(entries), f"must name at most {MAX_DATA_EVENT_SELECTORS} buckets"
        )
    selectors = []
    for entry in entries:
        match = re.fullmatch(_BUCKET_SELECTOR, entry)
        if match is None or ".." in match["bucket"]:
            raise ConfigError(
                section.key(name),
                entry,
                "must be an S3 bucket name, optionally with an object prefix (bucket or bucket/prefix/)",
            )
        selectors.append(S3DataEventSelector(bucket=match["bucket"], prefix=match["prefix"] or ""))
    return False, tuple(selectors)
