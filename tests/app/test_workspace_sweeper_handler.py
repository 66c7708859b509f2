"""The workspace sweeper on a temporary directory tree: no AWS, no EFS."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from lambdas.workspace_sweeper.handler import EXPIRED_PREFIX, sweep

DAY = 86400
NOW = time.time()
OLD = NOW - 40 * DAY


def make(path: Path, *, mtime: float, size: int = 10) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    os.utime(path, (mtime, mtime))


def age_dirs(root: Path, mtime: float) -> None:
    for top, dirs, _ in os.walk(root, topdown=False):
        for d in dirs:
            p = os.path.join(top, d)
            if not os.path.islink(p):
                os.utime(p, (mtime, mtime))
    os.utime(root, (mtime, mtime))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "workspaces"
    r.mkdir()
    return r


def test_old_workspace_is_deleted_and_counted(root: Path) -> None:
    make(root / "old" / "a.txt", mtime=OLD, size=100)
    make(root / "old" / "deep" / "b.txt", mtime=OLD, size=23)
    age_dirs(root / "old", OLD)
    result = sweep(str(root), expiry_days=30, budget_seconds=60, now=NOW)
    assert not (root / "old").exists()
    assert result.deleted == ["old"]
    assert result.bytes_deleted == 123
    assert result.complete
    assert root.is_dir()  # never the root


def test_fresh_workspace_is_kept(root: Path) -> None:
    make(root / "fresh" / "a.txt", mtime=NOW)
    result = sweep(str(root), expiry_days=30, budget_seconds=60, now=NOW)
    assert (root / "fresh" / "a.txt").exists()
    assert (result.deleted, result.kept) == ([], 1)


def test_one_fresh_file_deep_inside_keeps_the_workspace(root: Path) -> None:
    make(root / "mixed" / "old.txt", mtime=OLD)
    make(root / "mixed" / "a" / "b" / "new.txt", mtime=NOW - DAY)
    age_dirs(root / "mixed", OLD)
    result = sweep(str(root), expiry_days=30, budget_seconds=60, now=NOW)
    assert (root / "mixed" / "old.txt").exists()
    assert result.deleted == []


def test_symlink_escaping_the_root_is_not_followed(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    make(outside / "precious.txt", mtime=OLD)
    age_dirs(outside, OLD)
    (root / "old").mkdir()
    os.symlink(outside, root / "old" / "link-to-outside")
    os.symlink(outside / "precious.txt", root / "old" / "file-link")
    os.utime(root / "old" / "link-to-outside", (OLD, OLD), follow_symlinks=False)
    os.utime(root / "old" / "file-link", (OLD, OLD), follow_symlinks=False)
    age_dirs(root / "old", OLD)
    os.symlink(outside, root / "top-level-link")  # a link at the top is never a candidate
    result = sweep(str(root), expiry_days=30, budget_seconds=60, now=NOW)
    assert result.deleted == ["old"]
    assert (outside / "precious.txt").read_bytes() == b"x" * 10
    assert (root / "top-level-link").is_symlink()


def test_fresh_file_behind_a_symlink_does_not_keep_a_workspace(root: Path, tmp_path: Path) -> None:
    make(tmp_path / "outside" / "new.txt", mtime=NOW)
    (root / "old").mkdir()
    os.symlink(tmp_path / "outside", root / "old" / "link")
    os.utime(root / "old" / "link", (OLD, OLD), follow_symlinks=False)
    age_dirs(root / "old", OLD)
    assert sweep(str(root), expiry_days=30, budget_seconds=60, now=NOW).deleted == ["old"]
    assert (tmp_path / "outside" / "new.txt").exists()


class FakeClock:
    """Each reading advances one second."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 1
        return self.t


def test_time_budget_is_respected_and_the_next_run_resumes(root: Path) -> None:
    for n in range(5):
        for f in range(5):
            make(root / f"old{n}" / f"f{f}.txt", mtime=OLD)
        age_dirs(root / f"old{n}", OLD)
    clock = FakeClock()
    first = sweep(str(root), expiry_days=30, budget_seconds=12, now=NOW, clock=clock)
    assert not first.complete
    assert clock.t <= 14  # stopped at the first check past the budget
    leftovers = sorted(p.name for p in root.iterdir())
    assert leftovers
    assert len(leftovers) <= 5
    runs = 1
    while any(p.exists() for p in root.iterdir()) and runs < 20:
        sweep(str(root), expiry_days=30, budget_seconds=12, now=NOW, clock=FakeClock())
        runs += 1
    assert list(root.iterdir()) == []
    assert not any(p.name.startswith(EXPIRED_PREFIX) for p in root.iterdir())


def test_a_second_run_changes_nothing(root: Path) -> None:
    make(root / "fresh" / "a.txt", mtime=NOW)
    make(root / "old" / "a.txt", mtime=OLD)
    age_dirs(root / "old", OLD)
    sweep(str(root), expiry_days=30, budget_seconds=60, now=NOW)
    again = sweep(str(root), expiry_days=30, budget_seconds=60, now=NOW)
    assert (again.deleted, again.kept, again.bytes_deleted) == ([], 1, 0)
    assert (root / "fresh" / "a.txt").exists()


def test_read_only_directories_are_deleted_too(root: Path) -> None:
    make(root / "old" / "cache" / "mod" / "a.go", mtime=OLD)
    os.chmod(root / "old" / "cache" / "mod", 0o555)
    os.chmod(root / "old" / "cache", 0o555)
    age_dirs(root / "old", OLD)
    assert sweep(str(root), expiry_days=30, budget_seconds=60, now=NOW).deleted == ["old"]
    assert list(root.iterdir()) == []


def test_the_leased_slots_root_is_never_swept(root: Path) -> None:
    """docs/data.md, "Leased slots": .slots holds the slots' roots, not a workspace."""
    make(root / ".slots" / "7" / "old.txt", mtime=OLD)
    age_dirs(root / ".slots", OLD)
    result = sweep(str(root), expiry_days=30, budget_seconds=60, now=NOW)
    assert result.deleted == []
    assert (root / ".slots" / "7" / "old.txt").exists()
