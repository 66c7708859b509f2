"""Settings of the Audit stack: how long audit data is kept, how it is locked, what is recorded."""

from __future__ import annotations

import re
from dataclasses import dataclass

from config.common import log_retention, log_retention_setting
from config.errors import ConfigError
from config.guardduty import AGENT_REPOSITORY_PAGE, AGENT_TABLE_DATE, GuardDutyAgentImage, agent_image
from config.monitoring import EMAIL_PATTERN
from config.reader import Section
from config.schema import Group, Setting, integer, optional_string, string

# A year is the floor: audit evidence is kept at least 365 days (PCI DSS 10.7 and the issue).
MIN_RETENTION_DAYS = 365
# S3 Object Lock accepts a default retention of up to 100 years.
MAX_RETENTION_DAYS = 36500
LOCK_MODES: tuple[str, ...] = ("COMPLIANCE", "GOVERNANCE")
MAX_DATA_EVENT_SELECTORS = 100
# GuardDuty: no detector of this project, a new one, or the id of the account's existing one
# (GuardDuty API reference, Detector: one detector per account and Region; ids are 32 hex digits).
GUARDDUTY_OFF = "off"
GUARDDUTY_CREATE = "create"
DETECTOR_ID = r"[0-9a-f]{32}"

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
        optional_string(
            "security_email",
            "who is told of the security alarms: an e-mail subscription of the security topic "
            "(separate from `monitoring.alarm_email`; left out: none)",
            pattern=EMAIL_PATTERN,
            pattern_rule="must be an e-mail address (leave the key out for no subscription)",
            rules=("required in a production environment",),
        ),
        string(
            "guardduty",
            "threat detection: `off`, `create` (a GuardDuty detector with ECS Fargate runtime "
            "monitoring) or the 32-hex-digit id of the account's existing detector",
            default=GUARDDUTY_OFF,
            pattern=f"{GUARDDUTY_OFF}|{GUARDDUTY_CREATE}|{DETECTOR_ID}",
            pattern_rule="must be off, create or a GuardDuty detector id (32 hex digits)",
            rules=(
                "not `off` in a production environment",
                "`create` in at most one environment of an account and region",
                "not `off` only in a region whose GuardDuty agent repository config/guardduty.py lists",
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
    security_email: str | None = None
    # GUARDDUTY_OFF, GUARDDUTY_CREATE or an existing detector's id.
    guardduty: str = GUARDDUTY_OFF
    # GuardDuty's Fargate agent repository of the environment's region (None when ``off``): every
    # execution role of the cluster may pull it, the egress firewall admits its registry host.
    guardduty_agent: GuardDutyAgentImage | None = None

    @property
    def creates_detector(self) -> bool:
        return self.guardduty == GUARDDUTY_CREATE

    @property
    def detector_id(self) -> str | None:
        """The existing detector this environment names, if it names one."""
        return None if self.guardduty in (GUARDDUTY_OFF, GUARDDUTY_CREATE) else self.guardduty


def parse_audit(section: Section, *, production: bool, region: str) -> AuditConfig:
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
    security_email = section.optional_string("security_email")
    if production and security_email is None:
        raise ConfigError(
            section.key("security_email"),
            None,
            "the security alarms of a production account must reach a person: set an e-mail address",
        )
    guardduty = section.string("guardduty")
    if production and guardduty == GUARDDUTY_OFF:
        raise ConfigError(
            section.key("guardduty"),
            guardduty,
            "a production environment runs threat detection: write create, or the id of the "
            "account's existing GuardDuty detector",
        )
    agent = None if guardduty == GUARDDUTY_OFF else agent_image(region)
    if guardduty != GUARDDUTY_OFF and agent is None:
        raise ConfigError(
            section.key("guardduty"),
            guardduty,
            f"GuardDuty's Fargate agent repository of region {region} is not in config/guardduty.py "
            f"(pinned {AGENT_TABLE_DATE} from {AGENT_REPOSITORY_PAGE}): add the region's row, or write off",
        )
    section.done()
    return AuditConfig(
        bucket_retention_days=retention,
        object_lock_mode=mode,
        log_group_retention_days=log_days,
        access_log_retention_days=access_days,
        log_all_s3_data_events=log_all,
        s3_data_event_selectors=selectors,
        security_email=security_email,
        guardduty=guardduty,
        guardduty_agent=agent,
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
