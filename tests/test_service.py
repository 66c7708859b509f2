"""Fine-grained assertions of the Service stack: cluster, agents, control plane, IAM."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from config import AGENTS, load_environments
from constructs.nag import control_tower
from review.flows import Rule, rules
from stacks.stage import OutpostStage
from tests.conftest import STAGES
from tests.synth import Synthesized, shipped_context

SETTINGS = shipped_context()["outpost"]["environments"]
ENV_NAMES = {stage: stage.lower() for stage in STAGES}

# Agent -> (provider secret construct id, the variable the agent CLI reads).
AGENT_SECRETS = {
    "claude": ("Anthropic", "ANTHROPIC_API_KEY"),
    "codex": ("Openai", "OPENAI_API_KEY"),
    "gemini": ("Google", "GEMINI_API_KEY"),
    "aider": ("Deepseek", "DEEPSEEK_API_KEY"),
    "grok": ("Xai", "XAI_API_KEY"),
}
SECRET_LIKE = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL|PRIVATE", re.IGNORECASE)


def service(synthesized: Synthesized, stage: str) -> dict[str, Any]:
    return synthesized.template(f"{stage}/Service")


def at(synthesized: Synthesized, stage: str, path: str) -> tuple[str, dict[str, Any]]:
    """(logical id, resource) of the resource whose construct path is ``<stage>/Service/<path>``."""
    full = f"{stage}/Service/{path}"
    found = [
        (logical_id, resource)
        for logical_id, resource in service(synthesized, stage)["Resources"].items()
        if resource.get("Metadata", {}).get("aws:cdk:path") == full
    ]
    assert len(found) == 1, (full, [f[0] for f in found])
    return found[0]


def logical_id(synthesized: Synthesized, stage: str, path: str) -> str:
    return at(synthesized, stage, path)[0]


def props(synthesized: Synthesized, stage: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = at(synthesized, stage, path)[1]["Properties"]
    return found


def container(synthesized: Synthesized, stage: str, task: str) -> dict[str, Any]:
    definitions: list[dict[str, Any]] = props(synthesized, stage, f"{task}/TaskDefinition/Resource")[
        "ContainerDefinitions"
    ]
    [definition] = definitions
    return definition


def statements(synthesized: Synthesized, stage: str, policy_path: str) -> list[dict[str, Any]]:
    document = props(synthesized, stage, f"{policy_path}/Resource")["PolicyDocument"]
    result: list[dict[str, Any]] = document["Statement"]
    return result


def ref(logical: str) -> dict[str, str]:
    return {"Ref": logical}


def arn_of(logical: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical, "Arn"]}


def output_of(value: Any) -> str:
    """The name of the other stack's output a ``Fn::GetStackOutput`` reads."""
    return str(value["Fn::GetStackOutput"]["OutputName"])


def data_id(synthesized: Synthesized, stage: str, path: str) -> str:
    """Logical id of the resource at construct path ``<stage>/Data/<path>``."""
    full = f"{stage}/Data/{path}"
    [found] = [
        logical
        for logical, resource in synthesized.template(f"{stage}/Data")["Resources"].items()
        if resource.get("Metadata", {}).get("aws:cdk:path") == full
    ]
    return str(found)


def from_data(synthesized: Synthesized, stage: str, value: Any) -> Any:
    """``value`` with every reference to the Data stack replaced by ``{"Data": <its value there>}``."""
    if isinstance(value, list):
        return [from_data(synthesized, stage, v) for v in value]
    if not isinstance(value, dict):
        return value
    reference = value.get("Fn::GetStackOutput")
    if reference is not None and reference["StackName"] == f"{stage}-Data":
        outputs = synthesized.template(f"{stage}/Data")["Outputs"]
        return {"Data": outputs[reference["OutputName"]]["Value"]}
    return {k: from_data(synthesized, stage, v) for k, v in value.items()}


def data_ref(synthesized: Synthesized, stage: str, path: str) -> dict[str, Any]:
    return {"Data": ref(data_id(synthesized, stage, path))}


def data_arn(synthesized: Synthesized, stage: str, path: str) -> dict[str, Any]:
    return {"Data": arn_of(data_id(synthesized, stage, path))}


def join(*parts: Any) -> dict[str, Any]:
    return {"Fn::Join": ["", list(parts)]}


def access_point_arn(synthesized: Synthesized, stage: str) -> dict[str, Any]:
    account = SETTINGS[stage.lower()]["account"]
    return join(
        f"arn:aws:elasticfilesystem:us-east-1:{account}:access-point/",
        data_ref(synthesized, stage, "Workspaces/FileSystem/Workspaces/Resource"),
    )


def mount_statement(synthesized: Synthesized, stage: str) -> dict[str, Any]:
    return {
        "Sid": "MountWorkspaces",
        "Effect": "Allow",
        "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
        "Resource": data_arn(synthesized, stage, "Workspaces/FileSystem/Resource"),
        "Condition": {
            "StringEquals": {"elasticfilesystem:AccessPointArn": access_point_arn(synthesized, stage)}
        },
    }


def workspaces_volume(synthesized: Synthesized, stage: str) -> dict[str, Any]:
    return {
        "Name": "workspaces",
        "EFSVolumeConfiguration": {
            "FilesystemId": data_ref(synthesized, stage, "Workspaces/FileSystem/Resource"),
            "TransitEncryption": "ENABLED",
            "AuthorizationConfig": {
                "AccessPointId": data_ref(synthesized, stage, "Workspaces/FileSystem/Workspaces/Resource"),
                "IAM": "ENABLED",
            },
        },
    }


WORKSPACES_MOUNT = {"ContainerPath": "/mnt/workspaces", "ReadOnly": False, "SourceVolume": "workspaces"}
GITHUB_TOKEN = "GithubToken/Secret/Resource"


# --- cluster ------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_cluster_has_enhanced_insights_and_both_fargate_providers(
    synthesized: Synthesized, stage: str
) -> None:
    cluster = props(synthesized, stage, "Cluster/Resource")
    assert cluster["ClusterName"] == f"outpost-{ENV_NAMES[stage]}"
    assert cluster["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enhanced"}]
    association = props(synthesized, stage, "Cluster/Cluster")
    assert sorted(association["CapacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]
    assert association["Cluster"] == ref(logical_id(synthesized, stage, "Cluster/Resource"))


@pytest.mark.parametrize("stage", STAGES)
def test_the_task_stopped_rule_matches_this_cluster(synthesized: Synthesized, stage: str) -> None:
    """The Data stack's callback rule names the cluster before it exists: the names must agree."""
    account = SETTINGS[stage.lower()]["account"]
    name = props(synthesized, stage, "Cluster/Resource")["ClusterName"]
    [rule] = [
        r["Properties"]
        for r in synthesized.resources(f"{stage}/Data", "AWS::Events::Rule").values()
        if r["Properties"]["EventPattern"].get("detail-type") == ["ECS Task State Change"]
    ]
    assert rule["EventPattern"]["detail"]["clusterArn"] == [f"arn:aws:ecs:us-east-1:{account}:cluster/{name}"]


# --- agents -------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("agent", AGENTS)
def test_agent_task_definition(synthesized: Synthesized, stage: str, agent: str) -> None:
    settings = SETTINGS[stage.lower()]["service"]
    agent_settings = settings["agents"][agent]
    task = agent.capitalize()
    definition = props(synthesized, stage, f"{task}/TaskDefinition/Resource")
    assert definition["Family"] == f"outpost-{ENV_NAMES[stage]}-{agent}"
    assert definition["RuntimePlatform"] == {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}
    assert definition["RequiresCompatibilities"] == ["FARGATE"]
    assert definition["NetworkMode"] == "awsvpc"
    assert definition["Cpu"] == str(agent_settings["cpu"])
    assert definition["Memory"] == str(agent_settings["memory"])
    assert definition["EphemeralStorage"] == {"SizeInGiB": agent_settings["ephemeral_storage_gib"]}
    assert from_data(synthesized, stage, definition["Volumes"]) == [
        {"Name": "workspace"},
        {"Name": "tmp"},
        workspaces_volume(synthesized, stage),
    ]
    assert definition["ExecutionRoleArn"] == arn_of(
        logical_id(synthesized, stage, f"{task}/Execution/Role/Resource")
    )
    assert definition["TaskRoleArn"] == arn_of(logical_id(synthesized, stage, f"{task}/TaskRole/Resource"))

    box = container(synthesized, stage, task)
    assert box["Name"] == "agent"
    assert box["User"] == "1000"
    assert box["ReadonlyRootFilesystem"] is True
    assert box["LinuxParameters"] == {"Capabilities": {"Drop": ["ALL"]}}
    assert box["MountPoints"] == [
        {"ContainerPath": "/workspace", "ReadOnly": False, "SourceVolume": "workspace"},
        {"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"},
        WORKSPACES_MOUNT,
    ]
    assert box["StopTimeout"] == settings["agent_stop_timeout_seconds"]
    assert box["Image"]["Fn::Join"][1][-1] == f":{agent_settings['image_tag']}"
    assert output_of(box["Image"]["Fn::Join"][1][-2]).startswith(f"PublishOutputRef{task}Repository")
    assert box["LogConfiguration"]["LogDriver"] == "awslogs"
    assert box["LogConfiguration"]["Options"]["awslogs-group"] == ref(
        logical_id(synthesized, stage, f"{task}/Logs/Resource")
    )
    assert box["LogConfiguration"]["Options"]["awslogs-stream-prefix"] == agent
    provider, variable = AGENT_SECRETS[agent]
    # Its provider's key and the GitHub token, both from the Data stack, by ARN.
    assert from_data(synthesized, stage, box["Secrets"]) == [
        {"Name": variable, "ValueFrom": data_ref(synthesized, stage, f"ProviderSecrets/{provider}/Resource")},
        {"Name": "GITHUB_TOKEN", "ValueFrom": data_ref(synthesized, stage, GITHUB_TOKEN)},
    ]
    # The task waits for both of its policies (the mount needs the task role's).
    assert {
        logical_id(synthesized, stage, f"{task}/Execution/Policy/Resource"),
        logical_id(synthesized, stage, f"{task}/TaskPolicy/Resource"),
    } <= set(at(synthesized, stage, f"{task}/TaskDefinition/Resource")[1]["DependsOn"])
    # No plain-text configuration at all, so no key can hide in it.
    assert "Environment" not in box


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("agent", AGENTS)
def test_agent_execution_role_reads_only_its_own_secret(
    synthesized: Synthesized, stage: str, agent: str
) -> None:
    task = agent.capitalize()
    provider, _ = AGENT_SECRETS[agent]
    secret = data_ref(synthesized, stage, f"ProviderSecrets/{provider}/Resource")
    key = data_arn(synthesized, stage, "ProviderSecrets/Key/Resource")
    log_group = logical_id(synthesized, stage, f"{task}/Logs/Resource")
    found = from_data(synthesized, stage, statements(synthesized, stage, f"{task}/Execution/Policy"))
    repository = found[1]["Resource"]
    assert output_of(repository).startswith(f"PublishOutputFnGetAtt{task}Repository")
    assert found == [
        {"Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Sid": "PullOwnImage",
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": repository,
        },
        {
            "Sid": "ReadOwnProviderSecret",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": secret,
        },
        {
            "Sid": "DecryptOwnProviderSecret",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": key,
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com",
                    "kms:EncryptionContext:SecretARN": secret,
                }
            },
        },
        *github_token_statements(synthesized, stage),
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": arn_of(log_group),
        },
    ]


def github_token_statements(synthesized: Synthesized, stage: str) -> list[dict[str, Any]]:
    token = data_ref(synthesized, stage, GITHUB_TOKEN)
    return [
        {
            "Sid": "ReadGithubToken",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": token,
        },
        {
            "Sid": "DecryptGithubToken",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": data_arn(synthesized, stage, "DataKey/Resource"),
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com",
                    "kms:EncryptionContext:SecretARN": token,
                }
            },
        },
    ]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("agent", AGENTS)
def test_agent_task_role_reaches_only_its_artifacts_prefix_and_the_workspaces(
    synthesized: Synthesized, stage: str, agent: str
) -> None:
    task = agent.capitalize()
    found = from_data(synthesized, stage, statements(synthesized, stage, f"{task}/TaskPolicy"))
    assert found == [
        {
            "Sid": "ReadWriteOwnArtifacts",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": join(data_arn(synthesized, stage, "Artifacts/Bucket/Resource"), f"/{agent}/*"),
        },
        {
            "Sid": "UseTheDataKeyThroughS3",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": data_arn(synthesized, stage, "DataKey/Resource"),
            "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
        },
        mount_statement(synthesized, stage),
    ]
    assert props(synthesized, stage, f"{task}/TaskPolicy/Resource")["Roles"] == [
        ref(logical_id(synthesized, stage, f"{task}/TaskRole/Resource"))
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_each_secret_is_read_by_exactly_the_roles_that_need_it(synthesized: Synthesized, stage: str) -> None:
    """A provider key: only its agent's execution role. The GitHub token: every agent's execution
    role (GITHUB_TOKEN) and the control plane's task role. No other secret read anywhere."""
    readers: dict[str, set[str]] = {}
    for policy in synthesized.resources(f"{stage}/Service", "AWS::IAM::ManagedPolicy").values():
        path = policy["Metadata"]["aws:cdk:path"].removeprefix(f"{stage}/Service/").removesuffix("/Resource")
        for statement in from_data(synthesized, stage, policy["Properties"]["PolicyDocument"]["Statement"]):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a.startswith("secretsmanager:") for a in actions):
                assert actions == ["secretsmanager:GetSecretValue"], path
                readers.setdefault(statement["Resource"]["Data"]["Ref"], set()).add(path)
    expected = {
        data_id(synthesized, stage, f"ProviderSecrets/{AGENT_SECRETS[a][0]}/Resource"): {
            f"{a.capitalize()}/Execution/Policy"
        }
        for a in AGENTS
    }
    expected[data_id(synthesized, stage, GITHUB_TOKEN)] = {
        *(f"{a.capitalize()}/Execution/Policy" for a in AGENTS),
        "ControlPlane/TaskPolicy",
    }
    assert readers == expected
    assert sorted(readers) == sorted(synthesized.resources(f"{stage}/Data", "AWS::SecretsManager::Secret"))
    # Every secret lives in the Data stack.
    assert synthesized.resources(f"{stage}/Service", "AWS::SecretsManager::Secret") == {}


@pytest.mark.parametrize("stage", STAGES)
def test_roles_hold_no_inline_or_extra_policies(synthesized: Synthesized, stage: str) -> None:
    """Every permission is in the managed policies asserted here; nothing else is attached."""
    assert synthesized.resources(f"{stage}/Service", "AWS::IAM::Policy") == {}
    for role_id, role in synthesized.resources(f"{stage}/Service", "AWS::IAM::Role").items():
        assert "Policies" not in role["Properties"], role_id
        assert "ManagedPolicyArns" not in role["Properties"], role_id
    attached: dict[str, list[str]] = {}
    for policy_id, policy in synthesized.resources(f"{stage}/Service", "AWS::IAM::ManagedPolicy").items():
        for role in policy["Properties"]["Roles"]:
            attached.setdefault(role["Ref"], []).append(policy_id)
    # One managed policy per role: the one the tests above assert statement by statement.
    assert all(len(policies) == 1 for policies in attached.values()), attached
    for agent in AGENTS:
        task = agent.capitalize()
        task_role = logical_id(synthesized, stage, f"{task}/TaskRole/Resource")
        assert attached[task_role] == [logical_id(synthesized, stage, f"{task}/TaskPolicy/Resource")]


@pytest.mark.parametrize("stage", STAGES)
def test_task_roles_trust_only_ecs_tasks_of_this_account(synthesized: Synthesized, stage: str) -> None:
    account = SETTINGS[stage.lower()]["account"]
    for path in [*(f"{a.capitalize()}/TaskRole/Resource" for a in AGENTS), "ControlPlane/TaskRole/Resource"]:
        [statement] = props(synthesized, stage, path)["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert statement["Condition"] == {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:us-east-1:{account}:*"},
        }


@pytest.mark.parametrize("stage", STAGES)
def test_provider_secrets_are_encrypted_generated_and_named(synthesized: Synthesized, stage: str) -> None:
    """They live in the Data stack, under a key of their own."""
    resources = synthesized.template(f"{stage}/Data")["Resources"]
    key = data_id(synthesized, stage, "ProviderSecrets/Key/Resource")
    assert resources[key]["Properties"]["EnableKeyRotation"] is True
    names = []
    for provider, _ in AGENT_SECRETS.values():
        secret = resources[data_id(synthesized, stage, f"ProviderSecrets/{provider}/Resource")]
        assert secret["Properties"]["KmsKeyId"] == arn_of(key)
        # A generated placeholder: the real key is never in a template.
        assert "SecretString" not in secret["Properties"]
        assert secret["Properties"]["GenerateSecretString"] == {
            "ExcludePunctuation": True,
            "PasswordLength": 32,
        }
        assert secret["DeletionPolicy"] == ("Retain" if stage == "Prod" else "Delete")
        names.append(secret["Properties"]["Name"])
    assert sorted(names) == [
        f"outpost/{ENV_NAMES[stage]}/{p}-api-key"
        for p in ("anthropic", "deepseek", "google", "openai", "xai")
    ]
    # The key policy names no role (ECS's automatic grants are not used): every read is in the
    # readers' own policies, asserted above.
    account = SETTINGS[stage.lower()]["account"]
    principals = [
        s["Principal"]
        for s in resources[key]["Properties"]["KeyPolicy"]["Statement"]
        if s["Effect"] == "Allow"
    ]
    assert principals
    assert all(p == {"AWS": f"arn:aws:iam::{account}:root"} for p in principals)


@pytest.mark.parametrize("stage", STAGES)
def test_log_groups_are_encrypted_and_expire(synthesized: Synthesized, stage: str) -> None:
    retention = SETTINGS[stage.lower()]["service"]["log_retention_days"]
    key = logical_id(synthesized, stage, "LogsKey/Key/Resource")
    groups = {
        logical: group
        for logical, group in synthesized.resources(f"{stage}/Service", "AWS::Logs::LogGroup").items()
        # The WAF's group has its own retention setting; tests/test_front_door.py checks it.
        if not str(group["Properties"].get("LogGroupName", "")).startswith("aws-waf-logs-")
    }
    assert len(groups) == len(AGENTS) + 1
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == retention
        assert group["Properties"]["KmsKeyId"] == arn_of(key)
        expected = "Retain" if stage == "Prod" else "Delete"
        assert group["DeletionPolicy"] == expected


# --- control plane ------------------------------------------------------------------------


TABLES = ("Dispatches", "Idempotency", "Workspaces", "WarmPool", "ApiKeys")
# (table, index) the control plane may query: every index there is, by name.
INDEXES = (
    ("ApiKeys", "by-key-hash"),
    ("Dispatches", "by-status"),
    ("Dispatches", "by-task-arn"),
    ("Dispatches", "by-user"),
    ("Workspaces", "by-user"),
)


def control_plane_data_statements(synthesized: Synthesized, stage: str) -> list[dict[str, Any]]:
    """The control plane's statements on the Data stack's resources, in policy order."""
    account = SETTINGS[stage.lower()]["account"]
    bucket = data_arn(synthesized, stage, "Artifacts/Bucket/Resource")
    file_system = data_arn(synthesized, stage, "Workspaces/FileSystem/Resource")
    file_system_id = data_ref(synthesized, stage, "Workspaces/FileSystem/Resource")
    access_points = f"arn:aws:elasticfilesystem:us-east-1:{account}:access-point/*"
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
        {"Sid": "ListArtifacts", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket},
        {
            "Sid": "ReadWriteDeleteArtifacts",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            "Resource": join(bucket, "/*"),
        },
        {
            "Sid": "UseTheDataKeyThroughDynamoDbAndS3",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
            "Resource": data_arn(synthesized, stage, "DataKey/Resource"),
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": ["dynamodb.us-east-1.amazonaws.com", "s3.us-east-1.amazonaws.com"]
                }
            },
        },
        {
            "Sid": "PutEvents",
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Resource": data_arn(synthesized, stage, "Events/Bus/Resource"),
        },
        *github_token_statements(synthesized, stage),
        {
            "Sid": "ListWorkspaceAccessPoints",
            "Effect": "Allow",
            "Action": "elasticfilesystem:DescribeAccessPoints",
            "Resource": file_system,
        },
        {
            "Sid": "CreateWorkspaceAccessPoints",
            "Effect": "Allow",
            "Action": "elasticfilesystem:CreateAccessPoint",
            "Resource": file_system,
            "Condition": {"StringEquals": {"aws:RequestTag/outpost:file-system": file_system_id}},
        },
        {
            "Sid": "TagNewWorkspaceAccessPoints",
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
            "Sid": "DeleteWorkspaceAccessPoints",
            "Effect": "Allow",
            "Action": "elasticfilesystem:DeleteAccessPoint",
            "Resource": access_points,
            "Condition": {"StringEquals": {"aws:ResourceTag/outpost:file-system": file_system_id}},
        },
        mount_statement(synthesized, stage),
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_control_plane_task_policy_is_exactly_least_privilege(synthesized: Synthesized, stage: str) -> None:
    env = ENV_NAMES[stage]
    account = SETTINGS[stage.lower()]["account"]
    cluster = logical_id(synthesized, stage, "Cluster/Resource")
    in_cluster = {"ArnEquals": {"ecs:cluster": arn_of(cluster)}}
    cluster_tasks = {"Fn::Join": ["", [f"arn:aws:ecs:us-east-1:{account}:task/", ref(cluster), "/*"]]}
    ordered = sorted(AGENTS)
    roles = [
        arn_of(logical_id(synthesized, stage, f"{a.capitalize()}/{kind}/Resource"))
        for a in ordered
        for kind in ("Execution/Role", "TaskRole")
    ]
    assert from_data(synthesized, stage, statements(synthesized, stage, "ControlPlane/TaskPolicy")) == [
        {
            "Sid": "RunAgentTasks",
            "Effect": "Allow",
            "Action": "ecs:RunTask",
            "Resource": [
                f"arn:aws:ecs:us-east-1:{account}:task-definition/outpost-{env}-{a}:*" for a in ordered
            ],
            "Condition": in_cluster,
        },
        {
            "Sid": "WatchAndStopAgentTasks",
            "Effect": "Allow",
            "Action": ["ecs:DescribeTasks", "ecs:StopTask"],
            "Resource": cluster_tasks,
            "Condition": in_cluster,
        },
        {"Sid": "TagAgentTasks", "Effect": "Allow", "Action": "ecs:TagResource", "Resource": cluster_tasks},
        {
            "Sid": "ListClusterTasks",
            "Effect": "Allow",
            "Action": "ecs:ListTasks",
            "Resource": "*",
            "Condition": in_cluster,
        },
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
        *control_plane_data_statements(synthesized, stage),
    ]
    assert props(synthesized, stage, "ControlPlane/TaskPolicy/Resource")["Roles"] == [
        ref(logical_id(synthesized, stage, "ControlPlane/TaskRole/Resource"))
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_control_plane_execution_role_pulls_its_image_and_writes_its_logs(
    synthesized: Synthesized, stage: str
) -> None:
    found = statements(synthesized, stage, "ControlPlane/Execution/Policy")
    assert [s["Sid"] for s in found] == ["RegistryLogin", "PullOwnImage", "WriteOwnLogs"]
    assert output_of(found[1]["Resource"]).startswith("PublishOutputFnGetAttControlPlaneRepository")
    assert found[2]["Resource"] == arn_of(logical_id(synthesized, stage, "ControlPlane/Logs/Resource"))


@pytest.mark.parametrize("stage", STAGES)
def test_control_plane_task_definition(synthesized: Synthesized, stage: str) -> None:
    settings = SETTINGS[stage.lower()]["service"]["control_plane"]
    definition = props(synthesized, stage, "ControlPlane/TaskDefinition/Resource")
    assert definition["Family"] == f"outpost-{ENV_NAMES[stage]}-control-plane"
    assert definition["RuntimePlatform"] == {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}
    assert (definition["Cpu"], definition["Memory"]) == (str(settings["cpu"]), str(settings["memory"]))
    assert from_data(synthesized, stage, definition["Volumes"]) == [
        {"Name": "tmp"},
        workspaces_volume(synthesized, stage),
    ]
    box = container(synthesized, stage, "ControlPlane")
    assert box["User"] == "1001"
    assert box["ReadonlyRootFilesystem"] is True
    assert box["MountPoints"] == [
        {"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"},
        WORKSPACES_MOUNT,
    ]
    assert box["PortMappings"] == [{"ContainerPort": 3000, "Protocol": "tcp"}]
    assert box["Image"]["Fn::Join"][1][-1] == f":{settings['image_tag']}"
    assert box["HealthCheck"]["Command"][-1].startswith(
        "wget -q -O /dev/null http://127.0.0.1:3000/health/live"
    )
    assert box["LogConfiguration"]["Options"]["awslogs-group"] == ref(
        logical_id(synthesized, stage, "ControlPlane/Logs/Resource")
    )
    # It reads the GitHub token itself when it needs it (its ARN is in the environment).
    assert "Secrets" not in box


@pytest.mark.parametrize("stage", STAGES)
def test_control_plane_environment(synthesized: Synthesized, stage: str) -> None:
    settings = SETTINGS[stage.lower()]["service"]
    environment = {
        e["Name"]: from_data(synthesized, stage, e["Value"])
        for e in container(synthesized, stage, "ControlPlane")["Environment"]
    }
    cluster = logical_id(synthesized, stage, "Cluster/Resource")
    expected: dict[str, Any] = {
        "NODE_ENV": "production",
        "PORT": "3000",
        "AWS_REGION": "us-east-1",
        "OUTPOST_ENVIRONMENT": ENV_NAMES[stage],
        "OUTPOST_CLUSTER_ARN": arn_of(cluster),
        "OUTPOST_AGENT_CAPACITY_PROVIDER": "FARGATE_SPOT" if settings["agents_use_spot"] else "FARGATE",
        "OUTPOST_AGENT_CONTAINER_NAME": "agent",
        "OUTPOST_WORKER_TASK_TIMEOUT_SECONDS": str(settings["control_plane"]["worker_task_timeout_seconds"]),
        "OUTPOST_AGENTS": ",".join(AGENTS),
        "OUTPOST_WARM_POOL_SIZE": str(settings["control_plane"]["warm_pool_size"]),
        "OUTPOST_ARTIFACTS_BUCKET": data_ref(synthesized, stage, "Artifacts/Bucket/Resource"),
        "OUTPOST_EVENT_BUS_NAME": data_ref(synthesized, stage, "Events/Bus/Resource"),
        "OUTPOST_EFS_FILE_SYSTEM_ID": data_ref(synthesized, stage, "Workspaces/FileSystem/Resource"),
        "OUTPOST_EFS_ACCESS_POINT_ID": data_ref(
            synthesized, stage, "Workspaces/FileSystem/Workspaces/Resource"
        ),
        "OUTPOST_WORKSPACES_PATH": "/mnt/workspaces",
        "OUTPOST_GITHUB_TOKEN_SECRET_ARN": data_ref(synthesized, stage, GITHUB_TOKEN),
        "OUTPOST_TABLE_DISPATCHES": data_ref(synthesized, stage, "Tables/Dispatches/Resource"),
        "OUTPOST_TABLE_IDEMPOTENCY": data_ref(synthesized, stage, "Tables/Idempotency/Resource"),
        "OUTPOST_TABLE_WORKSPACES": data_ref(synthesized, stage, "Tables/Workspaces/Resource"),
        "OUTPOST_TABLE_WARM_POOL": data_ref(synthesized, stage, "Tables/WarmPool/Resource"),
        "OUTPOST_TABLE_API_KEYS": data_ref(synthesized, stage, "Tables/ApiKeys/Resource"),
    }
    for agent in AGENTS:
        task = agent.capitalize()
        expected[f"OUTPOST_TASK_DEF_{agent.upper()}"] = ref(
            logical_id(synthesized, stage, f"{task}/TaskDefinition/Resource")
        )
        expected[f"OUTPOST_LOG_GROUP_{agent.upper()}"] = ref(
            logical_id(synthesized, stage, f"{task}/Logs/Resource")
        )
    subnets = environment.pop("OUTPOST_WORKER_SUBNETS")
    group = environment.pop("OUTPOST_WORKER_SECURITY_GROUP")
    assert environment == expected
    zones = len(SETTINGS[stage.lower()]["network"]["availability_zones"])
    separator, parts = subnets["Fn::Join"]
    assert separator == ","
    for index, part in enumerate(parts, start=1):
        assert output_of(part).startswith(f"PublishOutputRefNetworkVpcPrivateSubnet{index}Subnet")
    assert len(parts) == zones
    assert output_of(group).startswith("PublishOutputFnGetAttNetworkPolicyAgents")


@pytest.mark.parametrize("stage", STAGES)
def test_no_credential_in_plain_environment_variables(synthesized: Synthesized, stage: str) -> None:
    """A variable named like a credential is allowed only when it holds a reference to a Data
    stack resource, never a literal: a secret's ARN (``..._SECRET_ARN``) or a table's name
    (``OUTPOST_TABLE_API_KEYS``: the table of API-key hashes)."""
    allowed = {"_SECRET_ARN": "AWS::SecretsManager::Secret", "OUTPOST_TABLE_": "AWS::DynamoDB::Table"}
    resources = synthesized.template(f"{stage}/Data")["Resources"]
    for definition in synthesized.resources(f"{stage}/Service", "AWS::ECS::TaskDefinition").values():
        for box in definition["Properties"]["ContainerDefinitions"]:
            for variable in box.get("Environment", []):
                name = variable["Name"]
                if not SECRET_LIKE.search(name):
                    continue
                kinds = [k for marker, k in allowed.items() if marker in name]
                assert len(kinds) == 1, (box["Name"], name)
                kind = kinds[0]
                value = from_data(synthesized, stage, variable["Value"])
                assert resources[value["Data"]["Ref"]]["Type"] == kind, (box["Name"], name)


@pytest.mark.parametrize("stage", STAGES)
def test_control_plane_service(synthesized: Synthesized, stage: str) -> None:
    settings = SETTINGS[stage.lower()]["service"]["control_plane"]
    svc_id, svc = at(synthesized, stage, "ControlPlane/Service/Service")
    p = svc["Properties"]
    assert p["DeploymentConfiguration"] == {
        "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
        "MaximumPercent": 200,
        "MinimumHealthyPercent": 100,
    }
    assert p["DesiredCount"] == settings["desired_count"]
    assert p["CapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE", "Weight": 1}]
    assert p["AvailabilityZoneRebalancing"] == "ENABLED"
    assert p["PlatformVersion"] == "LATEST"
    assert p["EnableExecuteCommand"] is False
    network = p["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    [group] = network["SecurityGroups"]
    assert output_of(group).startswith("PublishOutputFnGetAttNetworkPolicyControlPlane")
    zones = SETTINGS[stage.lower()]["network"]["availability_zones"]
    # One private subnet per zone: ECS spreads the tasks over the zones.
    assert len(network["Subnets"]) == len(zones)
    assert all("PrivateSubnet" in output_of(s) for s in network["Subnets"])
    # Tasks start once their permissions exist and FARGATE is associated with the cluster.
    assert {
        logical_id(synthesized, stage, "ControlPlane/TaskPolicy/Resource"),
        logical_id(synthesized, stage, "Cluster/Cluster"),
    } <= set(svc["DependsOn"])
    assert svc_id


@pytest.mark.parametrize("stage", STAGES)
def test_control_plane_scales_on_cpu_within_bounds(synthesized: Synthesized, stage: str) -> None:
    settings = SETTINGS[stage.lower()]["service"]["control_plane"]
    target_id, target = at(synthesized, stage, "ControlPlane/Service/TaskCount/Target/Resource")
    assert (target["Properties"]["MinCapacity"], target["Properties"]["MaxCapacity"]) == (
        settings["min_tasks"],
        settings["max_tasks"],
    )
    policy = props(synthesized, stage, "ControlPlane/Service/TaskCount/Target/CpuScaling/Resource")
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["ScalingTargetId"] == ref(target_id)
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == settings["cpu_target_percent"]
    assert tracking["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
    }
    assert tracking["ScaleInCooldown"] == settings["scale_in_cooldown_seconds"]
    assert tracking["ScaleOutCooldown"] == settings["scale_out_cooldown_seconds"]


def test_prod_runs_at_least_two_tasks(synthesized: Synthesized) -> None:
    svc = props(synthesized, "Prod", "ControlPlane/Service/Service")
    target = props(synthesized, "Prod", "ControlPlane/Service/TaskCount/Target/Resource")
    assert svc["DesiredCount"] >= 2
    assert target["MinCapacity"] >= 2
    assert len(SETTINGS["prod"]["network"]["availability_zones"]) >= 2


@pytest.mark.parametrize("stage", STAGES)
def test_outputs(synthesized: Synthesized, stage: str) -> None:
    outputs = service(synthesized, stage)["Outputs"]
    assert outputs["ClusterName"]["Value"] == ref(logical_id(synthesized, stage, "Cluster/Resource"))
    assert {"ControlPlaneServiceName", "ControlPlaneLogGroup"} <= set(outputs)
    assert {f"{a.capitalize()}TaskDefinition" for a in AGENTS} <= set(outputs)
    # The secrets' names are outputs of the Data stack, where the secrets are.
    assert [k for k in outputs if k.endswith("SecretName")] == []
    data_outputs = synthesized.template(f"{stage}/Data")["Outputs"]
    secret_names = sorted(
        o["Value"]
        for k, o in data_outputs.items()
        if k.endswith("SecretName") and k != "GithubTokenSecretName"
    )
    assert secret_names == [
        f"outpost/{ENV_NAMES[stage]}/{p}-api-key"
        for p in ("anthropic", "deepseek", "google", "openai", "xai")
    ]


# --- bootstrap mode and request scaling (one throwaway synth, no nag packs) -----------------


def test_bootstrap_mode_starts_no_task_and_request_scaling_plugs_in() -> None:
    """First deploy into an empty registry: the service exists with 0 tasks, nothing to pull.

    Also proves that the front door's target group drives a request-count scaling policy
    and that registering the service as a target added no security-group rule.
    """
    context = shipped_context()
    context["outpost"]["environments"]["dev"]["service"]["control_plane"]["bootstrap"] = True
    context["aws:cdk:enable-path-metadata"] = True  # security groups are named by construct path
    app = cdk.App(context=context)
    [config] = load_environments(app.node.try_get_context, only="dev")
    stage = OutpostStage(app, config=config)
    stack = stage.service

    template = Template.from_stack(stack)
    # Registering the service as a target added no rule to the control plane's group: the
    # network policy's one rule (load balancer -> 3000) is all there is, in either stack.
    network_rules = rules([Template.from_stack(stage.network).to_json(), template.to_json()])
    assert [r for r in network_rules if r.group == "ControlPlane" and r.direction == "ingress"] == [
        Rule(
            "ControlPlane",
            "ingress",
            "LoadBalancer",
            "tcp",
            3000,
            3000,
            "Load balancer forwards API requests to the control-plane container port",
        )
    ]
    assert template.find_resources("AWS::EC2::SecurityGroupIngress") == {}

    template.has_resource_properties("AWS::ECS::Service", {"DesiredCount": 0})
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 0, "MaxCapacity": 0}
    )
    policies = template.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy")
    metrics = {
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
            "PredefinedMetricType"
        ]: p["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        for p in policies.values()
    }
    assert set(metrics) == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
    assert (
        metrics["ALBRequestCountPerTarget"]["TargetValue"] == config.service.control_plane.requests_per_target
    )


@pytest.mark.parametrize("stage", STAGES)
def test_acknowledgements_are_exactly_these(synthesized: Synthesized, stage: str) -> None:
    """Each acknowledged finding of the stack, where it is made; a new one must be added here."""
    account = SETTINGS[stage.lower()]["account"]
    env = ENV_NAMES[stage]
    cluster = logical_id(synthesized, stage, "Cluster/Resource")
    found = {
        (ack["acknowledgedId"], ack["acknowledgedAt"].removeprefix(f"{stage}/Service/"))
        for plugin in synthesized.report["pluginReports"]
        for ack in plugin.get("suppressedViolations", [])
        if ack["acknowledgedAt"].startswith(f"{stage}/Service/")
        # The front door's own list is pinned by tests/test_front_door.py.
        and not ack["acknowledgedAt"].startswith(f"{stage}/Service/FrontDoor/")
    }
    iam5 = "AwsSolutions::AwsSolutions-IAM5"
    expected = {("AwsSolutions::AwsSolutions-ECS2", "ControlPlane/TaskDefinition")}
    # Container Insights runs enhanced, which the Control Tower rule does not know.
    expected |= {(control_tower("ecs_container_insights_enabled_check"), "Cluster/Resource")}
    if stage == "Dev":  # log groups kept less than a year, development only (constructs/log_encryption.py)
        retention = control_tower("cloudwatch_log_group_retention_period_check")
        expected |= {
            (retention, f"{name}/Logs") for name in (*(a.capitalize() for a in AGENTS), "ControlPlane")
        }
    expected |= {(f"{iam5}[Resource::*]", f"{a.capitalize()}/Execution/Policy") for a in AGENTS}
    expected |= {(f"{iam5}[Resource::*]", "ControlPlane/Execution/Policy")}
    expected |= {(f"{iam5}[Resource::*]", "ControlPlane/TaskPolicy")}  # ecs:ListTasks
    expected |= {
        (
            f"{iam5}[Resource::arn:aws:ecs:us-east-1:{account}:task-definition/outpost-{env}-{a}:*]",
            "ControlPlane/TaskPolicy",
        )
        for a in AGENTS
    }
    expected |= {
        (f"{iam5}[Resource::arn:aws:ecs:us-east-1:{account}:task/<{cluster}>/*]", "ControlPlane/TaskPolicy")
    }
    artifacts = json.dumps(
        {
            "Fn::GetStackOutput": {
                "StackName": f"{stage}-Data",
                "Region": "us-east-1",
                "OutputName": next(
                    name
                    for name, o in synthesized.template(f"{stage}/Data")["Outputs"].items()
                    if name.startswith("PublishOutput")
                    and o["Value"] == arn_of(data_id(synthesized, stage, "Artifacts/Bucket/Resource"))
                ),
            }
        },
        separators=(",", ":"),
    )
    # Object ARNs of the artifacts bucket: all of them for the control plane, one prefix per agent.
    expected |= {(f"{iam5}[Resource::{artifacts}/*]", "ControlPlane/TaskPolicy")}
    expected |= {(f"{iam5}[Resource::{artifacts}/{a}/*]", f"{a.capitalize()}/TaskPolicy") for a in AGENTS}
    # Access points (their ARNs do not name the file system; tag conditions do).
    expected |= {
        (
            f"{iam5}[Resource::arn:aws:elasticfilesystem:us-east-1:{account}:access-point/*]",
            "ControlPlane/TaskPolicy",
        )
    }
    assert found == expected
