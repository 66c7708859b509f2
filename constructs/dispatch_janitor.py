"""The dispatch janitor: a schedule -> Lambda that cleans up after a control plane that died.

Per dispatch the control plane creates an EFS access point and a task-definition revision and
removes both when the task stops (docs/data.md). If it dies in between, they stay, and a task
whose control plane died is never stopped at its timeout. Every ``interval_minutes`` this
function (lambdas/dispatch_janitor/handler.py):

* stops dispatch tasks older than the worker timeout plus the grace period (the task-state
  callback then records them timed out);
* deregisters and deletes dispatch-family revisions no running task uses, registered longer
  than the grace period ago;
* deletes access points of the workspaces file system tagged with a dispatch no running task
  belongs to, created longer than the grace period ago (never the shared ``/workspaces`` one,
  never a slot's: tagged ``outpost:slot``);
* releases the slot leases whose task is gone (docs/data.md, "Leased slots"): a conditional
  update of the lease to ``returning`` in the leases table, which the control plane completes;
* counts the leases the control plane has left ``returning`` for longer than the grace period:
  ``stuck_leases``, a metric from its log (alarm ``SlotLeasesStuckReturning``).

Failures raise (alarm ``JanitorErrors`` in the Monitoring stack); the next run retries, since
every step is idempotent. It runs in the private subnets behind the ``janitor`` security
group (HTTPS out only) with its own role whose one managed policy lists every permission.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs

from compliance.acknowledgements import acknowledge, wildcard_resource
from config.names import resource_name
from config.service import JanitorConfig
from config.tables import LEASE_STATE_INDEX, LEASES_TABLE
from constructs import Construct
from constructs.agent_task import AgentTask
from constructs.log_encryption import LogsKey
from constructs.vpc_function import DeadLetters, Handler, VpcFunction
from permissions.agent_launch import cluster_tasks, in_cluster, revisions
from permissions.data_access import (
    ACCESS_POINT_TAG,
    DataAccess,
    of_a_dispatch,
    of_a_dispatch_not_a_slot,
)

HANDLER = Handler(
    name="dispatch janitor",
    role_description="Dispatch janitor: removes what dead control planes left of dispatches",
    description="Stops overdue dispatch tasks; deletes stale dispatch revisions and access points; "
    "releases slot leases whose task is gone",
    directory=Path(__file__).resolve().parent.parent / "lambdas" / "dispatch_janitor",
    memory_mb=256,
    timeout=Duration.minutes(5),
    environment_holds="the cluster's ARN, the file system's and access point's ids, family names, "
    "timeouts and the leases table's name",
    data_permissions="ListTasks (held to this cluster by ecs:cluster), ListTaskDefinitions, "
    "DescribeTaskDefinition and DeregisterTaskDefinition have none either; every other "
    "permission names the cluster's tasks, the dispatch families, the file system, or "
    "access points tagged with that file system.",
)


# The message of the handler's one summary record per run (lambdas/dispatch_janitor/handler.py:
# SUMMARY); its ``stuck_returning`` field is the metric below.
SUMMARY = "dispatch janitor summary"
STUCK_LEASES_METRIC = "SlotLeasesStuckReturning"


class DispatchJanitor(VpcFunction):
    """``function``, ``rule`` (the schedule), ``log_group``, ``role``, ``policy``, and
    ``stuck_leases``: the leases each run found left ``returning`` (Maximum per interval)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        config: JanitorConfig,
        worker_task_timeout_seconds: int,
        cluster: ecs.ICluster,
        agents: Sequence[AgentTask],
        data: DataAccess,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        dead_letters: DeadLetters,
        logs_key: LogsKey,
    ) -> None:
        super().__init__(scope, construct_id)
        grace_seconds = config.grace_minutes * 60
        self._add_function(
            HANDLER,
            environment={
                "CLUSTER_ARN": cluster.cluster_arn,
                "FILE_SYSTEM_ID": data.file_system.file_system_id,
                "SHARED_ACCESS_POINT_ID": data.access_point.access_point_id,
                "DISPATCH_FAMILIES": ",".join(agent.dispatch_family for agent in agents),
                "GRACE_SECONDS": str(grace_seconds),
                "TASK_TIMEOUT_SECONDS": str(worker_task_timeout_seconds + grace_seconds),
                "LEASES_TABLE": data.tables[LEASES_TABLE].table_name,
                "LEASE_STATE_INDEX": LEASE_STATE_INDEX,
            },
            statements=self._statements(cluster, agents, data),
            vpc=vpc,
            security_group=security_group,
            dead_letters=dead_letters,
            logs_key=logs_key,
            log_retention_days=config.log_retention_days,
            reserved_concurrency=config.reserved_concurrency,
            # A failed run is not retried: the next scheduled one does the same work.
            retry_attempts=0,
            max_event_age=Duration.minutes(config.interval_minutes),
        )
        self._explain_wildcards(cluster, agents, data)
        self.rule = self._schedule(env_name, config)
        self.stuck_leases = self._count_stuck_leases(env_name, config)

    def _count_stuck_leases(self, env_name: str, config: JanitorConfig) -> cloudwatch.Metric:
        """Each run's summary record (the function logs JSON, its fields at the top level) gives
        ``stuck_returning``: a metric in the environment's own namespace, ``Outpost/<env>``."""
        stuck = logs.MetricFilter(
            self,
            "StuckLeases",
            log_group=self.log_group,
            filter_pattern=logs.FilterPattern.string_value("$.message", "=", SUMMARY),
            metric_namespace=f"Outpost/{env_name}",
            metric_name=STUCK_LEASES_METRIC,
            metric_value="$.stuck_returning",
        )
        return stuck.metric(period=Duration.minutes(config.interval_minutes), statistic="Maximum")

    def _explain_wildcards(
        self, cluster: ecs.ICluster, agents: Sequence[AgentTask], data: DataAccess
    ) -> None:
        """The wildcard resources of :meth:`_statements`, each with what bounds it."""
        acknowledge(
            self.policy,
            "Access-point ARNs do not name their file system and dispatch access points exist only "
            "at run time: DeleteAccessPoint requires the access point's outpost:file-system tag to "
            "be this workspaces file system (aws:ResourceTag); the shared /workspaces one is untagged.",
            wildcard_resource(self, data.access_point_arns(self)),
        )
        acknowledge(
            self.policy,
            "Dispatch revisions exist only at run time: DeleteTaskDefinitions names the five dispatch "
            "families (any revision); the agents' base families and the control plane's are not named.",
            *(wildcard_resource(self, arn) for arn in revisions(self, [a.dispatch_family for a in agents])),
        )
        acknowledge(
            self.policy,
            "StopTask and DescribeTasks name only task ARNs of this cluster (task/<cluster>/*, and "
            "the ecs:cluster condition); task ids exist only at run time.",
            wildcard_resource(self, cluster_tasks(self, cluster)),
        )

    def _schedule(self, env_name: str, config: JanitorConfig) -> events.Rule:
        """``Schedule``: a run every ``interval_minutes``."""
        rule = events.Rule(
            self,
            "Schedule",
            rule_name=resource_name(env_name, "dispatch-janitor"),
            description="Clean up after dispatches whose control plane died",
            schedule=events.Schedule.rate(Duration.minutes(config.interval_minutes)),
        )
        rule.add_target(targets.LambdaFunction(self.function, retry_attempts=2))
        acknowledge(
            rule,
            "A scheduled event carries nothing to replay: a delivery that fails after EventBridge's "
            "retries is only a missed run, which the next run (every interval_minutes) does in full; "
            "the function's own failures go to its dead-letter queue and raise JanitorErrors. (The "
            "shared queue lives in the Data stack, whose policy cannot name this stack's rule "
            "without a dependency cycle.)",
            "Serverless-EventBusDLQ",
        )
        return rule

    def _statements(
        self, cluster: ecs.ICluster, agents: Sequence[AgentTask], data: DataAccess
    ) -> list[iam.PolicyStatement]:
        file_system_id = data.file_system.file_system_id
        return [
            iam.PolicyStatement(
                sid="ListClusterTasks",
                actions=["ecs:ListTasks"],
                resources=["*"],
                conditions=in_cluster(cluster),
            ),
            iam.PolicyStatement(
                sid="FindOverdueTasks",
                actions=["ecs:DescribeTasks"],
                resources=[cluster_tasks(self, cluster)],
                conditions=in_cluster(cluster),
            ),
            iam.PolicyStatement(
                sid="StopOverdueDispatchTasks",
                actions=["ecs:StopTask"],
                resources=[cluster_tasks(self, cluster)],
                # Dispatch tasks only: never the control plane's own (untagged) tasks.
                conditions={**in_cluster(cluster), **of_a_dispatch()},
            ),
            iam.PolicyStatement(
                sid="FindAndRetireStaleRevisions",
                actions=[
                    "ecs:DeregisterTaskDefinition",
                    "ecs:DescribeTaskDefinition",
                    "ecs:ListTaskDefinitions",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="DeleteStaleRevisions",
                actions=["ecs:DeleteTaskDefinitions"],
                resources=revisions(self, [agent.dispatch_family for agent in agents]),
            ),
            iam.PolicyStatement(
                sid="FindStaleAccessPoints",
                actions=["elasticfilesystem:DescribeAccessPoints"],
                resources=[data.file_system.file_system_arn],
            ),
            iam.PolicyStatement(
                sid="DeleteStaleAccessPoints",
                actions=["elasticfilesystem:DeleteAccessPoint"],
                resources=[data.access_point_arns(self)],
                conditions={
                    "StringEquals": {f"aws:ResourceTag/{ACCESS_POINT_TAG}": file_system_id},
                    **of_a_dispatch_not_a_slot(),
                },
            ),
            *self._lease_statements(data),
        ]

    def _lease_statements(self, data: DataAccess) -> list[iam.PolicyStatement]:
        """List the leases by state and release one: the leases table and its index only, the
        data key only through DynamoDB. No PutItem or DeleteItem: a lease is created and removed
        by the control plane alone."""
        table = data.tables[LEASES_TABLE]
        return [
            iam.PolicyStatement(
                sid="FindLeases",
                actions=["dynamodb:Query"],
                resources=[f"{table.table_arn}/index/{LEASE_STATE_INDEX}"],
            ),
            iam.PolicyStatement(
                sid="ReleaseLeases",
                actions=["dynamodb:UpdateItem"],
                resources=[table.table_arn],
            ),
            data.data_key_through("dynamodb", self, sid="UseTheDataKeyThroughDynamoDb"),
        ]
