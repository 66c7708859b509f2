"""Dispatch janitor: clean up after a control plane that died in the middle of a dispatch.

Per dispatch the control plane creates an EFS access point, registers a task-definition revision
in the agent's ``...-dispatch`` family and runs the task, all tagged ``outpost:dispatch``; when
the task stops it deletes the revision and the access point. Every 15 minutes this function:

a. reads the cluster's tasks not stopped (``desiredStatus=RUNNING`` lists PENDING ones too):
   their ``outpost:dispatch`` tags and task-definition ARNs are in use;
b. stops each dispatch task older than ``TASK_TIMEOUT_SECONDS``, with a reason that says
   "timeout" (the task-state callback records ``timed_out``). A task it stopped is no longer in
   use, so its revision and access point go in this run: neither deletion disturbs a task that
   still holds them;
c. deregisters and deletes the ACTIVE revisions of ``DISPATCH_FAMILIES`` that no listed task
   uses, whose dispatch is not in use, registered over ``GRACE_SECONDS`` ago; deletes the
   INACTIVE revisions of those families that no listed task uses;
d. deletes the access points of ``FILE_SYSTEM_ID`` tagged with a dispatch not in use and with
   this file system, created over ``GRACE_SECONDS`` ago; never the shared ``/workspaces`` one
   and never a slot's (tagged ``outpost:slot``, whatever else it carries).
   One whose age cannot be read is kept, logged and counted (``kept_unknown_age``);
e. releases the slot leases (``LEASES_TABLE``, queried by state on ``LEASE_STATE_INDEX``) whose
   task is gone: the dispatch has no listed task (stopped, or never started: the control plane
   died between leasing and RunTask) and the lease is over ``GRACE_SECONDS`` old. A lease older
   than the worker timeout plus the grace belongs to a task that b stops; a dispatch whose task
   this run stopped keeps its lease until the next run, so its task has left the slot (ECS
   allows a container up to 120 s between SIGTERM and SIGKILL), and a task that could not be
   stopped keeps it: it still runs in the slot. Releasing is a conditional update to
   ``lease_state = returning`` (still leased, still by that dispatch): the control plane, which
   mounts the file system and this function does not, renames the workspace home and deletes
   the item. Slot revisions and slot access points are never touched;
f. counts the leases the control plane has left ``returning`` for over ``GRACE_SECONDS``
   (``stuck_returning``, one ``stuck_returning`` record each): each is a slot out of the pool
   until someone completes its return. The summary's count is the Monitoring stack's
   ``SlotLeasesStuckReturning`` alarm (a metric filter on this function's log group).

Idempotent: a resource already gone is no error. Bounded: no change starts with less than 20 s
of the invocation left (``complete: false``; the next run continues). A failed task listing
raises before anything is changed; any other failure is logged and collected, the other items
still run, and the run raises at the end (Lambda ``Errors`` metric, retry, dead-letter queue).
One log record per action with an ``action`` field; the function's JSON log format puts these
fields at the top level of one JSON line.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

LOGGER = logging.getLogger(__name__)

DISPATCH_TAG = "outpost:dispatch"
SLOT_TAG = "outpost:slot"
LEASED, RETURNING = "leased", "returning"
FILE_SYSTEM_TAG = "outpost:file-system"
CREATED_AT_TAG = "outpost:created-at"
STOP_REASON = "timeout: stopped by the dispatch janitor"
# The message of the one summary record per run; a metric filter reads its stuck_returning
# (constructs/dispatch_janitor.py: SUMMARY).
SUMMARY = "dispatch janitor summary"
SAFETY_MARGIN_SECONDS = 20.0
# ECS API reference: DescribeTasks takes "up to 100 task IDs or full ARN entries",
# DeleteTaskDefinitions "up to 10 task definitions".
DESCRIBE_BATCH = 100
DELETE_BATCH = 10
# Already gone: EFS says so by its code; ECS by the message of a ClientException (or of an
# InvalidParameterException), and by the reason of a DeleteTaskDefinitions failure.
# A lease changed since it was read (returned or released meanwhile): DynamoDB's condition failed.
_GONE_CODES = frozenset({"AccessPointNotFound", "ConditionalCheckFailedException"})
_GONE_MESSAGE = re.compile(r"not found|does not exist|unable to describe|(already|is) inactive", re.I)
_DELETE_GONE_REASON = re.compile(r"not found|does not exist|delete_in_progress", re.I)


class EcsClient(Protocol):
    """The calls of a boto3 ECS client this function makes."""

    def list_tasks(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def describe_tasks(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def stop_task(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def list_task_definitions(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def describe_task_definition(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def deregister_task_definition(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def delete_task_definitions(self, **kwargs: Any) -> Mapping[str, Any]: ...


class DynamoDbClient(Protocol):
    """The calls of a boto3 DynamoDB client this function makes (the leases table only)."""

    def query(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def update_item(self, **kwargs: Any) -> Mapping[str, Any]: ...


class EfsClient(Protocol):
    """The calls of a boto3 EFS client this function makes."""

    def describe_access_points(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def delete_access_point(self, **kwargs: Any) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Settings:
    cluster_arn: str
    file_system_id: str
    shared_access_point_id: str
    families: tuple[str, ...]
    grace_seconds: int
    task_timeout_seconds: int
    leases_table: str
    lease_state_index: str

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> Settings:
        """KeyError names a missing variable; ValueError a bad one."""
        families = tuple(f.strip() for f in env["DISPATCH_FAMILIES"].split(",") if f.strip())
        seconds = {name: env[name] for name in ("GRACE_SECONDS", "TASK_TIMEOUT_SECONDS")}
        bad = [f"{name}={value!r}" for name, value in seconds.items() if not value.isdigit()]
        if bad or not families:
            raise ValueError(f"dispatch janitor settings: {bad or 'DISPATCH_FAMILIES is empty'}")
        return cls(
            cluster_arn=env["CLUSTER_ARN"],
            file_system_id=env["FILE_SYSTEM_ID"],
            shared_access_point_id=env["SHARED_ACCESS_POINT_ID"],
            families=families,
            grace_seconds=int(seconds["GRACE_SECONDS"]),
            task_timeout_seconds=int(seconds["TASK_TIMEOUT_SECONDS"]),
            leases_table=env["LEASES_TABLE"],
            lease_state_index=env["LEASE_STATE_INDEX"],
        )


@dataclass
class Result:
    stopped_tasks: int = 0
    deregistered: int = 0
    deleted_revisions: int = 0
    deleted_access_points: int = 0
    released_leases: int = 0
    stuck_returning: int = 0
    kept_unknown_age: int = 0
    errors: list[str] = field(default_factory=list)
    complete: bool = True

    def summary(self) -> dict[str, Any]:
        return {k: len(v) if k == "errors" else v for k, v in vars(self).items()}


class CleanupError(RuntimeError):
    """Some items failed (the others were cleaned); raised so that Lambda counts an error."""

    def __init__(self, result: Result) -> None:
        super().__init__(f"{len(result.errors)} cleanup error(s): " + "; ".join(result.errors[:5]))
        self.result = result


class OutOfTimeError(Exception):
    """Less than the safety margin is left; the next run continues."""


def _code_and_message(error: Exception) -> tuple[str, str]:
    """Of a botocore ``ClientError``, duck-typed (no botocore import)."""
    response = getattr(error, "response", None)
    details = response.get("Error", {}) if isinstance(response, Mapping) else {}
    return str(details.get("Code", type(error).__name__)), str(details.get("Message", error))


def _gone(error: Exception) -> bool:
    code, message = _code_and_message(error)
    ecs_gone = code in ("ClientException", "InvalidParameterException") and _GONE_MESSAGE.search(message)
    return code in _GONE_CODES or bool(ecs_gone)


def _tags(tags: Sequence[Mapping[str, str]], key: str = "key", value: str = "value") -> dict[str, str]:
    """ECS spells tags ``{key, value}``; EFS ``{Key, Value}``."""
    return {t[key]: t.get(value, "") for t in tags if key in t}


def _family(task_definition_arn: str) -> str:
    """``arn:...:task-definition/outpost-dev-claude-dispatch:7`` -> ``outpost-dev-claude-dispatch``."""
    return task_definition_arn.rsplit("/", 1)[-1].rsplit(":", 1)[0]


def _all_pages(call: Callable[..., Mapping[str, Any]], token: str, key: str, **request: Any) -> list[Any]:
    items: list[Any] = []
    while True:
        page = call(**request)
        items += page.get(key, [])
        if not page.get(token):
            return items
        request[token] = page[token]


class _Janitor:
    def __init__(
        self,
        ecs: EcsClient,
        efs: EfsClient,
        dynamodb: DynamoDbClient,
        settings: Settings,
        now: datetime,
        remaining: Callable[[], float],
    ) -> None:
        self.ecs, self.efs, self.settings, self.now, self.remaining = ecs, efs, settings, now, remaining
        self.dynamodb = dynamodb
        self.result = Result()
        self.in_use_dispatches: set[str] = set()
        self.in_use_definitions: set[str] = set()
        # Dispatches whose task this run stopped: their leases wait for the next run.
        self.stopping_dispatches: set[str] = set()

    def _older_than(self, seconds: int, moment: datetime | int) -> bool:
        timestamp = moment.timestamp() if isinstance(moment, datetime) else moment
        return self.now.timestamp() - timestamp > seconds

    def _fail(self, action: str, error: Exception, **fields: Any) -> None:
        code, message = _code_and_message(error)
        self.result.errors.append(f"{action} {fields}: {code}: {message}")
        LOGGER.error("action failed", extra={"action": action, "error": f"{code}: {message}", **fields})

    def _act(self, action: str, call: Callable[[], object], **fields: Any) -> str:
        """Make one change if time allows: ``done``, ``already_gone`` or ``failed`` (logged)."""
        if self.remaining() < SAFETY_MARGIN_SECONDS:
            raise OutOfTimeError
        try:
            call()
            outcome = "done"
        except Exception as error:
            if not _gone(error):
                self._fail(action, error, **fields)
                return "failed"
            outcome = "already_gone"
        LOGGER.info(action, extra={"action": action, "outcome": outcome, **fields})
        return outcome

    def _keep_unknown_age(self, **fields: Any) -> None:
        self.result.kept_unknown_age += 1
        LOGGER.warning("kept: its age is unknown", extra={"action": "keep", **fields})

    def read_tasks(self) -> None:
        """a and b. Raises if the tasks cannot be read: nothing could be known to be unused."""
        cluster, timeout = self.settings.cluster_arn, self.settings.task_timeout_seconds
        arns = _all_pages(
            self.ecs.list_tasks, "nextToken", "taskArns", cluster=cluster, desiredStatus="RUNNING"
        )
        for start in range(0, len(arns), DESCRIBE_BATCH):
            batch = arns[start : start + DESCRIBE_BATCH]
            described = self.ecs.describe_tasks(cluster=cluster, tasks=batch, include=["TAGS"])
            for task in described.get("tasks", []):
                dispatch = _tags(task.get("tags", [])).get(DISPATCH_TAG)
                began = task.get("startedAt") or task.get("createdAt")
                if dispatch is not None:
                    overdue = isinstance(began, datetime) and self._older_than(timeout, began)
                    if overdue and self._stop(task["taskArn"], dispatch) != "failed":
                        self.stopping_dispatches.add(dispatch)
                        continue  # stopping: its revision and access point are no longer in use
                    self.in_use_dispatches.add(dispatch)
                self.in_use_definitions.add(task.get("taskDefinitionArn", ""))

    def _stop(self, arn: str, dispatch: str) -> str:
        call = partial(self.ecs.stop_task, cluster=self.settings.cluster_arn, task=arn, reason=STOP_REASON)
        outcome = self._act("stop_task", call, task_arn=arn, dispatch_id=dispatch)
        self.result.stopped_tasks += outcome == "done"
        return outcome

    def clean_revisions(self, family: str) -> None:
        """c: deregister the stale ACTIVE revisions; delete them and the unused INACTIVE ones."""
        doomed: list[str] = []
        for status in ("ACTIVE", "INACTIVE"):
            request = {"familyPrefix": family, "status": status}
            try:
                listed = _all_pages(
                    self.ecs.list_task_definitions, "nextToken", "taskDefinitionArns", **request
                )
            except Exception as error:
                self._fail("list_task_definitions", error, **request)
                continue
            # familyPrefix is documented as the full family name; keep exact matches whatever it does.
            for arn in (a for a in listed if _family(a) == family and a not in self.in_use_definitions):
                if arn not in doomed and (status == "INACTIVE" or self._deregister_if_stale(arn)):
                    doomed.append(arn)
        for start in range(0, len(doomed), DELETE_BATCH):
            batch = doomed[start : start + DELETE_BATCH]
            self._act("delete_task_definitions", partial(self._delete, batch), task_definitions=batch)

    def _deregister_if_stale(self, arn: str) -> bool:
        try:
            described = self.ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
        except Exception as error:
            if not _gone(error):
                self._fail("describe_task_definition", error, task_definition=arn)
            return False
        dispatch = _tags(described.get("tags", [])).get(DISPATCH_TAG)
        registered = described.get("taskDefinition", {}).get("registeredAt")
        if not isinstance(registered, datetime):
            self._keep_unknown_age(task_definition=arn)
            return False
        if dispatch in self.in_use_dispatches or not self._older_than(
            self.settings.grace_seconds, registered
        ):
            return False
        call = partial(self.ecs.deregister_task_definition, taskDefinition=arn)
        outcome = self._act("deregister_task_definition", call, task_definition=arn, dispatch_id=dispatch)
        self.result.deregistered += outcome == "done"
        return outcome != "failed"

    def _delete(self, batch: list[str]) -> None:
        """One DeleteTaskDefinitions call; it reports a revision it could not delete in ``failures``."""
        response = self.ecs.delete_task_definitions(taskDefinitions=batch)
        self.result.deleted_revisions += len(response.get("taskDefinitions", []))
        for failure in response.get("failures", []):
            reason = f"{failure.get('reason', '')} {failure.get('detail', '')}".strip()
            if not _DELETE_GONE_REASON.search(reason):
                self._fail(
                    "delete_task_definitions", RuntimeError(reason), task_definition=failure.get("arn")
                )

    def clean_access_points(self) -> None:
        """d: never the shared access point, nor one of another file system or without a dispatch."""
        fs, grace = self.settings.file_system_id, self.settings.grace_seconds
        try:
            points = _all_pages(self.efs.describe_access_points, "NextToken", "AccessPoints", FileSystemId=fs)
        except Exception as error:
            self._fail("describe_access_points", error, file_system_id=fs)
            return
        for point in points:
            ap_id, tags = point.get("AccessPointId"), _tags(point.get("Tags", []), "Key", "Value")
            dispatch, created = tags.get(DISPATCH_TAG), tags.get(CREATED_AT_TAG, "")
            ours = fs == point.get("FileSystemId") == tags.get(FILE_SYSTEM_TAG)
            slot = SLOT_TAG in tags
            if ap_id == self.settings.shared_access_point_id or not ours or dispatch is None or slot:
                continue
            if dispatch in self.in_use_dispatches:
                continue
            if not created.isdigit():
                self._keep_unknown_age(access_point_id=ap_id, created_at=created)
            elif self._older_than(grace, int(created)):
                call = partial(self.efs.delete_access_point, AccessPointId=ap_id)
                outcome = self._act("delete_access_point", call, access_point_id=ap_id, dispatch_id=dispatch)
                self.result.deleted_access_points += outcome == "done"

    def _leases(self, state: str) -> list[Mapping[str, Any]] | None:
        """The leases in ``state``, every page; None (the failure collected) if the query fails."""
        request: dict[str, Any] = {
            "TableName": self.settings.leases_table,
            "IndexName": self.settings.lease_state_index,
            "KeyConditionExpression": "lease_state = :state",
            "ExpressionAttributeValues": {":state": {"S": state}},
        }
        leases: list[Mapping[str, Any]] = []
        try:
            while True:
                page = self.dynamodb.query(**request)
                leases += page.get("Items", [])
                if not page.get("LastEvaluatedKey"):
                    return leases
                request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except Exception as error:
            self._fail("query_leases", error, table=self.settings.leases_table, lease_state=state)
            return None

    def release_leases(self) -> None:
        """e: mark the leases whose task is gone ``returning``; never a slot's revision or access point."""
        for lease in self._leases(LEASED) or []:
            slot = lease.get("slot_id", {}).get("S", "")
            dispatch = lease.get("dispatch_id", {}).get("S")
            leased_at = _moment(lease.get("leased_at", {}).get("S", ""))
            if leased_at is None or dispatch is None:
                self._keep_unknown_age(slot_id=slot, dispatch_id=dispatch)
                continue
            if dispatch in self.stopping_dispatches:
                continue  # released by the next run, once its task has left the slot
            task_gone = dispatch not in self.in_use_dispatches
            if task_gone and self._older_than(self.settings.grace_seconds, leased_at):
                self._release(slot, dispatch)

    def count_stuck_returns(self) -> None:
        """f: leases ``returning`` for over the grace period (or since a time that cannot be read:
        only this function writes ``released_at``), each logged; read-only."""
        for lease in self._leases(RETURNING) or []:
            released_at = _moment(lease.get("released_at", {}).get("S", ""))
            if released_at is not None and not self._older_than(self.settings.grace_seconds, released_at):
                continue
            self.result.stuck_returning += 1
            LOGGER.warning(
                "lease still returning",
                extra={
                    "action": "stuck_returning",
                    "slot_id": lease.get("slot_id", {}).get("S", ""),
                    "dispatch_id": lease.get("dispatch_id", {}).get("S"),
                    "released_at": lease.get("released_at", {}).get("S"),
                },
            )

    def _release(self, slot: str, dispatch: str) -> None:
        call = partial(
            self.dynamodb.update_item,
            TableName=self.settings.leases_table,
            Key={"slot_id": {"S": slot}},
            UpdateExpression="SET lease_state = :returning, released_at = :now, released_by = :janitor",
            ConditionExpression="lease_state = :leased AND dispatch_id = :dispatch",
            ExpressionAttributeValues={
                ":returning": {"S": RETURNING},
                ":leased": {"S": LEASED},
                ":dispatch": {"S": dispatch},
                ":now": {"S": self.now.isoformat()},
                ":janitor": {"S": "dispatch-janitor"},
            },
        )
        outcome = self._act("release_lease", call, slot_id=slot, dispatch_id=dispatch)
        self.result.released_leases += outcome == "done"


def _moment(text: str) -> datetime | None:
    """An ISO 8601 ``leased_at`` with its offset; None if it is not one."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def run(
    *,
    ecs: EcsClient,
    efs: EfsClient,
    dynamodb: DynamoDbClient,
    settings: Settings,
    now: datetime,
    remaining: Callable[[], float],
) -> Result:
    """One pass (see the module docstring); raises ``CleanupError`` after it if anything failed."""
    janitor = _Janitor(ecs, efs, dynamodb, settings, now, remaining)
    try:
        janitor.read_tasks()
        for family in settings.families:
            janitor.clean_revisions(family)
        janitor.clean_access_points()
        janitor.release_leases()
        janitor.count_stuck_returns()
    except OutOfTimeError:
        janitor.result.complete = False
    LOGGER.info(SUMMARY, extra=janitor.result.summary())
    if janitor.result.errors:
        raise CleanupError(janitor.result)
    return janitor.result


_CLIENTS: tuple[EcsClient, EfsClient, DynamoDbClient] | None = None


def _clients() -> tuple[EcsClient, EfsClient, DynamoDbClient]:
    global _CLIENTS  # one set per execution environment, reused across invocations
    if _CLIENTS is None:
        import boto3  # type: ignore[import-untyped]  # in the Lambda runtime; not needed by tests

        _CLIENTS = (boto3.client("ecs"), boto3.client("efs"), boto3.client("dynamodb"))
    return _CLIENTS


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point (``handler.handler``); the schedule's event carries nothing."""
    ecs, efs, dynamodb = _clients()
    settings = Settings.from_environ(os.environ)
    remaining = lambda: context.get_remaining_time_in_millis() / 1000  # noqa: E731
    now = datetime.now(UTC)
    return run(ecs=ecs, efs=efs, dynamodb=dynamodb, settings=settings, now=now, remaining=remaining).summary()
