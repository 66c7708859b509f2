"""The load test's scenario against the synthesized web ACL's rate rules, offline (issue 20).

Every API request reaches the WAF from one upstream address (the MCP server), so the per-IP rule
must let the whole platform's traffic through, at 1x and at 10x the users, while the
per-credential rules (``X-API-Key``, ``Authorization``) hold each key to its limit. The stream
replayed is the harness's own (``tools/loadtest/waf.py``: its users' steps, zero latency) as
``python -m tools.loadtest`` would send it for the environment's settings: one machine, the
number of keys it asks for.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from config.load_model import WINDOW_SECONDS, LoadModel
from tests.environments import STAGES, config_of
from tests.synth import Synthesized
from tools.loadtest.contract import dispatch_body
from tools.loadtest.plan import environment_plan, generators_needed, keys_needed
from tools.loadtest.waf import (
    IP,
    RateRule,
    Request,
    UnsupportedRuleError,
    rate_rules,
    replay,
    scenario_requests,
)

# A run long enough to hold the full load for two evaluation windows after the ramp.
SUSTAIN_SECONDS = 2 * WINDOW_SECONDS


def web_acl(synthesized: Synthesized, stage: str) -> dict[str, Any]:
    (acl,) = synthesized.resources(f"{stage}/Service", "AWS::WAFv2::WebACL").values()
    properties: dict[str, Any] = acl["Properties"]
    return properties


def harness_stream(
    stage: str, model: LoadModel, *, auth: str = "bearer", keys: int | None = None
) -> list[Request]:
    ingress = config_of(stage).ingress
    generators = generators_needed(model, ingress.rate_limit_per_5_minutes)
    wanted = keys_needed(model, ingress.rate_limit_per_credential_per_5_minutes, generators=generators)
    plan = environment_plan(model, generators=generators, sustain_seconds=SUSTAIN_SECONDS)
    names = [f"key-{n}" for n in range(wanted if keys is None else keys)]
    return scenario_requests(plan, keys=names, auth=auth)


@pytest.mark.parametrize("stage", STAGES)
def test_the_web_acl_limits_per_address_and_per_credential(synthesized: Synthesized, stage: str) -> None:
    ingress = config_of(stage).ingress
    rules = rate_rules(web_acl(synthesized, stage))
    assert [(r.key, r.limit, r.window_seconds) for r in rules] == [
        (IP, ingress.rate_limit_per_5_minutes, WINDOW_SECONDS),
        ("x-api-key", ingress.rate_limit_per_credential_per_5_minutes, WINDOW_SECONDS),
        ("authorization", ingress.rate_limit_per_credential_per_5_minutes, WINDOW_SECONDS),
    ]


@pytest.mark.parametrize("auth", ["bearer", "x-api-key"])
@pytest.mark.parametrize("stage", STAGES)
def test_the_1x_scenario_passes_the_waf(synthesized: Synthesized, stage: str, auth: str) -> None:
    requests = harness_stream(stage, LoadModel(), auth=auth)
    # The stream is the model's: every operation, about its peak rate over the full-load part.
    assert set(Counter(r.operation for r in requests)) == set(LoadModel().per_dispatch())
    assert replay(requests, rate_rules(web_acl(synthesized, stage))) == []


@pytest.mark.parametrize("stage", STAGES)
def test_one_machine_carries_the_10x_peak_through_the_per_ip_rule(
    synthesized: Synthesized, stage: str
) -> None:
    """The single upstream at 10x: the per-IP rule alone must not throttle the platform."""
    model = LoadModel().scaled(10)
    ip_rule = [r for r in rate_rules(web_acl(synthesized, stage)) if r.key == IP]
    plan = environment_plan(model, generators=1, sustain_seconds=SUSTAIN_SECONDS)
    requests = scenario_requests(plan, keys=["one-upstream"])
    busiest = max(Counter(int(r.at // WINDOW_SECONDS) for r in requests).values())
    assert busiest > 0.9 * model.peak_requests_per_window  # the stream reaches the modeled peak
    assert replay(requests, ip_rule) == []


@pytest.mark.parametrize("stage", STAGES)
def test_one_key_for_the_whole_1x_load_is_throttled(synthesized: Synthesized, stage: str) -> None:
    """The negative: the per-credential rule bites (so the passing replays above mean something)."""
    requests = harness_stream(stage, LoadModel(), keys=1)
    blocked = replay(requests, rate_rules(web_acl(synthesized, stage)))
    assert blocked
    assert {b.rule for b in blocked} == {"RateLimitPerBearer"}


def test_replay_counts_per_key_over_the_window_and_skips_requests_without_the_header() -> None:
    rule = RateRule(name="PerKey", priority=1, limit=2, window_seconds=10, key="x-api-key")

    def request(at: float, key: str | None) -> Request:
        headers = (("x-api-key", key),) if key else ()
        return Request(at, "status", "GET", "/api/v2/jobs/j", "198.51.100.7", headers)

    stream = [request(0, "a"), request(1, "a"), request(2, "b"), request(3, None), request(4, "a")]
    assert [(b.request.at, b.count) for b in replay(stream, [rule])] == [(4, 3)]
    # Ten seconds later the first two have left the window.
    assert replay([*stream[:2], request(10.5, "a")], [rule]) == []


def test_a_rate_rule_the_replay_cannot_evaluate_is_refused() -> None:
    rule = {
        "Name": "Scoped",
        "Priority": 5,
        "Action": {"Block": {}},
        "Statement": {
            "RateBasedStatement": {
                "AggregateKeyType": "IP",
                "Limit": 100,
                "ScopeDownStatement": {"ByteMatchStatement": {}},
            }
        },
    }
    with pytest.raises(UnsupportedRuleError, match="Scoped: cannot replay"):
        rate_rules({"Rules": [rule]})


# What each rule of the common rule set on the body looks for, in the load test's dispatch
# (AWS WAF developer guide, "Core rule set (CRS) managed rule group").
BODY_RULE_BAIT = {
    "CrossSiteScripting_BODY": ("<script>", "onerror="),
    "GenericLFI_BODY": ("../../",),
    "GenericRFI_BODY": ("https://",),
    "EC2MetaDataSSRF_BODY": ("169.254.169.254",),
}


@pytest.mark.parametrize("stage", STAGES)
def test_the_load_tests_dispatch_carries_what_the_body_rules_match_and_the_web_acl_only_counts_them(
    synthesized: Synthesized, stage: str
) -> None:
    """A run through the deployed web ACL sends what real dispatches carry: were the body rules
    blocking, every dispatch of the run would come back 403."""
    body = json.dumps(dispatch_body(agent="claude", workspace="w", hold_seconds=1)).encode()
    assert len(body) > 8192  # SizeRestrictions_BODY's limit
    for rule, baits in BODY_RULE_BAIT.items():
        for bait in baits:
            assert bait in body.decode(), (rule, bait)
    (common,) = [
        r["Statement"]["ManagedRuleGroupStatement"]
        for r in web_acl(synthesized, stage)["Rules"]
        if r["Name"] == "AWS-AWSManagedRulesCommonRuleSet"
    ]
    counted = {o["Name"] for o in common["RuleActionOverrides"] if o["ActionToUse"] == {"Count": {}}}
    assert {"SizeRestrictions_BODY", *BODY_RULE_BAIT} <= counted
