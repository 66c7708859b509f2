"""The control plane's task count and CPU during a run, read from CloudWatch afterwards.

``AWS/ECS`` ``CPUUtilization`` (the service's average over its tasks, what the CPU scaling
policy tracks) and ``ECS/ContainerInsights`` ``RunningTaskCount`` (the cluster has
Container Insights on), one point a minute, for cluster ``outpost-<env>`` and the service
named by the Service stack's ``ControlPlaneServiceName`` output. CPU's Average statistic is
the service-wide figure, its Maximum the busiest single task:
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service_utilization.html
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from config import ControlPlaneConfig

PERIOD_SECONDS = 60


def _query(query_id: str, namespace: str, metric: str, stat: str, dimensions: list[dict[str, str]]) -> Any:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dimensions},
            "Period": PERIOD_SECONDS,
            "Stat": stat,
        },
        "ReturnData": True,
    }


def queries(*, cluster: str, service: str) -> list[Any]:
    dimensions = [{"Name": "ClusterName", "Value": cluster}, {"Name": "ServiceName", "Value": service}]
    return [
        _query("cpu", "AWS/ECS", "CPUUtilization", "Average", dimensions),
        _query("cpumax", "AWS/ECS", "CPUUtilization", "Maximum", dimensions),
        _query("tasks", "ECS/ContainerInsights", "RunningTaskCount", "Average", dimensions),
    ]


def read(
    cloudwatch: Any, *, cluster: str, service: str, start: datetime, end: datetime
) -> dict[str, list[float]]:
    """Values of each query over [start, end] (``cloudwatch`` is a boto3 client)."""
    values: dict[str, list[float]] = {"cpu": [], "cpumax": [], "tasks": []}
    kwargs: dict[str, Any] = {
        "MetricDataQueries": queries(cluster=cluster, service=service),
        "StartTime": start,
        "EndTime": end,
    }
    while True:
        page = cloudwatch.get_metric_data(**kwargs)
        for result in page["MetricDataResults"]:
            values[result["Id"]].extend(float(v) for v in result["Values"])
        if "NextToken" not in page:
            return values
        kwargs["NextToken"] = page["NextToken"]


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def describe(values: dict[str, list[float]], config: ControlPlaneConfig) -> list[str]:
    """Lines for the report: tasks and CPU, and what to change when they hit the settings."""
    tasks, cpu, cpu_max = values["tasks"], values["cpu"], values["cpumax"]
    if not tasks and not cpu:
        return [
            "control plane: CloudWatch has no points for the run yet (they arrive within a few "
            "minutes): look at the outpost-<env> dashboard"
        ]
    lines = []
    if tasks:
        lines.append(
            f"control plane tasks: {min(tasks):.0f} to {max(tasks):.0f} during the run "
            f"(min_tasks {config.min_tasks}, max_tasks {config.max_tasks})"
        )
        if max(tasks) >= config.max_tasks:
            lines.append(
                "control plane reached max_tasks: raise service.control_plane.max_tasks (docs/capacity.md)"
            )
    if cpu:
        lines.append(
            f"control plane CPU: mean {_mean(cpu):.0f}%, busiest minute {max(cpu):.0f}%, "
            f"busiest task {max(cpu_max or cpu):.0f}% (scaling target {config.cpu_target_percent}%)"
        )
    return lines
