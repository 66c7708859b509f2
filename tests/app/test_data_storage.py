"""The Data stack's keys, artifacts bucket, tables, GitHub token and event bus."""

from __future__ import annotations

import json

import pytest

from config.tables import TABLES
from tests.data_templates import EXPECTED_TABLES, data, tables
from tests.environments import STAGES, config_of, is_production, name_of
from tests.synth import Synthesized
from tests.templates import (
    BLOCK_ALL_PUBLIC_ACCESS,
    account,
    arn_of,
    data_key,
    ending,
    kms_bucket_encryption,
    path_of,
    retained,
)


@pytest.mark.parametrize("stage", STAGES)
def test_keys_rotate_and_follow_the_data_removal_policy(synthesized: Synthesized, stage: str) -> None:
    keys = synthesized.resources(f"{stage}/Data", "AWS::KMS::Key")
    assert sorted(path_of(k).split("/Data/")[1] for k in keys.values()) == [
        "DataKey/Resource",
        "LogsKey/Key/Resource",
        "ProviderSecrets/Key/Resource",
        "TaskStateCallback/DeadLetterKey/Resource",
    ]
    for key in keys.values():
        assert key["Properties"]["EnableKeyRotation"] is True
        assert key["DeletionPolicy"] == retained(stage)


@pytest.mark.parametrize("stage", STAGES)
def test_only_the_two_rules_may_dead_letter_and_eventbridge_may_use_the_key(
    synthesized: Synthesized, stage: str
) -> None:
    """The key statement is the one EventBridge documents for an SSE-KMS SQS target (no
    condition: which keys reach KMS on that path is undocumented, and an absent one would
    refuse every dead letter); who may send is limited on the queue, by rule ARN."""
    _, key = ending(synthesized, f"{stage}/Data", "/DeadLetterKey/Resource", "AWS::KMS::Key")
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    events = [s for s in statements if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert events == [
        {
            "Sid": "AllowEventBridgeToDeadLetterIntoTheQueue",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
        }
    ]
    queue_id, _ = ending(
        synthesized, f"{stage}/Data", "/TaskStateCallback/DeadLetters/Resource", "AWS::SQS::Queue"
    )
    _, policy = ending(
        synthesized,
        f"{stage}/Data",
        "/TaskStateCallback/DeadLetters/Policy/Resource",
        "AWS::SQS::QueuePolicy",
    )
    senders = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    rules = [
        ending(synthesized, f"{stage}/Data", path, "AWS::Events::Rule")[0]
        for path in ("/TaskStateCallback/TaskStopped/Resource", "/WorkspaceSweeper/Daily/Resource")
    ]
    assert [(s["Principal"], s["Action"], s["Resource"], s["Condition"]) for s in senders] == [
        (
            {"Service": "events.amazonaws.com"},
            "sqs:SendMessage",
            arn_of(queue_id),
            {"ArnEquals": {"aws:SourceArn": arn_of(rule)}},
        )
        for rule in rules
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_artifacts_bucket_is_encrypted_logged_and_expires_per_config(
    synthesized: Synthesized, stage: str
) -> None:
    settings = data(stage)
    _, bucket = ending(synthesized, f"{stage}/Data", "/Artifacts/Bucket/Resource", "AWS::S3::Bucket")
    logs_id, logs = ending(
        synthesized, f"{stage}/Data", "/Artifacts/AccessLogs/Bucket/Resource", "AWS::S3::Bucket"
    )
    props = bucket["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == kms_bucket_encryption(
        data_key(synthesized, stage)
    )
    assert props["PublicAccessBlockConfiguration"] == BLOCK_ALL_PUBLIC_ACCESS
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": logs_id},
        "LogFilePrefix": "artifacts/",
    }
    assert props["LifecycleConfiguration"]["Rules"] == [
        {
            "Id": "expire",
            "Status": "Enabled",
            "ExpirationInDays": settings["artifacts_expiration_days"],
            "NoncurrentVersionExpiration": {
                "NoncurrentDays": settings["artifacts_noncurrent_expiration_days"]
            },
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }
    ]
    assert bucket["DeletionPolicy"] == retained(stage)
    assert logs["DeletionPolicy"] == retained(stage)
    assert (
        logs["Properties"]["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"]
        == (settings["access_log_retention_days"])
    )


@pytest.mark.parametrize("stage", STAGES)
def test_production_artifacts_are_locked_for_the_noncurrent_period_others_are_not(
    synthesized: Synthesized, stage: str
) -> None:
    _, bucket = ending(synthesized, f"{stage}/Data", "/Artifacts/Bucket/Resource", "AWS::S3::Bucket")
    if not is_production(stage):
        assert "ObjectLockConfiguration" not in bucket["Properties"]
        return
    assert bucket["Properties"]["ObjectLockEnabled"] is True
    assert bucket["Properties"]["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {
            "DefaultRetention": {
                "Days": data(stage)["artifacts_noncurrent_expiration_days"],
                "Mode": "GOVERNANCE",
            }
        },
    }


@pytest.mark.parametrize("stage", STAGES)
def test_artifacts_refuse_plain_http(synthesized: Synthesized, stage: str) -> None:
    bucket_id, _ = ending(synthesized, f"{stage}/Data", "/Artifacts/Bucket/Resource", "AWS::S3::Bucket")
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synthesized.resources(f"{stage}/Data", "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    [statements] = policies
    conditions = [s["Condition"] for s in statements if s["Effect"] == "Deny"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
    assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions


@pytest.mark.parametrize("stage", STAGES)
def test_the_five_tables_have_the_control_planes_keys_and_indexes(
    synthesized: Synthesized, stage: str
) -> None:
    found = tables(synthesized, stage)
    assert sorted(found) == sorted(EXPECTED_TABLES)
    assert len(TABLES) == len(EXPECTED_TABLES)
    for name, (schema, ttl, indexes) in EXPECTED_TABLES.items():
        props = found[name]["Properties"]
        assert props["KeySchema"] == schema, name
        actual = {
            gsi["IndexName"]: (gsi["KeySchema"], gsi["Projection"]["ProjectionType"])
            for gsi in props.get("GlobalSecondaryIndexes", [])
        }
        assert actual == indexes, name
        if ttl:
            assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}, name
        else:
            assert "TimeToLiveSpecification" not in props, name
        # Every key attribute is a string.
        assert {a["AttributeType"] for a in props["AttributeDefinitions"]} == {"S"}, name


@pytest.mark.parametrize("stage", STAGES)
def test_tables_are_on_demand_recoverable_and_encrypted_with_the_data_key(
    synthesized: Synthesized, stage: str
) -> None:
    key_id = data_key(synthesized, stage)
    for name, table in tables(synthesized, stage).items():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST", name
        assert "ProvisionedThroughput" not in props, name
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, name
        assert props["SSESpecification"] == {
            "KMSMasterKeyId": arn_of(key_id),
            "SSEEnabled": True,
            "SSEType": "KMS",
        }
        assert table["DeletionPolicy"] == retained(stage), name
        assert table["UpdateReplacePolicy"] == retained(stage), name
        assert props.get("DeletionProtectionEnabled", False) is is_production(stage), name


@pytest.mark.parametrize("stage", STAGES)
def test_github_app_key_secret_is_a_kms_encrypted_placeholder(synthesized: Synthesized, stage: str) -> None:
    _, secret = ending(
        synthesized, f"{stage}/Data", "/GithubApp/Secret/Resource", "AWS::SecretsManager::Secret"
    )
    props = secret["Properties"]
    assert props["Name"] == f"outpost/{name_of(stage)}/github-app-private-key"
    assert props["KmsKeyId"] == arn_of(data_key(synthesized, stage))
    assert props["GenerateSecretString"] == {"ExcludePunctuation": True, "PasswordLength": 40}
    assert "SecretString" not in props
    assert secret["DeletionPolicy"] == retained(stage)
    outputs = synthesized.template(f"{stage}/Data")["Outputs"]
    assert (
        outputs["GithubAppPrivateKeySecretName"]["Value"]
        == f"outpost/{name_of(stage)}/github-app-private-key"
    )


@pytest.mark.parametrize("stage", STAGES)
def test_no_secret_value_anywhere_in_the_template(synthesized: Synthesized, stage: str) -> None:
    text = json.dumps(synthesized.template(f"{stage}/Data"))
    assert '"SecretString"' not in text
    assert "ghp_" not in text  # no GitHub token literal


@pytest.mark.parametrize("stage", STAGES)
def test_event_bus_and_its_expiring_archive(synthesized: Synthesized, stage: str) -> None:
    bus_id, bus = ending(synthesized, f"{stage}/Data", "/Events/Bus/Resource", "AWS::Events::EventBus")
    assert bus["Properties"]["Name"] == config_of(stage).data.event_bus_name
    [archive] = synthesized.resources(f"{stage}/Data", "AWS::Events::Archive").values()
    props = archive["Properties"]
    assert props["SourceArn"] == arn_of(bus_id)
    assert props["RetentionDays"] == data(stage)["event_archive_retention_days"] > 0
    assert props["EventPattern"] == {"account": [account(stage)]}
