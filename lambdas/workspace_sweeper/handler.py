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
  with one fresh file is kept without reading the rest of it.

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


def _newer_than(path: str, cutoff: float, budget: _Budget) -> bool:
    """True as soon as ``path`` or anything under it was modified at or after ``cutoff``."""
    if os.lstat(path).st_mtime >= cutoff:
        return True
    stack = [path]
    while stack:
        budget.check()
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                info = entry.stat(follow_symlinks=False)
                if info.st_mtime >= cutoff:
                    return True
                if stat.S_ISDIR(info.st_mode):
                    stack.append(entry.path)
    return False


def _delete_tree(path: str, budget: _Budget) -> int:
    """Delete ``path`` bottom-up without following symlinks; the bytes of the files deleted."""
    freed = 0
    # A read-only directory (Go's module cache makes them) would refuse the unlinks below; the
    # access point's user owns every workspace file, so it may make its own directory writable.
    if os.lstat(path).st_mode & stat.S_IRWXU != stat.S_IRWXU:
        os.chmod(path, stat.S_IRWXU)
    with os.scandir(path) as listing:
        entries = list(listing)
    for entry in entries:
        budget.check()
        if entry.is_dir(follow_symlinks=False):
            freed += _delete_tree(entry.path, budget)
            continue
        # A file, or a symlink (to anything): the link itself goes, its target stays.
        info = entry.stat(follow_symlinks=False)
        os.unlink(entry.path)
        if stat.S_ISREG(info.st_mode):
            freed += info.st_size
    budget.check()
    os.rmdir(path)
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
    cutoff = (time.time() if now is None else now) - expiry_days * DAY_SECONDS
    budget = _Budget(budget_seconds, clock)
    result = Result()
    root = os.path.realpath(root)
    try:
        with os.scandir(root) as listing:
            names = sorted(
                e.name for e in listing if e.is_dir(follow_symlinks=False) and e.name not in NOT_WORKSPACES
            )
        # Leftovers of an earlier run first: they are already decided.
        for name in [n for n in names if n.startswith(EXPIRED_PREFIX)]:
            result.bytes_deleted += _delete_tree(os.path.join(root, name), budget)
            LOG.info("finished deleting %s", name)
        for name in [n for n in names if not n.startswith(EXPIRED_PREFIX)]:
            budget.check()
            path = os.path.join(root, name)
            if _newer_than(path, cutoff, budget):
                result.kept += 1
                continue
            doomed = os.path.join(root, EXPIRED_PREFIX + name)
            os.rename(path, doomed)
            freed = _delete_tree(doomed, budget)
            result.deleted.append(name)
            result.bytes_deleted += freed
            LOG.info("deleted workspace %s (%d bytes)", name, freed)
    except OutOfTimeError:
        result.complete = False
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
