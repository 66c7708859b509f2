"""What GuardDuty's Fargate agent needs from an environment, as its settings say it should be."""

from __future__ import annotations

from typing import Any

from config.guardduty import AGENT_ACCOUNTS, AGENT_REPOSITORY_NAME
from tests.environments import config_of


def agent_repository_arn(stage: str) -> str | None:
    """GuardDuty's agent repository of the stage's region, or None where GuardDuty is off."""
    env = config_of(stage)
    if env.audit.guardduty == "off":
        return None
    return f"arn:aws:ecr:{env.region}:{AGENT_ACCOUNTS[env.region]}:repository/{AGENT_REPOSITORY_NAME}"


def agent_pull_statements(stage: str) -> list[dict[str, Any]]:
    """The execution roles' statement for the agent sidecar's image (none where GuardDuty is off)."""
    arn = agent_repository_arn(stage)
    if arn is None:
        return []
    return [
        {
            "Sid": "PullGuardDutyAgent",
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": arn,
        }
    ]
