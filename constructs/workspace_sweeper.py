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

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_efs as efs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from config.data import SweeperConfig
from config.names import resource_name
from constructs import Construct
from constructs.log_encryption import LogsKey
from constructs.vpc_function import DeadLetters, Handler, VpcFunction
from constructs.workspaces_fs import MOUNT_PATH

HANDLER = Handler(
    name="workspace sweeper",
    role_description="Workspace sweeper: deletes expired workspace directories",
    description="Deletes workspace directories untouched for the expiry on the workspaces EFS",
    directory=Path(__file__).resolve().parent.parent / "lambdas" / "workspace_sweeper",
    memory_mb=512,
    # Lambda's maximum; the handler stops 20 s before it and the next day's run resumes.
    timeout=Duration.minutes(15),
    environment_holds="the mount path and the expiry in days",
    data_permissions="the file-system permissions name the file system and are limited to "
    "the /workspaces access point.",
)


class WorkspaceSweeper(VpcFunction):
    """``function``, ``rule`` (the daily schedule), ``log_group``, ``role``, ``policy``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        config: SweeperConfig,
        expiry_days: int,
        file_system: efs.IFileSystem,
        access_point: efs.IAccessPoint,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        dead_letters: DeadLetters,
        logs_key: LogsKey,
    ) -> None:
        super().__init__(scope, construct_id)
        # from_efs_access_point also brings CDK's security-group rules and role statements; both
        # are dropped here: every rule lives in NetworkPolicy, every permission in the policy.
        mount = lambda_.FileSystem.from_efs_access_point(access_point, MOUNT_PATH).config
        self._add_function(
            HANDLER,
            environment={"WORKSPACES_ROOT": MOUNT_PATH, "EXPIRY_DAYS": str(expiry_days)},
            statements=self._statements(file_system, access_point),
            vpc=vpc,
            security_group=security_group,
            dead_letters=dead_letters,
            logs_key=logs_key,
            log_retention_days=config.log_retention_days,
            # 1 reserves one execution: never two sweeps at once over the same tree (0 leaves it
            # to the schedule: one a day, each done in at most 15 minutes).
            reserved_concurrency=config.reserved_concurrency,
            retry_attempts=config.retry_attempts,
            max_event_age=Duration.minutes(config.max_event_age_minutes),
            filesystem=lambda_.FileSystem(
                arn=mount.arn, local_mount_path=mount.local_mount_path, dependency=mount.dependency
            ),
        )

        self.rule = events.Rule(
            self,
            "Daily",
            rule_name=resource_name(env_name, "workspace-sweep"),
            description="Once a day: delete expired workspace directories",
            schedule=events.Schedule.cron(minute="17", hour="3"),
        )
        self.rule.add_target(
            targets.LambdaFunction(
                self.function,
                dead_letter_queue=dead_letters.queue,
                retry_attempts=config.target_retry_attempts,
                max_event_age=Duration.minutes(config.max_event_age_minutes),
            )
        )

    def _statements(
        self,
        file_system: efs.IFileSystem,
        access_point: efs.IAccessPoint,
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
        ]
