"""The artifacts bucket: agents' run output, KMS-encrypted, access-logged, expiring."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from compliance.acknowledgements import acknowledge, control_tower
from config.data import DataConfig
from constructs import Construct
from constructs.buckets import AccessLogBucket, SecureBucket


class ArtifactsBucket(Construct):
    """``bucket`` (made by ``SecureBucket``) and ``access_logs``, the bucket its S3 access logs go to.

    With ``lock`` (production), every object version is locked in governance mode for the
    non-current period, so no version can be destroyed before the lifecycle rule would expire
    it. A delete without a version id still works (it adds a delete marker), so the control
    plane's ``DELETE /artifacts`` is unaffected.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DataConfig,
        encryption_key: kms.IKey,
        removal_policy: RemovalPolicy,
        lock: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = AccessLogBucket(
            self,
            "AccessLogs",
            expiration_days=config.access_log_retention_days,
            removal_policy=removal_policy,
        )
        lock_days = Duration.days(config.artifacts_noncurrent_expiration_days)
        self.bucket = SecureBucket(
            self,
            "Bucket",
            expiration_days=config.artifacts_expiration_days,
            noncurrent_expiration_days=config.artifacts_noncurrent_expiration_days,
            removal_policy=removal_policy,
            encryption_key=encryption_key,
            server_access_logs=self.access_logs.bucket,
            access_logs_prefix="artifacts/",
            object_lock=s3.ObjectLockRetention.governance(lock_days) if lock else None,
        )
        if not lock:
            acknowledge(
                self.bucket,
                "Development artifacts are deleted with the stack, which a default Object Lock would "
                "block (auto-delete cannot remove locked versions); versioning keeps every overwritten or "
                "deleted object for the non-current period, and production buckets are locked and retained.",
                "NIST.800.53.R4-S3BucketDefaultLockEnabled",
                control_tower("s3_bucket_object_lock_enabled_check"),
            )
