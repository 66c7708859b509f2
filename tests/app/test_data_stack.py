"""The Data stack as a whole: outputs, order, protection, acknowledgements."""

from __future__ import annotations

import json

import pytest

from tests.data_templates import EXPECTED_TABLES, data
from tests.environments import STAGES, is_production
from tests.synth import Synthesized


@pytest.mark.parametrize("stage", STAGES)
def test_outputs_name_what_a_user_needs(synthesized: Synthesized, stage: str) -> None:
    outputs = {
        key: output
        for key, output in synthesized.template(f"{stage}/Data")["Outputs"].items()
        # What CDK publishes for the stacks that read this one (Fn::GetStackOutput).
        if not key.startswith("PublishOutput")
    }
    assert sorted(outputs) == sorted(
        [
            "ArtifactsBucketName",
            "EventBusName",
            "GithubAppPrivateKeySecretName",
            # The model providers' API keys (tests/app/test_service_secrets.py asserts their names).
            "AnthropicSecretName",
            "DeepseekSecretName",
            "GoogleSecretName",
            "OpenaiSecretName",
            "XaiSecretName",
            "WorkspacesFileSystemId",
            "WorkspacesAccessPointId",
            "CallbackDeadLetterQueueUrl",
            "CallbackFunctionName",
            "CollectorFunctionName",
            "DispatchesTableName",
            "IdempotencyTableName",
            "WorkspacesTableName",
            "WarmPoolTableName",
            "ApiKeysTableName",
            "SlotLeasesTableName",
        ]
    )
    assert all(len(o["Description"]) > 10 for o in outputs.values())


@pytest.mark.parametrize("stage", STAGES)
def test_data_comes_after_network_and_is_protected_in_prod(synthesized: Synthesized, stage: str) -> None:
    manifest = json.loads((synthesized.outdir / f"assembly-{stage}" / "manifest.json").read_text())
    artifacts = manifest["artifacts"]
    [(data_id, data_artifact)] = [
        (k, a) for k, a in artifacts.items() if a.get("displayName") == f"{stage}/Data"
    ]
    [network_id] = [k for k, a in artifacts.items() if a.get("displayName") == f"{stage}/Network"]
    assert network_id in data_artifact["dependencies"]
    assert data_artifact["properties"].get("terminationProtection", False) is is_production(stage)
    ordered = [a.get("displayName") for a in artifacts.values() if a["type"] == "aws:cloudformation:stack"]
    assert ordered.index(f"{stage}/Network") < ordered.index(f"{stage}/Data")
    assert data_id


BACKUP_PACKS = ("HIPAA.Security", "NIST.800.53.R4", "NIST.800.53.R5")


REPLICATION_PACKS = ("HIPAA.Security", "NIST.800.53.R4", "NIST.800.53.R5", "PCI.DSS.321")


EXPECTED_ACKNOWLEDGEMENTS = {
    ("AwsSolutions-IAM5[Resource::*]", "TaskStateCallback/Permissions"),
    ("AwsSolutions-IAM5[Resource::*]", "WorkspaceSweeper/Permissions"),
    ("Serverless-LambdaAsyncFailureDestination", "WorkspaceSweeper/Function"),
    ("lambda_inside_vpc_check", "WorkspaceSweeper/Function"),
    ("AwsSolutions-IAM5[Resource::*]", "ArtifactsCollector/Permissions"),
    # PutObject into the artifacts bucket under a dispatch id that exists only at run time.
    ("AwsSolutions-IAM5[Resource::<ArtifactsBucket88671897.Arn>/*]", "ArtifactsCollector/Permissions"),
    ("Serverless-LambdaAsyncFailureDestination", "ArtifactsCollector/Function"),
    ("lambda_inside_vpc_check", "ArtifactsCollector/Function"),
    ("AwsSolutions-SMG4", "GithubApp/Secret"),
    ("HIPAA.Security-SecretsManagerRotationEnabled", "GithubApp/Secret"),
    ("NIST.800.53.R5-SecretsManagerRotationEnabled", "GithubApp/Secret"),
    ("Serverless-SQSRedrivePolicy", "TaskStateCallback/DeadLetters"),
    ("Serverless-LambdaAsyncFailureDestination", "TaskStateCallback/Function"),
    *((f"{pack}-EFSInBackupPlan", "Workspaces/FileSystem") for pack in BACKUP_PACKS),
    *(
        (f"{pack}-DynamoDBInBackupPlan", f"Tables/{table}")
        for pack in BACKUP_PACKS
        for table in EXPECTED_TABLES
    ),
    # From the shared bucket constructs (constructs/buckets.py).
    *((f"{pack}-S3BucketReplicationEnabled", "Artifacts/Bucket") for pack in REPLICATION_PACKS),
    *((f"{pack}-S3BucketReplicationEnabled", "Artifacts/AccessLogs/Bucket") for pack in REPLICATION_PACKS),
    *(
        (f"{pack}-S3DefaultEncryptionKMS", "Artifacts/AccessLogs/Bucket")
        for pack in ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
    ),
    ("NIST.800.53.R4-S3BucketDefaultLockEnabled", "Artifacts/AccessLogs/Bucket"),
    # The provider API keys: issued by the providers, rotated by operators (put-secret-value).
    *(
        (rule, f"ProviderSecrets/{provider}")
        for provider in ("Anthropic", "Deepseek", "Google", "Openai", "Xai")
        for rule in (
            "AwsSolutions-SMG4",
            "HIPAA.Security-SecretsManagerRotationEnabled",
            "NIST.800.53.R5-SecretsManagerRotationEnabled",
        )
    ),
    # AWS Control Tower (cfn-guard plugin): what log delivery requires of the access-log bucket,
    # the dead-letter queue that is itself the last stop, and the function whose VPC settings come
    # from the Network stack (the rule only reads same-stack references).
    ("s3_bucket_default_encryption_kms_check", "Artifacts/AccessLogs/Bucket"),
    ("s3_bucket_logging_enabled_check", "Artifacts/AccessLogs/Bucket"),
    ("s3_bucket_object_lock_enabled_check", "Artifacts/AccessLogs/Bucket"),
    ("sqs_dlq_check", "TaskStateCallback/DeadLetters"),
    ("lambda_inside_vpc_check", "TaskStateCallback/Function"),
}


@pytest.mark.parametrize("stage", STAGES)
def test_every_data_acknowledgement_is_reported_and_expected(synthesized: Synthesized, stage: str) -> None:
    """Each acknowledgement shows in the report with its reason; a new one fails this test."""
    found = {
        (ack["ruleName"], ack["acknowledgedAt"].removeprefix(f"{stage}/Data/"))
        for plugin in synthesized.report["pluginReports"]
        for ack in plugin.get("suppressedViolations", [])
        if ack["acknowledgedAt"].startswith(f"{stage}/Data/")
    }
    expected = set(EXPECTED_ACKNOWLEDGEMENTS)
    if not is_production(stage):  # dev artifacts are not object-locked: they are deleted with the stack
        expected.add(("NIST.800.53.R4-S3BucketDefaultLockEnabled", "Artifacts/Bucket"))
        expected.add(("s3_bucket_object_lock_enabled_check", "Artifacts/Bucket"))
        # CDK's bucket auto-delete handler (development buckets only).
        expected.add(("lambda_inside_vpc_check", "Custom::S3AutoDeleteObjectsCustomResourceProvider/Handler"))
    # Logs kept less than a year by their setting (development only: production keeps a year).
    for function, logs in (
        ("callback", "TaskStateCallback/Logs"),
        ("sweeper", "WorkspaceSweeper/Logs"),
        ("collector", "ArtifactsCollector/Logs"),
    ):
        if data(stage)[function]["log_retention_days"] < 365:
            expected.add(("cloudwatch_log_group_retention_period_check", logs))
    # No reserved concurrency (0): a new account's quota cannot reserve any.
    settings = data(stage)
    for function, reserved in (
        ("TaskStateCallback/Function", settings["callback"]["reserved_concurrency"]),
        ("WorkspaceSweeper/Function", settings["sweeper"]["reserved_concurrency"]),
        ("ArtifactsCollector/Function", settings["collector"]["reserved_concurrency"]),
    ):
        if not reserved:
            expected |= {
                (f"{pack}-LambdaConcurrency", function) for pack in ("HIPAA.Security", "NIST.800.53.R5")
            }
    assert found == expected
