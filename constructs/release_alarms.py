"""The alarms a control-plane release is rolled back on: what users feel (5xx answers, slow answers).

ECS watches these alarms during every rolling deployment of the service and for a bake after
it, and rolls a deployment back to the last completed one when one of them fires ("How
CloudWatch alarms detect Amazon ECS deployment failures",
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html).
They are also the alarms that page on-call about the API (through the Alerts stack's topic):
one definition, so a release is judged by exactly what pages a person. The Service stack owns
them, because its service names them and the Monitoring stack deploys after it; the
Monitoring stack shows them on its dashboard.

**The bake.** For a rolling deployment ECS computes the bake "based on the alarm configuration
associated with the deployment. You can't set this value" (same page); the ECS team describes
it as the alarms' evaluation time, the longest one when there are several
(https://github.com/aws/copilot-cli/pull/4294). So ``bake_minutes`` is the window these alarms
evaluate: each fires on as many 5-minute datapoints as before (one for 5xx, two for p95) but
within the last ``bake_minutes`` rather than back to back, which makes the bake that long.
The price: an alarm returns to OK up to ``bake_minutes`` after its last bad datapoint.

**Why not ECS blue/green with ``BakeTimeInMinutes``**: it shifts the traffic of one listener
rule (``AdvancedConfiguration.ProductionListenerRule`` is one rule ARN); the front door
publishes the API through four exact-route rules. **Why not the running-below-desired alarm**:
a bad release does not lower the running count at 100 % minimum healthy, and a shortfall
mid-release is far likelier Fargate capacity. Both argued in docs/service.md ("Releases").
"""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_sns as sns

from config.monitoring import MonitoringConfig
from config.names import resource_name
from config.service import ALARM_PERIOD_MINUTES
from constructs import Construct
from constructs.alarm_topic import FIVE_MINUTES, NotifyingAlarm, target_metric


class ReleaseAlarms(Construct):
    """``alarms``: construct id -> alarm, named ``outpost-<env>-<id>``; ``guard(service)``
    makes every deployment of ``service`` roll back when one of them fires."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        topic: sns.ITopic,
        load_balancer: elbv2.ApplicationLoadBalancer,
        target_group: elbv2.ApplicationTargetGroup,
        thresholds: MonitoringConfig,
        bake_minutes: int,
    ) -> None:
        super().__init__(scope, construct_id)
        window = bake_minutes // ALARM_PERIOD_MINUTES
        p95_ms = thresholds.response_time_p95_ms
        specs = {
            "Target5xx": (
                target_metric(
                    load_balancer,
                    target_group,
                    "HTTPCode_Target_5XX_Count",
                    period=FIVE_MINUTES,
                    statistic="Sum",
                ),
                thresholds.http_5xx_per_5_minutes,
                1,
                cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                f"The control plane answered 5xx in a 5-minute period of the last {bake_minutes} minutes. "
                "During a release and its bake this rolls the release back.",
            ),
            "ResponseTimeP95": (
                target_metric(
                    load_balancer, target_group, "TargetResponseTime", period=FIVE_MINUTES, statistic="p95"
                ),
                p95_ms / 1000,
                2,
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                f"p95 API latency above {p95_ms} ms in two 5-minute periods of the last {bake_minutes} "
                "minutes. During a release and its bake this rolls the release back.",
            ),
        }
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        # Fixed names, for the runbook (aws cloudwatch describe-alarms --alarm-names ...) and for
        # the service to name them as they are, not through a reference.
        self.names = {name: resource_name(env_name, name) for name in specs}
        for name, (metric, threshold, datapoints, comparison, description) in specs.items():
            self.alarms[name] = NotifyingAlarm(
                self,
                name,
                alarm_name=self.names[name],
                topic=topic,
                metric=metric,
                threshold=threshold,
                datapoints=datapoints,
                window=window,
                comparison=comparison,
                description=description,
            )

    def guard(self, service: ecs.BaseService) -> None:
        """Roll every deployment of ``service`` back when one of the alarms fires during it or
        its bake. One call with every name: a second ``enable_deployment_alarms`` would not add
        to the first (https://github.com/aws/aws-cdk/issues/36308)."""
        service.enable_deployment_alarms(
            list(self.names.values()),
            behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM,
        )
        # The service names the alarms, which must exist before a deployment watches them
        # (on the service resource alone: its scaling needs no such order).
        (service.node.default_child or service).node.add_dependency(*self.alarms.values())
