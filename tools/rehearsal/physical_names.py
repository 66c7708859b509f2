"""Realistic physical names, ids and ARNs for resources CloudFormation has not created.

The rehearsal measures policies the way IAM will see them, after CloudFormation replaced every
reference with the real value. Those values are made here, offline and deterministically:

- The real account and region of the stack's environment, partition ``aws``.
- A name property in the template (``TableName``, ``RoleName``, ...) is used as is.
- Without one, CloudFormation generates ``<stack name>-<logical id>-<random>``, cut to the
  type's maximum length ("CloudFormation resource custom naming", e.g. ``MyStack-MyBucket-
  abcdefghijk1``: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/
  aws-properties-name.html): the random part is 12 characters, as in that example; when the
  whole is too long, the ``<stack>-<logical id>`` prefix is shortened, never the random part.
- Ids follow the services' formats: ``vpc-``/``sg-``/``subnet-`` + 17 hex digits, a KMS key
  id is a 36-character UUID, a Secrets Manager ARN ends in ``-`` + 6 random characters, a
  load balancer ARN ends in ``/<16 hex digits>``, a task definition ARN in ``:1``.

"Random" parts are derived from a hash of stack and logical id: the same input gives the
same value, so a measured size does not change from run to run.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ALNUM = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"


class UnknownReferenceError(ValueError):
    """The rehearsal does not know what a reference resolves to (add the type to ``names.py``)."""


@dataclass(frozen=True)
class Place:
    """Where a resource lives: account, region, stack name."""

    account: str
    region: str
    stack_name: str
    partition: str = "aws"

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account if account else ''}:{resource}"
        )


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("/".join(parts).encode()).digest()


def random_part(length: int, alphabet: str, *seed: str) -> str:
    digest = _digest(*seed)
    while len(digest) < length:
        digest += _digest(digest.hex())
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


def uuid_like(*seed: str) -> str:
    h = random_part(32, HEX, *seed)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"


def generated_name(place: Place, logical_id: str, max_length: int, *, lower: bool = False) -> str:
    """``<stack>-<logical id>-<12 random>``, the prefix cut so that the whole fits ``max_length``."""
    suffix = random_part(12, ALNUM, place.stack_name, logical_id)
    prefix = f"{place.stack_name}-{logical_id}"[: max_length - len(suffix) - 1].rstrip("-")
    name = f"{prefix}-{suffix}"
    return name.lower() if lower else name


@dataclass(frozen=True)
class Resource:
    """A resource as the name rules see it: type, logical id, its (resolved) properties."""

    place: Place
    logical_id: str
    type: str
    properties: Mapping[str, Any]

    def name(self, prop: str | None, max_length: int, *, lower: bool = False) -> str:
        value = self.properties.get(prop) if prop else None
        if isinstance(value, str) and value:
            return value
        return generated_name(self.place, self.logical_id, max_length, lower=lower)

    def hex_id(self, prefix: str, length: int = 17) -> str:
        return f"{prefix}-{random_part(length, HEX, self.place.stack_name, self.logical_id)}"

    def arn(self, service: str, resource: str, **kwargs: bool) -> str:
        return self.place.arn(service, resource, **kwargs)


# One function per resource type: (resource, attribute or "Ref") -> value.
Namer = Callable[[Resource, str], Any]


def _role(r: Resource, attr: str) -> str:
    name = r.name("RoleName", 64)
    path = str(r.properties.get("Path", "/"))
    return {
        "Ref": name,
        "Arn": r.arn("iam", f"role{path}{name}", region=False),
        "RoleId": "AROA" + random_part(17, ALNUM, r.logical_id),
    }[attr]


def _managed_policy(r: Resource, attr: str) -> str:
    name = r.name("ManagedPolicyName", 128)
    path = str(r.properties.get("Path", "/"))
    arn = r.arn("iam", f"policy{path}{name}", region=False)
    return {"Ref": arn, "PolicyArn": arn}[attr]


def _kms_key(r: Resource, attr: str) -> str:
    key_id = uuid_like(r.place.stack_name, r.logical_id)
    return {"Ref": key_id, "KeyId": key_id, "Arn": r.arn("kms", f"key/{key_id}")}[attr]


def _bucket(r: Resource, attr: str) -> str:
    name = r.name("BucketName", 63, lower=True)
    region = r.place.region
    return {
        "Ref": name,
        "Arn": r.arn("s3", name, region=False, account=False),
        "DomainName": f"{name}.s3.amazonaws.com",
        "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
        "WebsiteURL": f"http://{name}.s3-website-{region}.amazonaws.com",
    }[attr]


def _table(r: Resource, attr: str) -> str:
    name = r.name("TableName", 255)
    arn = r.arn("dynamodb", f"table/{name}")
    return {"Ref": name, "Arn": arn, "StreamArn": f"{arn}/stream/2025-01-01T00:00:00.000"}[attr]


def _log_group(r: Resource, attr: str) -> str:
    name = r.name("LogGroupName", 512)
    return {"Ref": name, "Arn": r.arn("logs", f"log-group:{name}:*")}[attr]


def _function(r: Resource, attr: str) -> str:
    name = r.name("FunctionName", 64)
    return {"Ref": name, "Arn": r.arn("lambda", f"function:{name}")}[attr]


def _queue(r: Resource, attr: str) -> str:
    fifo = ".fifo" if r.properties.get("FifoQueue") in (True, "true") else ""
    name = r.name("QueueName", 80 - len(fifo)) + ("" if r.properties.get("QueueName") else fifo)
    url = f"https://sqs.{r.place.region}.amazonaws.com/{r.place.account}/{name}"
    return {"Ref": url, "QueueUrl": url, "QueueName": name, "Arn": r.arn("sqs", name)}[attr]


def _topic(r: Resource, attr: str) -> str:
    name = r.name("TopicName", 256)
    arn = r.arn("sns", name)
    return {"Ref": arn, "TopicArn": arn, "TopicName": name}[attr]


def _secret(r: Resource, attr: str) -> str:
    # Without a Name, Secrets Manager secrets created by CloudFormation are named
    # <logical id>-<12 random>; the ARN adds "-" and 6 random characters to the name.
    name = (
        r.properties.get("Name") or f"{r.logical_id}-{random_part(12, ALNUM + ALNUM.lower(), r.logical_id)}"
    )
    arn = r.arn("secretsmanager", f"secret:{name}-{random_part(6, ALNUM + ALNUM.lower(), str(name))}")
    return {"Ref": arn, "Id": arn}[attr]


def _file_system(r: Resource, attr: str) -> str:
    fs = r.hex_id("fs")
    return {"Ref": fs, "FileSystemId": fs, "Arn": r.arn("elasticfilesystem", f"file-system/{fs}")}[attr]


def _access_point(r: Resource, attr: str) -> str:
    ap = r.hex_id("fsap")
    return {"Ref": ap, "AccessPointId": ap, "Arn": r.arn("elasticfilesystem", f"access-point/{ap}")}[attr]


def _cluster(r: Resource, attr: str) -> str:
    name = r.name("ClusterName", 255)
    return {"Ref": name, "Arn": r.arn("ecs", f"cluster/{name}")}[attr]


def _task_definition(r: Resource, attr: str) -> str:
    family = r.name("Family", 255)
    arn = r.arn("ecs", f"task-definition/{family}:1")
    return {"Ref": arn, "TaskDefinitionArn": arn}[attr]


def _service(r: Resource, attr: str) -> str:
    name = r.name("ServiceName", 255)
    cluster = str(r.properties.get("Cluster", "default")).rsplit("/", 1)[-1]
    arn = r.arn("ecs", f"service/{cluster}/{name}")
    return {"Ref": arn, "ServiceArn": arn, "Name": name}[attr]


def _load_balancer(r: Resource, attr: str) -> str:
    name = r.name("Name", 32)
    kind = "net" if r.properties.get("Type") == "network" else "app"
    full = f"{kind}/{name}/{random_part(16, HEX, r.logical_id)}"
    internal = "internal-" if r.properties.get("Scheme") == "internal" else ""
    dns = f"{internal}{name}-{random_part(10, '0123456789', r.logical_id)}.{r.place.region}.elb.amazonaws.com"
    arn = r.arn("elasticloadbalancing", f"loadbalancer/{full}")
    return {
        "Ref": arn,
        "LoadBalancerArn": arn,
        "LoadBalancerFullName": full,
        "LoadBalancerName": name,
        "DNSName": dns,
        "CanonicalHostedZoneID": "Z35SXDOTRQ7X7K",
    }[attr]


def _target_group(r: Resource, attr: str) -> str:
    name = r.name("Name", 32)
    full = f"targetgroup/{name}/{random_part(16, HEX, r.logical_id)}"
    arn = r.arn("elasticloadbalancing", full)
    return {"Ref": arn, "TargetGroupArn": arn, "TargetGroupFullName": full, "TargetGroupName": name}[attr]


def _listener(r: Resource, attr: str) -> str:
    lb = str(r.properties.get("LoadBalancerArn", r.arn("elasticloadbalancing", "loadbalancer/app/lb/0")))
    arn = lb.replace(":loadbalancer/", ":listener/") + "/" + random_part(16, HEX, r.logical_id)
    return {"Ref": arn, "ListenerArn": arn}[attr]


def _listener_rule(r: Resource, attr: str) -> str:
    listener = str(r.properties.get("ListenerArn", ""))
    arn = listener.replace(":listener/", ":listener-rule/") + "/" + random_part(16, HEX, r.logical_id)
    return {"Ref": arn, "RuleArn": arn}[attr]


def _event_bus(r: Resource, attr: str) -> str:
    name = r.name("Name", 256)
    return {"Ref": name, "Name": name, "Arn": r.arn("events", f"event-bus/{name}")}[attr]


def _rule(r: Resource, attr: str) -> str:
    name = r.name("Name", 64)
    bus = r.properties.get("EventBusName")
    bus_name = str(bus).rsplit("/", 1)[-1] if bus else None
    path = f"rule/{bus_name}/{name}" if bus_name and bus_name != "default" else f"rule/{name}"
    return {"Ref": f"{bus_name}|{name}" if bus_name else name, "Arn": r.arn("events", path)}[attr]


def _archive(r: Resource, attr: str) -> str:
    name = r.name("ArchiveName", 48)
    return {"Ref": name, "ArchiveName": name, "Arn": r.arn("events", f"archive/{name}")}[attr]


def _alarm(r: Resource, attr: str) -> str:
    name = r.name("AlarmName", 255)
    return {"Ref": name, "Arn": r.arn("cloudwatch", f"alarm:{name}")}[attr]


def _dashboard(r: Resource, attr: str) -> str:
    return {"Ref": r.name("DashboardName", 255)}[attr]


def _repository(r: Resource, attr: str) -> str:
    name = r.name("RepositoryName", 256, lower=True)
    return {
        "Ref": name,
        "Arn": r.arn("ecr", f"repository/{name}"),
        "RepositoryUri": f"{r.place.account}.dkr.ecr.{r.place.region}.amazonaws.com/{name}",
    }[attr]


def _trail(r: Resource, attr: str) -> str:
    name = r.name("TrailName", 128)
    return {"Ref": name, "Arn": r.arn("cloudtrail", f"trail/{name}")}[attr]


def _web_acl(r: Resource, attr: str) -> str:
    name = r.name("Name", 128)
    acl_id = uuid_like(r.place.stack_name, r.logical_id)
    scope = str(r.properties.get("Scope", "REGIONAL")).lower()
    arn = r.arn("wafv2", f"{scope}/webacl/{name}/{acl_id}")
    return {"Ref": f"{name}|{acl_id}|{scope.upper()}", "Arn": arn, "Id": acl_id}[attr]


def _scalable_target(r: Resource, attr: str) -> str:
    p = r.properties
    return {"Ref": f"{p.get('ResourceId')}|{p.get('ScalableDimension')}|{p.get('ServiceNamespace')}"}[attr]


def _scaling_policy(r: Resource, attr: str) -> str:
    name = r.name("PolicyName", 256)
    arn = r.arn(
        "autoscaling", f"scalingPolicy:{uuid_like(r.logical_id)}:resource/ecs/service:policyName/{name}"
    )
    return {"Ref": arn, "Arn": arn}[attr]


def _ec2_id(prefix: str, **attrs: str) -> Namer:
    def namer(r: Resource, attr: str) -> Any:
        value = r.hex_id(prefix)
        if attr == "Ref":
            return value
        if attr in attrs:
            prop = attrs[attr]
            return r.properties[prop] if prop in r.properties else r.hex_id(prop)
        raise KeyError(attr)

    return namer


def _vpc(r: Resource, attr: str) -> Any:
    return {
        "Ref": r.hex_id("vpc"),
        "VpcId": r.hex_id("vpc"),
        "CidrBlock": r.properties.get("CidrBlock", "10.0.0.0/16"),
        "DefaultSecurityGroup": r.hex_id("sg"),
        "DefaultNetworkAcl": r.hex_id("acl"),
    }[attr]


def _eip(r: Resource, attr: str) -> str:
    digest = _digest(r.place.stack_name, r.logical_id)
    address = f"203.0.113.{digest[0] % 254 + 1}"  # documentation range (RFC 5737)
    return {"Ref": address, "PublicIp": address, "AllocationId": r.hex_id("eipalloc")}[attr]


def _sns_subscription(r: Resource, attr: str) -> str:
    return {"Ref": f"{r.properties.get('TopicArn')}:{uuid_like(r.logical_id)}"}[attr]


def _oidc_provider(r: Resource, attr: str) -> str:
    """``arn:aws:iam::<account>:oidc-provider/<host>``: Ref and Arn are the ARN."""
    url = str(r.properties.get("Url", "https://token.actions.githubusercontent.com"))
    arn = r.arn("iam", f"oidc-provider/{url.removeprefix('https://')}", region=False)
    return {"Ref": arn, "Arn": arn}[attr]


def _detector(r: Resource, attr: str) -> str:
    """A GuardDuty detector's id: 32 lower-case hex digits (GuardDuty API reference, Detector)."""
    digest = _digest(r.place.stack_name, r.logical_id).hex()[:32]
    return {"Ref": digest, "Id": digest}[attr]


def _firewall(r: Resource, attr: str) -> Any:
    """A Network Firewall: its ARN, id and ``EndpointIds`` (``<zone>:vpce-...``, one per subnet
    mapping; the routes keep the part after the colon)."""
    name = str(r.properties.get("FirewallName", generated_name(r.place, r.logical_id, 128)))
    arn = r.arn("network-firewall", f"firewall/{name}")
    mappings = r.properties.get("SubnetMappings", [{}])
    zones = [f"{r.place.region}{'abcdef'[i % 6]}" for i in range(len(mappings))]
    endpoints = [f"{zone}:{r.hex_id('vpce')}" for zone in zones]
    return {"Ref": arn, "FirewallArn": arn, "FirewallId": uuid_like(r.logical_id), "EndpointIds": endpoints}[
        attr
    ]


def _firewall_part(kind: str, name_prop: str, attr_prefix: str) -> Namer:
    """A rule group or firewall policy: Ref and ``<attr_prefix>Arn`` are its ARN."""

    def namer(r: Resource, attr: str) -> str:
        name = str(r.properties.get(name_prop, generated_name(r.place, r.logical_id, 128)))
        arn = r.arn("network-firewall", f"{kind}/{name}")
        return {"Ref": arn, f"{attr_prefix}Arn": arn, f"{attr_prefix}Id": uuid_like(r.logical_id)}[attr]

    return namer


def _resolver_firewall(prefix: str, kind: str) -> Namer:
    """A Route 53 Resolver DNS Firewall part: its id (``Ref`` and ``Id``) is ``rslvr-<prefix>-``
    and 17 hex digits, as ``rslvr-fdl-...`` of a domain list; its ``Arn`` names ``<kind>/<id>``."""

    def namer(r: Resource, attr: str) -> Any:
        ident = r.hex_id(f"rslvr-{prefix}")
        return {"Ref": ident, "Id": ident, "Arn": r.arn("route53resolver", f"{kind}/{ident}")}[attr]

    return namer


def _physical_id(r: Resource, attr: str) -> str:
    """Types whose Ref is an opaque physical id of no particular length (rarely referenced)."""
    return {"Ref": generated_name(r.place, r.logical_id, 255)}[attr]


NAMERS: dict[str, Namer] = {
    "AWS::IAM::Role": _role,
    "AWS::IAM::ManagedPolicy": _managed_policy,
    "AWS::IAM::OIDCProvider": _oidc_provider,
    "AWS::KMS::Key": _kms_key,
    "AWS::S3::Bucket": _bucket,
    "AWS::DynamoDB::Table": _table,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::Lambda::Function": _function,
    "AWS::SQS::Queue": _queue,
    "AWS::SNS::Topic": _topic,
    "AWS::SNS::Subscription": _sns_subscription,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::EFS::FileSystem": _file_system,
    "AWS::EFS::AccessPoint": _access_point,
    "AWS::EFS::MountTarget": _ec2_id("fsmt", IpAddress="IpAddress"),
    "AWS::ECS::Cluster": _cluster,
    "AWS::ECS::TaskDefinition": _task_definition,
    "AWS::ECS::Service": _service,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _load_balancer,
    "AWS::ElasticLoadBalancingV2::TargetGroup": _target_group,
    "AWS::ElasticLoadBalancingV2::Listener": _listener,
    "AWS::ElasticLoadBalancingV2::ListenerRule": _listener_rule,
    "AWS::Events::EventBus": _event_bus,
    "AWS::Events::Rule": _rule,
    "AWS::Events::Archive": _archive,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::CloudWatch::Dashboard": _dashboard,
    "AWS::ECR::Repository": _repository,
    "AWS::CloudTrail::Trail": _trail,
    "AWS::WAFv2::WebACL": _web_acl,
    "AWS::GuardDuty::Detector": _detector,
    "AWS::ApplicationAutoScaling::ScalableTarget": _scalable_target,
    "AWS::ApplicationAutoScaling::ScalingPolicy": _scaling_policy,
    "AWS::EC2::VPC": _vpc,
    "AWS::EC2::Subnet": _ec2_id("subnet", SubnetId="subnet", AvailabilityZone="AvailabilityZone"),
    "AWS::EC2::SecurityGroup": _ec2_id("sg", GroupId="sg", VpcId="VpcId"),
    "AWS::EC2::RouteTable": _ec2_id("rtb"),
    "AWS::EC2::InternetGateway": _ec2_id("igw"),
    "AWS::EC2::NatGateway": _ec2_id("nat"),
    "AWS::EC2::VPCEndpoint": _ec2_id("vpce"),
    "AWS::EC2::FlowLog": _ec2_id("fl"),
    "AWS::EC2::SecurityGroupIngress": _ec2_id("sgr"),
    "AWS::EC2::SecurityGroupEgress": _ec2_id("sgr"),
    "AWS::EC2::EIP": _eip,
    "AWS::EC2::GatewayRouteTableAssociation": _ec2_id("rtbassoc"),
    "AWS::NetworkFirewall::Firewall": _firewall,
    "AWS::NetworkFirewall::FirewallPolicy": _firewall_part(
        "firewall-policy", "FirewallPolicyName", "FirewallPolicy"
    ),
    "AWS::NetworkFirewall::RuleGroup": _firewall_part("stateful-rulegroup", "RuleGroupName", "RuleGroup"),
    "AWS::NetworkFirewall::LoggingConfiguration": _physical_id,
    "AWS::Route53Resolver::FirewallDomainList": _resolver_firewall("fdl", "firewall-domain-list"),
    "AWS::Route53Resolver::FirewallRuleGroup": _resolver_firewall("frg", "firewall-rule-group"),
    "AWS::Route53Resolver::FirewallRuleGroupAssociation": _resolver_firewall(
        "frgassoc", "firewall-rule-group-association"
    ),
    "AWS::Lambda::Permission": _physical_id,
    "AWS::Lambda::EventInvokeConfig": _physical_id,
    "AWS::Logs::ResourcePolicy": _physical_id,
    "AWS::S3::BucketPolicy": _physical_id,
    "AWS::SQS::QueuePolicy": _physical_id,
    "AWS::SNS::TopicPolicy": _physical_id,
    "AWS::IAM::Policy": _physical_id,
}


def reference(resource: Resource, attribute: str = "Ref") -> Any:
    """What ``Ref`` (``attribute="Ref"``) or ``Fn::GetAtt`` of ``resource`` returns on AWS."""
    namer = NAMERS.get(resource.type)
    if namer is None and resource.type.startswith("Custom::"):
        namer = _physical_id
    try:
        if namer is None:
            raise KeyError(attribute)
        return namer(resource, attribute)
    except KeyError:
        raise UnknownReferenceError(
            f"{resource.logical_id} ({resource.type}): no realistic value for "
            f"{'Ref' if attribute == 'Ref' else 'Fn::GetAtt ' + attribute}; "
            "add it to tools/rehearsal/physical_names.py"
        ) from None
