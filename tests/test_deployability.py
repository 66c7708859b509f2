"""What a real ``cdk deploy`` into a fresh account would trip over, checked in the templates.

Each test here stands for a failure (or a misbehaviour) that synth and the rule packs do not
see, because only CloudFormation or the service would refuse it at deploy time.
"""

from __future__ import annotations

from typing import Any

import pytest

from config import ConfigError, load_environments
from tests.conftest import STAGES
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


def _one_account(**prod_settings: str) -> dict[str, Any]:
    """The shipped environments, prod moved into dev's account, with ``prod_settings``
    (``"data.event_bus_name": ...``) applied to prod."""
    context = shipped_context()
    dev, prod = (context["outpost"]["environments"][name] for name in ("dev", "prod"))
    prod["account"] = dev["account"]
    prod["ingress"]["certificate_arn"] = prod["ingress"]["certificate_arn"].replace(
        ":222222222222:", f":{dev['account']}:"
    )
    for setting, value in prod_settings.items():
        section, key = setting.split(".")
        prod[section][key] = value
    return context


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("registry.repository_prefix", "outpost-dev"),  # dev's prefix
        ("data.event_bus_name", "outpost-events"),  # dev's bus (and prod's shipped one)
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
    assert caught.value.key == f"outpost.environments.prod.{setting}"
    assert caught.value.value == value
    assert f"is also the {setting.split('.')[1]} of environment dev" in message
    assert "same account 111111111111 and region us-east-1" in message


def test_environments_of_one_account_with_their_own_names_are_accepted() -> None:
    context = _one_account(**{"data.event_bus_name": "outpost-prod-events"})
    envs = {env.name: env for env in load_environments(context.get)}
    assert envs["dev"].account == envs["prod"].account


def test_environments_of_different_accounts_may_share_the_bus_name() -> None:
    """The shipped setting: the control plane's default bus name in both accounts."""
    envs = {env.name: env for env in load_environments(shipped_context().get)}
    assert envs["dev"].data.event_bus_name == envs["prod"].data.event_bus_name == "outpost-events"
    assert envs["dev"].account != envs["prod"].account
