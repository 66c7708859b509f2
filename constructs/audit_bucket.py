"""The dedicated bucket that receives the CloudTrail trail, and nothing else."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from config.audit import AuditConfig
from constructs import Construct
from constructs.buckets import AccessLogBucket, SecureBucket

CLOUDTRAIL = "cloudtrail.amazonaws.com"
# Once Object Lock has expired, a non-current version has nothing left to prove: remove it.
NONCURRENT_EXPIRATION_DAYS = 1


class AuditBucket(Construct):
    """``bucket`` (the trail's log files) and ``access_logs`` (who read or wrote them).

    Both are kept when the stack is deleted, in every environment. Every object version is
    under S3 Object Lock for ``bucket_retention_days`` (COMPLIANCE: not even the account root
    can shorten it), and the lifecycle rule expires it right after: current versions after
    the retention, non-current versions a day after they became non-current. A lifecycle
    rule never removes a locked version, so the lock, not the rule, is what guarantees the
    retention.

    The bucket policy lets only CloudTrail write, only for the trail ``trail_arn`` of this
    account (``aws:SourceArn`` and ``aws:SourceAccount``), and only under ``AWSLogs/<account>/``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AuditConfig,
        encryption_key: kms.IKey,
        trail_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = AccessLogBucket(
            self,
            "AccessLogs",
            expiration_days=config.access_log_retention_days,
            removal_policy=RemovalPolicy.RETAIN,
        )
        retention = Duration.days(config.bucket_retention_days)
        lock = (
            s3.ObjectLockRetention.compliance(retention)
            if config.object_lock_mode == "COMPLIANCE"
            else s3.ObjectLockRetention.governance(retention)
        )
        # RETAIN also switches off auto-delete: objects under Object Lock could not be emptied anyway.
        self.bucket = SecureBucket(
            self,
            "Bucket",
            expiration_days=config.bucket_retention_days,
            noncurrent_expiration_days=NONCURRENT_EXPIRATION_DAYS,
            removal_policy=RemovalPolicy.RETAIN,
            encryption_key=encryption_key,
            server_access_logs=self.access_logs.bucket,
            access_logs_prefix="audit-bucket/",
            object_lock=lock,
        )

        account = Stack.of(self).account
        from_this_trail = {"aws:SourceArn": trail_arn, "aws:SourceAccount": account}
        cloudtrail = iam.ServicePrincipal(CLOUDTRAIL)
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailAclCheck",
                principals=[cloudtrail],
                actions=["s3:GetBucketAcl"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringEquals": from_this_trail},
            )
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailWrite",
                principals=[cloudtrail],
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects(f"AWSLogs/{account}/*")],
                conditions={"StringEquals": {**from_this_trail, "s3:x-amz-acl": "bucket-owner-full-control"}},
            )
        )
