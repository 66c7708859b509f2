"""Rules of ``outpost.cost`` (what the cost estimate assumes about each environment's use)."""

from __future__ import annotations

from typing import Any

import pytest

from config import ConfigError, load_environments
from config.cost import CostAssumptions, load_cost
from config.registry import AGENTS
from tests.settings import assert_one_clear_line, set_path
from tests.synth import shipped_context


def cost_of(context: dict[str, Any], only: str | None = None) -> dict[str, CostAssumptions]:
    return load_cost(context.get, load_environments(context.get, only=only))


def with_cost(path: str, value: Any) -> dict[str, Any]:
    """The shipped context with ``outpost.cost.<path>`` set (or removed if ...)."""
    context = shipped_context()
    set_path(context["outpost"]["cost"], path, value)
    return context


def test_shipped_assumptions() -> None:
    cost = cost_of(shipped_context())
    assert set(cost) == {"dev", "prod"}
    # An environment states only what differs from the defaults.
    assert cost["dev"].dispatches_per_month == CostAssumptions().dispatches_per_month
    assert cost["dev"].requests_per_month == 500_000
    assert cost["prod"].dispatches_per_month == 60_000
    assert sum(percent for _, percent in cost["prod"].agent_mix_percent) == 100
    assert cost["prod"].share("claude") == pytest.approx(0.2)
    assert cost["prod"].setting("dispatches_per_month") == "dispatches_per_month = 60000"


def test_an_environment_without_a_block_takes_the_defaults() -> None:
    context = shipped_context()
    del context["outpost"]["cost"]
    assert cost_of(context) == {"dev": CostAssumptions(), "prod": CostAssumptions()}


def test_a_block_of_another_environment_is_fine_with_only() -> None:
    assert set(cost_of(shipped_context(), only="dev")) == {"dev"}


def test_agent_mix() -> None:
    mix = dict.fromkeys(AGENTS, 0) | {"claude": 70, "aider": 30}
    cost = cost_of(with_cost("prod.agent_mix_percent", mix))
    assert cost["prod"].share("claude") == pytest.approx(0.7)
    assert cost["prod"].share("grok") == 0
    assert cost["prod"].setting("agent_mix_percent").startswith("agent_mix_percent = claude 70, codex 0")


BAD_COST = [
    ("staging", {}, "outpost.cost.staging", "is not a configured environment (dev, prod)"),
    ("prod.dispatches_per_month", -1, "outpost.cost.prod.dispatches_per_month", "must be at least 0"),
    ("prod.dispatches_per_month", 1.5, "outpost.cost.prod.dispatches_per_month", "must be a whole number"),
    ("prod.dispatches_per_month", True, "outpost.cost.prod.dispatches_per_month", "must be a whole number"),
    ("prod.nat_mb_per_dispatch", 10**13, "outpost.cost.prod.nat_mb_per_dispatch", "must be at most"),
    ("prod.minutes_per_dispatch", 0, "outpost.cost.prod.minutes_per_dispatch", "at least a minute"),
    ("prod.minutes_per_dispatch", 61, "outpost.cost.prod.minutes_per_dispatch", "worker task timeout (60"),
    ("prod.nat_gb", 10, "outpost.cost.prod.nat_gb", "is not a known setting"),
    ("prod", [], "outpost.cost.prod", "must be an object"),
    ("prod.agent_mix_percent", {"claude": 100, "mistral": 0}, "mistral", "is not a known setting"),
    ("prod.agent_mix_percent", {"claude": 50}, "agent_mix_percent", "must add up to 100, not 50"),
    ("prod.agent_mix_percent", {"claude": 101}, "agent_mix_percent.claude", "must be at most 100"),
    ("prod.agent_mix_percent", [20, 20], "agent_mix_percent", "must be an object"),
]


@pytest.mark.parametrize(
    ("setting", "value", "key", "rule"), BAD_COST, ids=[f"{s}={v!r}" for s, v, _, _ in BAD_COST]
)
def test_bad_cost_assumption_is_one_clear_line(setting: str, value: Any, key: str, rule: str) -> None:
    with pytest.raises(ConfigError) as caught:
        cost_of(with_cost(setting, value))
    assert_one_clear_line(caught.value, rule, key)


def test_cost_must_be_an_object() -> None:
    context = shipped_context()
    context["outpost"]["cost"] = 100
    with pytest.raises(ConfigError, match=r"^outpost.cost = 100: must be an object$"):
        cost_of(context)
