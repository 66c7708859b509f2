"""The artifacts collector on a temporary workspaces tree with fake DynamoDB and S3: no AWS, no EFS.

The outbox is written by a task that may be hijacked, so most cases are hostile: links out of
the outbox (to another workspace), a linked outbox, FIFOs, too many or too large files, and a
dispatch record whose ids are not plain names.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from lambdas.artifacts_collector.handler import Limits, MalformedEventError, process

EVENTS = Path(__file__).parent / "events"
TABLE, INDEX, BUCKET = "outpost-test-dispatches", "by-task-arn", "artifacts"
WIDE = Limits(max_files=100, max_bytes=10_000)


def stopped_event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "task_timed_out.json").read_text())
    return event


TASK_ARN = stopped_event()["detail"]["taskArn"]


class FakeDynamo:
    def __init__(self, records: dict[str, dict[str, Any]]) -> None:
        # task ARN -> dispatch record
        self.records = records

    def query(self, **kwargs: Any) -> dict[str, Any]:
        assert (kwargs["TableName"], kwargs["IndexName"]) == (TABLE, INDEX)
        task_arn = kwargs["ExpressionAttributeValues"][":task_arn"]["S"]
        record = self.records.get(task_arn)
        return {"Items": [{"dispatch_id": {"S": record["dispatch_id"]}}] if record else []}

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        dispatch_id = kwargs["Key"]["dispatch_id"]["S"]
        record = next(r for r in self.records.values() if r["dispatch_id"] == dispatch_id)
        return {"Item": {k: {"S": v} for k, v in record.items() if v is not None}}


class FakeS3:
    def __init__(self, *, fail: bool = False) -> None:
        self.objects: dict[str, bytes] = {}
        self.fail = fail

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        assert kwargs["Bucket"] == BUCKET
        assert kwargs["ChecksumAlgorithm"] == "SHA256"  # Object Lock refuses a put without one
        if self.fail:
            raise OSError("S3 is unreachable")
        body = kwargs["Body"].read()
        assert len(body) == kwargs["ContentLength"]
        self.objects[kwargs["Key"]] = body
        return {}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "workspaces"
    r.mkdir()
    return r


def outbox(root: Path, workspace: str = "w-1", dispatch: str = "d-1") -> Path:
    path = root / workspace / ".outpost" / "outbox" / dispatch
    path.mkdir(parents=True)
    return path


def run(
    root: Path,
    *,
    s3: FakeS3,
    limits: Limits = WIDE,
    dispatch: str = "d-1",
    workspace: str | None = "w-1",
    slot: str | None = None,
) -> dict[str, Any]:
    dynamo = FakeDynamo({TASK_ARN: {"dispatch_id": dispatch, "workspace_id": workspace, "slot_id": slot}})
    return process(
        stopped_event(),
        dynamodb=dynamo,
        s3=s3,
        table_name=TABLE,
        index_name=INDEX,
        bucket=BUCKET,
        root=str(root),
        limits=limits,
    )


def test_the_outbox_goes_to_the_dispatch_prefix_and_leaves_the_workspace(root: Path) -> None:
    box = outbox(root)
    (box / "report.md").write_text("done")
    (box / "logs").mkdir()
    (box / "logs" / "run.txt").write_text("log")
    (root / "w-1" / "src.py").write_text("the user's code stays")
    s3 = FakeS3()
    result = run(root, s3=s3)
    assert s3.objects == {"d-1/logs/run.txt": b"log", "d-1/report.md": b"done"}
    assert (result["result"], result["uploaded"], result["bytes"]) == ("collected", 2, 7)
    assert not (box / "report.md").exists()
    assert (root / "w-1" / "src.py").exists()
    # Idempotent: a redelivered event finds nothing left to upload.
    assert run(root, s3=FakeS3())["uploaded"] == 0


def test_links_are_never_followed(root: Path) -> None:
    """A hijacked agent links to another workspace: neither the file nor the directory is read."""
    other = root / "w-2"
    other.mkdir()
    (other / "secret.txt").write_text("another user's")
    box = outbox(root)
    (box / "secret.txt").symlink_to(other / "secret.txt")
    (box / "everything").symlink_to(other, target_is_directory=True)
    (box / "ok.txt").write_text("ok")
    s3 = FakeS3()
    result = run(root, s3=s3)
    assert s3.objects == {"d-1/ok.txt": b"ok"}
    assert sorted(result["skipped"]) == ["everything", "secret.txt"]
    assert (other / "secret.txt").read_text() == "another user's"


@pytest.mark.parametrize("linked", ["workspace", "outbox"])
def test_a_linked_workspace_or_outbox_is_not_entered(root: Path, linked: str) -> None:
    victim = outbox(root, workspace="w-2")
    (victim / "theirs.txt").write_text("another user's")
    if linked == "workspace":
        (root / "w-1").symlink_to(root / "w-2", target_is_directory=True)
    else:
        (root / "w-1" / ".outpost" / "outbox").mkdir(parents=True)
        (root / "w-1" / ".outpost" / "outbox" / "d-1").symlink_to(victim, target_is_directory=True)
    s3 = FakeS3()
    assert run(root, s3=s3)["result"] == "no_outbox"
    assert s3.objects == {}
    assert (victim / "theirs.txt").exists()


def test_special_files_are_skipped_without_blocking(root: Path) -> None:
    box = outbox(root)
    os.mkfifo(box / "pipe")  # opening it for reading would wait for a writer forever
    (box / "ok.txt").write_text("ok")
    s3 = FakeS3()
    result = run(root, s3=s3)
    assert s3.objects == {"d-1/ok.txt": b"ok"}
    assert result["skipped"] == ["pipe"]


def test_what_one_dispatch_uploads_is_bounded(root: Path) -> None:
    box = outbox(root)
    for name in ("a", "b", "c"):
        (box / name).write_bytes(b"x" * 40)
    (box / "big").write_bytes(b"x" * 200)
    s3 = FakeS3()
    result = run(root, s3=s3, limits=Limits(max_files=2, max_bytes=100))
    assert sorted(s3.objects) == ["d-1/a", "d-1/b"]
    assert sorted(result["left"]) == ["big", "c"]
    assert (box / "big").exists()  # left for the operator (and the sweeper's expiry)


def test_an_upload_failure_raises_and_keeps_the_file(root: Path) -> None:
    box = outbox(root)
    (box / "report.md").write_text("done")
    with pytest.raises(OSError, match="unreachable"):
        run(root, s3=FakeS3(fail=True))
    assert (box / "report.md").exists()  # the retry (or the dead-letter redrive) uploads it


@pytest.mark.parametrize(
    ("dispatch", "workspace", "slot"),
    [("d-1", "../w-2", None), ("..", "w-1", None), ("d-1", None, None), ("d-1", "w-1", "../../w-2")],
)
def test_ids_of_the_record_must_be_plain_names(
    root: Path, dispatch: str, workspace: str | None, slot: str | None
) -> None:
    with pytest.raises(MalformedEventError, match="is not a plain name"):
        run(root, s3=FakeS3(), dispatch=dispatch, workspace=workspace, slot=slot)


@pytest.mark.parametrize("returned", [False, True])
def test_a_leased_slot_is_read_where_the_workspace_is(root: Path, returned: bool) -> None:
    """Leased slots (docs/data.md): the workspace is under .slots/<n> while leased, and back home
    once the control plane returned it; the collector finds the outbox in either place."""
    box = outbox(root, workspace="w-1") if returned else outbox(root, workspace=".slots/7")
    (box / "report.md").write_text("done")
    s3 = FakeS3()
    assert run(root, s3=s3, slot="7")["uploaded"] == 1
    assert s3.objects == {"d-1/report.md": b"done"}


def test_a_task_no_dispatch_names_is_not_an_error(root: Path) -> None:
    result = process(
        stopped_event(),
        dynamodb=FakeDynamo({}),
        s3=FakeS3(),
        table_name=TABLE,
        index_name=INDEX,
        bucket=BUCKET,
        root=str(root),
        limits=WIDE,
    )
    assert result["result"] == "no_dispatch"


@pytest.mark.parametrize(
    ("field", "value"),
    [("lastStatus", "RUNNING"), ("taskArn", "arn:aws:s3:::not-a-task")],
)
def test_an_event_that_is_not_a_stopped_task_is_refused(root: Path, field: str, value: str) -> None:
    event = stopped_event()
    event["detail"][field] = value
    with pytest.raises(MalformedEventError, match=field):
        process(
            event,
            dynamodb=FakeDynamo({}),
            s3=FakeS3(),
            table_name=TABLE,
            index_name=INDEX,
            bucket=BUCKET,
            root=str(root),
            limits=WIDE,
        )


def test_names_that_cannot_be_object_keys_are_skipped_and_kept(root: Path) -> None:
    """A control character, bytes that are not UTF-8, and a path longer than S3's 1,024-byte key:
    each is skipped (named in the result) and left in the outbox, and the rest still goes."""
    box = outbox(root)
    (box / "bell\x07.txt").write_text("x")
    os.close(os.open(os.fsencode(box) + b"/latin1-\xe9.txt", os.O_CREAT | os.O_WRONLY, 0o600))
    deep = box
    for _ in range(5):
        deep = deep / ("d" * 250)
    deep.mkdir(parents=True)
    (deep / "too-deep.txt").write_text("x")
    (box / "ok.txt").write_text("ok")
    s3 = FakeS3()
    result = run(root, s3=s3)
    assert s3.objects == {"d-1/ok.txt": b"ok"}
    assert len(result["skipped"]) == 3
    assert (box / "bell\x07.txt").exists()
    assert (deep / "too-deep.txt").exists()


def test_the_entry_point_reads_its_settings_from_the_environment(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``handler.handler`` is what Lambda calls: the names its function's environment sets
    (constructs/artifacts_collector.py) reach ``process``."""
    from lambdas.artifacts_collector import handler as module

    box = outbox(root)
    (box / "report.md").write_text("done")
    s3 = FakeS3()
    dynamo = FakeDynamo({TASK_ARN: {"dispatch_id": "d-1", "workspace_id": "w-1", "slot_id": None}})
    monkeypatch.setattr(module, "_CLIENTS", (dynamo, s3))
    for name, value in {
        "DISPATCHES_TABLE": TABLE,
        "TASK_ARN_INDEX": INDEX,
        "ARTIFACTS_BUCKET": BUCKET,
        "WORKSPACES_ROOT": str(root),
        "MAX_FILES": "10",
        "MAX_BYTES": "100",
    }.items():
        monkeypatch.setenv(name, value)
    assert module.handler(stopped_event(), None)["uploaded"] == 1
    assert s3.objects == {"d-1/report.md": b"done"}


@pytest.mark.parametrize(
    ("call", "target", "error"),
    [
        ("stat", "gone.txt", FileNotFoundError(2, "deleted between the listing and the stat")),
        ("open", "swapped", OSError(40, "a directory swapped for a link mid-walk (ELOOP)")),
        ("open", "fifo.txt", OSError(6, "a file swapped for a FIFO before its open (ENXIO)")),
    ],
)
def test_entries_that_change_during_the_walk_are_skipped(
    root: Path, monkeypatch: pytest.MonkeyPatch, call: str, target: str, error: OSError
) -> None:
    """The agent may still race the walk (a task's last writes, or a hijacked sibling on the
    same file system): what vanishes or is swapped between two system calls is skipped, never
    followed, and the rest of the outbox still goes."""
    box = outbox(root)
    (box / "swapped").mkdir()
    (box / "swapped" / "inner.txt").write_text("x")
    (box / "gone.txt").write_text("x")
    (box / "fifo.txt").write_text("x")
    (box / "ok.txt").write_text("ok")
    real = getattr(os, call)

    def racing(path: Any, *args: Any, **kwargs: Any) -> Any:
        if path == target and kwargs.get("dir_fd") is not None:
            raise error
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, call, racing)
    s3 = FakeS3()
    result = run(root, s3=s3)
    assert "d-1/ok.txt" in s3.objects
    # A file gone before its stat is simply not there; one swapped before its open is named.
    assert (target in result["skipped"]) == (call == "open")
    assert not any(key.startswith(f"d-1/{target}") for key in s3.objects)


def test_a_file_that_is_no_longer_regular_when_opened_is_skipped(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fstat`` on the opened descriptor is the check that counts (the name was checked
    before the open, and may have been swapped in between)."""
    import stat as stat_module

    box = outbox(root)
    (box / "odd.txt").write_text("x")
    (box / "ok.txt").write_text("ok")
    real = os.fstat
    odd = os.stat(box / "odd.txt").st_ino

    def fstat(fd: int) -> Any:
        info = real(fd)
        if info.st_ino == odd:
            fields = list(info)
            fields[0] = stat_module.S_IFIFO | 0o600
            return os.stat_result(fields)
        return info

    monkeypatch.setattr(os, "fstat", fstat)
    s3 = FakeS3()
    result = run(root, s3=s3)
    assert s3.objects == {"d-1/ok.txt": b"ok"}
    assert result["skipped"] == ["odd.txt"]
    assert (box / "odd.txt").exists()
