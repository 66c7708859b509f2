"""Rules of each environment's ``cost`` (what the cost estimate assumes about its use)."""

from __future__ import annotations

from typing import Any

import pytest

from config import ConfigError, load_environments
from config.cost import CostAssumptions
from config.registry import AGENTS
from tests.environments import of_kind
from tests.settings import assert_one_clear_line, set_path
from tests.synth import shipped_context

DEV, PROD = of_kind("development"), of_kind("production")


def cost_of(context: dict[str, Any], only: str | None = None) -> dict[str, CostAssumptions]:
    return {env.name: env.cost for env in load_environments(context.get, only=only)}


def with_cost(env: str, path: str, value: Any) -> dict[str, Any]:
    """The shipped context with ``outpost.environments.<env>.cost.<path>`` set (or removed if ...)."""
    context = shipped_context()
    set_path(context["outpost"]["environments"][env], f"cost.{path}" if path else "cost", value)
    return context


def test_shipped_assumptions() -> None:
    cost = cost_of(shipped_context())
    # An environment states only what differs from the defaults.
    assert cost[DEV].dispatches_per_month == CostAssumptions().dispatches_per_month
    assert cost[DEV].requests_per_month == 500_000
    assert cost[PROD].dispatches_per_month == 60_000
    assert sum(percent for _, percent in cost[PROD].agent_mix_percent) == 100
    assert cost[PROD].share("claude") == pytest.approx(0.2)
    assert cost[PROD].setting("dispatches_per_month") == "dispatches_per_month = 60000"


def test_an_environment_without_a_block_takes_the_defaults() -> None:
    context = shipped_context()
    for block in context["outpost"]["environments"].values():
        block.pop("cost", None)
    assert set(cost_of(context).values()) == {CostAssumptions()}


def test_shared_assumptions_go_in_the_defaults() -> None:
    context = shipped_context()
    set_path(context["outpost"], "defaults.cost.minutes_per_dispatch", 30)
    set_path(context["outpost"]["environments"][PROD], "cost.minutes_per_dispatch", 20)
    cost = cost_of(context)
    assert cost[DEV].minutes_per_dispatch == 30
    assert cost[PROD].minutes_per_dispatch == 20


def test_agent_mix() -> None:
    mix = dict.fromkeys(AGENTS, 0) | {"claude": 70, "aider": 30}
    cost = cost_of(with_cost(PROD, "agent_mix_percent", mix))
    assert cost[PROD].share("claude") == pytest.approx(0.7)
    assert cost[PROD].share("grok") == 0
    assert cost[PROD].setting("agent_mix_percent").startswith("agent_mix_percent = claude 70, codex 0")


BAD_COST = [
    ("dispatches_per_month", -1, "dispatches_per_month", "must be at least 0"),
    ("dispatches_per_month", 1.5, "dispatches_per_month", "must be a whole number"),
    ("dispatches_per_month", True, "dispatches_per_month", "must be a whole number"),
    ("nat_mb_per_dispatch", 10**13, "nat_mb_per_dispatch", "must be at most"),
    ("minutes_per_dispatch", 0, "minutes_per_dispatch", "at least a minute"),
    ("minutes_per_dispatch", 61, "minutes_per_dispatch", "worker task timeout (60"),
    ("nat_gb", 10, "nat_gb", "is not a known setting"),
    ("", [], "cost", "must be an object"),
    ("agent_mix_percent", {"claude": 100, "mistral": 0}, "mistral", "is not a known setting"),
    ("agent_mix_percent", {"claude": 50}, "agent_mix_percent", "must add up to 100, not 50"),
    ("agent_mix_percent", {"claude": 101}, "agent_mix_percent.claude", "must be at most 100"),
    ("agent_mix_percent", [20, 20], "agent_mix_percent", "must be an object"),
]


@pytest.mark.parametrize(
    ("setting", "value", "key", "rule"), BAD_COST, ids=[f"{s or 'cost'}={v!r}" for s, v, _, _ in BAD_COST]
)
def test_bad_cost_assumption_is_one_clear_line(setting: str, value: Any, key: str, rule: str) -> None:
    with pytest.raises(ConfigError) as caught:
        cost_of(with_cost(PROD, setting, value))
    assert_one_clear_line(caught.value, rule, key)
    assert caught.value.key.startswith(f"outpost.environments.{PROD}.cost")


def test_the_old_cost_block_says_where_its_settings_went() -> None:
    context = shipped_context()
    context["outpost"]["cost"] = {PROD: {"dispatches_per_month": 10}}
    with pytest.raises(
        ConfigError, match=r"^outpost.cost = .*: is not a known setting \(cost assumptions are"
    ):
        cost_of(context)
