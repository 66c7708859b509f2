"""Line items of compute: Fargate (control plane, agent dispatches, warm pool), Lambda, Container Insights."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from config.agents import SPOT_MINIMUM_PLATFORM, platform_at_least
from config.names import resource_name
from tools.cost.prices import CostError
from tools.cost.usage import LineItem, Resource, Usage, count, money, plural

FREE_EPHEMERAL_GIB = 20  # every Fargate task gets 20 GB; more is charged
ARM64 = "ARM64"


@dataclass(frozen=True)
class TaskSize:
    vcpu: float
    memory_gb: float
    storage_gb: int
    architecture: str  # ARM64 or X86_64

    def hourly(self, usage: Usage, *, spot: bool) -> float:
        """What one task of this size costs an hour."""
        arch = "arm64" if self.architecture == ARM64 else "x86_64"
        kind = f"fargate_spot_{arch}" if spot else f"fargate_{arch}"
        extra_storage = max(0, self.storage_gb - FREE_EPHEMERAL_GIB)
        return (
            self.vcpu * usage.usd(f"{kind}_vcpu_hour")
            + self.memory_gb * usage.usd(f"{kind}_gb_hour")
            + extra_storage * usage.usd("fargate_storage_gb_hour")
        )

    def describe(self) -> str:
        return f"{self.vcpu:g} vCPU / {self.memory_gb:g} GB {self.architecture}"


def task_size(definition: Resource) -> TaskSize:
    props: Mapping[str, Any] = definition.properties
    if "FARGATE" not in props.get("RequiresCompatibilities", []):
        raise CostError(f"{definition.name}: only Fargate task definitions are priced")
    platform = props.get("RuntimePlatform", {})
    if platform.get("OperatingSystemFamily", "LINUX") != "LINUX":
        raise CostError(f"{definition.name}: only Linux tasks are priced")
    return TaskSize(
        vcpu=int(props["Cpu"]) / 1024,
        memory_gb=int(props["Memory"]) / 1024,
        storage_gb=int(props.get("EphemeralStorage", {}).get("SizeInGiB", FREE_EPHEMERAL_GIB)),
        architecture=str(platform.get("CpuArchitecture", "X86_64")),
    )


def control_plane(usage: Usage) -> list[LineItem]:
    items = []
    for service in usage.resources("AWS::ECS::Service"):
        size = task_size(usage.resource(service.stack, service.properties["TaskDefinition"]))
        providers = {s["CapacityProvider"] for s in service.properties.get("CapacityProviderStrategy", [])}
        if providers - {"FARGATE"}:
            raise CostError(
                f"{service.name}: only a FARGATE capacity-provider strategy is priced, not {providers}"
            )
        tasks, source = running_floor(usage, service)
        hourly = size.hourly(usage, spot=False)
        items.append(
            LineItem(
                f"Fargate: {service.stack.name(service.logical_id).split('/')[0]} service",
                tasks * usage.hours * hourly,
                f"{plural(tasks, 'task')} ({source}) x {usage.hours} h x {money(hourly)}/h "
                f"({size.describe()})",
            )
        )
    return items


def running_floor(usage: Usage, service: Resource) -> tuple[int, str]:
    """Tasks a service runs all month at least, and where the figure comes from: the count
    the template states (bootstrap's 0), else its scalable target's MinCapacity (the template
    leaves the count to autoscaling), else ECS's default of 1 for a new service."""
    if "DesiredCount" in service.properties:
        return int(service.properties["DesiredCount"]), "desired count"
    for target in usage.resources("AWS::ApplicationAutoScaling::ScalableTarget"):
        props = target.properties
        if (
            target.stack is service.stack
            and props.get("ScalableDimension") == "ecs:service:DesiredCount"
            and service.stack.refers_to(props.get("ResourceId"), service.logical_id)
        ):
            return int(props["MinCapacity"]), "autoscaling minimum"
    return 1, "ECS default for a new service"


def agent_sizes(usage: Usage) -> dict[str, TaskSize]:
    """Agent name -> its task size: every Fargate task definition no service runs."""
    run_by_services = {
        usage.resource(s.stack, s.properties["TaskDefinition"]).logical_id
        for s in usage.resources("AWS::ECS::Service")
    }
    prefix = resource_name(usage.env.name) + "-"
    sizes = {}
    for definition in usage.resources("AWS::ECS::TaskDefinition"):
        if definition.logical_id in run_by_services:
            continue
        family = str(definition.properties.get("Family", ""))
        if not family.startswith(prefix):
            raise CostError(f"{definition.name}: family {family!r} names no agent ({prefix}<agent>)")
        sizes[family.removeprefix(prefix)] = task_size(definition)
    return sizes


def agents(usage: Usage) -> list[LineItem]:
    """Dispatches at the configured mix and length, and the warm pool all month."""
    sizes = agent_sizes(usage)
    a = usage.assumptions
    service = usage.env.service
    # Fargate Spot runs X86_64 Linux tasks on platform 1.3.0 or later and ARM64 on 1.4.0 or later
    # (ECS API reference, CapacityProviderStrategyItem; the settings check enforces it).
    spot = {
        agent: service.agents_use_spot
        and platform_at_least(service.agent_platform_version, SPOT_MINIMUM_PLATFORM[size.architecture])
        for agent, size in sizes.items()
    }
    hourly = {agent: size.hourly(usage, spot=spot[agent]) for agent, size in sizes.items()}
    missing = set(sizes) - {agent for agent, _ in a.agent_mix_percent}
    if missing:
        raise CostError(f"agents {sorted(missing)} have no share in cost.agent_mix_percent")
    task_hours = a.dispatches_per_month * a.minutes_per_dispatch / 60
    dispatch_cost = sum(task_hours * a.share(agent) * hourly[agent] for agent in sizes)
    mix_hourly = sum(a.share(agent) * hourly[agent] for agent in sizes)
    pool = usage.env.service.control_plane.warm_pool_size
    on = "Spot" if all(spot.values()) else "on demand" if not any(spot.values()) else "Spot and on demand"
    note = ""
    items = [
        LineItem(
            "Fargate: agent dispatches",
            dispatch_cost,
            f"{count(task_hours)} task-hours at the mix ({on}, {money(mix_hourly)}/h on average){note}",
            usage.setting("dispatches_per_month", "minutes_per_dispatch", "agent_mix_percent"),
        )
    ]
    if pool:
        # The warm pool keeps ``warm_pool_size`` idle tasks of every agent (docs/capacity.md).
        pool_hourly = sum(hourly.values())
        items.append(
            LineItem(
                "Fargate: agent warm pool",
                pool * usage.hours * pool_hourly,
                f"{len(sizes)} agents x {pool} idle tasks (service.control_plane.warm_pool_size, per agent) "
                f"x {usage.hours} h x {money(pool_hourly / len(sizes))}/h (the agents' average size)",
            )
        )
    return items


def container_insights(usage: Usage) -> list[LineItem]:
    items = []
    for cluster in usage.resources("AWS::ECS::Cluster"):
        settings = {s["Name"]: s["Value"] for s in cluster.properties.get("ClusterSettings", [])}
        mode = settings.get("containerInsights", "disabled")
        if mode == "disabled":
            continue
        price = usage.prices.price(usage.env.region, "container_insights_enhanced")
        if price.usd is not None:
            raise CostError("container_insights_enhanced has a price now: count its observations here")
        items.append(LineItem(f"Container Insights ({mode})", None, price.note))
    return items


_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_DAILY_CRON = re.compile(r"cron\(\d+ \d+ [*?] \* [*?] \*\)")
_HOURS = {"minute": 1 / 60, "hour": 1, "day": 24}


def runs_per_month(usage: Usage, schedule: str) -> float:
    rate = _RATE.fullmatch(schedule)
    if rate:
        return usage.hours / (int(rate[1]) * _HOURS[rate[2].rstrip("s")])
    if _DAILY_CRON.fullmatch(schedule):
        return usage.hours / 24
    raise CostError(f"cannot tell how often {schedule!r} runs: price it in tools/cost/compute.py")


def invocations(usage: Usage, function: Resource) -> tuple[float, str]:
    """How often ``function`` runs a month, and why: from the rules that target it."""
    for rule in usage.resources("AWS::Events::Rule"):
        targets = [t["Arn"] for t in rule.properties.get("Targets", [])]
        if {"Fn::GetAtt": [function.logical_id, "Arn"]} not in targets or rule.stack is not function.stack:
            continue
        if "ScheduleExpression" in rule.properties:
            schedule = rule.properties["ScheduleExpression"]
            return runs_per_month(usage, schedule), schedule
        # The task-state rule: one event per stopped task, so one per dispatch.
        return float(usage.dispatches), "one per dispatch (task stopped)"
    if "CustomResourceProvider" in function.logical_id or function.logical_id.startswith("Custom"):
        return 0.0, "at deploy time only"
    raise CostError(f"{function.name}: cannot tell how often it runs (no rule targets it)")


def lambdas(usage: Usage) -> list[LineItem]:
    total, runs = 0.0, 0.0
    for function in usage.resources("AWS::Lambda::Function"):
        calls, _ = invocations(usage, function)
        arch = "arm64" if function.properties.get("Architectures", ["x86_64"]) == ["arm64"] else "x86_64"
        gb_seconds = (
            calls
            * int(function.properties.get("Timeout", 3))
            * int(function.properties.get("MemorySize", 128))
            / 1024
        )
        total += gb_seconds * usage.usd(f"lambda_{arch}_gb_second") + calls / 1e6 * usage.usd(
            "lambda_requests_million"
        )
        runs += calls
    if not runs:
        return []
    return [
        LineItem(
            "Lambda functions",
            total,
            f"{count(runs)} invocations, each at its timeout (an upper bound)",
            usage.setting("dispatches_per_month"),
        )
    ]


ITEMS = (control_plane, agents, container_insights, lambdas)
PRICED_TYPES = ("AWS::ECS::Service", "AWS::ECS::TaskDefinition", "AWS::ECS::Cluster", "AWS::Lambda::Function")
