"""Monitoring stack: alarms on everything the platform depends on, and the dashboard of every alarm."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput
from aws_cdk import aws_sns as sns

from config import EnvironmentConfig
from constructs import Construct
from constructs.operations_alarms import OperationsAlarms, Watched
from stacks.base import OutpostStack


class MonitoringStack(OutpostStack):
    """Deployed last: it reads metrics of the Network, Data and Service stacks (``watched``,
    what each of them offers), notifies the Alerts stack's topic, and shows the Service stack's
    release alarms beside its own on the dashboard."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        topic: sns.ITopic,
        watched: Watched,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description="Operations alarms and the dashboard of every alarm",
            config=config,
            **kwargs,
        )
        self.alarms = OperationsAlarms(
            self,
            "Operations",
            env_name=config.name,
            config=config.monitoring,
            topic=topic,
            watched=watched,
            account_alarms=config.owns_account_alarms,
        )
        CfnOutput(self, "DashboardName", value=self.alarms.dashboard.dashboard_name)
