"""Where GuardDuty's security agent for Fargate (Amazon ECS) lives: one AWS account per Region, pinned.

With Runtime Monitoring and automated agent management on, GuardDuty adds its agent as a sidecar
to every new Fargate task; ECS pulls it with the task's *execution role* from the repository
``<account>.dkr.ecr.<region>.amazonaws.com/aws-guardduty-agent-fargate`` ("ECR Repository for
GuardDuty agent on AWS Fargate (Amazon ECS only)":
https://docs.aws.amazon.com/guardduty/latest/ug/ecs-runtime-agent-ecr-image-uri.html, read
2026-12-05; the execution-role permissions are on "Prerequisites for Fargate (Amazon ECS only)
support": https://docs.aws.amazon.com/guardduty/latest/ug/prereq-runtime-monitoring-ecs-support.html).

A Region missing here (ap-southeast-6 was not on the page that day) stops synth while
``audit.guardduty`` is not ``off``: add its row from the page.
"""

from __future__ import annotations

from dataclasses import dataclass

AGENT_REPOSITORY_NAME = "aws-guardduty-agent-fargate"
AGENT_REPOSITORY_PAGE = "https://docs.aws.amazon.com/guardduty/latest/ug/ecs-runtime-agent-ecr-image-uri.html"
AGENT_TABLE_DATE = "2026-12-05"

AGENT_ACCOUNTS: dict[str, str] = {
    # North America
    "us-east-1": "593207742271",
    "us-east-2": "307168627858",
    "us-west-1": "684579721401",
    "us-west-2": "733349766148",
    "ca-central-1": "354763396469",
    "ca-west-1": "339712888787",
    "mx-central-1": "311141559934",
    # South America
    "sa-east-1": "758426053663",
    # Europe
    "eu-central-1": "323658145986",
    "eu-central-2": "529164026651",
    "eu-west-1": "694911143906",
    "eu-west-2": "892757235363",
    "eu-west-3": "665651866788",
    "eu-south-1": "266869475730",
    "eu-south-2": "919611009337",
    "eu-north-1": "591436053604",
    # Middle East, Israel, Africa
    "me-south-1": "536382113932",
    "me-central-1": "000014521398",
    "il-central-1": "870907303882",
    "af-south-1": "197869348890",
    # Asia Pacific
    "ap-east-1": "258348409381",
    "ap-east-2": "259886477082",
    "ap-south-1": "251508486986",
    "ap-south-2": "950823858135",
    "ap-northeast-1": "533107202818",
    "ap-northeast-2": "914738172881",
    "ap-northeast-3": "273192626886",
    "ap-southeast-1": "174946120834",
    "ap-southeast-2": "005257825471",
    "ap-southeast-3": "510637619217",
    "ap-southeast-4": "251357961535",
    "ap-southeast-5": "156041399949",
    "ap-southeast-7": "054037130133",
}


@dataclass(frozen=True)
class GuardDutyAgentImage:
    """GuardDuty's Fargate agent repository in one Region (an AWS-owned account)."""

    region: str
    account: str

    @property
    def registry_host(self) -> str:
        """``593207742271.dkr.ecr.us-east-1.amazonaws.com``: the name ECS pulls from (TLS SNI)."""
        return f"{self.account}.dkr.ecr.{self.region}.amazonaws.com"

    @property
    def repository_arn(self) -> str:
        """The repository's ARN: the table holds commercial Regions only, so the partition is ``aws``."""
        return f"arn:aws:ecr:{self.region}:{self.account}:repository/{AGENT_REPOSITORY_NAME}"


def agent_image(region: str) -> GuardDutyAgentImage | None:
    """The Region's agent repository, or None when the pinned table does not have the Region."""
    account = AGENT_ACCOUNTS.get(region)
    return None if account is None else GuardDutyAgentImage(region=region, account=account)


def firewall_hosts(
    agent: GuardDutyAgentImage | None, interface_endpoints: tuple[str, ...]
) -> tuple[str, ...]:
    """The registry host the egress firewall must admit for the agent pull: none when GuardDuty
    is off, or when the VPC has an ``ecr.dkr`` interface endpoint (its private DNS zone answers
    ``*.dkr.ecr.<region>.amazonaws.com``, every account's registry, so the pull never reaches NAT)."""
    if agent is None or "ecr.dkr" in interface_endpoints:
        return ()
    return (agent.registry_host,)


# "CPU and memory limits" on the prerequisites page (read 2026-12-05): the most memory GuardDuty's
# agent takes of a Fargate task, by the task's CPU units; at 8 vCPU it depends on the memory too.
# The agent's memory comes out of the task's, so the task's containers must leave it free (AWS
# Batch user guide, "Job definitions on Fargate": "the memory limit must include the size of the
# GuardDuty security agent").
_AGENT_MEMORY_UP_TO_4_VCPU_MIB = 128
_AGENT_MEMORY_16_VCPU_MIB = 1024


def agent_memory_mib(cpu: int, memory_mib: int) -> int:
    """The memory (MiB) GuardDuty's agent may take of a Fargate task of ``cpu`` units and ``memory_mib``."""
    if cpu <= 4096:
        return _AGENT_MEMORY_UP_TO_4_VCPU_MIB
    if cpu <= 8192:
        return 256 if memory_mib <= 28 * 1024 else 512
    return _AGENT_MEMORY_16_VCPU_MIB


def guardduty_share(agent: GuardDutyAgentImage | None, cpu: int, memory_mib: int) -> int:
    """What a task's containers leave free for GuardDuty's agent: nothing where it does not join."""
    return 0 if agent is None else agent_memory_mib(cpu, memory_mib)
