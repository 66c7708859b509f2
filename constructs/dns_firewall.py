"""The DNS firewall: the VPC's resolver answers only the names the egress firewall lets through.

The egress firewall (constructs/egress_firewall.py) reads the name of every TLS connection,
but the VPC's resolver (Route 53 Resolver, the ``.2`` address) answers any name by asking the
internet's name servers: a hijacked agent can send the checkout out as DNS queries for names
under a domain it runs (``<data>.exfil.example.net``), whose name server writes them down.
Route 53 Resolver DNS Firewall, associated with the VPC, closes that:

1. ``ALLOW`` the allow-list (the egress firewall's names, a leading-dot name as the domain and
   every name under it), AWS's names (``amazonaws.com`` and under it: the APIs, the endpoints'
   private DNS, ECR, S3, the file system's mount targets) and the VPC's own host names
   (``*.ec2.internal``, ``*.compute.internal``). A CNAME chain from an allowed name is
   followed wherever it leads (``TRUST_REDIRECTION_DOMAIN``): the providers' and registries'
   names are CDN aliases, and the name asked for is what was allowed.
2. ``BLOCK`` every other name with ``NXDOMAIN``.

Resolving a name under ``amazonaws.com`` reaches AWS's name servers only, which no attacker
reads. The rules change in place when the lists change; the association is left unprotected
(``MutationProtection`` DISABLED) so that CloudFormation can replace or remove it, as every
other resource here: the trail records any change to it.

DNS Firewall: https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resolver-dns-firewall.html
(rule actions and redirection: .../resolver-dns-firewall-rule-actions.html).
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_route53resolver as resolver

from config.names import resource_name
from constructs import Construct

# AWS's own names, and the VPC's host names (us-east-1: ec2.internal; elsewhere
# <region>.compute.internal): none of them is answered by a name server anyone else runs.
ALWAYS_RESOLVED = ("amazonaws.com", "*.amazonaws.com", "*.ec2.internal", "*.compute.internal")
ALLOW_PRIORITY = 100
BLOCK_PRIORITY = 200
# A VPC association's priority: 101 to 9900 ("FirewallRuleGroupAssociation").
ASSOCIATION_PRIORITY = 101


def dns_domains(names: Iterable[str]) -> tuple[str, ...]:
    """The egress firewall's names as DNS Firewall domains: ``.example.com`` (the domain and its
    subdomains, Network Firewall's form) is ``example.com`` and ``*.example.com``."""
    domains: set[str] = set()
    for name in names:
        if name.startswith("."):
            domains |= {name[1:], f"*{name}"}
        else:
            domains.add(name)
    return tuple(sorted(domains))


class DnsFirewall(Construct):
    """``allowed`` and ``everything`` (the domain lists), ``rules``, ``association``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        env_name: str,
        names: Iterable[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.domains = tuple(sorted({*dns_domains(names), *ALWAYS_RESOLVED}))
        self.allowed = resolver.CfnFirewallDomainList(
            self, "Allowed", name=resource_name(env_name, "dns-allowed"), domains=list(self.domains)
        )
        self.everything = resolver.CfnFirewallDomainList(
            self, "Everything", name=resource_name(env_name, "dns-everything"), domains=["*"]
        )
        self.rules = resolver.CfnFirewallRuleGroup(
            self,
            "Rules",
            name=resource_name(env_name, "dns"),
            firewall_rules=[
                resolver.CfnFirewallRuleGroup.FirewallRuleProperty(
                    action="ALLOW",
                    priority=ALLOW_PRIORITY,
                    firewall_domain_list_id=self.allowed.attr_id,
                    firewall_domain_redirection_action="TRUST_REDIRECTION_DOMAIN",
                ),
                resolver.CfnFirewallRuleGroup.FirewallRuleProperty(
                    action="BLOCK",
                    priority=BLOCK_PRIORITY,
                    firewall_domain_list_id=self.everything.attr_id,
                    block_response="NXDOMAIN",
                ),
            ],
        )
        self.association = resolver.CfnFirewallRuleGroupAssociation(
            self,
            "Association",
            name=resource_name(env_name, "dns"),
            firewall_rule_group_id=self.rules.attr_id,
            vpc_id=vpc.vpc_id,
            priority=ASSOCIATION_PRIORITY,
            mutation_protection="DISABLED",
        )
