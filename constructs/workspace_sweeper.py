"""The workspace sweeper: a daily schedule -> Lambda that deletes expired workspace directories.

Workspaces accumulate on the workspaces file system (one top-level directory per workspace
under the ``/workspaces`` access point) and nothing else removes them. Once a day an
EventBridge rule invokes this function, which mounts the access point at
``/mnt/workspaces`` and deletes every top-level directory nothing under has changed for
``data.workspace_expiry_days`` (lambdas/workspace_sweeper/handler.py).

Delivery follows the task-state callback, and shares its dead-letter queue: EventBridge
retries a failed delivery and then dead-letters the event; Lambda retries a failed
invocation and then dead-letters it. A message there (alarmed on its depth) means one day's
sweep did not run; the next day's sweep catches up, as the sweep is idempotent.

The function runs in the private subnets behind the ``sweeper`` security group (NFS to the
file system, nothing else, nothing in), with its own role whose one managed policy lists
every permission it has. It mounts through the access point only, so every file operation
runs as the workspaces' uid/gid 1000: no root access is granted.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_efs as efs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs

from constructs import Construct
from constructs.log_encryption import LogsKey
from constructs.nag import acknowledge, control_tower
from constructs.scanners import skip_checkov
from constructs.vpc_function import vpc_function_statements
from constructs.workspaces_fs import MOUNT_PATH

HANDLER_DIR = Path(__file__).resolve().parent.parent / "lambdas" / "workspace_sweeper"
MEMORY_MB = 512
# Lambda's maximum; the handler stops 20 s before it and the next day's run resumes.
TIMEOUT = Duration.minutes(15)
# One sweep a day; a delivery is retried for up to six hours, then dead-lettered.
TARGET_RETRY_ATTEMPTS = 8
RETRY_ATTEMPTS = 2
MAX_EVENT_AGE = Duration.hours(6)


class WorkspaceSweeper(Construct):
    """``function``, ``rule`` (the daily schedule), ``log_group``, ``role``, ``policy``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        expiry_days: int,
        file_system: efs.IFileSystem,
        access_point: efs.IAccessPoint,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        dead_letter_queue: sqs.IQueue,
        dead_letter_key: kms.Key,
        logs_key: LogsKey,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # A fixed rule name, so the dead-letter key can name the rule without a reference cycle.
        rule_name = f"outpost-{env_name}-workspace-sweep"
        rule_arn = stack.format_arn(service="events", resource="rule", resource_name=rule_name)
        dead_letter_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowTheWorkspaceSweepRuleToDeadLetter",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={"ArnEquals": {"aws:SourceArn": rule_arn}},
            )
        )

        self.log_group = logs_key.log_group("Logs", scope=self, retention_days=log_retention_days)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Workspace sweeper: deletes expired workspace directories",
        )
        self.policy = iam.ManagedPolicy(
            self,
            "Permissions",
            description="Everything the workspace sweeper may do, and nothing else",
            roles=[self.role],
            statements=self._statements(file_system, access_point, dead_letter_queue, dead_letter_key),
        )
        acknowledge(
            self.policy,
            "Two statements need Resource '*' because the services offer no resource-level permission "
            "for them: X-Ray trace upload (PutTraceSegments, PutTelemetryRecords) and the network "
            "interface calls Lambda makes to place the function in the VPC; the file-system "
            "permissions name the file system and are limited to the /workspaces access point.",
            "AwsSolutions-IAM5[Resource::*]",
        )
        skip_checkov(
            self.policy,
            "CKV_AWS_111",
            "Only X-Ray trace upload and Lambda's VPC network-interface calls use Resource '*': those "
            "actions have no resource-level permission; EFS writes name the file system and access point.",
        )

        # from_efs_access_point also brings CDK's security-group rules and role statements; both
        # are dropped here: every rule lives in NetworkPolicy, every permission in self.policy.
        mount = lambda_.FileSystem.from_efs_access_point(access_point, MOUNT_PATH).config
        self.function = lambda_.Function(
            self,
            "Function",
            description="Deletes workspace directories untouched for the expiry on the workspaces EFS",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler="handler.handler",
            code=lambda_.Code.from_asset(str(HANDLER_DIR), exclude=["__pycache__", "*.pyc"]),
            memory_size=MEMORY_MB,
            timeout=TIMEOUT,
            role=self.role.without_policy_updates(),
            environment={"WORKSPACES_ROOT": MOUNT_PATH, "EXPIRY_DAYS": str(expiry_days)},
            filesystem=lambda_.FileSystem(
                arn=mount.arn, local_mount_path=mount.local_mount_path, dependency=mount.dependency
            ),
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[security_group],
            tracing=lambda_.Tracing.ACTIVE,
            # Never two sweeps at once over the same tree.
            reserved_concurrent_executions=1,
            dead_letter_queue=dead_letter_queue,
            retry_attempts=RETRY_ATTEMPTS,
            max_event_age=MAX_EVENT_AGE,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
        )
        self.function.node.add_dependency(self.policy)
        acknowledge(
            self.function,
            "The function does run in the VPC: private subnets and the sweeper's own security group "
            "(VpcConfig). Control Tower's rule accepts only literal ids or same-stack references, and "
            "these come from the Network stack.",
            control_tower("lambda_inside_vpc_check"),
        )
        skip_checkov(
            self.function,
            "CKV_AWS_173",
            "The environment holds only the mount path and the expiry in days, no secret; Lambda "
            "encrypts it at rest with its service key, and the role takes no policy updates for a CMK.",
        )
        acknowledge(
            self.function,
            "Failed asynchronous invocations go to the function's dead-letter queue (DeadLetterConfig, "
            "the SQS queue the rule dead-letters to); an on-failure destination as well would put "
            "every failed event into that queue twice.",
            "Serverless-LambdaAsyncFailureDestination",
        )

        self.rule = events.Rule(
            self,
            "Daily",
            rule_name=rule_name,
            description="Once a day: delete expired workspace directories",
            schedule=events.Schedule.cron(minute="17", hour="3"),
        )
        self.rule.add_target(
            targets.LambdaFunction(
                self.function,
                dead_letter_queue=dead_letter_queue,
                retry_attempts=TARGET_RETRY_ATTEMPTS,
                max_event_age=MAX_EVENT_AGE,
            )
        )

    def _statements(
        self,
        file_system: efs.IFileSystem,
        access_point: efs.IAccessPoint,
        dead_letter_queue: sqs.IQueue,
        dead_letter_key: kms.IKey,
    ) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                sid="MountTheWorkspacesAccessPointToDelete",
                actions=["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                resources=[file_system.file_system_arn],
                conditions={
                    "StringEquals": {"elasticfilesystem:AccessPointArn": access_point.access_point_arn}
                },
            ),
            *vpc_function_statements(
                self,
                dead_letter_queue=dead_letter_queue,
                dead_letter_key=dead_letter_key,
                log_group=self.log_group,
            ),
        ]
