"""One environment as its run-time paths need it, read from the synthesized templates.

Every value is resolved the way CloudFormation will resolve it (``tools.rehearsal.resolve``:
realistic ids and ARNs, weak cross-stack references followed to the producing stack), so a
policy is evaluated against the ARN the API call will carry and a security-group rule names
the group the caller sits in. Resources are found by construct path (``Service/Cluster/
Resource``: the path below the stage), never by logical id.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.assembly import Stack, read_assembly
from tools.paths.policy import Document, ResourcePolicy
from tools.rehearsal.resolve import Resolver, StackSet

ALL_TRAFFIC = "-1"


class ModelError(LookupError):
    """The templates lack something a declared path names (a construct path, an attribute)."""


@dataclass(frozen=True)
class Rule:
    """One security-group rule: ``peer`` is a CIDR, ``sg-...`` or ``pl-...``."""

    protocol: str
    low: int
    high: int
    peer: str
    description: str = ""

    def admits(self, port: int, protocol: str = "tcp") -> bool:
        if self.protocol == ALL_TRAFFIC:
            return True
        return self.protocol == protocol and self.low <= port <= self.high


@dataclass
class Group:
    ingress: list[Rule] = field(default_factory=list)
    egress: list[Rule] = field(default_factory=list)


@dataclass(frozen=True)
class Placement:
    """Where a caller's network interfaces sit: its security groups and subnets."""

    groups: tuple[str, ...]
    subnets: tuple[str, ...]


@dataclass(frozen=True)
class InterfaceEndpoint:
    service: str  # "ecs", "ecr.dkr", ...
    private_dns: bool
    groups: tuple[str, ...]
    subnets: tuple[str, ...]
    policy: Document | None = None  # none: full access


@dataclass(frozen=True)
class DomainList:
    """A stateful domain-list rule group: ``ALLOWLIST`` or ``DENYLIST`` of ``targets`` for the
    protocols ``types`` (``TLS_SNI``: HTTPS, ``HTTP_HOST``: HTTP)."""

    kind: str
    targets: tuple[str, ...]
    types: tuple[str, ...]

    def matches(self, host: str, port: int) -> bool:
        """A name matches exactly; a leading dot matches the domain and all its subdomains
        (Network Firewall API reference, RulesSourceList). An IP literal carries no SNI or
        Host name the list could match."""
        wanted = {443: "TLS_SNI", 80: "HTTP_HOST"}.get(port)
        if wanted not in self.types:
            return False
        return any(
            host == t or (t.startswith(".") and (host == t[1:] or host.endswith(t))) for t in self.targets
        )


@dataclass(frozen=True)
class DnsRule:
    """One rule of a Route 53 Resolver DNS Firewall rule group: ``action`` (ALLOW, BLOCK, ALERT)
    for the names of the domain list ``domain_list`` (its id), by ``priority`` (lowest first)."""

    priority: int
    action: str
    domain_list: str
    block_response: str = ""


def dns_matches(domain: str, name: str) -> bool:
    """DNS Firewall's matching: ``*`` is every name, ``*.example.com`` every name under
    example.com (at any depth, not example.com itself), anything else that name only; case
    and a final dot do not count (Route 53 developer guide, "Domain lists")."""
    domain, name = domain.lower().rstrip("."), name.lower().rstrip(".")
    if domain == "*":
        return True
    if domain.startswith("*."):
        return name.endswith(domain[1:])
    return name == domain


@dataclass(frozen=True)
class RuleGroup:
    domains: DomainList | None = None
    rules: str = ""  # Suricata rules (``RulesString``): only inbound-only rules are understood
    ip_sets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # its rule variables


@dataclass(frozen=True)
class FirewallPolicy:
    groups: tuple[str, ...]  # rule-group ARNs, by priority
    default_actions: tuple[str, ...]
    rule_order: str
    stateless_default: tuple[str, ...] = ("aws:forward_to_sfe",)


@dataclass(frozen=True)
class Firewall:
    name: str
    policy: str  # its policy's ARN
    subnets: tuple[str, ...]


@dataclass(frozen=True)
class Located:
    stack: Stack
    logical_id: str
    resource: Mapping[str, Any]


@dataclass
class Environment:
    """One stage: its network, its roles' policies, its resources' policies, its resources."""

    stage: str
    account: str
    region: str
    resolvers: StackSet
    by_path: dict[str, Located] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    vpc_cidrs: list[str] = field(default_factory=list)
    # Private DNS of an interface endpoint needs both (EC2 defaults: support on, hostnames off).
    vpc_dns: bool = True
    subnet_cidrs: dict[str, str] = field(default_factory=dict)
    subnet_route_tables: dict[str, str] = field(default_factory=dict)
    routes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # table -> (cidr, target)
    gateway_endpoints: dict[str, set[str]] = field(default_factory=dict)  # service -> route tables
    gateway_policies: dict[str, Document] = field(default_factory=dict)  # service -> its policy
    network_acls: list[str] = field(default_factory=list)  # construct paths of NACL entries
    interface_endpoints: dict[str, InterfaceEndpoint] = field(default_factory=dict)
    nat_subnets: dict[str, str] = field(default_factory=dict)  # NAT gateway id -> its subnet
    edge_route_tables: dict[str, str] = field(default_factory=dict)  # internet gateway -> route table
    firewalls: dict[str, Firewall] = field(default_factory=dict)  # endpoint id (vpce-...) ->
    firewall_policies: dict[str, FirewallPolicy] = field(default_factory=dict)  # ARN ->
    rule_groups: dict[str, RuleGroup] = field(default_factory=dict)  # ARN ->
    role_policies: dict[str, list[tuple[str, Document]]] = field(default_factory=dict)  # role ARN ->
    unreadable_policies: dict[str, list[str]] = field(default_factory=dict)  # role ARN -> managed ARNs
    resource_policies: dict[str, list[ResourcePolicy]] = field(default_factory=dict)
    trust_policies: dict[str, Document] = field(default_factory=dict)  # role ARN ->
    buckets: set[str] = field(default_factory=set)  # names of the buckets the templates make
    # Route 53 Resolver DNS Firewall: domain list id -> names; rule group id -> rules; the
    # VPC's associations (priority, rule group id).
    dns_domain_lists: dict[str, tuple[str, ...]] = field(default_factory=dict)
    dns_rule_groups: dict[str, tuple[DnsRule, ...]] = field(default_factory=dict)
    dns_associations: list[tuple[int, str]] = field(default_factory=list)

    # --- lookups ------------------------------------------------------------------------

    def located(self, path: str) -> Located:
        if path not in self.by_path:
            raise ModelError(f"{self.stage}: no resource at construct path {path}")
        return self.by_path[path]

    def resolver(self, path: str) -> Resolver:
        return self.resolvers.resolver(self.located(path).stack)

    def attribute(self, path: str, attribute: str = "Arn") -> Any:
        found = self.located(path)
        return self.resolvers.resolver(found.stack).reference(found.logical_id, attribute)

    def properties(self, path: str) -> dict[str, Any]:
        found = self.located(path)
        resolved: dict[str, Any] = self.resolver(path).resolve(found.resource.get("Properties", {}))
        return resolved

    def resolves(self, name: str) -> tuple[bool, str]:
        """Does the VPC's resolver answer ``name``? The DNS Firewall's rule groups in association
        priority, their rules in priority: the first rule whose list holds the name decides
        (ALERT only logs); none: answered. With why."""
        for _, group in sorted(self.dns_associations):
            for rule in sorted(self.dns_rule_groups.get(group, ()), key=lambda r: r.priority):
                if rule.action == "ALERT":
                    continue
                if any(dns_matches(d, name) for d in self.dns_domain_lists.get(rule.domain_list, ())):
                    if rule.action == "ALLOW":
                        return True, ""
                    return False, f"the DNS firewall answers {rule.block_response or 'NODATA'} for {name}"
        return True, ""

    def resource_account(self, resource_arn: str) -> str | None:
        """``aws:ResourceAccount`` of a request on ``resource_arn``: the account in the ARN, this
        account for a bucket the templates make, else unknown (the key is then absent)."""
        parts = resource_arn.split(":", 5)
        if len(parts) == 6 and parts[4]:
            return parts[4]
        if resource_arn.startswith("arn:aws:s3:::") and parts[5].split("/", 1)[0] in self.buckets:
            return self.account
        return None

    def policy_of(self, resource_arn: str, action: str = "") -> ResourcePolicy | None:
        """The resource's policy for ``action``: a role's trust policy for ``sts:AssumeRole*``,
        a bucket's covers its objects; several documents merge."""
        if action.lower().startswith("sts:assumerole"):
            trust = self.trust_policies.get(resource_arn)
            return None if trust is None else ResourcePolicy(trust, required=True)
        documents = list(self.resource_policies.get(resource_arn, []))
        if resource_arn.startswith("arn:aws:s3:::") and "/" in resource_arn:
            documents += self.resource_policies.get(resource_arn.split("/", 1)[0], [])
        if not documents:
            return None
        statements = [s for d in documents for s in _listed(d.document.get("Statement", []))]
        return ResourcePolicy({"Statement": statements}, required=any(d.required for d in documents))


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _rule(raw: Mapping[str, Any], peer_key: str | None = None) -> Rule:
    peer = next(
        str(raw[k])
        for k in (
            peer_key,
            "CidrIp",
            "SourceSecurityGroupId",
            "DestinationSecurityGroupId",
            "SourcePrefixListId",
            "DestinationPrefixListId",
            "CidrIpv6",
        )
        if k and k in raw
    )
    protocol = str(raw.get("IpProtocol", ALL_TRAFFIC))
    protocol = {"6": "tcp", "17": "udp"}.get(protocol, protocol)
    low, high = (int(raw.get("FromPort", 0)), int(raw.get("ToPort", 65535)))
    return Rule(
        protocol, low, high if protocol != ALL_TRAFFIC else 65535, peer, str(raw.get("Description", ""))
    )


def _function_permission(properties: Mapping[str, Any]) -> dict[str, Any]:
    """A ``Lambda::Permission`` as the statement Lambda adds to the function's policy."""
    principal = str(properties["Principal"])
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal},
        "Action": properties["Action"],
        "Resource": properties["FunctionName"],
    }
    condition: dict[str, dict[str, str]] = {}
    if "SourceArn" in properties:
        condition["ArnLike"] = {"AWS:SourceArn": str(properties["SourceArn"])}
    if "SourceAccount" in properties:
        condition["StringEquals"] = {"AWS:SourceAccount": str(properties["SourceAccount"])}
    if condition:
        statement["Condition"] = condition
    return statement


class _Reader:
    def __init__(self, env: Environment) -> None:
        self.env = env

    def read(self, stacks: Sequence[Stack]) -> None:
        for stack in stacks:
            resolver = self.env.resolvers.resolver(stack)
            for logical_id, resource in stack.template.get("Resources", {}).items():
                path = str(resource.get("Metadata", {}).get("aws:cdk:path", ""))
                if path:
                    key = path if path.startswith("Delivery/") else path.split("/", 1)[-1]
                    self.env.by_path[key] = Located(stack, logical_id, resource)
                self._one(resolver, logical_id, resource)

    def _one(self, resolver: Resolver, logical_id: str, resource: Mapping[str, Any]) -> None:
        kind = str(resource["Type"])
        handler = getattr(self, "_" + kind.replace("::", "_").lower(), None)
        if handler is not None:
            handler(resolver, logical_id, resolver.resolve(resource.get("Properties", {})))

    # --- network ------------------------------------------------------------------------

    def _aws_ec2_vpc(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        self.env.vpc_cidrs.append(str(p["CidrBlock"]))
        support, hostnames = p.get("EnableDnsSupport", True), p.get("EnableDnsHostnames", False)
        self.env.vpc_dns = self.env.vpc_dns and str(support).lower() == str(hostnames).lower() == "true"

    def _aws_ec2_networkaclentry(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        self.env.network_acls.append(lid)

    def _aws_ec2_subnet(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        self.env.subnet_cidrs[str(r.reference(lid, "Ref"))] = str(p["CidrBlock"])

    def _aws_ec2_subnetroutetableassociation(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        self.env.subnet_route_tables[str(p["SubnetId"])] = str(p["RouteTableId"])

    def _aws_ec2_route(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        target = next(
            (str(p[k]) for k in ("NatGatewayId", "GatewayId", "TransitGatewayId", "VpcEndpointId") if k in p),
            "other",
        )
        cidr = str(p.get("DestinationCidrBlock", "::/0"))
        self.env.routes.setdefault(str(p["RouteTableId"]), []).append((cidr, target))

    def _aws_ec2_natgateway(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        self.env.nat_subnets[str(r.reference(lid, "Ref"))] = str(p["SubnetId"])

    def _aws_ec2_gatewayroutetableassociation(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        self.env.edge_route_tables[str(p["GatewayId"])] = str(p["RouteTableId"])

    # --- the egress firewall ------------------------------------------------------------

    def _aws_networkfirewall_firewall(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        firewall = Firewall(
            str(p["FirewallName"]),
            str(p["FirewallPolicyArn"]),
            tuple(str(m["SubnetId"]) for m in p["SubnetMappings"]),
        )
        for endpoint in r.reference(lid, "EndpointIds"):  # "<zone>:vpce-..."
            self.env.firewalls[str(endpoint).split(":", 1)[-1]] = firewall

    def _aws_networkfirewall_firewallpolicy(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        policy = p["FirewallPolicy"]
        references = sorted(policy.get("StatefulRuleGroupReferences", []), key=lambda g: g.get("Priority", 0))
        self.env.firewall_policies[str(r.reference(lid, "FirewallPolicyArn"))] = FirewallPolicy(
            tuple(str(g["ResourceArn"]) for g in references),
            tuple(str(a) for a in policy.get("StatefulDefaultActions", [])),
            str(policy.get("StatefulEngineOptions", {}).get("RuleOrder", "DEFAULT_ACTION_ORDER")),
            tuple(str(a) for a in policy.get("StatelessDefaultActions", [])),
        )

    def _aws_networkfirewall_rulegroup(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        source = p.get("RuleGroup", {}).get("RulesSource", {})
        listed = source.get("RulesSourceList")
        domains = (
            DomainList(
                str(listed["GeneratedRulesType"]),
                tuple(str(t) for t in listed["Targets"]),
                tuple(str(t) for t in listed["TargetTypes"]),
            )
            if listed
            else None
        )
        variables = p.get("RuleGroup", {}).get("RuleVariables", {}).get("IPSets", {})
        ip_sets = {name: tuple(str(c) for c in v["Definition"]) for name, v in variables.items()}
        group = RuleGroup(domains, str(source.get("RulesString", "")), ip_sets)
        if p.get("Type") == "STATELESS" or (domains is None and not group.rules):
            raise ModelError(f"rule group {lid}: only stateful domain lists and Suricata rules are evaluated")
        self.env.rule_groups[str(r.reference(lid, "RuleGroupArn"))] = group

    # --- the DNS firewall ---------------------------------------------------------------

    def _aws_route53resolver_firewalldomainlist(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        if "DomainFileUrl" in p:
            raise ModelError(f"domain list {lid}: a list read from S3 is not evaluated")
        self.env.dns_domain_lists[str(r.reference(lid, "Id"))] = tuple(str(d) for d in p.get("Domains", []))

    def _aws_route53resolver_firewallrulegroup(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        rules = []
        for rule in p.get("FirewallRules", []):
            if "FirewallDomainListId" not in rule or rule.get("Qtype"):
                raise ModelError(
                    f"DNS rule group {lid}: only domain-list rules for every query type are evaluated"
                )
            rules.append(
                DnsRule(
                    int(rule["Priority"]),
                    str(rule["Action"]),
                    str(rule["FirewallDomainListId"]),
                    str(rule.get("BlockResponse", "")),
                )
            )
        self.env.dns_rule_groups[str(r.reference(lid, "Id"))] = tuple(rules)

    def _aws_route53resolver_firewallrulegroupassociation(
        self, r: Resolver, lid: str, p: Mapping[str, Any]
    ) -> None:
        self.env.dns_associations.append((int(p["Priority"]), str(p["FirewallRuleGroupId"])))

    def _aws_ec2_vpcendpoint(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        service = str(p["ServiceName"]).split(f".{self.env.region}.", 1)[-1]
        if p.get("VpcEndpointType") == "Gateway":
            self.env.gateway_endpoints.setdefault(service, set()).update(str(t) for t in p["RouteTableIds"])
            if "PolicyDocument" in p:
                self.env.gateway_policies[service] = p["PolicyDocument"]
            return
        self.env.interface_endpoints[service] = InterfaceEndpoint(
            service,
            bool(p.get("PrivateDnsEnabled", False)),
            tuple(str(g) for g in p.get("SecurityGroupIds", [])),
            tuple(str(s) for s in p.get("SubnetIds", [])),
            p.get("PolicyDocument"),
        )

    def _group(self, group_id: str) -> Group:
        return self.env.groups.setdefault(group_id, Group())

    def _aws_ec2_securitygroup(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        group = self._group(str(r.reference(lid, "GroupId")))
        group.ingress += [_rule(raw) for raw in p.get("SecurityGroupIngress", [])]
        # CloudFormation's default egress (all traffic) applies when the template states none.
        egress = p.get("SecurityGroupEgress")
        group.egress += (
            [_rule(raw) for raw in egress]
            if egress is not None
            else [Rule(ALL_TRAFFIC, 0, 65535, "0.0.0.0/0", "CloudFormation default")]
        )

    def _aws_ec2_securitygroupingress(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        self._group(str(p["GroupId"])).ingress.append(_rule(p))

    def _aws_ec2_securitygroupegress(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        self._group(str(p["GroupId"])).egress.append(_rule(p))

    # --- identity policies --------------------------------------------------------------

    def _aws_iam_role(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        arn = str(r.reference(lid, "Arn"))
        policies = self.env.role_policies.setdefault(arn, [])
        for inline in p.get("Policies", []):
            policies.append((f"inline {inline['PolicyName']}", inline["PolicyDocument"]))
        if p.get("ManagedPolicyArns"):
            self.env.unreadable_policies[arn] = [str(a) for a in p["ManagedPolicyArns"]]
        self.env.trust_policies[arn] = p["AssumeRolePolicyDocument"]

    def _attached(self, name: str, document: Document, roles: Any) -> None:
        for role in _listed(roles or []):
            arn = f"arn:aws:iam::{self.env.account}:role/{role}"
            self.env.role_policies.setdefault(arn, []).append((name, document))

    def _aws_iam_managedpolicy(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        self._attached(f"managed policy {lid}", p["PolicyDocument"], p.get("Roles"))

    def _aws_iam_policy(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        self._attached(f"policy {p.get('PolicyName', lid)}", p["PolicyDocument"], p.get("Roles"))

    # --- resource policies --------------------------------------------------------------

    def _resource_policy(self, arn: str, document: Document, *, required: bool = False) -> None:
        self.env.resource_policies.setdefault(arn, []).append(ResourcePolicy(document, required))

    def _aws_kms_key(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        self._resource_policy(str(r.reference(lid, "Arn")), p["KeyPolicy"], required=True)

    def _aws_efs_filesystem(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        if "FileSystemPolicy" in p:
            self._resource_policy(str(r.reference(lid, "Arn")), p["FileSystemPolicy"])

    def _aws_s3_bucket(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        self.env.buckets.add(str(r.reference(lid, "Ref")))

    def _aws_s3_bucketpolicy(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        self._resource_policy(f"arn:aws:s3:::{p['Bucket']}", p["PolicyDocument"])

    def _aws_sqs_queuepolicy(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        raw = r.template["Resources"][lid]["Properties"]["Queues"]
        for queue in raw:
            arn = r.resolve({"Fn::GetAtt": [queue["Ref"], "Arn"]}) if "Ref" in queue else None
            if arn is None:
                raise ModelError(f"queue policy {lid}: a queue given other than by Ref")
            self._resource_policy(str(arn), p["PolicyDocument"])

    def _aws_sns_topicpolicy(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        for topic in p["Topics"]:
            self._resource_policy(str(topic), p["PolicyDocument"])

    def _aws_secretsmanager_resourcepolicy(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        self._resource_policy(str(p["SecretId"]), p["ResourcePolicy"])

    def _aws_lambda_permission(self, r: Resolver, lid: str, p: Mapping[str, Any]) -> None:
        self._resource_policy(str(p["FunctionName"]), {"Statement": [_function_permission(p)]})


def environments(outdir: Path, only: Sequence[str] = ()) -> Iterator[Environment]:
    """Each environment stage of the assembly (not Delivery), with the Delivery stacks of its
    account (the CI roles), in the order of the manifest."""
    if not (outdir / "manifest.json").is_file():
        raise ModelError(f"no cloud assembly at {outdir} (run make synth)")
    assembly = read_assembly(outdir)
    delivery = assembly.stages.get("Delivery", [])
    for stage, stacks in assembly.stages.items():
        if stage == "Delivery" or (only and stage.lower() not in {o.lower() for o in only}):
            continue
        account, region = stacks[0].account, stacks[0].region
        own_delivery = [s for s in delivery if s.account == account]
        env = Environment(stage, account, region, StackSet([*stacks, *own_delivery]))
        _Reader(env).read([*stacks, *own_delivery])
        yield env
