"""The alarms that tell a person the platform is failing, and a dashboard of every alarm.

Every alarm watches a metric that the watched resource really emits (the dimensions come
from the resources themselves, not from typed-in names) and notifies the alarm topic (the
Alerts stack's) on ALARM and on OK. The two alarms a control-plane release is rolled back on
(5xx answers, p95 latency) belong to the Service stack (``constructs/release_alarms.py``);
the dashboard shows them with the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_efs as efs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from config.api import HEALTH_CHECK_PATH
from config.monitoring import MonitoringConfig
from config.names import resource_name
from constructs import Construct
from constructs.alarm_topic import AT_LEAST, FIVE_MINUTES, NotifyingAlarm, target_metric
from constructs.web_acl import WebAcl

ONE_MINUTE = Duration.minutes(1)
ONE_HOUR = Duration.hours(1)
GIB = 1024**3


@dataclass(frozen=True)
class NetworkWatched:
    """What the Network stack offers the alarms: its NAT gateways and its egress firewalls
    (zone, firewall name)."""

    nat_gateway_ids: Sequence[str]
    firewalls: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class DataWatched:
    """What the Data stack offers the alarms: the task-state callback, the artifacts collector
    (the callback rule's second target) and the workspace sweeper with the rules that invoke
    them, and the dead-letter queue they fill."""

    callback: lambda_.IFunction
    collector: lambda_.IFunction
    callback_rule: events.IRule
    sweeper: lambda_.IFunction
    sweeper_rule: events.IRule
    dead_letter_queue: sqs.IQueue
    file_system: efs.IFileSystem
    tables: Mapping[str, dynamodb.ITable]


@dataclass(frozen=True)
class ServiceWatched:
    """What the Service stack offers the alarms: the load balancer, the control plane behind it,
    the dispatch janitor with its count of leases left returning, and the release alarms (its own;
    the dashboard shows them)."""

    load_balancer: elbv2.ApplicationLoadBalancer
    target_group: elbv2.ApplicationTargetGroup
    service: ecs.FargateService
    janitor: lambda_.IFunction
    stuck_leases: cloudwatch.IMetric
    release_alarms: Mapping[str, cloudwatch.IAlarm]
    web_acl: WebAcl


@dataclass(frozen=True)
class Watched:
    """What the alarms watch, as the stacks that own it offer it (each stack's ``watched``)."""

    network: NetworkWatched
    data: DataWatched
    service: ServiceWatched


class OperationsAlarms(Construct):
    """``alarms``: name -> alarm; ``dashboard``: one page of these and of the Service stack's
    release alarms."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        config: MonitoringConfig,
        topic: sns.ITopic,
        watched: Watched,
        account_alarms: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self._topic = topic
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._control_plane(config, watched.service)
        self._functions(watched.data, watched.service.janitor)
        self._slots(watched.service.stuck_leases)
        self._nat_gateways(watched.network)
        self._refused_connections(watched.network)
        self._capacity(config, watched, account_alarms=account_alarms)
        every: dict[str, cloudwatch.IAlarm] = {**watched.service.release_alarms, **self.alarms}
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=resource_name(env_name),
            default_interval=Duration.hours(6),
            widgets=[
                [cloudwatch.AlarmWidget(title=name, alarm=alarm, width=8, height=6)]
                for name, alarm in every.items()
            ],
        )

    def _alarm(
        self,
        name: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        periods: int = 1,
        window: int | None = None,
        comparison: cloudwatch.ComparisonOperator = AT_LEAST,
    ) -> None:
        self.alarms[name] = NotifyingAlarm(
            self,
            name,
            topic=self._topic,
            metric=metric,
            threshold=threshold,
            datapoints=periods,
            window=window,
            comparison=comparison,
            description=description,
        )

    def _control_plane(self, config: MonitoringConfig, watched: ServiceWatched) -> None:
        """The load balancer, its targets and the control-plane service."""
        lb_metrics = watched.load_balancer.metrics
        greater = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        self._alarm(
            "LoadBalancer5xx",
            lb_metrics.http_code_elb(elbv2.HttpCodeElb.ELB_5XX_COUNT, period=FIVE_MINUTES, statistic="Sum"),
            threshold=config.http_5xx_per_5_minutes,
            description="The load balancer itself answered 5xx (no healthy target, timeouts).",
        )
        self._alarm(
            "UnhealthyHosts",
            target_metric(
                watched.load_balancer,
                watched.target_group,
                "UnHealthyHostCount",
                period=ONE_MINUTE,
                statistic="Maximum",
            ),
            threshold=1,
            periods=3,
            description=f"A control-plane task failed its {HEALTH_CHECK_PATH} check for 3 minutes.",
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

    def _functions(self, watched: DataWatched, janitor: lambda_.IFunction) -> None:
        """The callback, the sweeper and the janitor, and the dead-letter queue they share."""
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
            "CollectorErrors",
            watched.collector.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
            threshold=1,
            description="The artifacts collector failed: a stopped dispatch's outbox is not yet in the "
            "artifacts bucket (Lambda retries, then the event waits in the dead-letter queue; "
            "redrive it into the collector).",
        )
        self._alarm(
            "JanitorErrors",
            janitor.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
            threshold=1,
            description="The dispatch janitor failed: access points and task-definition revisions of "
            "dispatches whose control plane died stay, and overdue tasks keep running.",
        )
        self._alarm(
            "DeadLetters",
            watched.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=FIVE_MINUTES, statistic="Maximum"
            ),
            threshold=1,
            description=(
                "Events the task-state callback, the artifacts collector or the workspace sweeper "
                "could not handle wait in their dead-letter queue; the event's detail-type says which "
                "(ECS Task State Change: the callback or the collector; Scheduled Event: the sweeper)."
            ),
        )
        # The dead-letter queue only keeps what reaches it: an event EventBridge or Lambda fails
        # to put there (the queue or its key refusing them) is gone, and no depth alarm sees it.
        self._dead_letter_failures(
            "Rule", watched.callback_rule, watched.callback, "Callback", "task-state events"
        )
        # The collector shares the callback's rule (its rule alarm above); Lambda's own failures:
        self._alarm(
            "CollectorDeadLetterFailures",
            watched.collector.metric("DeadLetterErrors", period=FIVE_MINUTES, statistic="Sum"),
            threshold=1,
            description="Lambda could not put failed artifact collections in the dead-letter queue: "
            "those outboxes wait for the sweeper, uncollected.",
        )
        self._dead_letter_failures(
            "SweeperRule", watched.sweeper_rule, watched.sweeper, "Sweeper", "workspace-sweep events"
        )

    def _slots(self, stuck_leases: cloudwatch.IMetric) -> None:
        """Leased slots (docs/data.md): a lease the janitor released and the control plane never
        finished returning keeps its slot out of the pool. The janitor counts them every run, so
        a period of its interval holds one run's count, or none when the schedule's minute falls
        the other side of a boundary: one breaching period of the last two fires it."""
        self._alarm(
            "SlotLeasesStuckReturning",
            stuck_leases,
            threshold=1,
            window=2,
            description="A slot lease has been 'returning' for longer than the janitor's grace period: "
            "the control plane has not finished its return (rename /workspaces/.slots/<n> back, delete "
            "the item), so that slot is out of the pool. The janitor's log names it (action "
            "stuck_returning): finish the return by hand, or check the control plane's return loop.",
        )

    def _nat_gateways(self, watched: NetworkWatched) -> None:
        """Each NAT gateway, which the agents reach the internet through."""
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

    def _refused_connections(self, watched: NetworkWatched) -> None:
        """Each egress firewall: any connection it refused (a name off the allow-list, an IP
        address, a protocol other than TLS or HTTP). Its alert log says which. Metric:
        https://docs.aws.amazon.com/network-firewall/latest/developerguide/monitoring-cloudwatch.html"""
        for zone, firewall_name in watched.firewalls:
            self._alarm(
                f"EgressRefused{zone[-1].upper()}",
                cloudwatch.Metric(
                    namespace="AWS/NetworkFirewall",
                    metric_name="DroppedPackets",
                    dimensions_map={
                        "FirewallName": firewall_name,
                        "AvailabilityZone": zone,
                        "Engine": "Stateful",
                    },
                    period=FIVE_MINUTES,
                    statistic="Sum",
                ),
                threshold=1,
                description=f"The egress firewall in {zone} refused connections (a name off the allow-list, "
                "an IP address or another protocol): its RefusedConnections log group names source and name.",
            )

    def _capacity(self, config: MonitoringConfig, watched: Watched, *, account_alarms: bool) -> None:
        """What fills up or runs out: the workspaces file system, the account's Fargate vCPUs,
        the web ACL's blocks of real traffic, and the dispatch tables' throughput."""
        # EFS reports StorageBytes every 15 minutes; StorageClass Total is every class together
        # (https://docs.aws.amazon.com/efs/latest/ug/efs-metrics.html).
        size = cloudwatch.Metric(
            namespace="AWS/EFS",
            metric_name="StorageBytes",
            dimensions_map={"FileSystemId": watched.data.file_system.file_system_id, "StorageClass": "Total"},
            period=ONE_HOUR,
            statistic="Maximum",
        )
        self._alarm(
            "WorkspacesSize",
            size,
            threshold=config.efs_storage_gib * GIB,
            description=f"The workspaces file system holds more than {config.efs_storage_gib} GiB: "
            "check the sweeper ran (SweeperErrors) and which dispatches wrote the most.",
        )
        self._alarm(
            "WorkspacesGrowth",
            cloudwatch.MathExpression(
                expression=f"DIFF(size) / {GIB}",
                using_metrics={"size": size},
                label="GiB written in the hour",
                period=ONE_HOUR,
            ),
            threshold=config.efs_growth_gib_per_hour,
            description=f"The workspaces grew more than {config.efs_growth_gib_per_hour} GiB in an hour "
            "(v1 died of 25 GB in 6 hours): find the dispatch writing it and cancel it.",
        )
        if account_alarms:
            self._alarm(
                "FargateVcpuQuota",
                _fargate_quota_use(),
                threshold=config.fargate_vcpu_quota_percent,
                description=f"The account uses more than {config.fargate_vcpu_quota_percent} % of its "
                "Fargate On-Demand vCPU quota: RunTask fails at 100 %. Ask for more (Service Quotas, "
                "L-3032A538) or lower the warm pool.",
            )
        for rule, metric_name in watched.service.web_acl.rule_metrics:
            self._alarm(
                f"WafBlocked{rule}",
                cloudwatch.Metric(
                    namespace="AWS/WAFV2",
                    metric_name="BlockedRequests",
                    dimensions_map={
                        "WebACL": watched.service.web_acl.metric_name,
                        "Region": Stack.of(self).region,
                        "Rule": metric_name,
                    },
                    period=FIVE_MINUTES,
                    statistic="Sum",
                ),
                threshold=config.waf_blocked_per_5_minutes,
                description=f"Web ACL rule {rule} blocked {config.waf_blocked_per_5_minutes} or more "
                "requests in 5 minutes: an attack, or legitimate clients refused (read the WAF log's "
                "terminatingRuleId and source addresses).",
            )
        for name, table in watched.data.tables.items():
            self._alarm(
                f"Throttled{''.join(part.title() for part in name.split('_'))}",
                cloudwatch.MathExpression(
                    expression="reads + writes",
                    using_metrics={
                        "reads": table.metric("ReadThrottleEvents", period=FIVE_MINUTES, statistic="Sum"),
                        "writes": table.metric("WriteThrottleEvents", period=FIVE_MINUTES, statistic="Sum"),
                    },
                    label=f"Throttled requests of {name}",
                    period=FIVE_MINUTES,
                ),
                threshold=config.dynamodb_throttles_per_5_minutes,
                description=f"DynamoDB throttled requests to the {name} table: dispatch calls fail or "
                "retry (on demand: a hot key, or more than double the previous peak).",
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


def _fargate_quota_use() -> cloudwatch.MathExpression:
    """Fargate On-Demand vCPUs in use in percent of the account's quota: ``AWS/Usage``'s
    ResourceCount over ``SERVICE_QUOTA()`` (Amazon ECS developer guide, "AWS Fargate usage
    metrics": https://docs.aws.amazon.com/AmazonECS/latest/developerguide/monitoring-fargate-usage.html)."""
    usage = cloudwatch.Metric(
        namespace="AWS/Usage",
        metric_name="ResourceCount",
        dimensions_map={
            "Service": "Fargate",
            "Type": "Resource",
            "Resource": "OnDemand",
            "Class": "Standard/OnDemand",
        },
        period=ONE_MINUTE,
        statistic="Maximum",
    )
    return cloudwatch.MathExpression(
        expression="usage / SERVICE_QUOTA(usage) * 100",
        using_metrics={"usage": usage},
        label="Fargate On-Demand vCPUs, % of quota",
        period=ONE_MINUTE,
    )
