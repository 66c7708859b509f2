"""The local stand-in and the harness, each run as its own process on 127.0.0.1 only.

The harness imports Locust, which patches the standard library for gevent; it therefore
never runs inside the test session, only as ``python -m tools.loadtest`` in a subprocess.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tools.loadtest.cli import API_KEY_ENV

KEY = "selftest-key"
KEYS = 5
# Every process a test starts is bounded: the stand-in stops by itself after this long.
STAND_IN_SECONDS = 30
HARNESS_TIMEOUT_SECONDS = 30
# Both run as ``python -m`` from the project root, wherever pytest was started.
ROOT = Path(__file__).resolve().parents[3]


def process_env() -> dict[str, str]:
    """The test's environment without any AWS setting, plus the stand-in's key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env[API_KEY_ENV] = KEY
    return env


@dataclass
class StandIn:
    url: str
    pid: int
    # The stand-in's last line, once stopped: "served N requests, D dispatches, C cancels".
    summary: str = ""
    numbers: dict[str, int] = field(default_factory=dict)


@contextmanager
def stand_in(*flags: str) -> Iterator[StandIn]:
    """Start the stand-in, yield its URL; stop it by its PID and read what it served."""
    command = [sys.executable, "-m", "tools.loadtest.standin", "--max-seconds", str(STAND_IN_SECONDS), *flags]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=process_env(), cwd=ROOT)
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    assert first.startswith("listening on http://127.0.0.1:"), first
    server = StandIn(url=first.removeprefix("listening on "), pid=process.pid)
    try:
        yield server
    finally:
        os.kill(server.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
            process.wait()
        server.summary = process.stdout.read().strip()
        words = server.summary.replace(",", "").split()
        server.numbers = {words[i + 1]: int(words[i]) for i in range(len(words) - 1) if words[i].isdigit()}


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    def row(self, operation: str) -> list[str]:
        """The table row of one operation, split into its columns (name first)."""
        for line in self.stdout.splitlines():
            if line.startswith(operation.ljust(18)):
                return [operation, *line[18:].split()]
        raise AssertionError(f"no row for {operation}:\n{self.stdout}")


def harness(*args: str) -> Run:
    command = [sys.executable, "-m", "tools.loadtest", "--env", "dev", *args]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=HARNESS_TIMEOUT_SECONDS,
        env=process_env(),
        cwd=ROOT,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """Keys of the load-test tenant, comma-separated: enough for the WAF's per-credential limit
    (``tools/loadtest/plan.py``, ``keys_needed``) at 1x on one machine or more."""
    keys = ",".join(f"{KEY}-{n}" for n in range(KEYS))
    monkeypatch.setenv(API_KEY_ENV, keys)
    return keys
