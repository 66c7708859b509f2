"""The task-state callback: stopped ECS tasks -> EventBridge rule -> Lambda -> dispatch finished.

Delivery, at least once, with nothing lost silently:

* the rule on the default bus matches "ECS Task State Change" events with ``lastStatus``
  STOPPED from the Outpost cluster (its ARN is deterministic: ``outpost-<env>``), except
  the tasks of ECS services (the control plane itself);
* EventBridge retries a failed delivery (``target_retry_attempts``, up to
  ``max_event_age_minutes``) and then sends the event to the dead-letter queue;
* Lambda retries a failed invocation (``retry_attempts``) and then sends the event to the
  same dead-letter queue (the function's DLQ), where an operator redrives it.

The function runs in the private subnets behind the ``callback`` security group (HTTPS out,
nothing in), with its own role whose one managed policy lists every permission it has.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs

from compliance.acknowledgements import acknowledge, control_tower
from config.data import CallbackConfig
from config.names import resource_name
from config.tables import TASK_ARN_INDEX
from constructs import Construct
from constructs.log_encryption import LogsKey
from constructs.vpc_function import DeadLetters, Handler, VpcFunction
from permissions.keys import key_through

HANDLER = Handler(
    name="task-state callback",
    role_description="Task-state callback: finishes the dispatch of a stopped ECS task",
    description="Marks the dispatch of a stopped ECS task succeeded, failed, timed out or cancelled",
    directory=Path(__file__).resolve().parent.parent / "lambdas" / "task_state",
    memory_mb=256,
    timeout=Duration.seconds(30),
    environment_holds="the dispatch table's and index's names",
    data_permissions="every data permission names its table, index, queue, key or log group.",
)


class TaskStateCallback(VpcFunction):
    """``function``, ``rule``, ``dead_letters`` (its queue and key, which the sweeper and the
    janitor share), ``log_group``, ``role``, ``policy``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: CallbackConfig,
        env_name: str,
        cluster_name: str,
        dispatches: dynamodb.ITable,
        table_key: kms.IKey,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        logs_key: LogsKey,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = self._dead_letters(env_name, config, removal_policy)
        self._add_function(
            HANDLER,
            environment={"DISPATCHES_TABLE": dispatches.table_name, "TASK_ARN_INDEX": TASK_ARN_INDEX},
            statements=self._statements(dispatches, table_key),
            vpc=vpc,
            security_group=security_group,
            dead_letters=self.dead_letters,
            logs_key=logs_key,
            log_retention_days=config.log_retention_days,
            reserved_concurrency=config.reserved_concurrency,
            retry_attempts=config.retry_attempts,
            max_event_age=Duration.minutes(config.max_event_age_minutes),
        )

        self.rule = self._rule(env_name, cluster_name, config)

    def _dead_letters(
        self, env_name: str, config: CallbackConfig, removal_policy: RemovalPolicy
    ) -> DeadLetters:
        """The queue (``DeadLetters``) and key (``DeadLetterKey``) where the callback's and the
        sweeper's failed events wait for an operator."""
        key = kms.Key(
            self,
            "DeadLetterKey",
            description=f"Outpost {env_name}: encrypts the dead-letter queue of the callback and the sweeper",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        # EventBridge dead-letters events of the task-stopped and workspace-sweep rules here. The
        # statement is the one EventBridge's user guide gives for an SSE-KMS SQS target ("Amazon
        # EventBridge targets": kms:Decrypt and kms:GenerateDataKey for events.amazonaws.com, no
        # condition). No AWS page says which condition keys reach KMS on this path (SQS calls KMS
        # on EventBridge's behalf); a condition that is absent there would refuse every
        # dead-letter, silently but for the DeadLetterFailures alarms. What may send is limited
        # where EventBridge documents it: the queue policy admits sqs:SendMessage only from the
        # two rules (aws:SourceArn, added by each rule target), and this key encrypts this queue only.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeToDeadLetterIntoTheQueue",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
            )
        )
        queue = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=Duration.days(config.dead_letter_retention_days),
            removal_policy=removal_policy,
        )
        acknowledge(
            queue,
            "This queue is itself the dead-letter queue of the rule and the function: a message here "
            "has already failed every retry and waits for an operator (alarm on its depth) to inspect "
            "and redrive it; a further dead-letter queue behind it would only hide it.",
            "Serverless-SQSRedrivePolicy",
            control_tower("sqs_dlq_check"),
        )
        return DeadLetters(queue, key)

    def _rule(self, env_name: str, cluster_name: str, config: CallbackConfig) -> events.Rule:
        """``TaskStopped``: stopped tasks of the cluster, except the tasks of ECS services, to the
        function, with EventBridge's retries and then the dead-letter queue."""
        cluster_arn = Stack.of(self).format_arn(service="ecs", resource="cluster", resource_name=cluster_name)
        rule = events.Rule(
            self,
            "TaskStopped",
            rule_name=resource_name(env_name, "task-stopped"),
            description=f"Stopped tasks of ECS cluster {cluster_name} (not service tasks) to the callback",
            event_pattern=events.EventPattern(
                source=["aws.ecs"],
                detail_type=["ECS Task State Change"],
                detail={
                    "clusterArn": [cluster_arn],
                    "lastStatus": ["STOPPED"],
                    "group": events.Match.anything_but_prefix("service:"),
                },
            ),
        )
        rule.add_target(
            targets.LambdaFunction(
                self.function,
                dead_letter_queue=self.dead_letters.queue,
                retry_attempts=config.target_retry_attempts,
                max_event_age=Duration.minutes(config.max_event_age_minutes),
            )
        )
        return rule

    def _statements(self, dispatches: dynamodb.ITable, table_key: kms.IKey) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                sid="FindTheDispatchOfATask",
                actions=["dynamodb:Query"],
                resources=[f"{dispatches.table_arn}/index/{TASK_ARN_INDEX}"],
            ),
            iam.PolicyStatement(
                sid="FinishTheDispatch",
                actions=["dynamodb:UpdateItem"],
                resources=[dispatches.table_arn],
            ),
            key_through(
                table_key,
                "dynamodb",
                scope=self,
                sid="UseTheTableKeyThroughDynamoDb",
                actions=["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
            ),
        ]
