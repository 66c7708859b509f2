"""The dispatch janitor against the hand-written ECS and EFS fakes of tests/dispatch_janitor_fakes.py."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import pytest

from lambdas.dispatch_janitor import handler as janitor
from lambdas.dispatch_janitor.handler import (
    CREATED_AT_TAG,
    DISPATCH_TAG,
    FILE_SYSTEM_TAG,
    STOP_REASON,
    CleanupError,
    Result,
    Settings,
    run,
)
from tests.dispatch_janitor_fakes import (
    ACCOUNT,
    CLAUDE,
    CLUSTER,
    CODEX,
    FS,
    NOW,
    OLD,
    OTHER_FS,
    SETTINGS,
    SHARED,
    YOUNG,
    AwsError,
    FakeEcs,
    FakeEfs,
    FakeLeases,
    ago,
    created,
    leased,
    revision_arn,
)


def sweep(
    ecs: FakeEcs,
    efs: FakeEfs,
    remaining: float = 600.0,
    settings: Settings = SETTINGS,
    leases: FakeLeases | None = None,
) -> Result:
    dynamodb = leases if leases is not None else FakeLeases()
    return run(ecs=ecs, efs=efs, dynamodb=dynamodb, settings=settings, now=NOW, remaining=lambda: remaining)


@pytest.fixture
def ecs() -> FakeEcs:
    return FakeEcs()


@pytest.fixture
def efs() -> FakeEfs:
    fake = FakeEfs()
    fake.add_point(None, fs_tag=None, ap_id=SHARED)  # the static /workspaces access point
    return fake


def test_a_dead_dispatch_leaves_nothing_behind(ecs: FakeEcs, efs: FakeEfs) -> None:
    revision = ecs.add_revision(CLAUDE, "d-dead", registered=ago(OLD))
    point = efs.add_point("d-dead", created=created(OLD))
    result = sweep(ecs, efs)
    assert ecs.status(revision) == "DELETE_IN_PROGRESS"
    assert point not in efs.points
    assert ecs.to("deregister_task_definition") == [{"taskDefinition": revision}]
    assert ecs.to("delete_task_definitions") == [{"taskDefinitions": [revision]}]
    assert efs.to("delete_access_point") == [{"AccessPointId": point}]
    assert result.summary() == {
        "stopped_tasks": 0,
        "deregistered": 1,
        "deleted_revisions": 1,
        "deleted_access_points": 1,
        "released_leases": 0,
        "stuck_returning": 0,
        "kept_unknown_age": 0,
        "errors": 0,
        "complete": True,
    }


def test_a_running_dispatch_keeps_its_revision_and_access_point(ecs: FakeEcs, efs: FakeEfs) -> None:
    revision = ecs.add_revision(CLAUDE, "d-live", registered=ago(OLD))
    ecs.add_task("d-live", revision, started=ago(OLD / 4))
    point = efs.add_point("d-live", created=created(OLD))
    result = sweep(ecs, efs)
    assert (ecs.status(revision), point in efs.points) == ("ACTIVE", True)
    assert ecs.to("describe_task_definition") == []  # used by a listed task: not even looked at
    assert (result.deregistered, result.deleted_access_points, result.stopped_tasks) == (0, 0, 0)


def test_a_pending_dispatch_is_in_use_by_its_tag_alone(ecs: FakeEcs, efs: FakeEfs) -> None:
    """Its revision is another one than the task's (the tag decides), and it has not started."""
    revision = ecs.add_revision(CLAUDE, "d-pending", registered=ago(OLD))
    ecs.add_task("d-pending", revision_arn(CLAUDE, 999), lastStatus="PROVISIONING")
    point = efs.add_point("d-pending", created=created(OLD))
    sweep(ecs, efs)
    assert (ecs.status(revision), point in efs.points) == ("ACTIVE", True)


def test_a_revision_any_listed_task_uses_is_kept_even_without_a_tag(ecs: FakeEcs, efs: FakeEfs) -> None:
    revision = ecs.add_revision(CLAUDE, None, registered=ago(OLD))
    ecs.add_task(None, revision, started=ago(OLD))  # untagged (a warm-pool task): never stopped either
    inactive = ecs.add_revision(CODEX, "d-x", registered=ago(OLD), status="INACTIVE")
    ecs.add_task(None, inactive)
    sweep(ecs, efs)
    assert (ecs.status(revision), ecs.status(inactive)) == ("ACTIVE", "INACTIVE")
    assert ecs.to("stop_task") == []


def test_within_the_grace_period_nothing_is_deleted(ecs: FakeEcs, efs: FakeEfs) -> None:
    """Between CreateAccessPoint/RegisterTaskDefinition and RunTask there is no task yet."""
    revision = ecs.add_revision(CLAUDE, "d-new", registered=ago(YOUNG))
    point = efs.add_point("d-new", created=created(YOUNG))
    at_the_edge = efs.add_point("d-edge", created=created(SETTINGS.grace_seconds))
    result = sweep(ecs, efs)
    assert (ecs.status(revision), point in efs.points, at_the_edge in efs.points) == ("ACTIVE", True, True)
    assert result.summary()["deregistered"] == result.summary()["deleted_access_points"] == 0


def test_an_overdue_dispatch_task_is_stopped_with_the_timeout_reason(ecs: FakeEcs, efs: FakeEfs) -> None:
    overdue = ecs.add_task("d-slow", revision_arn(CLAUDE, 1), started=ago(SETTINGS.task_timeout_seconds + 1))
    on_time = ecs.add_task("d-ok", revision_arn(CLAUDE, 2), started=ago(SETTINGS.task_timeout_seconds - 1))
    service = ecs.add_task(
        None, f"{ACCOUNT}:task-definition/outpost-prod-control-plane:3", started=ago(OLD * 9)
    )
    result = sweep(ecs, efs)
    assert ecs.to("stop_task") == [{"cluster": CLUSTER, "task": overdue, "reason": STOP_REASON}]
    assert "timeout" in STOP_REASON  # the word the task-state callback reads as timed_out
    assert [ecs.tasks[t]["desiredStatus"] for t in (overdue, on_time, service)] == [
        "STOPPED",
        "RUNNING",
        "RUNNING",
    ]
    assert result.stopped_tasks == 1


def test_a_task_that_never_started_is_timed_from_its_creation(ecs: FakeEcs, efs: FakeEfs) -> None:
    stuck = ecs.add_task("d-stuck", revision_arn(CLAUDE, 1), createdAt=ago(OLD), lastStatus="PENDING")
    sweep(ecs, efs)
    assert [call["task"] for call in ecs.to("stop_task")] == [stuck]


def test_an_overdue_tasks_resources_go_in_the_same_run(ecs: FakeEcs, efs: FakeEfs) -> None:
    revision = ecs.add_revision(CLAUDE, "d-slow", registered=ago(OLD))
    ecs.add_task("d-slow", revision, started=ago(OLD))
    point = efs.add_point("d-slow", created=created(OLD))
    result = sweep(ecs, efs)
    assert (ecs.status(revision), point in efs.points) == ("DELETE_IN_PROGRESS", False)
    assert (result.stopped_tasks, result.deregistered, result.deleted_access_points) == (1, 1, 1)


def test_an_overdue_task_that_could_not_be_stopped_keeps_its_resources(ecs: FakeEcs, efs: FakeEfs) -> None:
    revision = ecs.add_revision(CLAUDE, "d-slow", registered=ago(OLD))
    task = ecs.add_task("d-slow", revision, started=ago(OLD))
    point = efs.add_point("d-slow", created=created(OLD))
    ecs.errors[("stop_task", task)] = AwsError("AccessDeniedException", "not authorized")
    with pytest.raises(CleanupError, match="stop_task"):
        sweep(ecs, efs)
    assert (ecs.status(revision), point in efs.points) == ("ACTIVE", True)


def test_only_the_exact_family_is_touched_whatever_familyprefix_matches(ecs: FakeEcs, efs: FakeEfs) -> None:
    ours = ecs.add_revision(CLAUDE, "d-1", registered=ago(OLD))
    longer = ecs.add_revision(f"{CLAUDE}-canary", "d-2", registered=ago(OLD))
    inactive_longer = ecs.add_revision(f"{CLAUDE}2", "d-3", registered=ago(OLD), status="INACTIVE")
    base = ecs.add_revision("outpost-prod-claude", None, registered=ago(OLD))
    sweep(ecs, efs)
    assert ecs.status(ours) == "DELETE_IN_PROGRESS"
    assert [ecs.status(a) for a in (longer, inactive_longer, base)] == ["ACTIVE", "INACTIVE", "ACTIVE"]
    assert {c["familyPrefix"] for c in ecs.to("list_task_definitions")} == {CLAUDE, CODEX}
    assert [c["taskDefinition"] for c in ecs.to("describe_task_definition")] == [ours]


def test_inactive_revisions_left_by_the_control_plane_are_deleted(ecs: FakeEcs, efs: FakeEfs) -> None:
    """Deregistered but never deleted: no grace period (the control plane was done with them)."""
    left = ecs.add_revision(CODEX, "d-1", registered=ago(YOUNG), status="INACTIVE")
    result = sweep(ecs, efs)
    assert ecs.status(left) == "DELETE_IN_PROGRESS"
    assert ecs.to("deregister_task_definition") == []
    assert (result.deregistered, result.deleted_revisions) == (0, 1)
    assert [c["status"] for c in ecs.to("list_task_definitions")] == ["ACTIVE", "INACTIVE"] * 2


def test_revisions_are_deleted_ten_at_a_time_and_listings_are_paged(efs: FakeEfs) -> None:
    ecs = FakeEcs(page_size=7)
    stale = [ecs.add_revision(CLAUDE, f"d-{i}", registered=ago(OLD)) for i in range(23)]
    result = sweep(ecs, efs)
    assert [len(c["taskDefinitions"]) for c in ecs.to("delete_task_definitions")] == [10, 10, 3]
    assert {a for c in ecs.to("delete_task_definitions") for a in c["taskDefinitions"]} == set(stale)
    assert len([c for c in ecs.to("list_task_definitions") if c["familyPrefix"] == CLAUDE]) == 4 + 4
    assert ecs.to("list_task_definitions")[1]["nextToken"] == "7"
    assert (result.deregistered, result.deleted_revisions) == (23, 23)


def test_tasks_are_listed_by_page_and_described_a_hundred_at_a_time(efs: FakeEfs) -> None:
    ecs = FakeEcs(page_size=100)
    for i in range(250):
        ecs.add_task(f"d-{i}", revision_arn(CLAUDE, i), started=ago(YOUNG))
    point = efs.add_point("d-249", created=created(OLD))
    sweep(ecs, efs)
    assert [c.get("nextToken") for c in ecs.to("list_tasks")] == [None, "100", "200"]
    assert [len(c["tasks"]) for c in ecs.to("describe_tasks")] == [100, 100, 50]
    assert point in efs.points  # the in-use set spans every page


def test_access_points_the_janitor_must_never_delete(ecs: FakeEcs, efs: FakeEfs) -> None:
    efs.points[SHARED]["Tags"] = [  # even if someone tagged the shared one like a dispatch's
        {"Key": DISPATCH_TAG, "Value": "d-x"},
        {"Key": FILE_SYSTEM_TAG, "Value": FS},
        {"Key": CREATED_AT_TAG, "Value": created(OLD)},
    ]
    other_fs = efs.add_point("d-1", created=created(OLD), fs_tag=OTHER_FS)
    untagged_fs = efs.add_point("d-2", created=created(OLD), fs_tag=None)
    no_dispatch = efs.add_point(None, created=created(OLD))
    doomed = efs.add_point("d-3", created=created(OLD))
    sweep(ecs, efs)
    assert set(efs.points) == {SHARED, other_fs, untagged_fs, no_dispatch}
    assert efs.to("delete_access_point") == [{"AccessPointId": doomed}]


@pytest.mark.parametrize("created_at", [None, "", "yesterday", "1.7e9", "-5"])
def test_an_access_point_of_unknown_age_is_kept_and_counted(
    ecs: FakeEcs, efs: FakeEfs, created_at: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    point = efs.add_point("d-1", created=created_at)
    with caplog.at_level(logging.WARNING):
        result = sweep(ecs, efs)
    assert point in efs.points
    assert result.kept_unknown_age == 1
    assert "its age is unknown" in caplog.text


def test_a_revision_without_registered_at_is_kept_and_counted(ecs: FakeEcs, efs: FakeEfs) -> None:
    revision = ecs.add_revision(CLAUDE, "d-1", registered=None)
    assert (sweep(ecs, efs).kept_unknown_age, ecs.status(revision)) == (1, "ACTIVE")


def test_access_points_are_listed_by_page(ecs: FakeEcs) -> None:
    efs = FakeEfs(page_size=2)
    points = [efs.add_point(f"d-{i}", created=created(OLD)) for i in range(5)]
    assert sweep(ecs, efs).deleted_access_points == 5
    assert [c.get("NextToken") for c in efs.to("describe_access_points")] == [None, "2", "4"]
    assert not set(points) & set(efs.points)


def test_resources_already_gone_are_not_errors(ecs: FakeEcs, efs: FakeEfs) -> None:
    """The control plane (or an earlier run) deleted them between the listing and the call."""
    vanished = ecs.add_revision(CLAUDE, "d-1", registered=ago(OLD))
    deregistered = ecs.add_revision(CLAUDE, "d-2", registered=ago(OLD))
    point = efs.add_point("d-3", created=created(OLD))
    unknown = AwsError("ClientException", "Unable to describe task definition.")
    ecs.errors[("describe_task_definition", vanished)] = unknown
    efs.errors[("delete_access_point", point)] = AwsError(
        "AccessPointNotFound", "Access point does not exist."
    )
    original = ecs.deregister_task_definition

    def deregistered_elsewhere_first(**kwargs: Any) -> Mapping[str, Any]:
        ecs.revisions[kwargs["taskDefinition"]]["status"] = "INACTIVE"
        original(**kwargs)
        raise AwsError("ClientException", "The task definition is already inactive.")

    ecs.deregister_task_definition = deregistered_elsewhere_first  # type: ignore[method-assign]
    result = sweep(ecs, efs)
    assert (result.errors, result.complete) == ([], True)
    assert ecs.status(deregistered) == "DELETE_IN_PROGRESS"  # still deleted
    assert (result.deregistered, result.deleted_access_points) == (0, 0)  # not counted as ours


def test_a_revision_deleted_meanwhile_is_a_tolerated_failure_of_the_batch(ecs: FakeEcs, efs: FakeEfs) -> None:
    gone = ecs.add_revision(CODEX, None, status="INACTIVE")
    left = ecs.add_revision(CODEX, None, status="INACTIVE")
    original = ecs.delete_task_definitions

    def delete_after_someone_else(**kwargs: Any) -> Mapping[str, Any]:
        ecs.revisions.pop(gone)
        return original(**kwargs)

    ecs.delete_task_definitions = delete_after_someone_else  # type: ignore[method-assign]
    result = sweep(ecs, efs)
    assert (result.deleted_revisions, result.errors, ecs.status(left)) == (1, [], "DELETE_IN_PROGRESS")


def test_errors_are_collected_and_raised_after_everything_else_ran(
    ecs: FakeEcs, efs: FakeEfs, caplog: pytest.LogCaptureFixture
) -> None:
    broken_revision = ecs.add_revision(CLAUDE, "d-1", registered=ago(OLD))
    fine_revision = ecs.add_revision(CLAUDE, "d-2", registered=ago(OLD))
    broken_point = efs.add_point("d-3", created=created(OLD))
    fine_point = efs.add_point("d-4", created=created(OLD))
    denied = AwsError("AccessDeniedException", "not authorized to perform ecs:DeregisterTaskDefinition")
    ecs.errors[("deregister_task_definition", broken_revision)] = denied
    efs.errors[("delete_access_point", broken_point)] = AwsError("InternalServerError", "try again")
    ecs.errors[("list_task_definitions", CODEX)] = AwsError("ThrottlingException", "Rate exceeded")
    with caplog.at_level(logging.INFO), pytest.raises(CleanupError, match="4 cleanup error") as raised:
        sweep(ecs, efs)
    result = raised.value.result
    assert (ecs.status(fine_revision), fine_point in efs.points) == ("DELETE_IN_PROGRESS", False)
    assert (ecs.status(broken_revision), broken_point in efs.points) == ("ACTIVE", True)
    assert [c["taskDefinitions"] for c in ecs.to("delete_task_definitions")] == [[fine_revision]]
    assert len(result.errors) == 4  # both listings of the codex family (ACTIVE, INACTIVE) failed
    assert result.complete
    assert "dispatch janitor summary" in caplog.text  # logged before the raise


def test_a_per_revision_delete_failure_is_an_error(ecs: FakeEcs, efs: FakeEfs) -> None:
    revision = ecs.add_revision(CODEX, None, registered=ago(YOUNG))  # ACTIVE, within the grace
    original = ecs.list_task_definitions

    def stale_listing(**kwargs: Any) -> Mapping[str, Any]:
        if kwargs["status"] == "INACTIVE" and kwargs["familyPrefix"] == CODEX:
            return {"taskDefinitionArns": [revision]}  # a listing that is out of date
        return original(**kwargs)

    ecs.list_task_definitions = stale_listing  # type: ignore[method-assign]
    with pytest.raises(CleanupError, match="deregister it first"):
        sweep(ecs, efs)


def test_a_failed_task_listing_changes_nothing(ecs: FakeEcs, efs: FakeEfs) -> None:
    """Without the in-use set every resource would look stale: raise before any change."""
    ecs.add_revision(CLAUDE, "d-1", registered=ago(OLD))
    efs.add_point("d-1", created=created(OLD))
    ecs.errors[("list_tasks", "")] = AwsError("ThrottlingException", "Rate exceeded")
    with pytest.raises(AwsError):
        sweep(ecs, efs)
    changes = {"deregister_task_definition", "delete_task_definitions", "stop_task"}
    assert [name for name, _ in ecs.calls if name in changes] == []
    assert efs.calls == []


class Countdown:
    """The Lambda's remaining time, falling by ``step`` seconds at each reading."""

    def __init__(self, start: float, step: float) -> None:
        self.left, self.step = start + step, step

    def __call__(self) -> float:
        self.left -= self.step
        return self.left


def test_the_time_budget_stops_new_changes_and_the_next_run_finishes(ecs: FakeEcs, efs: FakeEfs) -> None:
    revisions = [ecs.add_revision(CLAUDE, f"d-{i}", registered=ago(OLD)) for i in range(4)]
    points = [efs.add_point(f"d-{i}", created=created(OLD)) for i in range(4)]
    clock = Countdown(start=40, step=5)  # 40, 35, 30, 25, 20 s left: five changes start; at 15 none
    first = run(ecs=ecs, efs=efs, dynamodb=FakeLeases(), settings=SETTINGS, now=NOW, remaining=clock)
    assert not first.complete
    assert (first.deregistered, first.deleted_revisions) == (4, 4)
    assert efs.to("delete_access_point") == []
    second = sweep(ecs, efs)
    assert second.complete
    assert [ecs.status(r) for r in revisions] == ["DELETE_IN_PROGRESS"] * 4
    assert not set(points) & set(efs.points)


def test_a_second_run_changes_nothing(ecs: FakeEcs, efs: FakeEfs) -> None:
    ecs.add_revision(CLAUDE, "d-1", registered=ago(OLD))
    efs.add_point("d-1", created=created(OLD))
    ecs.add_task("d-2", revision_arn(CLAUDE, 77), started=ago(OLD))
    sweep(ecs, efs)
    changes_before = len(ecs.calls), len(efs.calls)
    again = sweep(ecs, efs)
    assert again.summary() | {"complete": True} == Result().summary()
    names = {name for name, _ in ecs.calls[changes_before[0] :]} | {
        name for name, _ in efs.calls[changes_before[1] :]
    }
    assert names == {"list_tasks", "list_task_definitions", "describe_access_points"}


_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def test_every_action_is_one_json_line_and_the_summary_closes_the_run(
    ecs: FakeEcs, efs: FakeEfs, caplog: pytest.LogCaptureFixture
) -> None:
    revision = ecs.add_revision(CLAUDE, "d-1", registered=ago(OLD))
    ecs.add_task("d-2", revision_arn(CLAUDE, 77), started=ago(OLD))
    efs.add_point("d-1", created=created(OLD))
    with caplog.at_level(logging.INFO, logger=janitor.LOGGER.name):
        sweep(ecs, efs)
    # The Lambda runtime's JSON formatter puts a record's extra fields at the top level.
    lines = [
        json.loads(json.dumps({k: v for k, v in vars(r).items() if k not in _RECORD_FIELDS}))
        for r in caplog.records
    ]
    actions = [line["action"] for line in lines if "action" in line]
    assert actions == [
        "stop_task",
        "deregister_task_definition",
        "delete_task_definitions",
        "delete_access_point",
    ]
    assert lines[1] == {
        "action": "deregister_task_definition",
        "outcome": "done",
        "task_definition": revision,
        "dispatch_id": "d-1",
    }
    summary = Result(stopped_tasks=1, deregistered=1, deleted_revisions=1, deleted_access_points=1)
    assert lines[-1] == summary.summary()  # the keys themselves: test_a_dead_dispatch_leaves_nothing_behind


ENVIRONMENT = {
    "CLUSTER_ARN": CLUSTER,
    "FILE_SYSTEM_ID": FS,
    "SHARED_ACCESS_POINT_ID": SHARED,
    "DISPATCH_FAMILIES": f"{CLAUDE}, {CODEX},",
    "GRACE_SECONDS": "900",
    "TASK_TIMEOUT_SECONDS": "3600",
    "LEASES_TABLE": "outpost-prod-slot-leases",
    "LEASE_STATE_INDEX": "by-state",
}


def test_settings_come_from_the_environment() -> None:
    assert Settings.from_environ(ENVIRONMENT) == SETTINGS


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GRACE_SECONDS", "15m", "GRACE_SECONDS='15m'"),
        ("TASK_TIMEOUT_SECONDS", "-1", "TASK_TIMEOUT_SECONDS='-1'"),
        ("DISPATCH_FAMILIES", " , ", "DISPATCH_FAMILIES is empty"),
    ],
)
def test_bad_settings_are_named(name: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_environ({**ENVIRONMENT, name: value})


def test_a_missing_setting_is_named() -> None:
    with pytest.raises(KeyError, match="FILE_SYSTEM_ID"):
        Settings.from_environ({k: v for k, v in ENVIRONMENT.items() if k != "FILE_SYSTEM_ID"})


class FakeContext:
    def __init__(self, millis: int) -> None:
        self.millis = millis

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


def test_handler_reads_its_settings_and_time_left(
    monkeypatch: pytest.MonkeyPatch, ecs: FakeEcs, efs: FakeEfs
) -> None:
    """The Lambda entry point with the clients stubbed: no boto3 client is created."""
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(janitor, "_CLIENTS", (ecs, efs, FakeLeases()))
    point = efs.add_point("d-1", created="1000000000")  # 2001: old whatever today is
    assert janitor.handler({}, FakeContext(millis=300_000))["deleted_access_points"] == 1
    assert point not in efs.points
    efs.add_point("d-2", created="1000000000")
    assert janitor.handler({}, FakeContext(millis=19_999))["complete"] is False


# --- leased slots (docs/data.md, "Leased slots") ---------------------------------------------


@pytest.fixture
def leases() -> FakeLeases:
    return FakeLeases()


def test_a_lease_whose_task_is_gone_is_released_for_the_control_plane_to_return(
    ecs: FakeEcs, efs: FakeEfs, leases: FakeLeases
) -> None:
    leases.add_lease("7", "d-dead", leased_at=leased(OLD))
    result = sweep(ecs, efs, leases=leases)
    assert leases.state("7") == "returning"
    [update] = leases.to("update_item")
    assert update["Key"] == {"slot_id": {"S": "7"}}
    assert update["ExpressionAttributeValues"][":dispatch"] == {"S": "d-dead"}
    assert result.released_leases == 1


def test_a_lease_whose_task_runs_is_kept(ecs: FakeEcs, efs: FakeEfs, leases: FakeLeases) -> None:
    slot_revision = revision_arn("outpost-prod-claude-slot", 7)
    ecs.add_task("d-live", slot_revision, started=ago(YOUNG))
    ecs.add_task("d-pending", slot_revision)  # not started yet: in use by its tag alone
    leases.add_lease("7", "d-live", leased_at=leased(OLD))
    leases.add_lease("8", "d-pending", leased_at=leased(OLD))
    assert sweep(ecs, efs, leases=leases).released_leases == 0
    assert leases.to("update_item") == []


def test_a_lease_within_the_grace_period_is_kept_although_no_task_runs_yet(
    ecs: FakeEcs, efs: FakeEfs, leases: FakeLeases
) -> None:
    """Between the lease and RunTask no task exists: the grace period covers that window."""
    leases.add_lease("7", "d-starting", leased_at=leased(YOUNG))
    assert sweep(ecs, efs, leases=leases).released_leases == 0
    assert leases.state("7") == "leased"


def test_an_overdue_task_is_stopped_and_its_lease_released_by_the_next_run(
    ecs: FakeEcs, efs: FakeEfs, leases: FakeLeases
) -> None:
    """The stopped task may still write to its slot for up to 120 s: its lease waits a run."""
    task = ecs.add_task("d-slow", revision_arn("outpost-prod-claude-slot", 7), started=ago(OLD))
    leases.add_lease("7", "d-slow", leased_at=leased(OLD))
    first = sweep(ecs, efs, leases=leases)
    assert (first.stopped_tasks, first.released_leases) == (1, 0)
    assert ecs.tasks[task]["desiredStatus"] == "STOPPED"
    assert sweep(ecs, efs, leases=leases).released_leases == 1
    assert leases.state("7") == "returning"


def test_a_lease_of_a_task_that_could_not_be_stopped_is_kept(
    ecs: FakeEcs, efs: FakeEfs, leases: FakeLeases
) -> None:
    task = ecs.add_task("d-stuck", revision_arn("outpost-prod-claude-slot", 7), started=ago(OLD))
    ecs.errors[("stop_task", task)] = AwsError("AccessDeniedException", "not allowed")
    leases.add_lease("7", "d-stuck", leased_at=leased(OLD))
    with pytest.raises(CleanupError):
        sweep(ecs, efs, leases=leases)
    assert leases.state("7") == "leased"


def test_a_lease_returned_meanwhile_is_not_an_error(ecs: FakeEcs, efs: FakeEfs, leases: FakeLeases) -> None:
    """The control plane returned (or re-leased) the slot between the query and the update."""
    leases.add_lease("7", "d-dead", leased_at=leased(OLD))
    leases.errors[("update_item", "7")] = AwsError("ConditionalCheckFailedException", "failed")
    result = sweep(ecs, efs, leases=leases)
    assert (result.released_leases, result.errors) == (0, [])


def test_leases_being_returned_or_of_unknown_age_are_left_alone(
    ecs: FakeEcs, efs: FakeEfs, leases: FakeLeases
) -> None:
    leases.add_lease("1", "d-a", leased_at=leased(OLD), state="returning")
    leases.add_lease("2", "d-b", leased_at="yesterday")
    leases.add_lease("3", "d-c", leased_at="2026-11-20T10:00:00")  # no offset: not a moment
    leases.add_lease("4", None, leased_at=leased(OLD))
    result = sweep(ecs, efs, leases=leases)
    assert leases.to("update_item") == []
    assert result.kept_unknown_age == 3
    assert result.stuck_returning == 1  # returning since a time nobody wrote: counted, not touched


def test_leases_are_queried_by_state_page_by_page(ecs: FakeEcs, efs: FakeEfs) -> None:
    leases = FakeLeases(page_size=2)
    for slot in range(5):
        leases.add_lease(str(slot), f"d-{slot}", leased_at=leased(OLD))
    result = sweep(ecs, efs, leases=leases)
    assert result.released_leases == 5
    states = [q["ExpressionAttributeValues"][":state"]["S"] for q in leases.to("query")]
    assert states == ["leased"] * 3 + ["returning"] * 3  # the five, then the five it released
    assert all(q["IndexName"] == "by-state" for q in leases.to("query"))
    assert result.stuck_returning == 0  # released this run: not stuck


def test_a_lease_left_returning_past_the_grace_is_counted_and_logged(
    ecs: FakeEcs, efs: FakeEfs, leases: FakeLeases, caplog: pytest.LogCaptureFixture
) -> None:
    """The control plane completes a return (renames the home, deletes the item); one it left
    for over the grace period is a slot out of the pool: counted for the alarm, nothing changed."""
    leases.add_lease("1", "d-a", leased_at=leased(OLD), state="returning", released_at=leased(OLD))
    leases.add_lease("2", "d-b", leased_at=leased(OLD), state="returning", released_at=leased(60))
    caplog.set_level("WARNING")
    result = sweep(ecs, efs, leases=leases)
    assert (result.stuck_returning, result.errors) == (1, [])
    assert leases.to("update_item") == []
    [record] = [r for r in caplog.records if getattr(r, "action", "") == "stuck_returning"]
    assert (record.slot_id, record.dispatch_id) == ("1", "d-a")  # type: ignore[attr-defined]


def test_a_failed_query_of_returning_leases_fails_the_run(ecs: FakeEcs, efs: FakeEfs) -> None:
    class Failing(FakeLeases):
        def query(self, **kwargs: Any) -> Mapping[str, Any]:
            if kwargs["ExpressionAttributeValues"][":state"]["S"] == "returning":
                raise AwsError("ProvisionedThroughputExceededException", "slow down")
            return super().query(**kwargs)

    with pytest.raises(CleanupError, match="query_leases"):
        sweep(ecs, efs, leases=Failing())


def test_a_failed_lease_query_is_an_error_after_the_rest_ran(ecs: FakeEcs, efs: FakeEfs) -> None:
    leases = FakeLeases()
    leases.errors[("query", "")] = AwsError("AccessDeniedException", "no")
    point = efs.add_point("d-dead", created=created(OLD))
    with pytest.raises(CleanupError, match="query_leases"):
        sweep(ecs, efs, leases=leases)
    assert point not in efs.points


def test_slot_access_points_and_revisions_are_never_touched(
    ecs: FakeEcs, efs: FakeEfs, leases: FakeLeases
) -> None:
    """A slot's access point is tagged outpost:slot (even with a stale dispatch tag on it), and
    slot revisions are in the -slot families, which the janitor is never given."""
    slot_point = efs.add_point(None, created=created(OLD), slot="7")
    tagged_both = efs.add_point("d-dead", created=created(OLD), slot="8")
    slot_revision = ecs.add_revision("outpost-prod-claude-slot", None, registered=ago(OLD))
    sweep(ecs, efs, leases=leases)
    assert {slot_point, tagged_both} <= set(efs.points)
    assert efs.to("delete_access_point") == []
    assert ecs.status(slot_revision) == "ACTIVE"
    assert ecs.to("deregister_task_definition") == ecs.to("delete_task_definitions") == []
