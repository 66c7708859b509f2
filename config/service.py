"""Settings of the Service stack: the control-plane service and the five agent task definitions."""

from __future__ import annotations

from dataclasses import dataclass

from config.common import PRODUCTION_LOG_RETENTION_DAYS, log_retention
from config.errors import ConfigError
from config.reader import Section
from config.registry import AGENTS

# Fargate's CPU units -> the memory sizes (MiB) it accepts with them.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

# A Docker tag; `latest` (any case) is refused: deployments name an immutable tag.
_IMAGE_TAG = r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}"
MUTABLE_TAGS = ("latest",)

# Fargate's limits: ephemeral storage 21-200 GiB, a container stop timeout of at most 120 s.
EPHEMERAL_STORAGE_GIB = (21, 200)
MAX_STOP_TIMEOUT_SECONDS = 120
# The release watch (constructs/release_alarms.py): its alarms evaluate 5-minute periods, and the
# bake after a rolling deployment spans their evaluation window, from 10 minutes (the p95 alarm
# needs two periods) to an hour (every release holds `make deploy` that long).
ALARM_PERIOD_MINUTES = 5
BAKE_MINUTES = (10, 60)
# Idle agent tasks the control plane keeps started per agent (0: no warm pool); each holds a
# private IP and costs a running task, so it is bounded well below the subnet capacity.
MAX_WARM_POOL_SIZE = 100

# The CPU architectures and the Linux platform versions Fargate runs tasks on (LATEST is 1.4.0).
# Fargate Spot runs X86_64 Linux tasks on platform version 1.3.0 or later and ARM64 (Graviton)
# Linux tasks on 1.4.0 or later only (Amazon ECS API reference, CapacityProviderStrategyItem:
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html;
# Graviton on Fargate Spot since September 2024). Older copies of the ECS developer guide still say
# ARM64 tasks cannot use Fargate Spot at all.
ARCHITECTURES = ("ARM64", "X86_64")
PLATFORM_VERSIONS = ("LATEST", "1.4.0", "1.3.0")
SPOT_MINIMUM_PLATFORM = {"ARM64": "1.4.0", "X86_64": "1.3.0"}


def platform_at_least(version: str, minimum: str) -> bool:
    """``LATEST`` is the newest (1.4.0); otherwise compare the dotted numbers."""
    if version == "LATEST":
        return True
    return tuple(int(p) for p in version.split(".")) >= tuple(int(p) for p in minimum.split("."))


@dataclass(frozen=True)
class TaskSize:
    cpu: int
    memory: int


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
class AgentConfig:
    name: str
    image_tag: str
    cpu: int
    memory: int
    ephemeral_storage_gib: int


@dataclass(frozen=True)
class JanitorConfig:
    """The dispatch janitor: what cleans up after a control plane that died mid-dispatch."""

    # How often it runs, and how long a dispatch's access point or revision may exist with no
    # running task before it is stale (the control plane's time between creating and running).
    interval_minutes: int
    grace_minutes: int
    # 1 reserves one execution (never two runs at once); 0 reserves none.
    reserved_concurrency: int
    log_retention_days: int


@dataclass(frozen=True)
class ServiceConfig:
    control_plane: ControlPlaneConfig
    janitor: JanitorConfig
    agents: tuple[AgentConfig, ...]
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


def image_tag(section: Section, name: str = "image_tag") -> str:
    tag = section.string(
        name,
        pattern=_IMAGE_TAG,
        rule="must be a Docker image tag: 1-128 letters, digits, . _ - (not starting with . or -)",
    )
    if tag.lower() in MUTABLE_TAGS:
        raise ConfigError(
            section.key(name),
            tag,
            "must be an immutable release tag, never 'latest' (repositories are immutable)",
        )
    return tag


def fargate_size(section: Section) -> TaskSize:
    cpu = section.integer("cpu", choices=tuple(FARGATE_SIZES))
    memory = section.integer("memory")
    allowed = FARGATE_SIZES[cpu]
    if memory not in allowed:
        raise ConfigError(
            section.key("memory"),
            memory,
            f"Fargate with cpu {cpu} accepts memory {allowed[0]}-{allowed[-1]} MiB "
            f"in steps of {allowed[1] - allowed[0]} MiB",
        )
    return TaskSize(cpu=cpu, memory=memory)


def parse_control_plane(section: Section, *, production: bool) -> ControlPlaneConfig:
    tag = image_tag(section)
    bootstrap = section.boolean("bootstrap")
    size = fargate_size(section)
    minimum_tasks = 2 if production else 1
    min_tasks = section.integer("min_tasks", minimum=1)
    if min_tasks < minimum_tasks:
        raise ConfigError(
            section.key("min_tasks"),
            min_tasks,
            "a production environment runs at least 2 tasks (one per zone)",
        )
    max_tasks = section.integer("max_tasks", maximum=100)
    if max_tasks < min_tasks:
        raise ConfigError(section.key("max_tasks"), max_tasks, f"must be at least min_tasks ({min_tasks})")
    if section.has("desired_count"):
        raise ConfigError(
            section.key("desired_count"),
            section.raw("desired_count"),
            "is no longer a setting: autoscaling owns the running count between min_tasks and "
            "max_tasks, and a count in the template would reset it on every deploy; delete the key",
        )
    config = ControlPlaneConfig(
        image_tag=tag,
        bootstrap=bootstrap,
        cpu=size.cpu,
        memory=size.memory,
        min_tasks=min_tasks,
        max_tasks=max_tasks,
        cpu_target_percent=section.integer("cpu_target_percent", minimum=10, maximum=90),
        requests_per_target=section.integer("requests_per_target", minimum=1, maximum=100_000),
        scale_in_cooldown_seconds=section.integer("scale_in_cooldown_seconds", minimum=0, maximum=3600),
        scale_out_cooldown_seconds=section.integer("scale_out_cooldown_seconds", minimum=0, maximum=3600),
        worker_task_timeout_seconds=section.integer(
            "worker_task_timeout_seconds", minimum=60, maximum=86_400
        ),
        warm_pool_size=section.integer("warm_pool_size", minimum=0, maximum=MAX_WARM_POOL_SIZE),
        bake_minutes=bake_minutes(section),
    )
    section.done()
    return config


def bake_minutes(section: Section) -> int:
    low, high = BAKE_MINUTES
    value = section.integer("bake_minutes", minimum=low, maximum=high)
    if value % ALARM_PERIOD_MINUTES:
        raise ConfigError(
            section.key("bake_minutes"),
            value,
            f"must be a multiple of {ALARM_PERIOD_MINUTES} (the release alarms' period in minutes)",
        )
    return value


def parse_agent(name: str, section: Section) -> AgentConfig:
    tag = image_tag(section)
    size = fargate_size(section)
    low, high = EPHEMERAL_STORAGE_GIB
    storage = section.integer("ephemeral_storage_gib", minimum=low, maximum=high)
    section.done()
    return AgentConfig(
        name=name, image_tag=tag, cpu=size.cpu, memory=size.memory, ephemeral_storage_gib=storage
    )


def parse_janitor(section: Section, *, production: bool) -> JanitorConfig:
    config = JanitorConfig(
        interval_minutes=section.integer("interval_minutes", minimum=5, maximum=60),
        grace_minutes=section.integer("grace_minutes", minimum=5, maximum=120),
        reserved_concurrency=section.integer("reserved_concurrency", minimum=0, maximum=1),
        log_retention_days=log_retention(
            section, "log_retention_days", minimum=PRODUCTION_LOG_RETENTION_DAYS if production else 7
        ),
    )
    section.done()
    return config


def parse_service(section: Section, *, production: bool) -> ServiceConfig:
    control_plane = parse_control_plane(section.section("control_plane"), production=production)
    janitor = parse_janitor(section.section("janitor"), production=production)
    agents_section = section.section("agents")
    agents = tuple(parse_agent(name, agents_section.section(name)) for name in AGENTS)
    agents_section.done()
    architecture = section.string("agent_architecture", choices=ARCHITECTURES)
    platform = section.string("agent_platform_version", choices=PLATFORM_VERSIONS)
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
        agents=agents,
        agent_architecture=architecture,
        agent_platform_version=platform,
        agents_use_spot=use_spot,
        agent_stop_timeout_seconds=section.integer(
            "agent_stop_timeout_seconds", minimum=2, maximum=MAX_STOP_TIMEOUT_SECONDS
        ),
        log_retention_days=log_retention(
            section, "log_retention_days", minimum=PRODUCTION_LOG_RETENTION_DAYS if production else 7
        ),
    )
    section.done()
    return config
