"""The Audit stack's trail: what it records, its key, its log group and delivery role, outputs."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest

from config.audit import AuditConfig, S3DataEventSelector
from constructs.audit_trail import event_selectors
from tests.audit_templates import CLOUDTRAIL, audit, only, trail, trail_arn
from tests.environments import STAGES, is_production, name_of
from tests.synth import Synthesized
from tests.templates import account, ending, path_of, region, settings

RECORDS_NO_DATA_EVENTS = [s for s in STAGES if settings(s)["audit"]["s3_data_events"] is False]
RECORDS_ALL_DATA_EVENTS = [s for s in STAGES if settings(s)["audit"]["s3_data_events"] is True]


@pytest.mark.parametrize("stage", STAGES)
def test_trail_is_multi_region_global_validated_and_encrypted(synthesized: Synthesized, stage: str) -> None:
    resource = trail(synthesized, stage)
    props = resource["Properties"]
    key_id, _ = ending(synthesized, f"{stage}/Audit", "/AuditKey/Key/Resource")
    bucket_id, _ = ending(synthesized, f"{stage}/Audit", "/AuditBucket/Bucket/Resource")
    group_id, _ = only(synthesized, stage, "AWS::Logs::LogGroup")
    role_id, _ = only(synthesized, stage, "AWS::IAM::Role")
    assert props["TrailName"] == f"outpost-{name_of(stage)}-audit"
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
    policy_id, _ = ending(synthesized, f"{stage}/Audit", "/AuditBucket/Bucket/Policy/Resource")
    delivery_id, _ = only(synthesized, stage, "AWS::IAM::ManagedPolicy")
    assert sorted(resource["DependsOn"]) == sorted([policy_id, delivery_id])


def audit_config(
    *, log_all_s3_data_events: bool, s3_data_event_selectors: tuple[S3DataEventSelector, ...]
) -> AuditConfig:
    """Settings for resolving event selectors without a synth: only the data events vary."""
    return AuditConfig(
        bucket_retention_days=365,
        object_lock_mode="GOVERNANCE",
        log_group_retention_days=365,
        access_log_retention_days=365,
        log_all_s3_data_events=log_all_s3_data_events,
        s3_data_event_selectors=s3_data_event_selectors,
    )


MANAGEMENT_EVENTS = {
    "Name": "All management events, read and write",
    # No readOnly field selector: read and write events alike (ReadWriteType All).
    "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
}


@pytest.mark.parametrize("stage", RECORDS_NO_DATA_EVENTS)
def test_without_data_events_every_management_event_and_no_data_events(
    synthesized: Synthesized, stage: str
) -> None:
    props = trail(synthesized, stage)["Properties"]
    assert props["AdvancedEventSelectors"] == [MANAGEMENT_EVENTS]
    assert "EventSelectors" not in props


@pytest.mark.parametrize("stage", RECORDS_ALL_DATA_EVENTS)
def test_all_data_events_records_s3_object_events_except_its_own_deliveries(
    synthesized: Synthesized, stage: str
) -> None:
    props = trail(synthesized, stage)["Properties"]
    bucket_id, _ = ending(synthesized, f"{stage}/Audit", "/AuditBucket/Bucket/Resource")
    logs_id, _ = ending(synthesized, f"{stage}/Audit", "/AuditBucket/AccessLogs/Bucket/Resource")

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
    config = audit_config(
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
    _, key = ending(synthesized, f"{stage}/Audit", "/AuditKey/Key/Resource")
    # The one key of audit data (the security topic's own key encrypts only messages in transit).
    keys = synthesized.resources(f"{stage}/Audit", "AWS::KMS::Key").values()
    assert len([k for k in keys if "/SecurityTopic/" not in path_of(k)]) == 1
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
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region(stage)}:{acct}:log-group:*"
                }
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
            # Every key of an OutpostStage (compliance/kms_grants.py, Control Tower CT.KMS.PR.3).
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
def test_log_group_is_encrypted_and_kept_a_year(synthesized: Synthesized, stage: str) -> None:
    key_id, _ = ending(synthesized, f"{stage}/Audit", "/AuditKey/Key/Resource")
    _, group = only(synthesized, stage, "AWS::Logs::LogGroup")
    props = group["Properties"]
    assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain"
    # A fixed name only where the environment is never destroyed and created again (its kind):
    # a retained group keeping its name would make the next create fail ("already exists").
    if is_production(stage):
        assert props["LogGroupName"] == f"/outpost/{name_of(stage)}/cloudtrail"
    else:
        assert "LogGroupName" not in props
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
def test_outputs_name_the_trail_bucket_and_log_group(synthesized: Synthesized, stage: str) -> None:
    outputs = audit(synthesized, stage)["Outputs"]
    assert outputs["TrailArn"]["Value"] == trail_arn(stage)
    assert {"AuditBucketName", "TrailLogGroupName"} <= set(outputs)


def test_all_buckets_without_exclusions_has_no_empty_value_list() -> None:
    config = audit_config(log_all_s3_data_events=True, s3_data_event_selectors=())
    _, data = cdk.Stack().resolve(event_selectors(config, [], "aws"))
    assert data["fieldSelectors"] == [
        {"field": "eventCategory", "equalTo": ["Data"]},
        {"field": "resources.type", "equalTo": ["AWS::S3::Object"]},
    ]
