"""What the Service stack tests share: where its resources are, what its agents read."""

from __future__ import annotations

import re
from typing import Any

from tests import templates
from tests.environments import STAGES, name_of
from tests.synth import Synthesized
from tests.templates import account, data_arn, data_ref, join, region, settings


def service(synthesized: Synthesized, stage: str) -> dict[str, Any]:
    return synthesized.template(f"{stage}/Service")


ENV_NAMES = {stage: name_of(stage) for stage in STAGES}


# Agent -> (provider secret construct id, the variable the agent CLI reads).
AGENT_SECRETS = {
    "claude": ("Anthropic", "ANTHROPIC_API_KEY"),
    "codex": ("Openai", "OPENAI_API_KEY"),
    "gemini": ("Google", "GEMINI_API_KEY"),
    "aider": ("Deepseek", "DEEPSEEK_API_KEY"),
    "grok": ("Xai", "XAI_API_KEY"),
}


SECRET_LIKE = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL|PRIVATE", re.IGNORECASE)


def logical_id(synthesized: Synthesized, stage: str, path: str) -> str:
    return templates.at(synthesized, f"{stage}/Service", path)[0]


def props(synthesized: Synthesized, stage: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = templates.at(synthesized, f"{stage}/Service", path)[1]["Properties"]
    return found


def containers(synthesized: Synthesized, stage: str, task: str) -> dict[str, dict[str, Any]]:
    """The container definitions of ``<task>/TaskDefinition``, by name."""
    definitions: list[dict[str, Any]] = props(synthesized, stage, f"{task}/TaskDefinition/Resource")[
        "ContainerDefinitions"
    ]
    return {definition["Name"]: definition for definition in definitions}


def container(synthesized: Synthesized, stage: str, task: str, name: str | None = None) -> dict[str, Any]:
    """The container ``name`` of the task, or its only container."""
    found = containers(synthesized, stage, task)
    if name is None:
        [definition] = found.values()
        return definition
    return found[name]


def statements(synthesized: Synthesized, stage: str, policy_path: str) -> list[dict[str, Any]]:
    document = props(synthesized, stage, f"{policy_path}/Resource")["PolicyDocument"]
    result: list[dict[str, Any]] = document["Statement"]
    return result


def access_point_arn(synthesized: Synthesized, stage: str) -> dict[str, Any]:
    return join(
        f"arn:aws:elasticfilesystem:{region(stage)}:{account(stage)}:access-point/",
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


GITHUB_APP_KEY = "GithubApp/Secret/Resource"


def repository_name(stage: str, image: str) -> str:
    return f"{settings(stage)['registry']['repository_prefix']}/{image}"


def repository_arn(stage: str, image: str) -> str:
    """The Registry stack's repository, named (not referenced): a plain string."""
    return f"arn:aws:ecr:{region(stage)}:{account(stage)}:repository/{repository_name(stage, image)}"


def image_uri(stage: str, image: str, tag: str) -> dict[str, Any]:
    """``<account>.dkr.ecr.<region>.<url suffix>/<repository>:<tag>``, with no cross-stack reference."""
    return {
        "Fn::Join": [
            "",
            [
                f"{account(stage)}.dkr.ecr.{region(stage)}.",
                {"Ref": "AWS::URLSuffix"},
                f"/{repository_name(stage, image)}:{tag}",
            ],
        ]
    }


def github_app_key_statements(synthesized: Synthesized, stage: str) -> list[dict[str, Any]]:
    token = data_ref(synthesized, stage, GITHUB_APP_KEY)
    return [
        {
            "Sid": "ReadGithubAppKey",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": token,
        },
        {
            "Sid": "DecryptGithubAppKey",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": data_arn(synthesized, stage, "DataKey/Resource"),
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": f"secretsmanager.{region(stage)}.amazonaws.com",
                    "kms:EncryptionContext:SecretARN": token,
                }
            },
        },
    ]
