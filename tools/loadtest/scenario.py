"""The simulated user: one person's dispatches through the MCP tools, one at a time.

Each pass of ``lifecycle`` is one dispatch: at a session's start a health check and a
workspace listing (and, every other session, deleting the user's workspace), then the
dispatch, a status poll every ``poll_seconds`` while it is active, a cancel half-way for
one dispatch in ``cancel_every``, and the artifacts. Every dispatch is a dry run
(docs/loadtest.md, "The dry-run contract"); one the control plane does not confirm as such
is cancelled at once and counted, and the driver stops the run past the cap.

Importing this module imports Locust, which patches the standard library for gevent (so
a ``threading.Event`` wait yields to the other users): only the harness's own process
(``python -m tools.loadtest``) imports it, never the test session.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from locust import FastHttpUser, constant, task
from locust.exception import StopUser

from config import AGENTS
from tools.loadtest import contract
from tools.loadtest.contract import JOBS, WORKSPACES, confirmed_dry_run, dispatch_body, job_id
from tools.loadtest.model import (
    ARTIFACTS,
    CANCEL,
    DELETE_WORKSPACE,
    DISPATCH,
    HEALTH,
    LIST_WORKSPACES,
    STATUS,
)
from tools.loadtest.plan import Plan

# Marks the harness's own clean-up requests, which are not part of the measured load.
CLEANUP: dict[str, Any] = {"cleanup": True}


@dataclass
class RunState:
    """What the users share with the driver."""

    run_id: str
    # Dispatches the control plane did not confirm as dry runs, by job id ("" if none given).
    unconfirmed: list[str] = field(default_factory=list)
    numbers: Iterator[int] = field(default_factory=itertools.count)
    # Set by the driver to end the run: each user stops at its next pause, never mid-request,
    # so that every dispatch it sent has its answer read (and, if not a dry run, cancelled).
    stopping: threading.Event = field(default_factory=threading.Event)


class OutpostUser(FastHttpUser):
    """Configured per run by ``user_class``; never started by Locust's own command line."""

    abstract = True
    plan: ClassVar[Plan]
    state: ClassVar[RunState]
    # One header set per API key (``cli._headers``).
    credentials: ClassVar[tuple[dict[str, str], ...]]
    wait_time = constant(0)
    # Verify the API's certificate (Locust's FastHttpUser does not by default).
    insecure = False
    max_retries = 0

    def on_start(self) -> None:
        self.number = next(self.state.numbers)
        # Users share the keys round-robin, so that no key passes the WAF's per-credential limit.
        self.headers = self.credentials[self.number % len(self.credentials)]
        self.cycle = 0
        self.job: str | None = None
        self.workspace = f"loadtest-{self.state.run_id}-u{self.number}"
        self.workspace_used = False

    def _pause(self, seconds: float) -> None:
        """Sleep (gevent's, so the other users run), or stop the user when the run ends."""
        if self.state.stopping.wait(max(seconds, 0)):
            raise StopUser

    def _turn(self, every: int) -> bool:
        """Deterministic 1-in-``every`` choice, staggered across users."""
        return (self.cycle + self.number) % every == 0

    @task
    def lifecycle(self) -> None:
        plan = self.plan
        self._pause(0)
        session_start = self._turn(plan.dispatches_per_session)
        if session_start:
            self.client.get(contract.HEALTH, headers=self.headers, name=HEALTH)
            self.client.get(WORKSPACES, headers=self.headers, name=LIST_WORKSPACES)
            session = (self.cycle + self.number) // plan.dispatches_per_session
            if session % plan.delete_every_sessions == 0 and self.workspace_used:
                self.client.delete(
                    f"{WORKSPACES}/{self.workspace}", headers=self.headers, name=DELETE_WORKSPACE
                )
                self.workspace_used = False
        cancel = self._turn(plan.cancel_every)
        hold = plan.dispatch_seconds / 2 if cancel else plan.dispatch_seconds
        self.cycle += 1
        if not self._dispatch(plan.dispatch_seconds):
            self._pause(plan.poll_seconds)  # no hot loop while dispatches fail
            return
        deadline = time.monotonic() + hold
        while time.monotonic() < deadline:
            self._pause(min(plan.poll_seconds, deadline - time.monotonic()))
            self.client.get(f"{JOBS}/{self.job}", headers=self.headers, name=STATUS)
        if cancel:
            self.client.post(f"{JOBS}/{self.job}/cancel", headers=self.headers, name=CANCEL)
        self.client.get(f"{contract.ARTIFACTS}/{self.job}", headers=self.headers, name=ARTIFACTS)
        self.job = None

    def _dispatch(self, hold: float) -> bool:
        agent = AGENTS[(self.cycle + self.number) % len(AGENTS)]
        body = dispatch_body(agent=agent, workspace=self.workspace, hold_seconds=hold)
        response = self.client.post(JOBS, json=body, headers=self.headers, name=DISPATCH)
        if not 200 <= response.status_code < 300:
            return False
        self.workspace_used = True
        payload = _json(response.json)
        self.job = job_id(payload)
        if not confirmed_dry_run(payload):
            self.state.unconfirmed.append(self.job or "")
            if self.job:
                self.client.post(
                    f"{JOBS}/{self.job}/cancel", headers=self.headers, name=CANCEL, context=CLEANUP
                )
            self.job = None
            return False
        return self.job is not None

    def on_stop(self) -> None:
        """Leave nothing behind: cancel the dispatch in flight, delete the workspace."""
        if self.job:
            self.client.post(f"{JOBS}/{self.job}/cancel", headers=self.headers, name=CANCEL, context=CLEANUP)
            self.job = None
        if self.workspace_used:
            self.client.delete(
                f"{WORKSPACES}/{self.workspace}", headers=self.headers, name=DELETE_WORKSPACE, context=CLEANUP
            )
            self.workspace_used = False


def _json(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except ValueError:
        return None


def user_class(
    plan: Plan, state: RunState, *, host: str, headers: tuple[dict[str, str], ...]
) -> type[OutpostUser]:
    """A user class bound to one run's plan, state, target and credentials."""

    class Run(OutpostUser):
        abstract = False

    Run.plan = plan
    Run.state = state
    Run.host = host
    Run.credentials = headers
    Run.network_timeout = plan.timeout_seconds
    Run.connection_timeout = plan.timeout_seconds
    return Run
