"""The lock files pin the whole dependency tree that `make` installs, and agree with the
requirements*.txt files people edit: a pin bumped without `make lock` fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {
    "requirements.lock": ("requirements.txt", "requirements-dev.txt", "requirements-loadtest.txt"),
    "requirements-scan.lock": ("requirements-scan.txt",),
}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^]]*\])?==([^\s;#]+)")


def name(package: str) -> str:
    return re.sub(r"[-_.]+", "-", package).lower()


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            found[name(match.group(1))] = match.group(2)
    return found


@pytest.mark.parametrize("lock", LOCKS)
def test_every_requirement_is_locked_at_its_pin(lock: str) -> None:
    locked = pins(ROOT / lock)
    for source in LOCKS[lock]:
        for package, version in pins(ROOT / source).items():
            assert locked.get(package) == version, f"{source}: {package}=={version}; run make lock"


@pytest.mark.parametrize("lock", LOCKS)
def test_every_line_of_a_lock_is_an_exact_pin(lock: str) -> None:
    """No range, no unpinned name: the tree installs the same everywhere."""
    lines = [
        line.strip()
        for line in (ROOT / lock).read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert lines
    assert all(PIN.match(line) for line in lines), [line for line in lines if not PIN.match(line)]


def test_the_makefile_installs_from_the_locks() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "-r requirements.lock" in makefile
    assert "-r requirements-scan.lock" in makefile
    assert not re.search(r"pip install[^\n]*-r requirements(-dev|-scan|-loadtest)?\.txt", makefile)
