"""Settings of the Service stack: the control-plane service, the dispatch janitor, the agents."""

from __future__ import annotations

from dataclasses import dataclass

from config.agents import (
    AGENTS_GROUP,
    ARCHITECTURES,
    MAX_STOP_TIMEOUT_SECONDS,
    PLATFORM_VERSIONS,
    SPOT_MINIMUM_PLATFORM,
    fargate_size,
    image_tag,
    image_tag_setting,
    parse_agents,
    platform_at_least,
    size_settings,
)
from config.agents import AgentConfig as AgentConfig
from config.common import log_retention, log_retention_setting
from config.errors import ConfigError
from config.guardduty import GuardDutyAgentImage, guardduty_share
from config.janitor import JANITOR, parse_janitor
from config.janitor import JanitorConfig as JanitorConfig
from config.reader import Section
from config.schema import Group, boolean, integer, string
from config.slots import SLOTS, parse_slots
from config.slots import SlotsConfig as SlotsConfig

# Idle agent tasks the control plane keeps started per agent (0: no warm pool); each holds a
# private IP and costs a running task, so it is bounded well below the subnet capacity.
MAX_WARM_POOL_SIZE = 100
# GitHub's ids are positive integers; the bound only refuses a typo that JSON would accept.
MAX_GITHUB_ID = 2**53
MAX_TASKS = 100
PRODUCTION_MIN_TASKS = 2
# The release watch (constructs/release_alarms.py): its alarms evaluate 5-minute periods, and the
# bake after a rolling deployment spans their evaluation window, from 10 minutes (the p95 alarm
# needs two periods) to an hour (every release holds `make deploy` that long).
ALARM_PERIOD_MINUTES = 5
BAKE_MINUTES = (10, 60)
# Settings that were retired: reading one is an error that says why (they are declared nowhere).
RETIRED_DESIRED_COUNT = (
    "is no longer a setting: autoscaling owns the running count between min_tasks and "
    "max_tasks, and a count in the template would reset it on every deploy; delete the key"
)

CONTROL_PLANE = Group(
    "control_plane",
    "The control-plane Fargate service and its autoscaling.",
    (
        image_tag_setting("the control-plane image's tag"),
        boolean(
            "bootstrap",
            "`true` only for the first deploy into an empty registry: the service is created with 0 tasks "
            "and its scaling pinned at 0 (docs/deploy.md, *Deploy order and the first deploy*)",
            rules=(
                "synth warns while it is set (on a running environment it is an outage)",
                "`make deploy` asks for confirmation (`CONFIRM_BOOTSTRAP=<env>` without a terminal)",
            ),
        ),
        *size_settings("a control-plane task"),
        integer(
            "min_tasks",
            "autoscaling's lower bound",
            minimum=1,
            rules=(f"at least {PRODUCTION_MIN_TASKS} in a production environment (one per zone)",),
        ),
        integer("max_tasks", "autoscaling's upper bound", maximum=MAX_TASKS, rules=("at least `min_tasks`",)),
        integer("cpu_target_percent", "CPU target tracking", minimum=10, maximum=90),
        integer(
            "requests_per_target",
            "load balancer requests per task target tracking",
            minimum=1,
            maximum=100_000,
        ),
        integer(
            "scale_in_cooldown_seconds", "autoscaling cooldown after a scale-in", minimum=0, maximum=3600
        ),
        integer(
            "scale_out_cooldown_seconds", "autoscaling cooldown after a scale-out", minimum=0, maximum=3600
        ),
        integer(
            "worker_task_timeout_seconds",
            "how long an agent task may run (passed to the API)",
            minimum=60,
            maximum=86_400,
        ),
        integer(
            "warm_pool_size",
            "idle tasks of each agent the control plane keeps started (`OUTPOST_WARM_POOL_SIZE`; 0 = none)",
            minimum=0,
            maximum=MAX_WARM_POOL_SIZE,
        ),
        integer(
            "github_app_id",
            "the GitHub App the control plane mints each dispatch's repository token as "
            "(`OUTPOST_GITHUB_APP_ID`; docs/credentials.md); its private key is the secret "
            "`outpost/<env>/github-app-private-key`",
            minimum=1,
            maximum=MAX_GITHUB_ID,
        ),
        integer(
            "github_app_installation_id",
            "that App's installation on the organisation or account whose repositories agents work on "
            "(`OUTPOST_GITHUB_APP_INSTALLATION_ID`)",
            minimum=1,
            maximum=MAX_GITHUB_ID,
        ),
        integer(
            "bake_minutes",
            "how long `make deploy` watches a rolling control-plane deployment on the release alarms "
            "before it counts as done (constructs/release_alarms.py)",
            minimum=BAKE_MINUTES[0],
            maximum=BAKE_MINUTES[1],
            rules=(f"a multiple of {ALARM_PERIOD_MINUTES} (the release alarms' period in minutes)",),
        ),
    ),
)

# The credential-injecting proxy beside every agent (docs/credentials.md): a container of each
# agent task with a hard memory limit of its own, taken from the task's memory.
MIN_AGENT_MEMORY = 256
CREDENTIAL_PROXY = Group(
    "credential_proxy",
    "The credential-injecting proxy container in every agent task: it alone holds the provider's "
    "API key (docs/credentials.md).",
    (
        image_tag_setting("the credential-proxy image's tag"),
        integer(
            "memory",
            "hard memory limit (MiB) of the proxy container, taken from each agent task's memory",
            minimum=32,
            maximum=1024,
            rules=(
                f"leaves every agent's container at least {MIN_AGENT_MEMORY} MiB, after GuardDuty's agent's "
                "share where `audit.guardduty` is not `off`",
            ),
        ),
    ),
)

SERVICE = Group(
    "service",
    "The Service stack: the control plane, the dispatch janitor, the agents' task definitions.",
    (
        CONTROL_PLANE,
        JANITOR,
        SLOTS,
        AGENTS_GROUP,
        CREDENTIAL_PROXY,
        string(
            "agent_architecture",
            "CPU architecture of the agent images and task definitions",
            choices=ARCHITECTURES,
        ),
        string(
            "agent_platform_version",
            "Fargate platform version the control plane launches agents on "
            "(`OUTPOST_AGENT_PLATFORM_VERSION`; `LATEST` is 1.4.0)",
            choices=PLATFORM_VERSIONS,
            rules=(
                "with `agents_use_spot`: "
                + ", ".join(
                    f"{arch} on {version} or later" for arch, version in SPOT_MINIMUM_PLATFORM.items()
                ),
            ),
        ),
        boolean("agents_use_spot", "launch agents on Fargate Spot"),
        integer(
            "agent_stop_timeout_seconds",
            "grace between SIGTERM and SIGKILL when an agent task is stopped",
            minimum=2,
            maximum=MAX_STOP_TIMEOUT_SECONDS,
        ),
        log_retention_setting("log_retention_days", "retention of the control-plane and agent logs"),
    ),
)


@dataclass(frozen=True)
class ControlPlaneConfig:
    image_tag: str
    bootstrap: bool
    cpu: int
    memory: int
    min_tasks: int
    max_tasks: int
    cpu_target_percent: int
    requests_per_target: int
    scale_in_cooldown_seconds: int
    scale_out_cooldown_seconds: int
    worker_task_timeout_seconds: int
    warm_pool_size: int
    bake_minutes: int
    github_app_id: int
    github_app_installation_id: int

    @property
    def fixed_desired_count(self) -> int | None:
        """The DesiredCount the template states: 0 while bootstrapping (no image to pull yet),
        otherwise none, so that a deploy never resets the count autoscaling has set."""
        return 0 if self.bootstrap else None

    @property
    def scaling_bounds(self) -> tuple[int, int]:
        """(min, max) for autoscaling: pinned at zero while bootstrapping."""
        return (0, 0) if self.bootstrap else (self.min_tasks, self.max_tasks)


@dataclass(frozen=True)
class CredentialProxyConfig:
    image_tag: str
    memory: int


@dataclass(frozen=True)
class ServiceConfig:
    control_plane: ControlPlaneConfig
    janitor: JanitorConfig
    # The leased-slot pool of workspaces (docs/data.md, "Leased slots").
    slots: SlotsConfig
    agents: tuple[AgentConfig, ...]
    credential_proxy: CredentialProxyConfig
    # The agent images' CPU architecture (the control plane's image is ARM64), and the Fargate
    # platform version the control plane launches agent tasks on.
    agent_architecture: str
    agent_platform_version: str
    agents_use_spot: bool
    agent_stop_timeout_seconds: int
    log_retention_days: int

    def agent(self, name: str) -> AgentConfig:
        return next(a for a in self.agents if a.name == name)

    @property
    def agent_capacity_provider(self) -> str:
        return "FARGATE_SPOT" if self.agents_use_spot else "FARGATE"


def parse_control_plane(section: Section, *, production: bool) -> ControlPlaneConfig:
    tag = image_tag(section)
    bootstrap = section.boolean("bootstrap")
    size = fargate_size(section)
    min_tasks = section.integer("min_tasks")
    if production and min_tasks < PRODUCTION_MIN_TASKS:
        raise ConfigError(
            section.key("min_tasks"),
            min_tasks,
            f"a production environment runs at least {PRODUCTION_MIN_TASKS} tasks (one per zone)",
        )
    max_tasks = section.integer("max_tasks")
    if max_tasks < min_tasks:
        raise ConfigError(section.key("max_tasks"), max_tasks, f"must be at least min_tasks ({min_tasks})")
    if section.has("desired_count"):
        raise ConfigError(
            section.key("desired_count"), section.written("desired_count"), RETIRED_DESIRED_COUNT
        )
    config = ControlPlaneConfig(
        image_tag=tag,
        bootstrap=bootstrap,
        cpu=size.cpu,
        memory=size.memory,
        min_tasks=min_tasks,
        max_tasks=max_tasks,
        cpu_target_percent=section.integer("cpu_target_percent"),
        requests_per_target=section.integer("requests_per_target"),
        scale_in_cooldown_seconds=section.integer("scale_in_cooldown_seconds"),
        scale_out_cooldown_seconds=section.integer("scale_out_cooldown_seconds"),
        worker_task_timeout_seconds=section.integer("worker_task_timeout_seconds"),
        warm_pool_size=section.integer("warm_pool_size"),
        bake_minutes=bake_minutes(section),
        github_app_id=section.integer("github_app_id"),
        github_app_installation_id=section.integer("github_app_installation_id"),
    )
    section.done()
    return config


def bake_minutes(section: Section) -> int:
    value = section.integer("bake_minutes")
    if value % ALARM_PERIOD_MINUTES:
        raise ConfigError(
            section.key("bake_minutes"),
            value,
            f"must be a multiple of {ALARM_PERIOD_MINUTES} (the release alarms' period in minutes)",
        )
    return value


def agent_container_memory(
    agent: AgentConfig, proxy_memory: int, guardduty: GuardDutyAgentImage | None
) -> int:
    """The agent container's hard limit (MiB): its task's memory less the proxy's, and less
    GuardDuty's agent's where it joins the task (it takes its memory from the task's). Fargate
    refuses containers whose hard limits add up to more than the task's memory."""
    return agent.memory - proxy_memory - guardduty_share(guardduty, agent.cpu, agent.memory)


def parse_credential_proxy(
    section: Section, agents: tuple[AgentConfig, ...], *, guardduty: GuardDutyAgentImage | None
) -> CredentialProxyConfig:
    """``guardduty``: GuardDuty's agent, where it joins every task (``audit.guardduty`` not ``off``)."""
    tag = image_tag(section)
    memory = section.integer("memory")
    for agent in agents:
        sidecar = guardduty_share(guardduty, agent.cpu, agent.memory)
        left = agent_container_memory(agent, memory, guardduty)
        if left < MIN_AGENT_MEMORY:
            besides = f", less GuardDuty's agent's {sidecar}" if sidecar else ""
            raise ConfigError(
                section.key("memory"),
                memory,
                f"leaves the {agent.name} agent's container {left} MiB of its task's {agent.memory}"
                f"{besides}; it needs at least {MIN_AGENT_MEMORY}",
            )
    config = CredentialProxyConfig(image_tag=tag, memory=memory)
    section.done()
    return config


def parse_service(
    section: Section, *, production: bool, guardduty: GuardDutyAgentImage | None = None
) -> ServiceConfig:
    """``guardduty``: GuardDuty's Fargate agent joins every task (``audit.guardduty`` not ``off``)."""
    control_plane = parse_control_plane(section.section("control_plane"), production=production)
    janitor = parse_janitor(section.section("janitor"), production=production)
    slots = parse_slots(section.section("slots"))
    agents = parse_agents(section.section("agents"))
    credential_proxy = parse_credential_proxy(
        section.section("credential_proxy"), agents, guardduty=guardduty
    )
    architecture = section.string("agent_architecture")
    platform = section.string("agent_platform_version")
    use_spot = section.boolean("agents_use_spot")
    needed = SPOT_MINIMUM_PLATFORM[architecture]
    if use_spot and not platform_at_least(platform, needed):
        raise ConfigError(
            section.key("agent_platform_version"),
            platform,
            f"Fargate Spot runs {architecture} Linux tasks on platform version {needed} or later only: "
            f"set {needed} or LATEST, or agents_use_spot to false",
        )
    config = ServiceConfig(
        control_plane=control_plane,
        janitor=janitor,
        slots=slots,
        agents=agents,
        credential_proxy=credential_proxy,
        agent_architecture=architecture,
        agent_platform_version=platform,
        agents_use_spot=use_spot,
        agent_stop_timeout_seconds=section.integer("agent_stop_timeout_seconds"),
        log_retention_days=log_retention(section, "log_retention_days", production=production),
    )
    section.done()
    return config
