"""Monitoring stack: alarms on everything the platform depends on, and who they reach."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput

from config import EnvironmentConfig
from constructs import Construct
from constructs.operations_alarms import OperationsAlarms, Watched
from stacks.base import OutpostStack


class MonitoringStack(OutpostStack):
    """Deployed last: it reads metrics of the Network, Data and Service stacks."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        watched: Watched,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description="Alarms, their encrypted SNS topic and the operations dashboard",
            **kwargs,
        )
        self.alarms = OperationsAlarms(
            self, "Operations", env_name=config.name, config=config.monitoring, watched=watched
        )
        CfnOutput(
            self,
            "AlarmTopicArn",
            value=self.alarms.topic.topic_arn,
            description="Subscribe on-call here: aws sns subscribe --topic-arn <arn> --protocol email ...",
        )
        CfnOutput(self, "DashboardName", value=self.alarms.dashboard.dashboard_name)
