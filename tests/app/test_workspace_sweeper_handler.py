"""The workspace sweeper on a temporary directory tree: no AWS, no EFS."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from collections.abc import Iterator
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
def root(tmp_path: Path) -> Iterator[Path]:
    r = tmp_path / "workspaces"
    r.mkdir()
    yield r
    # Whatever a failed test left: the deep trees below would break pytest's own recursive
    # cleanup of its temporary directories, in every later session on this machine.
    subprocess.run(["rm", "-rf", str(r)], check=False)


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


# --- what a hijacked agent can leave in its workspace ---------------------------------------


def _nest(top: Path, depth: int, name: str, *, mtime: float) -> None:
    """``depth`` directories ``name`` inside each other under ``top``, made and dated by file
    descriptor (the path may be longer than the 4,096 bytes a path may have), a file at the bottom."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    opened = [fd]
    for _ in range(depth):
        os.mkdir(name, dir_fd=fd)
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        opened.append(fd)
    bottom = os.open("leaf", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd)
    os.write(bottom, b"x" * 7)
    os.close(bottom)
    os.utime("leaf", (mtime, mtime), dir_fd=fd)
    for parent, child in zip(reversed(opened[:-1]), reversed(opened[1:]), strict=True):
        os.close(child)
        os.utime(name, (mtime, mtime), dir_fd=parent)
    os.close(opened[0])


@pytest.mark.parametrize(
    ("depth", "name"),
    [
        (1_100, "d"),  # deeper than Python's recursion limit (1,000)
        (24, "n" * 200),  # a path of about 4,800 bytes, past PATH_MAX (4,096)
    ],
    ids=["deeper-than-recursion", "longer-than-a-path"],
)
def test_a_tree_built_to_break_the_sweep_is_deleted_and_the_sweep_goes_on(
    root: Path, depth: int, name: str
) -> None:
    """A workspace's agent can nest directories as deep as it likes. A recursive or path-based walk
    failed on such a tree every run, and no workspace after it was ever swept again."""
    (root / "a-trap").mkdir()
    _nest(root / "a-trap", depth, name, mtime=OLD)
    os.utime(root / "a-trap", (OLD, OLD))
    make(root / "b-old" / "x.txt", mtime=OLD, size=5)
    age_dirs(root / "b-old", OLD)
    result = sweep(str(root), expiry_days=30, budget_seconds=120, now=NOW)
    assert result.complete
    assert result.deleted == ["a-trap", "b-old"]
    assert result.bytes_deleted == 7 + 5
    assert sorted(os.listdir(root)) == []


def test_a_deep_fresh_file_still_keeps_its_workspace(root: Path) -> None:
    (root / "deep").mkdir()
    _nest(root / "deep", 1_100, "d", mtime=NOW - DAY)
    result = sweep(str(root), expiry_days=30, budget_seconds=120, now=NOW)
    assert (result.deleted, result.kept, result.complete) == ([], 1, True)
    # Its last change ages like any other (and the tree is gone before pytest's cleanup, whose
    # recursive delete this depth would break).
    later = sweep(str(root), expiry_days=30, budget_seconds=120, now=NOW + 40 * DAY)
    assert (later.deleted, later.complete) == (["deep"], True)


def test_a_date_in_the_future_does_not_keep_a_workspace_forever(root: Path) -> None:
    """``touch -d 2100-01-01``: the entry counts by its change time, the moment of that touch."""
    year_2100 = 4_102_444_800.0
    make(root / "immortal" / "old.txt", mtime=OLD)
    make(root / "immortal" / "forged.txt", mtime=year_2100)
    age_dirs(root / "immortal", OLD)
    # Today the forgery is as fresh as the touch that made it...
    assert sweep(str(root), expiry_days=30, budget_seconds=60, now=NOW).kept == 1
    # ...and 40 days on it is 40 days old.
    later = sweep(str(root), expiry_days=30, budget_seconds=60, now=time.time() + 40 * DAY)
    assert later.deleted == ["immortal"]


def test_a_directory_nobody_may_read_neither_stops_the_sweep_nor_keeps_its_workspace(root: Path) -> None:
    """``chmod 000`` on a directory: the sweeper, the access point's user (not root, unlike this
    test), could not list it and failed every run. It gives the owner its bits back first."""
    make(root / "locked" / "sealed" / "secret.txt", mtime=OLD, size=3)
    age_dirs(root / "locked", OLD)
    make(root / "open" / "sealed" / "fresh.txt", mtime=NOW)
    age_dirs(root / "open", OLD)  # only the file in the sealed directory is fresh
    os.chmod(root / "locked" / "sealed", 0)
    os.chmod(root / "open" / "sealed", 0)
    result = sweep(str(root), expiry_days=30, budget_seconds=60, now=NOW)
    assert (result.deleted, result.kept, result.complete) == (["locked"], 1, True)
    assert (root / "open" / "sealed" / "fresh.txt").exists()
    assert stat.S_IMODE(os.stat(root / "open" / "sealed").st_mode) == stat.S_IRWXU
