"""Fine-grained assertions of the Network stack of every environment."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest

from config.network import INTERFACE_ENDPOINTS
from permissions.endpoints import POLICY_TAKING_INTERFACE_ENDPOINTS
from tests.environments import STAGES, is_production, stages_of_kind
from tests.synth import Synthesized
from tests.templates import region, retained, settings


def network(synthesized: Synthesized, stage: str) -> dict[str, Any]:
    return synthesized.template(f"{stage}/Network")


def only(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    assert len(resources) == 1, sorted(resources)
    return next(iter(resources.values()))


def props_of(synthesized: Synthesized, stage: str, resource_type: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in synthesized.resources(f"{stage}/Network", resource_type).values()]


@pytest.mark.parametrize("stage", STAGES)
def test_vpc_and_subnets_follow_the_address_plan(synthesized: Synthesized, stage: str) -> None:
    wanted = settings(stage)["network"]
    vpc = only(synthesized.resources(f"{stage}/Network", "AWS::EC2::VPC"))["Properties"]
    assert vpc["CidrBlock"] == wanted["vpc_cidr"]
    assert vpc["EnableDnsHostnames"]
    assert vpc["EnableDnsSupport"]

    every = props_of(synthesized, stage, "AWS::EC2::Subnet")
    # The VPC's tiers; the egress firewall's own subnets (tests/app/test_egress.py) sit above them.
    subnets = [s for s in every if _tag(s, "aws-cdk:subnet-type") is not None]
    zones = wanted["availability_zones"]
    assert len(subnets) == 2 * len(zones)
    assert sorted({s["AvailabilityZone"] for s in subnets}) == sorted(zones)
    blocks = [ipaddress.IPv4Network(s["CidrBlock"]) for s in every]
    whole = ipaddress.IPv4Network(wanted["vpc_cidr"])
    assert all(block.subnet_of(whole) for block in blocks)
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])
    public = [s for s in subnets if _tag(s, "aws-cdk:subnet-type") == "Public"]
    private = [s for s in subnets if _tag(s, "aws-cdk:subnet-type") == "Private"]
    assert {s["CidrBlock"].split("/")[1] for s in public} == {str(wanted["public_subnet_mask"])}
    assert {s["CidrBlock"].split("/")[1] for s in private} == {str(wanted["private_subnet_mask"])}
    # No subnet hands out public addresses, not even the public tier.
    assert all(s["MapPublicIpOnLaunch"] is False for s in every)


def _tag(resource_props: dict[str, Any], key: str) -> str | None:
    return next((t["Value"] for t in resource_props.get("Tags", []) if t["Key"] == key), None)


@pytest.mark.parametrize("stage", STAGES)
def test_nat_gateways_per_config(synthesized: Synthesized, stage: str) -> None:
    expected = settings(stage)["network"]["nat_gateways"]
    assert len(synthesized.resources(f"{stage}/Network", "AWS::EC2::NatGateway")) == expected
    # Every private route table sends internet traffic to a NAT gateway, none to the IGW; only
    # the egress firewall's subnets route to the IGW (the public ones go through the firewall).
    routes = props_of(synthesized, stage, "AWS::EC2::Route")
    nat_routes = [r for r in routes if "NatGatewayId" in r]
    igw_routes = [r for r in routes if "GatewayId" in r]
    zones = len(settings(stage)["network"]["availability_zones"])
    assert len(nat_routes) == zones
    assert len(igw_routes) == settings(stage)["network"]["nat_gateways"]


@pytest.mark.parametrize("stage", stages_of_kind("production"))
def test_production_has_one_nat_per_zone(synthesized: Synthesized, stage: str) -> None:
    zones = len(settings(stage)["network"]["availability_zones"])
    assert len(synthesized.resources(f"{stage}/Network", "AWS::EC2::NatGateway")) == zones


@pytest.mark.parametrize("stage", STAGES)
def test_flow_logs_capture_everything_to_an_encrypted_expiring_group(
    synthesized: Synthesized, stage: str
) -> None:
    template = network(synthesized, stage)
    flow_log = only(synthesized.resources(f"{stage}/Network", "AWS::EC2::FlowLog"))["Properties"]
    assert flow_log["TrafficType"] == "ALL"
    assert flow_log["ResourceType"] == "VPC"
    assert flow_log["LogDestinationType"] == "cloud-watch-logs"
    group_id = flow_log["LogGroupName"]["Ref"]
    group = template["Resources"][group_id]["Properties"]
    assert group["RetentionInDays"] == settings(stage)["network"]["flow_log_retention_days"]
    key_id = group["KmsKeyId"]["Fn::GetAtt"][0]
    key = template["Resources"][key_id]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True
    logs_statement = next(
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "AllowCloudWatchLogsOfThisAccountAndRegion"
    )
    assert logs_statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == (
        f"arn:aws:logs:{region(stage)}:{settings(stage)['account']}:log-group:*"
    )
    # The delivery role's permissions are one managed policy scoped to this log group.
    role_id = flow_log["DeliverLogsPermissionArn"]["Fn::GetAtt"][0]
    role = template["Resources"][role_id]["Properties"]
    assert "Policies" not in role
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": settings(stage)["account"]}
    policy = next(
        p for p in props_of(synthesized, stage, "AWS::IAM::ManagedPolicy") if p["Roles"] == [{"Ref": role_id}]
    )
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [group_id, "Arn"]},
        }
    ]
    assert not synthesized.resources(f"{stage}/Network", "AWS::IAM::Policy")


@pytest.mark.parametrize("stage", STAGES)
def test_flow_logs_and_key_survive_deletion_in_production_only(synthesized: Synthesized, stage: str) -> None:
    for resource_type in ("AWS::Logs::LogGroup", "AWS::KMS::Key"):
        # The flow logs, and the egress firewall's log of refused connections.
        resources = synthesized.resources(f"{stage}/Network", resource_type)
        assert resources
        for resource in resources.values():
            assert resource["DeletionPolicy"] == retained(stage), (stage, resource_type)


@pytest.mark.parametrize("stage", STAGES)
def test_default_security_group_is_restricted(synthesized: Synthesized, stage: str) -> None:
    restrict = only(synthesized.resources(f"{stage}/Network", "Custom::VpcRestrictDefaultSG"))["Properties"]
    vpc_id = next(iter(synthesized.resources(f"{stage}/Network", "AWS::EC2::VPC")))
    assert restrict["DefaultSecurityGroupId"] == {"Fn::GetAtt": [vpc_id, "DefaultSecurityGroup"]}


@pytest.mark.parametrize("stage", STAGES)
def test_gateway_endpoints_serve_the_private_route_tables(synthesized: Synthesized, stage: str) -> None:
    endpoints = props_of(synthesized, stage, "AWS::EC2::VPCEndpoint")
    gateways = [e for e in endpoints if e.get("VpcEndpointType", "Gateway") == "Gateway"]
    services = sorted(e["ServiceName"]["Fn::Join"][1][-1] for e in gateways)
    assert services == [".dynamodb", ".s3"]
    zones = len(settings(stage)["network"]["availability_zones"])
    assert all(len(e["RouteTableIds"]) == zones for e in gateways)


@pytest.mark.parametrize("stage", STAGES)
def test_interface_endpoints_per_config(synthesized: Synthesized, stage: str) -> None:
    wanted = settings(stage)["network"]["interface_endpoints"]
    endpoints = [
        e
        for e in props_of(synthesized, stage, "AWS::EC2::VPCEndpoint")
        if e.get("VpcEndpointType") == "Interface"
    ]
    assert sorted(e["ServiceName"] for e in endpoints) == sorted(
        f"com.amazonaws.{region(stage)}.{n}" for n in wanted
    )
    template = network(synthesized, stage)
    for endpoint in endpoints:
        assert endpoint["PrivateDnsEnabled"] is True
        [group] = endpoint["SecurityGroupIds"]
        path = template["Resources"][group["Fn::GetAtt"][0]]["Metadata"]["aws:cdk:path"]
        assert path.endswith("/NetworkPolicy/Endpoints/Resource")
        assert len(endpoint["SubnetIds"]) == len(settings(stage)["network"]["availability_zones"])


def _endpoint_policies(synthesized: Synthesized, stage: str) -> dict[str, Any]:
    """Each endpoint's policy (``None``: AWS's default, full access) by its service's short name."""
    policies = {}
    for endpoint in props_of(synthesized, stage, "AWS::EC2::VPCEndpoint"):
        name = endpoint["ServiceName"]
        short = name["Fn::Join"][1][-1] if isinstance(name, dict) else name.split(f".{region(stage)}", 1)[1]
        policies[short.lstrip(".")] = endpoint.get("PolicyDocument")
    return policies


@pytest.mark.parametrize("stage", STAGES)
def test_gateway_endpoints_take_this_accounts_principals_on_its_resources_only(
    synthesized: Synthesized, stage: str
) -> None:
    """Another account's keys (a hijacked agent's) cannot write to that account's bucket or
    table through them; S3 also serves ECR's image layers, by URLs ECR presigns."""
    account = settings(stage)["account"]
    policies = _endpoint_policies(synthesized, stage)
    perimeter = {
        "Sid": "ThisAccountsPrincipalsOnThisAccountsResources",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "*",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalAccount": account, "aws:ResourceAccount": account}},
    }
    layers = {
        "Sid": "EcrImageLayers",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::prod-{region(stage)}-starport-layer-bucket/*",
    }
    assert policies["dynamodb"]["Statement"] == [perimeter]
    assert policies["s3"]["Statement"] == [perimeter, layers]


@pytest.mark.parametrize("stage", STAGES)
def test_interface_endpoints_take_this_accounts_principals_only_where_the_service_takes_a_policy(
    synthesized: Synthesized, stage: str
) -> None:
    account = settings(stage)["account"]
    interface = {
        name: policy
        for name, policy in _endpoint_policies(synthesized, stage).items()
        if name not in ("s3", "dynamodb")
    }
    assert set(interface) == set(settings(stage)["network"]["interface_endpoints"])
    for name, policy in interface.items():
        if name in POLICY_TAKING_INTERFACE_ENDPOINTS:
            [statement] = policy["Statement"]
            assert statement["Condition"] == {"StringEquals": {"aws:PrincipalAccount": account}}, name
            assert (statement["Effect"], statement["Action"], statement["Resource"]) == ("Allow", "*", "*")
        else:
            assert policy is None, f"{name}: AWS documents no endpoint policy for it"


@pytest.mark.parametrize("stage", STAGES)
def test_every_endpoint_policy_fits_the_size_aws_takes(synthesized: Synthesized, stage: str) -> None:
    """An endpoint policy "cannot exceed 20,480 characters, including white space" (AWS
    PrivateLink guide, "Control access to VPC endpoints using endpoint policies"); the ARNs
    in it are as long as the account and Region make them."""
    for name, policy in _endpoint_policies(synthesized, stage).items():
        if policy is not None:
            assert len(json.dumps(policy, indent=2)) <= 20_480, name


def test_the_endpoints_left_at_full_access_are_named_with_a_reason() -> None:
    """An endpoint added to config/network.py's choices gets a policy, or a reason here."""
    assert set(INTERFACE_ENDPOINTS) - POLICY_TAKING_INTERFACE_ENDPOINTS == {
        "ecs",  # ECS developer guide: an endpoint policy "isn't currently supported"
        # In no shipped environment; their support is not checked here (docs/egress.md).
        "ssm",
        "events",
        "monitoring",
        "elasticfilesystem",
    }


@pytest.mark.parametrize("stage", stages_of_kind("production"))
def test_production_has_the_endpoints_that_keep_image_pulls_off_nat(stage: str) -> None:
    wanted = set(settings(stage)["network"]["interface_endpoints"])
    assert {"ecr.api", "ecr.dkr", "logs", "secretsmanager"} <= wanted


@pytest.mark.parametrize("stage", STAGES)
def test_stack_protection(synthesized: Synthesized, stage: str) -> None:
    # Termination protection lives in the stack's manifest entry, not the template.
    import json

    manifest = json.loads((synthesized.outdir / f"assembly-{stage}" / "manifest.json").read_text())
    [artifact] = [a for a in manifest["artifacts"].values() if a.get("displayName") == f"{stage}/Network"]
    assert artifact["properties"].get("terminationProtection", False) is is_production(stage)
    assert artifact["environment"] == f"aws://{settings(stage)['account']}/{region(stage)}"
