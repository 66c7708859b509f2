"""The egress firewall, read back from the Network and Monitoring templates of every environment.

The agents' security group allows 443 to the whole internet; these tests prove that every path
from the subnets the agents run in to the internet crosses an AWS Network Firewall endpoint
whose policy passes only the environment's allow-listed names (TLS SNI, HTTP Host) and drops
and logs the rest, and that each refusal raises an alarm to the operations topic.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest

from config.egress import aws_host
from config.guardduty import firewall_hosts
from tests.environments import STAGES, config_of, is_production
from tests.synth import Synthesized
from tests.templates import settings

HTTPS = 443


def network(synthesized: Synthesized, stage: str) -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = synthesized.template(f"{stage}/Network")["Resources"]
    return resources


def of_type(resources: dict[str, dict[str, Any]], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in resources.items() if r["Type"] == resource_type}


def tag(props: dict[str, Any], key: str) -> str | None:
    return next((t["Value"] for t in props.get("Tags", []) if t["Key"] == key), None)


def allowed_names(stage: str) -> list[str]:
    """What the settings allow: the base, every agent's own names, the AWS APIs' hosts."""
    egress, env = settings(stage)["egress"], settings(stage)
    names = {*egress["base"], *(d for own in egress["agents"].values() for d in own)}
    names |= {aws_host(s, region=env["region"], account=env["account"]) for s in egress["aws_services"]}
    # GuardDuty's agent registry, where its pull leaves through NAT (tests/app/test_guardduty_agent.py).
    config = config_of(stage)
    names |= set(firewall_hosts(config.audit.guardduty_agent, config.network.interface_endpoints))
    return sorted(names)


def firewall_of(endpoint: Any) -> str:
    """The firewall whose endpoint a route's ``VpcEndpointId`` names (the one endpoint of one
    firewall: ``Select(1, Split(":", Select(0, GetAtt(<firewall>, EndpointIds))))``)."""
    select, (index, split) = "Fn::Select", endpoint["Fn::Select"]
    assert index == 1, endpoint
    separator, (first, listed) = split["Fn::Split"][0], split["Fn::Split"][1][select]
    assert (separator, first) == (":", 0), endpoint
    firewall, attribute = listed["Fn::GetAtt"]
    assert attribute == "EndpointIds", endpoint
    return str(firewall)


def route_tables(resources: dict[str, dict[str, Any]]) -> dict[str, str]:
    """subnet logical id -> route table logical id."""
    return {
        a["SubnetId"]["Ref"]: a["RouteTableId"]["Ref"]
        for a in of_type(resources, "AWS::EC2::SubnetRouteTableAssociation").values()
    }


def default_route(resources: dict[str, dict[str, Any]], table: str) -> dict[str, Any]:
    (route,) = [
        r
        for r in of_type(resources, "AWS::EC2::Route").values()
        if r["RouteTableId"] == {"Ref": table} and r.get("DestinationCidrBlock") == "0.0.0.0/0"
    ]
    return route


def agents_group(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (group,) = [
        g
        for g in of_type(resources, "AWS::EC2::SecurityGroup").values()
        if "agent tasks" in g["GroupDescription"]
    ]
    return group


@pytest.mark.parametrize("stage", STAGES)
def test_the_agents_reach_the_internet_on_443_only_through_a_domain_allow_list(
    synthesized: Synthesized, stage: str
) -> None:
    """Agent egress 443 to 0.0.0.0/0 exists, so: private subnet -> NAT gateway -> public subnet
    whose only way out is a firewall endpoint -> a policy that drops what its allow-list does not
    name. No subnet but the firewall's own reaches the internet gateway."""
    resources = network(synthesized, stage)
    open_rules = [
        rule
        for rule in agents_group(resources).get("SecurityGroupEgress", [])
        if rule.get("CidrIp") == "0.0.0.0/0" and rule["FromPort"] <= HTTPS <= rule["ToPort"]
    ]
    assert open_rules, "the agents' group has no 443 to the internet: nothing to filter"
    tables = route_tables(resources)
    subnets = of_type(resources, "AWS::EC2::Subnet")
    nat_subnets = {n["SubnetId"]["Ref"] for n in of_type(resources, "AWS::EC2::NatGateway").values()}
    firewalls = of_type(resources, "AWS::NetworkFirewall::Firewall")
    private = [k for k, s in subnets.items() if tag(s, "aws-cdk:subnet-type") == "Private"]
    assert private
    for subnet in private:
        nat = default_route(resources, tables[subnet])["NatGatewayId"]["Ref"]
        nat_subnet = resources[nat]["Properties"]["SubnetId"]["Ref"]
        out = default_route(resources, tables[nat_subnet])
        assert set(out) == {"DestinationCidrBlock", "RouteTableId", "VpcEndpointId"}, out
        assert firewall_of(out["VpcEndpointId"]) in firewalls
    # Only the firewall subnets (the firewalls' own) route to the internet gateway.
    firewall_subnets = {m["SubnetId"]["Ref"] for f in firewalls.values() for m in f["SubnetMappings"]}
    to_gateway = {
        subnet for subnet, table in tables.items() if "GatewayId" in default_route(resources, table)
    }
    assert to_gateway == firewall_subnets
    assert nat_subnets.isdisjoint(firewall_subnets)
    # Every firewall applies the one policy: strict order, drop (and log) what no rule passes,
    # and a domain allow-list of exactly the configured names.
    for firewall in firewalls.values():
        policy = resources[firewall["FirewallPolicyArn"]["Fn::GetAtt"][0]]["Properties"]["FirewallPolicy"]
        assert policy["StatelessDefaultActions"] == ["aws:forward_to_sfe"]
        assert policy["StatelessFragmentDefaultActions"] == ["aws:forward_to_sfe"]
        assert policy["StatefulDefaultActions"] == ["aws:drop_established", "aws:alert_established"]
        assert policy["StatefulEngineOptions"]["RuleOrder"] == "STRICT_ORDER"
        groups = [
            resources[r["ResourceArn"]["Fn::GetAtt"][0]]["Properties"]
            for r in policy["StatefulRuleGroupReferences"]
        ]
        lists = [g["RuleGroup"]["RulesSource"].get("RulesSourceList") for g in groups]
        (allow_list,) = [x for x in lists if x is not None]
        assert allow_list["GeneratedRulesType"] == "ALLOWLIST"
        assert sorted(allow_list["TargetTypes"]) == ["HTTP_HOST", "TLS_SNI"]
        assert allow_list["Targets"] == allowed_names(stage)


@pytest.mark.parametrize("stage", STAGES)
def test_what_comes_back_from_the_internet_crosses_the_same_endpoint(
    synthesized: Synthesized, stage: str
) -> None:
    """The internet gateway's edge route table sends each public subnet's traffic to the endpoint
    that subnet sends its own out through: a stateful firewall must see both directions."""
    resources = network(synthesized, stage)
    (association,) = of_type(resources, "AWS::EC2::GatewayRouteTableAssociation").values()
    (gateway,) = of_type(resources, "AWS::EC2::InternetGateway")
    assert association["GatewayId"] == {"Ref": gateway}
    edge = association["RouteTableId"]["Ref"]
    back = {
        r["DestinationCidrBlock"]: r["VpcEndpointId"]
        for r in of_type(resources, "AWS::EC2::Route").values()
        if r["RouteTableId"] == {"Ref": edge}
    }
    tables = route_tables(resources)
    subnets = of_type(resources, "AWS::EC2::Subnet")
    public = {k: s for k, s in subnets.items() if tag(s, "aws-cdk:subnet-type") == "Public"}
    assert set(back) == {s["CidrBlock"] for s in public.values()}
    for subnet, props in public.items():
        assert back[props["CidrBlock"]] == default_route(resources, tables[subnet])["VpcEndpointId"]


@pytest.mark.parametrize("stage", STAGES)
def test_one_firewall_per_firewall_zone_in_its_own_subnet_at_the_top_of_the_range(
    synthesized: Synthesized, stage: str
) -> None:
    resources = network(synthesized, stage)
    wanted = settings(stage)["network"]
    # One endpoint in each zone that holds a NAT gateway (the first ones): every zone in production.
    zones = wanted["availability_zones"][: wanted["nat_gateways"]]
    firewalls = of_type(resources, "AWS::NetworkFirewall::Firewall")
    assert len(firewalls) == wanted["nat_gateways"]
    if is_production(stage):
        assert len(firewalls) == len(wanted["availability_zones"])
    vpc = ipaddress.IPv4Network(wanted["vpc_cidr"])
    tops = list(vpc.subnets(new_prefix=28))[-len(zones) :]
    seen = []
    for firewall in firewalls.values():
        (mapping,) = firewall["SubnetMappings"]
        subnet = resources[mapping["SubnetId"]["Ref"]]["Properties"]
        seen.append(subnet["AvailabilityZone"])
        assert ipaddress.IPv4Network(subnet["CidrBlock"]) in tops
        assert firewall["DeleteProtection"] is is_production(stage)
        assert firewall["SubnetChangeProtection"] is True
    assert sorted(seen) == sorted(zones)


@pytest.mark.parametrize("stage", STAGES)
def test_clients_may_reach_only_the_load_balancers_subnets_on_443_and_80(
    synthesized: Synthesized, stage: str
) -> None:
    resources = network(synthesized, stage)
    rules = [
        g["RuleGroup"]
        for g in of_type(resources, "AWS::NetworkFirewall::RuleGroup").values()
        if "RulesString" in g["RuleGroup"]["RulesSource"]
    ]
    (inbound,) = rules
    public = [
        s["CidrBlock"]
        for s in of_type(resources, "AWS::EC2::Subnet").values()
        if tag(s, "aws-cdk:subnet-type") == "Public"
    ]
    assert inbound["RuleVariables"]["IPSets"]["PUBLIC_NET"]["Definition"] == public
    (rule,) = inbound["RulesSource"]["RulesString"].splitlines()
    assert rule.startswith("pass tcp !$HOME_NET any -> $PUBLIC_NET [443,80] ")


@pytest.mark.parametrize("stage", STAGES)
def test_every_refusal_is_logged_to_an_encrypted_expiring_group(synthesized: Synthesized, stage: str) -> None:
    resources = network(synthesized, stage)
    firewalls = of_type(resources, "AWS::NetworkFirewall::Firewall")
    logging = of_type(resources, "AWS::NetworkFirewall::LoggingConfiguration")
    assert firewalls
    assert {c["FirewallArn"]["Fn::GetAtt"][0] for c in logging.values()} == set(firewalls)
    for config in logging.values():
        (destination,) = config["LoggingConfiguration"]["LogDestinationConfigs"]
        assert destination["LogType"] == "ALERT"
        assert destination["LogDestinationType"] == "CloudWatchLogs"
        group = resources[destination["LogDestination"]["logGroup"]["Ref"]]
        assert group["Properties"]["RetentionInDays"] == settings(stage)["egress"]["alert_log_retention_days"]
        assert "KmsKeyId" in group["Properties"]


@pytest.mark.parametrize("stage", STAGES)
def test_refused_connections_alarm_the_operations_topic(synthesized: Synthesized, stage: str) -> None:
    names = {
        f["FirewallName"]: resources_zone
        for f, resources_zone in (
            (props, network(synthesized, stage)[props["SubnetMappings"][0]["SubnetId"]["Ref"]]["Properties"])
            for props in of_type(network(synthesized, stage), "AWS::NetworkFirewall::Firewall").values()
        )
    }
    alarms = [
        r["Properties"]
        for r in synthesized.template(f"{stage}/Monitoring")["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("Namespace") == "AWS/NetworkFirewall"
    ]
    assert names
    assert len(alarms) == len(names)
    for alarm in alarms:
        assert alarm["MetricName"] == "DroppedPackets"
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        assert dimensions["Engine"] == "Stateful"
        assert dimensions["AvailabilityZone"] == names[dimensions["FirewallName"]]["AvailabilityZone"]
        assert alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["AlarmActions"], "an alarm nobody hears"


@pytest.mark.parametrize("stage", STAGES)
def test_each_agents_names_are_allowed_and_no_wildcard_above_a_domain(
    synthesized: Synthesized, stage: str
) -> None:
    """Each agent's own names and the base are on the list; nothing wider than a named domain."""
    targets = json.dumps(network(synthesized, stage))
    egress = settings(stage)["egress"]
    for agent, own in egress["agents"].items():
        for name in [*egress["base"], *own]:
            assert json.dumps(name) in targets, (agent, name)
    for name in allowed_names(stage):
        assert "*" not in name
        assert name.lstrip(".").count(".") >= 1
