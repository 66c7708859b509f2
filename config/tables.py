"""The control plane's contract with its DynamoDB tables: names, keys, indexes, expiry.

Attribute names are snake_case strings, and ``expires_at`` is the TTL attribute (epoch
seconds) wherever records expire. ``constructs/dispatch_tables.py`` makes the tables from this
table, the control plane's permissions (``permissions/data_access.py``) name them and their
indexes from it, and docs/data.md lists the same schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TTL_ATTRIBUTE = "expires_at"
# The index the task-state callback queries: dispatch by the ARN of its ECS task.
TASK_ARN_INDEX = "by-task-arn"
# The leases of the slot pool (docs/data.md, "Leased slots"): one item per leased slot, written
# with a conditional put (``attribute_not_exists(slot_id)``), deleted when the slot is returned.
# ``lease_state`` is ``leased`` while a dispatch holds it and ``returning`` once the dispatch
# janitor released it (its task is gone) and the control plane is yet to rename the workspace
# home; the index lists the leases of one state, oldest first, so neither reader scans.
LEASES_TABLE = "slot_leases"
LEASE_STATE_INDEX = "by-state"


@dataclass(frozen=True)
class Index:
    name: str
    partition_key: str
    sort_key: str | None = None
    # KEYS_ONLY where the reader only needs the table key, ALL where it lists records.
    keys_only: bool = False


@dataclass(frozen=True)
class TableSpec:
    name: str
    partition_key: str
    sort_key: str | None = None
    ttl: bool = False
    indexes: tuple[Index, ...] = field(default_factory=tuple)


TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        "dispatches",
        "dispatch_id",
        ttl=True,
        indexes=(
            Index("by-user", "user_id", "created_at"),
            Index("by-status", "status", "created_at"),
            Index(TASK_ARN_INDEX, "task_arn", keys_only=True),
        ),
    ),
    TableSpec("idempotency", "idempotency_key", ttl=True),
    TableSpec("workspaces", "workspace_id", ttl=True, indexes=(Index("by-user", "user_id", "created_at"),)),
    TableSpec("warm_pool", "agent", "task_arn", ttl=True),
    TableSpec("api_keys", "key_id", indexes=(Index("by-key-hash", "key_hash"),)),
    # No TTL: an item is a slot held now (at most pool_size of them), deleted on return; an
    # expiry could free a slot whose task still runs.
    TableSpec(LEASES_TABLE, "slot_id", indexes=(Index(LEASE_STATE_INDEX, "lease_state", "leased_at"),)),
)
