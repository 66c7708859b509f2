"""The dispatch janitor's deployment: schedule, environment, least-privilege role, alarm."""

from __future__ import annotations

from typing import Any

import pytest

from config import AGENTS
from constructs import dispatch_janitor
from lambdas.dispatch_janitor import handler
from tests.environments import STAGES, name_of
from tests.service_templates import logical_id, props, statements
from tests.synth import Synthesized
from tests.templates import arn_of, at, data_arn, data_ref, from_data, ref, region, settings


def janitor_settings(stage: str) -> dict[str, Any]:
    return settings(stage)["service"]["janitor"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("stage", STAGES)
def test_runs_on_its_schedule(synthesized: Synthesized, stage: str) -> None:
    rule = props(synthesized, stage, "DispatchJanitor/Schedule/Resource")
    assert rule["Name"] == f"outpost-{name_of(stage)}-dispatch-janitor"
    assert rule["ScheduleExpression"] == f"rate({janitor_settings(stage)['interval_minutes']} minutes)"
    (target,) = rule["Targets"]
    assert target["Arn"] == arn_of(logical_id(synthesized, stage, "DispatchJanitor/Function/Resource"))


@pytest.mark.parametrize("stage", STAGES)
def test_function_environment_and_limits(synthesized: Synthesized, stage: str) -> None:
    function = props(synthesized, stage, "DispatchJanitor/Function/Resource")
    janitor = janitor_settings(stage)
    grace = janitor["grace_minutes"] * 60
    timeout = settings(stage)["service"]["control_plane"]["worker_task_timeout_seconds"]
    variables = function["Environment"]["Variables"]
    assert variables["CLUSTER_ARN"] == arn_of(logical_id(synthesized, stage, "Cluster/Resource"))
    assert variables["DISPATCH_FAMILIES"] == ",".join(
        f"outpost-{name_of(stage)}-{a}-dispatch" for a in AGENTS
    )
    assert variables["GRACE_SECONDS"] == str(grace)
    # Later than the control plane's own timeout: a live control plane stops its tasks first.
    assert variables["TASK_TIMEOUT_SECONDS"] == str(timeout + grace)
    assert set(variables) == {
        "CLUSTER_ARN",
        "FILE_SYSTEM_ID",
        "SHARED_ACCESS_POINT_ID",
        "DISPATCH_FAMILIES",
        "GRACE_SECONDS",
        "TASK_TIMEOUT_SECONDS",
        "LEASES_TABLE",
        "LEASE_STATE_INDEX",
    }
    # The leases it releases (docs/data.md, "Leased slots"): the Data stack's table, by state.
    assert from_data(synthesized, stage, variables["LEASES_TABLE"]) == data_ref(
        synthesized, stage, "Tables/SlotLeases/Resource"
    )
    assert variables["LEASE_STATE_INDEX"] == "by-state"
    assert function.get("ReservedConcurrentExecutions") == (janitor["reserved_concurrency"] or None)
    assert function["Timeout"] == 300
    logs = props(synthesized, stage, "DispatchJanitor/Logs/Resource")
    assert logs["RetentionInDays"] == janitor["log_retention_days"]


@pytest.mark.parametrize("stage", STAGES)
def test_each_runs_count_of_leases_left_returning_is_a_metric_its_alarm_reads(
    synthesized: Synthesized, stage: str
) -> None:
    """The handler's summary record, by its message, gives ``stuck_returning`` to a metric of
    the environment's namespace; the Monitoring stack's alarm reads that metric, per interval."""
    found = props(synthesized, stage, "DispatchJanitor/StuckLeases/Resource")
    assert found["LogGroupName"] == ref(logical_id(synthesized, stage, "DispatchJanitor/Logs/Resource"))
    assert found["FilterPattern"] == '{ $.message = "dispatch janitor summary" }'
    [transformation] = found["MetricTransformations"]
    assert transformation == {
        "MetricNamespace": f"Outpost/{name_of(stage)}",
        "MetricName": "SlotLeasesStuckReturning",
        "MetricValue": "$.stuck_returning",
    }
    [alarm] = [
        r["Properties"]
        for r in synthesized.resources(f"{stage}/Monitoring", "AWS::CloudWatch::Alarm").values()
        if r["Properties"].get("MetricName") == transformation["MetricName"]
    ]
    assert alarm["Namespace"] == transformation["MetricNamespace"]
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Maximum",
        1,
        "GreaterThanOrEqualToThreshold",
    )
    # One run per interval: a period may hold none, so one breaching period of the last two.
    assert alarm["Period"] == janitor_settings(stage)["interval_minutes"] * 60
    assert (alarm["DatapointsToAlarm"], alarm["EvaluationPeriods"]) == (1, 2)


def test_the_filter_matches_the_message_the_handler_writes() -> None:
    assert handler.SUMMARY == dispatch_janitor.SUMMARY


@pytest.mark.parametrize("stage", STAGES)
def test_role_is_exactly_least_privilege(synthesized: Synthesized, stage: str) -> None:
    account = settings(stage)["account"]
    cluster = logical_id(synthesized, stage, "Cluster/Resource")
    in_cluster = {"ArnEquals": {"ecs:cluster": arn_of(cluster)}}
    tasks = {"Fn::Join": ["", [f"arn:aws:ecs:{region(stage)}:{account}:task/", ref(cluster), "/*"]]}
    of_a_dispatch = {"Null": {"aws:ResourceTag/outpost:dispatch": "false"}}
    found = statements(synthesized, stage, "DispatchJanitor/Permissions")
    mine = [s for s in found if s["Sid"] not in ("DeadLetterFailedEvents", "UseTheDeadLetterKeyThroughSqs")]
    file_system = data_arn(synthesized, stage, "Workspaces/FileSystem/Resource")
    file_system_id = data_ref(synthesized, stage, "Workspaces/FileSystem/Resource")
    leases = data_arn(synthesized, stage, "Tables/SlotLeases/Resource")
    assert from_data(synthesized, stage, mine[:10]) == [
        {
            "Sid": "ListClusterTasks",
            "Effect": "Allow",
            "Action": "ecs:ListTasks",
            "Resource": "*",
            "Condition": in_cluster,
        },
        {
            "Sid": "FindOverdueTasks",
            "Effect": "Allow",
            "Action": "ecs:DescribeTasks",
            "Resource": tasks,
            "Condition": in_cluster,
        },
        {
            "Sid": "StopOverdueDispatchTasks",
            "Effect": "Allow",
            "Action": "ecs:StopTask",
            "Resource": tasks,
            "Condition": {**in_cluster, **of_a_dispatch},
        },
        {
            "Sid": "FindAndRetireStaleRevisions",
            "Effect": "Allow",
            "Action": [
                "ecs:DeregisterTaskDefinition",
                "ecs:DescribeTaskDefinition",
                "ecs:ListTaskDefinitions",
            ],
            "Resource": "*",
        },
        {
            "Sid": "DeleteStaleRevisions",
            "Effect": "Allow",
            "Action": "ecs:DeleteTaskDefinitions",
            "Resource": sorted(
                f"arn:aws:ecs:{region(stage)}:{account}:task-definition/outpost-{name_of(stage)}-{a}-dispatch:*"
                for a in AGENTS
            ),
        },
        {
            "Sid": "FindStaleAccessPoints",
            "Effect": "Allow",
            "Action": "elasticfilesystem:DescribeAccessPoints",
            "Resource": file_system,
        },
        {
            "Sid": "DeleteStaleAccessPoints",
            "Effect": "Allow",
            "Action": "elasticfilesystem:DeleteAccessPoint",
            "Resource": f"arn:aws:elasticfilesystem:{region(stage)}:{account}:access-point/*",
            "Condition": {
                "StringEquals": {"aws:ResourceTag/outpost:file-system": file_system_id},
                # Never a slot's access point (outpost:slot), whatever dispatch it is tagged with.
                "Null": {"aws:ResourceTag/outpost:dispatch": "false", "aws:ResourceTag/outpost:slot": "true"},
            },
        },
        # Leases: list by state, release by a conditional update; never create or delete one.
        {
            "Sid": "FindLeases",
            "Effect": "Allow",
            "Action": "dynamodb:Query",
            "Resource": {"Fn::Join": ["", [leases, "/index/by-state"]]},
        },
        {"Sid": "ReleaseLeases", "Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": leases},
        {
            "Sid": "UseTheDataKeyThroughDynamoDb",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
            "Resource": data_arn(synthesized, stage, "DataKey/Resource"),
            "Condition": {"StringEquals": {"kms:ViaService": f"dynamodb.{region(stage)}.amazonaws.com"}},
        },
    ]
    # Then only what every VPC function has: dead letters, its logs, X-Ray, the network interfaces.
    assert [s["Sid"] for s in found[10:]] == [
        "DeadLetterFailedEvents",
        "UseTheDeadLetterKeyThroughSqs",
        "WriteItsLogs",
        "UploadTraces",
        "RunInTheVpc",
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_runs_in_its_own_group(synthesized: Synthesized, stage: str) -> None:
    function = at(synthesized, f"{stage}/Service", "DispatchJanitor/Function/Resource")[1]["Properties"]
    (group,) = function["VpcConfig"]["SecurityGroupIds"]
    assert "NetworkPolicyJanitor" in group["Fn::GetStackOutput"]["OutputName"]
