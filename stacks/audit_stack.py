"""Audit stack: the account's CloudTrail trail, its key, bucket and log group (all retained)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy

from config import EnvironmentConfig
from config.names import resource_name
from constructs import Construct
from constructs.audit_bucket import AuditBucket
from constructs.audit_trail import AuditTrail, trail_arn
from constructs.log_encryption import LogsKey
from stacks.base import OutpostStack


class AuditStack(OutpostStack):
    """Deployed first and never deleted with the rest: it records what every other stack does.

    ``key`` encrypts the trail's log files, the audit bucket and the trail's log group;
    ``bucket`` is the dedicated audit bucket; ``trail`` the CloudTrail trail. Everything that
    holds audit data is retained on deletion, in every environment.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description="CloudTrail trail of the account, its KMS key, audit bucket and log group",
            **kwargs,
        )
        trail_name = resource_name(config.name, "audit")
        self.key = LogsKey(
            self,
            "AuditKey",
            description=f"Outpost {config.name}: encrypts the CloudTrail log files and their log group",
            removal_policy=RemovalPolicy.RETAIN,
            production=config.is_production,
        )
        audit = AuditBucket(
            self,
            "AuditBucket",
            config=config.audit,
            encryption_key=self.key.key,
            trail_arn=trail_arn(self, trail_name),
        )
        self.bucket = audit.bucket
        self.access_log_bucket = audit.access_logs.bucket
        self.trail = AuditTrail(
            self,
            "AuditTrail",
            trail_name=trail_name,
            config=config.audit,
            key=self.key,
            bucket=self.bucket,
            exclude_buckets=[self.bucket, self.access_log_bucket],
            # Retained in every kind; a fixed name only in production kind: a development
            # environment is destroyed and created again, and a retained log group that keeps
            # its name would make that create fail ("already exists"). Its name is an output.
            log_group_name=(
                "/" + resource_name(config.name, "cloudtrail", separator="/")
                if config.is_production
                else None
            ),
        )
        CfnOutput(self, "TrailArn", value=self.trail.trail_arn, description="The account's CloudTrail trail")
        CfnOutput(self, "AuditBucketName", value=self.bucket.bucket_name, description="CloudTrail log files")
        CfnOutput(
            self,
            "TrailLogGroupName",
            value=self.trail.log_group.log_group_name,
            description="CloudTrail events in CloudWatch Logs",
        )
