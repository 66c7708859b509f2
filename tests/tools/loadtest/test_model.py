"""The load model's arithmetic, and the plans drawn from it."""

from __future__ import annotations

import math

import pytest

from tools.loadtest.model import DISPATCH, OPERATIONS, STATUS, LoadModel
from tools.loadtest.plan import (
    SELF_TEST_MAX_REQUESTS,
    SELF_TEST_MAX_SECONDS,
    SELF_TEST_MAX_USERS,
    environment_plan,
    generators_needed,
    self_test_plan,
)

MODEL = LoadModel()


def test_daily_users_become_dispatches_a_day_and_a_peak_rate() -> None:
    assert MODEL.dispatches_per_day == 1_000 * 2 * 2
    assert MODEL.peak_dispatches_per_second == pytest.approx(4_000 * 4 / 86_400)


def test_littles_law_gives_at_least_the_target_concurrency() -> None:
    # 0.185 dispatches/s x 570 s mean activity (600 s, a tenth cancelled at 300 s) = 105.6.
    assert MODEL.mean_active_seconds == 570
    assert MODEL.concurrent_dispatches == 106
    assert MODEL.concurrent_dispatches >= MODEL.target_concurrent_dispatches
    # A quieter day still tests the target: the model never asks for fewer than 100.
    assert LoadModel(daily_users=100).concurrent_dispatches == 100


def test_the_mix_covers_the_seven_operations_and_status_polls_dominate() -> None:
    per_dispatch = MODEL.per_dispatch()
    assert tuple(per_dispatch) == OPERATIONS
    # 40 polls of a full dispatch, 20 of a cancelled one: 38 on average.
    assert per_dispatch[STATUS] == pytest.approx(38)
    rates = MODEL.peak_rates()
    assert rates[DISPATCH] == pytest.approx(106 / 570)
    assert rates[STATUS] == pytest.approx(106 / 15)
    assert MODEL.peak_requests_per_second == pytest.approx(7.69, abs=0.01)
    assert MODEL.peak_requests_per_window == pytest.approx(2_307, abs=1)


def test_the_description_states_every_figure() -> None:
    text = MODEL.describe()
    for figure in ("1,000 daily users", "4,000 dispatches a day", "Peak-to-average 4", "106 concurrent"):
        assert figure in text
    assert "7.69 requests/s, 2,307 per 5 minutes" in text


def test_a_machine_stays_under_the_wafs_per_address_limit() -> None:
    assert generators_needed(MODEL, 2_000) == 2
    assert generators_needed(MODEL, 1_000) == 3
    assert generators_needed(MODEL, 100_000) == 1


def test_an_environment_plan_ramps_over_one_dispatch_lifetime_then_holds() -> None:
    plan = environment_plan(MODEL, generators=2, sustain_seconds=600)
    assert plan.users == 53
    assert plan.spawn_rate == pytest.approx(MODEL.dispatch_rate / 2)
    assert plan.run_seconds == pytest.approx(53 / plan.spawn_rate + 600)
    assert (plan.dispatch_seconds, plan.poll_seconds) == (600, 15)
    # The cap is twice the model's pace for this machine's share: never reached by a sane run.
    assert plan.max_requests == math.ceil(2 * MODEL.peak_requests_per_second / 2 * plan.run_seconds)


def test_the_self_test_plan_is_the_same_scenario_faster_and_capped() -> None:
    plan = self_test_plan(MODEL)
    assert (plan.dispatch_seconds, plan.poll_seconds) == (1, 0.025)
    assert (plan.cancel_every, plan.dispatches_per_session) == (
        MODEL.cancel_every,
        MODEL.dispatches_per_session,
    )
    capped = self_test_plan(MODEL, users=10_000, run_seconds=3_600, max_requests=10**9)
    assert capped.users == SELF_TEST_MAX_USERS
    assert capped.run_seconds == SELF_TEST_MAX_SECONDS
    assert capped.max_requests == SELF_TEST_MAX_REQUESTS
    assert capped.timeout_seconds <= 5
