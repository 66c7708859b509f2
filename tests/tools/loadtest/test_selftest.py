"""The offline self-test: the real scenario against the local stand-in, fast and with faults.

It proves that the harness measures and enforces the thresholds, not that AWS is fast.
Every run targets 127.0.0.1, lasts RUN_SECONDS and sends at most its request cap. That
the self-test refuses any other address is tested in test_cli.py, in-process, with the run
itself replaced: a broken guard fails that test without sending anything anywhere.
"""

from __future__ import annotations

from tests.tools.loadtest.conftest import harness, stand_in
from tools.loadtest.model import OPERATIONS
from tools.loadtest.results import FAILED, INVALID, PASSED

# Long enough for every user to reach its second dispatch (each lasts 1 s), so that every
# operation occurs; the fault-injection runs need only enough requests for their figure.
RUN_SECONDS = "2"
FAULT_RUN_SECONDS = "1"
MAX_REQUESTS = 2_500
USERS = 8  # self_test_plan's default


def self_test(url: str, *, seconds: str = RUN_SECONDS, max_requests: int = MAX_REQUESTS) -> list[str]:
    return ["--self-test", "--url", url, "--run-seconds", seconds, "--max-requests", str(max_requests)]


def test_a_fast_control_plane_passes_with_every_operation_measured() -> None:
    with stand_in() as server:
        run = harness(*self_test(server.url))
    assert run.returncode == PASSED, run.stdout + run.stderr
    assert "result: PASS" in run.stdout
    for operation in OPERATIONS:
        requests, p50, p95, p99, server_errors, client_errors = run.row(operation)[1:]
        assert int(requests) > 0, operation
        assert float(p50) <= float(p95) <= float(p99), operation
        assert (server_errors, client_errors) == ("0", "0"), operation
    measured = int(run.row("all")[1])
    assert 100 < measured <= MAX_REQUESTS
    assert "control plane metrics: skipped (self-test" in run.stdout
    # The stand-in saw the measured requests, the clean-up, the dry-run probe (2) and at most
    # one request per user cut off when the run stopped (served, never measured): nothing else.
    cleanup = int(run.stdout.split("clean-up ")[1].split()[0])
    accounted = measured + cleanup + 2
    assert accounted <= server.numbers["requests"] <= accounted + USERS


def test_injected_latency_fails_on_p95_alone() -> None:
    # Every 4th answer takes 600 ms: a quarter of requests, so p95 lands on them (> 500 ms).
    with stand_in("--slow-every", "4", "--slow-ms", "600") as server:
        run = harness(*self_test(server.url, seconds=FAULT_RUN_SECONDS))
    assert run.returncode == FAILED, run.stdout + run.stderr
    verdict = run.stdout.splitlines()[-1]
    assert verdict.startswith("result: FAIL: ")
    assert "p95 of all" in verdict
    assert "5xx" not in verdict
    assert float(run.row("all")[3]) >= 600


def test_injected_errors_fail_on_the_5xx_rate_alone() -> None:
    # Every 25th answer is a 503: 4 %, above dev's 25 per 5 minutes over 2,307 requests (1.08 %).
    with stand_in("--fail-every", "25") as server:
        run = harness(*self_test(server.url, seconds=FAULT_RUN_SECONDS))
    assert run.returncode == FAILED, run.stdout + run.stderr
    verdict = run.stdout.splitlines()[-1]
    assert verdict.startswith("result: FAIL: 5xx or no answer ")
    assert "p95" not in verdict
    assert int(run.row("all")[5]) > 0


def test_the_run_stops_at_its_request_cap() -> None:
    with stand_in() as server:
        run = harness(*self_test(server.url, max_requests=150))
    assert run.returncode == PASSED, run.stdout + run.stderr
    assert "stopped: reached the cap of 150 requests" in run.stdout
    # The driver checks every 50 ms; at most a handful more complete before the users stop.
    assert 150 <= int(run.row("all")[1]) < 200
    assert server.numbers["requests"] < 200 + 3 * USERS + 2


def test_a_control_plane_that_ignores_the_dry_run_gets_one_dispatch_cancelled_and_no_load() -> None:
    with stand_in("--confirm-dry-runs", "0") as server:
        run = harness(*self_test(server.url))
    assert run.returncode == INVALID, run.stdout + run.stderr
    assert "did not confirm the dry run" in run.stdout
    assert "no load sent" in run.stdout
    assert server.numbers == {
        "requests": 2,
        "dispatches": 1,
        "cancels": 1,
        "unconfirmed": 1,
        "uncancelled": 0,
    }


def test_a_dispatch_not_confirmed_mid_run_is_cancelled_and_stops_the_run() -> None:
    # The probe and the first dispatches are confirmed; then the stand-in stops confirming,
    # as a control plane rolled back to a build without the contract would.
    with stand_in("--confirm-dry-runs", "6") as server:
        run = harness(*self_test(server.url))
    assert run.returncode == INVALID, run.stdout + run.stderr
    assert "dispatches not confirmed as dry runs (cap --max-real-dispatches 0)" in run.stdout
    unconfirmed = server.numbers["unconfirmed"]
    assert unconfirmed >= 1
    assert f"result: INVALID: {unconfirmed} dispatches were not confirmed as dry runs" in run.stdout
    # Every one of them was cancelled; none was left to run (and spend).
    assert server.numbers["uncancelled"] == 0
