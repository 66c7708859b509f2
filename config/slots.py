"""Settings of the leased-slot pool: how many workspace slots the control plane keeps, how fast it
grows them, and how many per-dispatch access points it may hold when the pool is exhausted.

A slot is an EFS access point rooted at ``/workspaces/.slots/<n>`` plus, per agent, one revision
of ``outpost-<env>-<agent>-slot`` that mounts it (docs/data.md, "Leased slots"). Slots are made
ahead of demand and leased per dispatch, so the dispatch path makes no task-definition or
access-point call (docs/capacity.md, "The rate budget").

Quotas relied on:

* EFS: "A file system can have a maximum of 10,000 access points unless you request an
  increase" ("Creating access points": https://docs.aws.amazon.com/efs/latest/ug/create-access-point.html).
  The pool's access points, the per-dispatch fallback's and the shared one stay within it.
* ECS: task-definition modify calls (RegisterTaskDefinition among them) refill at 1 a second per
  account and Region ("Request throttling for the Amazon ECS API":
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html). The pool
  grows at most half of that, the rate budget's headroom, leaving the rest to deploys and the
  fallback.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.errors import ConfigError
from config.reader import Section
from config.schema import Group, integer

EFS_QUOTAS = "https://docs.aws.amazon.com/efs/latest/ug/create-access-point.html"
ACCESS_POINTS_PER_FILE_SYSTEM = 10_000
# The per-dispatch fallback never holds fewer than this many access points: with none, a dispatch
# that finds the pool exhausted could not run at all.
MIN_FALLBACK_ACCESS_POINTS = 10
ECS_THROTTLING = "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html"
# ECS refills task-definition modify calls at 1 a second (60 a minute); the pool takes at most half.
TASK_DEFINITION_MODIFY_PER_MINUTE = 60
MAX_REGISTRATIONS_PER_MINUTE = TASK_DEFINITION_MODIFY_PER_MINUTE // 2
# The directory of the slots' roots inside /workspaces (the sweeper never sweeps it; the
# collector reads a leased dispatch's outbox there): slot n is rooted at /workspaces/.slots/<n>.
SLOTS_DIRECTORY_NAME = ".slots"

SLOTS = Group(
    "slots",
    "The leased-slot pool: pre-made access points and `-slot` task-definition revisions leased per "
    "dispatch (docs/data.md, *Leased slots*).",
    (
        integer(
            "pool_size",
            "slots the control plane keeps (`OUTPOST_SLOT_POOL_SIZE`): one access point each and one "
            "`-slot` revision per agent; 1,200 carries production's 10x peak (docs/capacity.md)",
            minimum=0,
            maximum=ACCESS_POINTS_PER_FILE_SYSTEM - MIN_FALLBACK_ACCESS_POINTS,
            rules=(
                "with `fallback_access_points`, at most the 10,000 access points EFS allows per file system",
            ),
        ),
        integer(
            "registrations_per_minute",
            "how fast the pool grows (`OUTPOST_SLOT_REGISTRATIONS_PER_MINUTE`): RegisterTaskDefinition "
            "and CreateAccessPoint calls a minute; ECS refills task-definition changes at 60 a minute, "
            "the pool may take half",
            minimum=1,
            maximum=MAX_REGISTRATIONS_PER_MINUTE,
        ),
        integer(
            "fallback_access_points",
            "per-dispatch access points (and revisions) the control plane may hold at once when every "
            "slot is leased (`OUTPOST_SLOT_FALLBACK_ACCESS_POINTS`); past it a dispatch waits",
            minimum=MIN_FALLBACK_ACCESS_POINTS,
            maximum=ACCESS_POINTS_PER_FILE_SYSTEM,
            rules=("with `pool_size`, at most the 10,000 access points EFS allows per file system",),
        ),
    ),
)


@dataclass(frozen=True)
class SlotsConfig:
    """The leased-slot pool (docs/data.md, "Leased slots")."""

    pool_size: int
    registrations_per_minute: int
    fallback_access_points: int

    @property
    def access_points(self) -> int:
        """Access points the workspaces file system holds at most besides the shared one."""
        return self.pool_size + self.fallback_access_points


def parse_slots(section: Section) -> SlotsConfig:
    pool_size = section.integer("pool_size")
    config = SlotsConfig(
        pool_size=pool_size,
        registrations_per_minute=section.integer("registrations_per_minute"),
        fallback_access_points=section.integer("fallback_access_points"),
    )
    # The shared /workspaces access point counts too.
    if config.access_points + 1 > ACCESS_POINTS_PER_FILE_SYSTEM:
        raise ConfigError(
            section.key("fallback_access_points"),
            config.fallback_access_points,
            f"with pool_size {pool_size:,} and the shared access point the file system would hold "
            f"{config.access_points + 1:,} access points; EFS allows {ACCESS_POINTS_PER_FILE_SYSTEM:,} "
            f"per file system ({EFS_QUOTAS})",
        )
    section.done()
    return config
