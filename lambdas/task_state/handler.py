"""Task-state callback: when an agent task stops, mark its dispatch finished.

v1 left 152 dispatches RUNNING forever because nothing told the records that their tasks
had stopped. This function is that something: an EventBridge rule on the default bus sends
it every "ECS Task State Change" with ``lastStatus`` STOPPED from the Outpost cluster, and
it writes the outcome into the dispatch whose ``task_arn`` is the stopped task.

Outcome, from the event alone:

* ``timed_out`` - the control plane stopped the task for its timeout (stop code
  ``UserInitiated``, i.e. ``StopTask``, with a reason that says "timeout" / "timed out"),
  or the agent exited 124, the exit code of ``timeout(1)``. A "timeout" in the reason of
  a stop ECS made itself (``i/o timeout`` pulling an image) is a failure, not a time-out;
* ``succeeded`` - the essential container exited (stop code ``EssentialContainerExited``)
  and the ``agent`` container exited 0. Only the agent's exit code is the job's: not the
  credential proxy's, nor that of a sidecar AWS adds (GuardDuty's runtime agent);
* ``cancelled`` - the control plane stopped the task because a user cancelled the dispatch
  (stop code ``UserInitiated`` with a reason that says "cancel");
* ``failed`` - anything else: a non-zero exit, a task that failed to start, any other stop.

The write is one conditional ``UpdateItem``: it sets the outcome whatever non-final state
the record was left in (pending, running, cancelling, ...), and refuses to overwrite a
record that is already final (``succeeded``, ``failed``, ``timed_out``, ``cancelled``). So a
cancel or timeout the control plane recorded first wins, and a second delivery of the same
event (EventBridge and Lambda both deliver at least once) changes nothing: the function is
idempotent.

Errors and the dead-letter queue. EventBridge invokes the function asynchronously with ONE
event per invocation: there is no batch that one bad event could take down with it. An
event the function cannot process therefore raises, and only that invocation fails; Lambda
retries it (``retry_attempts``) and then puts it into the dead-letter queue (SQS), where an
operator sees it, fixes the cause and redrives it (this is why the function is idempotent).
This covers a malformed event (``MalformedEventError``: logged with the offending field, then
raised) and DynamoDB errors (throttling, access, network: raised as they are). EventBridge
itself retries a failed delivery and then uses the same queue.

Two cases are not errors, are logged and return normally: a stopped task that no dispatch
names (a warm-pool task stopped before it was assigned, a task someone ran by hand), and a
dispatch that was already final.

The DynamoDB client is injected (``process(event, client=...)``), so the unit tests run
against a fake; only ``handler`` creates a boto3 client, on first use.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

LOGGER = logging.getLogger(__name__)

EVENT_SOURCE = "aws.ecs"
EVENT_DETAIL_TYPE = "ECS Task State Change"

# The dispatches table, as the control plane writes it (README, "Data stack").
KEY = "dispatch_id"
TASK_ARN = "task_arn"
STATUS = "status"

SUCCEEDED = "succeeded"
FAILED = "failed"
TIMED_OUT = "timed_out"
CANCELLED = "cancelled"
FINAL_STATUSES = (SUCCEEDED, FAILED, TIMED_OUT, CANCELLED)

TIMEOUT_EXIT_CODE = 124
# The one container whose exit code is the job's (constructs/agent_task.py AGENT_CONTAINER; this
# function cannot import the app). Every other container says nothing about the job: the
# credential proxy is stopped by ECS after the agent (0 on SIGTERM, 137 when killed after its
# stop timeout), and AWS adds its own where a feature is on, such as GuardDuty Runtime
# Monitoring's `aws-guardduty-agent-*` sidecar in production, whose exit code this project does
# not control. If a sidecar dies first the task stops and the agent's own exit code (143 on
# SIGTERM) fails the dispatch.
JOB_CONTAINER = "agent"
_TIMEOUT_REASON = re.compile(r"time[sd]?[\s_-]?out", re.IGNORECASE)
_CANCEL_REASON = re.compile(r"cancel", re.IGNORECASE)
_TASK_ARN = re.compile(r"arn:aws[\w-]*:ecs:[\w-]+:\d{12}:task/\S+")


class MalformedEventError(ValueError):
    """The event is not an ECS task-state change this function can act on."""


class DynamoClient(Protocol):
    """The two calls of a boto3 DynamoDB client this function makes."""

    def query(self, **kwargs: Any) -> Mapping[str, Any]: ...

    def update_item(self, **kwargs: Any) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class StoppedTask:
    task_arn: str
    group: str
    stop_code: str
    stopped_reason: str
    stopped_at: str
    exit_codes: tuple[int, ...]


@dataclass(frozen=True)
class Outcome:
    status: str
    exit_code: int | None


def parse(event: Any) -> StoppedTask:
    """The stopped task of an event, or ``MalformedEventError`` naming what is wrong."""
    if not isinstance(event, Mapping):
        raise MalformedEventError(f"event is a {type(event).__name__}, not an object")
    if event.get("source") != EVENT_SOURCE or event.get("detail-type") != EVENT_DETAIL_TYPE:
        raise MalformedEventError(
            f"not an ECS task state change: source={event.get('source')!r} "
            f"detail-type={event.get('detail-type')!r}"
        )
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise MalformedEventError("detail is missing or not an object")
    task_arn = detail.get("taskArn")
    if not isinstance(task_arn, str) or not _TASK_ARN.fullmatch(task_arn):
        raise MalformedEventError(f"detail.taskArn is not an ECS task ARN: {task_arn!r}")
    if detail.get("lastStatus") != "STOPPED":
        raise MalformedEventError(f"detail.lastStatus is {detail.get('lastStatus')!r}, not 'STOPPED'")
    containers = detail.get("containers", [])
    if not isinstance(containers, list) or not all(isinstance(c, Mapping) for c in containers):
        raise MalformedEventError("detail.containers is not a list of objects")
    exit_codes = []
    for container in containers:
        code = container.get("exitCode")
        if code is None or container.get("name") != JOB_CONTAINER:
            continue
        if not isinstance(code, int) or isinstance(code, bool):
            raise MalformedEventError(f"exitCode of container {container.get('name')!r} is {code!r}")
        exit_codes.append(code)
    stopped_at = detail.get("stoppedAt") or event.get("time")
    return StoppedTask(
        task_arn=task_arn,
        group=str(detail.get("group", "")),
        stop_code=str(detail.get("stopCode", "")),
        stopped_reason=str(detail.get("stoppedReason", "")),
        stopped_at=stopped_at if isinstance(stopped_at, str) else "",
        exit_codes=tuple(exit_codes),
    )


def outcome(task: StoppedTask) -> Outcome:
    """``timed_out``, ``cancelled``, ``succeeded`` or ``failed``, with the exit code that decided it."""
    first_failure = next((code for code in task.exit_codes if code != 0), None)
    by_control_plane = task.stop_code == "UserInitiated"
    if (
        by_control_plane and _TIMEOUT_REASON.search(task.stopped_reason)
    ) or TIMEOUT_EXIT_CODE in task.exit_codes:
        return Outcome(TIMED_OUT, first_failure)
    if by_control_plane and _CANCEL_REASON.search(task.stopped_reason):
        return Outcome(CANCELLED, first_failure)
    if task.stop_code == "EssentialContainerExited" and task.exit_codes and first_failure is None:
        return Outcome(SUCCEEDED, 0)
    return Outcome(FAILED, first_failure)


def _error_code(error: Exception) -> str | None:
    """The AWS error code of a botocore ``ClientError`` (duck-typed: no botocore import)."""
    response = getattr(error, "response", None)
    if isinstance(response, Mapping):
        code = response.get("Error", {}).get("Code")
        return code if isinstance(code, str) else None
    return None


def find_dispatches(client: DynamoClient, *, table_name: str, index_name: str, task_arn: str) -> list[str]:
    """Ids of the dispatches that name ``task_arn`` (one, unless the control plane erred)."""
    ids: list[str] = []
    request: dict[str, Any] = {
        "TableName": table_name,
        "IndexName": index_name,
        "KeyConditionExpression": "#task_arn = :task_arn",
        "ExpressionAttributeNames": {"#task_arn": TASK_ARN},
        "ExpressionAttributeValues": {":task_arn": {"S": task_arn}},
    }
    while True:
        page = client.query(**request)
        ids += [item[KEY]["S"] for item in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return ids
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def mark_finished(
    client: DynamoClient,
    *,
    table_name: str,
    dispatch_id: str,
    task: StoppedTask,
    result: Outcome,
    now: str,
) -> bool:
    """Write the outcome unless the record is already final; True if it was written."""
    values: dict[str, Any] = {
        ":status": {"S": result.status},
        ":finished_at": {"S": task.stopped_at or now},
        ":stop_code": {"S": task.stop_code},
        ":stopped_reason": {"S": task.stopped_reason},
        ":updated_at": {"S": now},
    }
    names = {
        "#key": KEY,
        "#status": STATUS,
        "#finished_at": "finished_at",
        "#stop_code": "stop_code",
        "#stopped_reason": "stopped_reason",
        "#updated_at": "updated_at",
    }
    sets = [f"{name} = {name.replace('#', ':')}" for name in names if name != "#key"]
    if result.exit_code is not None:
        names["#exit_code"] = "exit_code"
        values[":exit_code"] = {"N": str(result.exit_code)}
        sets.append("#exit_code = :exit_code")
    final = []
    for i, status in enumerate(FINAL_STATUSES):
        values[f":final{i}"] = {"S": status}
        final.append(f":final{i}")
    try:
        client.update_item(
            TableName=table_name,
            Key={KEY: {"S": dispatch_id}},
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=f"attribute_exists(#key) AND NOT #status IN ({', '.join(final)})",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except Exception as error:
        if _error_code(error) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def process(
    event: Any,
    *,
    client: DynamoClient,
    table_name: str,
    index_name: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Handle one event; raises on anything that should be retried or dead-lettered."""
    try:
        task = parse(event)
    except MalformedEventError as error:
        LOGGER.error("malformed event, sending it to the dead-letter queue: %s", error)
        raise
    if task.group.startswith("service:"):
        # The control plane's own service tasks are not dispatches (the rule filters them too).
        LOGGER.info("ignoring a task of an ECS service", extra={"task_arn": task.task_arn})
        return {"task_arn": task.task_arn, "result": "ignored_service_task"}
    result = outcome(task)
    dispatch_ids = find_dispatches(
        client, table_name=table_name, index_name=index_name, task_arn=task.task_arn
    )
    if not dispatch_ids:
        LOGGER.warning("no dispatch names this stopped task", extra={"task_arn": task.task_arn})
        return {"task_arn": task.task_arn, "result": "no_dispatch"}
    stamp = (now or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
    updates = {}
    for dispatch_id in dispatch_ids:
        written = mark_finished(
            client, table_name=table_name, dispatch_id=dispatch_id, task=task, result=result, now=stamp
        )
        updates[dispatch_id] = result.status if written else "already_final"
        LOGGER.info(
            "dispatch finished" if written else "dispatch already final, left as it was",
            extra={"dispatch_id": dispatch_id, "task_arn": task.task_arn, "status": result.status},
        )
    return {"task_arn": task.task_arn, "result": "updated", "dispatches": updates}


_CLIENT: DynamoClient | None = None


def _client() -> DynamoClient:
    global _CLIENT  # one client per execution environment, reused across invocations
    if _CLIENT is None:
        import boto3  # type: ignore[import-untyped]  # in the Lambda runtime; not needed by tests

        _CLIENT = boto3.client("dynamodb")
    return _CLIENT


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point (``handler.handler``)."""
    return process(
        event,
        client=_client(),
        table_name=os.environ["DISPATCHES_TABLE"],
        index_name=os.environ["TASK_ARN_INDEX"],
    )
