"""The DNS firewall, read back from the Network template of every environment: the VPC's
resolver answers the egress allow-list's names, AWS's and the VPC's own, and NXDOMAIN for every
other name, so nothing leaves as DNS queries to a name server an attacker runs."""

from __future__ import annotations

import re
from typing import Any

import pytest

from config.environment import ENV_NAME_PATTERN
from config.names import resource_name
from constructs.dns_firewall import ALWAYS_RESOLVED, dns_domains
from tests.app.test_egress import allowed_names, network, of_type
from tests.environments import STAGES, name_of
from tests.synth import Synthesized
from tools.paths.model import dns_matches


def firewall(
    synthesized: Synthesized, stage: str
) -> tuple[dict[str, Any], str, dict[str, Any], dict[str, Any]]:
    """(domain lists by logical id, the rule group's logical id and properties, the association)."""
    resources = network(synthesized, stage)
    lists = of_type(resources, "AWS::Route53Resolver::FirewallDomainList")
    [(group_id, rules)] = of_type(resources, "AWS::Route53Resolver::FirewallRuleGroup").items()
    [association] = of_type(resources, "AWS::Route53Resolver::FirewallRuleGroupAssociation").values()
    return lists, group_id, rules, association


@pytest.mark.parametrize("stage", STAGES)
def test_the_vpc_resolver_answers_the_allow_list_aws_and_the_vpc_and_nothing_else(
    synthesized: Synthesized, stage: str
) -> None:
    lists, group_id, rules, association = firewall(synthesized, stage)
    [vpc] = of_type(network(synthesized, stage), "AWS::EC2::VPC")
    assert association["VpcId"] == {"Ref": vpc}
    assert association["FirewallRuleGroupId"] == {"Fn::GetAtt": [group_id, "Id"]}
    assert 101 <= association["Priority"] <= 9900  # the range AWS takes
    allow, block = sorted(rules["FirewallRules"], key=lambda r: r["Priority"])
    assert (allow["Action"], block["Action"], block["BlockResponse"]) == ("ALLOW", "BLOCK", "NXDOMAIN")
    # A provider's name is a CDN alias: the chain from an allowed name is followed, not judged.
    assert allow["FirewallDomainRedirectionAction"] == "TRUST_REDIRECTION_DOMAIN"
    allowed = lists[allow["FirewallDomainListId"]["Fn::GetAtt"][0]]["Domains"]
    # Exactly the egress firewall's names (same settings), AWS's and the VPC's own.
    assert set(allowed) == {*dns_domains(allowed_names(stage)), *ALWAYS_RESOLVED}
    assert lists[block["FirewallDomainListId"]["Fn::GetAtt"][0]]["Domains"] == ["*"]
    assert not any(dns_matches(d, "Y2hlY2tvdXQ.exfil.example.net") for d in allowed)


def test_a_leading_dot_is_the_domain_and_every_name_under_it() -> None:
    assert dns_domains(["github.com", ".githubusercontent.com"]) == (
        "*.githubusercontent.com",
        "github.com",
        "githubusercontent.com",
    )


@pytest.mark.parametrize(
    ("domain", "name", "matches"),
    [
        ("*", "anything.example", True),
        ("*.amazonaws.com", "logs.us-east-1.amazonaws.com", True),
        ("*.amazonaws.com", "a.b.c.amazonaws.com.", True),
        ("*.amazonaws.com", "amazonaws.com", False),
        ("*.amazonaws.com", "evilamazonaws.com", False),
        ("github.com", "GitHub.com", True),
        ("github.com", "api.github.com", False),
    ],
)
def test_dns_firewall_matching(domain: str, name: str, matches: bool) -> None:
    assert dns_matches(domain, name) is matches


@pytest.mark.parametrize("stage", STAGES)
def test_every_name_fits_route_53_resolver_for_the_longest_environment_name(
    synthesized: Synthesized, stage: str
) -> None:
    """Domain lists, rule groups and associations take 1 to 64 characters of letters, digits,
    '-', '_' and spaces (CloudFormation, AWS::Route53Resolver::*): so does every name here, also
    with the longest environment name the settings allow (16 characters)."""
    longest = "e" + "x" * 15
    assert re.fullmatch(ENV_NAME_PATTERN, longest)
    own = resource_name(name_of(stage))
    names = [
        r["Properties"]["Name"]
        for r in network(synthesized, stage).values()
        if r["Type"].startswith("AWS::Route53Resolver::")
    ]
    assert len(names) == 4
    for name in names:
        assert name.startswith(own)
        worst = resource_name(longest) + name.removeprefix(own)
        assert len(worst) <= 64, worst
        assert re.fullmatch(r"[a-zA-Z0-9\-_ ]+", worst), worst
