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
from config.tables import TASK_ARN_INDEX
from constructs import Construct
from constructs.log_encryption import LogsKey
from constructs.vpc_function import vpc_function

HANDLER_DIR = Path(__file__).resolve().parent.parent / "lambdas" / "task_state"
MEMORY_MB = 256
TIMEOUT = Duration.seconds(30)


class TaskStateCallback(Construct):
    """``function``, ``rule``, ``dead_letter_queue`` and its ``dead_letter_key``, ``log_group``, ``role``."""

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
        stack = Stack.of(self)
        self.cluster_arn = stack.format_arn(service="ecs", resource="cluster", resource_name=cluster_name)
        self.dead_letter_key = kms.Key(
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
        self.dead_letter_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeToDeadLetterIntoTheQueue",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
            )
        )
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.dead_letter_key,
            enforce_ssl=True,
            retention_period=Duration.days(config.dead_letter_retention_days),
            removal_policy=removal_policy,
        )
        acknowledge(
            self.dead_letter_queue,
            "This queue is itself the dead-letter queue of the rule and the function: a message here "
            "has already failed every retry and waits for an operator (alarm on its depth) to inspect "
            "and redrive it; a further dead-letter queue behind it would only hide it.",
            "Serverless-SQSRedrivePolicy",
            control_tower("sqs_dlq_check"),
        )

        self.log_group = logs_key.log_group("Logs", scope=self, retention_days=config.log_retention_days)
        parts = vpc_function(
            self,
            name="task-state callback",
            role_description="Task-state callback: finishes the dispatch of a stopped ECS task",
            description="Marks the dispatch of a stopped ECS task succeeded, failed, timed out or cancelled",
            handler_dir=HANDLER_DIR,
            memory_mb=MEMORY_MB,
            timeout=TIMEOUT,
            environment={"DISPATCHES_TABLE": dispatches.table_name, "TASK_ARN_INDEX": TASK_ARN_INDEX},
            environment_holds="the dispatch table's and index's names",
            statements=self._statements(dispatches, table_key),
            data_permissions="every data permission names its table, index, queue, key or log group.",
            vpc=vpc,
            security_group=security_group,
            reserved_concurrency=config.reserved_concurrency,
            dead_letter_queue=self.dead_letter_queue,
            dead_letter_key=self.dead_letter_key,
            retry_attempts=config.retry_attempts,
            max_event_age=Duration.minutes(config.max_event_age_minutes),
            log_group=self.log_group,
        )
        self.role, self.policy, self.function = parts.role, parts.policy, parts.function

        self.rule = events.Rule(
            self,
            "TaskStopped",
            rule_name=f"outpost-{env_name}-task-stopped",
            description=f"Stopped tasks of ECS cluster {cluster_name} (not service tasks) to the callback",
            event_pattern=events.EventPattern(
                source=["aws.ecs"],
                detail_type=["ECS Task State Change"],
                detail={
                    "clusterArn": [self.cluster_arn],
                    "lastStatus": ["STOPPED"],
                    "group": events.Match.anything_but_prefix("service:"),
                },
            ),
        )
        self.rule.add_target(
            targets.LambdaFunction(
                self.function,
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=config.target_retry_attempts,
                max_event_age=Duration.minutes(config.max_event_age_minutes),
            )
        )

    def _statements(self, dispatches: dynamodb.ITable, table_key: kms.IKey) -> list[iam.PolicyStatement]:
        region = Stack.of(self).region
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
            iam.PolicyStatement(
                sid="UseTheTableKeyThroughDynamoDb",
                actions=["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
                resources=[table_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com"}},
            ),
        ]
