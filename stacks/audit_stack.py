"""Audit stack: the account's CloudTrail trail, its key, bucket and log group (all retained)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy

from config import EnvironmentConfig
from config.audit import GUARDDUTY_OFF
from config.names import resource_name
from constructs import Construct
from constructs.alarm_topic import AlarmTopic
from constructs.audit_bucket import AuditBucket
from constructs.audit_trail import AuditTrail, trail_arn
from constructs.log_encryption import LogsKey
from constructs.security_alarms import FindingsToTopic, SecurityAlarms, ThreatDetection
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
        self._watch_the_account(config)

    def _watch_the_account(self, config: EnvironmentConfig) -> None:
        """What the account has once, made by the environment that owns it
        (``owns_account_alarms``): the CIS metric filters on this trail's log group, their
        alarms and the security topic they notify; and, where ``audit.guardduty`` says
        ``create``, GuardDuty with Fargate runtime monitoring."""
        self.security_topic: AlarmTopic | None = None
        self.security_alarms: SecurityAlarms | None = None
        if config.owns_account_alarms:
            self.security_topic = AlarmTopic(
                self,
                "SecurityTopic",
                env_name=config.name,
                alarm_email=config.audit.security_email,
                purpose="security alarms",
            )
            self.security_alarms = SecurityAlarms(
                self, "SecurityAlarms", log_group=self.trail.log_group, topic=self.security_topic.topic
            )
            CfnOutput(
                self,
                "SecurityTopicArn",
                value=self.security_topic.topic.topic_arn,
                description="Subscribe the security team here (the CIS alarms of the account's trail)",
            )
        # GuardDuty's high-severity findings (of this project's detector or the account's
        # existing one) page the security topic too.
        if self.security_topic is not None and config.audit.guardduty != GUARDDUTY_OFF:
            FindingsToTopic(self, "GuardDutyFindings", topic=self.security_topic)
        self.threat_detection: ThreatDetection | None = None
        if config.audit.creates_detector:
            self.threat_detection = ThreatDetection(self, "ThreatDetection", production=config.is_production)
            CfnOutput(
                self,
                "GuardDutyDetectorId",
                value=self.threat_detection.detector.ref,
                description="The account's GuardDuty detector in this region",
            )
