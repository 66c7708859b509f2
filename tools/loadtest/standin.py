"""A small local stand-in of the control plane, for the harness's offline self-test.

``python -m tools.loadtest.standin [--slow-every N --slow-ms MS] [--fail-every N] [--confirm-dry-runs N]``
serves the seven operations on 127.0.0.1 only (a port the system picks; the first line on
stdout says which), keeps the dry-run contract of docs/loadtest.md, and injects latency or
5xx answers into every N-th request. It stops by itself after ``--max-seconds`` or
``--max-requests``, and on SIGTERM; its last line says how many requests it served.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tools.loadtest.contract import (
    ARTIFACTS,
    DRY_RUN,
    DRY_RUN_HOLD_SECONDS,
    HEALTH,
    JOB_ID,
    JOBS,
    WORKSPACE_ID,
    WORKSPACES,
)

LOOPBACK = "127.0.0.1"
API_KEY_ENV = "OUTPOST_API_KEY"
_ID = r"/([\w-]+)"
_JOB = re.compile(JOBS + _ID)
_CANCEL = re.compile(JOBS + _ID + "/cancel")
_ARTIFACTS = re.compile(ARTIFACTS + _ID)
_WORKSPACE = re.compile(WORKSPACES + _ID)


@dataclass(frozen=True)
class Faults:
    slow_every: int = 0
    slow_ms: int = 0
    fail_every: int = 0
    fail_status: int = 503
    # Confirm only this many dry runs, then behave like a control plane that does not know
    # the contract (None: confirm them all).
    confirm_dry_runs: int | None = None


@dataclass
class State:
    api_key: str
    faults: Faults
    max_requests: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    served: int = 0
    dispatched: int = 0
    cancelled: int = 0
    jobs: dict[str, float] = field(default_factory=dict)  # job id -> end of its dry-run hold
    # Dispatches answered without the dry-run confirmation, and those not cancelled since.
    unconfirmed: int = 0
    uncancelled: set[str] = field(default_factory=set)
    workspaces: set[str] = field(default_factory=set)
    done: threading.Event = field(default_factory=threading.Event)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the load balancer
    # Headers and body go out as separate writes: without this, Nagle's algorithm holds the
    # second until the client's delayed ACK (~40 ms) and every answer looks slow.
    disable_nagle_algorithm = True
    server: StandIn

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the harness reports; a line per request would drown it."""

    def _answer(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            return None

    def _authorized(self) -> bool:
        key = self.server.state.api_key
        return self.headers.get("X-API-Key") == key or self.headers.get("Authorization") == f"Bearer {key}"

    def _handle(self, method: str) -> None:
        state = self.server.state
        body = self._body() if method == "POST" else None
        with state.lock:
            number = next(state.numbers)
            state.served = number
            if number >= state.max_requests:
                state.done.set()
        faults = state.faults
        if faults.slow_every and number % faults.slow_every == 0:
            time.sleep(faults.slow_ms / 1000)
        if faults.fail_every and number % faults.fail_every == 0:
            self._answer(faults.fail_status, {"error": "injected"})
            return
        if self.path == HEALTH:
            self._answer(200, {"status": "ok"})
            return
        if not self._authorized():
            self._answer(401, {"error": "unauthorized"})
            return
        status, payload = self._route(method, body)
        self._answer(status, payload)

    def _route(self, method: str, body: Any) -> tuple[int, Any]:
        state = self.server.state
        path = self.path
        with state.lock:
            if method == "POST" and path == JOBS:
                return self._dispatch(state, body)
            if method == "POST" and (match := _CANCEL.fullmatch(path)):
                if match[1] not in state.jobs:
                    return 404, {"error": "no such job"}
                state.jobs[match[1]] = 0.0
                state.cancelled += 1
                state.uncancelled.discard(match[1])
                return 202, {JOB_ID: match[1], "status": "CANCELLING"}
            if method == "GET" and (match := _JOB.fullmatch(path)):
                if match[1] not in state.jobs:
                    return 404, {"error": "no such job"}
                running = time.monotonic() < state.jobs[match[1]]
                return 200, {JOB_ID: match[1], "status": "RUNNING" if running else "SUCCEEDED"}
            if method == "GET" and (match := _ARTIFACTS.fullmatch(path)):
                return (200, {JOB_ID: match[1], "artifacts": []}) if match[1] in state.jobs else (404, {})
            if method == "GET" and path == WORKSPACES:
                return 200, {"workspaces": sorted(state.workspaces)}
            if method == "DELETE" and (match := _WORKSPACE.fullmatch(path)):
                if match[1] not in state.workspaces:
                    return 404, {"error": "no such workspace"}
                state.workspaces.discard(match[1])
                return 200, {"deleted": match[1]}
        return 404, {"error": "not found"}

    @staticmethod
    def _dispatch(state: State, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or not isinstance(body.get(WORKSPACE_ID), str):
            return 400, {"error": "agent, prompt and workspaceId are required"}
        job = uuid.uuid4().hex
        hold = float(body.get(DRY_RUN_HOLD_SECONDS) or 0)
        state.jobs[job] = time.monotonic() + hold
        state.workspaces.add(body[WORKSPACE_ID])
        state.dispatched += 1
        confirm = state.faults.confirm_dry_runs
        if body.get(DRY_RUN) is True and (confirm is None or state.dispatched <= confirm):
            return 201, {JOB_ID: job, "status": "RUNNING", DRY_RUN: True}
        state.unconfirmed += 1
        state.uncancelled.add(job)
        return 201, {JOB_ID: job, "status": "RUNNING"}

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")


class StandIn(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog (5) drops connections when a dozen users start at once; their
    # clients retry after a second, which would read as a 1 s response time.
    request_queue_size = 128

    def __init__(self, state: State, port: int = 0) -> None:
        super().__init__((LOOPBACK, port), Handler)
        self.state = state

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (the harness stopping its users) is no error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.loadtest.standin", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--slow-every", type=int, default=0, help="delay every N-th request")
    parser.add_argument("--slow-ms", type=int, default=0)
    parser.add_argument("--fail-every", type=int, default=0, help="answer 503 to every N-th request")
    parser.add_argument("--confirm-dry-runs", type=int, help="confirm only the first N dry runs")
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--max-requests", type=int, default=20_000)
    args = parser.parse_args(argv)
    api_key = os.environ.get(API_KEY_ENV)
    if not api_key:
        print(f"standin error: set {API_KEY_ENV} (the key the stand-in accepts)", file=sys.stderr)
        return 2
    faults = Faults(
        slow_every=args.slow_every,
        slow_ms=args.slow_ms,
        fail_every=args.fail_every,
        confirm_dry_runs=args.confirm_dry_runs,
    )
    state = State(api_key=api_key, faults=faults, max_requests=args.max_requests)
    server = StandIn(state, args.port)
    signal.signal(signal.SIGTERM, lambda *_: state.done.set())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(f"listening on http://{LOOPBACK}:{server.server_address[1]}", flush=True)
    state.done.wait(args.max_seconds)
    server.shutdown()
    server.server_close()
    print(
        f"served {state.served} requests, {state.dispatched} dispatches, {state.cancelled} cancels, "
        f"{state.unconfirmed} unconfirmed, {len(state.uncancelled)} uncancelled",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
