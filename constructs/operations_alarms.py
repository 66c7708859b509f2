"""The alarms that tell a person the platform is failing, the topic that tells them, a dashboard.

Every alarm watches a metric that the watched resource really emits (the dimensions come
from the resources themselves, not from typed-in names) and notifies the topic on ALARM
and on OK. The topic is KMS-encrypted with a key CloudWatch may use, accepts only TLS,
and only CloudWatch alarms of this account may publish to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs

from config.monitoring import MonitoringConfig
from constructs import Construct
from constructs.nag import acknowledge

FIVE_MINUTES = Duration.minutes(5)
ONE_MINUTE = Duration.minutes(1)
AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD


@dataclass(frozen=True)
class Watched:
    """What the alarms watch, as the stacks that own it expose it."""

    load_balancer: elbv2.ApplicationLoadBalancer
    target_group: elbv2.ApplicationTargetGroup
    service: ecs.FargateService
    callback: lambda_.IFunction
    callback_rule: events.IRule
    dead_letter_queue: sqs.IQueue
    nat_gateway_ids: Sequence[str]
    sweeper: lambda_.IFunction
    sweeper_rule: events.IRule


class OperationsAlarms(Construct):
    """``topic``: where alarms go; ``alarms``: name -> alarm; ``dashboard``: one page of them."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        config: MonitoringConfig,
        watched: Watched,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = self._topic(env_name, config.alarm_email)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._add_all(config, watched)
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"outpost-{env_name}",
            default_interval=Duration.hours(6),
            widgets=[
                [cloudwatch.AlarmWidget(title=name, alarm=alarm, width=8, height=6)]
                for name, alarm in self.alarms.items()
            ],
        )

    def _topic(self, env_name: str, email: str | None) -> sns.Topic:
        key = kms.Key(
            self,
            "TopicKey",
            description=f"Outpost {env_name}: encrypts the alarm topic",
            enable_key_rotation=True,
            # Nothing rests encrypted under this key: SNS holds messages only in transit.
            removal_policy=RemovalPolicy.DESTROY,
        )
        # CloudWatch encrypts the messages it publishes to the topic with this key.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        topic = sns.Topic(
            self,
            "Topic",
            display_name=f"Outpost {env_name} alarms",
            master_key=key,
            enforce_ssl=True,
        )
        # A topic policy replaces SNS's default one: say who may publish.
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
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
        if email is not None:
            subscription = topic.add_subscription(subscriptions.EmailSubscription(email))
            acknowledge(
                subscription,
                "An alarm e-mail SNS could not deliver has nowhere better to go: a dead-letter queue "
                "would need an alarm that notifies this same topic. The alarm's state stays visible "
                "in CloudWatch and on the operations dashboard, and every alarm also notifies on OK.",
                "Serverless-SNSRedrivePolicy",
            )
        return topic

    def _alarm(
        self,
        name: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        periods: int = 1,
        comparison: cloudwatch.ComparisonOperator = AT_LEAST,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            name,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            comparison_operator=comparison,
            # No data means no requests, no errors, no stopped tasks: not a failure.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))
        self.alarms[name] = alarm

    def _add_all(self, config: MonitoringConfig, watched: Watched) -> None:
        lb_metrics = watched.load_balancer.metrics
        greater = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        self._alarm(
            "LoadBalancer5xx",
            lb_metrics.http_code_elb(elbv2.HttpCodeElb.ELB_5XX_COUNT, period=FIVE_MINUTES, statistic="Sum"),
            threshold=config.http_5xx_per_5_minutes,
            description="The load balancer itself answered 5xx (no healthy target, timeouts).",
        )
        self._alarm(
            "Target5xx",
            _target_metric(watched, "HTTPCode_Target_5XX_Count", period=FIVE_MINUTES, statistic="Sum"),
            threshold=config.http_5xx_per_5_minutes,
            description="The control plane answered 5xx.",
        )
        self._alarm(
            "ResponseTimeP95",
            _target_metric(watched, "TargetResponseTime", period=FIVE_MINUTES, statistic="p95"),
            threshold=config.response_time_p95_ms / 1000,
            comparison=greater,
            periods=2,
            description=f"p95 API latency above {config.response_time_p95_ms} ms for 10 minutes.",
        )
        self._alarm(
            "UnhealthyHosts",
            _target_metric(watched, "UnHealthyHostCount", period=ONE_MINUTE, statistic="Maximum"),
            threshold=1,
            periods=3,
            description="A control-plane task failed its /health/live check for 3 minutes.",
        )
        service = watched.service
        self._alarm(
            "ControlPlaneCpu",
            service.metric_cpu_utilization(period=FIVE_MINUTES, statistic="Average"),
            threshold=config.cpu_percent,
            comparison=greater,
            periods=3,
            description=f"Control-plane CPU above {config.cpu_percent} % for 15 minutes.",
        )
        self._alarm(
            "ControlPlaneMemory",
            service.metric_memory_utilization(period=FIVE_MINUTES, statistic="Average"),
            threshold=config.memory_percent,
            comparison=greater,
            periods=3,
            description=f"Control-plane memory above {config.memory_percent} % for 15 minutes.",
        )
        self._alarm(
            "RunningBelowDesired",
            _running_shortfall(service),
            threshold=1,
            periods=3,
            description="Fewer control-plane tasks run than desired, for 15 minutes.",
        )
        self._alarm(
            "CallbackErrors",
            watched.callback.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
            threshold=1,
            description="The task-state callback failed: dispatches may stay RUNNING.",
        )
        self._alarm(
            "SweeperErrors",
            watched.sweeper.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
            threshold=1,
            description="The workspace sweeper failed: expired workspaces stay on the file system.",
        )
        self._alarm(
            "DeadLetters",
            watched.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=FIVE_MINUTES, statistic="Maximum"
            ),
            threshold=1,
            description=(
                "Events the task-state callback or the workspace sweeper could not handle wait in "
                "their dead-letter queue; the event's detail-type says which (ECS Task State Change: "
                "the callback; Scheduled Event: the sweeper)."
            ),
        )
        # The dead-letter queue only keeps what reaches it: an event EventBridge or Lambda fails
        # to put there (the queue or its key refusing them) is gone, and no depth alarm sees it.
        self._dead_letter_failures(
            "Rule", watched.callback_rule, watched.callback, "Callback", "task-state events"
        )
        self._dead_letter_failures(
            "SweeperRule", watched.sweeper_rule, watched.sweeper, "Sweeper", "workspace-sweep events"
        )
        for index, nat_gateway_id in enumerate(watched.nat_gateway_ids, start=1):
            self._alarm(
                f"NatPortAllocation{index}",
                cloudwatch.Metric(
                    namespace="AWS/NATGateway",
                    metric_name="ErrorPortAllocation",
                    dimensions_map={"NatGatewayId": nat_gateway_id},
                    period=FIVE_MINUTES,
                    statistic="Sum",
                ),
                threshold=1,
                description=f"NAT gateway {index} ran out of source ports: agent connections fail.",
            )

    def _dead_letter_failures(
        self, rule_alarm: str, rule: events.IRule, function: lambda_.IFunction, function_alarm: str, what: str
    ) -> None:
        """Alarms on events that EventBridge (the rule) or Lambda (the function) failed to dead-letter."""
        self._alarm(
            f"{rule_alarm}DeadLetterFailures",
            cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name="InvocationsFailedToBeSentToDLQ",
                dimensions_map={"RuleName": rule.rule_name},
                period=FIVE_MINUTES,
                statistic="Sum",
            ),
            threshold=1,
            description=f"EventBridge could not put undeliverable {what} in the dead-letter queue: those "
            "events are lost.",
        )
        self._alarm(
            f"{function_alarm}DeadLetterFailures",
            function.metric("DeadLetterErrors", period=FIVE_MINUTES, statistic="Sum"),
            threshold=1,
            description=f"Lambda could not put failed {what} in the dead-letter queue: those events are "
            "lost.",
        )


def _target_metric(
    watched: Watched, metric_name: str, *, period: Duration, statistic: str
) -> cloudwatch.Metric:
    """A metric of the control plane's target group, with both dimensions taken from the load
    balancer's and the target group's own full names (GetAtt attributes the Service stack
    publishes): CDK's ``target_group.metrics`` would split the listener's ARN instead, and
    CloudFormation does not accept a cross-stack reference (Fn::GetStackOutput) inside Fn::Split."""
    return cloudwatch.Metric(
        namespace="AWS/ApplicationELB",
        metric_name=metric_name,
        dimensions_map={
            "LoadBalancer": watched.load_balancer.load_balancer_full_name,
            "TargetGroup": watched.target_group.target_group_full_name,
        },
        period=period,
        statistic=statistic,
    )


def _running_shortfall(service: ecs.FargateService) -> cloudwatch.MathExpression:
    """Desired minus running tasks, from Container Insights (which the cluster enables)."""

    def insight(metric_name: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="ECS/ContainerInsights",
            metric_name=metric_name,
            dimensions_map={"ClusterName": service.cluster.cluster_name, "ServiceName": service.service_name},
            period=FIVE_MINUTES,
            statistic="Average",
        )

    return cloudwatch.MathExpression(
        expression="desired - running",
        using_metrics={"desired": insight("DesiredTaskCount"), "running": insight("RunningTaskCount")},
        label="Tasks short of desired",
        period=FIVE_MINUTES,
    )
