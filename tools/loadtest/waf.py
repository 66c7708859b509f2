"""Replay the load test's request stream through the synthesized web ACL's rate rules, offline.

The harness meets the WAF before it meets the control plane: a run that the WAF answers with
429 measures nothing (exit 3). This module answers, without AWS, whether a plan's requests pass
the rate-based rules of an environment's ``AWS::WAFv2::WebACL`` as synthesized:

* ``rate_rules`` reads the rules from the template (priority, limit, evaluation window, what
  they aggregate on: the source address or one request header). It refuses a rate-based rule it
  cannot evaluate (a scope-down statement, a forwarded-IP configuration, another key type)
  rather than ignore it, so a later change to the web ACL cannot make the replay pass silently.
* ``scenario_requests`` writes down the requests the harness's simulated users send
  (``tools/loadtest/scenario.py``'s ``lifecycle``, step by step, with zero latency: the densest
  stream the scenario can produce), each with its time, path and credential header.
* ``replay`` counts them as WAF counts a rate-based rule: per aggregation instance (one address,
  one header value), over the rule's evaluation window; a request that lacks the rule's header is
  not counted by it; a request over a limit is blocked there and reaches no later rule
  (https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-aggregation-options.html).

WAF evaluates a rate-based rule's count every few seconds rather than per request, so it may
block a little later than this replay would: the replay is the stricter of the two.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tools.loadtest import contract
from tools.loadtest.model import (
    ARTIFACTS,
    CANCEL,
    DELETE_WORKSPACE,
    DISPATCH,
    HEALTH,
    LIST_WORKSPACES,
    STATUS,
)
from tools.loadtest.plan import Plan

IP = "IP"


class UnsupportedRuleError(ValueError):
    """A rate-based rule with a feature this replay does not evaluate."""


@dataclass(frozen=True)
class RateRule:
    name: str
    priority: int
    limit: int
    window_seconds: int
    # ``IP`` (the source address) or the lower-case name of the header it aggregates on.
    key: str


@dataclass(frozen=True)
class Request:
    at: float
    operation: str
    method: str
    path: str
    source_ip: str
    # Header name (lower case) -> value: the credential header the harness sends.
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)


@dataclass(frozen=True)
class Blocked:
    request: Request
    rule: str
    count: int


def rate_rules(web_acl: Mapping[str, Any]) -> list[RateRule]:
    """The rate-based rules of a synthesized web ACL's properties, in priority order."""
    rules = []
    for rule in web_acl["Rules"]:
        statement = rule["Statement"].get("RateBasedStatement")
        if statement is None:
            continue
        name = rule["Name"]
        unknown = set(statement) - {"AggregateKeyType", "Limit", "EvaluationWindowSec", "CustomKeys"}
        if unknown:
            raise UnsupportedRuleError(f"{name}: cannot replay {sorted(unknown)}")
        if "Block" not in rule.get("Action", {}):
            raise UnsupportedRuleError(f"{name}: only blocking rules are replayed, not {rule.get('Action')}")
        kind = statement["AggregateKeyType"]
        if kind == IP:
            key = IP
        elif (
            kind == "CUSTOM_KEYS"
            and len(statement["CustomKeys"]) == 1
            and "Header" in statement["CustomKeys"][0]
        ):
            header = statement["CustomKeys"][0]["Header"]
            transformations = [t["Type"] for t in header.get("TextTransformations", [])]
            if transformations not in ([], ["NONE"]):
                raise UnsupportedRuleError(f"{name}: cannot replay text transformations {transformations}")
            key = header["Name"].lower()
        else:
            raise UnsupportedRuleError(
                f"{name}: cannot replay aggregation {kind} {statement.get('CustomKeys')}"
            )
        rules.append(
            RateRule(
                name=name,
                priority=int(rule["Priority"]),
                limit=int(statement["Limit"]),
                window_seconds=int(statement.get("EvaluationWindowSec", 300)),
                key=key,
            )
        )
    return sorted(rules, key=lambda r: r.priority)


def replay(requests: Sequence[Request], rules: Sequence[RateRule]) -> list[Blocked]:
    """The requests the rules would block, in time order."""
    seen: dict[tuple[str, str], collections.deque[float]] = collections.defaultdict(collections.deque)
    blocked = []
    for request in sorted(requests, key=lambda r: r.at):
        for rule in rules:
            value = request.source_ip if rule.key == IP else request.header(rule.key)
            if value is None:
                continue  # WAF does not count a request that lacks the aggregation key
            times = seen[(rule.name, value)]
            while times and times[0] <= request.at - rule.window_seconds:
                times.popleft()
            times.append(request.at)
            if len(times) > rule.limit:
                blocked.append(Blocked(request=request, rule=rule.name, count=len(times)))
                break
    return blocked


def credential_headers(auth: str, key: str) -> tuple[tuple[str, str], ...]:
    """The header the harness sends for ``--auth`` (``cli._headers``), lower-cased as WAF matches it."""
    if auth == "x-api-key":
        return (("x-api-key", key),)
    return (("authorization", f"Bearer {key}"),)


def scenario_requests(
    plan: Plan, *, keys: Sequence[str], auth: str = "bearer", source_ip: str = "198.51.100.7"
) -> list[Request]:
    """Every request of a run of ``plan`` from one machine, user ``n`` using ``keys[n % len(keys)]``."""
    requests: list[Request] = []
    for number in range(plan.users):
        start = number / plan.spawn_rate
        headers = credential_headers(auth, keys[number % len(keys)])
        for at, operation, method, path in _user(plan, number, start):
            requests.append(Request(at, operation, method, path, source_ip, headers))
    return sorted(requests, key=lambda r: r.at)


def _user(plan: Plan, number: int, start: float) -> Iterator[tuple[float, str, str, str]]:
    """One simulated user's requests: ``OutpostUser.lifecycle``, every dispatch a confirmed dry run."""
    now = start
    cycle = 0
    workspace = f"loadtest-replay-u{number}"
    workspace_used = False
    while now < plan.run_seconds:
        if (cycle + number) % plan.dispatches_per_session == 0:
            yield now, HEALTH, "GET", contract.HEALTH
            yield now, LIST_WORKSPACES, "GET", contract.WORKSPACES
            session = (cycle + number) // plan.dispatches_per_session
            if session % plan.delete_every_sessions == 0 and workspace_used:
                yield now, DELETE_WORKSPACE, "DELETE", f"{contract.WORKSPACES}/{workspace}"
                workspace_used = False
        cancel = (cycle + number) % plan.cancel_every == 0
        hold = plan.dispatch_seconds / 2 if cancel else plan.dispatch_seconds
        cycle += 1
        job = f"job-{number}-{cycle}"
        yield now, DISPATCH, "POST", contract.JOBS
        workspace_used = True
        deadline = now + hold
        while now < deadline:
            now += min(plan.poll_seconds, deadline - now)
            if now >= plan.run_seconds:
                return
            yield now, STATUS, "GET", f"{contract.JOBS}/{job}"
        if cancel:
            yield now, CANCEL, "POST", f"{contract.JOBS}/{job}/cancel"
        yield now, ARTIFACTS, "GET", f"{contract.ARTIFACTS}/{job}"
