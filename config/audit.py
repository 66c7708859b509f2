"""Settings of the Audit stack: how long audit data is kept, how it is locked, what is recorded."""

from __future__ import annotations

import re
from dataclasses import dataclass

from config.common import log_retention, log_retention_setting
from config.errors import ConfigError
from config.reader import Section
from config.schema import Group, Setting, integer, string

# A year is the floor: audit evidence is kept at least 365 days (PCI DSS 10.7 and the issue).
MIN_RETENTION_DAYS = 365
# S3 Object Lock accepts a default retention of up to 100 years.
MAX_RETENTION_DAYS = 36500
LOCK_MODES: tuple[str, ...] = ("COMPLIANCE", "GOVERNANCE")
MAX_DATA_EVENT_SELECTORS = 100

# An S3 bucket name, optionally followed by an object-key prefix: ``my-bucket`` or ``my-bucket/logs/``.
_BUCKET_SELECTOR = r"(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>[^\s*]*))?"

AUDIT = Group(
    "audit",
    "The Audit stack: how long audit data is kept, how it is locked, what is recorded.",
    (
        integer(
            "bucket_retention_days",
            "audit log files are locked, then expire, after this many days",
            minimum=MIN_RETENTION_DAYS,
            maximum=MAX_RETENTION_DAYS,
        ),
        string(
            "object_lock_mode",
            "`COMPLIANCE` (nobody can shorten the lock) or `GOVERNANCE` (holders of "
            "`s3:BypassGovernanceRetention` can)",
            choices=LOCK_MODES,
            rules=("`COMPLIANCE` in a production environment",),
        ),
        log_retention_setting(
            "log_group_retention_days",
            "retention of the trail's CloudWatch log group",
            minimum=MIN_RETENTION_DAYS,
        ),
        integer(
            "access_log_retention_days",
            "S3 access logs of the audit bucket (who read the audit logs) expire after this many days",
            minimum=MIN_RETENTION_DAYS,
            maximum=MAX_RETENTION_DAYS,
        ),
        Setting(
            "s3_data_events",
            "value",
            "S3 object-level events: `false`, `true` (every bucket but the audit buckets) or a list of "
            "`bucket` / `bucket/prefix/`",
            type_name="true, false or list of strings",
            rules=(
                "bucket names, optionally with an object prefix",
                f"at most {MAX_DATA_EVENT_SELECTORS}",
                "no repeats",
                "an empty list is refused (write `false`)",
            ),
        ),
    ),
)


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
    retention = section.integer("bucket_retention_days")
    mode = section.string("object_lock_mode")
    if production and mode != "COMPLIANCE":
        raise ConfigError(
            section.key("object_lock_mode"),
            mode,
            "a production environment must use COMPLIANCE, so nobody can shorten the retention",
        )
    log_days = log_retention(
        section, "log_group_retention_days", production=production, minimum=MIN_RETENTION_DAYS
    )
    access_days = section.integer("access_log_retention_days")
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
