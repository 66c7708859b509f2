"""What a real ``cdk deploy`` into a fresh account would trip over, checked in the templates.

Each test here stands for a failure (or a misbehaviour) that synth and the rule packs do not
see, because only CloudFormation or the service would refuse it at deploy time.
"""

from __future__ import annotations

from typing import Any

import pytest

from config import ConfigError, load_environments
from tests.environments import SETTINGS, STAGES, of_kind
from tests.settings import set_path
from tests.synth import Synthesized, shipped_context

SECURITY_GROUP_TYPES = (
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
)


@pytest.mark.parametrize("stage", STAGES)
def test_no_security_group_rule_outside_the_network_stack(synthesized: Synthesized, stage: str) -> None:
    """A rule the NetworkPolicy holds must not be created a second time by another stack.

    EC2 refuses a rule that already exists (``InvalidPermission.Duplicate``), so a second
    ``AWS::EC2::SecurityGroupEgress`` for the load balancer's rule to the control plane
    (what CDK adds when a target registers with a mutable group) fails the Service stack's
    deploy; and deleting that stack would revoke the Network stack's rule with it.
    """
    outside = {
        f"{path}/{logical_id}": resource["Type"]
        for path, template in synthesized.templates.items()
        if path.startswith(f"{stage}/") and path != f"{stage}/Network"
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] in SECURITY_GROUP_TYPES
    }
    assert outside == {}


DEV, PROD = of_kind("development"), of_kind("production")


def _one_account(**prod_settings: str) -> dict[str, Any]:
    """The shipped environments, the production one moved into the development one's account,
    with ``prod_settings`` (``"data.event_bus_name": ...``) applied to it."""
    context = shipped_context()
    dev, prod = (context["outpost"]["environments"][name] for name in (DEV, PROD))
    certificate = prod["ingress"]["certificate_arn"]
    prod["ingress"]["certificate_arn"] = certificate.replace(f":{prod['account']}:", f":{dev['account']}:")
    prod["account"] = dev["account"]
    for setting, value in prod_settings.items():
        set_path(prod, setting, value)
    return context


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("registry.repository_prefix", SETTINGS[DEV]["registry"]["repository_prefix"]),
        ("data.event_bus_name", "outpost-events"),  # dev's bus (and prod's shipped one, the default)
    ],
)
def test_environments_of_one_account_must_not_share_a_name(setting: str, value: str) -> None:
    """ECR repository and event bus names are unique per account and region: the second
    environment's deploy would fail with "already exists". The other fixed names (trail,
    cluster, secrets, task families, log groups, dashboard, rule) carry the environment's name.
    """
    own_names = {"registry.repository_prefix": "outpost-prod", "data.event_bus_name": "outpost-prod-events"}
    context = _one_account(**{**own_names, setting: value})
    with pytest.raises(ConfigError) as caught:
        load_environments(context.get)
    message = str(caught.value)
    assert "\n" not in message
    assert caught.value.key == f"outpost.environments.{PROD}.{setting}"
    assert caught.value.value == value
    assert f"is also the {setting.split('.')[1]} of environment {DEV}" in message
    assert f"same account {SETTINGS[DEV]['account']} and region {SETTINGS[DEV]['region']}" in message


def test_environments_of_one_account_with_their_own_names_are_accepted() -> None:
    context = _one_account(**{"data.event_bus_name": "outpost-prod-events"})
    envs = {env.name: env for env in load_environments(context.get)}
    assert envs[DEV].account == envs[PROD].account


def test_environments_of_different_accounts_may_share_the_bus_name() -> None:
    """The shipped setting: the control plane's default bus name in both accounts."""
    envs = {env.name: env for env in load_environments(shipped_context().get)}
    assert envs[DEV].data.event_bus_name == envs[PROD].data.event_bus_name == "outpost-events"
    assert envs[DEV].account != envs[PROD].account


def _all(synthesized: Synthesized, resource_type: str) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """``stack path/logical id`` -> (resource, its template), for every resource of a type."""
    return {
        f"{path}/{logical_id}": (resource, template)
        for path, template in synthesized.templates.items()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def test_ecs_services_use_capacity_providers_and_no_launch_type(synthesized: Synthesized) -> None:
    """ECS refuses a service with both a capacity provider strategy and a launch type."""
    services = _all(synthesized, "AWS::ECS::Service")
    assert services
    for path, (service, _) in services.items():
        props = service["Properties"]
        assert "LaunchType" not in props, path
        assert props["CapacityProviderStrategy"], path


def test_ecs_services_wait_for_their_listener_rules_and_capacity_providers(synthesized: Synthesized) -> None:
    """A service registers with a target group only once a rule ties it to the load balancer,
    and can use FARGATE only once the cluster's capacity-provider association exists."""
    for path, (service, template) in _all(synthesized, "AWS::ECS::Service").items():
        depends_on = set(service.get("DependsOn", []))
        resources = template["Resources"]
        target_groups = {lb["TargetGroupArn"]["Ref"] for lb in service["Properties"]["LoadBalancers"]}
        rules = {
            logical_id
            for logical_id, r in resources.items()
            if r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
            and any(
                a.get("TargetGroupArn", {}).get("Ref") in target_groups for a in r["Properties"]["Actions"]
            )
        }
        associations = {
            logical_id
            for logical_id, r in resources.items()
            if r["Type"] == "AWS::ECS::ClusterCapacityProviderAssociations"
        }
        assert rules, path
        assert rules <= depends_on, path
        assert associations, path
        assert associations <= depends_on, path


def test_efs_volumes_with_iam_authorization_encrypt_in_transit(synthesized: Synthesized) -> None:
    """ECS refuses EFS IAM authorization without transit encryption."""
    volumes = [
        (path, volume["EFSVolumeConfiguration"])
        for path, (task, _) in _all(synthesized, "AWS::ECS::TaskDefinition").items()
        for volume in task["Properties"].get("Volumes", [])
        if "EFSVolumeConfiguration" in volume
    ]
    assert volumes
    for path, efs in volumes:
        if efs.get("AuthorizationConfig", {}).get("IAM") == "ENABLED":
            assert efs["TransitEncryption"] == "ENABLED", path


def test_object_lock_buckets_are_versioned(synthesized: Synthesized) -> None:
    """S3 Object Lock only exists on a versioned bucket, and only from its creation."""
    locked = {
        path: bucket["Properties"]
        for path, (bucket, _) in _all(synthesized, "AWS::S3::Bucket").items()
        if bucket["Properties"].get("ObjectLockEnabled")
    }
    assert locked
    for path, props in locked.items():
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, path
        assert props["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled", path


def test_kms_keys_of_log_groups_let_cloudwatch_logs_use_them(synthesized: Synthesized) -> None:
    """CloudWatch Logs refuses to create a group with a key that does not grant it its use."""
    checked = 0
    for path, (group, template) in _all(synthesized, "AWS::Logs::LogGroup").items():
        key_ref = group["Properties"].get("KmsKeyId")
        if key_ref is None:
            continue
        (key_id, _) = key_ref["Fn::GetAtt"]
        statements = template["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
        logs = [
            s
            for s in statements
            if s["Effect"] == "Allow"
            and s.get("Principal", {}).get("Service")
            == {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
        ]
        assert logs, path
        assert {"kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"} <= set(logs[0]["Action"]), path
        checked += 1
    assert checked


def test_vpc_functions_wait_for_their_network_interface_permissions(synthesized: Synthesized) -> None:
    """Lambda checks at creation that a VPC function's role may create network interfaces."""
    functions = {
        path: (function, template)
        for path, (function, template) in _all(synthesized, "AWS::Lambda::Function").items()
        if "VpcConfig" in function["Properties"]
    }
    assert functions
    for path, (function, template) in functions.items():
        role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
        policies = [
            logical_id
            for logical_id in function.get("DependsOn", [])
            if template["Resources"][logical_id]["Type"] == "AWS::IAM::ManagedPolicy"
            and {"Ref": role_id} in template["Resources"][logical_id]["Properties"]["Roles"]
        ]
        actions = {
            action
            for logical_id in policies
            for statement in template["Resources"][logical_id]["Properties"]["PolicyDocument"]["Statement"]
            for action in (
                statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            )
        }
        assert {
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DeleteNetworkInterface",
        } <= actions, path


def _intrinsics_under(value: Any, name: str) -> list[Any]:
    """Every ``{name: ...}`` intrinsic anywhere inside ``value``."""
    found = []
    if isinstance(value, dict):
        if name in value:
            found.append(value[name])
        for inner in value.values():
            found += _intrinsics_under(inner, name)
    elif isinstance(value, list):
        for inner in value:
            found += _intrinsics_under(inner, name)
    return found


def test_no_cross_stack_reference_is_split(synthesized: Synthesized) -> None:
    """CloudFormation documents ``Fn::GetStackOutput`` in resource properties, outputs and inside
    ``Fn::Join``/``Fn::If``/``Fn::Select``/``Fn::Sub``/``Fn::Base64``, not inside ``Fn::Split``
    (cfn-lint E1022). Image URIs name their repository instead, and alarms read the load
    balancer's and target group's full names rather than splitting an ARN."""
    split = {
        (stack, logical_id)
        for stack, template in synthesized.templates.items()
        for logical_id, resource in template["Resources"].items()
        for arguments in _intrinsics_under(resource, "Fn::Split")
        if _intrinsics_under(arguments, "Fn::GetStackOutput")
    }
    assert split == set()
