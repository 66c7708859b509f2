"""The price table (``tools/cost/prices.json``): one dated line per price, with the page it came from."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

PRICES_FILE = Path(__file__).resolve().parent / "prices.json"
_SOURCE = re.compile(r"https://aws\.amazon\.com/[a-z0-9/.-]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class CostError(Exception):
    """The estimate cannot be made honestly: a price, a region or a resource type is missing."""


@dataclass(frozen=True)
class Price:
    key: str
    usd: float | None  # None: known to apply, not estimated (see ``note``)
    per: str
    source: str
    as_of: str
    note: str = ""


@dataclass(frozen=True)
class PriceTable:
    hours_per_month: int
    regions: dict[str, dict[str, Price]]

    def price(self, region: str, key: str) -> Price:
        if region not in self.regions:
            raise CostError(
                f"no prices for region {region} in tools/cost/prices.json "
                f"(regions: {', '.join(self.regions)}): "
                "add its table, one line per price with its source and date"
            )
        prices = self.regions[region]
        if key not in prices:
            raise CostError(f"no price {key!r} for region {region} in tools/cost/prices.json")
        return prices[key]

    def usd(self, region: str, key: str) -> float:
        """The price, for an item that cannot be estimated without it."""
        price = self.price(region, key)
        if price.usd is None:
            raise CostError(f"price {key!r} of {region} is not estimated (usd null): {price.note}")
        return price.usd


def parse_table(data: Any) -> PriceTable:
    """The table, every line checked: a number (or null with a note), a unit, an AWS source, a date."""
    regions: dict[str, dict[str, Price]] = {}
    for region, lines in data["regions"].items():
        regions[region] = {}
        for key, line in lines.items():
            where = f"tools/cost/prices.json: {region}.{key}"
            usd = line.get("usd")
            if usd is None and not line.get("note"):
                raise CostError(f"{where}: usd is null without a note saying why")
            if usd is not None and (not isinstance(usd, int | float) or isinstance(usd, bool) or usd < 0):
                raise CostError(f"{where}: usd must be a number of dollars, not {usd!r}")
            if not _SOURCE.fullmatch(str(line.get("source", ""))):
                raise CostError(f"{where}: source must be the AWS pricing page (https://aws.amazon.com/...)")
            if not _DATE.fullmatch(str(line.get("as_of", ""))):
                raise CostError(f"{where}: as_of must be the date the price was checked (YYYY-MM-DD)")
            if not line.get("per"):
                raise CostError(f"{where}: per must say what the price is for")
            unknown = set(line) - {"usd", "per", "source", "as_of", "note"}
            if unknown:
                raise CostError(f"{where}: unknown fields {sorted(unknown)}")
            regions[region][key] = Price(
                key=key,
                usd=None if usd is None else float(usd),
                per=line["per"],
                source=line["source"],
                as_of=line["as_of"],
                note=line.get("note", ""),
            )
    return PriceTable(hours_per_month=int(data["hours_per_month"]), regions=regions)


@cache
def load_prices(path: Path = PRICES_FILE) -> PriceTable:
    return parse_table(json.loads(path.read_text()))
