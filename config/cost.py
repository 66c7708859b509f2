"""What the cost estimate (``make cost``) assumes about each environment's use.

Read from ``outpost.cost.<environment>`` in ``cdk.json``; every key has a default (below) and
an environment states only what differs. The estimate prints each assumption beside the
figure it drives, so a reader can see what a number rests on and change it here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from config.environment import CONTEXT_KEY, EnvironmentConfig
from config.errors import ConfigError
from config.reader import Section
from config.registry import AGENTS

COST_KEY = "cost"


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


def parse_cost_assumptions(section: Section, *, environment: EnvironmentConfig) -> CostAssumptions:
    defaults = CostAssumptions()
    values: dict[str, Any] = {
        name: section.integer(name, getattr(defaults, name), minimum=0, maximum=_MAXIMUM)
        for name in _INTEGER_SETTINGS
    }
    if values["dispatches_per_month"] > 0 and values["minutes_per_dispatch"] < 1:
        raise ConfigError(
            section.key("minutes_per_dispatch"),
            values["minutes_per_dispatch"],
            "a dispatch runs at least a minute",
        )
    timeout_minutes = environment.service.control_plane.worker_task_timeout_seconds / 60
    if values["minutes_per_dispatch"] > timeout_minutes:
        raise ConfigError(
            section.key("minutes_per_dispatch"),
            values["minutes_per_dispatch"],
            f"must be at most the worker task timeout ({timeout_minutes:g} minutes, "
            "service.control_plane.worker_task_timeout_seconds)",
        )
    values["agent_mix_percent"] = _agent_mix(section, defaults.agent_mix_percent)
    section.done()
    return CostAssumptions(**values)


def _agent_mix(section: Section, default: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
    if not section.has("agent_mix_percent"):
        section.raw("agent_mix_percent", None)
        return default
    mix = section.section("agent_mix_percent")
    result = tuple((agent, mix.integer(agent, 0, minimum=0, maximum=100)) for agent in AGENTS)
    mix.done()
    total = sum(percent for _, percent in result)
    if total != 100:
        raise ConfigError(section.key("agent_mix_percent"), dict(result), f"must add up to 100, not {total}")
    return result


def parse_cost(
    data: Any, *, environments: Sequence[EnvironmentConfig], environment_names: Sequence[str]
) -> dict[str, CostAssumptions]:
    """The assumptions of each environment in ``environments`` (defaults where ``cdk.json`` says nothing).

    ``environment_names`` are every configured environment: a block for one of them is valid
    even when only some environments were parsed (``-c outpost:only=dev``).
    """
    root = Section({} if data is None else data, f"{CONTEXT_KEY}.{COST_KEY}")
    for name in _as_mapping(data):
        if name not in environment_names:
            raise ConfigError(
                root.key(name), "{...}", f"is not a configured environment ({', '.join(environment_names)})"
            )
    result = {
        env.name: parse_cost_assumptions(root.section(env.name, {}), environment=env) for env in environments
    }
    for name in _as_mapping(data):
        root.raw(name, None)
    root.done()
    return result


def _as_mapping(data: Any) -> Mapping[str, Any]:
    return data if isinstance(data, Mapping) else {}


def load_cost(
    get_context: Callable[[str], Any], environments: Sequence[EnvironmentConfig]
) -> dict[str, CostAssumptions]:
    root = get_context(CONTEXT_KEY)
    data = root.get(COST_KEY) if isinstance(root, Mapping) else None
    names = list(root.get("environments", {})) if isinstance(root, Mapping) else []
    return parse_cost(data, environments=environments, environment_names=names)
