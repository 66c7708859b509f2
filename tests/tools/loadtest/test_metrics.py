"""The control plane's task count and CPU during a run, read from CloudWatch (stubbed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from config import load_environments
from tests.tools.loadtest.aws import stubbed
from tools.loadtest import metrics
from tools.loadtest.cli import CDK_JSON

CONTEXT: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
END = datetime(2026, 1, 1, 12, 20, tzinfo=UTC)


def result(query_id: str, values: list[float]) -> dict[str, Any]:
    return {"Id": query_id, "Label": query_id, "Values": values, "StatusCode": "Complete"}


def test_the_queries_ask_for_the_service_cpu_and_running_tasks_per_minute() -> None:
    client, stubber = stubbed("cloudwatch")
    expected: dict[str, Any] = {
        "MetricDataQueries": metrics.queries(cluster="outpost-prod", service="svc"),
        "StartTime": START,
        "EndTime": END,
    }
    stubber.add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                result("cpu", [20.0, 40.0]),
                result("cpumax", [55.0]),
                result("tasks", [2.0]),
            ],
            "NextToken": "page2",  # a second page follows
        },
        expected,
    )
    stubber.add_response(
        "get_metric_data",
        {"MetricDataResults": [result("tasks", [3.0, 4.0])]},
        {**expected, "NextToken": "page2"},
    )
    with stubber:
        values = metrics.read(client, cluster="outpost-prod", service="svc", start=START, end=END)
    stubber.assert_no_pending_responses()
    assert values == {"cpu": [20.0, 40.0], "cpumax": [55.0], "tasks": [2.0, 3.0, 4.0]}
    namespaces = {q["MetricStat"]["Metric"]["Namespace"] for q in expected["MetricDataQueries"]}
    assert namespaces == {"AWS/ECS", "ECS/ContainerInsights"}


def test_the_report_names_the_settings_the_figures_meet() -> None:
    (env,) = load_environments(CONTEXT.get, only="prod")
    config = env.service.control_plane
    lines = metrics.describe({"cpu": [20.0, 40.0], "cpumax": [72.0], "tasks": [2.0, 10.0]}, config)
    assert lines == [
        "control plane tasks: 2 to 10 during the run (min_tasks 2, max_tasks 10)",
        "control plane reached max_tasks: raise service.control_plane.max_tasks (docs/capacity.md)",
        "control plane CPU: mean 30%, busiest minute 40%, busiest task 72% (scaling target 60%)",
    ]


def test_no_points_yet_is_said_plainly() -> None:
    (env,) = load_environments(CONTEXT.get, only="dev")
    (line,) = metrics.describe({"cpu": [], "cpumax": [], "tasks": []}, env.service.control_plane)
    assert "no points for the run yet" in line
