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


def _nat_gb(usage: Usage) -> float:
    a = usage.assumptions
    return usage.dispatches * a.nat_mb_per_dispatch / 1024 + a.nat_gb_other


def _load_balancer_gb(usage: Usage) -> float:
    a = usage.assumptions
    return a.requests_per_month * a.kb_per_request / 1024**2


def nat_gateways(usage: Usage) -> list[LineItem]:
    gateways = len(usage.resources("AWS::EC2::NatGateway"))
    if not gateways:
        return []
    gb = _nat_gb(usage)
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


def network_firewalls(usage: Usage) -> list[LineItem]:
    """The egress firewall: its endpoints' hours, and every GB it inspects, which is all the NAT
    gateways carry plus the load balancer's traffic (both cross it on their way to the internet).

    The pricing page waives a NAT gateway's hourly and per-GB charges one-to-one with the hours
    and GB charged for the firewall (https://aws.amazon.com/network-firewall/pricing/): a credit
    line, never more than the NAT charges themselves.
    """
    firewalls = usage.resources("AWS::NetworkFirewall::Firewall")
    if not firewalls:
        return []
    endpoints = sum(len(r.properties.get("SubnetMappings", [])) for r in firewalls)
    gb = _nat_gb(usage) + _load_balancer_gb(usage)
    hour, per_gb = usage.usd("network_firewall_endpoint_hour"), usage.usd("network_firewall_gb")
    gateways = len(usage.resources("AWS::EC2::NatGateway"))
    waived_hours = min(gateways, endpoints) * usage.hours
    waived_gb = min(_nat_gb(usage), gb) if gateways else 0.0
    nat_hour, nat_gb = usage.usd("nat_gateway_hour"), usage.usd("nat_gateway_gb")
    items = [
        LineItem(
            "Network Firewall endpoints",
            endpoints * usage.hours * hour,
            f"{plural(endpoints, 'endpoint')} x {usage.hours} h x {money(hour)}/h",
        ),
        LineItem(
            "Network Firewall data processed",
            gb * per_gb,
            f"{count(gb)} GB (NAT traffic + load-balancer traffic) x {money(per_gb)}/GB",
            usage.setting(
                "dispatches_per_month",
                "nat_mb_per_dispatch",
                "nat_gb_other",
                "requests_per_month",
                "kb_per_request",
            ),
        ),
    ]
    if gateways:
        items.append(
            LineItem(
                "NAT charges waived with Network Firewall",
                -(waived_hours * nat_hour + waived_gb * nat_gb),
                f"-({count(waived_hours)} NAT h x {money(nat_hour)}/h"
                f" + {count(waived_gb)} GB x {money(nat_gb)}/GB)",
                usage.setting("dispatches_per_month", "nat_mb_per_dispatch", "nat_gb_other"),
            )
        )
    return items


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


def dns_firewalls(usage: Usage) -> list[LineItem]:
    """Route 53 Resolver DNS Firewall: the queries it processes and the names its lists hold."""
    if not usage.resources("AWS::Route53Resolver::FirewallRuleGroupAssociation"):
        return []
    domains = sum(
        len(r.properties.get("Domains", []))
        for r in usage.resources("AWS::Route53Resolver::FirewallDomainList")
    )
    assumptions = usage.assumptions
    queries = (
        assumptions.dispatches_per_month * assumptions.dns_queries_per_dispatch
        + assumptions.dns_queries_other
    )
    million, per_domain = usage.usd("dns_firewall_queries_million"), usage.usd("dns_firewall_domain_month")
    return [
        LineItem(
            "DNS firewall queries",
            queries / 1e6 * million,
            f"{count(queries / 1e6)} M queries x {money(million)}/M",
            usage.setting("dispatches_per_month", "dns_queries_per_dispatch", "dns_queries_other"),
        ),
        LineItem("DNS firewall domain lists", domains * per_domain, f"{domains} names x {money(per_domain)}"),
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


ITEMS = (
    nat_gateways,
    network_firewalls,
    public_addresses,
    load_balancers,
    interface_endpoints,
    dns_firewalls,
    internet_egress,
    web_acls,
)
PRICED_TYPES = (
    "AWS::EC2::NatGateway",
    "AWS::NetworkFirewall::Firewall",
    "AWS::EC2::EIP",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::ListenerRule",
    "AWS::EC2::VPCEndpoint",
    "AWS::WAFv2::WebACL",
    "AWS::Route53Resolver::FirewallRuleGroupAssociation",
    "AWS::Route53Resolver::FirewallDomainList",
)
