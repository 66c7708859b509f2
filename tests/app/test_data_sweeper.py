"""The workspace sweeper: schedule, function, mount, dead letters, logs, least-privilege role."""

from __future__ import annotations

from typing import Any

import pytest

from tests.data_templates import data
from tests.environments import STAGES, name_of
from tests.synth import Synthesized
from tests.templates import account, arn_of, ending, region

ACCESS_POINT_ARN_PREFIX = "arn:aws:elasticfilesystem:{region}:{account}:access-point/"


def sweeper(synthesized: Synthesized, stage: str) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        "function": ending(
            synthesized, f"{stage}/Data", "/WorkspaceSweeper/Function/Resource", "AWS::Lambda::Function"
        ),
        "rule": ending(synthesized, f"{stage}/Data", "/WorkspaceSweeper/Daily/Resource", "AWS::Events::Rule"),
        "logs": ending(
            synthesized, f"{stage}/Data", "/WorkspaceSweeper/Logs/Resource", "AWS::Logs::LogGroup"
        ),
        "role": ending(synthesized, f"{stage}/Data", "/WorkspaceSweeper/Role/Resource", "AWS::IAM::Role"),
        "policy": ending(
            synthesized, f"{stage}/Data", "/WorkspaceSweeper/Permissions/Resource", "AWS::IAM::ManagedPolicy"
        ),
        "queue": ending(
            synthesized, f"{stage}/Data", "/TaskStateCallback/DeadLetters/Resource", "AWS::SQS::Queue"
        ),
        "dlq_key": ending(
            synthesized, f"{stage}/Data", "/TaskStateCallback/DeadLetterKey/Resource", "AWS::KMS::Key"
        ),
        "fs": ending(synthesized, f"{stage}/Data", "/Workspaces/FileSystem/Resource", "AWS::EFS::FileSystem"),
        "ap": ending(
            synthesized,
            f"{stage}/Data",
            "/Workspaces/FileSystem/Workspaces/Resource",
            "AWS::EFS::AccessPoint",
        ),
    }


def access_point_arn(stage: str, ap_id: str) -> dict[str, Any]:
    prefix = ACCESS_POINT_ARN_PREFIX.format(region=region(stage), account=account(stage))
    return {"Fn::Join": ["", [prefix, {"Ref": ap_id}]]}


@pytest.mark.parametrize("stage", STAGES)
def test_function_mounts_the_access_point_and_is_hardened(synthesized: Synthesized, stage: str) -> None:
    parts = sweeper(synthesized, stage)
    function = parts["function"][1]
    props = function["Properties"]
    assert props["Runtime"] == "python3.14"
    assert props["Architectures"] == ["arm64"]
    assert props["FileSystemConfigs"] == [
        {"Arn": access_point_arn(stage, parts["ap"][0]), "LocalMountPath": "/mnt/workspaces"}
    ]
    assert props["Environment"]["Variables"] == {
        "WORKSPACES_ROOT": "/mnt/workspaces",
        "EXPIRY_DAYS": str(data(stage)["workspace_expiry_days"]),
    }
    # 1 (never two sweeps at once) or, with 0, none reserved: a new account has none to give.
    assert props.get("ReservedConcurrentExecutions") == (
        data(stage)["sweeper"]["reserved_concurrency"] or None
    )
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Timeout"] == 900
    assert props["DeadLetterConfig"] == {"TargetArn": arn_of(parts["queue"][0])}
    assert props["LoggingConfig"]["LogGroup"] == {"Ref": parts["logs"][0]}
    assert props["Role"] == arn_of(parts["role"][0])
    # In the VPC behind its own group, created once the mount targets and its permissions exist.
    (group,) = props["VpcConfig"]["SecurityGroupIds"]
    assert "NetworkPolicySweeper" in group["Fn::GetStackOutput"]["OutputName"]
    depends = function["DependsOn"]
    assert parts["policy"][0] in depends
    assert any("MountTarget" in d for d in depends)


@pytest.mark.parametrize("stage", STAGES)
def test_daily_schedule_with_retries_and_the_dead_letter_queue(synthesized: Synthesized, stage: str) -> None:
    parts = sweeper(synthesized, stage)
    props = parts["rule"][1]["Properties"]
    assert props["Name"] == f"outpost-{name_of(stage)}-workspace-sweep"
    assert props["ScheduleExpression"] == "cron(17 3 * * ? *)"
    (target,) = props["Targets"]
    assert target["Arn"] == arn_of(parts["function"][0])
    assert target["DeadLetterConfig"] == {"Arn": arn_of(parts["queue"][0])}
    settings = data(stage)["sweeper"]
    age = settings["max_event_age_minutes"] * 60
    assert target["RetryPolicy"] == {
        "MaximumEventAgeInSeconds": age,
        "MaximumRetryAttempts": settings["target_retry_attempts"],
    }
    (invoke,) = [
        r["Properties"]
        for r in synthesized.resources(f"{stage}/Data", "AWS::Lambda::EventInvokeConfig").values()
        if r["Properties"]["FunctionName"] == {"Ref": parts["function"][0]}
    ]
    assert (invoke["MaximumRetryAttempts"], invoke["MaximumEventAgeInSeconds"]) == (
        settings["retry_attempts"],
        age,
    )


@pytest.mark.parametrize("stage", STAGES)
def test_logs_expire(synthesized: Synthesized, stage: str) -> None:
    props = sweeper(synthesized, stage)["logs"][1]["Properties"]
    assert props["RetentionInDays"] == data(stage)["sweeper"]["log_retention_days"]
    assert "KmsKeyId" in props


@pytest.mark.parametrize("stage", STAGES)
def test_role_has_only_its_managed_policy(synthesized: Synthesized, stage: str) -> None:
    parts = sweeper(synthesized, stage)
    role = parts["role"][1]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]
    assert "Policies" not in role
    assert "ManagedPolicyArns" not in role
    assert parts["policy"][1]["Properties"]["Roles"] == [{"Ref": parts["role"][0]}]
    inline = synthesized.resources(f"{stage}/Data", "AWS::IAM::Policy")
    assert not [p for p in inline.values() if {"Ref": parts["role"][0]} in p["Properties"]["Roles"]]


@pytest.mark.parametrize("stage", STAGES)
def test_policy_is_least_privilege(synthesized: Synthesized, stage: str) -> None:
    parts = sweeper(synthesized, stage)
    statements = {s["Sid"]: s for s in parts["policy"][1]["Properties"]["PolicyDocument"]["Statement"]}
    assert sorted(statements) == [
        "DeadLetterFailedEvents",
        "MountTheWorkspacesAccessPointToDelete",
        "RunInTheVpc",
        "UploadTraces",
        "UseTheDeadLetterKeyThroughSqs",
        "WriteItsLogs",
    ]
    efs = statements["MountTheWorkspacesAccessPointToDelete"]
    # Mount and write through the /workspaces access point only: no root access, no other path.
    assert efs["Action"] == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    assert efs["Resource"] == arn_of(parts["fs"][0])
    assert efs["Condition"] == {
        "StringEquals": {"elasticfilesystem:AccessPointArn": access_point_arn(stage, parts["ap"][0])}
    }
    assert statements["DeadLetterFailedEvents"]["Action"] == "sqs:SendMessage"
    assert statements["DeadLetterFailedEvents"]["Resource"] == arn_of(parts["queue"][0])
    kms = statements["UseTheDeadLetterKeyThroughSqs"]
    assert kms["Resource"] == arn_of(parts["dlq_key"][0])
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": f"sqs.{region(stage)}.amazonaws.com"}}
    assert statements["WriteItsLogs"]["Resource"] == arn_of(parts["logs"][0])
    wildcard = {sid for sid, s in statements.items() if s["Resource"] == "*"}
    assert wildcard == {"UploadTraces", "RunInTheVpc"}
    every_action = [
        a
        for s in statements.values()
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert "elasticfilesystem:ClientRootAccess" not in every_action
    assert not [a for a in every_action if a.endswith("*")]
