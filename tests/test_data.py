"""Fine-grained assertions of the Data stack of every environment: each resource, each statement."""

from __future__ import annotations

import json
from typing import Any

import pytest

from constructs.dispatch_tables import TABLES
from tests.conftest import STAGES
from tests.synth import Synthesized, shipped_context

SETTINGS = shipped_context()["outpost"]["environments"]
REGION = "us-east-1"


def data(stage: str) -> dict[str, Any]:
    return SETTINGS[stage.lower()]["data"]  # type: ignore[no-any-return]


def account(stage: str) -> str:
    return SETTINGS[stage.lower()]["account"]  # type: ignore[no-any-return]


def path_of(resource: dict[str, Any]) -> str:
    return resource["Metadata"]["aws:cdk:path"]  # type: ignore[no-any-return]


def find(
    synthesized: Synthesized, stage: str, resource_type: str, path_suffix: str
) -> tuple[str, dict[str, Any]]:
    """The one resource of ``resource_type`` whose construct path ends with ``path_suffix``."""
    matches = [
        (logical_id, resource)
        for logical_id, resource in synthesized.resources(f"{stage}/Data", resource_type).items()
        if path_of(resource).endswith(path_suffix)
    ]
    assert len(matches) == 1, (resource_type, path_suffix, [path_of(r) for _, r in matches])
    return matches[0]


def arn_of(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def data_key(synthesized: Synthesized, stage: str) -> str:
    return find(synthesized, stage, "AWS::KMS::Key", "/DataKey/Resource")[0]


def retained(stage: str) -> str:
    return "Retain" if stage == "Prod" else "Delete"


# --- keys -------------------------------------------------------------------------------


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
def test_dead_letter_key_lets_only_the_task_stopped_rule_use_it(synthesized: Synthesized, stage: str) -> None:
    _, key = find(synthesized, stage, "AWS::KMS::Key", "/DeadLetterKey/Resource")
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    events = [s for s in statements if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert events == [
        {
            "Sid": "AllowTheTaskStoppedRuleToDeadLetter",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {
                "ArnEquals": {
                    "aws:SourceArn": (
                        f"arn:aws:events:{REGION}:{account(stage)}:rule/outpost-{stage.lower()}-task-stopped"
                    )
                }
            },
        }
    ]


# --- artifacts --------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_artifacts_bucket_is_encrypted_logged_and_expires_per_config(
    synthesized: Synthesized, stage: str
) -> None:
    settings = data(stage)
    _, bucket = find(synthesized, stage, "AWS::S3::Bucket", "/Artifacts/Bucket/Resource")
    logs_id, logs = find(synthesized, stage, "AWS::S3::Bucket", "/Artifacts/AccessLogs/Bucket/Resource")
    props = bucket["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {
            "BucketKeyEnabled": True,
            "ServerSideEncryptionByDefault": {
                "KMSMasterKeyID": arn_of(data_key(synthesized, stage)),
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


def test_prod_artifacts_are_locked_for_the_noncurrent_period_dev_are_not(synthesized: Synthesized) -> None:
    _, prod = find(synthesized, "Prod", "AWS::S3::Bucket", "/Artifacts/Bucket/Resource")
    assert prod["Properties"]["ObjectLockEnabled"] is True
    assert prod["Properties"]["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {
            "DefaultRetention": {
                "Days": data("Prod")["artifacts_noncurrent_expiration_days"],
                "Mode": "GOVERNANCE",
            }
        },
    }
    _, dev = find(synthesized, "Dev", "AWS::S3::Bucket", "/Artifacts/Bucket/Resource")
    assert "ObjectLockConfiguration" not in dev["Properties"]


@pytest.mark.parametrize("stage", STAGES)
def test_artifacts_refuse_plain_http(synthesized: Synthesized, stage: str) -> None:
    bucket_id, _ = find(synthesized, stage, "AWS::S3::Bucket", "/Artifacts/Bucket/Resource")
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synthesized.resources(f"{stage}/Data", "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    [statements] = policies
    conditions = [s["Condition"] for s in statements if s["Effect"] == "Deny"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
    assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions


# --- tables -----------------------------------------------------------------------------


def tables(synthesized: Synthesized, stage: str) -> dict[str, dict[str, Any]]:
    found = synthesized.resources(f"{stage}/Data", "AWS::DynamoDB::Table")
    return {path_of(t).split("/Tables/")[1].removesuffix("/Resource"): t for t in found.values()}


def key_schema(partition: str, sort: str | None = None) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition, "KeyType": "HASH"}]
    if sort:
        schema.append({"AttributeName": sort, "KeyType": "RANGE"})
    return schema


EXPECTED_TABLES = {
    "Dispatches": (
        key_schema("dispatch_id"),
        True,
        {
            "by-user": (key_schema("user_id", "created_at"), "ALL"),
            "by-status": (key_schema("status", "created_at"), "ALL"),
            "by-task-arn": (key_schema("task_arn"), "KEYS_ONLY"),
        },
    ),
    "Idempotency": (key_schema("idempotency_key"), True, {}),
    "Workspaces": (
        key_schema("workspace_id"),
        True,
        {"by-user": (key_schema("user_id", "created_at"), "ALL")},
    ),
    "WarmPool": (key_schema("agent", "task_arn"), True, {}),
    "ApiKeys": (key_schema("key_id"), False, {"by-key-hash": (key_schema("key_hash"), "ALL")}),
}


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
        assert props.get("DeletionProtectionEnabled", False) is (stage == "Prod"), name


# --- secret -----------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_github_token_secret_is_a_kms_encrypted_placeholder(synthesized: Synthesized, stage: str) -> None:
    _, secret = find(synthesized, stage, "AWS::SecretsManager::Secret", "/GithubToken/Secret/Resource")
    props = secret["Properties"]
    assert props["Name"] == f"outpost/{stage.lower()}/github-token"
    assert props["KmsKeyId"] == arn_of(data_key(synthesized, stage))
    assert props["GenerateSecretString"] == {"ExcludePunctuation": True, "PasswordLength": 40}
    assert "SecretString" not in props
    assert secret["DeletionPolicy"] == retained(stage)
    outputs = synthesized.template(f"{stage}/Data")["Outputs"]
    assert outputs["GithubTokenSecretName"]["Value"] == f"outpost/{stage.lower()}/github-token"


@pytest.mark.parametrize("stage", STAGES)
def test_no_secret_value_anywhere_in_the_template(synthesized: Synthesized, stage: str) -> None:
    text = json.dumps(synthesized.template(f"{stage}/Data"))
    assert '"SecretString"' not in text
    assert "ghp_" not in text  # no GitHub token literal


# --- events -----------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_event_bus_and_its_expiring_archive(synthesized: Synthesized, stage: str) -> None:
    bus_id, bus = find(synthesized, stage, "AWS::Events::EventBus", "/Events/Bus/Resource")
    assert bus["Properties"]["Name"] == data(stage)["event_bus_name"]
    [archive] = synthesized.resources(f"{stage}/Data", "AWS::Events::Archive").values()
    props = archive["Properties"]
    assert props["SourceArn"] == arn_of(bus_id)
    assert props["RetentionDays"] == data(stage)["event_archive_retention_days"] > 0
    assert props["EventPattern"] == {"account": [account(stage)]}


# --- workspaces -------------------------------------------------------------------------


def network_output(value: dict[str, Any]) -> str:
    """The Network stack output a weak cross-stack reference reads."""
    return value["Fn::GetStackOutput"]["OutputName"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("stage", STAGES)
def test_workspaces_file_system(synthesized: Synthesized, stage: str) -> None:
    _, fs = find(synthesized, stage, "AWS::EFS::FileSystem", "/Workspaces/FileSystem/Resource")
    props = fs["Properties"]
    assert props["Encrypted"] is True
    assert props["KmsKeyId"] == arn_of(data_key(synthesized, stage))
    assert props["BackupPolicy"] == {"Status": "ENABLED"}
    assert props["ThroughputMode"] == "elastic"
    assert props["PerformanceMode"] == "generalPurpose"
    assert props["LifecyclePolicies"] == [
        {"TransitionToIA": f"AFTER_{data(stage)['efs_transition_to_ia_days']}_DAYS"},
        {"TransitionToPrimaryStorageClass": "AFTER_1_ACCESS"},
    ]
    assert fs["DeletionPolicy"] == retained(stage)


@pytest.mark.parametrize("stage", STAGES)
def test_file_system_policy_requires_tls_and_iam(synthesized: Synthesized, stage: str) -> None:
    _, fs = find(synthesized, stage, "AWS::EFS::FileSystem", "/Workspaces/FileSystem/Resource")
    assert fs["Properties"]["FileSystemPolicy"]["Statement"] == [
        {
            "Sid": "DenyWithoutTls",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "AllowIamAuthorizedClientsOfThisAccount",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account(stage)}:root"},
            "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
            "Resource": "*",
            "Condition": {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}},
        },
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_mount_targets_in_every_private_subnet_behind_the_file_system_group(
    synthesized: Synthesized, stage: str
) -> None:
    fs_id, _ = find(synthesized, stage, "AWS::EFS::FileSystem", "/Workspaces/FileSystem/Resource")
    targets = [
        t["Properties"] for t in synthesized.resources(f"{stage}/Data", "AWS::EFS::MountTarget").values()
    ]
    zones = SETTINGS[stage.lower()]["network"]["availability_zones"]
    assert len(targets) == len(zones)
    assert {network_output(t["SubnetId"]).split("Subnet")[0] for t in targets} == {
        "PublishOutputRefNetworkVpcPrivate"
    }
    assert len({network_output(t["SubnetId"]) for t in targets}) == len(zones)
    for target in targets:
        assert target["FileSystemId"] == {"Ref": fs_id}
        [group] = target["SecurityGroups"]
        assert "NetworkPolicyFileSystem" in network_output(group)


@pytest.mark.parametrize("stage", STAGES)
def test_workspaces_access_point(synthesized: Synthesized, stage: str) -> None:
    fs_id, _ = find(synthesized, stage, "AWS::EFS::FileSystem", "/Workspaces/FileSystem/Resource")
    [access_point] = synthesized.resources(f"{stage}/Data", "AWS::EFS::AccessPoint").values()
    props = access_point["Properties"]
    assert props["FileSystemId"] == {"Ref": fs_id}
    assert props["PosixUser"] == {"Uid": "1000", "Gid": "1000"}
    assert props["RootDirectory"] == {
        "Path": "/workspaces",
        "CreationInfo": {"OwnerUid": "1000", "OwnerGid": "1000", "Permissions": "750"},
    }


# --- the task-state callback ------------------------------------------------------------


def callback(synthesized: Synthesized, stage: str) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        "function": find(synthesized, stage, "AWS::Lambda::Function", "/TaskStateCallback/Function/Resource"),
        "queue": find(synthesized, stage, "AWS::SQS::Queue", "/TaskStateCallback/DeadLetters/Resource"),
        "rule": find(synthesized, stage, "AWS::Events::Rule", "/TaskStateCallback/TaskStopped/Resource"),
        "logs": find(synthesized, stage, "AWS::Logs::LogGroup", "/TaskStateCallback/Logs/Resource"),
        "role": find(synthesized, stage, "AWS::IAM::Role", "/TaskStateCallback/Role/Resource"),
        "dlq_key": find(synthesized, stage, "AWS::KMS::Key", "/TaskStateCallback/DeadLetterKey/Resource"),
        "table": find(synthesized, stage, "AWS::DynamoDB::Table", "/Tables/Dispatches/Resource"),
    }


@pytest.mark.parametrize("stage", STAGES)
def test_rule_matches_stopped_tasks_of_the_outpost_cluster_only(synthesized: Synthesized, stage: str) -> None:
    parts = callback(synthesized, stage)
    function_id, _ = parts["function"]
    queue_id, _ = parts["queue"]
    props = parts["rule"][1]["Properties"]
    assert props["Name"] == f"outpost-{stage.lower()}-task-stopped"
    assert props["State"] == "ENABLED"
    assert "EventBusName" not in props  # the default bus, where ECS sends its events
    assert props["EventPattern"] == {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        "detail": {
            "clusterArn": [f"arn:aws:ecs:{REGION}:{account(stage)}:cluster/outpost-{stage.lower()}"],
            "lastStatus": ["STOPPED"],
            "group": [{"anything-but": {"prefix": "service:"}}],
        },
    }
    callback_settings = data(stage)["callback"]
    assert props["Targets"] == [
        {
            "Id": "Target0",
            "Arn": arn_of(function_id),
            "DeadLetterConfig": {"Arn": arn_of(queue_id)},
            "RetryPolicy": {
                "MaximumRetryAttempts": callback_settings["target_retry_attempts"],
                "MaximumEventAgeInSeconds": callback_settings["max_event_age_minutes"] * 60,
            },
        }
    ]
    [permission] = synthesized.resources(f"{stage}/Data", "AWS::Lambda::Permission").values()
    assert permission["Properties"] == {
        "Action": "lambda:InvokeFunction",
        "FunctionName": arn_of(function_id),
        "Principal": "events.amazonaws.com",
        "SourceArn": arn_of(parts["rule"][0]),
    }


@pytest.mark.parametrize("stage", STAGES)
def test_callback_function(synthesized: Synthesized, stage: str) -> None:
    parts = callback(synthesized, stage)
    function_id, function = parts["function"]
    props = function["Properties"]
    settings = data(stage)["callback"]
    assert props["Runtime"] == "python3.14"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == "handler.handler"
    assert props["MemorySize"] == 256
    assert props["Timeout"] == 30
    assert props["ReservedConcurrentExecutions"] == settings["reserved_concurrency"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["DeadLetterConfig"] == {"TargetArn": arn_of(parts["queue"][0])}
    assert props["Role"] == arn_of(parts["role"][0])
    assert props["Environment"]["Variables"] == {
        "DISPATCHES_TABLE": {"Ref": parts["table"][0]},
        "TASK_ARN_INDEX": "by-task-arn",
    }
    assert props["LoggingConfig"] == {
        "LogFormat": "JSON",
        "ApplicationLogLevel": "INFO",
        "SystemLogLevel": "WARN",
        "LogGroup": {"Ref": parts["logs"][0]},
    }
    vpc = props["VpcConfig"]
    [group] = vpc["SecurityGroupIds"]
    assert "NetworkPolicyCallback" in network_output(group)
    assert len(vpc["SubnetIds"]) == len(SETTINGS[stage.lower()]["network"]["availability_zones"])
    assert all("VpcPrivateSubnet" in network_output(s) for s in vpc["SubnetIds"])

    [invoke_config] = synthesized.resources(f"{stage}/Data", "AWS::Lambda::EventInvokeConfig").values()
    assert invoke_config["Properties"] == {
        "FunctionName": {"Ref": function_id},
        "Qualifier": "$LATEST",
        "MaximumRetryAttempts": settings["retry_attempts"],
        "MaximumEventAgeInSeconds": settings["max_event_age_minutes"] * 60,
    }


@pytest.mark.parametrize("stage", STAGES)
def test_callback_code_is_only_the_handler(synthesized: Synthesized, stage: str) -> None:
    _, function = callback(synthesized, stage)["function"]
    asset_hash = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    asset = synthesized.outdir / f"asset.{asset_hash}"
    assert sorted(p.name for p in asset.iterdir()) == ["handler.py"]


@pytest.mark.parametrize("stage", STAGES)
def test_dead_letter_queue_is_encrypted_tls_only_and_expires(synthesized: Synthesized, stage: str) -> None:
    parts = callback(synthesized, stage)
    queue_id, queue = parts["queue"]
    assert queue["Properties"]["KmsMasterKeyId"] == arn_of(parts["dlq_key"][0])
    assert (
        queue["Properties"]["MessageRetentionPeriod"]
        == data(stage)["callback"]["dead_letter_retention_days"] * 86400
    )
    assert queue["DeletionPolicy"] == retained(stage)
    [policy] = synthesized.resources(f"{stage}/Data", "AWS::SQS::QueuePolicy").values()
    assert policy["Properties"]["Queues"] == [{"Ref": queue_id}]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert [{k: v for k, v in s.items() if k != "Sid"} for s in statements] == [
        {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "sqs:*",
            "Resource": arn_of(queue_id),
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": arn_of(queue_id),
            "Condition": {"ArnEquals": {"aws:SourceArn": arn_of(parts["rule"][0])}},
        },
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_callback_logs_are_encrypted_and_expire(synthesized: Synthesized, stage: str) -> None:
    _, logs = callback(synthesized, stage)["logs"]
    logs_key, _ = find(synthesized, stage, "AWS::KMS::Key", "/LogsKey/Key/Resource")
    assert logs["Properties"]["RetentionInDays"] == data(stage)["callback"]["log_retention_days"]
    assert logs["Properties"]["KmsKeyId"] == arn_of(logs_key)
    assert logs["DeletionPolicy"] == retained(stage)


@pytest.mark.parametrize("stage", STAGES)
def test_callback_role_has_exactly_its_managed_policy(synthesized: Synthesized, stage: str) -> None:
    parts = callback(synthesized, stage)
    role_id, role = parts["role"]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]
    assert "ManagedPolicyArns" not in role["Properties"]  # no AWS managed policy
    assert "Policies" not in role["Properties"]
    assert not synthesized.resources(f"{stage}/Data", "AWS::IAM::Policy")  # no inline policy anywhere
    [policy] = [
        p["Properties"]
        for p in synthesized.resources(f"{stage}/Data", "AWS::IAM::ManagedPolicy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    table_id = parts["table"][0]
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Sid": "FindTheDispatchOfATask",
            "Effect": "Allow",
            "Action": "dynamodb:Query",
            "Resource": {"Fn::Join": ["", [arn_of(table_id), "/index/by-task-arn"]]},
        },
        {
            "Sid": "FinishTheDispatch",
            "Effect": "Allow",
            "Action": "dynamodb:UpdateItem",
            "Resource": arn_of(table_id),
        },
        {
            "Sid": "UseTheTableKeyThroughDynamoDb",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
            "Resource": arn_of(data_key(synthesized, stage)),
            "Condition": {"StringEquals": {"kms:ViaService": f"dynamodb.{REGION}.amazonaws.com"}},
        },
        {
            "Sid": "DeadLetterFailedEvents",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": arn_of(parts["queue"][0]),
        },
        {
            "Sid": "UseTheDeadLetterKeyThroughSqs",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": arn_of(parts["dlq_key"][0]),
            "Condition": {"StringEquals": {"kms:ViaService": f"sqs.{REGION}.amazonaws.com"}},
        },
        {
            "Sid": "WriteItsLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": arn_of(parts["logs"][0]),
        },
        {
            "Sid": "UploadTraces",
            "Effect": "Allow",
            "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
            "Resource": "*",
        },
        {
            "Sid": "RunInTheVpc",
            "Effect": "Allow",
            "Action": [
                "ec2:AssignPrivateIpAddresses",
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:UnassignPrivateIpAddresses",
            ],
            "Resource": "*",
        },
    ]


# --- the stack --------------------------------------------------------------------------


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
            "GithubTokenSecretName",
            # The model providers' API keys (tests/test_service.py asserts their names).
            "AnthropicSecretName",
            "DeepseekSecretName",
            "GoogleSecretName",
            "OpenaiSecretName",
            "XaiSecretName",
            "WorkspacesFileSystemId",
            "WorkspacesAccessPointId",
            "CallbackDeadLetterQueueUrl",
            "CallbackFunctionName",
            "DispatchesTableName",
            "IdempotencyTableName",
            "WorkspacesTableName",
            "WarmPoolTableName",
            "ApiKeysTableName",
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
    assert data_artifact["properties"].get("terminationProtection", False) is (stage == "Prod")
    ordered = [a.get("displayName") for a in artifacts.values() if a["type"] == "aws:cloudformation:stack"]
    assert ordered.index(f"{stage}/Network") < ordered.index(f"{stage}/Data")
    assert data_id


# --- acknowledgements -------------------------------------------------------------------

BACKUP_PACKS = ("HIPAA.Security", "NIST.800.53.R4", "NIST.800.53.R5")
REPLICATION_PACKS = ("HIPAA.Security", "NIST.800.53.R4", "NIST.800.53.R5", "PCI.DSS.321")
EXPECTED_ACKNOWLEDGEMENTS = {
    ("AwsSolutions-IAM5[Resource::*]", "TaskStateCallback/Permissions"),
    ("AwsSolutions-SMG4", "GithubToken/Secret"),
    ("HIPAA.Security-SecretsManagerRotationEnabled", "GithubToken/Secret"),
    ("NIST.800.53.R5-SecretsManagerRotationEnabled", "GithubToken/Secret"),
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
    if stage == "Dev":  # dev artifacts are not object-locked: they are deleted with the stack
        expected.add(("NIST.800.53.R4-S3BucketDefaultLockEnabled", "Artifacts/Bucket"))
        expected.add(("s3_bucket_object_lock_enabled_check", "Artifacts/Bucket"))
        # Logs kept less than a year, and CDK's bucket auto-delete handler (dev buckets only).
        expected.add(("cloudwatch_log_group_retention_period_check", "TaskStateCallback/Logs"))
        expected.add(("lambda_inside_vpc_check", "Custom::S3AutoDeleteObjectsCustomResourceProvider/Handler"))
    assert found == expected
