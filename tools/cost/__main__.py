"""``make cost``: ``python -m tools.cost [cdk.out]`` prints each environment's monthly estimate.

One table per environment, largest item first, each with how it was computed and the
assumptions it rests on (each environment's ``cost`` in ``cdk.json``). Exit 2, with one line, when the
estimate cannot be made honestly (a missing price, region or resource type).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from config import ConfigError
from tools.cost.estimate import Estimate, estimate_outdir
from tools.cost.prices import CostError, load_prices

WIDTH = 100


def dollars(usd: float | None) -> str:
    return "n/a" if usd is None else f"{usd:,.2f}"


def render(estimate: Estimate, as_of: str) -> str:
    lines = [
        f"Outpost {estimate.env} ({estimate.region}): ${estimate.total:,.2f} a month "
        f"(list prices of tools/cost/prices.json, checked {as_of})",
        f"{'$/month':>11}  item",
    ]
    indent = " " * 13
    for item in estimate.items:
        lines.append(f"{dollars(item.usd):>11}  {item.name}")
        text = item.basis if item.usd is not None else f"not estimated. {item.basis}"
        lines += textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent)
        if item.assumptions:
            lines += textwrap.wrap(
                "assumes " + "; ".join(item.assumptions),
                WIDTH,
                initial_indent=indent,
                subsequent_indent=indent + "  ",
            )
    lines += [f"{'-' * 11}", f"{dollars(estimate.total):>11}  total"]
    if estimate.not_estimated:
        lines.append(f"{indent}excludes {', '.join(i.name for i in estimate.not_estimated)} (not estimated)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.cost", description=__doc__.splitlines()[0])
    parser.add_argument("outdir", nargs="?", default="cdk.out", type=Path)
    args = parser.parse_args(argv)
    try:
        prices = load_prices()
        found = estimate_outdir(args.outdir, prices=prices)
    except (CostError, ConfigError) as err:
        print(f"cost error: {err}", file=sys.stderr)
        return 2
    dates = sorted({p.as_of for region in prices.regions.values() for p in region.values()})
    for estimate in found:
        print(render(estimate, dates[-1] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
