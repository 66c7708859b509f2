"""The network-policy section: allowed flows and every security group rule (``review.flows``)."""

from __future__ import annotations

from collections.abc import Sequence

from tools.review import flows
from tools.review.document import Heading, Section, Table
from tools.stack_template import StackTemplate


def ports(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"


def network_section(stacks: Sequence[StackTemplate]) -> Section:
    bodies = [s.body for s in stacks]
    all_rules = flows.rules(bodies)
    allowed = flows.flows(all_rules)
    return Section(
        "Network policy",
        [
            "Derived from the security groups in the templates: a flow is allowed when the source's "
            "group lets it out and the destination's group lets it in. Anything not listed is refused.",
            Heading("Allowed flows"),
            Table(
                ["from", "to", "protocol", "ports"],
                [[f.source, f.destination, f.protocol, ports(f.from_port, f.to_port)] for f in allowed],
            ),
            Heading("Security group rules"),
            Table(
                ["group", "direction", "peer", "protocol", "ports", "description"],
                [
                    [r.group, r.direction, r.peer, r.protocol, ports(r.from_port, r.to_port), r.description]
                    for r in all_rules
                ],
            ),
        ],
    )
