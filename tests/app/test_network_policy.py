"""The network policy, derived from the synthesized templates and compared with the table.

An extra rule anywhere (another port, another peer, a rule on the agents) changes the
derived flows and fails ``test_allowed_flows_are_exactly_the_policy``.
"""

from __future__ import annotations

import pytest

from config.api import CONTROL_PLANE_PORT
from tests.environments import STAGES
from tests.synth import Synthesized
from tests.templates import settings
from tools.review.flows import INTERNET, Flow, Rule, flows, rules

NFS = 2049

# The policy table of the README, one row per allowed flow (clients of the load balancer below).
POLICY = {
    Flow("LoadBalancer", "ControlPlane", "tcp", CONTROL_PLANE_PORT, CONTROL_PLANE_PORT),
    Flow("ControlPlane", INTERNET, "tcp", 443, 443),  # AWS APIs through NAT
    Flow("ControlPlane", "Endpoints", "tcp", 443, 443),  # AWS APIs through endpoints
    Flow("Agents", INTERNET, "tcp", 443, 443),  # model providers, git, registries
    Flow("Agents", "Endpoints", "tcp", 443, 443),  # image pulls, logs, secrets
    Flow("ControlPlane", "FileSystem", "tcp", NFS, NFS),  # workspaces (creates access points)
    Flow("Agents", "FileSystem", "tcp", NFS, NFS),  # workspaces mounted at /mnt/workspaces
    Flow("Callback", INTERNET, "tcp", 443, 443),  # DynamoDB, through the gateway endpoint
    Flow("Sweeper", "FileSystem", "tcp", NFS, NFS),  # deletes expired workspaces
    Flow("Janitor", INTERNET, "tcp", 443, 443),  # ECS and EFS APIs: stale dispatch resources
    Flow("Janitor", "Endpoints", "tcp", 443, 443),  # ECS through its endpoint, where there is one
    Flow("Collector", "FileSystem", "tcp", NFS, NFS),  # reads a stopped dispatch's outbox
    Flow("Collector", INTERNET, "tcp", 443, 443),  # S3 and DynamoDB, through the gateway endpoints
}


def clients(stage: str) -> set[Flow]:
    """Who reaches the load balancer. With a certificate: 443, and 80 that only redirects, from
    the configured ranges or else the internet; without one: plain 80 from the ranges only."""
    ingress = settings(stage)["ingress"]
    ranges = ingress.get("allowed_cidrs", [])
    if ingress.get("certificate_arn"):
        return {Flow(peer, "LoadBalancer", "tcp", p, p) for peer in ranges or [INTERNET] for p in (443, 80)}
    return {Flow(cidr, "LoadBalancer", "tcp", 80, 80) for cidr in ranges}


def stage_rules(synthesized: Synthesized, stage: str) -> list[Rule]:
    templates = [t for path, t in synthesized.templates.items() if path.startswith(f"{stage}/")]
    return rules(templates)


@pytest.mark.parametrize("stage", STAGES)
def test_allowed_flows_are_exactly_the_policy(synthesized: Synthesized, stage: str) -> None:
    derived = set(flows(stage_rules(synthesized, stage)))
    policy = POLICY | clients(stage)
    extra = sorted(str(f) for f in derived - policy)
    missing = sorted(str(f) for f in policy - derived)
    assert (extra, missing) == ([], []), "(flows not in the policy, policy rows not allowed)"


@pytest.mark.parametrize("stage", STAGES)
def test_agents_accept_nothing(synthesized: Synthesized, stage: str) -> None:
    all_rules = stage_rules(synthesized, stage)
    assert [r for r in all_rules if r.group == "Agents" and r.direction == "ingress"] == []
    assert {(r.protocol, r.from_port, r.to_port) for r in all_rules if r.group == "Agents"} == {
        ("tcp", 443, 443),
        ("tcp", NFS, NFS),
    }
    # No other group names the agents as a source either.
    assert [r for r in all_rules if r.peer == "Agents" and r.group not in ("Endpoints", "FileSystem")] == []


@pytest.mark.parametrize("stage", STAGES)
def test_file_system_takes_nfs_from_tasks_only_and_sends_nothing(
    synthesized: Synthesized, stage: str
) -> None:
    all_rules = stage_rules(synthesized, stage)
    mine = [r for r in all_rules if r.group == "FileSystem"]
    assert [r for r in mine if r.direction == "egress"] == []
    assert {(r.peer, r.protocol, r.from_port, r.to_port) for r in mine} == {
        ("ControlPlane", "tcp", NFS, NFS),
        ("Agents", "tcp", NFS, NFS),
        ("Sweeper", "tcp", NFS, NFS),
        ("Collector", "tcp", NFS, NFS),
    }
    # NFS is open towards the file system only.
    nfs = [r for r in all_rules if r.from_port <= NFS <= r.to_port]
    assert {(r.group, r.direction, r.peer) for r in nfs} == {
        ("FileSystem", "ingress", "ControlPlane"),
        ("FileSystem", "ingress", "Agents"),
        ("FileSystem", "ingress", "Sweeper"),
        ("FileSystem", "ingress", "Collector"),
        ("ControlPlane", "egress", "FileSystem"),
        ("Agents", "egress", "FileSystem"),
        ("Sweeper", "egress", "FileSystem"),
        ("Collector", "egress", "FileSystem"),
    }


@pytest.mark.parametrize("stage", STAGES)
def test_callback_accepts_nothing(synthesized: Synthesized, stage: str) -> None:
    all_rules = stage_rules(synthesized, stage)
    assert [r for r in all_rules if r.group == "Callback" and r.direction == "ingress"] == []
    assert {(r.protocol, r.from_port, r.to_port) for r in all_rules if r.group == "Callback"} == {
        ("tcp", 443, 443)
    }


@pytest.mark.parametrize("stage", STAGES)
def test_sweeper_talks_nfs_to_the_file_system_only_and_accepts_nothing(
    synthesized: Synthesized, stage: str
) -> None:
    mine = [r for r in stage_rules(synthesized, stage) if r.group == "Sweeper"]
    assert {(r.direction, r.peer, r.protocol, r.from_port, r.to_port) for r in mine} == {
        ("egress", "FileSystem", "tcp", NFS, NFS)
    }


@pytest.mark.parametrize("stage", STAGES)
def test_no_ssh_rdp_or_all_traffic_anywhere(synthesized: Synthesized, stage: str) -> None:
    for rule in stage_rules(synthesized, stage):
        assert rule.protocol == "tcp", rule
        for port in (22, 3389):
            assert not rule.from_port <= port <= rule.to_port, rule


@pytest.mark.parametrize("stage", STAGES)
def test_every_rule_says_why(synthesized: Synthesized, stage: str) -> None:
    for rule in stage_rules(synthesized, stage):
        assert len(rule.description) >= 20, rule


@pytest.mark.parametrize("stage", STAGES)
def test_no_group_keeps_allow_all_egress(synthesized: Synthesized, stage: str) -> None:
    egress = [r for r in stage_rules(synthesized, stage) if r.direction == "egress"]
    assert not [r for r in egress if r.protocol == "all"]


def test_the_derivation_catches_an_extra_rule() -> None:
    """The check itself can fail: one more rule on the agents shows up as a flow."""
    base = [
        Rule("Agents", "egress", INTERNET, "tcp", 443, 443, "x"),
        Rule("ControlPlane", "ingress", "LoadBalancer", "tcp", CONTROL_PLANE_PORT, CONTROL_PLANE_PORT, "x"),
        Rule("LoadBalancer", "egress", "ControlPlane", "tcp", CONTROL_PLANE_PORT, CONTROL_PLANE_PORT, "x"),
    ]
    assert set(flows(base)) == {
        Flow("Agents", INTERNET, "tcp", 443, 443),
        Flow("LoadBalancer", "ControlPlane", "tcp", CONTROL_PLANE_PORT, CONTROL_PLANE_PORT),
    }
    sneaky = [
        *base,
        Rule("ControlPlane", "ingress", "Agents", "tcp", 0, 65535, "x"),
        Rule("Agents", "egress", "ControlPlane", "tcp", CONTROL_PLANE_PORT, CONTROL_PLANE_PORT, "x"),
    ]
    assert Flow("Agents", "ControlPlane", "tcp", CONTROL_PLANE_PORT, CONTROL_PLANE_PORT) in set(flows(sneaky))
    # Half a flow (ingress without the matching egress) is no flow.
    half = [*base, Rule("ControlPlane", "ingress", "Agents", "tcp", 0, 65535, "x")]
    assert set(flows(half)) == set(flows(base))


RULE_TYPES = ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress")


@pytest.mark.parametrize("stage", STAGES)
def test_every_rule_lives_in_the_network_stack(synthesized: Synthesized, stage: str) -> None:
    """No other stack adds a rule: a second copy of a policy rule (as CDK adds when a target
    is registered with a mutable group) is refused by EC2 as a duplicate at deploy time."""
    for path in synthesized.templates:
        if path.startswith(f"{stage}/") and path != f"{stage}/Network":
            for rule_type in RULE_TYPES:
                assert synthesized.resources(path, rule_type) == {}, (path, rule_type)


@pytest.mark.parametrize("stage", STAGES)
def test_no_rule_is_written_twice(synthesized: Synthesized, stage: str) -> None:
    found = [
        (r.group, r.direction, r.peer, r.protocol, r.from_port, r.to_port)
        for r in stage_rules(synthesized, stage)
    ]
    assert len(found) == len(set(found)), sorted(found)


@pytest.mark.parametrize("stage", STAGES)
def test_plain_http_never_reaches_the_internet(synthesized: Synthesized, stage: str) -> None:
    """Without a certificate the load balancer admits port 80 from the configured ranges only,
    never 0.0.0.0/0 (API keys would cross the internet in clear); with one, 80 only redirects."""
    inbound = [
        r for r in stage_rules(synthesized, stage) if r.group == "LoadBalancer" and r.direction == "ingress"
    ]
    assert inbound
    if not settings(stage)["ingress"].get("certificate_arn"):
        assert {(r.from_port, r.to_port) for r in inbound} == {(80, 80)}
        assert INTERNET not in {r.peer for r in inbound}
        assert {r.peer for r in inbound} == set(settings(stage)["ingress"]["allowed_cidrs"])


@pytest.mark.parametrize("stage", STAGES)
def test_collector_talks_nfs_and_https_out_and_accepts_nothing(synthesized: Synthesized, stage: str) -> None:
    mine = [r for r in stage_rules(synthesized, stage) if r.group == "Collector"]
    assert {(r.direction, r.peer, r.protocol, r.from_port, r.to_port) for r in mine} == {
        ("egress", "FileSystem", "tcp", NFS, NFS),
        ("egress", INTERNET, "tcp", 443, 443),
    }
