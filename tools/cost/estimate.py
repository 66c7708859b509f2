"""An environment's monthly estimate: its line items, largest first, and what they rest on."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config import EnvironmentConfig, load_environments
from config.context import read_context
from config.cost import CostAssumptions
from tools import assembly
from tools.cost import compute, network_items, services
from tools.cost.prices import CostError, PriceTable, load_prices
from tools.cost.resources import NO_CHARGE, PRICED_TYPES
from tools.cost.usage import LineItem, Usage
from tools.stack_template import StackTemplate

ROOT = Path(__file__).resolve().parents[2]
ITEMS = network_items.ITEMS + compute.ITEMS + services.ITEMS


@dataclass(frozen=True)
class Estimate:
    env: str
    stage: str
    region: str
    items: tuple[LineItem, ...]  # largest first; items not estimated last

    @property
    def total(self) -> float:
        return sum(item.usd for item in self.items if item.usd is not None)

    @property
    def not_estimated(self) -> tuple[LineItem, ...]:
        return tuple(item for item in self.items if item.usd is None)

    def top(self, n: int) -> tuple[LineItem, ...]:
        return tuple(item for item in self.items if item.usd is not None)[:n]


def check_coverage(stacks: Sequence[StackTemplate]) -> None:
    """Every resource type of ``stacks`` is priced or declared free; else one line naming it."""
    for stack in stacks:
        for logical_id, resource in stack.resources.items():
            kind = resource.get("Type", "")
            if kind not in PRICED_TYPES and kind not in NO_CHARGE:
                raise CostError(
                    f"no price for resource type {kind} ({stack.stack}: {stack.name(logical_id)}): "
                    "price it in cost/ or declare it free, with the reason, in tools/cost/resources.py"
                )


def estimate(usage: Usage) -> Estimate:
    check_coverage(usage.stacks)
    items = [item for price_items in ITEMS for item in price_items(usage)]
    ordered = sorted(items, key=lambda item: (item.usd is None, -(item.usd or 0.0), item.name))
    return Estimate(usage.env.name, usage.env.stage_name, usage.env.region, tuple(ordered))


def estimates(
    environments: Sequence[EnvironmentConfig],
    assumptions: Mapping[str, CostAssumptions],
    stacks: Mapping[str, Sequence[StackTemplate]],
    prices: PriceTable,
) -> list[Estimate]:
    """One estimate per environment, in the order of ``environments``.

    The first environment of an account records its management events for free; each later
    one in the same account runs a second trail, which CloudTrail charges for.
    """
    seen_accounts: set[str] = set()
    result = []
    for env in environments:
        if env.stage_name not in stacks:
            raise CostError(
                f"no templates of {env.name} ({env.stage_name}) in cdk.out: run `make synth` first"
            )
        usage = Usage(
            env=env,
            assumptions=assumptions[env.name],
            stacks=stacks[env.stage_name],
            prices=prices,
            paid_management_copy=env.account in seen_accounts,
        )
        seen_accounts.add(env.account)
        result.append(estimate(usage))
    return result


def stage_templates(outdir: Path) -> dict[str, list[StackTemplate]]:
    """Stage name -> its stack templates, from the cloud assembly in ``outdir``."""
    result: dict[str, list[StackTemplate]] = defaultdict(list)
    for template in assembly.templates(outdir):
        result[template.stage].append(StackTemplate.load(template.stage, template.stack, template.path))
    return dict(result)


def shipped_context(cdk_json: Path = ROOT / "cdk.json") -> dict[str, Any]:
    return read_context(cdk_json)


def estimate_outdir(
    outdir: Path, context: Mapping[str, Any] | None = None, prices: PriceTable | None = None
) -> list[Estimate]:
    """The estimate of every environment the settings name, from the templates in ``outdir``."""
    context = context if context is not None else shipped_context()
    environments = load_environments(context.get)
    return estimates(
        environments,
        {env.name: env.cost for env in environments},
        stage_templates(outdir),
        prices or load_prices(),
    )
