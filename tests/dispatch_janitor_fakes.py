"""Hand-written ECS, EFS and DynamoDB (leases) fakes for the dispatch janitor's tests: no AWS,
no moto, no network.

They keep state (tasks, revisions, access points), page their listings, record every call and
raise what botocore would raise (an exception whose ``response`` carries the error code and
message), so a second run and the already-gone cases behave as on AWS.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from lambdas.dispatch_janitor.handler import (
    CREATED_AT_TAG,
    DISPATCH_TAG,
    FILE_SYSTEM_TAG,
    LEASED,
    SLOT_TAG,
    Settings,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ACCOUNT = "arn:aws:ecs:us-east-1:111111111111"
CLUSTER = f"{ACCOUNT}:cluster/outpost-prod"
FS, OTHER_FS = "fs-0123456789abcdef0", "fs-0fedcba987654321f"
SHARED = "fsap-0000000000000000a"
CLAUDE, CODEX = "outpost-prod-claude-dispatch", "outpost-prod-codex-dispatch"
SETTINGS = Settings(
    cluster_arn=CLUSTER,
    file_system_id=FS,
    shared_access_point_id=SHARED,
    families=(CLAUDE, CODEX),
    grace_seconds=900,
    task_timeout_seconds=3600,
    leases_table="outpost-prod-slot-leases",
    lease_state_index="by-state",
)
OLD, YOUNG = 2 * 3600, 60  # seconds ago: past the grace period (and the timeout), within the grace
_ids = itertools.count(1)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def revision_arn(family: str, revision: int) -> str:
    return f"{ACCOUNT}:task-definition/{family}:{revision}"


class AwsError(Exception):
    """What botocore raises: a ClientError whose ``response`` carries the code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"An error occurred ({code}): {message}")
        self.response = {"Error": {"Code": code, "Message": message}}


class Recorder:
    def __init__(self, page_size: int) -> None:
        self.page_size = page_size
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.errors: dict[tuple[str, str], Exception] = {}  # (call, resource) -> what it raises

    def record(self, name: str, kwargs: dict[str, Any], resource: str = "") -> None:
        self.calls.append((name, kwargs))
        if (name, resource) in self.errors:
            raise self.errors[(name, resource)]

    def to(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for called, kwargs in self.calls if called == name]

    def page(self, items: list[str], kwargs: dict[str, Any], key: str, token: str) -> dict[str, Any]:
        start = int(kwargs.get(token, 0))
        page: dict[str, Any] = {key: items[start : start + self.page_size]}
        if start + self.page_size < len(items):
            page[token] = str(start + self.page_size)
        return page


class FakeEcs(Recorder):
    def __init__(self, page_size: int = 100) -> None:
        super().__init__(page_size)
        self.tasks: dict[str, dict[str, Any]] = {}
        self.revisions: dict[str, dict[str, Any]] = {}

    def add_task(
        self, dispatch: str | None, definition: str, *, started: datetime | None = None, **extra: Any
    ) -> str:
        arn = f"{ACCOUNT}:task/outpost-prod/{next(_ids):032x}"
        tags = [{"key": DISPATCH_TAG, "value": dispatch}] if dispatch else []
        task = {"taskArn": arn, "taskDefinitionArn": definition, "tags": tags, "desiredStatus": "RUNNING"}
        self.tasks[arn] = {**task, "createdAt": started or ago(YOUNG), "startedAt": started, **extra}
        return arn

    def add_revision(
        self, family: str, dispatch: str | None, *, registered: datetime | None = None, status: str = "ACTIVE"
    ) -> str:
        arn = revision_arn(family, next(_ids))
        tags = [{"key": DISPATCH_TAG, "value": dispatch}] if dispatch else []
        self.revisions[arn] = {"family": family, "status": status, "registeredAt": registered, "tags": tags}
        return arn

    def status(self, arn: str) -> str:
        return str(self.revisions[arn]["status"]) if arn in self.revisions else "GONE"

    def list_tasks(self, **kwargs: Any) -> Mapping[str, Any]:
        self.record("list_tasks", kwargs)
        assert (kwargs["cluster"], kwargs["desiredStatus"]) == (CLUSTER, "RUNNING")
        running = sorted(arn for arn, task in self.tasks.items() if task["desiredStatus"] == "RUNNING")
        return self.page(running, kwargs, "taskArns", "nextToken")

    def describe_tasks(self, **kwargs: Any) -> Mapping[str, Any]:
        self.record("describe_tasks", kwargs)
        assert kwargs["cluster"] == CLUSTER
        assert 1 <= len(kwargs["tasks"]) <= 100  # the API's limit
        assert kwargs["include"] == ["TAGS"]
        tasks = [dict(self.tasks[arn]) for arn in kwargs["tasks"] if arn in self.tasks]
        return {"tasks": [{k: v for k, v in t.items() if v is not None} for t in tasks], "failures": []}

    def stop_task(self, **kwargs: Any) -> Mapping[str, Any]:
        self.record("stop_task", kwargs, kwargs["task"])
        task = self.tasks.get(kwargs["task"])
        if task is None:
            raise AwsError("InvalidParameterException", "The referenced task was not found.")
        task.update(desiredStatus="STOPPED", stoppedReason=kwargs["reason"])
        return {"task": task}

    def list_task_definitions(self, **kwargs: Any) -> Mapping[str, Any]:
        self.record("list_task_definitions", kwargs, kwargs["familyPrefix"])
        # The worst reading of "familyPrefix": a prefix match (the API reference says full name).
        arns = sorted(
            arn
            for arn, rev in self.revisions.items()
            if rev["family"].startswith(kwargs["familyPrefix"]) and rev["status"] == kwargs["status"]
        )
        return self.page(arns, kwargs, "taskDefinitionArns", "nextToken")

    def describe_task_definition(self, **kwargs: Any) -> Mapping[str, Any]:
        arn = kwargs["taskDefinition"]
        self.record("describe_task_definition", kwargs, arn)
        assert kwargs["include"] == ["TAGS"]
        rev = self.revisions.get(arn)
        if rev is None or rev["status"] == "DELETE_IN_PROGRESS":
            raise AwsError("ClientException", "Unable to describe task definition.")
        definition = {"taskDefinitionArn": arn, "family": rev["family"], "status": rev["status"]}
        if rev["registeredAt"] is not None:
            definition["registeredAt"] = rev["registeredAt"]
        return {"taskDefinition": definition, "tags": rev["tags"]}

    def deregister_task_definition(self, **kwargs: Any) -> Mapping[str, Any]:
        arn = kwargs["taskDefinition"]
        self.record("deregister_task_definition", kwargs, arn)
        if arn not in self.revisions:
            raise AwsError("ClientException", "The specified task definition does not exist.")
        self.revisions[arn]["status"] = "INACTIVE"
        return {"taskDefinition": {"taskDefinitionArn": arn, "status": "INACTIVE"}}

    def delete_task_definitions(self, **kwargs: Any) -> Mapping[str, Any]:
        self.record("delete_task_definitions", kwargs, ",".join(kwargs["taskDefinitions"]))
        assert 1 <= len(kwargs["taskDefinitions"]) <= 10  # the API's limit
        deleted, failures = [], []
        for arn in kwargs["taskDefinitions"]:
            rev = self.revisions.get(arn)
            if rev is None:
                failures.append({"arn": arn, "reason": "The specified task definition does not exist."})
            elif rev["status"] == "ACTIVE":
                failures.append({"arn": arn, "reason": "The task definition is ACTIVE: deregister it first."})
            else:
                rev["status"] = "DELETE_IN_PROGRESS"
                deleted.append({"taskDefinitionArn": arn, "status": "DELETE_IN_PROGRESS"})
        return {"taskDefinitions": deleted, "failures": failures}


class FakeEfs(Recorder):
    def __init__(self, page_size: int = 100) -> None:
        super().__init__(page_size)
        self.points: dict[str, dict[str, Any]] = {}

    def add_point(
        self,
        dispatch: str | None,
        *,
        created: str | None = None,
        fs_tag: str | None = FS,
        ap_id: str = "",
        slot: str | None = None,
    ) -> str:
        ap_id = ap_id or f"fsap-{next(_ids):017x}"
        tags = {DISPATCH_TAG: dispatch, FILE_SYSTEM_TAG: fs_tag, CREATED_AT_TAG: created, SLOT_TAG: slot}
        self.points[ap_id] = {
            "AccessPointId": ap_id,
            "FileSystemId": FS,
            "LifeCycleState": "available",
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items() if v is not None],
        }
        return ap_id

    def describe_access_points(self, **kwargs: Any) -> Mapping[str, Any]:
        self.record("describe_access_points", kwargs)
        assert kwargs["FileSystemId"] == FS
        assert "AccessPointId" not in kwargs  # mutually exclusive with FileSystemId
        page = self.page(sorted(self.points), kwargs, "AccessPoints", "NextToken")
        page["AccessPoints"] = [self.points[ap] for ap in page["AccessPoints"]]
        return page

    def delete_access_point(self, **kwargs: Any) -> Mapping[str, Any]:
        self.record("delete_access_point", kwargs, kwargs["AccessPointId"])
        if self.points.pop(kwargs["AccessPointId"], None) is None:
            raise AwsError("AccessPointNotFound", "Access point does not exist.")
        return {}


def created(seconds_ago: float) -> str:
    """An ``outpost:created-at`` tag value: unix seconds."""
    return str(int(NOW.timestamp() - seconds_ago))


class FakeLeases(Recorder):
    """The leases table through a low-level DynamoDB client: Query on the state index (paged)
    and a conditional UpdateItem, with DynamoDB's ``ConditionalCheckFailedException``."""

    def __init__(self, page_size: int = 100) -> None:
        super().__init__(page_size)
        self.items: dict[str, dict[str, Any]] = {}

    def add_lease(
        self,
        slot: str,
        dispatch: str | None,
        *,
        leased_at: str,
        state: str = LEASED,
        released_at: str | None = None,
    ) -> None:
        item = {"slot_id": {"S": slot}, "lease_state": {"S": state}, "leased_at": {"S": leased_at}}
        if dispatch is not None:
            item["dispatch_id"] = {"S": dispatch}
        if released_at is not None:
            item["released_at"] = {"S": released_at}
        self.items[slot] = item

    def state(self, slot: str) -> str:
        return str(self.items[slot]["lease_state"]["S"])

    def query(self, **kwargs: Any) -> Mapping[str, Any]:
        self.record("query", kwargs)
        assert kwargs["TableName"] == SETTINGS.leases_table
        assert kwargs["IndexName"] == SETTINGS.lease_state_index
        assert kwargs["KeyConditionExpression"] == "lease_state = :state"
        wanted = kwargs["ExpressionAttributeValues"][":state"]["S"]
        slots = sorted(slot for slot, item in self.items.items() if item["lease_state"]["S"] == wanted)
        start = int(kwargs.get("ExclusiveStartKey", {}).get("slot_id", {}).get("S", "-1")) + 1
        index = [int(slot) for slot in slots]
        page = [s for s, n in zip(slots, index, strict=True) if n >= start][: self.page_size]
        response: dict[str, Any] = {"Items": [dict(self.items[slot]) for slot in page]}
        if page and page[-1] != slots[-1]:
            response["LastEvaluatedKey"] = {"slot_id": {"S": page[-1]}}
        return response

    def update_item(self, **kwargs: Any) -> Mapping[str, Any]:
        slot = kwargs["Key"]["slot_id"]["S"]
        self.record("update_item", kwargs, slot)
        assert kwargs["TableName"] == SETTINGS.leases_table
        assert kwargs["ConditionExpression"] == "lease_state = :leased AND dispatch_id = :dispatch"
        values = kwargs["ExpressionAttributeValues"]
        item = self.items.get(slot)
        holds = item is not None and item.get("dispatch_id") == values[":dispatch"]
        if not holds or item is None or item["lease_state"] != values[":leased"]:
            raise AwsError("ConditionalCheckFailedException", "The conditional request failed")
        item.update(
            lease_state=values[":returning"], released_at=values[":now"], released_by=values[":janitor"]
        )
        return {}


def leased(seconds_ago: float) -> str:
    """A ``leased_at`` value: ISO 8601 with its offset."""
    return ago(seconds_ago).isoformat()
