"""What the cost estimate (``make cost``) assumes about each environment's use.

Read from ``cost`` of each environment in ``cdk.json`` (over ``outpost.defaults.cost``); every
key has a default (below), so an environment states only what differs. The estimate prints
each assumption beside the figure it drives, so a reader can see what a number rests on and
change it here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from config.errors import ConfigError
from config.reader import Section
from config.registry import AGENTS
from config.schema import Group, integer


@dataclass(frozen=True)
class CostAssumptions:
    # The API: requests through the load balancer and the web ACL, and their size.
    requests_per_month: int = 1_000_000
    kb_per_request: int = 10
    # Agent jobs: how many, how long, which agent (percent of dispatches each).
    dispatches_per_month: int = 1_500
    minutes_per_dispatch: int = 15
    agent_mix_percent: tuple[tuple[str, int], ...] = tuple((agent, 100 // len(AGENTS)) for agent in AGENTS)
    # Network: what agents fetch through NAT (clones, packages, model APIs), everything else
    # through NAT, what leaves AWS for the internet, what the interface endpoints carry.
    nat_mb_per_dispatch: int = 500
    nat_gb_other: int = 20
    internet_egress_gb: int = 20
    endpoint_gb: int = 10
    # DNS queries the VPC's resolver answers through the DNS firewall: an agent task's (clones,
    # packages, model APIs, AWS), and everything else's in a month (control plane, functions).
    dns_queries_per_dispatch: int = 2_000
    dns_queries_other: int = 5_000_000
    # Storage: workspaces (EFS) and what each dispatch reads and writes there, artifacts (S3),
    # images (ECR), tables (DynamoDB).
    workspaces_gb: int = 50
    workspace_mb_written_per_dispatch: int = 200
    workspace_mb_read_per_dispatch: int = 400
    artifacts_mb_per_dispatch: int = 5
    s3_writes_per_dispatch: int = 10
    s3_reads_per_dispatch: int = 20
    image_storage_gb: int = 10
    dynamodb_gb: int = 1
    dynamodb_writes_per_dispatch: int = 20
    dynamodb_reads_per_request: int = 2
    # Events and logs.
    events_per_dispatch: int = 5
    logs_ingested_gb: int = 20
    # Management events CloudTrail records: priced only for a second trail in one account.
    management_events_per_month: int = 1_000_000

    def share(self, agent: str) -> float:
        """The fraction of dispatches that run ``agent``."""
        return dict(self.agent_mix_percent)[agent] / 100

    def setting(self, name: str) -> str:
        """``dispatches_per_month = 1500``: how the estimate shows an assumption beside a figure."""
        value = getattr(self, name)
        if name == "agent_mix_percent":
            value = ", ".join(f"{agent} {percent}" for agent, percent in value)
        return f"{name} = {value}"


_INTEGER_SETTINGS = tuple(f.name for f in fields(CostAssumptions) if f.name != "agent_mix_percent")
# Large enough for any real use, small enough that a typo of a few zeros is caught.
_MAXIMUM = 10**12
_MEANINGS = {
    "requests_per_month": "API requests through the load balancer and the web ACL",
    "kb_per_request": "request plus response, for the load balancer's processed bytes",
    "dispatches_per_month": "agent jobs started",
    "minutes_per_dispatch": "how long an agent task runs",
    "nat_mb_per_dispatch": "what an agent fetches through NAT: clones, packages, model APIs",
    "nat_gb_other": "everything else through NAT in a month",
    "internet_egress_gb": "data out to the internet in a month",
    "endpoint_gb": "data through the interface endpoints in a month",
    "dns_queries_per_dispatch": "DNS queries an agent task makes (each goes through the DNS firewall)",
    "dns_queries_other": "DNS queries of everything else in a month: control plane, functions",
    "workspaces_gb": "workspaces kept on EFS",
    "workspace_mb_written_per_dispatch": "EFS elastic-throughput writes of a dispatch",
    "workspace_mb_read_per_dispatch": "EFS elastic-throughput reads of a dispatch",
    "artifacts_mb_per_dispatch": "artifacts a dispatch leaves in S3 (kept `data.artifacts_expiration_days`)",
    "s3_writes_per_dispatch": "S3 object writes of a dispatch (also CloudTrail data events where recorded)",
    "s3_reads_per_dispatch": "S3 object reads of a dispatch (also CloudTrail data events where recorded)",
    "image_storage_gb": "images kept in ECR",
    "dynamodb_gb": "data in the tables",
    "dynamodb_writes_per_dispatch": "write request units of a dispatch",
    "dynamodb_reads_per_request": "read request units of an API request",
    "events_per_dispatch": "events the control plane publishes to its bus",
    "logs_ingested_gb": "CloudWatch Logs ingested in a month: tasks, flow logs, trail, WAF, functions",
    "management_events_per_month": "management events a second trail in one account pays for",
}
_RULES = {
    "minutes_per_dispatch": (
        "at least 1 with dispatches",
        "at most the worker task timeout (`service.control_plane.worker_task_timeout_seconds`)",
    ),
}

COST = Group(
    "cost",
    "What `make cost` and the security review assume about the environment's use; shown beside each figure.",
    (
        *(
            integer(
                name,
                _MEANINGS[name],
                default=getattr(CostAssumptions(), name),
                minimum=0,
                maximum=_MAXIMUM,
                rules=_RULES.get(name, ()),
            )
            for name in _INTEGER_SETTINGS
        ),
        Group(
            "agent_mix_percent",
            "The share of dispatches of each agent, in percent (default: 20 each); an agent left out "
            "has 0; the shares add up to 100.",
            (
                integer(
                    "<agent>", "percent of dispatches that run this agent", default=0, minimum=0, maximum=100
                ),
            ),
            names=AGENTS,
            optional=True,
        ),
    ),
    optional=True,
)


def parse_cost(section: Section, *, worker_task_timeout_seconds: int) -> CostAssumptions:
    values: dict[str, Any] = {name: section.integer(name) for name in _INTEGER_SETTINGS}
    if values["dispatches_per_month"] > 0 and values["minutes_per_dispatch"] < 1:
        raise ConfigError(
            section.key("minutes_per_dispatch"),
            values["minutes_per_dispatch"],
            "a dispatch runs at least a minute",
        )
    timeout_minutes = worker_task_timeout_seconds / 60
    if values["minutes_per_dispatch"] > timeout_minutes:
        raise ConfigError(
            section.key("minutes_per_dispatch"),
            values["minutes_per_dispatch"],
            f"must be at most the worker task timeout ({timeout_minutes:g} minutes, "
            "service.control_plane.worker_task_timeout_seconds)",
        )
    values["agent_mix_percent"] = _agent_mix(section)
    section.done()
    return CostAssumptions(**values)


def _agent_mix(section: Section) -> tuple[tuple[str, int], ...]:
    written = section.has("agent_mix_percent")
    mix = section.section("agent_mix_percent")
    if not written:
        return CostAssumptions().agent_mix_percent
    result = tuple((agent, mix.integer(agent)) for agent in AGENTS)
    mix.done()
    total = sum(percent for _, percent in result)
    if total != 100:
        raise ConfigError(section.key("agent_mix_percent"), dict(result), f"must add up to 100, not {total}")
    return result
