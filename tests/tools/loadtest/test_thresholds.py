"""Thresholds come from the settings the alarms use, and follow them when they change."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from config import load_environments
from tools.loadtest.cli import CDK_JSON
from tools.loadtest.model import LoadModel
from tools.loadtest.thresholds import thresholds_for

CONTEXT: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]


@pytest.mark.parametrize(("name", "per_5_minutes"), [("dev", 25), ("prod", 10)])
def test_the_5xx_count_becomes_a_fraction_of_the_peak_traffic(name: str, per_5_minutes: int) -> None:
    (env,) = load_environments(CONTEXT.get, only=name)
    model = LoadModel()
    thresholds = thresholds_for(env, model)
    assert env.monitoring.http_5xx_per_5_minutes == per_5_minutes
    assert thresholds.server_error_fraction == pytest.approx(per_5_minutes / model.peak_requests_per_window)
    assert thresholds.p95_ms == env.monitoring.response_time_p95_ms == 500
    assert f"http_5xx_per_5_minutes = {per_5_minutes} in 5 minutes" in thresholds.explanation


def test_changed_settings_change_the_thresholds() -> None:
    (env,) = load_environments(CONTEXT.get, only="prod")
    looser = replace(
        env, monitoring=replace(env.monitoring, response_time_p95_ms=800, http_5xx_per_5_minutes=40)
    )
    thresholds = thresholds_for(looser, LoadModel())
    assert thresholds.p95_ms == 800
    assert thresholds.server_error_fraction == pytest.approx(
        4 * thresholds_for(env, LoadModel()).server_error_fraction
    )


def test_more_traffic_means_a_smaller_fraction_for_the_same_alarm() -> None:
    (env,) = load_environments(CONTEXT.get, only="prod")
    ten_times = thresholds_for(env, LoadModel(daily_users=10_000))
    assert ten_times.server_error_fraction == pytest.approx(
        thresholds_for(env, LoadModel()).server_error_fraction / 10, rel=0.01
    )
