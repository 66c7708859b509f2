"""The control plane's task and execution policies, statement by statement."""

from __future__ import annotations

from typing import Any

import pytest

from config import AGENTS
from permissions.control_plane_policies import POLICIES
from tests.environments import STAGES
from tests.guardduty_templates import agent_pull_statements
from tests.service_templates import (
    ENV_NAMES,
    github_app_key_statements,
    logical_id,
    mount_statement,
    props,
    repository_arn,
    statements,
)
from tests.synth import Synthesized
from tests.templates import arn_of, data_arn, data_ref, from_data, join, ref, region, settings

TABLES = ("Dispatches", "Idempotency", "Workspaces", "WarmPool", "ApiKeys", "SlotLeases")


# (table, index) the control plane may query: every index there is, by name.
INDEXES = (
    ("ApiKeys", "by-key-hash"),
    ("Dispatches", "by-status"),
    ("Dispatches", "by-task-arn"),
    ("Dispatches", "by-user"),
    ("SlotLeases", "by-state"),
    ("Workspaces", "by-user"),
)


def _data_key(synthesized: Synthesized, stage: str, service: str, sid: str) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
        "Resource": data_arn(synthesized, stage, "DataKey/Resource"),
        "Condition": {"StringEquals": {"kms:ViaService": f"{service}.{region(stage)}.amazonaws.com"}},
    }


def records_statements(synthesized: Synthesized, stage: str) -> list[dict[str, Any]]:
    return [
        {
            "Sid": "ReadWriteDispatchTables",
            "Effect": "Allow",
            "Action": [
                "dynamodb:BatchGetItem",
                "dynamodb:BatchWriteItem",
                "dynamodb:ConditionCheckItem",
                "dynamodb:DeleteItem",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:Query",
                "dynamodb:UpdateItem",
            ],
            "Resource": [data_arn(synthesized, stage, f"Tables/{t}/Resource") for t in sorted(TABLES)],
        },
        {
            "Sid": "QueryDispatchTableIndexes",
            "Effect": "Allow",
            "Action": "dynamodb:Query",
            "Resource": [
                join(data_arn(synthesized, stage, f"Tables/{t}/Resource"), f"/index/{i}") for t, i in INDEXES
            ],
        },
        _data_key(synthesized, stage, "dynamodb", "UseTheDataKeyThroughDynamoDb"),
        {
            "Sid": "PutEvents",
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Resource": data_arn(synthesized, stage, "Events/Bus/Resource"),
        },
    ]


def artifacts_statements(synthesized: Synthesized, stage: str) -> list[dict[str, Any]]:
    bucket = data_arn(synthesized, stage, "Artifacts/Bucket/Resource")
    return [
        {"Sid": "ListArtifacts", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket},
        {
            "Sid": "ReadWriteDeleteArtifacts",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            "Resource": join(bucket, "/*"),
        },
        _data_key(synthesized, stage, "s3", "UseTheDataKeyThroughS3"),
    ]


def workspaces_statements(synthesized: Synthesized, stage: str) -> list[dict[str, Any]]:
    account = settings(stage)["account"]
    file_system = data_arn(synthesized, stage, "Workspaces/FileSystem/Resource")
    file_system_id = data_ref(synthesized, stage, "Workspaces/FileSystem/Resource")
    access_points = f"arn:aws:elasticfilesystem:{region(stage)}:{account}:access-point/*"
    return [
        *github_app_key_statements(synthesized, stage),
        {
            "Sid": "ListWorkspaceAccessPoints",
            "Effect": "Allow",
            "Action": "elasticfilesystem:DescribeAccessPoints",
            "Resource": file_system,
        },
        {
            "Sid": "CreateDispatchAccessPoints",
            "Effect": "Allow",
            "Action": "elasticfilesystem:CreateAccessPoint",
            "Resource": file_system,
            "Condition": {
                "StringEquals": {"aws:RequestTag/outpost:file-system": file_system_id},
                "Null": {"aws:RequestTag/outpost:dispatch": "false"},
            },
        },
        {
            "Sid": "TagNewDispatchAccessPoints",
            "Effect": "Allow",
            "Action": "elasticfilesystem:TagResource",
            "Resource": access_points,
            "Condition": {
                "StringEquals": {
                    "elasticfilesystem:CreateAction": "CreateAccessPoint",
                    "aws:RequestTag/outpost:file-system": file_system_id,
                }
            },
        },
        {
            "Sid": "DeleteDispatchAccessPoints",
            "Effect": "Allow",
            "Action": "elasticfilesystem:DeleteAccessPoint",
            "Resource": access_points,
            "Condition": {
                "StringEquals": {"aws:ResourceTag/outpost:file-system": file_system_id},
                # Never a slot's access point, whatever dispatch tag it also carries.
                "Null": {"aws:ResourceTag/outpost:dispatch": "false", "aws:ResourceTag/outpost:slot": "true"},
            },
        },
        mount_statement(synthesized, stage),
    ]


def largest(size: str, stage: str) -> int:
    """The largest ``cpu`` or ``memory`` of the stage's agents, from its settings."""
    return max(int(settings(stage)["service"]["agents"][agent][size]) for agent in AGENTS)


def slot_pool_statements(synthesized: Synthesized, stage: str) -> list[dict[str, Any]]:
    """Leased slots (docs/data.md): register -slot revisions and create slot access points only
    tagged outpost:slot, run -slot revisions only in the cluster tagged for a dispatch; no delete."""
    env = ENV_NAMES[stage]
    account = settings(stage)["account"]
    cluster = logical_id(synthesized, stage, "Cluster/Resource")
    slots = [
        f"arn:aws:ecs:{region(stage)}:{account}:task-definition/outpost-{env}-{a}-slot:*"
        for a in sorted(AGENTS)
    ]
    return [
        {
            "Sid": "RegisterSlotRevisions",
            "Effect": "Allow",
            "Action": "ecs:RegisterTaskDefinition",
            "Resource": slots,
            # The bounds of a dispatch revision: a slot revision is a copy of the agent's too.
            "Condition": {
                "Null": {"aws:RequestTag/outpost:slot": "false"},
                "StringEqualsIfExists": {"ecs:privileged": "false"},
                "ForAllValues:StringEquals": {"ecs:compute-compatibility": ["FARGATE"]},
                "NumericLessThanEquals": {
                    "ecs:task-cpu": str(largest("cpu", stage)),
                    "ecs:task-memory": str(largest("memory", stage)),
                },
            },
        },
        {
            "Sid": "TagSlotRevisions",
            "Effect": "Allow",
            "Action": "ecs:TagResource",
            "Resource": slots,
            "Condition": {"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}},
        },
        {
            "Sid": "RunSlotTasks",
            "Effect": "Allow",
            "Action": "ecs:RunTask",
            "Resource": slots,
            "Condition": {
                "ArnEquals": {"ecs:cluster": arn_of(cluster)},
                "Null": {"aws:RequestTag/outpost:dispatch": "false"},
                "StringEqualsIfExists": {
                    "ecs:enable-execute-command": "false",
                    "ecs:enable-ebs-volumes": "false",
                },
            },
        },
        {
            "Sid": "CreateSlotAccessPoints",
            "Effect": "Allow",
            "Action": "elasticfilesystem:CreateAccessPoint",
            "Resource": data_arn(synthesized, stage, "Workspaces/FileSystem/Resource"),
            "Condition": {
                "StringEquals": {
                    "aws:RequestTag/outpost:file-system": data_ref(
                        synthesized, stage, "Workspaces/FileSystem/Resource"
                    )
                },
                "Null": {"aws:RequestTag/outpost:slot": "false"},
            },
        },
    ]


def launch_statements(synthesized: Synthesized, stage: str) -> list[dict[str, Any]]:
    env = ENV_NAMES[stage]
    provider = "FARGATE_SPOT" if settings(stage)["service"]["agents_use_spot"] else "FARGATE"
    account = settings(stage)["account"]
    cluster = logical_id(synthesized, stage, "Cluster/Resource")
    in_cluster = {"ArnEquals": {"ecs:cluster": arn_of(cluster)}}
    cluster_tasks = {"Fn::Join": ["", [f"arn:aws:ecs:{region(stage)}:{account}:task/", ref(cluster), "/*"]]}
    ordered = sorted(AGENTS)
    families = [f"arn:aws:ecs:{region(stage)}:{account}:task-definition/outpost-{env}-{a}:*" for a in ordered]
    dispatch = [
        f"arn:aws:ecs:{region(stage)}:{account}:task-definition/outpost-{env}-{a}-dispatch:*" for a in ordered
    ]
    return [
        {
            "Sid": "ReadBaseTaskDefinitions",
            "Effect": "Allow",
            "Action": "ecs:DescribeTaskDefinition",
            "Resource": "*",
        },
        {
            "Sid": "RegisterDispatchRevisions",
            "Effect": "Allow",
            "Action": "ecs:RegisterTaskDefinition",
            "Resource": dispatch,
            "Condition": {
                "Null": {"aws:RequestTag/outpost:dispatch": "false"},
                "StringEqualsIfExists": {"ecs:privileged": "false"},
                "ForAllValues:StringEquals": {"ecs:compute-compatibility": ["FARGATE"]},
                "NumericLessThanEquals": {
                    "ecs:task-cpu": str(largest("cpu", stage)),
                    "ecs:task-memory": str(largest("memory", stage)),
                },
            },
        },
        {
            "Sid": "TagDispatchRevisions",
            "Effect": "Allow",
            "Action": "ecs:TagResource",
            "Resource": dispatch,
            "Condition": {"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}},
        },
        {
            "Sid": "RetireDispatchRevisions",
            "Effect": "Allow",
            "Action": "ecs:DeregisterTaskDefinition",
            "Resource": "*",
        },
        {
            "Sid": "DeleteDispatchRevisions",
            "Effect": "Allow",
            "Action": "ecs:DeleteTaskDefinitions",
            "Resource": dispatch,
        },
        {
            "Sid": "RunAgentTasks",
            "Effect": "Allow",
            "Action": "ecs:RunTask",
            "Resource": sorted([*families, *dispatch]),
            "Condition": {
                **in_cluster,
                "StringEqualsIfExists": {
                    "ecs:enable-execute-command": "false",
                    "ecs:enable-ebs-volumes": "false",
                },
            },
        },
        {
            "Sid": "OnlyTheAgentCapacityProvider",
            "Effect": "Deny",
            "Action": "ecs:RunTask",
            "Resource": "*",
            "Condition": {
                "ForAnyValue:StringNotLike": {
                    "ecs:capacity-provider": [
                        provider,
                        f"arn:aws:ecs:{region(stage)}:{account}:capacity-provider/{provider}",
                    ]
                }
            },
        },
        {
            "Sid": "WatchAndStopAgentTasks",
            "Effect": "Allow",
            "Action": ["ecs:DescribeTasks", "ecs:StopTask"],
            "Resource": cluster_tasks,
            "Condition": in_cluster,
        },
        {
            "Sid": "TagAgentTasks",
            "Effect": "Allow",
            "Action": "ecs:TagResource",
            "Resource": cluster_tasks,
            "Condition": {"StringEquals": {"ecs:CreateAction": "RunTask"}},
        },
        {
            "Sid": "ListClusterTasks",
            "Effect": "Allow",
            "Action": "ecs:ListTasks",
            "Resource": "*",
            "Condition": in_cluster,
        },
    ]


def agent_role_statements(synthesized: Synthesized, stage: str) -> list[dict[str, Any]]:
    ordered = sorted(AGENTS)
    roles = [
        arn_of(logical_id(synthesized, stage, f"{a.capitalize()}/{kind}/Resource"))
        for a in ordered
        for kind in ("Execution/Role", "TaskRole")
    ]
    return [
        {
            "Sid": "PassAgentRoles",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": roles,
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        },
        {
            "Sid": "ReadAgentLogs",
            "Effect": "Allow",
            "Action": ["logs:DescribeLogStreams", "logs:FilterLogEvents", "logs:GetLogEvents"],
            "Resource": [
                arn_of(logical_id(synthesized, stage, f"{a.capitalize()}/Logs/Resource")) for a in ordered
            ],
        },
    ]


EXPECTED = {
    "LaunchPolicy": launch_statements,
    "AgentRolesPolicy": agent_role_statements,
    "RecordsPolicy": records_statements,
    "ArtifactsPolicy": artifacts_statements,
    "WorkspacesPolicy": workspaces_statements,
    "SlotPoolPolicy": slot_pool_statements,
}


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("policy", POLICIES)
def test_control_plane_task_policies_are_exactly_least_privilege(
    synthesized: Synthesized, stage: str, policy: str
) -> None:
    """One managed policy per concern, each exactly these statements, all on the task role."""
    assert set(EXPECTED) == set(POLICIES)
    path = f"ControlPlane/{policy}"
    assert from_data(synthesized, stage, statements(synthesized, stage, path)) == EXPECTED[policy](
        synthesized, stage
    )
    assert props(synthesized, stage, f"{path}/Resource")["Roles"] == [
        ref(logical_id(synthesized, stage, "ControlPlane/TaskRole/Resource"))
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_control_plane_execution_role_pulls_its_image_and_writes_its_logs(
    synthesized: Synthesized, stage: str
) -> None:
    found = statements(synthesized, stage, "ControlPlane/Execution/Policy")
    guardduty = agent_pull_statements(stage)
    assert [s["Sid"] for s in found] == [
        "RegistryLogin",
        "PullOwnImage",
        *(s["Sid"] for s in guardduty),
        "WriteOwnLogs",
    ]
    assert found[1]["Resource"] == repository_arn(stage, "control-plane")
    assert found[2 : 2 + len(guardduty)] == guardduty
    assert found[-1]["Resource"] == arn_of(logical_id(synthesized, stage, "ControlPlane/Logs/Resource"))


@pytest.mark.parametrize("stage", STAGES)
def test_launch_policy_waits_for_the_agent_roles_policy(synthesized: Synthesized, stage: str) -> None:
    """iam:PassRole moved out of LaunchPolicy: the policy that now holds it is created before
    LaunchPolicy changes, so no dispatch during that deploy is refused its RunTask."""
    launch = logical_id(synthesized, stage, "ControlPlane/LaunchPolicy/Resource")
    roles = logical_id(synthesized, stage, "ControlPlane/AgentRolesPolicy/Resource")
    resource = synthesized.template(f"{stage}/Service")["Resources"][launch]
    assert roles in resource.get("DependsOn", [])
