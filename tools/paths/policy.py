"""IAM policy evaluation, offline: does this principal's request pass its policies?

An implementation of the evaluation logic AWS documents ("Policy evaluation logic",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html),
for requests inside one account:

1. An explicit ``Deny`` in any policy that applies (the principal's identity policies, the
   resource's policy) refuses the request.
2. Otherwise an ``Allow`` grants it: in an identity policy, or in the resource's policy naming
   the principal itself. A resource policy that names the account (``arn:aws:iam::<id>:root``)
   delegates to the account's identity policies: it grants nothing on its own.
3. A KMS key (and a role's trust policy) needs its own policy to allow: without a key-policy
   statement for the principal or the account, no identity policy can use the key ("Key
   policies in AWS KMS", https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html).
4. Nothing allows it: refused (implicit deny).

Statements match on ``Action``/``NotAction`` (service prefix and name case-insensitive, ``*``
and ``?``), ``Resource``/``NotResource`` (ARN segment by segment, case-sensitive, ``*`` and
``?`` within a segment; the sixth segment is the rest of the ARN), ``Principal``/
``NotPrincipal`` (resource policies: ``*``, ``AWS`` ARNs and account roots, ``Service``,
``Federated``), and ``Condition``: every operator AWS lists for string, ARN, numeric, date,
boolean, IP address and ``Null`` comparisons, each with ``...IfExists``, and the
``ForAnyValue:``/``ForAllValues:`` set qualifiers
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
An operator it does not know raises ``UnsupportedConditionError``: it never guesses.

What it does not evaluate: service control and resource control policies of an
organization, permissions boundaries and session policies (the app sets none), requests
across accounts, ACLs, and a service's own checks beyond IAM (an EFS mount's POSIX
permissions, S3 Object Lock). VPC endpoint policies are applied by ``check.py``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

Document = Mapping[str, Any]
Value = str | Sequence[str]


class UnsupportedConditionError(ValueError):
    """A condition operator this evaluator does not implement."""


@dataclass(frozen=True)
class Request:
    """One API call as IAM sees it: the principal, the action, the resource, the context keys."""

    principal: str  # the role's ARN (or a service principal, ``events.amazonaws.com``)
    action: str
    resource: str
    context: Mapping[str, Value] = field(default_factory=dict)

    @property
    def account(self) -> str:
        return self.principal.split(":")[4] if self.principal.startswith("arn:") else ""

    def key(self, name: str) -> list[str] | None:
        """The context key's values (keys are case-insensitive), or ``None`` when absent."""
        for key, value in self.context.items():
            if key.lower() == name.lower():
                return [value] if isinstance(value, str) else list(value)
        return None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # the deciding statement, or why nothing allowed

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class ResourcePolicy:
    """A resource's own policy and how it combines with identity policies."""

    document: Document
    # KMS keys and role trust policies: the resource policy must allow (rule 3 above).
    required: bool = False


# --- matching -------------------------------------------------------------------------


@cache
def _wildcard(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _like(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _wildcard(pattern, ignore_case).match(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    return _like(pattern, action, ignore_case=True)


def arn_matches(pattern: str, arn: str) -> bool:
    """``pattern`` against ``arn``, each of the six segments on its own (``*`` alone: all)."""
    if pattern == "*":
        return True
    wanted, actual = pattern.split(":", 5), arn.split(":", 5)
    if len(wanted) != 6 or len(actual) != 6:
        return _like(pattern, arn)
    return all(_like(w, a) for w, a in zip(wanted, actual, strict=True))


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _substitute(pattern: str, request: Request) -> str:
    """Policy variables (``${aws:PrincipalTag/team}``) from the request context."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        found = request.key(name)
        if name in ("*", "?", "$"):
            return name
        return found[0] if found else match.group(0)

    return re.sub(r"\$\{([^}]+)\}", value, pattern)


def _principal_matches(element: Any, request: Request) -> bool:
    """Does a statement's ``Principal`` name the caller (or its account: ``delegates``)?"""
    return _principal_match(element, request) != "none"


def _principal_match(element: Any, request: Request) -> str:
    """``direct`` (the caller itself or everyone), ``account`` (the caller's account root), ``none``."""
    if element == "*":
        return "direct"
    if not isinstance(element, Mapping):
        return "none"
    best = "none"
    for kind, names in element.items():
        for name in _listed(names):
            name = str(name)
            if kind == "AWS":
                if name == "*" or name == request.principal:
                    return "direct"
                if name in (f"arn:aws:iam::{request.account}:root", request.account):
                    best = "account"
            elif kind in ("Service", "Federated", "CanonicalUser") and name == request.principal:
                return "direct"
    return best


# --- conditions -----------------------------------------------------------------------

_STRING = {
    "StringEquals": (False, lambda p, v: p == v),
    "StringNotEquals": (True, lambda p, v: p == v),
    "StringEqualsIgnoreCase": (False, lambda p, v: p.lower() == v.lower()),
    "StringNotEqualsIgnoreCase": (True, lambda p, v: p.lower() == v.lower()),
    "StringLike": (False, lambda p, v: _like(p, v)),
    "StringNotLike": (True, lambda p, v: _like(p, v)),
    "ArnEquals": (False, arn_matches),
    "ArnLike": (False, arn_matches),
    "ArnNotEquals": (True, arn_matches),
    "ArnNotLike": (True, arn_matches),
}


def _number(value: str) -> float:
    return float(value)


def _date(value: str) -> float:
    if value.isdigit():
        return float(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


_ORDERED = {
    "Equals": (False, lambda a, b: a == b),
    "NotEquals": (True, lambda a, b: a == b),
    "LessThan": (False, lambda a, b: a < b),
    "LessThanEquals": (False, lambda a, b: a <= b),
    "GreaterThan": (False, lambda a, b: a > b),
    "GreaterThanEquals": (False, lambda a, b: a >= b),
}


def _comparison(operator: str) -> tuple[bool, Any]:
    """(negated, compare(policy value, request value)) of a base operator, else raises."""
    if operator in _STRING:
        return _STRING[operator]
    if operator == "Bool":
        return False, lambda p, v: str(p).lower() == str(v).lower()
    if operator in ("IpAddress", "NotIpAddress"):
        return operator == "NotIpAddress", lambda p, v: ipaddress.ip_address(v) in ipaddress.ip_network(p)
    for prefix, parse in (("Numeric", _number), ("Date", _date)):
        if operator.startswith(prefix) and operator.removeprefix(prefix) in _ORDERED:
            negated, compare = _ORDERED[operator.removeprefix(prefix)]
            return negated, lambda p, v, c=compare, f=parse: c(f(str(v)), f(str(p)))
    raise UnsupportedConditionError(f"condition operator {operator} is not evaluated")


def _condition_holds(operator: str, key: str, policy_values: Any, request: Request) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    wanted = [str(v) for v in _listed(policy_values)]
    actual = request.key(key)
    if base == "Null":
        absent = actual is None or actual == []
        return any((w.lower() == "true") == absent for w in wanted)
    negated, compare = _comparison(base)
    if actual is None or actual == []:
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return if_exists or negated

    def one(value: str) -> bool:
        hit = any(compare(_substitute(w, request), value) for w in wanted)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in actual)
    if qualifier in ("ForAnyValue", ""):
        return any(one(v) for v in actual)
    raise UnsupportedConditionError(f"condition qualifier {qualifier} is not evaluated")


def conditions_hold(condition: Mapping[str, Mapping[str, Any]], request: Request) -> bool:
    """Every operator block, every key in it (AND); any value of a key (OR)."""
    return all(
        _condition_holds(operator, key, values, request)
        for operator, block in condition.items()
        for key, values in block.items()
    )


# --- statements -----------------------------------------------------------------------


def statement_applies(statement: Mapping[str, Any], request: Request, *, resource_policy: bool) -> bool:
    if "Action" in statement:
        if not any(action_matches(a, request.action) for a in _listed(statement["Action"])):
            return False
    elif any(action_matches(a, request.action) for a in _listed(statement.get("NotAction", []))):
        return False
    if "Resource" in statement or "NotResource" in statement:
        negated = "Resource" not in statement
        patterns = _listed(statement["NotResource" if negated else "Resource"])
        hit = any(arn_matches(_substitute(r, request), request.resource) for r in patterns)
        if hit == negated:
            return False
    if resource_policy:
        if "Principal" in statement and not _principal_matches(statement["Principal"], request):
            return False
        if "NotPrincipal" in statement and _principal_matches(statement["NotPrincipal"], request):
            return False
    return conditions_hold(statement.get("Condition", {}), request)


def _statements(document: Document) -> list[Mapping[str, Any]]:
    return [s for s in _listed(document.get("Statement", [])) if isinstance(s, Mapping)]


def _name(statement: Mapping[str, Any], where: str) -> str:
    return f"{where} {statement.get('Sid') or 'statement'}"


def evaluate(
    request: Request,
    identity: Iterable[tuple[str, Document]],
    resource: ResourcePolicy | None = None,
) -> Decision:
    """The decision on ``request`` by the caller's identity policies (``(name, document)``
    pairs) and the resource's policy, if it has one (see the module's doc)."""
    identity = list(identity)
    allows: list[str] = []
    for where, document in identity:
        for statement in _statements(document):
            if statement_applies(statement, request, resource_policy=False):
                if statement.get("Effect") == "Deny":
                    return Decision(False, f"explicit deny: {_name(statement, where)}")
                allows.append(_name(statement, where))
    direct: list[str] = []
    delegated: list[str] = []
    if resource is not None:
        for statement in _statements(resource.document):
            if not statement_applies(statement, request, resource_policy=True):
                continue
            if statement.get("Effect") == "Deny":
                return Decision(False, f"explicit deny: {_name(statement, 'resource policy')}")
            match = (
                "direct" if "NotPrincipal" in statement else _principal_match(statement["Principal"], request)
            )
            (direct if match == "direct" else delegated).append(_name(statement, "resource policy"))
    if direct:
        return Decision(True, f"allowed by {direct[0]}")
    if resource is not None and resource.required and not delegated:
        return Decision(False, "the resource policy grants neither the caller nor its account")
    if allows:
        return Decision(True, f"allowed by {allows[0]}")
    return Decision(False, "no statement allows it (implicit deny)")
