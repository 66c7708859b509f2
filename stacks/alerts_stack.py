"""Alerts stack: the encrypted topic every alarm notifies, and who is subscribed to it."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput
from aws_cdk import aws_budgets as budgets

from config import EnvironmentConfig
from config.names import resource_name
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
        self.alarm_topic.allow_budgets()
        self.budget = _budget(self, config, self.topic.topic_arn)
        CfnOutput(
            self,
            "AlarmTopicArn",
            value=self.topic.topic_arn,
            description="Subscribe on-call here: aws sns subscribe --topic-arn <arn> --protocol email ...",
        )


def _budget(scope: Construct, config: EnvironmentConfig, topic_arn: str) -> budgets.CfnBudget:
    """The month's cost budget: ``budget.monthly_estimate_usd`` (``make cost``'s figure) times
    ``budget.limit_percent``, telling the alarm topic (and ``budget.emails``) when the forecast
    or the actual cost passes its threshold. Alone in its account, the budget counts the whole
    account; sharing it, only costs tagged ``Environment`` = its name, a tag that counts only
    once activated as a cost allocation tag (AWS Billing user guide, "Activating user-defined
    cost allocation tags": https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/activating-tags.html)."""
    settings = config.budget
    subscribers = [budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=topic_arn)] + [
        budgets.CfnBudget.SubscriberProperty(subscription_type="EMAIL", address=email)
        for email in settings.emails
    ]

    def notification(kind: str, percent: int) -> budgets.CfnBudget.NotificationWithSubscribersProperty:
        return budgets.CfnBudget.NotificationWithSubscribersProperty(
            notification=budgets.CfnBudget.NotificationProperty(
                notification_type=kind,
                comparison_operator="GREATER_THAN",
                threshold=percent,
                threshold_type="PERCENTAGE",
            ),
            subscribers=subscribers,
        )

    return budgets.CfnBudget(
        scope,
        "Budget",
        budget=budgets.CfnBudget.BudgetDataProperty(
            budget_name=resource_name(config.name),
            budget_type="COST",
            time_unit="MONTHLY",
            budget_limit=budgets.CfnBudget.SpendProperty(amount=settings.limit_usd, unit="USD"),
            cost_filters={"TagKeyValue": [f"user:Environment${config.name}"]}
            if config.shares_account
            else None,
        ),
        notifications_with_subscribers=[
            notification("FORECASTED", settings.forecast_percent),
            notification("ACTUAL", settings.actual_percent),
        ],
    )
