"""What the Audit stack tests share: the trail's ARN, finding the stack's resources."""

from __future__ import annotations

from typing import Any

from tests import templates
from tests.environments import name_of
from tests.synth import Synthesized
from tests.templates import account, region

CLOUDTRAIL = {"Service": "cloudtrail.amazonaws.com"}


def only(synthesized: Synthesized, stage: str, resource_type: str) -> tuple[str, dict[str, Any]]:
    return templates.only(synthesized, f"{stage}/Audit", resource_type)


def trail_arn(stage: str) -> str:
    return f"arn:aws:cloudtrail:{region(stage)}:{account(stage)}:trail/outpost-{name_of(stage)}-audit"


def audit(synthesized: Synthesized, stage: str) -> dict[str, Any]:
    return synthesized.template(f"{stage}/Audit")


def trail(synthesized: Synthesized, stage: str) -> dict[str, Any]:
    return only(synthesized, stage, "AWS::CloudTrail::Trail")[1]
