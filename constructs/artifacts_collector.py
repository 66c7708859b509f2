"""The artifacts collector: a stopped agent task's outbox -> the artifacts bucket, after the task ends.

A presigned upload link dies with the credentials that signed it (S3, "Download and upload
objects with presigned URLs": a URL signed with temporary credentials expires when they do,
whatever its own expiry says), and the control plane signs with its task-role session. So the
results of a job that runs until its timeout do not depend on a link: the agent writes them into
its dispatch's outbox on the workspaces file system, and this function, a second target of the
task-state callback's "task STOPPED" rule, uploads them to ``<dispatch id>/`` of the artifacts
bucket with its own role once the task has stopped (lambdas/artifacts_collector/handler.py).

The agent gains nothing: its roles still hold no S3 permission. The function mounts the shared
``/workspaces`` access point (every file operation as uid/gid 1000, no root access), finds the
dispatch and its workspace in the dispatches table, and may only ``PutObject`` into the
artifacts bucket, with the data key only through S3. It shares the callback's dead-letter queue
and delivery settings pattern (retries, then the queue), and sits behind the ``collector``
security group (NFS to the file system, HTTPS out; nothing in).
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_efs as efs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3

from compliance.acknowledgements import acknowledge, wildcard_resource
from config.data import CollectorConfig
from config.tables import TASK_ARN_INDEX
from constructs import Construct
from constructs.log_encryption import LogsKey
from constructs.vpc_function import DeadLetters, Handler, VpcFunction
from constructs.workspaces_fs import MOUNT_PATH
from permissions.keys import key_through

MIB = 1024 * 1024

HANDLER = Handler(
    name="artifacts collector",
    role_description="Artifacts collector: uploads a stopped dispatch's outbox to the artifacts bucket",
    description="Uploads the outbox of a stopped agent task's dispatch to the artifacts bucket",
    directory=Path(__file__).resolve().parent.parent / "lambdas" / "artifacts_collector",
    memory_mb=512,
    # Lambda's maximum: up to max_mib_per_dispatch (at most 5 GiB) from EFS to S3.
    timeout=Duration.minutes(15),
    environment_holds="the table, index and bucket names, the mount path and the upload limits",
    data_permissions="the file-system permissions are limited to the /workspaces access point; the "
    "table, index, bucket and key permissions name their resources.",
)


class ArtifactsCollector(VpcFunction):
    """``function``, ``log_group``, ``role``, ``policy``; a target of ``stopped_tasks``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: CollectorConfig,
        stopped_tasks: events.Rule,
        dispatches: dynamodb.ITable,
        artifacts: s3.IBucket,
        data_key: kms.IKey,
        file_system: efs.IFileSystem,
        access_point: efs.IAccessPoint,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        dead_letters: DeadLetters,
        logs_key: LogsKey,
    ) -> None:
        super().__init__(scope, construct_id)
        # As the sweeper: CDK's own rules and statements of from_efs_access_point are dropped;
        # every rule lives in NetworkPolicy, every permission in the policy.
        mount = lambda_.FileSystem.from_efs_access_point(access_point, MOUNT_PATH).config
        self._add_function(
            HANDLER,
            environment={
                "DISPATCHES_TABLE": dispatches.table_name,
                "TASK_ARN_INDEX": TASK_ARN_INDEX,
                "ARTIFACTS_BUCKET": artifacts.bucket_name,
                "WORKSPACES_ROOT": MOUNT_PATH,
                "MAX_FILES": str(config.max_files_per_dispatch),
                "MAX_BYTES": str(config.max_mib_per_dispatch * MIB),
            },
            statements=self._statements(dispatches, artifacts, data_key, file_system, access_point),
            vpc=vpc,
            security_group=security_group,
            dead_letters=dead_letters,
            logs_key=logs_key,
            log_retention_days=config.log_retention_days,
            reserved_concurrency=config.reserved_concurrency,
            retry_attempts=config.retry_attempts,
            max_event_age=Duration.minutes(config.max_event_age_minutes),
            filesystem=lambda_.FileSystem(
                arn=mount.arn, local_mount_path=mount.local_mount_path, dependency=mount.dependency
            ),
        )
        acknowledge(
            self.policy,
            "The collector writes each dispatch's objects under its own id, which exists only at run "
            "time, so PutObject names the artifacts bucket's objects; the prefix is built by the "
            "function from the dispatch record, never from the agent's files, and it may only put "
            "(no read, list or delete).",
            wildcard_resource(self, artifacts.arn_for_objects("*")),
        )
        stopped_tasks.add_target(
            targets.LambdaFunction(
                self.function,
                dead_letter_queue=dead_letters.queue,
                retry_attempts=config.target_retry_attempts,
                max_event_age=Duration.minutes(config.max_event_age_minutes),
            )
        )

    def _statements(
        self,
        dispatches: dynamodb.ITable,
        artifacts: s3.IBucket,
        data_key: kms.IKey,
        file_system: efs.IFileSystem,
        access_point: efs.IAccessPoint,
    ) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                sid="MountTheWorkspacesAccessPointToCollect",
                # ClientWrite: an uploaded file is deleted from the outbox (a retry skips it).
                actions=["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                resources=[file_system.file_system_arn],
                conditions={
                    "StringEquals": {"elasticfilesystem:AccessPointArn": access_point.access_point_arn}
                },
            ),
            iam.PolicyStatement(
                sid="FindTheDispatchOfATask",
                actions=["dynamodb:Query"],
                resources=[f"{dispatches.table_arn}/index/{TASK_ARN_INDEX}"],
            ),
            iam.PolicyStatement(
                sid="ReadTheDispatchWorkspace",
                actions=["dynamodb:GetItem"],
                resources=[dispatches.table_arn],
            ),
            iam.PolicyStatement(
                sid="UploadArtifacts",
                actions=["s3:PutObject"],
                resources=[artifacts.arn_for_objects("*")],
            ),
            key_through(
                data_key,
                "dynamodb",
                "s3",
                scope=self,
                sid="UseTheDataKeyThroughDynamoDbAndS3",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
            ),
        ]
