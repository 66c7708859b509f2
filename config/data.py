"""Settings of the Data stack: artifacts, the event bus and its archive, workspaces, the callback."""

from __future__ import annotations

from dataclasses import dataclass

from config.common import log_retention, log_retention_setting
from config.errors import ConfigError
from config.reader import Section
from config.schema import Group, Setting, integer, string

# EFS lifecycle: the ages (days since last access) EFS accepts for a move to Infrequent Access.
EFS_TRANSITION_DAYS: tuple[int, ...] = (1, 7, 14, 30, 60, 90, 180, 270, 365)

# EventBridge bus names: letters, digits and . - _ (no "/"), not "default", not "aws." (reserved).
_EVENT_BUS_NAME = r"[A-Za-z0-9._\-]{1,256}"

# Ten years: the upper bound of every "expire after N days" setting here.
MAX_DAYS = 3650


# Lambda keeps 100 concurrent executions of a region unreserved, and a new account's quota
# is 10 ("Lambda quotas": https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html):
# a reservation there fails the deploy. 0 means "unreserved" (the account's shared pool).
UNRESERVED = 0
MAX_RESERVED_CONCURRENCY = 100


def _function_declarations(what: str, *, max_reserved: int, reserved: str) -> tuple[Setting, ...]:
    return (
        integer(
            "target_retry_attempts",
            f"EventBridge's retries of a failed delivery to the {what}",
            minimum=0,
            maximum=185,
        ),
        integer("retry_attempts", f"Lambda's retries of a failed {what} invocation", minimum=0, maximum=2),
        integer(
            "max_event_age_minutes",
            "how long an event is retried before it goes to the dead-letter queue",
            minimum=1,
            maximum=360,
        ),
        log_retention_setting("log_retention_days", f"the {what}'s log retention"),
        integer("reserved_concurrency", reserved, minimum=UNRESERVED, maximum=max_reserved),
    )


CALLBACK = Group(
    "callback",
    "The task-state callback: the Lambda function that records a task's end, and its dead-letter queue.",
    (
        *_function_declarations(
            "callback",
            max_reserved=MAX_RESERVED_CONCURRENCY,
            reserved="executions reserved for the callback; 0 reserves none (a new account's quota of 10 "
            "cannot reserve any)",
        ),
        integer(
            "dead_letter_retention_days",
            "how long failed events wait in the dead-letter queue",
            minimum=1,
            maximum=14,
        ),
    ),
)

SWEEPER = Group(
    "sweeper",
    "The daily workspace sweeper (it shares the callback's dead-letter queue).",
    _function_declarations(
        "sweeper",
        max_reserved=1,
        reserved="executions reserved for the sweeper: 1 (never two sweeps at once) or 0 (none)",
    ),
)

# S3 PutObject takes at most 5 GiB in one request; the collector uploads each file in one.
MAX_COLLECTED_MIB = 5 * 1024

COLLECTOR = Group(
    "collector",
    "The artifacts collector: after an agent task stops, copies its dispatch's outbox from the "
    "workspace to the artifacts bucket (it shares the callback's rule and dead-letter queue).",
    (
        *_function_declarations(
            "collector",
            max_reserved=MAX_RESERVED_CONCURRENCY,
            reserved="executions reserved for the collector; 0 reserves none",
        ),
        integer(
            "max_files_per_dispatch",
            "files of one dispatch's outbox uploaded at most (the rest are logged and left)",
            minimum=1,
            maximum=10_000,
        ),
        integer(
            "max_mib_per_dispatch",
            "MiB of one dispatch's outbox uploaded at most, and of one file (S3 PutObject: 5 GiB)",
            minimum=1,
            maximum=MAX_COLLECTED_MIB,
        ),
    ),
)

DATA = Group(
    "data",
    "The Data stack: artifacts, the event bus and its archive, workspaces, the callback, the sweeper.",
    (
        integer(
            "artifacts_expiration_days",
            "artifacts expire this many days after they are written",
            minimum=1,
            maximum=MAX_DAYS,
        ),
        integer(
            "artifacts_noncurrent_expiration_days",
            "overwritten or deleted artifact versions are kept this long (and, in production, locked "
            "this long)",
            minimum=1,
            maximum=MAX_DAYS,
            rules=("at most `artifacts_expiration_days`",),
        ),
        integer(
            "access_log_retention_days",
            "S3 access logs of the artifacts bucket expire after this many days",
            minimum=1,
            maximum=MAX_DAYS,
        ),
        string(
            "event_bus_name",
            "the control plane's event bus",
            default="outpost-events",
            pattern=_EVENT_BUS_NAME,
            pattern_rule="must be 1-256 letters, digits or . _ -",
            rules=(
                "not `default`, not `aws.*`",
                "not another environment's in the same account and region",
            ),
        ),
        integer(
            "event_archive_retention_days",
            'archived events (for replay) expire after this many days (EventBridge\'s 0, "forever", is '
            "refused)",
            minimum=1,
            maximum=MAX_DAYS,
        ),
        integer(
            "efs_transition_to_ia_days",
            "workspace files untouched this long move to EFS Infrequent Access",
            choices=EFS_TRANSITION_DAYS,
        ),
        integer(
            "workspace_expiry_days",
            "the daily sweeper deletes a workspace directory nothing under has changed for this long",
            minimum=1,
            maximum=MAX_DAYS,
        ),
        CALLBACK,
        SWEEPER,
        COLLECTOR,
    ),
)


@dataclass(frozen=True)
class FunctionConfig:
    """A scheduled or event-driven Lambda function and its delivery guarantees."""

    # EventBridge -> Lambda delivery attempts after the first (EventBridge allows 0-185).
    target_retry_attempts: int
    # Lambda's own retries of a failed asynchronous invocation (Lambda allows 0-2).
    retry_attempts: int
    # How long an undelivered or unprocessed event is tried before it goes to the DLQ.
    max_event_age_minutes: int
    log_retention_days: int
    # Executions reserved for the function; 0 (``UNRESERVED``) reserves none.
    reserved_concurrency: int


@dataclass(frozen=True)
class CallbackConfig(FunctionConfig):
    """The task-state callback Lambda: its delivery guarantees and its dead-letter queue."""

    dead_letter_retention_days: int


@dataclass(frozen=True)
class SweeperConfig(FunctionConfig):
    """The daily workspace sweeper Lambda (it shares the callback's dead-letter queue)."""


@dataclass(frozen=True)
class CollectorConfig(FunctionConfig):
    """The artifacts collector Lambda: what it takes from one dispatch's outbox at most."""

    max_files_per_dispatch: int
    max_mib_per_dispatch: int


@dataclass(frozen=True)
class DataConfig:
    artifacts_expiration_days: int
    artifacts_noncurrent_expiration_days: int
    access_log_retention_days: int
    event_bus_name: str
    event_archive_retention_days: int
    efs_transition_to_ia_days: int
    # Workspace directories untouched this many days are deleted by the daily sweeper.
    workspace_expiry_days: int
    callback: CallbackConfig
    sweeper: SweeperConfig
    collector: CollectorConfig


def _function_settings(section: Section, *, production: bool) -> dict[str, int]:
    return {
        "target_retry_attempts": section.integer("target_retry_attempts"),
        "retry_attempts": section.integer("retry_attempts"),
        # EventBridge takes 1 minute to 24 hours; Lambda's asynchronous queue 1 minute to 6 hours.
        "max_event_age_minutes": section.integer("max_event_age_minutes"),
        "log_retention_days": log_retention(section, "log_retention_days", production=production),
        "reserved_concurrency": section.integer("reserved_concurrency"),
    }


def parse_callback(section: Section, *, production: bool) -> CallbackConfig:
    config = CallbackConfig(
        **_function_settings(section, production=production),
        # SQS keeps a message 1 minute to 14 days.
        dead_letter_retention_days=section.integer("dead_letter_retention_days"),
    )
    section.done()
    return config


def parse_sweeper(section: Section, *, production: bool) -> SweeperConfig:
    # One sweep at a time is all it ever needs: at most 1 reserved (its declaration).
    config = SweeperConfig(**_function_settings(section, production=production))
    section.done()
    return config


def parse_collector(section: Section, *, production: bool) -> CollectorConfig:
    config = CollectorConfig(
        **_function_settings(section, production=production),
        max_files_per_dispatch=section.integer("max_files_per_dispatch"),
        max_mib_per_dispatch=section.integer("max_mib_per_dispatch"),
    )
    section.done()
    return config


def parse_data(section: Section, *, production: bool) -> DataConfig:
    expiration = section.integer("artifacts_expiration_days")
    noncurrent = section.integer("artifacts_noncurrent_expiration_days")
    if noncurrent > expiration:
        raise ConfigError(
            section.key("artifacts_noncurrent_expiration_days"),
            noncurrent,
            f"must not exceed artifacts_expiration_days ({expiration})",
        )
    bus = section.string("event_bus_name")
    if bus == "default" or bus.startswith("aws."):
        raise ConfigError(section.key("event_bus_name"), bus, "names the default bus or a reserved aws. name")
    config = DataConfig(
        artifacts_expiration_days=expiration,
        artifacts_noncurrent_expiration_days=noncurrent,
        access_log_retention_days=section.integer("access_log_retention_days"),
        event_bus_name=bus,
        # EventBridge reads 0 as "keep forever": rejected, the archive must expire like everything else.
        event_archive_retention_days=section.integer("event_archive_retention_days"),
        efs_transition_to_ia_days=section.integer("efs_transition_to_ia_days"),
        workspace_expiry_days=section.integer("workspace_expiry_days"),
        callback=parse_callback(section.section("callback"), production=production),
        sweeper=parse_sweeper(section.section("sweeper"), production=production),
        collector=parse_collector(section.section("collector"), production=production),
    )
    section.done()
    return config
