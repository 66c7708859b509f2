"""Derive the allowed network flows from synthesized CloudFormation templates.

A flow ``source -> destination : protocol ports`` is allowed when the source's group lets
it out (egress) and the destination's group lets it in (ingress). Peers are security
groups, named by their construct id (``LoadBalancer``, ``Agents``, ...), or ``internet``
for ``0.0.0.0/0``. The internet has no security group: it sends and receives anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

INTERNET = "internet"
ANY_IPV4 = "0.0.0.0/0"
ANY_IPV6 = "::/0"
# CDK's placeholder egress rule on a group that may send nothing at all.
_DISALLOW_ALL = {"CidrIp": "255.255.255.255/32", "IpProtocol": "icmp", "FromPort": 252, "ToPort": 86}


@dataclass(frozen=True, order=True)
class Rule:
    group: str
    direction: str  # "ingress" or "egress"
    peer: str
    protocol: str
    from_port: int
    to_port: int
    description: str


@dataclass(frozen=True, order=True)
class Flow:
    source: str
    destination: str
    protocol: str
    from_port: int
    to_port: int

    def __str__(self) -> str:
        ports = str(self.from_port) if self.from_port == self.to_port else f"{self.from_port}-{self.to_port}"
        return f"{self.source} -> {self.destination} {self.protocol}/{ports}"


def security_groups(templates: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Logical id of every security group -> its name (the construct id above Resource)."""
    names = {}
    for template in templates:
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] == "AWS::EC2::SecurityGroup":
                path = resource.get("Metadata", {}).get("aws:cdk:path", logical_id)
                names[logical_id] = path.removesuffix("/Resource").rsplit("/", 1)[-1]
    return names


def _group_ref(value: Any, names: Mapping[str, str]) -> str:
    """Resolve ``{"Fn::GetAtt": [id, "GroupId"]}`` (or a cross-stack reference to it) to a group name."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return names.get(value["Fn::GetAtt"][0], value["Fn::GetAtt"][0])
    if isinstance(value, dict) and ("Fn::ImportValue" in value or "Fn::GetStackOutput" in value):
        # A cross-stack reference: an export, or another stack's output (CDK names both
        # after the logical id of the referenced resource).
        export = str(value.get("Fn::ImportValue") or value["Fn::GetStackOutput"]["OutputName"])
        for logical_id, name in names.items():
            if logical_id in export:
                return name
    return repr(value)


def _peer(rule: Mapping[str, Any], names: Mapping[str, str], direction: str) -> str:
    for key in ("CidrIp", "CidrIpv6"):
        if key in rule:
            cidr = rule[key]
            return INTERNET if cidr in (ANY_IPV4, ANY_IPV6) else str(cidr)
    key = "SourceSecurityGroupId" if direction == "ingress" else "DestinationSecurityGroupId"
    if key in rule:
        return _group_ref(rule[key], names)
    return "?" + ",".join(sorted(rule))


def _rule(group: str, direction: str, rule: Mapping[str, Any], names: Mapping[str, str]) -> Rule:
    protocol = str(rule.get("IpProtocol", "-1"))
    all_ports = protocol == "-1"
    return Rule(
        group=group,
        direction=direction,
        peer=_peer(rule, names, direction),
        protocol="all" if all_ports else protocol,
        from_port=0 if all_ports else int(rule.get("FromPort", 0)),
        to_port=65535 if all_ports else int(rule.get("ToPort", 65535)),
        description=str(rule.get("Description", "")),
    )


def rules(templates: Iterable[Mapping[str, Any]]) -> list[Rule]:
    """Every ingress and egress rule of every group, inline or standalone."""
    templates = list(templates)
    names = security_groups(templates)
    found: list[Rule] = []
    for template in templates:
        for logical_id, resource in template.get("Resources", {}).items():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::EC2::SecurityGroup":
                group = names[logical_id]
                found += [_rule(group, "ingress", r, names) for r in props.get("SecurityGroupIngress", [])]
                found += [
                    _rule(group, "egress", r, names)
                    for r in props.get("SecurityGroupEgress", [])
                    if {k: r.get(k) for k in _DISALLOW_ALL} != _DISALLOW_ALL
                ]
            elif resource["Type"] in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
                direction = "ingress" if resource["Type"].endswith("Ingress") else "egress"
                found.append(_rule(_group_ref(props["GroupId"], names), direction, props, names))
    return sorted(set(found))


def flows(all_rules: Iterable[Rule]) -> list[Flow]:
    """The flows both ends allow, port ranges intersected."""
    all_rules = list(all_rules)
    groups = {r.group for r in all_rules}
    egress = [r for r in all_rules if r.direction == "egress"]
    ingress = [r for r in all_rules if r.direction == "ingress"]
    # The internet, and an address range outside the VPC (a CIDR peer), have no group: they
    # may send to and receive from anything.
    outside = {INTERNET} | {r.peer for r in all_rules if r.peer not in groups}
    egress += [Rule(peer, "egress", g, "all", 0, 65535, "") for peer in outside for g in groups]
    ingress += [Rule(peer, "ingress", g, "all", 0, 65535, "") for peer in outside for g in groups]
    result = set()
    for out in egress:
        for into in ingress:
            if out.peer != into.group or into.peer != out.group:
                continue
            if "all" not in (out.protocol, into.protocol) and out.protocol != into.protocol:
                continue
            low, high = max(out.from_port, into.from_port), min(out.to_port, into.to_port)
            if low <= high:
                protocol = into.protocol if out.protocol == "all" else out.protocol
                result.add(Flow(out.group, into.group, protocol, low, high))
    return sorted(result)
