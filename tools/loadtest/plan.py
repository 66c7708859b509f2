"""One run's shape: how many simulated users, how fast they start, how long, how many requests.

A plan for a deployed environment follows the load model at its own pace; the self-test's
plan is the same scenario with every duration divided by a time scale, fewer users and hard
caps, so it ends in seconds and can only ever reach 127.0.0.1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tools.loadtest.model import LoadModel

# Two 5-minute periods at full load: the ResponseTimeP95 alarm needs two to fire.
DEFAULT_SUSTAIN_SECONDS = 600
# At most this share of the WAF's per-IP limit per generator: polls are not evenly spaced.
WAF_HEADROOM = 0.8
# Hard caps of the self-test, whatever the flags say.
SELF_TEST_MAX_SECONDS = 30.0
SELF_TEST_MAX_REQUESTS = 5_000
SELF_TEST_MAX_USERS = 50


@dataclass(frozen=True)
class Plan:
    users: int
    # Users started per second: the model's dispatch rate, so the run enters the steady
    # state (every user holding a dispatch) after one mean dispatch lifetime.
    spawn_rate: float
    dispatch_seconds: float
    poll_seconds: float
    run_seconds: float
    max_requests: int
    # Seconds a request may take before it counts as "no answer".
    timeout_seconds: float
    cancel_every: int
    dispatches_per_session: int
    delete_every_sessions: int


def generators_needed(model: LoadModel, rate_limit_per_5_minutes: int) -> int:
    """Machines (distinct source addresses) the full load needs to stay under the WAF's limit."""
    return max(1, math.ceil(model.peak_requests_per_window / (rate_limit_per_5_minutes * WAF_HEADROOM)))


def keys_needed(model: LoadModel, credential_limit_per_5_minutes: int, *, generators: int = 1) -> int:
    """API keys one machine needs so that no key passes the WAF's per-credential limit: its
    share of the peak over keys each used to at most ``WAF_HEADROOM`` of the limit. Machines
    do not share keys (WAF counts a key across all addresses)."""
    share = model.peak_requests_per_window / generators
    return max(1, math.ceil(share / (credential_limit_per_5_minutes * WAF_HEADROOM)))


def environment_plan(
    model: LoadModel, *, generators: int = 1, sustain_seconds: float = DEFAULT_SUSTAIN_SECONDS
) -> Plan:
    """This generator's share of the modeled peak: ramp for one dispatch lifetime, then hold."""
    users = math.ceil(model.concurrent_dispatches / generators)
    spawn_rate = model.dispatch_rate / generators
    run_seconds = users / spawn_rate + sustain_seconds
    return Plan(
        users=users,
        spawn_rate=spawn_rate,
        dispatch_seconds=model.dispatch_seconds,
        poll_seconds=model.status_poll_seconds,
        run_seconds=run_seconds,
        # Twice the pace of the model: reached only if the harness misbehaves.
        max_requests=math.ceil(2 * model.peak_requests_per_second / generators * run_seconds),
        timeout_seconds=30.0,
        cancel_every=model.cancel_every,
        dispatches_per_session=model.dispatches_per_session,
        delete_every_sessions=model.delete_every_sessions,
    )


def self_test_plan(
    model: LoadModel,
    *,
    time_scale: float = 600.0,
    users: int = 8,
    run_seconds: float = 2.5,
    max_requests: int = 2_500,
) -> Plan:
    """The model's scenario, ``time_scale`` times faster, capped for a local stand-in.

    At the defaults a dispatch lasts 1 s and is polled every 25 ms, so each of the 8 users
    goes through two to three dispatches, enough for every operation to occur (a workspace
    is deleted only once a user has used it); about 300 requests per second.
    """
    users = min(users, SELF_TEST_MAX_USERS)
    dispatch_seconds = model.dispatch_seconds / time_scale
    return Plan(
        users=users,
        # Start everyone within the first tenth of the run.
        spawn_rate=users / max(0.1 * run_seconds, 0.01),
        dispatch_seconds=dispatch_seconds,
        poll_seconds=model.status_poll_seconds / time_scale,
        run_seconds=min(run_seconds, SELF_TEST_MAX_SECONDS),
        max_requests=min(max_requests, SELF_TEST_MAX_REQUESTS),
        timeout_seconds=5.0,
        cancel_every=model.cancel_every,
        dispatches_per_session=model.dispatches_per_session,
        delete_every_sessions=model.delete_every_sessions,
    )
