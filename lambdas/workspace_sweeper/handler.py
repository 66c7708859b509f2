"""Workspace sweeper: delete workspace directories nobody has touched for the expiry.

The workspaces file system (EFS access point ``/workspaces``, mounted here at
``/mnt/workspaces``) holds one top-level directory per workspace. Nothing else removes
them, so this function runs once a day and deletes every top-level directory whose newest
modification time (the directory itself and everything under it, symlinks taken as links,
never followed) is older than ``EXPIRY_DAYS``.

Safety:

* only directories directly under the root are candidates; the root itself, top-level
  files and top-level symlinks are never deleted;
* no symlink is ever followed (``lstat``, ``follow_symlinks=False``), so nothing outside the
  mount is read or deleted, whatever a workspace links to;
* the walk stops at the first entry newer than the cutoff (the cheap bound): a workspace
  with one fresh file is kept without reading the rest of it;
* a workspace is whatever its agent, possibly hijacked, left in it: the walk goes by file
  descriptor and by loop, so no depth or path length stops it; a directory its owner may not
  list gets its owner's bits back; and an entry dated in the future (more than a day) counts by
  its change time, which no process can set, so ``touch -d 2100-01-01`` does not keep a
  workspace forever.

Resumable and time-bounded. An expired directory is first renamed (atomically, in the
root) to ``.outpost-expired-<name>``, then deleted bottom-up. Every run first finishes the
``.outpost-expired-*`` directories a previous run left, then sweeps. The function checks its
time budget (the Lambda's remaining time minus a margin) before every entry and stops
cleanly when it runs out; the next run resumes. Running it twice deletes nothing twice: it
is idempotent.

It logs one line per deleted workspace and a summary (count, bytes, complete or not).
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

EXPIRED_PREFIX = ".outpost-expired-"
# Not workspaces: the leased slots' roots (docs/data.md, "Leased slots"). A workspace sits there
# only while a dispatch runs in it, and returns home when it ends; never swept here.
NOT_WORKSPACES = (".slots",)
DAY_SECONDS = 86400
# Stop this long before the Lambda timeout, so the summary is always logged.
SAFETY_MARGIN_SECONDS = 20.0


class OutOfTimeError(Exception):
    """The time budget ran out; the next run resumes."""


@dataclass
class Result:
    deleted: list[str] = field(default_factory=list)
    kept: int = 0
    bytes_deleted: int = 0
    complete: bool = True

    def summary(self) -> dict[str, Any]:
        return {
            "deleted_count": len(self.deleted),
            "deleted": self.deleted,
            "kept_count": self.kept,
            "bytes_deleted": self.bytes_deleted,
            "complete": self.complete,
        }


class _Budget:
    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._deadline = clock() + seconds

    def check(self) -> None:
        if self._clock() >= self._deadline:
            raise OutOfTimeError


# An entry dated later than this past the sweep's clock is not believed (``touch -d 2100-01-01``
# would keep a workspace forever): it counts by its change time instead, which the file system
# sets to the moment of every write or metadata change, that one included, and no process can set.
CLOCK_SKEW_SECONDS = DAY_SECONDS
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def _stamp(info: os.stat_result, now: float) -> float:
    """When an entry last changed: its modification time, unless that lies in the future."""
    return info.st_mtime if info.st_mtime <= now + CLOCK_SKEW_SECONDS else info.st_ctime


def _open_directory(parent: int, name: str, mode: int) -> int:
    """``name`` in ``parent``, opened to be listed. The access point's user owns every workspace
    file, so a directory it may not list or change (Go's module cache makes read-only ones; an
    agent can ``chmod 000`` one) is given its owner's bits first: else one such directory would
    fail the sweep, every run."""
    if mode & stat.S_IRWXU != stat.S_IRWXU:
        os.chmod(name, stat.S_IMODE(mode) | stat.S_IRWXU, dir_fd=parent)
    return os.open(name, _DIRECTORY, dir_fd=parent)


def _walk(parent: int, name: str, visit: Callable[[int, Any], bool], budget: _Budget) -> bool:
    """Every entry under ``name`` (a directory in the directory ``parent``), depth first; True as
    soon as ``visit(directory, entry)`` is. Each directory is visited once more, as a ``_Gone``,
    after all under it.

    By file descriptor, one directory open at a time, and by loop rather than recursion: a
    workspace is whatever its agent made, and a hijacked agent can nest directories deeper than
    Python's recursion limit (about 1,000) or than a path may be long (4,096 bytes), which a
    recursive walk or one by path would fail on, every run, for every workspace after it.
    Symlinks are entries, never followed (``O_NOFOLLOW``).
    """
    fd = _open_directory(parent, name, os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode)
    # Per level: the subdirectories still to enter (name, mode); and the names entered below ``name``.
    pending: list[list[tuple[str, int]]] = []
    entered: list[str] = []
    try:
        while True:
            budget.check()
            subdirectories = []
            # The whole listing first, then the visits: a visit may unlink, and a directory changed
            # while it is read (on NFS, EFS's protocol) may skip entries, which rmdir would meet.
            with os.scandir(fd) as listing:
                entries = list(listing)
            for entry in entries:
                if visit(fd, entry):
                    return True
                if entry.is_dir(follow_symlinks=False):
                    subdirectories.append((entry.name, entry.stat(follow_symlinks=False).st_mode))
            pending.append(subdirectories)
            while not pending[-1]:
                pending.pop()
                if not entered:
                    return False
                upper = os.open("..", _DIRECTORY, dir_fd=fd)
                os.close(fd)
                fd = upper
                if visit(fd, _Gone(entered.pop())):
                    return True
            child, mode = pending[-1].pop()
            lower = _open_directory(fd, child, mode)
            os.close(fd)
            fd = lower
            entered.append(child)
    finally:
        os.close(fd)


class _Gone:
    """A directory whose entries have all been visited, handed to ``visit`` once more on the way
    back up, in its parent: what deletes a tree removes it then."""

    def __init__(self, name: str) -> None:
        self.name = name


def _newer_than(root: int, name: str, cutoff: float, now: float, budget: _Budget) -> bool:
    """True as soon as the workspace ``name`` or anything under it changed at or after ``cutoff``."""
    if _stamp(os.stat(name, dir_fd=root, follow_symlinks=False), now) >= cutoff:
        return True

    def fresh(directory: int, entry: Any) -> bool:
        return not isinstance(entry, _Gone) and _stamp(entry.stat(follow_symlinks=False), now) >= cutoff

    return _walk(root, name, fresh, budget)


def _delete_tree(root: int, name: str, budget: _Budget) -> int:
    """Delete the directory ``name`` of ``root`` and all under it, bottom-up, without following
    symlinks; the bytes of the files deleted."""
    freed = 0

    def remove(directory: int, entry: Any) -> bool:
        nonlocal freed
        budget.check()
        if isinstance(entry, _Gone):
            os.rmdir(entry.name, dir_fd=directory)
        elif not entry.is_dir(follow_symlinks=False):  # a directory is entered, emptied, then gone
            # A file, or a symlink (to anything): the link itself goes, its target stays.
            info = entry.stat(follow_symlinks=False)
            os.unlink(entry.name, dir_fd=directory)
            if stat.S_ISREG(info.st_mode):
                freed += info.st_size
        return False

    _walk(root, name, remove, budget)
    budget.check()
    os.rmdir(name, dir_fd=root)
    return freed


def sweep(
    root: str,
    *,
    expiry_days: int,
    budget_seconds: float,
    now: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Result:
    """Delete the expired top-level directories of ``root``; see the module docstring."""
    now = time.time() if now is None else now
    cutoff = now - expiry_days * DAY_SECONDS
    budget = _Budget(budget_seconds, clock)
    result = Result()
    top = os.open(os.path.realpath(root), _DIRECTORY)
    try:
        with os.scandir(top) as listing:
            names = sorted(
                e.name for e in listing if e.is_dir(follow_symlinks=False) and e.name not in NOT_WORKSPACES
            )
        # Leftovers of an earlier run first: they are already decided.
        for name in [n for n in names if n.startswith(EXPIRED_PREFIX)]:
            result.bytes_deleted += _delete_tree(top, name, budget)
            LOG.info("finished deleting %s", name)
        for name in [n for n in names if not n.startswith(EXPIRED_PREFIX)]:
            budget.check()
            if _newer_than(top, name, cutoff, now, budget):
                result.kept += 1
                continue
            doomed = EXPIRED_PREFIX + name
            os.rename(name, doomed, src_dir_fd=top, dst_dir_fd=top)
            freed = _delete_tree(top, doomed, budget)
            result.deleted.append(name)
            result.bytes_deleted += freed
            LOG.info("deleted workspace %s (%d bytes)", name, freed)
    except OutOfTimeError:
        result.complete = False
    finally:
        os.close(top)
    LOG.info("sweep summary %s", result.summary())
    return result


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """EventBridge's daily schedule; the event carries nothing the sweep needs."""
    remaining = context.get_remaining_time_in_millis() / 1000
    return sweep(
        os.environ["WORKSPACES_ROOT"],
        expiry_days=int(os.environ["EXPIRY_DAYS"]),
        budget_seconds=max(remaining - SAFETY_MARGIN_SECONDS, 1.0),
    ).summary()
