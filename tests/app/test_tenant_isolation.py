"""One dispatch cannot touch another's data, proven from the synthesized templates.

Every agent role and agent task definition of every environment is read back: none may reach
an S3 object at all (artifacts travel on presigned requests for one dispatch's prefix), none
may mount the file system without an access point or through the shared ``/workspaces`` one,
and no agent task definition mounts anything (a dispatch's revision adds its own access
point at run time). Each test fails on the templates before this isolation (agent roles with
``s3:GetObject``/``PutObject`` on ``<bucket>/<agent>/*``, task definitions mounting the shared
access point).
"""

from __future__ import annotations

from typing import Any

import pytest

from config import AGENTS
from tests.data_templates import DENY_MOUNTS_WITHOUT_AN_ACCESS_POINT
from tests.environments import STAGES
from tests.service_templates import access_point_arn, logical_id, props
from tests.synth import Synthesized
from tests.templates import from_data


def agent_roles(synthesized: Synthesized, stage: str) -> dict[str, str]:
    """Logical id -> construct path of every role an agent task can act as or start with."""
    return {
        logical_id(synthesized, stage, f"{agent.capitalize()}/{role}/Resource"): f"{agent}/{role}"
        for agent in AGENTS
        for role in ("TaskRole", "Execution/Role")
    }


def statements_of(synthesized: Synthesized, stage: str, roles: dict[str, str]) -> list[dict[str, Any]]:
    """Every statement of every policy attached to one of ``roles`` (managed or inline)."""
    found = []
    for kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
        for policy in synthesized.resources(f"{stage}/Service", kind).values():
            attached = {r["Ref"] for r in policy["Properties"].get("Roles", [])}
            if attached & set(roles):
                found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else list(value)


@pytest.mark.parametrize("stage", STAGES)
def test_no_agent_role_reaches_any_s3_object(synthesized: Synthesized, stage: str) -> None:
    """Not even its own dispatch's prefix by role: only presigned requests reach S3."""
    for statement in statements_of(synthesized, stage, agent_roles(synthesized, stage)):
        assert not [a for a in actions(statement) if a.startswith("s3:") or a == "*"], statement
        # Nor the data key through S3 (what reading an encrypted object would need).
        via = statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService", "")
        assert not str(via).startswith("s3."), statement


@pytest.mark.parametrize("stage", STAGES)
def test_agent_roles_mount_only_through_a_dispatch_access_point(synthesized: Synthesized, stage: str) -> None:
    """No root access; every mount through an access point, never the shared /workspaces one."""
    shared = access_point_arn(synthesized, stage)
    mounting = [
        s
        for s in statements_of(synthesized, stage, agent_roles(synthesized, stage))
        if any(a.startswith("elasticfilesystem:") for a in actions(s))
    ]
    assert len(mounting) == len(AGENTS)
    for statement in mounting:
        assert sorted(actions(statement)) == [
            "elasticfilesystem:ClientMount",
            "elasticfilesystem:ClientWrite",
        ]
        conditions = from_data(synthesized, stage, statement["Condition"])
        assert conditions["ArnLike"]["elasticfilesystem:AccessPointArn"].endswith(":access-point/*")
        assert conditions["ArnNotEquals"] == {"elasticfilesystem:AccessPointArn": shared}


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("agent", AGENTS)
def test_no_agent_task_definition_mounts_a_workspace(
    synthesized: Synthesized, stage: str, agent: str
) -> None:
    """The base definitions mount no file system at all: not the root, not the shared access
    point. The only way an agent sees a workspace is its dispatch's own revision."""
    definition = props(synthesized, stage, f"{agent.capitalize()}/TaskDefinition/Resource")
    assert [v for v in definition["Volumes"] if "EFSVolumeConfiguration" in v] == []
    for container in definition["ContainerDefinitions"]:
        assert not [m for m in container.get("MountPoints", []) if m["ContainerPath"].startswith("/mnt/")]


@pytest.mark.parametrize("stage", STAGES)
def test_the_file_system_refuses_mounts_without_an_access_point(synthesized: Synthesized, stage: str) -> None:
    (file_system,) = synthesized.resources(f"{stage}/Data", "AWS::EFS::FileSystem").values()
    statements = file_system["Properties"]["FileSystemPolicy"]["Statement"]
    denies = [s for s in statements if s["Effect"] == "Deny" and "Null" in s.get("Condition", {})]
    assert denies == [DENY_MOUNTS_WITHOUT_AN_ACCESS_POINT]
    # Nobody is granted root access anywhere.
    for statement in statements:
        if statement["Effect"] == "Allow":
            assert "elasticfilesystem:ClientRootAccess" not in actions(statement)
