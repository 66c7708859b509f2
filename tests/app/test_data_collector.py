"""The artifacts collector (issue 20): a stopped task's outbox reaches S3 after the task ends.

The function is a second target of the callback's task-stopped rule, mounts the /workspaces
access point, and may only put objects into the artifacts bucket; the agents still hold no S3
permission at all (tests/test_tenant_isolation.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.app.test_data_sweeper import access_point_arn
from tests.data_templates import data
from tests.environments import STAGES
from tests.synth import Synthesized
from tests.templates import arn_of, ending, region

MIB = 1024 * 1024


def collector(synthesized: Synthesized, stage: str) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        "function": ending(
            synthesized, f"{stage}/Data", "/ArtifactsCollector/Function/Resource", "AWS::Lambda::Function"
        ),
        "policy": ending(
            synthesized,
            f"{stage}/Data",
            "/ArtifactsCollector/Permissions/Resource",
            "AWS::IAM::ManagedPolicy",
        ),
        "logs": ending(
            synthesized, f"{stage}/Data", "/ArtifactsCollector/Logs/Resource", "AWS::Logs::LogGroup"
        ),
        "rule": ending(
            synthesized, f"{stage}/Data", "/TaskStateCallback/TaskStopped/Resource", "AWS::Events::Rule"
        ),
        "callback": ending(
            synthesized, f"{stage}/Data", "/TaskStateCallback/Function/Resource", "AWS::Lambda::Function"
        ),
        "queue": ending(
            synthesized, f"{stage}/Data", "/TaskStateCallback/DeadLetters/Resource", "AWS::SQS::Queue"
        ),
        "bucket": ending(synthesized, f"{stage}/Data", "/Artifacts/Bucket/Resource", "AWS::S3::Bucket"),
        "table": ending(synthesized, f"{stage}/Data", "/Tables/Dispatches/Resource", "AWS::DynamoDB::Table"),
        "key": ending(synthesized, f"{stage}/Data", "/DataKey/Resource", "AWS::KMS::Key"),
        "fs": ending(synthesized, f"{stage}/Data", "/Workspaces/FileSystem/Resource", "AWS::EFS::FileSystem"),
        "ap": ending(
            synthesized,
            f"{stage}/Data",
            "/Workspaces/FileSystem/Workspaces/Resource",
            "AWS::EFS::AccessPoint",
        ),
    }


@pytest.mark.parametrize("stage", STAGES)
def test_every_stopped_task_reaches_the_collector_too(synthesized: Synthesized, stage: str) -> None:
    parts = collector(synthesized, stage)
    targets = {t["Arn"]["Fn::GetAtt"][0]: t for t in parts["rule"][1]["Properties"]["Targets"]}
    assert set(targets) == {parts["callback"][0], parts["function"][0]}
    target = targets[parts["function"][0]]
    settings = data(stage)["collector"]
    assert target["DeadLetterConfig"] == {"Arn": arn_of(parts["queue"][0])}
    assert target["RetryPolicy"] == {
        "MaximumEventAgeInSeconds": settings["max_event_age_minutes"] * 60,
        "MaximumRetryAttempts": settings["target_retry_attempts"],
    }


@pytest.mark.parametrize("stage", STAGES)
def test_function_mounts_the_workspaces_and_knows_its_limits(synthesized: Synthesized, stage: str) -> None:
    parts = collector(synthesized, stage)
    function = parts["function"][1]
    props = function["Properties"]
    settings = data(stage)["collector"]
    assert props["FileSystemConfigs"] == [
        {"Arn": access_point_arn(stage, parts["ap"][0]), "LocalMountPath": "/mnt/workspaces"}
    ]
    assert props["Environment"]["Variables"] == {
        "DISPATCHES_TABLE": {"Ref": parts["table"][0]},
        "TASK_ARN_INDEX": "by-task-arn",
        "ARTIFACTS_BUCKET": {"Ref": parts["bucket"][0]},
        "WORKSPACES_ROOT": "/mnt/workspaces",
        "MAX_FILES": str(settings["max_files_per_dispatch"]),
        "MAX_BYTES": str(settings["max_mib_per_dispatch"] * MIB),
    }
    assert props["Timeout"] == 900
    assert props["DeadLetterConfig"] == {"TargetArn": arn_of(parts["queue"][0])}
    (group,) = props["VpcConfig"]["SecurityGroupIds"]
    assert "NetworkPolicyCollector" in group["Fn::GetStackOutput"]["OutputName"]
    assert any("MountTarget" in d for d in function["DependsOn"])
    assert parts["logs"][1]["Properties"]["RetentionInDays"] == settings["log_retention_days"]


@pytest.mark.parametrize("stage", STAGES)
def test_policy_puts_artifacts_and_reads_nothing_else(synthesized: Synthesized, stage: str) -> None:
    parts = collector(synthesized, stage)
    statements = {s["Sid"]: s for s in parts["policy"][1]["Properties"]["PolicyDocument"]["Statement"]}
    assert sorted(statements) == [
        "DeadLetterFailedEvents",
        "FindTheDispatchOfATask",
        "MountTheWorkspacesAccessPointToCollect",
        "ReadTheDispatchWorkspace",
        "RunInTheVpc",
        "UploadArtifacts",
        "UploadTraces",
        "UseTheDataKeyThroughDynamoDbAndS3",
        "UseTheDeadLetterKeyThroughSqs",
        "WriteItsLogs",
    ]
    upload = statements["UploadArtifacts"]
    assert upload["Action"] == "s3:PutObject"  # no read, list or delete of anybody's artifacts
    assert upload["Resource"] == {"Fn::Join": ["", [arn_of(parts["bucket"][0]), "/*"]]}
    mount = statements["MountTheWorkspacesAccessPointToCollect"]
    assert mount["Action"] == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    assert mount["Condition"] == {
        "StringEquals": {"elasticfilesystem:AccessPointArn": access_point_arn(stage, parts["ap"][0])}
    }
    assert statements["ReadTheDispatchWorkspace"]["Action"] == "dynamodb:GetItem"
    assert statements["ReadTheDispatchWorkspace"]["Resource"] == arn_of(parts["table"][0])
    kms = statements["UseTheDataKeyThroughDynamoDbAndS3"]
    assert kms["Resource"] == arn_of(parts["key"][0])
    assert kms["Condition"] == {
        "StringEquals": {
            "kms:ViaService": [f"dynamodb.{region(stage)}.amazonaws.com", f"s3.{region(stage)}.amazonaws.com"]
        }
    }
    every_action = [
        a
        for s in statements.values()
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert "elasticfilesystem:ClientRootAccess" not in every_action
    assert not [a for a in every_action if a.endswith("*")]
