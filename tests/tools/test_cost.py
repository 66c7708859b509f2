"""``make cost``: the monthly estimate, its price table, and that no gap ever counts as zero."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from config import EnvironmentConfig, account_override_key, certificate_override_key, load_environments
from config.budget import ESTIMATE_TOLERANCE_PERCENT
from config.cost import CostAssumptions
from tests.environments import CONFIGS, of_kind
from tests.settings import set_path
from tests.synth import ROOT, Synthesized, shipped_context, synthesize
from tests.templates import PROD_CERTIFICATE, SETTINGS
from tools.cost.estimate import Estimate, estimates, stage_templates
from tools.cost.prices import PRICES_FILE, CostError, PriceTable, load_prices, parse_table
from tools.stack_template import StackTemplate

PRICES = load_prices()
HOURS = PRICES.hours_per_month
DEV, PROD = of_kind("development"), of_kind("production")
DEV_STAGE = CONFIGS[DEV].stage_name
# Environments whose agents run on Fargate Spot, and on demand (by their settings, not their names).
SPOT = next(name for name, env in CONFIGS.items() if env.service.agents_use_spot)
ON_DEMAND = next(name for name, env in CONFIGS.items() if not env.service.agents_use_spot)


def environments(context: dict[str, Any] | None = None) -> dict[str, EnvironmentConfig]:
    context = context or shipped_context()
    return {env.name: env for env in load_environments(context.get)}


def assumptions(context: dict[str, Any] | None = None) -> dict[str, CostAssumptions]:
    return {name: env.cost for name, env in environments(context).items()}


def usd(region: str, key: str) -> float:
    return PRICES.usd(region, key)


def estimate_of(
    env: EnvironmentConfig,
    stacks: dict[str, list[StackTemplate]],
    assume: CostAssumptions | None = None,
    prices: PriceTable = PRICES,
) -> Estimate:
    (found,) = estimates([env], {env.name: assume or assumptions()[env.name]}, stacks, prices)
    return found


def by_name(estimate: Estimate) -> dict[str, float | None]:
    return {item.name: item.usd for item in estimate.items}


@pytest.fixture(scope="module")
def stacks(shipped_synthesized: Synthesized) -> dict[str, list[StackTemplate]]:
    return stage_templates(shipped_synthesized.outdir)


# --- the price table ---------------------------------------------------------------------


def test_every_price_has_its_source_and_date() -> None:
    table = json.loads(PRICES_FILE.read_text())
    for region, lines in table["regions"].items():
        for key, line in lines.items():
            assert line["source"].startswith("https://aws.amazon.com/"), (region, key)
            assert date.fromisoformat(line["as_of"]), (region, key)
            assert line["per"], (region, key)
            assert (line["usd"] is None and line["note"]) or line["usd"] >= 0, (region, key)


def test_every_region_of_the_settings_has_every_price() -> None:
    reference = set(PRICES.regions["us-east-1"])
    for env in environments().values():
        assert set(PRICES.regions[env.region]) == reference, env.region
    for region, lines in PRICES.regions.items():
        assert set(lines) == reference, region


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("source", ..., "source must be the AWS pricing page"),
        ("source", "https://example.com/prices", "source must be the AWS pricing page"),
        ("as_of", ..., "as_of must be the date"),
        ("as_of", "December 2026", "as_of must be the date"),
        ("usd", -1, "usd must be a number of dollars"),
        ("usd", "0.045", "usd must be a number of dollars"),
        ("usd", None, "usd is null without a note"),
        ("per", "", "per must say what the price is for"),
        ("currency", "EUR", "unknown fields"),
    ],
)
def test_a_price_line_without_its_evidence_is_refused(field: str, value: Any, message: str) -> None:
    table = json.loads(PRICES_FILE.read_text())
    line = table["regions"]["us-east-1"]["nat_gateway_hour"]
    if value is ...:
        del line[field]
    else:
        line[field] = value
    with pytest.raises(CostError, match=f"us-east-1.nat_gateway_hour: {message}"):
        parse_table(table)


# --- the estimate ------------------------------------------------------------------------


def test_every_environment_is_estimated_largest_item_first(stacks: dict[str, list[StackTemplate]]) -> None:
    envs = environments()
    found = estimates(list(envs.values()), assumptions(), stacks, PRICES)
    assert [e.env for e in found] == list(envs)
    for estimate in found:
        figures = [item.usd for item in estimate.items if item.usd is not None]
        assert figures == sorted(figures, reverse=True)
        assert estimate.total == pytest.approx(sum(figures))
        assert estimate.total > 0
        # Items not estimated come last, are not counted, and are named.
        assert [i.name for i in estimate.items if i.usd is None] == [i.name for i in estimate.not_estimated]
        detector = CONFIGS[estimate.env].audit.creates_detector
        assert [i.name for i in estimate.not_estimated] == [
            "Container Insights (enhanced)",
            *(["GuardDuty (VPC flow and DNS logs)"] if detector else []),
        ]


def test_each_figure_shows_what_it_assumes(stacks: dict[str, list[StackTemplate]]) -> None:
    env = environments()[PROD]
    assume = assumptions()[PROD]
    estimate = estimate_of(env, stacks)
    items = {item.name: item for item in estimate.items}
    assert f"nat_mb_per_dispatch = {assume.nat_mb_per_dispatch}" in items["NAT data processed"].assumptions
    assert (
        f"dispatches_per_month = {assume.dispatches_per_month}"
        in items["Fargate: agent dispatches"].assumptions
    )
    gb = assume.dispatches_per_month * assume.nat_mb_per_dispatch / 1024 + assume.nat_gb_other
    assert items["NAT data processed"].usd == pytest.approx(gb * usd(env.region, "nat_gateway_gb"))
    # Twice the dispatches, twice the agents' compute: the assumption drives the figure.
    doubled = dataclasses.replace(assume, dispatches_per_month=2 * assume.dispatches_per_month)
    twice = by_name(estimate_of(env, stacks, doubled))["Fargate: agent dispatches"]
    assert twice == pytest.approx(2 * (items["Fargate: agent dispatches"].usd or 0))


def test_the_control_plane_runs_its_autoscaling_minimum_all_month(
    stacks: dict[str, list[StackTemplate]],
) -> None:
    """The template states no count (autoscaling owns it): the floor is the scalable target's."""
    for env in environments().values():
        cp = env.service.control_plane
        hourly = cp.cpu / 1024 * usd(env.region, "fargate_arm64_vcpu_hour") + cp.memory / 1024 * usd(
            env.region, "fargate_arm64_gb_hour"
        )
        figure = by_name(estimate_of(env, stacks))["Fargate: ControlPlane service"]
        assert figure == pytest.approx(cp.min_tasks * HOURS * hourly)


def agent_hourly(env: EnvironmentConfig, kind: str) -> float:
    """The mix's average hourly price of an agent task, at ``kind`` prices (``fargate_arm64``...)."""
    mix = assumptions()[env.name]
    total = 0.0
    for agent in env.service.agents:
        extra = max(0, agent.ephemeral_storage_gib - 20) * usd(env.region, "fargate_storage_gb_hour")
        price = (
            agent.cpu / 1024 * usd(env.region, f"{kind}_vcpu_hour")
            + agent.memory / 1024 * usd(env.region, f"{kind}_gb_hour")
            + extra
        )
        total += mix.share(agent.name) * price
    return total


def test_arm64_agents_run_on_spot_where_asked_for(stacks: dict[str, list[StackTemplate]]) -> None:
    """Fargate Spot runs ARM64 Linux tasks on platform 1.4.0 or later (LATEST): the agents of an
    environment with ``agents_use_spot`` and its warm pool are priced at the ARM64 Spot rate."""
    env = CONFIGS[SPOT]
    assert env.service.agent_platform_version in ("LATEST", "1.4.0")
    assume = env.cost
    items = {item.name: item for item in estimate_of(env, stacks).items}
    hours = assume.dispatches_per_month * assume.minutes_per_dispatch / 60
    spot = agent_hourly(env, "fargate_spot_arm64")
    assert items["Fargate: agent dispatches"].usd == pytest.approx(hours * spot)
    assert "(Spot," in items["Fargate: agent dispatches"].basis
    pool = env.service.control_plane.warm_pool_size
    # ``warm_pool_size`` idle tasks of every agent (docs/capacity.md); the mix is even here.
    agents = len(env.service.agents)
    assert items["Fargate: agent warm pool"].usd == pytest.approx(agents * pool * HOURS * spot)
    assert f"{agents} agents x {pool} idle tasks" in items["Fargate: agent warm pool"].basis
    assert spot < agent_hourly(env, "fargate_arm64")


def test_on_demand_agents_where_spot_is_not_asked_for(stacks: dict[str, list[StackTemplate]]) -> None:
    env = CONFIGS[ON_DEMAND]
    assume = env.cost
    hours = assume.dispatches_per_month * assume.minutes_per_dispatch / 60
    figure = by_name(estimate_of(env, stacks))["Fargate: agent dispatches"]
    assert figure == pytest.approx(hours * agent_hourly(env, "fargate_arm64"))


def test_x86_agents_run_on_spot_where_asked_for(stacks: dict[str, list[StackTemplate]]) -> None:
    env = CONFIGS[SPOT]
    x86 = copy.deepcopy(stacks)
    for stack in x86[env.stage_name]:
        for _, resource in stack.of_type("AWS::ECS::TaskDefinition"):
            resource["Properties"]["RuntimePlatform"]["CpuArchitecture"] = "X86_64"
    assume = env.cost
    figure = by_name(estimate_of(env, x86))["Fargate: agent dispatches"]
    hours = assume.dispatches_per_month * assume.minutes_per_dispatch / 60
    assert figure == pytest.approx(hours * agent_hourly(env, "fargate_spot_x86_64"))


def test_no_warm_pool_no_warm_pool_item(stacks: dict[str, list[StackTemplate]]) -> None:
    env = environments()[PROD]
    control_plane = dataclasses.replace(env.service.control_plane, warm_pool_size=0)
    idle = dataclasses.replace(env, service=dataclasses.replace(env.service, control_plane=control_plane))
    assert "Fargate: agent warm pool" not in by_name(estimate_of(idle, stacks))


def test_a_second_environment_in_an_account_pays_for_its_trail(
    stacks: dict[str, list[StackTemplate]],
) -> None:
    context = shipped_context()
    shared, own = SETTINGS[DEV]["account"], SETTINGS[PROD]["account"]
    context[account_override_key(PROD)] = shared
    context[certificate_override_key(PROD)] = PROD_CERTIFICATE.replace(own, shared)
    # Names an account allows once (config/environment.py, check_shared_accounts).
    set_path(context["outpost"]["environments"][PROD], "data.event_bus_name", f"outpost-{PROD}-events")
    envs = environments(context)
    found = {e.env: e for e in estimates(list(envs.values()), assumptions(context), stacks, PRICES)}
    second = "CloudTrail management events (second trail of the account)"
    assert second not in by_name(found[DEV])
    events = assumptions()[PROD].management_events_per_month
    assert by_name(found[PROD])[second] == pytest.approx(
        events / 1e5 * usd(envs[PROD].region, "cloudtrail_management_copy_100k")
    )
    assert second not in by_name(estimate_of(environments()[PROD], stacks))


def test_one_more_nat_gateway_costs_exactly_one_more_nat_gateway(
    stacks: dict[str, list[StackTemplate]], tmp_path: Path
) -> None:
    """A gateway is its hours, its Elastic IP, and its port-allocation alarm; and, the egress
    firewall following the NAT gateways, one more firewall endpoint with its refusals alarm, whose
    hour waives the new gateway's (Network Firewall pricing). Nothing else moves."""
    context = shipped_context()
    nat = SETTINGS[DEV]["network"]["nat_gateways"]
    set_path(context["outpost"]["environments"][DEV], "network.nat_gateways", nat + 1)
    context["outpost:only"] = DEV
    synthesize(tmp_path, context)
    more_env = environments(context)[DEV]
    more = by_name(estimate_of(more_env, stage_templates(tmp_path)))
    base = by_name(estimate_of(environments()[DEV], stacks))
    region = more_env.region
    expected = {
        "NAT gateways": HOURS * usd(region, "nat_gateway_hour"),
        "public IPv4 addresses": HOURS * usd(region, "public_ipv4_hour"),
        "CloudWatch alarms": 2 * usd(region, "alarm_metric_month"),
        "Network Firewall endpoints": HOURS * usd(region, "network_firewall_endpoint_hour"),
        "NAT charges waived with Network Firewall": -HOURS * usd(region, "nat_gateway_hour"),
    }
    assert set(more) == set(base)
    for name, figure in more.items():
        difference = (figure or 0) - (base[name] or 0)
        assert difference == pytest.approx(expected.get(name, 0), abs=1e-9), name


# --- gaps fail loudly ------------------------------------------------------------------------


def test_a_resource_type_without_a_price_fails_loudly(stacks: dict[str, list[StackTemplate]]) -> None:
    changed = copy.deepcopy(stacks)
    network = next(s for s in changed[DEV_STAGE] if s.short == "Network")
    network.resources["Database"] = {  # type: ignore[index]
        "Type": "AWS::RDS::DBInstance",
        "Metadata": {"aws:cdk:path": f"{DEV_STAGE}/Network/Database/Resource"},
    }
    with pytest.raises(
        CostError, match=rf"no price for resource type AWS::RDS::DBInstance \({DEV_STAGE}/Network: Database\)"
    ):
        estimate_of(environments()[DEV], changed)


def test_a_missing_price_fails_loudly(stacks: dict[str, list[StackTemplate]]) -> None:
    regions = {region: dict(lines) for region, lines in PRICES.regions.items()}
    del regions["us-east-1"]["nat_gateway_gb"]
    gap = PriceTable(hours_per_month=HOURS, regions=regions)
    with pytest.raises(CostError, match="no price 'nat_gateway_gb' for region us-east-1"):
        estimate_of(environments()[DEV], stacks, prices=gap)


def test_a_region_without_prices_fails_loudly(stacks: dict[str, list[StackTemplate]]) -> None:
    elsewhere = dataclasses.replace(environments()[DEV], region="eu-west-1")
    with pytest.raises(CostError, match="no prices for region eu-west-1"):
        estimate_of(elsewhere, stacks)


def test_a_price_not_estimated_cannot_be_used_as_a_figure() -> None:
    with pytest.raises(CostError, match=r"container_insights_enhanced.*not estimated"):
        PRICES.usd("us-east-1", "container_insights_enhanced")


# --- make cost ---------------------------------------------------------------------------


def _cost(outdir: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "tools.cost", str(outdir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_make_cost_prints_every_environment(synthesized: Synthesized) -> None:
    result = _cost(synthesized.outdir)
    assert result.returncode == 0, result.stderr
    for env in environments().values():
        assert f"Outpost {env.name} ({env.region}): $" in result.stdout
    assert "assumes dispatches_per_month = " in result.stdout
    assert "excludes Container Insights (enhanced) (not estimated)" in result.stdout


def test_make_cost_without_templates_is_one_line(tmp_path: Path) -> None:
    result = _cost(tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "cost error: no templates of dev (Dev) in cdk.out: run `make synth` first"
    ]


def test_the_warm_pool_holds_its_size_of_every_agent(stacks: dict[str, list[StackTemplate]]) -> None:
    """Priced agent by agent, each at its own size: 5 agents x 10 tasks in prod, not 10."""
    env = CONFIGS[ON_DEMAND]
    pool = env.service.control_plane.warm_pool_size
    item = {i.name: i for i in estimate_of(env, stacks).items}["Fargate: agent warm pool"]
    each = {
        agent.name: agent.cpu / 1024 * usd(env.region, "fargate_arm64_vcpu_hour")
        + agent.memory / 1024 * usd(env.region, "fargate_arm64_gb_hour")
        + max(0, agent.ephemeral_storage_gib - 20) * usd(env.region, "fargate_storage_gb_hour")
        for agent in env.service.agents
    }
    assert item.usd == pytest.approx(pool * HOURS * sum(each.values()))
    assert item.basis.startswith(f"{len(each)} agents x {pool} idle tasks")


def test_efs_backup_storage_is_priced(stacks: dict[str, list[StackTemplate]]) -> None:
    """The workspaces file system has automatic backups on: AWS Backup's warm storage is a line."""
    env = CONFIGS[PROD]
    items = by_name(estimate_of(env, stacks))
    price = usd(env.region, "backup_efs_warm_gb_month")
    assert items["AWS Backup of the workspaces (EFS)"] == pytest.approx(env.cost.workspaces_gb * price)


def test_metric_filters_and_guardduty_are_priced(stacks: dict[str, list[StackTemplate]]) -> None:
    env = CONFIGS[PROD]
    items = by_name(estimate_of(env, stacks))
    filters = sum(len(list(t.of_type("AWS::Logs::MetricFilter"))) for t in stacks[env.stage_name])
    assert filters >= 14
    assert items[
        "CloudWatch custom metrics (metric filters: the CIS alarms, stuck slot leases)"
    ] == pytest.approx(filters * usd(env.region, "custom_metric_month"))
    if env.audit.creates_detector:
        assert (items["GuardDuty (management events, Fargate runtime monitoring, S3 protection)"] or 0) > 0
        assert items["GuardDuty (VPC flow and DNS logs)"] is None


def test_the_dns_firewall_is_priced_by_query_and_by_listed_name(
    stacks: dict[str, list[StackTemplate]],
) -> None:
    env = CONFIGS[PROD]
    items = by_name(estimate_of(env, stacks))
    cost = env.cost
    queries = cost.dispatches_per_month * cost.dns_queries_per_dispatch + cost.dns_queries_other
    assert items["DNS firewall queries"] == pytest.approx(
        queries / 1e6 * usd(env.region, "dns_firewall_queries_million")
    )
    names = sum(
        len(resource["Properties"]["Domains"])
        for t in stacks[env.stage_name]
        for _, resource in t.of_type("AWS::Route53Resolver::FirewallDomainList")
    )
    assert names > 10
    assert items["DNS firewall domain lists"] == pytest.approx(
        names * usd(env.region, "dns_firewall_domain_month")
    )


def test_every_budget_follows_the_estimate(stacks: dict[str, list[StackTemplate]]) -> None:
    """``budget.monthly_estimate_usd`` is `make cost`'s figure (within the tolerance): change the
    settings or the templates, and this fails until the figure is written again."""
    shipped = list(environments().values())
    found = estimates(shipped, {e.name: e.cost for e in shipped}, stacks, PRICES)
    for env, estimate in zip(shipped, found, strict=True):
        written = env.budget.monthly_estimate_usd
        assert abs(written - estimate.total) <= estimate.total * ESTIMATE_TOLERANCE_PERCENT / 100, (
            f"{env.name}: budget.monthly_estimate_usd = {written}, make cost says {estimate.total:,.0f}"
        )


def test_the_egress_firewall_is_priced_per_endpoint_and_gb_with_the_nat_waiver(
    stacks: dict[str, list[StackTemplate]],
) -> None:
    """One endpoint per zone with a NAT gateway, every NAT and load-balancer GB inspected, and
    the NAT charges waived one-to-one, never beyond the NAT charges themselves."""
    for name, env in environments().items():
        items = by_name(estimate_of(env, stacks))
        assume = assumptions()[name]
        nat = SETTINGS[name]["network"]["nat_gateways"]
        assert items["Network Firewall endpoints"] == pytest.approx(
            nat * HOURS * usd(env.region, "network_firewall_endpoint_hour")
        )
        nat_gb = assume.dispatches_per_month * assume.nat_mb_per_dispatch / 1024 + assume.nat_gb_other
        lb_gb = assume.requests_per_month * assume.kb_per_request / 1024**2
        assert items["Network Firewall data processed"] == pytest.approx(
            (nat_gb + lb_gb) * usd(env.region, "network_firewall_gb")
        )
        waived = items["NAT charges waived with Network Firewall"] or 0
        assert waived == pytest.approx(-((items["NAT gateways"] or 0) + (items["NAT data processed"] or 0)))
