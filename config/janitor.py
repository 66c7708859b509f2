"""Settings of the dispatch janitor: what cleans up after a control plane that died mid-dispatch."""

from __future__ import annotations

from dataclasses import dataclass

from config.common import log_retention, log_retention_setting
from config.reader import Section
from config.schema import Group, integer

JANITOR = Group(
    "janitor",
    "The dispatch janitor: what cleans up after a control plane that died mid-dispatch.",
    (
        integer("interval_minutes", "how often the janitor runs", minimum=5, maximum=60),
        integer(
            "grace_minutes",
            "how long a dispatch's access point or revision may exist with no running task before it is "
            "stale",
            minimum=5,
            maximum=120,
        ),
        integer(
            "reserved_concurrency",
            "executions reserved for the janitor: 1 (never two runs at once) or 0 (none)",
            minimum=0,
            maximum=1,
        ),
        log_retention_setting("log_retention_days", "the janitor's log retention"),
    ),
)


@dataclass(frozen=True)
class JanitorConfig:
    """The dispatch janitor: what cleans up after a control plane that died mid-dispatch."""

    # How often it runs, and how long a dispatch's access point or revision may exist with no
    # running task before it is stale (the control plane's time between creating and running).
    interval_minutes: int
    grace_minutes: int
    # 1 reserves one execution (never two runs at once); 0 reserves none.
    reserved_concurrency: int
    log_retention_days: int


def parse_janitor(section: Section, *, production: bool) -> JanitorConfig:
    config = JanitorConfig(
        interval_minutes=section.integer("interval_minutes"),
        grace_minutes=section.integer("grace_minutes"),
        reserved_concurrency=section.integer("reserved_concurrency"),
        log_retention_days=log_retention(section, "log_retention_days", production=production),
    )
    section.done()
    return config
