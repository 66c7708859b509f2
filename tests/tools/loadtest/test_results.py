"""Percentiles, error counts and the verdict, from recorded samples alone."""

from __future__ import annotations

import math

import pytest

from tools.loadtest.model import DISPATCH, HEALTH, STATUS
from tools.loadtest.results import (
    FAILED,
    INVALID,
    MIN_SAMPLES_PER_OPERATION,
    PASSED,
    Sample,
    judge,
    percentile,
    render,
    render_verdict,
    summarize,
)
from tools.loadtest.thresholds import Thresholds

LIMITS = Thresholds(p95_ms=500, server_error_fraction=0.01, explanation="test")


def samples(operation: str, times: list[float], status: int = 200) -> list[Sample]:
    return [Sample(operation, status, ms) for ms in times]


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50
    assert percentile(values, 0.95) == 95
    assert percentile(values, 0.99) == 99
    assert percentile([7.0], 0.95) == 7
    assert math.isnan(percentile([], 0.5))
    # 19 fast and one slow: the slow one is the 100th percentile, not the 95th.
    assert percentile([10.0] * 19 + [900.0], 0.95) == 10


def test_summaries_per_operation_in_the_models_order_then_all() -> None:
    rows = summarize(samples(STATUS, [1, 2, 3]) + samples(DISPATCH, [10, 20]))
    assert [r.operation for r in rows] == [DISPATCH, STATUS, "all"]
    assert (rows[0].requests, rows[0].p50_ms, rows[0].p99_ms) == (2, 10, 20)
    assert rows[-1].requests == 5


def test_a_fast_clean_run_passes() -> None:
    verdict = judge(summarize(samples(STATUS, [5.0] * 100)), LIMITS)
    assert (verdict.exit_code, render_verdict(verdict)) == (PASSED, "result: PASS")


def test_p95_above_the_setting_fails_and_equal_passes() -> None:
    at_limit = samples(STATUS, [5.0] * 95 + [500.0] * 5)
    assert judge(summarize(at_limit), LIMITS).exit_code == PASSED
    slow = samples(STATUS, [5.0] * 94 + [501.0] * 6)
    verdict = judge(summarize(slow), LIMITS)
    assert verdict.exit_code == FAILED
    assert verdict.failures == ("p95 of status 501 ms > 500 ms", "p95 of all 501 ms > 500 ms")


def test_a_slow_operation_fails_even_when_status_polls_hide_it_in_the_total() -> None:
    run = samples(STATUS, [5.0] * 1000) + samples(DISPATCH, [900.0] * MIN_SAMPLES_PER_OPERATION)
    assert judge(summarize(run), LIMITS).failures == ("p95 of dispatch 900 ms > 500 ms",)


def test_an_operation_with_few_samples_counts_only_in_the_total() -> None:
    run = samples(STATUS, [5.0] * 1000) + samples(HEALTH, [900.0] * (MIN_SAMPLES_PER_OPERATION - 1))
    assert judge(summarize(run), LIMITS).exit_code == PASSED


def test_the_5xx_fraction_fails_from_the_threshold_on() -> None:
    below = samples(STATUS, [5.0] * 991) + samples(STATUS, [5.0] * 9, status=503)
    assert judge(summarize(below), LIMITS).exit_code == PASSED
    at = samples(STATUS, [5.0] * 990) + samples(STATUS, [5.0] * 10, status=502)
    verdict = judge(summarize(at), LIMITS)
    assert verdict.failures == ("5xx or no answer 10 of 1000 = 1.000% >= 1.000%",)


def test_no_answer_counts_as_an_error_and_not_as_a_response_time() -> None:
    run = samples(STATUS, [5.0] * 90) + samples(STATUS, [30_000.0] * 10, status=0)
    (row, _total) = summarize(run)
    assert row.server_errors == 10
    assert row.p99_ms == 5
    assert judge(summarize(run), LIMITS).exit_code == FAILED


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (401, "check OUTPOST_API_KEY"),
        (403, "check OUTPOST_API_KEY"),
        (429, "--generators"),
        (404, "disagree"),
    ],
)
def test_4xx_answers_make_the_run_invalid_with_a_hint(status: int, hint: str) -> None:
    run = samples(STATUS, [5.0] * 99) + samples(STATUS, [5.0], status=status)
    verdict = judge(summarize(run), LIMITS)
    assert verdict.exit_code == INVALID
    assert render_verdict(verdict).startswith(f"result: INVALID: 1 answers {status} (")
    assert hint in render_verdict(verdict)


def test_unconfirmed_dry_runs_and_empty_runs_are_invalid() -> None:
    clean = summarize(samples(STATUS, [5.0] * 100))
    assert judge(clean, LIMITS, real_dispatches=1).invalid == (
        "1 dispatches were not confirmed as dry runs (cancelled at once)",
    )
    assert judge(summarize([]), LIMITS).invalid == ("no request was sent",)


def test_the_table_has_a_row_per_operation_with_its_percentiles_and_errors() -> None:
    run = (
        samples(DISPATCH, [12.0, 40.0]) + samples(DISPATCH, [3.0], status=503) + samples(DISPATCH, [1.0], 429)
    )
    lines = render(summarize(run)).splitlines()
    assert lines[0].split() == ["operation", "requests", "p50", "ms", "p95", "ms", "p99", "ms", "5xx", "4xx"]
    assert lines[1].split() == ["dispatch", "4", "3", "40", "40", "1", "429", "x1"]
    assert lines[2].split()[0] == "all"
