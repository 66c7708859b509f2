"""Who reads which secret, and what every role of the Service stack holds and trusts."""

from __future__ import annotations

import pytest

from config import AGENTS
from permissions.control_plane_policies import POLICIES
from tests.environments import STAGES, is_production
from tests.service_templates import (
    AGENT_SECRETS,
    ENV_NAMES,
    GITHUB_APP_KEY,
    logical_id,
    props,
)
from tests.synth import Synthesized
from tests.templates import arn_of, data_id, from_data, region, settings


@pytest.mark.parametrize("stage", STAGES)
def test_each_secret_is_read_by_exactly_the_roles_that_need_it(synthesized: Synthesized, stage: str) -> None:
    """A provider key: only its agent's execution role (for the task's credential proxy). The
    GitHub App's private key: the control plane's task role alone (issue 21: agents get
    per-dispatch tokens). No other secret read anywhere."""
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
    expected[data_id(synthesized, stage, GITHUB_APP_KEY)] = {"ControlPlane/WorkspacesPolicy"}
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
    # One managed policy per role (the control plane's task role: one per concern), each
    # asserted statement by statement elsewhere.
    control_plane = logical_id(synthesized, stage, "ControlPlane/TaskRole/Resource")
    assert sorted(attached.pop(control_plane)) == sorted(
        logical_id(synthesized, stage, f"ControlPlane/{policy}/Resource") for policy in POLICIES
    )
    assert all(len(policies) == 1 for policies in attached.values()), attached
    for agent in AGENTS:
        task = agent.capitalize()
        task_role = logical_id(synthesized, stage, f"{task}/TaskRole/Resource")
        assert attached[task_role] == [logical_id(synthesized, stage, f"{task}/TaskPolicy/Resource")]


@pytest.mark.parametrize("stage", STAGES)
def test_task_roles_trust_only_ecs_tasks_of_this_account(synthesized: Synthesized, stage: str) -> None:
    account = settings(stage)["account"]
    for path in [*(f"{a.capitalize()}/TaskRole/Resource" for a in AGENTS), "ControlPlane/TaskRole/Resource"]:
        [statement] = props(synthesized, stage, path)["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert statement["Condition"] == {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{region(stage)}:{account}:*"},
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
        assert secret["DeletionPolicy"] == ("Retain" if is_production(stage) else "Delete")
        names.append(secret["Properties"]["Name"])
    assert sorted(names) == [
        f"outpost/{ENV_NAMES[stage]}/{p}-api-key"
        for p in ("anthropic", "deepseek", "google", "openai", "xai")
    ]
    # The key policy names no role (ECS's automatic grants are not used): every read is in the
    # readers' own policies, asserted above.
    account = settings(stage)["account"]
    principals = [
        s["Principal"]
        for s in resources[key]["Properties"]["KeyPolicy"]["Statement"]
        if s["Effect"] == "Allow"
    ]
    assert principals
    assert all(p == {"AWS": f"arn:aws:iam::{account}:root"} for p in principals)
