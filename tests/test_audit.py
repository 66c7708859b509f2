"""Fine-grained assertions of the Audit stack: trail, key policy, audit bucket, log group."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest

from config.audit import AuditConfig, S3DataEventSelector
from constructs.audit_trail import event_selectors
from tests.conftest import STAGES
from tests.synth import Synthesized, shipped_context

SETTINGS = shipped_context()["outpost"]["environments"]
REGION = "us-east-1"
CLOUDTRAIL = {"Service": "cloudtrail.amazonaws.com"}


def settings(stage: str) -> dict[str, Any]:
    return SETTINGS[stage.lower()]  # type: ignore[no-any-return]


def account(stage: str) -> str:
    return settings(stage)["account"]  # type: ignore[no-any-return]


def trail_arn(stage: str) -> str:
    return f"arn:aws:cloudtrail:{REGION}:{account(stage)}:trail/outpost-{stage.lower()}-audit"


def audit(synthesized: Synthesized, stage: str) -> dict[str, Any]:
    return synthesized.template(f"{stage}/Audit")


def by_path(synthesized: Synthesized, stage: str, suffix: str) -> tuple[str, dict[str, Any]]:
    """The one resource whose construct path ends with ``suffix``, with its logical id."""
    found = [
        (logical_id, resource)
        for logical_id, resource in audit(synthesized, stage)["Resources"].items()
        if resource.get("Metadata", {}).get("aws:cdk:path", "").endswith(suffix)
    ]
    assert len(found) == 1, (suffix, [f[0] for f in found])
    return found[0]


def only(synthesized: Synthesized, stage: str, resource_type: str) -> tuple[str, dict[str, Any]]:
    found = synthesized.resources(f"{stage}/Audit", resource_type)
    assert len(found) == 1, sorted(found)
    return next(iter(found.items()))


def trail(synthesized: Synthesized, stage: str) -> dict[str, Any]:
    return only(synthesized, stage, "AWS::CloudTrail::Trail")[1]


@pytest.mark.parametrize("stage", STAGES)
def test_trail_is_multi_region_global_validated_and_encrypted(synthesized: Synthesized, stage: str) -> None:
    resource = trail(synthesized, stage)
    props = resource["Properties"]
    key_id, _ = by_path(synthesized, stage, "/AuditKey/Key/Resource")
    bucket_id, _ = by_path(synthesized, stage, "/AuditBucket/Bucket/Resource")
    group_id, _ = only(synthesized, stage, "AWS::Logs::LogGroup")
    role_id, _ = only(synthesized, stage, "AWS::IAM::Role")
    assert props["TrailName"] == f"outpost-{stage.lower()}-audit"
    assert props["IsLogging"] is True
    assert props["IsMultiRegionTrail"] is True
    assert props["IncludeGlobalServiceEvents"] is True
    assert props["EnableLogFileValidation"] is True
    assert props["KMSKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert props["S3BucketName"] == {"Ref": bucket_id}
    assert "S3KeyPrefix" not in props
    assert props["CloudWatchLogsLogGroupArn"] == {"Fn::GetAtt": [group_id, "Arn"]}
    assert props["CloudWatchLogsRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert "IsOrganizationTrail" not in props
    # CloudTrail checks its bucket and log-group permissions when the trail is created.
    policy_id, _ = by_path(synthesized, stage, "/AuditBucket/Bucket/Policy/Resource")
    delivery_id, _ = only(synthesized, stage, "AWS::IAM::ManagedPolicy")
    assert sorted(resource["DependsOn"]) == sorted([policy_id, delivery_id])


MANAGEMENT_EVENTS = {
    "Name": "All management events, read and write",
    # No readOnly field selector: read and write events alike (ReadWriteType All).
    "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
}


def test_dev_records_every_management_event_and_no_data_events(synthesized: Synthesized) -> None:
    assert settings("Dev")["audit"]["s3_data_events"] is False
    props = trail(synthesized, "Dev")["Properties"]
    assert props["AdvancedEventSelectors"] == [MANAGEMENT_EVENTS]
    assert "EventSelectors" not in props


def test_prod_records_s3_object_events_except_its_own_deliveries(synthesized: Synthesized) -> None:
    assert settings("Prod")["audit"]["s3_data_events"] is True
    props = trail(synthesized, "Prod")["Properties"]
    bucket_id, _ = by_path(synthesized, "Prod", "/AuditBucket/Bucket/Resource")
    logs_id, _ = by_path(synthesized, "Prod", "/AuditBucket/AccessLogs/Bucket/Resource")

    def objects_of(logical_id: str) -> dict[str, Any]:
        return {"Fn::Join": ["", [{"Fn::GetAtt": [logical_id, "Arn"]}, "/"]]}

    assert props["AdvancedEventSelectors"] == [
        MANAGEMENT_EVENTS,
        {
            "Name": "S3 object events of every bucket but the audit buckets",
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                {"Field": "resources.ARN", "NotStartsWith": [objects_of(bucket_id), objects_of(logs_id)]},
            ],
        },
    ]


def test_named_buckets_select_their_object_events() -> None:
    """The list form of ``s3_data_events``: only the named buckets (and prefixes).

    Resolved without a synth, so the keys are the L1 property names (``equalTo`` is
    CloudFormation's ``Equals``; the prod template test checks that rendering).
    """
    config = AuditConfig(
        bucket_retention_days=365,
        object_lock_mode="GOVERNANCE",
        log_group_retention_days=365,
        access_log_retention_days=365,
        log_all_s3_data_events=False,
        s3_data_event_selectors=(
            S3DataEventSelector("artifacts-bucket"),
            S3DataEventSelector("other-bucket", "jobs/"),
        ),
    )
    selectors = event_selectors(config, [], "aws")
    resolved = cdk.Stack().resolve(selectors)
    assert resolved == [
        {
            "name": MANAGEMENT_EVENTS["Name"],
            "fieldSelectors": [{"field": "eventCategory", "equalTo": ["Management"]}],
        },
        {
            "name": "S3 object events of the configured buckets",
            "fieldSelectors": [
                {"field": "eventCategory", "equalTo": ["Data"]},
                {"field": "resources.type", "equalTo": ["AWS::S3::Object"]},
                {
                    "field": "resources.ARN",
                    "startsWith": ["arn:aws:s3:::artifacts-bucket/", "arn:aws:s3:::other-bucket/jobs/"],
                },
            ],
        },
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_key_rotates_and_serves_cloudtrail_and_logs_only(synthesized: Synthesized, stage: str) -> None:
    _, key = by_path(synthesized, stage, "/AuditKey/Key/Resource")
    assert len(synthesized.resources(f"{stage}/Audit", "AWS::KMS::Key")) == 1
    assert key["Properties"]["EnableKeyRotation"] is True
    acct = account(stage)
    assert key["Properties"]["KeyPolicy"]["Statement"] == [
        # CDK's statement: the account administers the key through IAM policies.
        {
            "Action": "kms:*",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
            "Resource": "*",
        },
        {
            "Sid": "AllowCloudWatchLogsOfThisAccountAndRegion",
            "Action": [
                "kms:Decrypt*",
                "kms:Describe*",
                "kms:Encrypt*",
                "kms:GenerateDataKey*",
                "kms:ReEncrypt*",
            ],
            "Condition": {
                "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{acct}:log-group:*"}
            },
            "Effect": "Allow",
            "Principal": {"Service": {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}},
            "Resource": "*",
        },
        {
            "Sid": "AllowCloudTrailToEncryptLogFiles",
            "Action": "kms:GenerateDataKey*",
            "Condition": {
                "StringEquals": {"aws:SourceArn": trail_arn(stage)},
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{acct}:trail/*"
                },
            },
            "Effect": "Allow",
            "Principal": CLOUDTRAIL,
            "Resource": "*",
        },
        {
            "Sid": "AllowCloudTrailToDescribeKey",
            "Action": "kms:DescribeKey",
            "Condition": {"StringEquals": {"aws:SourceArn": trail_arn(stage)}},
            "Effect": "Allow",
            "Principal": CLOUDTRAIL,
            "Resource": "*",
        },
        {
            # Every key of an OutpostStack (constructs/kms_grants.py, Control Tower CT.KMS.PR.3).
            "Sid": "DenyGrantsExceptForAwsServices",
            "Action": "kms:CreateGrant",
            "Condition": {
                "BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}
            },
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Resource": "*",
        },
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_bucket_policy_lets_only_this_trail_write(synthesized: Synthesized, stage: str) -> None:
    bucket_id, _ = by_path(synthesized, stage, "/AuditBucket/Bucket/Resource")
    _, policy = by_path(synthesized, stage, "/AuditBucket/Bucket/Policy/Resource")
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
    # TLS only, from secure_bucket: plain HTTP and TLS below 1.2 are refused to everyone.
    denies = [s["Condition"] for s in statements if s["Effect"] == "Deny"]
    assert denies == [
        {"Bool": {"aws:SecureTransport": "false"}},
        {"NumericLessThan": {"s3:TlsVersion": 1.2}},
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_audit_bucket_is_locked_encrypted_logged_and_expires(synthesized: Synthesized, stage: str) -> None:
    wanted = settings(stage)["audit"]
    key_id, _ = by_path(synthesized, stage, "/AuditKey/Key/Resource")
    logs_id, _ = by_path(synthesized, stage, "/AuditBucket/AccessLogs/Bucket/Resource")
    _, bucket = by_path(synthesized, stage, "/AuditBucket/Bucket/Resource")
    props = bucket["Properties"]
    assert props["ObjectLockEnabled"] is True
    assert props["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {
            "DefaultRetention": {"Days": wanted["bucket_retention_days"], "Mode": wanted["object_lock_mode"]}
        },
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {
            "BucketKeyEnabled": True,
            "ServerSideEncryptionByDefault": {
                "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
                "SSEAlgorithm": "aws:kms",
            },
        }
    ]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
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


def test_prod_lock_is_compliance_mode(synthesized: Synthesized) -> None:
    """Nobody, the account root included, can shorten the retention of prod audit logs."""
    _, bucket = by_path(synthesized, "Prod", "/AuditBucket/Bucket/Resource")
    retention = bucket["Properties"]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert retention == {"Days": 365, "Mode": "COMPLIANCE"}


@pytest.mark.parametrize("stage", STAGES)
def test_access_log_bucket_takes_only_the_audit_buckets_logs_and_expires(
    synthesized: Synthesized, stage: str
) -> None:
    audit_id, _ = by_path(synthesized, stage, "/AuditBucket/Bucket/Resource")
    logs_id, logs = by_path(synthesized, stage, "/AuditBucket/AccessLogs/Bucket/Resource")
    (rule,) = logs["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == settings(stage)["audit"]["access_log_retention_days"]
    assert "ObjectLockConfiguration" not in logs["Properties"]
    _, policy = by_path(synthesized, stage, "/AuditBucket/AccessLogs/Bucket/Policy/Resource")
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
def test_log_group_is_encrypted_and_kept_a_year(synthesized: Synthesized, stage: str) -> None:
    key_id, _ = by_path(synthesized, stage, "/AuditKey/Key/Resource")
    _, group = only(synthesized, stage, "AWS::Logs::LogGroup")
    props = group["Properties"]
    assert props["LogGroupName"] == f"/outpost/{stage.lower()}/cloudtrail"
    assert props["RetentionInDays"] == settings(stage)["audit"]["log_group_retention_days"] >= 365
    assert props["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


@pytest.mark.parametrize("stage", STAGES)
def test_delivery_role_writes_to_its_log_group_only(synthesized: Synthesized, stage: str) -> None:
    role_id, role = only(synthesized, stage, "AWS::IAM::Role")
    group_id, _ = only(synthesized, stage, "AWS::Logs::LogGroup")
    # CloudTrail sends no aws:SourceArn/SourceAccount when it assumes this role: no condition.
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": CLOUDTRAIL}
    ]
    assert "Policies" not in role["Properties"]
    assert "ManagedPolicyArns" not in role["Properties"]
    _, policy = only(synthesized, stage, "AWS::IAM::ManagedPolicy")
    assert policy["Properties"]["Roles"] == [{"Ref": role_id}]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [group_id, "Arn"]},
        }
    ]
    assert not synthesized.resources(f"{stage}/Audit", "AWS::IAM::Policy")


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
        _, resource = by_path(synthesized, stage, suffix)
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
    assert audit_artifact["properties"].get("terminationProtection", False) is (stage == "Prod")
    assert stacks, "no other stack to deploy after Audit"
    for name, (_, artifact) in stacks.items():
        assert audit_id in artifact["dependencies"], name


@pytest.mark.parametrize("stage", STAGES)
def test_outputs_name_the_trail_bucket_and_log_group(synthesized: Synthesized, stage: str) -> None:
    outputs = audit(synthesized, stage)["Outputs"]
    assert outputs["TrailArn"]["Value"] == trail_arn(stage)
    assert {"AuditBucketName", "TrailLogGroupName"} <= set(outputs)


def test_all_buckets_without_exclusions_has_no_empty_value_list() -> None:
    config = AuditConfig(
        bucket_retention_days=365,
        object_lock_mode="GOVERNANCE",
        log_group_retention_days=365,
        access_log_retention_days=365,
        log_all_s3_data_events=True,
        s3_data_event_selectors=(),
    )
    _, data = cdk.Stack().resolve(event_selectors(config, [], "aws"))
    assert data["fieldSelectors"] == [
        {"field": "eventCategory", "equalTo": ["Data"]},
        {"field": "resources.type", "equalTo": ["AWS::S3::Object"]},
    ]
