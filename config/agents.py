"""Fargate's sizes and platforms, image tags, and the settings of the five agents' task definitions."""

from __future__ import annotations

from dataclasses import dataclass

from config.errors import ConfigError
from config.reader import Section
from config.registry import AGENTS
from config.schema import Group, Setting, integer, string

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
FARGATE_PAIRS = "a pair Fargate accepts: " + "; ".join(
    f"{cpu}: {memory[0]}-{memory[-1]}" for cpu, memory in FARGATE_SIZES.items()
)

# A Docker tag; `latest` (any case) is refused: deployments name an immutable tag.
_IMAGE_TAG = r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}"
MUTABLE_TAGS = ("latest",)

# Fargate's limits: ephemeral storage 21-200 GiB, a container stop timeout of at most 120 s.
EPHEMERAL_STORAGE_GIB = (21, 200)
MAX_STOP_TIMEOUT_SECONDS = 120

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


def image_tag_setting(meaning: str) -> Setting:
    return string(
        "image_tag",
        meaning,
        pattern=_IMAGE_TAG,
        pattern_rule="must be a Docker image tag: 1-128 letters, digits, . _ - (not starting with . or -)",
        rules=("never `latest` (repositories are immutable)",),
    )


def size_settings(what: str) -> tuple[Setting, ...]:
    return (
        integer("cpu", f"CPU units of {what}", choices=tuple(FARGATE_SIZES)),
        integer("memory", f"memory (MiB) of {what}", rules=(FARGATE_PAIRS,)),
    )


AGENT = Group(
    "<agent>",
    "One agent's task definition (claude, codex, gemini, aider, grok: all five are required).",
    (
        image_tag_setting("the agent image's tag"),
        *size_settings("an agent task"),
        integer(
            "ephemeral_storage_gib",
            "task storage (GiB) of an agent task",
            minimum=EPHEMERAL_STORAGE_GIB[0],
            maximum=EPHEMERAL_STORAGE_GIB[1],
        ),
    ),
)
AGENTS_GROUP = Group("agents", "The five agents' task definitions.", (AGENT,), names=AGENTS)


@dataclass(frozen=True)
class TaskSize:
    cpu: int
    memory: int


@dataclass(frozen=True)
class AgentConfig:
    name: str
    image_tag: str
    cpu: int
    memory: int
    ephemeral_storage_gib: int


def image_tag(section: Section) -> str:
    tag = section.string("image_tag")
    if tag.lower() in MUTABLE_TAGS:
        raise ConfigError(
            section.key("image_tag"),
            tag,
            "must be an immutable release tag, never 'latest' (repositories are immutable)",
        )
    return tag


def fargate_size(section: Section) -> TaskSize:
    cpu = section.integer("cpu")
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


def parse_agent(name: str, section: Section) -> AgentConfig:
    tag = image_tag(section)
    size = fargate_size(section)
    storage = section.integer("ephemeral_storage_gib")
    section.done()
    return AgentConfig(
        name=name, image_tag=tag, cpu=size.cpu, memory=size.memory, ephemeral_storage_gib=storage
    )


def parse_agents(section: Section) -> tuple[AgentConfig, ...]:
    agents = tuple(parse_agent(name, section.section(name)) for name in AGENTS)
    section.done()
    return agents
