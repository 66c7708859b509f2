"""Line items of the network: NAT, public addresses, the load balancer, endpoints, WAF, egress."""

from __future__ import annotations

from tools.cost.prices import CostError
from tools.cost.usage import LineItem, Usage, count, money, plural

# An LCU is any one of: 25 new connections a second, 3,000 active connections a minute,
# 1 GB processed an hour, 1,000 rule evaluations a second (the first 10 rules of a request free).
LCU_NEW_CONNECTIONS_PER_SECOND = 25
LCU_GB_PER_HOUR = 1.0
LCU_RULE_EVALUATIONS_PER_SECOND = 1000
FREE_RULES = 10


def nat_gateways(usage: Usage) -> list[LineItem]:
    gateways = len(usage.resources("AWS::EC2::NatGateway"))
    if not gateways:
        return []
    a = usage.assumptions
    gb = usage.dispatches * a.nat_mb_per_dispatch / 1024 + a.nat_gb_other
    hour, per_gb = usage.usd("nat_gateway_hour"), usage.usd("nat_gateway_gb")
    return [
        LineItem(
            "NAT gateways",
            gateways * usage.hours * hour,
            f"{gateways} x {usage.hours} h x {money(hour)}/h",
        ),
        LineItem(
            "NAT data processed",
            gb * per_gb,
            f"{count(gb)} GB x {money(per_gb)}/GB",
            usage.setting("dispatches_per_month", "nat_mb_per_dispatch", "nat_gb_other"),
        ),
    ]


def public_addresses(usage: Usage) -> list[LineItem]:
    """Elastic IPs (one per NAT gateway) and the addresses of internet-facing load balancers."""
    eips = len(usage.resources("AWS::EC2::EIP"))
    balancers = [
        r
        for r in usage.resources("AWS::ElasticLoadBalancingV2::LoadBalancer")
        if r.properties.get("Scheme") == "internet-facing"
    ]
    # A load balancer holds one public address per zone at least; it may add more as it scales.
    zones = sum(len(r.properties.get("Subnets", [])) for r in balancers)
    addresses = eips + zones
    if not addresses:
        return []
    hour = usage.usd("public_ipv4_hour")
    return [
        LineItem(
            "public IPv4 addresses",
            addresses * usage.hours * hour,
            f"({plural(eips, 'Elastic IP')} + {plural(zones, 'load-balancer zone')}) "
            f"x {usage.hours} h x {money(hour)}/h",
        )
    ]


def load_balancers(usage: Usage) -> list[LineItem]:
    balancers = usage.resources("AWS::ElasticLoadBalancingV2::LoadBalancer")
    if not balancers:
        return []
    for balancer in balancers:
        if balancer.properties.get("Type", "application") != "application":
            raise CostError(f"{balancer.name}: only Application Load Balancers are priced")
    a = usage.assumptions
    rules = len(usage.resources("AWS::ElasticLoadBalancingV2::ListenerRule"))
    per_second = a.requests_per_month / usage.hours / 3600
    gb_per_hour = a.requests_per_month * a.kb_per_request / 1024**2 / usage.hours
    # One new connection per request (no keep-alive credited): the larger, safer figure.
    lcus = max(
        per_second / LCU_NEW_CONNECTIONS_PER_SECOND,
        gb_per_hour / LCU_GB_PER_HOUR,
        per_second * max(0, rules - FREE_RULES) / LCU_RULE_EVALUATIONS_PER_SECOND,
    )
    hour, lcu_hour = usage.usd("alb_hour"), usage.usd("alb_lcu_hour")
    return [
        LineItem(
            "load balancer",
            len(balancers) * usage.hours * hour,
            f"{len(balancers)} x {usage.hours} h x {money(hour)}/h",
        ),
        LineItem(
            "load balancer capacity (LCUs)",
            lcus * usage.hours * lcu_hour,
            f"{lcus:.3g} LCU x {usage.hours} h x {money(lcu_hour)}/LCU-h "
            f"(max of {per_second:.3g} new connections/s / 25, {gb_per_hour:.3g} GB/h, {rules} rules)",
            usage.setting("requests_per_month", "kb_per_request"),
        ),
    ]


def interface_endpoints(usage: Usage) -> list[LineItem]:
    endpoints = [
        r
        for r in usage.resources("AWS::EC2::VPCEndpoint")
        if r.properties.get("VpcEndpointType") == "Interface"
    ]
    if not endpoints:
        return []  # gateway endpoints (S3, DynamoDB) have no charge
    zone_hours = sum(len(r.properties.get("SubnetIds", [])) for r in endpoints) * usage.hours
    hour, per_gb = usage.usd("interface_endpoint_zone_hour"), usage.usd("interface_endpoint_gb")
    gb = usage.assumptions.endpoint_gb
    return [
        LineItem(
            "interface endpoints",
            zone_hours * hour,
            f"{len(endpoints)} endpoints, {count(zone_hours)} zone-hours x {money(hour)}/h",
        ),
        LineItem(
            "interface endpoint data processed",
            gb * per_gb,
            f"{gb} GB x {money(per_gb)}/GB",
            usage.setting("endpoint_gb"),
        ),
    ]


def internet_egress(usage: Usage) -> list[LineItem]:
    gb = usage.assumptions.internet_egress_gb
    per_gb = usage.usd("data_transfer_out_gb")
    return [
        LineItem(
            "data transfer out to the internet",
            gb * per_gb,
            f"{gb} GB x {money(per_gb)}/GB",
            usage.setting("internet_egress_gb"),
        )
    ]


def web_acls(usage: Usage) -> list[LineItem]:
    acls = usage.resources("AWS::WAFv2::WebACL")
    if not acls:
        return []
    rules = sum(len(r.properties.get("Rules", [])) for r in acls)
    requests = usage.assumptions.requests_per_month * len(acls)
    acl, rule, million = (
        usage.usd("waf_web_acl_month"),
        usage.usd("waf_rule_month"),
        usage.usd("waf_requests_million"),
    )
    return [
        LineItem(
            "WAF web ACL and rules",
            len(acls) * acl + rules * rule,
            f"{len(acls)} x {money(acl)} + {rules} rules x {money(rule)}",
        ),
        LineItem(
            "WAF requests",
            requests / 1e6 * million,
            f"{count(requests / 1e6)} M requests x {money(million)}/M",
            usage.setting("requests_per_month"),
        ),
    ]


ITEMS = (nat_gateways, public_addresses, load_balancers, interface_endpoints, internet_egress, web_acls)
PRICED_TYPES = (
    "AWS::EC2::NatGateway",
    "AWS::EC2::EIP",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::ListenerRule",
    "AWS::EC2::VPCEndpoint",
    "AWS::WAFv2::WebACL",
)
