"""The account's CloudTrail trail: every region, every management event, tamper-evident."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from config.audit import AuditConfig
from constructs import Construct
from constructs.audit_bucket import CLOUDTRAIL
from constructs.log_encryption import LogsKey


def trail_arn(scope: Construct, trail_name: str) -> str:
    """The ARN a trail named ``trail_name`` gets in ``scope``'s account and region.

    Built from the name rather than read from the trail: the trail depends on the bucket
    policy and the key, whose statements name this ARN, so a reference would be a cycle.
    """
    return Stack.of(scope).format_arn(
        service="cloudtrail",
        resource="trail",
        resource_name=trail_name,
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )


class AuditTrail(Construct):
    """``trail`` (L1), ``log_group`` and ``logs_role``, given the key and the audit bucket.

    A multi-region trail with global service events (IAM, STS, CloudFront) and log-file
    validation (hourly signed digest files), encrypted with ``key`` and delivered both to
    ``bucket`` and to a CloudWatch Logs group encrypted with the same key.

    The trail is the L1 ``CfnTrail`` on purpose: the L2 ``Trail`` adds bucket statements
    without ``aws:SourceArn`` / ``aws:SourceAccount`` conditions and a delivery role with an
    inline policy, both of which this construct makes narrower itself.

    Event selectors are advanced selectors: one records every management event, read and
    write (no ``readOnly`` field selector). S3 object-level events are optional: all buckets
    except ``exclude_buckets`` (the audit bucket and its access-log bucket: recording the
    trail's own deliveries would feed the trail with itself), or the listed buckets only.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        trail_name: str,
        config: AuditConfig,
        key: LogsKey,
        bucket: s3.IBucket,
        exclude_buckets: Sequence[s3.IBucket],
        log_group_name: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.trail_arn = trail_arn(self, trail_name)
        self._allow_cloudtrail_to_use(key)

        self.log_group = key.log_group(
            "LogGroup",
            scope=self,
            retention_days=config.log_group_retention_days,
            log_group_name=log_group_name,
        )
        delivery = self._logs_delivery(trail_name)

        self.trail = cloudtrail.CfnTrail(
            self,
            "Trail",
            trail_name=trail_name,
            is_logging=True,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            kms_key_id=key.key.key_arn,
            s3_bucket_name=bucket.bucket_name,
            cloud_watch_logs_log_group_arn=self.log_group.log_group_arn,
            cloud_watch_logs_role_arn=self.logs_role.role_arn,
            advanced_event_selectors=event_selectors(config, exclude_buckets, stack.partition),
        )
        # CloudTrail checks that it may write to the bucket and the log group before it
        # creates the trail: the bucket policy and the role's policy must exist first.
        if bucket.policy is not None:
            self.trail.node.add_dependency(bucket.policy)
        self.trail.node.add_dependency(delivery)

    def _logs_delivery(self, trail_name: str) -> iam.ManagedPolicy:
        """``logs_role``, which CloudTrail assumes to write to ``log_group``, and its one policy."""
        # CloudTrail does not send aws:SourceArn / aws:SourceAccount when it assumes its
        # CloudWatch Logs role (AWS CloudTrail user guide, "Role policy document for
        # CloudTrail to use CloudWatch Logs"), so the trust cannot carry them; the role can
        # do two things to one log group, and only this account can pass it to a trail.
        self.logs_role = iam.Role(
            self,
            "LogsRole",
            assumed_by=iam.ServicePrincipal(CLOUDTRAIL),
            description=f"CloudTrail {trail_name} delivers events to its log group",
        )
        return iam.ManagedPolicy(
            self,
            "LogsDelivery",
            roles=[self.logs_role],
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[self.log_group.log_group_arn],
                )
            ],
        )

    def _allow_cloudtrail_to_use(self, key: LogsKey) -> None:
        """Key statements for this trail only: encrypt log files, describe the key."""
        account = Stack.of(self).account
        from_this_trail = {"aws:SourceArn": self.trail_arn}
        key.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudTrailToEncryptLogFiles",
                principals=[iam.ServicePrincipal(CLOUDTRAIL)],
                actions=["kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "StringEquals": from_this_trail,
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": Stack.of(self).format_arn(
                            service="cloudtrail",
                            region="*",
                            account=account,
                            resource="trail",
                            resource_name="*",
                        )
                    },
                },
            )
        )
        key.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudTrailToDescribeKey",
                principals=[iam.ServicePrincipal(CLOUDTRAIL)],
                actions=["kms:DescribeKey"],
                resources=["*"],
                conditions={"StringEquals": from_this_trail},
            )
        )


def event_selectors(
    config: AuditConfig, exclude_buckets: Sequence[s3.IBucket], partition: str
) -> list[cloudtrail.CfnTrail.AdvancedEventSelectorProperty]:
    """Advanced event selectors: every management event; S3 object events as configured.

    ``exclude_buckets`` are left out of "every bucket": recording the trail's own deliveries
    (and the access logs of them) would feed the trail with itself.
    """
    field = cloudtrail.CfnTrail.AdvancedFieldSelectorProperty
    selectors = [
        cloudtrail.CfnTrail.AdvancedEventSelectorProperty(
            name="All management events, read and write",
            field_selectors=[field(field="eventCategory", equal_to=["Management"])],
        )
    ]
    s3_objects = [
        field(field="eventCategory", equal_to=["Data"]),
        field(field="resources.type", equal_to=["AWS::S3::Object"]),
    ]
    if config.log_all_s3_data_events:
        excluded = [b.arn_for_objects("") for b in exclude_buckets]
        selectors.append(
            cloudtrail.CfnTrail.AdvancedEventSelectorProperty(
                name="S3 object events of every bucket but the audit buckets",
                field_selectors=[
                    *s3_objects,
                    # CloudTrail refuses an empty value list: no exclusion, no field selector.
                    *([field(field="resources.ARN", not_starts_with=excluded)] if excluded else []),
                ],
            )
        )
    elif config.s3_data_event_selectors:
        selectors.append(
            cloudtrail.CfnTrail.AdvancedEventSelectorProperty(
                name="S3 object events of the configured buckets",
                field_selectors=[
                    *s3_objects,
                    field(
                        field="resources.ARN",
                        starts_with=[
                            f"arn:{partition}:s3:::{s.bucket}/{s.prefix}"
                            for s in config.s3_data_event_selectors
                        ],
                    ),
                ],
            )
        )
    return selectors
