"""constructs/buckets.py: the defaults every bucket of the app gets, and zero nag findings."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from compliance.kms_grants import deny_grants_except_for_aws_services
from compliance.packs import add_nag_packs, read_report, unacknowledged_findings
from constructs.buckets import AccessLogBucket, SecureBucket
from tests.synth import shipped_context
from tests.templates import BLOCK_ALL_PUBLIC_ACCESS


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    outdir = tmp_path_factory.mktemp("buckets")
    # The feature flags of cdk.json apply (server access logs through the bucket policy).
    app = cdk.App(outdir=str(outdir), context={**shipped_context(), "aws:cdk:enable-path-metadata": True})
    stack = cdk.Stack(app, "Buckets", env=cdk.Environment(account="111111111111", region="us-east-1"))
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    deny_grants_except_for_aws_services(key)  # what OutpostStage does for every key
    logs = AccessLogBucket(stack, "AccessLogs", expiration_days=90, removal_policy=RemovalPolicy.RETAIN)
    SecureBucket(
        stack,
        "Data",
        expiration_days=30,
        noncurrent_expiration_days=7,
        removal_policy=RemovalPolicy.DESTROY,
        encryption_key=key,
        server_access_logs=logs.bucket,
        access_logs_prefix="data/",
        object_lock=s3.ObjectLockRetention.governance(cdk.Duration.days(30)),
    )
    add_nag_packs(app)
    with contextlib.suppress(RuntimeError):  # an open finding: test_no_nag_findings names it
        app.synth()
    template = json.loads((outdir / "Buckets.template.json").read_text())
    return template, read_report(outdir)


def by_prefix(template: dict[str, Any], prefix: str) -> dict[str, Any]:
    resources: dict[str, dict[str, Any]] = template["Resources"]
    (match,) = [
        r for logical_id, r in resources.items()
        if logical_id.startswith(prefix) and r["Type"] == "AWS::S3::Bucket"
    ]  # fmt: skip
    return match


def test_every_bucket_is_locked_down_and_expires(synthesized: tuple[dict[str, Any], dict[str, Any]]) -> None:
    template, _ = synthesized
    for prefix in ("AccessLogsBucket", "Data"):
        props = by_prefix(template, prefix)["Properties"]
        assert props["PublicAccessBlockConfiguration"] == BLOCK_ALL_PUBLIC_ACCESS
        assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        events = {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
        assert props["NotificationConfiguration"] == events
        (rule,) = props["LifecycleConfiguration"]["Rules"]
        assert rule["Status"] == "Enabled"
        assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
        assert "ExpirationInDays" in rule
        assert "NoncurrentVersionExpiration" in rule


def test_data_bucket_is_kms_encrypted_logged_and_locked(
    synthesized: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    template, _ = synthesized
    resource = by_prefix(template, "Data")
    props = resource["Properties"]
    (sse,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert sse["BucketKeyEnabled"] is True
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "data/"
    assert props["ObjectLockEnabled"] is True
    assert props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {"Days": 30, "Mode": "GOVERNANCE"}
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 30
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 7}
    assert resource["DeletionPolicy"] == "Delete"


def test_access_log_bucket_is_sse_s3_and_retained(synthesized: tuple[dict[str, Any], dict[str, Any]]) -> None:
    template, _ = synthesized
    resource = by_prefix(template, "AccessLogsBucket")
    (sse,) = resource["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert sse["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["Properties"]["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 90


def test_plain_http_is_refused(synthesized: tuple[dict[str, Any], dict[str, Any]]) -> None:
    template, _ = synthesized
    policies = [r for r in template["Resources"].values() if r["Type"] == "AWS::S3::BucketPolicy"]
    assert len(policies) == 2
    for policy in policies:
        denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        conditions = [s["Condition"] for s in denies]
        assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
        assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions


def test_no_nag_findings(synthesized: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, report = synthesized
    assert unacknowledged_findings(report) == []
