"""Alerts stack: the encrypted topic every alarm notifies, and who is subscribed to it."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput

from config import EnvironmentConfig
from constructs import Construct
from constructs.alarm_topic import AlarmTopic
from stacks.base import OutpostStack


class AlertsStack(OutpostStack):
    """Deployed before every stack that alarms: the Service stack's release alarms (which its
    deployments watch) and the Monitoring stack's operations alarms both notify ``topic``. The
    topic lives apart from both so that neither depends on the other for it: the Monitoring
    stack reads the Service stack's outputs, and the Service stack cannot wait for it."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description="The encrypted SNS topic every alarm notifies, and its subscription",
            **kwargs,
        )
        self.alarm_topic = AlarmTopic(
            self, "Alarms", env_name=config.name, alarm_email=config.monitoring.alarm_email
        )
        self.topic = self.alarm_topic.topic
        CfnOutput(
            self,
            "AlarmTopicArn",
            value=self.topic.topic_arn,
            description="Subscribe on-call here: aws sns subscribe --topic-arn <arn> --protocol email ...",
        )
