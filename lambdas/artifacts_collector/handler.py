"""Artifacts collector: when an agent task stops, upload its dispatch's outbox to the artifacts bucket.

Why. A presigned upload stops working when the credentials that signed it expire (S3, "Download
and upload objects with presigned URLs"), and the control plane signs with its task-role
session, which may have little time left. A job that runs until its timeout would lose its final
upload. So the agent never needs a live link for its results: it writes them into its
dispatch's outbox on the workspace file system, and this function, triggered by the same
"task STOPPED" rule as the task-state callback, copies them to S3 with its own role after the
task has stopped. The agent gains no S3 permission.

Contract (docs/data.md, "Artifacts"):

* the dispatch record (``dispatches`` table) names its workspace in ``workspace_id``; the
  stopped task is found through the ``by-task-arn`` index, as the callback finds it;
* the outbox of dispatch ``D`` in workspace ``W`` is ``<root>/W/.outpost/outbox/D/`` (the
  agent sees ``/mnt/workspaces/.outpost/outbox/D/``); every regular file under it becomes the
  object ``D/<path under the outbox>``, then is deleted from the outbox.

The agent is assumed hijacked, so everything in the outbox is hostile input:

* nothing is followed: every directory and file is opened relative to its parent's descriptor
  with ``O_NOFOLLOW``, so a symlink (to another workspace, or swapped in during the walk) is
  never opened and never uploaded; anything not a regular file or directory (FIFO, socket,
  device) is skipped; files are opened ``O_NONBLOCK`` and checked with ``fstat`` before reading;
* the object key is made here, from the dispatch id of the record (never from the outbox) and
  the file's relative path, whose names must be printable UTF-8 without ``/`` tricks;
* what one dispatch may upload is bounded (``MAX_FILES``, ``MAX_BYTES``, and each file at most
  ``MAX_BYTES``); what is left over is logged and stays in the outbox until the sweeper
  expires the workspace;
* ``W`` and ``D`` come from the dispatch record and must be plain names (no ``/``, no ``..``).

Idempotent: an uploaded file is deleted from the outbox, so a retried event uploads only what is
left; a file uploaded twice (a crash between upload and delete) is the same object again (a new
version, in a versioned bucket). Errors (S3, DynamoDB, the file system) raise: Lambda retries the
invocation and then dead-letters the event (the callback's queue). A stopped task no dispatch
names, or a dispatch without an outbox, is logged and is not an error.

The clients are injected (``process(event, dynamodb=..., s3=...)``) so the unit tests run
against fakes and a temporary directory.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

LOGGER = logging.getLogger(__name__)

KEY = "dispatch_id"
TASK_ARN = "task_arn"
WORKSPACE = "workspace_id"
# A dispatch run in a leased slot (docs/data.md, "Leased slots"): its workspace sits under
# ``<root>/.slots/<slot_id>`` while leased, and back at ``<root>/<workspace_id>`` once returned.
SLOT = "slot_id"
SLOTS = ".slots"
OUTBOX = (".outpost", "outbox")

_TASK_ARN = re.compile(r"arn:aws[\w-]*:ecs:[\w-]+:\d{12}:task/\S+")
# A dispatch or workspace id: one path segment, never "." or "..".
_PLAIN_NAME = re.compile(r"(?!\.{1,2}$)[A-Za-z0-9._:-]{1,128}")
# S3 keys are at most 1,024 bytes of UTF-8.
MAX_KEY_BYTES = 1024
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK


class MalformedEventError(ValueError):
    """The event is not a stopped ECS task this function can act on."""


class DynamoClient(Protocol):
    def query(self, **kwargs: Any) -> Mapping[str, Any]: ...

    def get_item(self, **kwargs: Any) -> Mapping[str, Any]: ...


class S3Client(Protocol):
    def put_object(self, **kwargs: Any) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Limits:
    max_files: int
    max_bytes: int


@dataclass
class Collected:
    uploaded: list[str] = field(default_factory=list)
    bytes: int = 0
    skipped: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)


def task_arn_of(event: Any) -> str:
    detail = event.get("detail") if isinstance(event, Mapping) else None
    if not isinstance(detail, Mapping) or detail.get("lastStatus") != "STOPPED":
        raise MalformedEventError("not a stopped ECS task: detail.lastStatus is not 'STOPPED'")
    task_arn = detail.get("taskArn")
    if not isinstance(task_arn, str) or not _TASK_ARN.fullmatch(task_arn):
        raise MalformedEventError(f"detail.taskArn is not an ECS task ARN: {task_arn!r}")
    return task_arn


@dataclass(frozen=True)
class Dispatch:
    dispatch_id: str
    workspace_id: str
    slot_id: str | None = None

    def workspace_paths(self) -> list[tuple[str, ...]]:
        """Where the workspace may be, relative to the root: in its slot first (while leased),
        then at home (once returned; the return may race this function)."""
        home = (self.workspace_id,)
        return [(SLOTS, self.slot_id), home] if self.slot_id else [home]


def find_dispatch(
    client: DynamoClient, *, table_name: str, index_name: str, task_arn: str
) -> Dispatch | None:
    """The dispatch that ran ``task_arn``, if one did."""
    page = client.query(
        TableName=table_name,
        IndexName=index_name,
        KeyConditionExpression="#task_arn = :task_arn",
        ExpressionAttributeNames={"#task_arn": TASK_ARN},
        ExpressionAttributeValues={":task_arn": {"S": task_arn}},
    )
    items = page.get("Items", [])
    if not items:
        return None
    dispatch_id = items[0][KEY]["S"]
    item = client.get_item(
        TableName=table_name,
        Key={KEY: {"S": dispatch_id}},
        ProjectionExpression="#workspace, #slot",
        ExpressionAttributeNames={"#workspace": WORKSPACE, "#slot": SLOT},
        ConsistentRead=True,
    ).get("Item", {})
    workspace = item.get(WORKSPACE, {}).get("S")
    slot = item.get(SLOT, {}).get("S")
    for name, value in (("dispatch_id", dispatch_id), ("workspace_id", workspace), ("slot_id", slot)):
        if (value is not None or name != SLOT) and (
            not isinstance(value, str) or not _PLAIN_NAME.fullmatch(value)
        ):
            raise MalformedEventError(f"dispatch record: {name} {value!r} is not a plain name")
    assert isinstance(workspace, str)
    return Dispatch(dispatch_id, workspace, slot)


def _open_directory(name: str, *, parent: int | None) -> int:
    return os.open(name, _DIRECTORY_FLAGS, dir_fd=parent)


def open_outbox(root: str, dispatch: Dispatch) -> int | None:
    """A descriptor of the outbox directory, wherever the workspace is; None if absent."""
    for workspace in dispatch.workspace_paths():
        fd = _open_below(root, (*workspace, *OUTBOX, dispatch.dispatch_id))
        if fd is not None:
            return fd
    return None


def _open_below(root: str, names: tuple[str, ...]) -> int | None:
    """A descriptor of ``root/names...``, reached without following any link; None if absent.
    Once open, the directory stays readable if it is renamed meanwhile (a slot's return)."""
    fd = os.open(root, _DIRECTORY_FLAGS)
    try:
        for name in names:
            try:
                child = _open_directory(name, parent=fd)
            except OSError as error:
                if error.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                    return None  # absent, a file, or a symlink: nothing to collect
                raise
            os.close(fd)
            fd = child
        found, fd = fd, -1
        return found
    finally:
        if fd >= 0:
            os.close(fd)


def _valid_name(name: str) -> bool:
    return name not in ("", ".", "..") and name.isprintable() and "\\" not in name and _utf8(name)


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # surrogate-escaped bytes that are not UTF-8
        return False
    return True


def _entries(directory: int, prefix: str) -> Iterator[tuple[int, str, str]]:
    """``(parent descriptor, name, relative path)`` for everything under ``directory``, depth
    first. Directories are entered through descriptors opened without following links. ``name``
    is the entry's name for a regular file with a valid name, and ``""`` for anything to skip (a
    link, a special file, a bad name, a directory swapped for a link during the walk)."""
    with os.scandir(directory) as listing:
        names = sorted(entry.name for entry in listing)
    for name in names:
        relative = f"{prefix}{name}"
        try:
            info = os.stat(name, dir_fd=directory, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if stat.S_ISDIR(info.st_mode) and _valid_name(name):
            try:
                child = _open_directory(name, parent=directory)
            except OSError as error:
                if error.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                    yield directory, "", relative  # swapped for a link mid-walk: skipped
                    continue
                raise
            try:
                yield from _entries(child, f"{relative}/")
            finally:
                os.close(child)
        else:
            yield directory, name if stat.S_ISREG(info.st_mode) and _valid_name(name) else "", relative


def collect(outbox: int, *, dispatch_id: str, bucket: str, s3: S3Client, limits: Limits) -> Collected:
    """Upload the outbox's files to ``dispatch_id/`` in ``bucket``, deleting each once uploaded."""
    result = Collected()
    for parent, name, relative in _entries(outbox, ""):
        key = f"{dispatch_id}/{relative}"
        if not name or len(key.encode("utf-8", "surrogateescape")) > MAX_KEY_BYTES:
            result.skipped.append(relative)
            continue
        if len(result.uploaded) >= limits.max_files:
            result.left.append(relative)
            continue
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=parent)
        except OSError as error:
            if error.errno in (errno.ENOENT, errno.ELOOP, errno.ENXIO):
                result.skipped.append(relative)  # gone, or swapped for a link or a FIFO
                continue
            raise
        with os.fdopen(fd, "rb") as body:
            info = os.fstat(body.fileno())
            if not stat.S_ISREG(info.st_mode):
                result.skipped.append(relative)
                continue
            if result.bytes + info.st_size > limits.max_bytes:
                result.left.append(relative)
                continue
            _put(s3, bucket=bucket, key=key, body=body, size=info.st_size)
        os.unlink(name, dir_fd=parent)
        result.uploaded.append(key)
        result.bytes += info.st_size
    return result


def _put(s3: S3Client, *, bucket: str, key: str, body: BinaryIO, size: int) -> None:
    # A checksum on every upload: the production bucket's Object Lock refuses a PutObject without one.
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentLength=size, ChecksumAlgorithm="SHA256")


def process(
    event: Any,
    *,
    dynamodb: DynamoClient,
    s3: S3Client,
    table_name: str,
    index_name: str,
    bucket: str,
    root: str,
    limits: Limits,
) -> dict[str, Any]:
    """Handle one event; raises on anything that should be retried or dead-lettered."""
    try:
        task_arn = task_arn_of(event)
    except MalformedEventError as error:
        LOGGER.error("malformed event, sending it to the dead-letter queue: %s", error)
        raise
    found = find_dispatch(dynamodb, table_name=table_name, index_name=index_name, task_arn=task_arn)
    if found is None:
        LOGGER.info("no dispatch names this stopped task", extra={"task_arn": task_arn})
        return {"task_arn": task_arn, "result": "no_dispatch"}
    dispatch_id = found.dispatch_id
    outbox = open_outbox(root, found)
    if outbox is None:
        LOGGER.info("no outbox", extra={"dispatch_id": dispatch_id, "workspace_id": found.workspace_id})
        return {"task_arn": task_arn, "dispatch_id": dispatch_id, "result": "no_outbox"}
    try:
        collected = collect(outbox, dispatch_id=dispatch_id, bucket=bucket, s3=s3, limits=limits)
    finally:
        os.close(outbox)
    summary = {
        "task_arn": task_arn,
        "dispatch_id": dispatch_id,
        "result": "collected",
        "uploaded": len(collected.uploaded),
        "bytes": collected.bytes,
        "skipped": collected.skipped,
        "left": collected.left,
    }
    LOGGER.info("artifacts collected", extra=summary)
    if collected.skipped or collected.left:
        LOGGER.warning(
            "outbox entries not uploaded (links, special files, bad names, or over the limits)",
            extra={"dispatch_id": dispatch_id, "skipped": collected.skipped, "left": collected.left},
        )
    return summary


_CLIENTS: tuple[Any, Any] | None = None


def _clients() -> tuple[Any, Any]:
    global _CLIENTS  # one pair per execution environment, reused across invocations
    if _CLIENTS is None:
        import boto3  # type: ignore[import-untyped]  # in the Lambda runtime; not needed by tests

        _CLIENTS = (boto3.client("dynamodb"), boto3.client("s3"))
    return _CLIENTS


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point (``handler.handler``)."""
    dynamodb, s3 = _clients()
    return process(
        event,
        dynamodb=dynamodb,
        s3=s3,
        table_name=os.environ["DISPATCHES_TABLE"],
        index_name=os.environ["TASK_ARN_INDEX"],
        bucket=os.environ["ARTIFACTS_BUCKET"],
        root=os.environ["WORKSPACES_ROOT"],
        limits=Limits(
            max_files=int(os.environ["MAX_FILES"]),
            max_bytes=int(os.environ["MAX_BYTES"]),
        ),
    )
