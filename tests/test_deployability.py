"""What a real ``cdk deploy`` into a fresh account would trip over, checked in the templates.

Each test here stands for a failure (or a misbehaviour) that synth and the rule packs do not
see, because only CloudFormation or the service would refuse it at deploy time.
"""

from __future__ import annotations

import pytest

from tests.conftest import STAGES
from tests.synth import Synthesized

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
