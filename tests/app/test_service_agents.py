"""The agents' task definitions and what each agent's roles may do."""

from __future__ import annotations

import pytest

from config import AGENTS
from config.guardduty import guardduty_share
from tests.environments import STAGES, config_of
from tests.guardduty_templates import agent_pull_statements
from tests.service_templates import (
    AGENT_SECRETS,
    ENV_NAMES,
    access_point_arn,
    container,
    containers,
    image_uri,
    logical_id,
    props,
    repository_arn,
    statements,
)
from tests.synth import Synthesized
from tests.templates import arn_of, at, data_arn, data_ref, from_data, ref, region, settings


@pytest.mark.parametrize("stage", STAGES)
def test_every_task_leaves_guarddutys_agent_its_memory_and_wastes_none(
    synthesized: Synthesized, stage: str
) -> None:
    """GuardDuty's agent takes its memory from the task's (AWS Batch guide, "Job definitions on
    Fargate"; the limits: GuardDuty's Fargate prerequisites, "CPU and memory limits"): where it
    joins, the containers' hard limits leave its share free; the rest is the containers'."""
    definitions = synthesized.resources(f"{stage}/Service", "AWS::ECS::TaskDefinition").values()
    assert len(definitions) == len(AGENTS) + 1
    for definition in definitions:
        cpu, memory = int(definition["Properties"]["Cpu"]), int(definition["Properties"]["Memory"])
        limits = sum(box["Memory"] for box in definition["Properties"]["ContainerDefinitions"])
        assert limits + guardduty_share(config_of(stage).audit.guardduty_agent, cpu, memory) == memory


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("agent", AGENTS)
def test_agent_task_definition(synthesized: Synthesized, stage: str, agent: str) -> None:
    wanted = settings(stage)["service"]
    agent_settings = wanted["agents"][agent]
    task = agent.capitalize()
    definition = props(synthesized, stage, f"{task}/TaskDefinition/Resource")
    assert definition["Family"] == f"outpost-{ENV_NAMES[stage]}-{agent}"
    assert definition["RuntimePlatform"] == {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}
    assert definition["RequiresCompatibilities"] == ["FARGATE"]
    assert definition["NetworkMode"] == "awsvpc"
    assert definition["Cpu"] == str(agent_settings["cpu"])
    assert definition["Memory"] == str(agent_settings["memory"])
    assert definition["EphemeralStorage"] == {"SizeInGiB": agent_settings["ephemeral_storage_gib"]}
    # The base definition mounts no workspace: each dispatch's revision adds its own.
    assert definition["Volumes"] == [{"Name": "workspace"}, {"Name": "tmp"}]
    assert definition["ExecutionRoleArn"] == arn_of(
        logical_id(synthesized, stage, f"{task}/Execution/Role/Resource")
    )
    assert definition["TaskRoleArn"] == arn_of(logical_id(synthesized, stage, f"{task}/TaskRole/Resource"))

    assert sorted(containers(synthesized, stage, task)) == ["agent", "credential-proxy"]
    box = container(synthesized, stage, task, "agent")
    # The task's memory less the proxy's hard limit (the sum may not exceed the task's), and
    # less GuardDuty's agent's where it joins the task.
    sidecar = guardduty_share(
        config_of(stage).audit.guardduty_agent, agent_settings["cpu"], agent_settings["memory"]
    )
    assert box["Memory"] == agent_settings["memory"] - wanted["credential_proxy"]["memory"] - sidecar
    assert box["User"] == "1000"
    assert box["ReadonlyRootFilesystem"] is True
    assert box["LinuxParameters"] == {"Capabilities": {"Drop": ["ALL"]}}
    assert box["MountPoints"] == [
        {"ContainerPath": "/workspace", "ReadOnly": False, "SourceVolume": "workspace"},
        {"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"},
    ]
    assert box["StopTimeout"] == wanted["agent_stop_timeout_seconds"]
    assert box["Image"] == image_uri(stage, agent, agent_settings["image_tag"])
    assert box["LogConfiguration"]["LogDriver"] == "awslogs"
    assert box["LogConfiguration"]["Options"]["awslogs-group"] == ref(
        logical_id(synthesized, stage, f"{task}/Logs/Resource")
    )
    assert box["LogConfiguration"]["Options"]["awslogs-stream-prefix"] == agent
    # No secret at all (issue 21): the key is the proxy's, the GitHub token a workspace file.
    assert "Secrets" not in box
    # The task waits for both of its policies (a dispatch's mount needs the task role's).
    assert {
        logical_id(synthesized, stage, f"{task}/Execution/Policy/Resource"),
        logical_id(synthesized, stage, f"{task}/TaskPolicy/Resource"),
    } <= set(at(synthesized, f"{stage}/Service", f"{task}/TaskDefinition/Resource")[1]["DependsOn"])


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
    repositories = sorted([repository_arn(stage, agent), repository_arn(stage, "credential-proxy")])
    assert found == [
        {"Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Sid": "PullOwnImage",
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": repositories,
        },
        *agent_pull_statements(stage),
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
                    "kms:ViaService": f"secretsmanager.{region(stage)}.amazonaws.com",
                    "kms:EncryptionContext:SecretARN": secret,
                }
            },
        },
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": arn_of(log_group),
        },
    ]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("agent", AGENTS)
def test_agent_task_role_may_only_mount_a_dispatch_access_point(
    synthesized: Synthesized, stage: str, agent: str
) -> None:
    """No S3 and no key (artifacts travel on presigned requests); the file system only through an
    access point that is not the shared /workspaces one."""
    task = agent.capitalize()
    account = settings(stage)["account"]
    found = from_data(synthesized, stage, statements(synthesized, stage, f"{task}/TaskPolicy"))
    assert found == [
        {
            "Sid": "MountADispatchAccessPoint",
            "Effect": "Allow",
            "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
            "Resource": data_arn(synthesized, stage, "Workspaces/FileSystem/Resource"),
            "Condition": {
                "ArnLike": {
                    "elasticfilesystem:AccessPointArn": (
                        f"arn:aws:elasticfilesystem:{region(stage)}:{account}:access-point/*"
                    )
                },
                "ArnNotEquals": {"elasticfilesystem:AccessPointArn": access_point_arn(synthesized, stage)},
            },
        },
    ]
    assert props(synthesized, stage, f"{task}/TaskPolicy/Resource")["Roles"] == [
        ref(logical_id(synthesized, stage, f"{task}/TaskRole/Resource"))
    ]
