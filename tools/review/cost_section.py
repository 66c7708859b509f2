"""The cost section: the environment's monthly estimate (``make cost``), largest item first."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from config import ConfigError, load_environments
from tools.cost.estimate import Estimate, estimates, shipped_context, stage_templates
from tools.cost.prices import CostError, load_prices
from tools.review.document import Section, Table

TITLE = "Monthly cost estimate"


def cost_section(estimate: Estimate) -> Section:
    rows = [
        [
            item.name,
            "n/a" if item.usd is None else f"{item.usd:,.2f}",
            item.basis,
            "; ".join(item.assumptions),
        ]
        for item in estimate.items
    ]
    rows.append(["total", f"{estimate.total:,.2f}", "", ""])
    excluded = ", ".join(i.name for i in estimate.not_estimated)
    return Section(
        TITLE,
        [
            f"About ${estimate.total:,.2f} a month in {estimate.region} (`make cost`): list prices of "
            "`tools/cost/prices.json` (each line dated, with its AWS pricing page) "
            "applied to what the templates "
            f"hold and to the assumptions of `outpost.environments.{estimate.env}.cost` (over "
            "`outpost.defaults.cost`) in `cdk.json`, shown beside each "
            "figure. An estimate to decide with, not a quote: free tiers, Savings Plans and taxes are not "
            "counted." + (f" Not estimated: {excluded}." if excluded else ""),
            Table(["item", "$/month", "how", "assumptions"], rows),
        ],
    )


def cost_sections(outdir: Path, context: Mapping[str, Any] | None = None) -> dict[str, Section]:
    """Stage name -> its cost section, for each environment of ``context`` (default: ``cdk.json``'s)
    synthesized in ``outdir``.

    An estimate that cannot be made honestly (a missing price, region or resource type) gives
    every stage a section that says why, instead of a figure.
    """
    stacks = stage_templates(outdir)
    context = context if context is not None else shipped_context()
    try:
        environments = load_environments(context.get)
        present = [env for env in environments if env.stage_name in stacks]
        assumptions = {env.name: env.cost for env in present}
    except ConfigError:
        return {}  # synth refuses such settings; nothing here was made from them
    try:
        found = estimates(present, assumptions, stacks, load_prices())
    except CostError as err:
        failed = Section(TITLE, [f"Not estimated: {err}"])
        return {env.stage_name: failed for env in present}
    return {estimate.stage: cost_section(estimate) for estimate in found}
