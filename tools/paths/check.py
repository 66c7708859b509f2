"""Each declared path of one environment, checked against its templates: network and IAM.

Network (``Route``), for a caller inside the VPC:

- ``aws``: when the VPC has an interface endpoint for the service with private DNS on (which
  needs the VPC's DNS support and hostnames), the service's public name resolves to the endpoint's
  interfaces ("Access an AWS service using an
  interface VPC endpoint", https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html):
  an egress rule of the caller's group must admit TCP 443 to the endpoint's group (or a range
  holding its subnets), and the endpoint's group an ingress rule from the caller's group (or
  a range holding the caller's subnets). Else, a gateway endpoint for the service in the route
  tables of every subnet of the caller (egress 443 to anywhere or the prefix list). Else a
  default route through a NAT gateway from every subnet of the caller, and egress 443 to
  0.0.0.0/0.
- ``nfs``: TCP 2049 from the caller's group to the mount targets' groups, both sides.
- ``port``: TCP ``port`` to another caller's groups, both sides.
- ``internet``: NAT from every subnet, egress to 0.0.0.0/0 on the port; then from the NAT
  gateway's subnet: a default route to the internet gateway, or to an AWS Network Firewall
  endpoint whose subnet routes to the internet gateway and whose return route (the gateway's
  edge route table, for the NAT's subnet) comes back through the same endpoint ("Single zone
  architecture with an internet gateway",
  https://docs.aws.amazon.com/network-firewall/latest/developerguide/arch-single-zone-igw.html);
  the firewall's policy, in strict order, must pass the host name on that port: a domain list
  matches the TLS SNI (443) or HTTP Host (80), exactly or, with a leading dot, the domain and
  its subdomains (https://docs.aws.amazon.com/network-firewall/latest/APIReference/API_RulesSourceList.html);
  an IP literal carries no name; anything no rule passes meets the default action
  (``aws:drop_established``: dropped). An AWS API reached through NAT is the host
  ``<service>.<region>.amazonaws.com`` (ECR: ``api.ecr.<region>...``, ``<account>.dkr.ecr...``).
- ``inbound``: a client on the internet to the load balancer's listener port: the subnet of
  each of its interfaces routes to the internet gateway or a firewall endpoint, and the
  gateway's edge route table sends the subnet's traffic through that same endpoint (or, without
  a firewall, through none); the firewall passes it by a rule from outside the VPC
  (``pass tcp !$HOME_NET any -> $PUBLIC_NET [443,80]``: the variable's ranges must hold the
  subnet, the port list the port); the load balancer's group admits the port from an address
  range outside the VPC.
- ``managed``: an interface endpoint the service makes itself (GuardDuty's ``guardduty-data``,
  with a security group admitting 443 from the VPC's CIDR: "Prerequisites for AWS Fargate
  (Amazon ECS only) support", https://docs.aws.amazon.com/guardduty/latest/ug/prereq-runtime-monitoring-ecs-support.html):
  the caller's groups admit tcp/443 to a range holding the whole VPC. An ``aws`` route with a
  ``host`` calls that name through NAT (GuardDuty's registry, another account's ``dkr.ecr``); an
  ``ecr.dkr`` endpoint's private DNS answers every account's registry name.
- ``loopback``: ``127.0.0.1:port`` inside the caller's own task (containers of an ``awsvpc``
  task share its network namespace, "Fargate task networking"): the task definition's network
  mode is ``awsvpc``, its credential proxy listens on ``127.0.0.1:port`` and the agent's
  container points a variable at ``http://127.0.0.1:port``. No security group is crossed.

IAM: every ``Call`` evaluated by ``tools/paths/policy.py`` with the caller's (or the signer's)
identity policies and the resource's own policy, with the request context the call carries.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from tools.paths.model import Environment, Firewall, FirewallPolicy, Group, ModelError, Placement, Rule
from tools.paths.names import PROXY_LISTEN, Names
from tools.paths.policy import Decision, Document, Request, Value, evaluate
from tools.paths.table import PATHS
from tools.paths.terms import (
    ALLOWED,
    AWS_SERVICE_ACCOUNT,
    CALLERS,
    IN_AGENT_SUBNETS,
    IN_FUNCTION,
    IN_SERVICE,
    INTRUDER,
    OUTSIDE,
    REFUSED_BY_IAM,
    REFUSED_BY_NETWORK,
    REFUSED_ON_THE_WAY,
    SIGNED_BY_ANOTHER_ACCOUNT,
    SIGNED_BY_AWS,
    Call,
    Caller,
    Path,
)

PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")
LIST_KEYS = ("aws:TagKeys", "ecs:compute-compatibility")
Lists = dict[str, list[dict[str, str]]]


class UnboundError(KeyError):
    """A placeholder without a value in this environment."""


@dataclass(frozen=True)
class Network:
    ok: bool | None  # None: not a VPC path
    route: str
    problems: tuple[str, ...] = ()
    endpoint_policy: Document | None = None  # the policy of the endpoint the route goes through


@dataclass(frozen=True)
class Checked:
    call: Call
    principal: str
    resource: str
    decision: Decision


@dataclass
class Outcome:
    stage: str
    caller: str
    does: str
    expect: str
    per_dispatch: str
    network: Network
    calls: list[Checked] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        refused_by_iam = bool(self.calls) and not any(c.decision.allowed for c in self.calls)
        if self.expect == REFUSED_BY_NETWORK:
            return self.network.ok is False
        if self.expect == REFUSED_BY_IAM:
            return refused_by_iam
        if self.expect == REFUSED_ON_THE_WAY:
            return self.network.ok is False or refused_by_iam
        return self.network.ok is not False and all(c.decision.allowed for c in self.calls)

    def line(self) -> str:
        status = "ok  " if self.passed else "FAIL"
        expect = "" if self.expect == ALLOWED else f" [must be {self.expect}]"
        net = f"{self.network.route}" + ("" if self.network.ok is not False else " REFUSED")
        if self.network.problems and (not self.passed or self.expect == REFUSED_BY_NETWORK):
            net += " (" + "; ".join(self.network.problems) + ")"
        iam = ", ".join(
            f"{c.call.action} {'allowed' if c.decision.allowed else 'refused'}" for c in self.calls
        )
        text = f"{status} {self.stage}: {self.caller} {self.does}{expect} | network: {net}"
        if iam:
            text += f" | IAM: {iam}"
        if not self.passed:
            text += "".join(
                f"\n       {c.call.action} on {c.resource} by {c.principal}: {c.decision.reason}"
                for c in self.calls
                if c.decision.allowed != (self.expect == ALLOWED)
            )
        return text


def fill(text: str, values: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise UnboundError(f"no value for {{{match.group(1)}}} in {text!r}")
        return values[match.group(1)]

    return PLACEHOLDER.sub(one, text)


# --- network --------------------------------------------------------------------------


def _covers(peer: str, cidrs: Sequence[str]) -> bool:
    if "/" not in peer or not cidrs:
        return False
    network = ipaddress.ip_network(peer)
    return all(ipaddress.ip_network(c).subnet_of(network) for c in cidrs)  # type: ignore[arg-type]  # v4/v6


def _reaches(rule: Rule, port: int, groups: Sequence[str], cidrs: Sequence[str]) -> bool:
    return rule.admits(port) and (rule.peer in groups or _covers(rule.peer, cidrs))


class NetworkCheck:
    def __init__(self, env: Environment, names: Names) -> None:
        self.env = env
        self.names = names
        self.crossed: set[str] = set()  # the firewalls the last route through NAT crossed

    def placement(self, caller: Caller) -> Placement | None:
        if caller.placement == OUTSIDE:
            return None
        if caller.placement == IN_AGENT_SUBNETS:
            contract = self.names.contract
            return Placement(
                tuple(contract["OUTPOST_WORKER_SECURITY_GROUP"].split(",")),
                tuple(contract["OUTPOST_WORKER_SUBNETS"].split(",")),
            )
        properties = self.env.properties(caller.where)
        if caller.placement == IN_FUNCTION:
            vpc = properties.get("VpcConfig") or {}
            return Placement(tuple(vpc.get("SecurityGroupIds", [])), tuple(vpc.get("SubnetIds", [])))
        if caller.placement == IN_SERVICE and "NetworkConfiguration" in properties:
            config = properties["NetworkConfiguration"]["AwsvpcConfiguration"]
            return Placement(tuple(config.get("SecurityGroups", [])), tuple(config.get("Subnets", [])))
        if caller.placement == IN_SERVICE:  # a load balancer
            return Placement(
                tuple(properties.get("SecurityGroups", [])), tuple(properties.get("Subnets", []))
            )
        raise ValueError(f"unknown placement {caller.placement}")

    def _cidrs(self, subnets: Sequence[str]) -> list[str]:
        return [self.env.subnet_cidrs[s] for s in subnets if s in self.env.subnet_cidrs]

    def _both_sides(
        self, source: Placement, groups: Sequence[str], subnets: Sequence[str], port: int, far: str
    ) -> list[str]:
        problems = []
        egress = [r for g in source.groups for r in self.env.groups.get(g, EMPTY).egress]
        if not any(_reaches(r, port, groups, self._cidrs(subnets)) for r in egress):
            problems.append(f"no egress rule of {', '.join(source.groups)} admits tcp/{port} to {far}")
        ingress = [r for g in groups for r in self.env.groups.get(g, EMPTY).ingress]
        if not any(_reaches(r, port, source.groups, self._cidrs(source.subnets)) for r in ingress):
            problems.append(
                f"{far} ({', '.join(groups)}) has no ingress rule admitting tcp/{port} from the caller"
            )
        return problems

    def _inbound(self, target: Caller, port: int) -> list[str]:
        placement = self.placement(target)
        if placement is None:
            raise ValueError(f"{target.name} is not in the VPC")
        problems = []
        edge = {c: via for t in self.env.edge_route_tables.values() for c, via in self.env.routes.get(t, [])}
        for subnet in placement.subnets:
            cidr = self.env.subnet_cidrs.get(subnet, "")
            out = self._default_route(subnet)
            into = edge.get(cidr, "")
            if into and into != out:
                problems.append(f"subnet {subnet}: in through {into}, out through {out!r} (asymmetric)")
                continue
            if out.startswith("igw-"):
                continue
            firewall = self.env.firewalls.get(out)
            if firewall is None:
                problems.append(f"subnet {subnet} has no default route to the internet (it leads to {out!r})")
                continue
            self.crossed.add(firewall.name)
            problems += [p for p in self._firewall_admits(firewall, cidr, port) if p not in problems]
        ingress = [r for g in placement.groups for r in self.env.groups.get(g, EMPTY).ingress]
        if not any(r.admits(port) and "/" in r.peer and not self._inside(r.peer) for r in ingress):
            problems.append(
                f"no ingress rule of {', '.join(placement.groups)} admits tcp/{port} from the internet"
            )
        return problems

    def _inside(self, cidr: str) -> bool:
        network = ipaddress.ip_network(cidr)
        return any(network.subnet_of(ipaddress.ip_network(v)) for v in self.env.vpc_cidrs)  # type: ignore[arg-type]

    def _firewall_admits(self, firewall: Firewall, cidr: str, port: int) -> list[str]:
        """A connection from outside the VPC to ``cidr``:``port``: passed by a rule from !$HOME_NET."""
        policy = self._policy(firewall)
        for arn in policy.groups:
            group = self.env.rule_groups[arn]
            for line in group.rules.splitlines():
                if line.strip() and _passes_inbound(line, group.ip_sets, cidr, port):
                    return []
        if any(a.startswith("aws:drop") for a in policy.default_actions):
            return [
                f"the {firewall.name} firewall passes no rule for clients to {cidr}:{port} (default: drop)"
            ]
        return []

    def _policy(self, firewall: Firewall) -> FirewallPolicy:
        policy = self.env.firewall_policies.get(firewall.policy)
        if policy is None:
            raise ModelError(f"{self.env.stage}: no policy {firewall.policy} of the {firewall.name} firewall")
        if policy.rule_order != "STRICT_ORDER":
            raise ModelError(f"{self.env.stage}: only strict rule order is evaluated ({firewall.name})")
        for arn in policy.groups:
            if arn not in self.env.rule_groups:
                raise ModelError(f"{self.env.stage}: rule group {arn} is not in the templates")
        return policy

    def _default_route(self, subnet: str) -> str:
        routes = self.env.routes.get(self.env.subnet_route_tables.get(subnet, ""), [])
        return next((target for cidr, target in routes if cidr == "0.0.0.0/0"), "")

    def _out_of_nat(self, nat: str, host: str, port: int) -> tuple[list[str], str]:
        """From the NAT gateway's subnet to the internet: (problems, the firewall it crosses)."""
        subnet = self.env.nat_subnets.get(nat, "")
        target = self._default_route(subnet)
        if target.startswith("igw-"):
            return [], ""
        firewall = self.env.firewalls.get(target)
        if firewall is None:
            return [
                f"NAT gateway {nat}'s subnet has no default route to the internet (it leads to {target!r})"
            ], ""
        problems = []
        if not all(self._default_route(s).startswith("igw-") for s in firewall.subnets):
            problems.append(
                f"the {firewall.name} firewall's subnet has no default route to the internet gateway"
            )
        edge = {
            cidr: via
            for table in self.env.edge_route_tables.values()
            for cidr, via in self.env.routes.get(table, [])
        }
        if edge.get(self.env.subnet_cidrs.get(subnet, "")) != target:
            problems.append(
                f"the internet gateway does not route NAT gateway {nat}'s subnet back through {firewall.name}"
                " (asymmetric: the stateful engine drops the flow)"
            )
        problems += self._firewall_passes(firewall, host, port)
        return problems, firewall.name

    def _firewall_passes(self, firewall: Firewall, host: str, port: int) -> list[str]:
        policy = self._policy(firewall)
        if not any(a in ("aws:forward_to_sfe", "aws:pass") for a in policy.stateless_default):
            return [f"the {firewall.name} firewall's stateless default drops everything"]
        for arn in policy.groups:
            group = self.env.rule_groups[arn]
            if group.rules and not all(
                _inbound_only(line) for line in group.rules.splitlines() if line.strip()
            ):
                raise ModelError(
                    f"{self.env.stage}: rule group {arn}: only rules from !$HOME_NET are evaluated"
                )
            if group.domains is not None and group.domains.matches(host, port):
                if group.domains.kind == "ALLOWLIST":
                    return []
                return [f"the {firewall.name} firewall's deny list names {host}"]
        if any(a.startswith("aws:drop") for a in policy.default_actions):
            return [f"the {firewall.name} firewall passes no rule for {host}:{port} (default: drop)"]
        return []

    def _through_nat(self, source: Placement, port: int, host: str = "") -> list[str]:
        problems = []
        for subnet in source.subnets:
            target = self._default_route(subnet)
            if not target.startswith("nat-"):
                problems.append(f"subnet {subnet} has no default route through a NAT gateway")
                continue
            beyond, firewall = self._out_of_nat(target, host, port)
            self.crossed |= {firewall} - {""}
            problems += [p for p in beyond if p not in problems]
        egress = [r for g in source.groups for r in self.env.groups.get(g, EMPTY).egress]
        if not any(r.admits(port) and r.peer == "0.0.0.0/0" for r in egress):
            problems.append(f"no egress rule of {', '.join(source.groups)} admits tcp/{port} to 0.0.0.0/0")
        return problems

    def check(self, path: Path, caller: Caller, values: Mapping[str, str]) -> Network:
        route = path.route
        if route.kind == "none":
            return Network(None, "off the VPC (an AWS service or a GitHub runner calls)")
        if route.kind == "inbound":
            port = int(values["listener_port"])
            self.crossed = set()
            problems = self._inbound(_named(route.target), port)
            return Network(
                not problems, f"internet to the {route.target} :{port}{self._via()}", tuple(problems)
            )
        source = self.placement(caller)
        if source is None:
            return Network(None, "off the VPC")
        if not source.groups or not source.subnets:
            return Network(False, "not in the VPC", ("the caller has no VPC configuration",))
        if route.kind == "aws":
            host = fill(route.host, values) or _aws_host(route.target, self.env.region, self.env.account)
            return self._resolved(self._aws(source, route.target, host), host)
        if route.kind == "dns":
            host = fill(route.target, values)
            answered, why = self.env.resolves(host)
            return Network(answered, f"the VPC's resolver asked for {host}", () if answered else (why,))
        if route.kind == "managed":
            problems = self._to_vpc(source)
            return Network(
                not problems, f"{route.target} interface endpoint (made by the service)", tuple(problems)
            )
        if route.kind == "internet":
            host = fill(route.target, values)
            self.crossed = set()
            problems = self._through_nat(source, route.port, host)
            found = Network(not problems, f"{host}:{route.port} through NAT{self._via()}", tuple(problems))
            return self._resolved(found, host)
        if route.kind == "loopback":
            problems = self._loopback(values["agent"], route.port)
            return Network(not problems, f"127.0.0.1:{route.port} in its task", tuple(problems))
        if route.kind == "nfs":
            groups, subnets = self._mount_targets()
            problems = self._both_sides(source, groups, subnets, 2049, "the mount targets")
            return Network(not problems, "NFS to the mount targets", tuple(problems))
        if route.kind == "port":
            target = self.placement(_named(route.target))
            if target is None:
                raise ValueError(f"{route.target} is not in the VPC")
            problems = self._both_sides(source, target.groups, target.subnets, route.port, route.target)
            return Network(not problems, f"tcp/{route.port} to the {route.target}", tuple(problems))
        raise ValueError(f"unknown route kind {route.kind}")

    def _resolved(self, found: Network, host: str) -> Network:
        """A name is resolved before it is connected to: a name the DNS firewall blocks fails the
        route whatever lies beyond (an IP literal is not looked up)."""
        if _is_address(host):
            return found
        answered, why = self.env.resolves(host)
        if answered:
            return found
        return Network(False, found.route, (*found.problems, why), found.endpoint_policy)

    def _loopback(self, agent_name: str, port: int) -> list[str]:
        agent = next(a for a in self.names.agents if a.name == agent_name)
        address = f"127.0.0.1:{port}"
        problems = []
        if agent.task_definition.get("NetworkMode") != "awsvpc":
            problems.append(f"{agent.family} is not an awsvpc task: its containers share no loopback")
        if agent.proxy_environment.get(PROXY_LISTEN) != address:
            listen = agent.proxy_environment.get(PROXY_LISTEN)
            problems.append(f"the credential proxy listens on {listen}, not {address}")
        if not any(v.startswith(f"http://{address}") for v in agent.agent_environment.values()):
            problems.append(f"no variable of the agent's container points at http://{address}")
        return problems

    def _to_vpc(self, source: Placement) -> list[str]:
        """An endpoint the service makes admits 443 from the VPC's range: the caller must reach it."""
        egress = [r for g in source.groups for r in self.env.groups.get(g, EMPTY).egress]
        if any(r.admits(443) and _covers(r.peer, self.env.vpc_cidrs) for r in egress):
            return []
        return [f"no egress rule of {', '.join(source.groups)} admits tcp/443 to the VPC's range"]

    def _aws(self, source: Placement, service: str, host: str) -> Network:
        endpoint = self.env.interface_endpoints.get(service)
        if endpoint is not None and endpoint.private_dns:
            problems = self._both_sides(
                source, endpoint.groups, endpoint.subnets, 443, f"the {service} interface endpoint"
            )
            if not self.env.vpc_dns:
                problems.append("private DNS needs the VPC's DNS support and DNS hostnames on")
            route = f"{service} interface endpoint (private DNS)"
            return Network(not problems, route, tuple(problems), endpoint.policy)
        tables = {self.env.subnet_route_tables.get(s, "") for s in source.subnets}
        if service in self.env.gateway_endpoints and tables <= self.env.gateway_endpoints[service]:
            egress = [r for g in source.groups for r in self.env.groups.get(g, EMPTY).egress]
            ok = any(r.admits(443) and (r.peer == "0.0.0.0/0" or r.peer.startswith("pl-")) for r in egress)
            missing = () if ok else (f"no egress rule admits tcp/443 to the {service} prefix list",)
            policy = self.env.gateway_policies.get(service)
            return Network(ok, f"{service} gateway endpoint", missing, policy)
        self.crossed = set()
        problems = self._through_nat(source, 443, host)
        return Network(not problems, f"{service} through NAT{self._via()}", tuple(problems))

    def _via(self) -> str:
        if not self.crossed:
            return ""
        return f" and the {', '.join(sorted(self.crossed))} firewall" + ("s" if len(self.crossed) > 1 else "")

    def _mount_targets(self) -> tuple[list[str], list[str]]:
        groups: list[str] = []
        subnets: list[str] = []
        for path, located in self.env.by_path.items():
            if located.resource["Type"] == "AWS::EFS::MountTarget":
                properties = self.env.properties(path)
                groups += [str(g) for g in properties["SecurityGroups"] if str(g) not in groups]
                subnets.append(str(properties["SubnetId"]))
        return groups, subnets


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _aws_host(service: str, region: str, account: str) -> str:
    """The name an AWS API is called at (the SNI the firewall sees)."""
    if service == "ecr.api":
        return f"api.ecr.{region}.amazonaws.com"
    if service == "ecr.dkr":
        return f"{account}.dkr.ecr.{region}.amazonaws.com"
    return f"{service}.{region}.amazonaws.com"


def _passes_inbound(rule: str, ip_sets: Mapping[str, Sequence[str]], cidr: str, port: int) -> bool:
    """``pass tcp !$HOME_NET any -> <$SET | any> <[p,q] | p | any> (...)``: does it pass a client
    outside the VPC to ``cidr``:``port``? Any other shape of rule stops the run."""
    parts = rule.split()
    if len(parts) < 7 or parts[:4] != ["pass", "tcp", "!$HOME_NET", "any"] or parts[4] != "->":
        raise ModelError(f"a firewall rule that is not evaluated: {rule}")
    target, ports = parts[5], parts[6]
    if target != "any":
        ranges = ip_sets.get(target.removeprefix("$"))
        if ranges is None:
            raise ModelError(f"a firewall rule names an unknown variable: {rule}")
        inside = ipaddress.ip_network(cidr)
        if not any(inside.subnet_of(ipaddress.ip_network(r)) for r in ranges):  # type: ignore[arg-type]
            return False
    return ports == "any" or str(port) in ports.strip("[]").split(",")


def _inbound_only(rule: str) -> bool:
    """A Suricata rule whose source is outside the VPC (``!$HOME_NET``): it never matches a flow
    that a task or function in the VPC opens."""
    parts = rule.split()
    return len(parts) > 2 and parts[2] == "!$HOME_NET"


EMPTY = Group()  # a group the templates do not declare (another stack's, an import): no rules


# --- IAM ------------------------------------------------------------------------------


def _context(
    call: Call, values: Mapping[str, str], principal: str, resource: str, env: Environment
) -> dict[str, Value]:
    context: dict[str, Value] = {
        "aws:PrincipalArn": principal,
        "aws:PrincipalAccount": _principal_account(principal, env),
        "aws:RequestedRegion": env.region,
    }
    owner = env.resource_account(resource)
    if owner is not None:
        context["aws:ResourceAccount"] = owner
    for key, raw in call.context.items():
        value = fill(raw, values)
        context[key] = value.split(",") if key in LIST_KEYS else value
    return context


# Signers from outside this account: (principal, why their own side allows the call).
OUTSIDE_SIGNERS = {
    SIGNED_BY_AWS: (SIGNED_BY_AWS, "presigned by the service"),
    SIGNED_BY_ANOTHER_ACCOUNT: (INTRUDER, "another account's keys, allowed by that account's own policies"),
}


def _principal_account(principal: str, env: Environment) -> str:
    """The signer's account: an AWS service's own for a URL it presigned, the account of a
    principal's ARN, else (a service principal calling on our behalf) this account."""
    if principal == SIGNED_BY_AWS:
        return AWS_SERVICE_ACCOUNT
    parts = principal.split(":")
    return parts[4] if principal.startswith("arn:") and len(parts) > 4 and parts[4] else env.account


class Checker:
    def __init__(self, env: Environment, names: Names) -> None:
        if env.network_acls:
            raise ModelError(f"{env.stage}: network ACL entries are not evaluated: {env.network_acls[0]}")
        self.env = env
        self.names = names
        self.network = NetworkCheck(env, names)

    def principal(
        self, caller: Caller, values: Mapping[str, str]
    ) -> tuple[str, list[tuple[str, Mapping[str, object]]]]:
        if caller.principal:
            return fill(caller.principal, values), []
        role = fill(caller.role, values)
        arn = role if role.startswith("arn:") else str(self.env.attribute(role))
        if arn in self.env.unreadable_policies:
            raise ModelError(f"{caller.name}: role {arn} holds managed policies the templates do not show")
        return arn, list(self.env.role_policies.get(arn, []))

    def _request(self, call: Call, values: Mapping[str, str], principal: str, resource: str) -> Request:
        context = _context(call, values, principal, resource, self.env)
        return Request(principal, call.action, resource, context)

    def authorize(
        self, call: Call, caller: Caller, values: Mapping[str, str], network: Network | None = None
    ) -> Checked:
        resource = fill(call.resource, values)
        if call.signer in OUTSIDE_SIGNERS:
            # A URL an AWS service presigned (ECR's layer locations), or another account's keys on
            # that account's resource (an intruder's): their own side allows it, only the
            # endpoint can judge it.
            principal, reason = OUTSIDE_SIGNERS[call.signer]
            request = self._request(call, values, principal, resource)
            decision = Decision(True, reason)
        else:
            signer = _named(fill(call.signer, values)) if call.signer else caller
            principal, identity = self.principal(signer, values)
            request = self._request(call, values, principal, resource)
            decision = evaluate(request, identity, self.env.policy_of(resource, call.action))
        gate = network.endpoint_policy if network is not None else None
        if decision and gate is not None and network is not None and _of_service(call.action, network.route):
            # The endpoint's policy must allow it too (its Principal is not matched: "*" as usual).
            verdict = evaluate(request, [("endpoint policy", gate)])
            decision = decision if verdict else Decision(False, f"the endpoint refuses it: {verdict.reason}")
        return Checked(call, principal, resource, decision)

    def outcomes(self) -> Iterator[Outcome]:
        for path in PATHS:
            for caller, values, lists in self._bindings(path):
                if path.each == "agent":
                    bindings = [agent.values for agent in self.names.agents]
                else:
                    bindings = lists.get(path.each, []) if path.each else [{}]
                for binding in bindings:
                    merged = {**values, **binding}
                    network = self.network.check(path, caller, merged)
                    yield Outcome(
                        self.env.stage,
                        fill(caller.name, merged),
                        path.does if not binding else f"{path.does} ({_short(binding)})",
                        path.expect,
                        path.per_dispatch,
                        network,
                        [self.authorize(call, caller, merged, network) for call in path.calls],
                    )

    def _bindings(self, path: Path) -> Iterator[tuple[Caller, dict[str, str], Lists]]:
        caller = _named(path.caller)
        of_ci = caller.role.startswith("{delivery}") or caller.principal == "{oidc_provider}"
        if of_ci and not self.names.delivered:
            return
        if "{agent}" in caller.name:
            for agent in self.names.agents:
                yield caller, {**self.names.values, **agent.values}, self.names.agent_lists(agent)
            return
        yield caller, dict(self.names.values), dict(self.names.lists)


def _of_service(action: str, route: str) -> bool:
    """Is ``action`` a call to the service the route's endpoint serves (not one that service makes
    on the caller's behalf, ``kms:Decrypt`` through S3)?"""
    return action.split(":", 1)[0].lower() == route.split(" ", 1)[0].split(".", 1)[0].lower()


def _named(name: str) -> Caller:
    for caller in CALLERS:
        if caller.name == name:
            return caller
    raise KeyError(f"no caller named {name!r} in tools/paths/terms.py")


def _short(binding: Mapping[str, str]) -> str:
    if "agent" in binding:
        return binding["agent"]
    for key in ("alarm_name", "rule_name", "budget_name", "listener_name"):
        if key in binding:
            return binding[key]
    secret = binding.get("secret", "")
    return secret.split(":secret:", 1)[-1].rsplit("-", 1)[0] if secret else ", ".join(binding.values())
