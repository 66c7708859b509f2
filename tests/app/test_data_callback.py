"""The task-state callback: rule, function, dead letters, logs, role."""

from __future__ import annotations

from typing import Any

import pytest

from tests.data_templates import data
from tests.environments import STAGES, name_of
from tests.synth import Synthesized
from tests.templates import account, arn_of, data_key, ending, output_of, region, retained, settings


def callback(synthesized: Synthesized, stage: str) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        "function": ending(
            synthesized, f"{stage}/Data", "/TaskStateCallback/Function/Resource", "AWS::Lambda::Function"
        ),
        "queue": ending(
            synthesized, f"{stage}/Data", "/TaskStateCallback/DeadLetters/Resource", "AWS::SQS::Queue"
        ),
        "rule": ending(
            synthesized, f"{stage}/Data", "/TaskStateCallback/TaskStopped/Resource", "AWS::Events::Rule"
        ),
        "logs": ending(
            synthesized, f"{stage}/Data", "/TaskStateCallback/Logs/Resource", "AWS::Logs::LogGroup"
        ),
        "role": ending(synthesized, f"{stage}/Data", "/TaskStateCallback/Role/Resource", "AWS::IAM::Role"),
        "dlq_key": ending(
            synthesized, f"{stage}/Data", "/TaskStateCallback/DeadLetterKey/Resource", "AWS::KMS::Key"
        ),
        "table": ending(synthesized, f"{stage}/Data", "/Tables/Dispatches/Resource", "AWS::DynamoDB::Table"),
    }


@pytest.mark.parametrize("stage", STAGES)
def test_rule_matches_stopped_tasks_of_the_outpost_cluster_only(synthesized: Synthesized, stage: str) -> None:
    parts = callback(synthesized, stage)
    function_id, _ = parts["function"]
    queue_id, _ = parts["queue"]
    props = parts["rule"][1]["Properties"]
    assert props["Name"] == f"outpost-{name_of(stage)}-task-stopped"
    assert props["State"] == "ENABLED"
    assert "EventBusName" not in props  # the default bus, where ECS sends its events
    assert props["EventPattern"] == {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        "detail": {
            "clusterArn": [f"arn:aws:ecs:{region(stage)}:{account(stage)}:cluster/outpost-{name_of(stage)}"],
            "lastStatus": ["STOPPED"],
            "group": [{"anything-but": {"prefix": "service:"}}],
        },
    }
    callback_settings = data(stage)["callback"]
    # The callback's target; the artifacts collector's is the other (tests/app/test_data_collector.py).
    assert [t for t in props["Targets"] if t["Arn"] == arn_of(function_id)] == [
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
    [permission] = [
        p
        for p in synthesized.resources(f"{stage}/Data", "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == arn_of(function_id)
    ]
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
    own = data(stage)["callback"]
    assert props["Runtime"] == "python3.14"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == "handler.handler"
    assert props["MemorySize"] == 256
    assert props["Timeout"] == 30
    assert props.get("ReservedConcurrentExecutions") == (own["reserved_concurrency"] or None)
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
    assert "NetworkPolicyCallback" in output_of(group)
    assert len(vpc["SubnetIds"]) == len(settings(stage)["network"]["availability_zones"])
    assert all("VpcPrivateSubnet" in output_of(s) for s in vpc["SubnetIds"])

    [invoke_config] = [
        c
        for c in synthesized.resources(f"{stage}/Data", "AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert invoke_config["Properties"] == {
        "FunctionName": {"Ref": function_id},
        "Qualifier": "$LATEST",
        "MaximumRetryAttempts": own["retry_attempts"],
        "MaximumEventAgeInSeconds": own["max_event_age_minutes"] * 60,
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
        # The workspace sweeper's daily rule shares this dead-letter queue (tests/app/test_data_sweeper.py).
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": arn_of(queue_id),
            "Condition": {
                "ArnEquals": {
                    "aws:SourceArn": arn_of(
                        ending(
                            synthesized,
                            f"{stage}/Data",
                            "/WorkspaceSweeper/Daily/Resource",
                            "AWS::Events::Rule",
                        )[0]
                    )
                }
            },
        },
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_callback_logs_are_encrypted_and_expire(synthesized: Synthesized, stage: str) -> None:
    _, logs = callback(synthesized, stage)["logs"]
    logs_key, _ = ending(synthesized, f"{stage}/Data", "/LogsKey/Key/Resource", "AWS::KMS::Key")
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
            "Condition": {"StringEquals": {"kms:ViaService": f"dynamodb.{region(stage)}.amazonaws.com"}},
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
            "Condition": {"StringEquals": {"kms:ViaService": f"sqs.{region(stage)}.amazonaws.com"}},
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
