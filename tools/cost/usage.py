"""What every line item reads: the environment's templates, settings, assumptions and prices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from config import EnvironmentConfig
from config.cost import CostAssumptions
from tools.cost.prices import CostError, PriceTable
from tools.stack_template import StackTemplate


@dataclass(frozen=True)
class LineItem:
    """One charge of the month: ``usd`` None means known to apply but not estimated."""

    name: str
    usd: float | None
    basis: str  # how the figure was made: "3 NAT gateways x 730 h x $0.045/h"
    assumptions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Resource:
    stack: StackTemplate
    logical_id: str
    body: Mapping[str, Any]

    @property
    def properties(self) -> Mapping[str, Any]:
        properties: Mapping[str, Any] = self.body.get("Properties", {})
        return properties

    @property
    def name(self) -> str:
        """``Prod/Network: NetworkVpc/PublicSubnet1/NATGateway``: where it is, for a reader."""
        return f"{self.stack.stack}: {self.stack.name(self.logical_id)}"


@dataclass(frozen=True)
class Usage:
    env: EnvironmentConfig
    assumptions: CostAssumptions
    stacks: Sequence[StackTemplate]
    prices: PriceTable
    # Another environment's trail already records this account's management events: this
    # one's is a second copy, which CloudTrail charges for.
    paid_management_copy: bool = False

    @property
    def hours(self) -> int:
        return self.prices.hours_per_month

    def usd(self, key: str) -> float:
        return self.prices.usd(self.env.region, key)

    def resources(self, *types: str) -> list[Resource]:
        return [
            Resource(stack, logical_id, body)
            for stack in self.stacks
            for logical_id, body in stack.of_type(*types)
        ]

    def resource(self, stack: StackTemplate, value: Any) -> Resource:
        """The resource a ``Ref`` or ``Fn::GetAtt`` in ``stack`` points at."""
        logical_id = value.get("Ref") if isinstance(value, dict) else None
        if logical_id is None and isinstance(value, dict) and "Fn::GetAtt" in value:
            logical_id = value["Fn::GetAtt"][0]
        if not isinstance(logical_id, str) or logical_id not in stack.resources:
            raise CostError(f"{stack.stack}: cannot follow {value!r} to a resource of the same stack")
        return Resource(stack, logical_id, stack.resources[logical_id])

    def setting(self, *names: str) -> tuple[str, ...]:
        return tuple(self.assumptions.setting(name) for name in names)

    @property
    def dispatches(self) -> int:
        return self.assumptions.dispatches_per_month


def money(usd: float) -> str:
    """``$0.045`` or ``$1,234.56``: a price keeps its digits, a total its cents."""
    if usd >= 1:
        return f"${usd:,.2f}"
    digits = f"{usd:.6f}".rstrip("0")
    return f"${digits}" if len(digits.split(".")[1]) >= 2 else f"${usd:.2f}"


def plural(n: int, noun: str) -> str:
    """``1 task``, ``2 tasks``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def count(value: float) -> str:
    """``60,000`` or ``0.25``."""
    return f"{value:,.0f}" if value >= 100 or float(value).is_integer() else f"{value:,.3g}"
