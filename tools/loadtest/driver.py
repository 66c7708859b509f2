"""Runs one plan with Locust as a library and returns what it recorded.

The run stops by itself at the first of: its duration, its request cap, or more dispatches
not confirmed as dry runs than ``max_real_dispatches``. Imports Locust (see scenario.py).
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from locust.env import Environment

from tools.loadtest.contract import JOBS, confirmed_dry_run, dispatch_body, job_id
from tools.loadtest.plan import Plan
from tools.loadtest.results import Sample
from tools.loadtest.scenario import RunState, user_class

# How often the driver checks its stop conditions, seconds.
TICK_SECONDS = 0.05


@dataclass
class Recording:
    samples: list[Sample] = field(default_factory=list)
    # The harness's own clean-up requests (cancel, delete workspace) at the end.
    cleanup: list[Sample] = field(default_factory=list)
    # Job ids of dispatches the control plane did not confirm as dry runs ("" without an id).
    unconfirmed: list[str] = field(default_factory=list)
    # Why no load was sent (the dry-run probe failed), or None.
    refused: str | None = None
    stopped_because: str = ""
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended: datetime = field(default_factory=lambda: datetime.now(UTC))
    generator_cpu_warning: bool = False


def _call(url: str, headers: dict[str, str], *, method: str, body: Any, timeout: float) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={**headers})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=ssl.create_default_context()) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, None


def probe(url: str, headers: dict[str, str], *, timeout: float, run_id: str) -> str | None:
    """One dry-run dispatch before any load, cancelled at once; the reason to stop, or None."""
    body = dispatch_body(agent="claude", workspace=f"loadtest-{run_id}-probe", hold_seconds=1)
    try:
        status, payload = _call(f"{url}{JOBS}", headers, method="POST", body=body, timeout=timeout)
    except OSError as err:
        return f"dispatch probe: no answer from {url}: {err}"
    job = job_id(payload)
    if job:
        _call(f"{url}{JOBS}/{job}/cancel", headers, method="POST", body=None, timeout=timeout)
    if not 200 <= status < 300:
        return f"dispatch probe: the API answered {status}; no load sent"
    if not confirmed_dry_run(payload):
        cancelled = f"cancelled job {job}" if job else "no job id to cancel"
        return (
            "dispatch probe: the control plane did not confirm the dry run "
            f'("dryRun": true, docs/loadtest.md): {cancelled}; no load sent'
        )
    return None


def run(
    plan: Plan,
    *,
    url: str,
    headers: tuple[dict[str, str], ...],
    max_real_dispatches: int,
    progress: Callable[[str], None] | None = None,
    progress_every: float = 60.0,
) -> Recording:
    run_id = uuid.uuid4().hex[:8]
    recording = Recording()
    reason = probe(url, headers[0], timeout=plan.timeout_seconds, run_id=run_id)
    if reason:
        recording.refused = reason
        return recording

    state = RunState(run_id=run_id)
    environment = Environment(user_classes=[user_class(plan, state, host=url, headers=headers)], host=url)

    def on_request(
        name: str, response_time: float, response: Any = None, context: Any = None, **_: Any
    ) -> None:
        sample = Sample(
            operation=name, status=int(getattr(response, "status_code", 0) or 0), milliseconds=response_time
        )
        (recording.cleanup if (context or {}).get("cleanup") else recording.samples).append(sample)

    def on_cpu_warning(**_: Any) -> None:
        recording.generator_cpu_warning = True

    # Locust's event hooks are not annotated.
    environment.events.request.add_listener(on_request)  # type: ignore[no-untyped-call]
    environment.events.cpu_warning.add_listener(on_cpu_warning)  # type: ignore[no-untyped-call]
    runner = environment.create_local_runner()
    recording.started = datetime.now(UTC)
    start = time.monotonic()
    next_progress = start + progress_every
    runner.start(plan.users, spawn_rate=plan.spawn_rate)
    while True:
        time.sleep(TICK_SECONDS)  # gevent's, once Locust has patched the standard library
        now = time.monotonic()
        if now - start >= plan.run_seconds:
            recording.stopped_because = f"ran {plan.run_seconds:g} s"
        elif len(recording.samples) >= plan.max_requests:
            recording.stopped_because = f"reached the cap of {plan.max_requests} requests"
        elif len(state.unconfirmed) > max_real_dispatches:
            recording.stopped_because = (
                f"{len(state.unconfirmed)} dispatches not confirmed as dry runs "
                f"(cap --max-real-dispatches {max_real_dispatches})"
            )
        if recording.stopped_because:
            break
        if progress and now >= next_progress:
            next_progress += progress_every
            errors = sum(s.server_error for s in recording.samples)
            sent = len(recording.samples)
            progress(f"{now - start:.0f} s: {runner.user_count} users, {sent} requests, {errors} 5xx")
    # Let every user finish the request it is in (it stops at its next pause and cleans up),
    # then stop whatever is left once an answer could no longer come.
    state.stopping.set()
    deadline = time.monotonic() + plan.timeout_seconds + 1
    while runner.user_count and time.monotonic() < deadline:
        time.sleep(TICK_SECONDS)
    runner.quit()
    recording.ended = datetime.now(UTC)
    recording.unconfirmed.extend(state.unconfirmed)
    return recording
