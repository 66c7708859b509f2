"""GuardDuty's Fargate security agent can run: every execution role of the cluster may pull its
image, the pull has a route, and a region without a pinned repository stops synth (docs/audit.md)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Environment, Stage

from config import ConfigError, load_environments
from config.guardduty import AGENT_ACCOUNTS, agent_image, agent_memory_mib, firewall_hosts, guardduty_share
from config.regions import REGIONS, zones_of
from stacks.network_stack import NetworkStack
from tests.environments import STAGES, config_of, of_kind
from tests.guardduty_templates import agent_pull_statements
from tests.settings import assert_one_clear_line, set_path
from tests.synth import Synthesized, shipped_context

DEV, PROD = of_kind("development"), of_kind("production")


def _execution_statements(synthesized: Synthesized, stage: str) -> dict[str, list[dict[str, Any]]]:
    """Task definition logical id -> every statement of the managed policies of its execution role."""
    resources = synthesized.template(f"{stage}/Service")["Resources"]
    policies = {k: r for k, r in resources.items() if r["Type"] == "AWS::IAM::ManagedPolicy"}
    found: dict[str, list[dict[str, Any]]] = {}
    for logical, resource in resources.items():
        if resource["Type"] != "AWS::ECS::TaskDefinition":
            continue
        role, attribute = resource["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"]
        assert attribute == "Arn"
        found[logical] = [
            statement
            for policy in policies.values()
            if {"Ref": role} in policy["Properties"].get("Roles", [])
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_every_execution_role_of_the_cluster_may_pull_the_agent_exactly(
    synthesized: Synthesized, stage: str
) -> None:
    """The control plane's and each agent's (the credential proxy shares its agent's task): the
    GuardDuty repository of the region, only where GuardDuty is on; nothing else of its account."""
    by_task = _execution_statements(synthesized, stage)
    assert len(by_task) >= 6, sorted(by_task)  # the control plane and five agents
    for task, statements in by_task.items():
        pulls = [s for s in statements if s.get("Sid") == "PullGuardDutyAgent"]
        assert pulls == agent_pull_statements(stage), task
        others = [s for s in statements if s.get("Sid") != "PullGuardDutyAgent"]
        assert not any("aws-guardduty" in str(s.get("Resource")) for s in others), task


def test_production_pulls_the_agent() -> None:
    """Prod says ``create``: its roles must hold the statement (a check that cannot pass vacuously)."""
    prod = config_of(next(s for s in STAGES if config_of(s).name == PROD))
    assert prod.audit.guardduty != "off"
    assert prod.audit.guardduty_agent is not None
    assert prod.audit.guardduty_agent.repository_arn == (
        "arn:aws:ecr:us-east-1:593207742271:repository/aws-guardduty-agent-fargate"
    )


def _allow_list(synthesized: Synthesized, stage: str) -> list[str]:
    (group,) = [
        r["Properties"]
        for r in synthesized.resources(f"{stage}/Network", "AWS::NetworkFirewall::RuleGroup").values()
        if r["Properties"]["RuleGroupName"].endswith("egress-allow-list")
    ]
    targets: list[str] = group["RuleGroup"]["RulesSource"]["RulesSourceList"]["Targets"]
    return targets


@pytest.mark.parametrize("stage", STAGES)
def test_the_firewall_admits_the_agent_registry_only_when_the_pull_crosses_it(
    synthesized: Synthesized, stage: str
) -> None:
    env = config_of(stage)
    host = f"{AGENT_ACCOUNTS[env.region]}.dkr.ecr.{env.region}.amazonaws.com"
    through_nat = env.audit.guardduty != "off" and "ecr.dkr" not in env.network.interface_endpoints
    assert (host in _allow_list(synthesized, stage)) == through_nat


def test_a_development_environment_with_guardduty_and_no_endpoints_admits_the_registry() -> None:
    """No ``ecr.dkr`` endpoint: the sidecar's pull leaves through NAT, so the allow-list names
    GuardDuty's registry host (Network stack alone, built from the changed settings)."""
    context = shipped_context()
    set_path(context["outpost"]["environments"][DEV], "audit.guardduty", "create")
    (env,) = load_environments(context.get, only=DEV)
    assert env.network.interface_endpoints == ()
    app = App()
    stage = Stage(app, env.stage_name, env=Environment(account=env.account, region=env.region))
    NetworkStack(stage, "Network", config=env)
    template = stage.synth().get_stack_by_name(f"{env.stage_name}-Network").template
    (group,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::NetworkFirewall::RuleGroup"
        and r["Properties"]["RuleGroupName"].endswith("egress-allow-list")
    ]
    targets = group["RuleGroup"]["RulesSource"]["RulesSourceList"]["Targets"]
    assert "593207742271.dkr.ecr.us-east-1.amazonaws.com" in targets


def test_firewall_hosts() -> None:
    agent = agent_image("us-east-1")
    assert firewall_hosts(None, ()) == ()
    assert firewall_hosts(agent, ("ecr.api", "ecr.dkr")) == ()
    assert firewall_hosts(agent, ("ecr.api",)) == ("593207742271.dkr.ecr.us-east-1.amazonaws.com",)


def test_the_pinned_table_names_regions_and_accounts() -> None:
    """Every row a region this project deploys to, every account 12 digits; the page's
    us-east-1 row as the brief and docs quote it."""
    assert set(AGENT_ACCOUNTS) <= set(REGIONS)
    assert all(len(a) == 12 and a.isdigit() for a in AGENT_ACCOUNTS.values())
    assert AGENT_ACCOUNTS["us-east-1"] == "593207742271"
    assert set(REGIONS) - set(AGENT_ACCOUNTS) == {"ap-southeast-6"}


def _in_region(name: str, region: str, guardduty: str) -> dict[str, Any]:
    context = shipped_context()
    block = context["outpost"]["environments"][name]
    block["region"] = region
    set_path(block, "network.availability_zones", list(zones_of(region)[:2]))
    set_path(block, "network.nat_gateways", 1)
    set_path(block, "audit.guardduty", guardduty)
    return context


def test_a_region_missing_from_the_table_stops_synth_with_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_environments(_in_region(DEV, "ap-southeast-6", "create").get, only=DEV)
    assert_one_clear_line(caught.value, "is not in config/guardduty.py", f"{DEV}.audit.guardduty")
    assert "ap-southeast-6" in str(caught.value)


def test_a_region_missing_from_the_table_is_fine_with_guardduty_off() -> None:
    (env,) = load_environments(_in_region(DEV, "ap-southeast-6", "off").get, only=DEV)
    assert env.audit.guardduty_agent is None


@pytest.mark.parametrize(
    ("cpu", "memory", "share"),
    [
        (256, 512, 128),
        (1024, 2048, 128),
        (4096, 30720, 128),
        (8192, 16384, 256),
        (8192, 28672, 256),
        (8192, 32768, 512),
        (16384, 122880, 1024),
    ],
)
def test_guarddutys_agent_takes_what_its_prerequisites_page_says(cpu: int, memory: int, share: int) -> None:
    """ "CPU and memory limits" (GuardDuty's Fargate prerequisites): 128 MB up to 4 vCPU; at 8 vCPU
    256 MB up to 28 GB of task memory and 512 MB above; 1 GB at 16 vCPU."""
    assert agent_memory_mib(cpu, memory) == share
    assert guardduty_share(None, cpu, memory) == 0
    assert guardduty_share(agent_image("us-east-1"), cpu, memory) == share
