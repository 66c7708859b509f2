"""What CloudWatch checks of an alarm it creates, and what a service's deployments need of theirs.

The emulator does not model CloudWatch alarms at all (it skips them), so these checks are the
rehearsal's only view of the alarms, the release alarms included:

- ``PutMetricAlarm`` (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html):
  "Period multiplied by EvaluationPeriods can't be more than 604,800 seconds. For alarms with a
  period of less than one hour (3,600 seconds), the total evaluation period can't be longer
  than one day (86,400 seconds)"; ``DatapointsToAlarm`` is the M of an "M out of N" alarm, N
  being ``EvaluationPeriods``; an alarm name has 1 to 255 characters.
- ECS deployment alarms (``DeploymentAlarms.alarmNames``, "One or more CloudWatch alarm names",
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentAlarms.html): ECS
  watches alarms by name. A name that no alarm of the account and Region has, created in the
  service's stack or one deployed before it, would leave every release of the service
  unwatched, so the rehearsal fails the service.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

CLOUDWATCH_PAGE = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html"
ECS_ALARMS_PAGE = "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentAlarms.html"
MAX_WINDOW_SECONDS = 604_800
MAX_SHORT_PERIOD_WINDOW_SECONDS = 86_400  # periods under an hour
HOUR = 3_600
MAX_NAME = 255


def _period(props: Mapping[str, Any]) -> int:
    """The alarm's period: its own, or (metric math) the longest of its metrics'."""
    if "Period" in props:
        return int(props["Period"])
    periods = [
        int(query.get("MetricStat", {}).get("Period") or query.get("Period") or 0)
        for query in props.get("Metrics", [])
    ]
    return max(periods, default=0)


def alarm_problems(props: Mapping[str, Any], name: str) -> list[str]:
    """Why CloudWatch would refuse an alarm of (resolved) ``props`` named ``name``."""
    problems = []
    period, periods = _period(props), int(props.get("EvaluationPeriods", 0))
    window = period * periods
    limit = MAX_SHORT_PERIOD_WINDOW_SECONDS if period < HOUR else MAX_WINDOW_SECONDS
    if window > limit:
        problems.append(
            f"evaluates {periods} periods of {period} s = {window:,} s, over CloudWatch's {limit:,} s "
            f"for {'periods under an hour' if period < HOUR else 'any alarm'}"
        )
    datapoints = int(props.get("DatapointsToAlarm", periods))
    if not 1 <= datapoints <= periods:
        problems.append(f"DatapointsToAlarm {datapoints} is not between 1 and EvaluationPeriods {periods}")
    if not 1 <= len(name) <= MAX_NAME:
        problems.append(f"alarm name of {len(name)} characters (1 to {MAX_NAME})")
    return problems


def unknown_deployment_alarms(deployment_alarms: Mapping[str, Any], known: Set[str]) -> list[str]:
    """Names a service's deployments watch (resolved ``DeploymentConfiguration.Alarms``) that
    are no alarm in ``known`` (created before the service, or beside it)."""
    if not deployment_alarms.get("Enable"):
        return []
    names = [str(name) for name in deployment_alarms.get("AlarmNames", [])]
    if not names:
        return ["deployment alarms are enabled without an alarm name"]
    return [
        f"its deployments watch alarm {name!r}, which no alarm of this account and Region is named "
        "(created in this stack or one before it): every release would go unwatched"
        for name in names
        if name not in known
    ]
