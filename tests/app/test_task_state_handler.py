"""The task-state callback Lambda, run against a fake DynamoDB client on recorded event shapes.

No AWS: the client is injected. The fake evaluates the one condition the handler writes
with (record exists and is not final) the way DynamoDB would, so idempotency is tested.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from constructs.agent_task import AGENT_CONTAINER, PROXY_CONTAINER
from lambdas.task_state import handler as task_state
from lambdas.task_state.handler import FINAL_STATUSES, MalformedEventError, process

EVENTS = Path(__file__).parent / "events"
TABLE = "outpost-dev-dispatches"
INDEX = "by-task-arn"
NOW = datetime(2026, 11, 20, 10, 41, 9, tzinfo=UTC)
TASK_ARN = "arn:aws:ecs:us-east-1:111111111111:task/outpost-dev/0b69d5c0d655417db97b9e8c0d1a7f2e"


def recorded(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


class ConditionalCheckFailedError(Exception):
    """What botocore raises: a ClientError whose ``response`` carries the error code."""

    def __init__(self) -> None:
        super().__init__("The conditional request failed")
        self.response = {"Error": {"Code": "ConditionalCheckFailedException"}}


class ThrottledError(Exception):
    def __init__(self) -> None:
        super().__init__("Rate exceeded")
        self.response = {"Error": {"Code": "ProvisionedThroughputExceededException"}}


class FakeDynamo:
    """Items by dispatch id; ``query`` on the task-ARN index, ``update_item`` with the condition."""

    def __init__(self, items: dict[str, dict[str, Any]], *, page_size: int = 100) -> None:
        self.items = items
        self.page_size = page_size
        self.queries: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self.fail_updates_with: Exception | None = None

    def query(self, **kwargs: Any) -> Mapping[str, Any]:
        self.queries.append(kwargs)
        assert kwargs["TableName"] == TABLE
        assert kwargs["IndexName"] == INDEX
        arn = kwargs["ExpressionAttributeValues"][":task_arn"]["S"]
        matches = sorted(k for k, item in self.items.items() if item.get("task_arn") == arn)
        start = int(kwargs.get("ExclusiveStartKey", {}).get("offset", 0))
        page = matches[start : start + self.page_size]
        result: dict[str, Any] = {"Items": [{"dispatch_id": {"S": k}, "task_arn": {"S": arn}} for k in page]}
        if start + self.page_size < len(matches):
            result["LastEvaluatedKey"] = {"offset": start + self.page_size}
        return result

    def update_item(self, **kwargs: Any) -> Mapping[str, Any]:
        self.updates.append(kwargs)
        if self.fail_updates_with is not None:
            raise self.fail_updates_with
        assert kwargs["TableName"] == TABLE
        key = kwargs["Key"]["dispatch_id"]["S"]
        names, values = kwargs["ExpressionAttributeNames"], kwargs["ExpressionAttributeValues"]
        item = self.items.get(key)
        final = {v["S"] for k, v in values.items() if k.startswith(":final")}
        if item is None or item.get("status") in final:
            raise ConditionalCheckFailedError()
        for assignment in kwargs["UpdateExpression"].removeprefix("SET ").split(", "):
            name, value = assignment.split(" = ")
            typed = values[value]
            item[names[name]] = int(typed["N"]) if "N" in typed else typed["S"]
        return {}


def run(event: Any, client: FakeDynamo) -> dict[str, Any]:
    return process(event, client=client, table_name=TABLE, index_name=INDEX, now=NOW)


def running(dispatch_id: str = "d-1", task_arn: str = TASK_ARN) -> dict[str, dict[str, Any]]:
    return {dispatch_id: {"task_arn": task_arn, "status": "running", "user_id": "u-1"}}


def test_success_marks_the_dispatch_succeeded() -> None:
    client = FakeDynamo(running())
    result = run(recorded("task_succeeded"), client)
    assert result == {"task_arn": TASK_ARN, "result": "updated", "dispatches": {"d-1": "succeeded"}}
    assert client.items["d-1"] == {
        "task_arn": TASK_ARN,
        "user_id": "u-1",
        "status": "succeeded",
        "exit_code": 0,
        "finished_at": "2026-11-20T10:41:06.7Z",
        "stop_code": "EssentialContainerExited",
        "stopped_reason": "Essential container in task exited",
        "updated_at": "2026-11-20T10:41:09Z",
    }


def test_the_requests_are_what_the_role_allows() -> None:
    """One Query on the task-ARN index, one conditional UpdateItem on the table by key."""
    client = FakeDynamo(running())
    run(recorded("task_succeeded"), client)
    [query] = client.queries
    assert query["KeyConditionExpression"] == "#task_arn = :task_arn"
    assert query["ExpressionAttributeNames"] == {"#task_arn": "task_arn"}
    assert query["ExpressionAttributeValues"] == {":task_arn": {"S": TASK_ARN}}
    [update] = client.updates
    assert update["Key"] == {"dispatch_id": {"S": "d-1"}}
    assert update["ConditionExpression"] == (
        "attribute_exists(#key) AND NOT #status IN (:final0, :final1, :final2, :final3)"
    )
    assert [update["ExpressionAttributeValues"][f":final{i}"]["S"] for i in range(4)] == list(FINAL_STATUSES)
    assert set(FINAL_STATUSES) == {"succeeded", "failed", "timed_out", "cancelled"}


@pytest.mark.parametrize(
    ("agent", "proxy", "guardduty", "status"),
    [
        (0, 137, 0, "succeeded"),
        (0, 0, 0, "succeeded"),
        (0, 0, 143, "succeeded"),
        (0, 137, 137, "succeeded"),
        (1, 0, 0, "failed"),
    ],
)
def test_only_the_agents_exit_code_is_the_jobs(agent: int, proxy: int, guardduty: int, status: str) -> None:
    """ECS stops the proxy after the agent (SIGTERM, then SIGKILL: 137), and GuardDuty's sidecar
    (added by AWS where runtime monitoring is on) exits as it will: only the agent decides."""
    event = copy.deepcopy(recorded("task_succeeded"))
    event["detail"]["containers"] = [
        {"name": PROXY_CONTAINER, "exitCode": proxy, "lastStatus": "STOPPED"},
        {"name": "aws-guardduty-agent-AbC123", "exitCode": guardduty, "lastStatus": "STOPPED"},
        {"name": AGENT_CONTAINER, "exitCode": agent, "lastStatus": "STOPPED"},
    ]
    client = FakeDynamo(running())
    run(event, client)
    assert client.items["d-1"]["status"] == status
    assert client.items["d-1"]["exit_code"] == agent
    assert task_state.JOB_CONTAINER == AGENT_CONTAINER


def test_a_task_whose_agent_never_ran_is_failed_whatever_its_sidecars_say() -> None:
    event = copy.deepcopy(recorded("task_succeeded"))
    event["detail"]["containers"] = [
        {"name": PROXY_CONTAINER, "exitCode": 0, "lastStatus": "STOPPED"},
        {"name": AGENT_CONTAINER, "lastStatus": "STOPPED"},
    ]
    client = FakeDynamo(running())
    run(event, client)
    assert client.items["d-1"]["status"] == "failed"


def test_non_zero_exit_is_failed_with_its_code() -> None:
    client = FakeDynamo(running())
    run(recorded("task_failed"), client)
    assert client.items["d-1"]["status"] == "failed"
    assert client.items["d-1"]["exit_code"] == 1


def test_stop_for_timeout_is_timed_out() -> None:
    client = FakeDynamo(running())
    run(recorded("task_timed_out"), client)
    item = client.items["d-1"]
    assert item["status"] == "timed_out"
    assert item["stop_code"] == "UserInitiated"
    assert item["exit_code"] == 143  # SIGTERM: what the agent died of


def test_exit_124_is_timed_out() -> None:
    event = recorded("task_failed")
    event["detail"]["containers"][0]["exitCode"] = 124
    client = FakeDynamo(running())
    run(event, client)
    assert client.items["d-1"]["status"] == "timed_out"


def test_failed_to_start_is_failed_even_with_timeout_in_the_reason() -> None:
    """ECS's own "i/o timeout" while pulling is a failure to start, not the task's time-out."""
    event = recorded("task_failed_to_start")
    assert "timeout" in event["detail"]["stoppedReason"]
    client = FakeDynamo(running())
    run(event, client)
    item = client.items["d-1"]
    assert item["status"] == "failed"
    assert item["stop_code"] == "TaskFailedToStart"
    assert "exit_code" not in item  # no container ever ran


def test_stop_for_a_cancel_is_cancelled() -> None:
    event = recorded("task_timed_out")
    event["detail"]["stoppedReason"] = "outpost: dispatch cancelled by its user"
    client = FakeDynamo(running())
    run(event, client)
    assert client.items["d-1"]["status"] == "cancelled"


def test_cancel_in_the_reason_of_a_stop_ecs_made_is_not_a_cancel() -> None:
    event = recorded("task_failed_to_start")
    event["detail"]["stoppedReason"] = "Task provisioning cancelled: capacity unavailable"
    client = FakeDynamo(running())
    run(event, client)
    assert client.items["d-1"]["status"] == "failed"


def test_user_stop_without_timeout_is_failed() -> None:
    event = recorded("task_timed_out")
    event["detail"]["stoppedReason"] = "Task stopped by user"
    event["detail"]["containers"][0]["exitCode"] = 0
    client = FakeDynamo(running())
    run(event, client)
    assert client.items["d-1"]["status"] == "failed"


@pytest.mark.parametrize("left_in", ["pending", "provisioning", "running", "cancelling", "unknown-state"])
def test_any_non_final_state_is_finished(left_in: str) -> None:
    client = FakeDynamo({"d-1": {"task_arn": TASK_ARN, "status": left_in}})
    run(recorded("task_failed"), client)
    assert client.items["d-1"]["status"] == "failed"


def test_record_without_status_is_finished() -> None:
    client = FakeDynamo({"d-1": {"task_arn": TASK_ARN}})
    run(recorded("task_succeeded"), client)
    assert client.items["d-1"]["status"] == "succeeded"


@pytest.mark.parametrize("final", FINAL_STATUSES)
def test_a_final_record_is_never_overwritten(final: str) -> None:
    """The control plane's cancel or timeout, recorded first, wins over the stop event."""
    client = FakeDynamo({"d-1": {"task_arn": TASK_ARN, "status": final}})
    result = run(recorded("task_failed"), client)
    assert result["dispatches"] == {"d-1": "already_final"}
    assert client.items["d-1"] == {"task_arn": TASK_ARN, "status": final}


def test_a_redelivered_event_changes_nothing() -> None:
    client = FakeDynamo(running())
    first = run(recorded("task_succeeded"), client)
    after_first = copy.deepcopy(client.items)
    second = run(recorded("task_succeeded"), client)
    assert first["dispatches"] == {"d-1": "succeeded"}
    assert second["dispatches"] == {"d-1": "already_final"}
    assert client.items == after_first


def test_unknown_task_arn_is_logged_and_not_an_error(caplog: pytest.LogCaptureFixture) -> None:
    client = FakeDynamo(running(task_arn=TASK_ARN.replace("0b69", "ffff")))
    with caplog.at_level(logging.WARNING):
        result = run(recorded("task_succeeded"), client)
    assert result == {"task_arn": TASK_ARN, "result": "no_dispatch"}
    assert client.updates == []
    assert "no dispatch names this stopped task" in caplog.text


def test_service_tasks_are_ignored_without_a_lookup() -> None:
    event = recorded("task_succeeded")
    event["detail"]["group"] = "service:outpost-dev-control-plane"
    client = FakeDynamo(running())
    assert run(event, client)["result"] == "ignored_service_task"
    assert client.queries == []


def test_every_page_of_the_index_is_read() -> None:
    items = {f"d-{i}": {"task_arn": TASK_ARN, "status": "running"} for i in range(5)}
    client = FakeDynamo(items, page_size=2)
    result = run(recorded("task_succeeded"), client)
    assert len(client.queries) == 3
    assert client.queries[1]["ExclusiveStartKey"] == {"offset": 2}
    assert sorted(result["dispatches"]) == sorted(items)


def test_a_dispatch_deleted_between_query_and_update_is_left_alone() -> None:
    """The update's ``attribute_exists`` condition never re-creates a deleted record."""

    class Vanishing(FakeDynamo):
        def update_item(self, **kwargs: Any) -> Mapping[str, Any]:
            self.items.clear()
            return super().update_item(**kwargs)

    client = Vanishing(running())
    assert run(recorded("task_succeeded"), client)["dispatches"] == {"d-1": "already_final"}
    assert client.items == {}


def test_dynamodb_errors_are_raised_for_retry_and_the_dlq() -> None:
    client = FakeDynamo(running())
    client.fail_updates_with = ThrottledError()
    with pytest.raises(ThrottledError):
        run(recorded("task_succeeded"), client)


def _without(path: str) -> dict[str, Any]:
    event = recorded("task_succeeded")
    node: Any = event
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    del node[last]
    return event


def _with(path: str, value: Any) -> dict[str, Any]:
    event = recorded("task_succeeded")
    node: Any = event
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    return event


MALFORMED = [
    ("not an object", ["a", "list"], "event is a list"),
    ("empty", {}, "not an ECS task state change"),
    ("other source", _with("source", "aws.ec2"), "source='aws.ec2'"),
    ("other detail type", _with("detail-type", "ECS Container Instance State Change"), "not an ECS task"),
    ("no detail", _without("detail"), "detail is missing"),
    ("detail not an object", _with("detail", "x"), "detail is missing or not an object"),
    ("no task arn", _without("detail.taskArn"), "taskArn is not an ECS task ARN: None"),
    ("task arn of something else", _with("detail.taskArn", "arn:aws:s3:::bucket"), "not an ECS task ARN"),
    ("still running", _with("detail.lastStatus", "RUNNING"), "lastStatus is 'RUNNING'"),
    ("containers not a list", _with("detail.containers", {"name": "agent"}), "containers is not a list"),
    ("exit code a string", _with("detail.containers", [{"name": "agent", "exitCode": "0"}]), "is '0'"),
]


@pytest.mark.parametrize(("case", "event", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_events_are_logged_and_raised(
    case: str, event: Any, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Raised, so Lambda retries and then dead-letters this one event; nothing is written."""
    client = FakeDynamo(running())
    with caplog.at_level(logging.ERROR), pytest.raises(MalformedEventError, match=message):
        run(event, client)
    assert "malformed event" in caplog.text
    assert client.queries == []
    assert client.updates == []


def test_handler_reads_its_table_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Lambda entry point with the client stubbed: no boto3 client is created."""
    client = FakeDynamo(running())
    monkeypatch.setattr(task_state, "_CLIENT", client)
    monkeypatch.setenv("DISPATCHES_TABLE", TABLE)
    monkeypatch.setenv("TASK_ARN_INDEX", INDEX)
    result = task_state.handler(recorded("task_failed"), None)
    assert result["dispatches"] == {"d-1": "failed"}
