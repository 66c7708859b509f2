"""Where alarms go: the encrypted topic, and the one way an alarm of this project is made.

The topic is KMS-encrypted with a key CloudWatch may use, accepts only TLS, and only
CloudWatch alarms of this account may publish to it. It lives in the Alerts stack, deployed
before every stack that alarms (the Service stack's release alarms, the Monitoring stack's
operations alarms), so both can notify it without a dependency cycle.

``NotifyingAlarm`` is how every alarm here is made: it notifies the topic on ALARM and on
OK, and treats missing data as not breaching (no data means no requests, no errors, no
stopped tasks: not a failure).
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions

from compliance.acknowledgements import acknowledge
from constructs import Construct

FIVE_MINUTES = Duration.minutes(5)
# The encryption context SNS binds each data key of an encrypted topic to.
TOPIC_CONTEXT = "kms:EncryptionContext:aws:sns:topicArn"
AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD


class AlarmTopic(Construct):
    """``topic`` (with ``key``): subscribe on-call here; ``alarm_email`` is subscribed if given."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        alarm_email: str | None,
        purpose: str = "alarms",
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "TopicKey",
            description=f"Outpost {env_name}: encrypts the {purpose} topic",
            enable_key_rotation=True,
            # Nothing rests encrypted under this key: SNS holds messages only in transit.
            removal_policy=RemovalPolicy.DESTROY,
        )
        # CloudWatch encrypts the messages it publishes to the topic with this key.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name=f"Outpost {env_name} {purpose}",
            master_key=self.key,
            enforce_ssl=True,
        )
        # A topic policy replaces SNS's default one: say who may publish.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {
                        "aws:SourceArn": Stack.of(self).format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        if alarm_email is not None:
            subscription = self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
            acknowledge(
                subscription,
                "An alarm e-mail SNS could not deliver has nowhere better to go: a dead-letter queue "
                "would need an alarm that notifies this same topic. The alarm's state stays visible "
                "in CloudWatch and on the operations dashboard, and every alarm also notifies on OK.",
                "Serverless-SNSRedrivePolicy",
            )

    def allow_rule(self, rule_arn: str) -> None:
        """Let one EventBridge rule of this account publish to the topic: the topic policy (only
        that rule, ``aws:SourceArn``) and the key, which EventBridge must use to publish to an
        encrypted topic (Amazon EventBridge user guide, "Amazon SNS permissions":
        https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions)."""
        events = iam.ServicePrincipal("events.amazonaws.com")
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowTheFindingsRule",
                principals=[events],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"ArnEquals": {"aws:SourceArn": rule_arn}},
            )
        )
        # Not aws:SourceAccount or aws:SourceArn: SNS's developer guide ("Configuring AWS KMS
        # permissions", https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html) says
        # they are not supported in a key policy for EventBridge-to-encrypted topics, and a
        # statement that needs them never matches: every finding would fail to publish. The data
        # key SNS asks for carries the topic's ARN as encryption context instead (a pattern:
        # the topic's own ARN would make the key depend on the topic that depends on it).
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeForTopicsOfThisAccount",
                principals=[events],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "StringLike": {
                        TOPIC_CONTEXT: Stack.of(self).format_arn(
                            service="sns", resource="*", arn_format=ArnFormat.NO_RESOURCE_NAME
                        )
                    }
                },
            )
        )

    def allow_budgets(self) -> None:
        """Let AWS Budgets of this account notify the topic: the topic policy and its key must
        both admit ``budgets.amazonaws.com`` (AWS Cost Management user guide, "Creating an Amazon
        SNS topic for budget notifications" and its encrypted-topic section:
        https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-sns-policy.html)."""
        budgets = iam.ServicePrincipal("budgets.amazonaws.com")
        from_budgets = {
            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            "ArnLike": {"aws:SourceArn": f"arn:{Aws.PARTITION}:budgets::{Aws.ACCOUNT_ID}:*"},
        }
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowBudgetsOfThisAccount",
                principals=[budgets],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=from_budgets,
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowBudgetsOfThisAccount",
                principals=[budgets],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )


class NotifyingAlarm(cloudwatch.Alarm):
    """An alarm that fires when ``datapoints`` of the last ``window`` periods (``datapoints``
    when not given) breach, and tells ``topic`` when it fires and when it recovers."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        datapoints: int = 1,
        window: int | None = None,
        comparison: cloudwatch.ComparisonOperator = AT_LEAST,
        alarm_name: str | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            alarm_name=alarm_name,
            metric=metric,
            threshold=threshold,
            evaluation_periods=window or datapoints,
            datapoints_to_alarm=datapoints,
            comparison_operator=comparison,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        notify = actions.SnsAction(topic)
        self.add_alarm_action(notify)
        self.add_ok_action(notify)


def target_metric(
    load_balancer: elbv2.ApplicationLoadBalancer,
    target_group: elbv2.ApplicationTargetGroup,
    metric_name: str,
    *,
    period: Duration,
    statistic: str,
) -> cloudwatch.Metric:
    """A metric of a target group, with both dimensions taken from the load balancer's and the
    target group's own full names (GetAtt attributes): CDK's ``target_group.metrics`` would
    split the listener's ARN instead, and CloudFormation does not accept a cross-stack
    reference (Fn::GetStackOutput) inside Fn::Split."""
    return cloudwatch.Metric(
        namespace="AWS/ApplicationELB",
        metric_name=metric_name,
        dimensions_map={
            "LoadBalancer": load_balancer.load_balancer_full_name,
            "TargetGroup": target_group.target_group_full_name,
        },
        period=period,
        statistic=statistic,
    )
