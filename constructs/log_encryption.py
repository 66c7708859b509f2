"""A customer-managed KMS key that CloudWatch Logs may use, and log groups encrypted with it."""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs

from compliance.acknowledgements import acknowledge, control_tower
from config.common import LOG_RETENTION_DAYS, PRODUCTION_LOG_RETENTION_DAYS
from constructs import Construct

KEY_ACTIONS_FOR_LOGS = (
    "kms:Encrypt*",
    "kms:Decrypt*",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:Describe*",
)


class LogsKey(Construct):
    """One rotating KMS key for the log groups of a stack.

    The key policy lets the CloudWatch Logs service of this account and region use the key
    only for log groups of this account and region (``kms:EncryptionContext:aws:logs:arn``).
    ``production``: the key's log groups are a production environment's (see ``log_group``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str,
        removal_policy: RemovalPolicy,
        production: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self._removal_policy = removal_policy
        self._production = production
        self.key = kms.Key(
            self,
            "Key",
            description=description,
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        stack = Stack.of(self)
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsOfThisAccountAndRegion",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=list(KEY_ACTIONS_FOR_LOGS),
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )

    def log_group(
        self,
        construct_id: str,
        *,
        retention_days: int,
        scope: Construct | None = None,
        log_group_name: str | None = None,
    ) -> logs.LogGroup:
        """A log group encrypted with this key, expiring after ``retention_days``.

        Under a year, AWS Control Tower's CT.CLOUDWATCH.PR.2 fails the log group; outside
        production it is acknowledged here (the settings check makes production keep
        ``PRODUCTION_LOG_RETENTION_DAYS``). In a production stack the finding stays open.
        """
        group = logs.LogGroup(
            scope or self,
            construct_id,
            log_group_name=log_group_name,
            encryption_key=self.key,
            retention=_retention(retention_days),
            removal_policy=self._removal_policy,
        )
        if retention_days < PRODUCTION_LOG_RETENTION_DAYS and not self._production:
            acknowledge(
                group,
                f"Development log group kept {retention_days} days by its setting: the settings check "
                f"makes every production environment keep logs {PRODUCTION_LOG_RETENTION_DAYS} days or "
                "more, and a development environment carries no production data.",
                control_tower("cloudwatch_log_group_retention_period_check"),
            )
        return group


def _retention(days: int) -> logs.RetentionDays:
    """The RetentionDays member for ``days`` (validated against LOG_RETENTION_DAYS)."""
    finite = [m for m in logs.RetentionDays if m is not logs.RetentionDays.INFINITE]
    return dict(zip(LOG_RETENTION_DAYS, finite, strict=True))[days]
