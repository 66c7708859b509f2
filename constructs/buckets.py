"""Locked-down S3 buckets: every bucket of the app is made here, the same way.

Every bucket blocks all public access, refuses plain HTTP, enforces bucket-owner object
ownership (no ACLs), is versioned, and expires what it accumulates: current objects after
``expiration_days``, non-current versions after ``noncurrent_expiration_days``, incomplete
multipart uploads after a day. ``server_access_logs`` sends S3 server access logs to a
:class:`AccessLogBucket`. Every bucket is a :class:`SecureBucket`.
"""

from __future__ import annotations

import json

import jsii
from aws_cdk import Aspects, Duration, IAspect, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from compliance.acknowledgements import acknowledge, control_tower, in_packs
from compliance.scanners import accept_cdk_provider, skip_checkov
from constructs import Construct, IConstruct

# cdk-nag's packs that have an S3DefaultEncryptionKMS rule (NIST 800-53 rev 4 has none).
PACKS_WITH_KMS_RULE = ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
LOG_TARGET_REASON = (
    "This bucket is the access-log target: S3 and ELB log delivery write here, and logging the "
    "log bucket to itself would recurse; writes are limited to the log delivery services by the "
    "bucket policy and every object expires."
)

REPLICATION_REASON = (
    "Single-region by design. Compensating controls: versioning keeps every overwritten or deleted "
    "object recoverable until its non-current expiry, public access is blocked, only TLS is accepted, "
    "and buckets of production data are retained on stack deletion; cross-region replication would "
    "double the copies without a recovery plan that needs them."
)


class SecureBucket(s3.Bucket):
    """A bucket with every default of this module, KMS-encrypted when ``encryption_key`` is set.

    Without a key the bucket uses SSE-S3, which is what S3 server access logging and ELB
    access logging require of their target; the caller acknowledges the KMS rule there.
    A ``RETAIN`` bucket keeps its objects; any other removal policy empties it on deletion.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        expiration_days: int,
        noncurrent_expiration_days: int,
        removal_policy: RemovalPolicy,
        encryption_key: kms.IKey | None = None,
        server_access_logs: s3.IBucket | None = None,
        access_logs_prefix: str | None = None,
        object_lock: s3.ObjectLockRetention | None = None,
        bucket_name: str | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            bucket_name=bucket_name,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            encryption=s3.BucketEncryption.KMS if encryption_key else s3.BucketEncryption.S3_MANAGED,
            encryption_key=encryption_key,
            bucket_key_enabled=encryption_key is not None,
            server_access_logs_bucket=server_access_logs,
            server_access_logs_prefix=access_logs_prefix,
            object_lock_enabled=object_lock is not None or None,
            object_lock_default_retention=object_lock,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire",
                    expiration=Duration.days(expiration_days),
                    noncurrent_version_expiration=Duration.days(noncurrent_expiration_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=removal_policy,
            auto_delete_objects=removal_policy is not RemovalPolicy.RETAIN,
        )
        # Natively, not through ``event_bridge_enabled`` (which deploys a notifications Lambda).
        cfn_bucket = self.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
                event_bridge_enabled=True
            )
        )
        acknowledge(self, REPLICATION_REASON, *in_packs("S3BucketReplicationEnabled"))
        if removal_policy is not RemovalPolicy.RETAIN:
            accept_cdk_provider(
                self,
                "Custom::S3AutoDeleteObjectsCustomResourceProvider",
                purpose="CDK's handler that empties a bucket of a development stack when the stack is "
                "deleted; its role may only list and delete objects of the buckets that enable it.",
            )


class AccessLogBucket(Construct):
    """The target of S3 server access logs and of ALB access logs.

    SSE-S3 encrypted, because neither log delivery service can write to a bucket encrypted
    with a customer-managed key; not itself access-logged, because logging the log bucket
    into itself would recurse.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        expiration_days: int,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = SecureBucket(
            self,
            "Bucket",
            expiration_days=expiration_days,
            noncurrent_expiration_days=1,
            removal_policy=removal_policy,
        )
        # cdk-nag exempts a bucket other buckets send server access logs to; the Control Tower
        # rule does not. Which one this is shows only once the stack is complete.
        acknowledge(self.bucket, LOG_TARGET_REASON, control_tower("s3_bucket_logging_enabled_check"))
        Aspects.of(self.bucket).add(_NagLoggingUnlessServerAccessLogTarget(self.bucket))
        skip_checkov(
            self.bucket,
            "CKV_AWS_18",
            "The access-log target itself: logging it into itself would recurse; only the log "
            "delivery services may write (bucket policy) and every object expires.",
        )
        acknowledge(
            self.bucket,
            "S3 server access logging and ELB access logging deliver only to SSE-S3 buckets; objects "
            "are encrypted at rest with S3-managed keys, TLS is enforced and public access is blocked.",
            *in_packs("S3DefaultEncryptionKMS", PACKS_WITH_KMS_RULE),
            control_tower("s3_bucket_default_encryption_kms_check"),
        )
        acknowledge(
            self.bucket,
            "S3 server access logging refuses a target bucket with an Object Lock default retention; "
            "the log objects are versioned, kept by the lifecycle rule for their full term, and only the "
            "log delivery services may write.",
            "NIST.800.53.R4-S3BucketDefaultLockEnabled",
            control_tower("s3_bucket_object_lock_enabled_check"),
        )


@jsii.implements(IAspect)
class _NagLoggingUnlessServerAccessLogTarget:
    """Acknowledge cdk-nag's logging rules on a log bucket, unless nag exempts it anyway.

    cdk-nag does not flag a bucket that another bucket of the stack sends S3 server access
    logs to; an acknowledgement there would match nothing and read as a stale exception.
    """

    def __init__(self, bucket: s3.Bucket) -> None:
        self._bucket = bucket

    def visit(self, node: IConstruct) -> None:
        if node.node.path != self._bucket.node.path:
            return
        stack = Stack.of(self._bucket)
        target = json.dumps(stack.resolve(self._bucket.bucket_name))
        for child in stack.node.find_all():
            logging = child.logging_configuration if isinstance(child, s3.CfnBucket) else None
            if logging is not None and target in json.dumps(stack.resolve(logging)):
                return
        acknowledge(self._bucket, LOG_TARGET_REASON, "AwsSolutions-S1", *in_packs("S3BucketLoggingEnabled"))
