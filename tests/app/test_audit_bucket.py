"""Where the audit logs are kept: the locked bucket, its access logs, retention, deploy order."""

from __future__ import annotations

import json

import pytest

from tests.audit_templates import CLOUDTRAIL, trail_arn
from tests.environments import STAGES, is_production, stages_of_kind
from tests.synth import Synthesized
from tests.templates import BLOCK_ALL_PUBLIC_ACCESS, account, ending, kms_bucket_encryption, settings


@pytest.mark.parametrize("stage", STAGES)
def test_bucket_policy_lets_only_this_trail_write(synthesized: Synthesized, stage: str) -> None:
    bucket_id, _ = ending(synthesized, f"{stage}/Audit", "/AuditBucket/Bucket/Resource")
    _, policy = ending(synthesized, f"{stage}/Audit", "/AuditBucket/Bucket/Policy/Resource")
    assert policy["Properties"]["Bucket"] == {"Ref": bucket_id}
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    from_this_trail = {"aws:SourceArn": trail_arn(stage), "aws:SourceAccount": account(stage)}
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": "CloudTrailAclCheck",
            "Action": "s3:GetBucketAcl",
            "Condition": {"StringEquals": from_this_trail},
            "Effect": "Allow",
            "Principal": CLOUDTRAIL,
            "Resource": {"Fn::GetAtt": [bucket_id, "Arn"]},
        },
        {
            "Sid": "CloudTrailWrite",
            "Action": "s3:PutObject",
            "Condition": {"StringEquals": {**from_this_trail, "s3:x-amz-acl": "bucket-owner-full-control"}},
            "Effect": "Allow",
            "Principal": CLOUDTRAIL,
            "Resource": {
                "Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, f"/AWSLogs/{account(stage)}/*"]]
            },
        },
    ]
    # TLS only, from SecureBucket: plain HTTP and TLS below 1.2 are refused to everyone.
    denies = [s["Condition"] for s in statements if s["Effect"] == "Deny"]
    assert denies == [
        {"Bool": {"aws:SecureTransport": "false"}},
        {"NumericLessThan": {"s3:TlsVersion": 1.2}},
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_audit_bucket_is_locked_encrypted_logged_and_expires(synthesized: Synthesized, stage: str) -> None:
    wanted = settings(stage)["audit"]
    key_id, _ = ending(synthesized, f"{stage}/Audit", "/AuditKey/Key/Resource")
    logs_id, _ = ending(synthesized, f"{stage}/Audit", "/AuditBucket/AccessLogs/Bucket/Resource")
    _, bucket = ending(synthesized, f"{stage}/Audit", "/AuditBucket/Bucket/Resource")
    props = bucket["Properties"]
    assert props["ObjectLockEnabled"] is True
    assert props["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {
            "DefaultRetention": {"Days": wanted["bucket_retention_days"], "Mode": wanted["object_lock_mode"]}
        },
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == kms_bucket_encryption(key_id)
    assert props["PublicAccessBlockConfiguration"] == BLOCK_ALL_PUBLIC_ACCESS
    assert props["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": logs_id},
        "LogFilePrefix": "audit-bucket/",
    }
    assert props["LifecycleConfiguration"]["Rules"] == [
        {
            "Id": "expire",
            "Status": "Enabled",
            "ExpirationInDays": wanted["bucket_retention_days"],
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }
    ]


@pytest.mark.parametrize("stage", stages_of_kind("production"))
def test_production_lock_is_compliance_mode(synthesized: Synthesized, stage: str) -> None:
    """Nobody, the account root included, can shorten the retention of production audit logs."""
    _, bucket = ending(synthesized, f"{stage}/Audit", "/AuditBucket/Bucket/Resource")
    retention = bucket["Properties"]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert retention == {"Days": settings(stage)["audit"]["bucket_retention_days"], "Mode": "COMPLIANCE"}


@pytest.mark.parametrize("stage", STAGES)
def test_access_log_bucket_takes_only_the_audit_buckets_logs_and_expires(
    synthesized: Synthesized, stage: str
) -> None:
    audit_id, _ = ending(synthesized, f"{stage}/Audit", "/AuditBucket/Bucket/Resource")
    logs_id, logs = ending(synthesized, f"{stage}/Audit", "/AuditBucket/AccessLogs/Bucket/Resource")
    (rule,) = logs["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == settings(stage)["audit"]["access_log_retention_days"]
    assert "ObjectLockConfiguration" not in logs["Properties"]
    _, policy = ending(synthesized, f"{stage}/Audit", "/AuditBucket/AccessLogs/Bucket/Policy/Resource")
    allows = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Action": "s3:PutObject",
            "Condition": {
                "ArnLike": {"aws:SourceArn": {"Fn::GetAtt": [audit_id, "Arn"]}},
                "StringEquals": {"aws:SourceAccount": account(stage)},
            },
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [logs_id, "Arn"]}, "/audit-bucket/*"]]},
        }
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_audit_data_and_key_survive_deletion_in_every_environment(
    synthesized: Synthesized, stage: str
) -> None:
    kept = [
        "/AuditKey/Key/Resource",
        "/AuditBucket/Bucket/Resource",
        "/AuditBucket/AccessLogs/Bucket/Resource",
        "/AuditTrail/LogGroup/Resource",
    ]
    for suffix in kept:
        _, resource = ending(synthesized, f"{stage}/Audit", suffix)
        assert resource["DeletionPolicy"] == "Retain", suffix
        assert resource["UpdateReplacePolicy"] == "Retain", suffix
    # Nothing empties a bucket on deletion (Object Lock would refuse it anyway).
    assert not synthesized.resources(f"{stage}/Audit", "Custom::S3AutoDeleteObjects")


@pytest.mark.parametrize("stage", STAGES)
def test_audit_is_deployed_first_and_protected_in_prod(synthesized: Synthesized, stage: str) -> None:
    manifest = json.loads((synthesized.outdir / f"assembly-{stage}" / "manifest.json").read_text())
    stacks = {
        a["displayName"]: (artifact_id, a)
        for artifact_id, a in manifest["artifacts"].items()
        if a["type"] == "aws:cloudformation:stack"
    }
    audit_id, audit_artifact = stacks.pop(f"{stage}/Audit")
    assert audit_artifact["properties"].get("terminationProtection", False) is is_production(stage)
    assert stacks, "no other stack to deploy after Audit"
    for name, (_, artifact) in stacks.items():
        assert audit_id in artifact["dependencies"], name
