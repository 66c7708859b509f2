"""What the Data stack tests share: finding its resources, the tables it must hold."""

from __future__ import annotations

from typing import Any

from tests.synth import Synthesized
from tests.templates import path_of, settings

# The file-system policy's refusal of any mount that does not go through an access point.
DENY_MOUNTS_WITHOUT_AN_ACCESS_POINT = {
    "Sid": "DenyMountsWithoutAnAccessPoint",
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Action": [
        "elasticfilesystem:ClientMount",
        "elasticfilesystem:ClientRootAccess",
        "elasticfilesystem:ClientWrite",
    ],
    "Resource": "*",
    "Condition": {"Null": {"elasticfilesystem:AccessPointArn": "true"}},
}


def data(stage: str) -> dict[str, Any]:
    return settings(stage)["data"]  # type: ignore[no-any-return]


def tables(synthesized: Synthesized, stage: str) -> dict[str, dict[str, Any]]:
    found = synthesized.resources(f"{stage}/Data", "AWS::DynamoDB::Table")
    return {path_of(t).split("/Tables/")[1].removesuffix("/Resource"): t for t in found.values()}


def key_schema(partition: str, sort: str | None = None) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition, "KeyType": "HASH"}]
    if sort:
        schema.append({"AttributeName": sort, "KeyType": "RANGE"})
    return schema


EXPECTED_TABLES = {
    "Dispatches": (
        key_schema("dispatch_id"),
        True,
        {
            "by-user": (key_schema("user_id", "created_at"), "ALL"),
            "by-status": (key_schema("status", "created_at"), "ALL"),
            "by-task-arn": (key_schema("task_arn"), "KEYS_ONLY"),
        },
    ),
    "Idempotency": (key_schema("idempotency_key"), True, {}),
    "Workspaces": (
        key_schema("workspace_id"),
        True,
        {"by-user": (key_schema("user_id", "created_at"), "ALL")},
    ),
    "WarmPool": (key_schema("agent", "task_arn"), True, {}),
    "ApiKeys": (key_schema("key_id"), False, {"by-key-hash": (key_schema("key_hash"), "ALL")}),
}
