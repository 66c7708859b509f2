"""Issue 21 (items 1 and 2), from the templates: what a hijacked agent's container holds.

No agent task definition carries a GitHub token (the control plane hands each dispatch a
one-hour token for its one repository, in its workspace), and no agent container holds a
provider key: the key is an ECS secret of the task's credential proxy, which the agent reaches
on 127.0.0.1 (docs/credentials.md). Each check reads every container of every agent task
definition, so a key or token added back under any name, in any container, fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from config import AGENTS
from constructs.agent_task import (
    AGENT_CONTAINER,
    KEY_PLACEHOLDER,
    PROXY_CONTAINER,
    PROXY_KEY_VARIABLE,
    PROXY_URL,
)
from constructs.provider_secrets import AGENT_PROVIDERS
from tests.environments import STAGES
from tests.service_templates import AGENT_SECRETS, containers, props
from tests.synth import Synthesized
from tests.templates import data_id, from_data, settings
from tools.rehearsal.limits import CONTAINERS_PER_TASK_DEFINITION


def _agent_definitions(synthesized: Synthesized, stage: str) -> dict[str, dict[str, Any]]:
    """Agent -> the properties of its task definition."""
    return {
        agent: props(synthesized, stage, f"{agent.capitalize()}/TaskDefinition/Resource") for agent in AGENTS
    }


def _secret_refs(synthesized: Synthesized, stage: str, box: dict[str, Any]) -> dict[str, str]:
    """Variable -> the logical id (in the Data stack) of the secret an ECS secret names."""
    found = {}
    for secret in box.get("Secrets", []):
        value = from_data(synthesized, stage, secret["ValueFrom"])
        found[secret["Name"]] = value["Data"]["Ref"]
    return found


def _data_secrets(synthesized: Synthesized, stage: str) -> dict[str, str]:
    """Logical id -> name of every secret of the environment (all live in the Data stack)."""
    return {
        logical_id: resource["Properties"]["Name"]
        for logical_id, resource in synthesized.resources(
            f"{stage}/Data", "AWS::SecretsManager::Secret"
        ).items()
    }


@pytest.mark.parametrize("stage", STAGES)
def test_no_agent_task_definition_holds_a_github_token(synthesized: Synthesized, stage: str) -> None:
    """No container of any agent task definition gets a GitHub credential: no ECS secret that is
    not its provider's key, no variable that names GitHub but the token file's path; and no
    agent role may read a GitHub secret (only the control plane's task role does)."""
    secrets = _data_secrets(synthesized, stage)
    github = {logical_id for logical_id, name in secrets.items() if "github" in name}
    assert github, "the GitHub App's private key is a secret of the Data stack"
    for agent, definition in _agent_definitions(synthesized, stage).items():
        provider = data_id(synthesized, stage, f"ProviderSecrets/{AGENT_SECRETS[agent][0]}/Resource")
        for box in definition["ContainerDefinitions"]:
            refs = _secret_refs(synthesized, stage, box)
            assert set(refs.values()) <= {provider}, (agent, box["Name"], refs)
            names = [v["Name"] for v in box.get("Environment", [])] + list(refs)
            assert [n for n in names if "GITHUB" in n or "GH_" in n] in ([], ["OUTPOST_GITHUB_TOKEN_FILE"])
    readers = set()
    for policy in synthesized.resources(f"{stage}/Service", "AWS::IAM::ManagedPolicy").values():
        for statement in from_data(synthesized, stage, policy["Properties"]["PolicyDocument"]["Statement"]):
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            if any(isinstance(r, dict) and r.get("Data", {}).get("Ref") in github for r in resources):
                readers.add(policy["Metadata"]["aws:cdk:path"].split("/")[2])
    assert readers == {"ControlPlane"}


@pytest.mark.parametrize("stage", STAGES)
def test_no_agent_container_holds_a_provider_key(synthesized: Synthesized, stage: str) -> None:
    """The agent's container has no ECS secret at all and its CLI's key variable holds only the
    placeholder; each provider key is a secret of its own agent's proxy container alone."""
    provider_keys = {
        data_id(synthesized, stage, f"ProviderSecrets/{AGENT_SECRETS[agent][0]}/Resource"): agent
        for agent in AGENTS
    }
    for agent, definition in _agent_definitions(synthesized, stage).items():
        boxes = containers(synthesized, stage, agent.capitalize())
        box = boxes[AGENT_CONTAINER]
        assert "Secrets" not in box, agent
        environment = {v["Name"]: v["Value"] for v in box.get("Environment", [])}
        for variable in {p.variable for p in AGENT_PROVIDERS.values()} & set(environment):
            assert environment[variable] == KEY_PLACEHOLDER, (agent, variable)
        held = {
            (name, secret)
            for container_name, other in boxes.items()
            for name, secret in _secret_refs(synthesized, stage, other).items()
            if container_name != AGENT_CONTAINER
        }
        assert held == {(PROXY_KEY_VARIABLE, next(k for k, a in provider_keys.items() if a == agent))}
        assert _secret_refs(synthesized, stage, boxes[PROXY_CONTAINER]) == {
            PROXY_KEY_VARIABLE: next(k for k, a in provider_keys.items() if a == agent)
        }
        assert len(definition["ContainerDefinitions"]) == len(boxes), "container names are unique"


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("agent", AGENTS)
def test_the_agent_reaches_its_provider_through_the_proxy_on_loopback(
    synthesized: Synthesized, stage: str, agent: str
) -> None:
    boxes = containers(synthesized, stage, agent.capitalize())
    provider = AGENT_PROVIDERS[agent]
    proxy = {v["Name"]: v["Value"] for v in boxes[PROXY_CONTAINER]["Environment"]}
    assert proxy == {
        "OUTPOST_PROXY_LISTEN": PROXY_URL.removeprefix("http://"),
        "OUTPOST_PROXY_UPSTREAM": provider.upstream,
        "OUTPOST_PROXY_AUTH_HEADER": provider.header,
        **({"OUTPOST_PROXY_AUTH_SCHEME": provider.scheme} if provider.scheme else {}),
    }
    assert proxy["OUTPOST_PROXY_LISTEN"].startswith("127.0.0.1:"), "served to its own task only"
    assert provider.upstream.startswith("https://")
    assert provider.upstream.count("/") == 2, "an origin, no path"
    box = boxes[AGENT_CONTAINER]
    environment = {v["Name"]: v["Value"] for v in box["Environment"]}
    assert environment == {
        provider.variable: KEY_PLACEHOLDER,
        "OUTPOST_PROVIDER_BASE_URL": PROXY_URL,
        **{variable: PROXY_URL + path for variable, path in provider.base_urls},
        "OUTPOST_GITHUB_TOKEN_FILE": "/mnt/workspaces/.outpost/github-token",
    }
    # It starts once its proxy answers its health check (and ECS stops it before the proxy).
    assert box["DependsOn"] == [{"Condition": "HEALTHY", "ContainerName": PROXY_CONTAINER}]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("agent", AGENTS)
def test_the_proxy_is_hardened_and_shares_nothing_with_the_agent(
    synthesized: Synthesized, stage: str, agent: str
) -> None:
    """Non-root, read-only root, no capability, no port published, no volume, no shell in its
    health check; the task shares no process or IPC namespace, so the agent cannot read the
    proxy's environment through /proc; the containers fit the task and ECS's quota."""
    definition = props(synthesized, stage, f"{agent.capitalize()}/TaskDefinition/Resource")
    assert "PidMode" not in definition
    assert "IpcMode" not in definition
    boxes = containers(synthesized, stage, agent.capitalize())
    proxy = boxes[PROXY_CONTAINER]
    assert proxy["User"] not in ("0", "root")
    assert proxy["ReadonlyRootFilesystem"] is True
    assert proxy["LinuxParameters"] == {"Capabilities": {"Drop": ["ALL"]}}
    assert proxy["Essential"] is True
    for key in ("PortMappings", "MountPoints", "VolumesFrom", "Privileged", "Links", "Command", "EntryPoint"):
        assert key not in proxy, key
    assert proxy["HealthCheck"]["Command"][0] == "CMD"
    assert proxy["LogConfiguration"] == boxes[AGENT_CONTAINER]["LogConfiguration"]
    wanted = settings(stage)["service"]
    assert proxy["Memory"] == wanted["credential_proxy"]["memory"]
    assert sum(box["Memory"] for box in boxes.values()) <= int(definition["Memory"])
    assert len(boxes) <= CONTAINERS_PER_TASK_DEFINITION
