"""The agents' task definitions and what each agent's roles may do."""

from __future__ import annotations

import pytest

from config import AGENTS
from tests.conftest import STAGES
from tests.service_templates import (
    AGENT_SECRETS,
    ENV_NAMES,
    GITHUB_TOKEN,
    WORKSPACES_MOUNT,
    at,
    container,
    github_token_statements,
    image_uri,
    logical_id,
    mount_statement,
    props,
    repository_arn,
    statements,
    workspaces_volume,
)
from tests.synth import Synthesized
from tests.templates import SETTINGS, arn_of, data_arn, data_ref, from_data, join, ref


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
    assert box["Image"] == image_uri(stage, agent, agent_settings["image_tag"])
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
    repository = repository_arn(stage, agent)
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
