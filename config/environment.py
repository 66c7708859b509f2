"""One deployment environment's settings, parsed from ``cdk.json`` context."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from config.audit import AuditConfig, parse_audit
from config.common import tags
from config.data import DataConfig, parse_data
from config.errors import ConfigError
from config.ingress import IngressConfig, certificate_override_key, parse_ingress
from config.monitoring import MonitoringConfig, parse_monitoring
from config.network import NetworkConfig, parse_network
from config.reader import Section
from config.registry import RegistryConfig, parse_registry
from config.service import ServiceConfig, parse_service

CONTEXT_KEY = "outpost"
ENV_NAME_PATTERN = r"[a-z][a-z0-9]{1,15}"
ACCOUNT_PATTERN = r"\d{12}"
REGION_PATTERN = r"[a-z]{2}(-gov)?-[a-z]+-\d"
KINDS = ("development", "production")
# Blocks of ``outpost`` beside ``environments``: the Delivery stacks' and the cost estimate's settings.
OTHER_BLOCKS = ("delivery", "cost")


@dataclass(frozen=True)
class EnvironmentConfig:
    name: str
    kind: str
    account: str
    region: str
    tags: tuple[tuple[str, str], ...]
    network: NetworkConfig
    registry: RegistryConfig
    monitoring: MonitoringConfig
    audit: AuditConfig
    service: ServiceConfig
    ingress: IngressConfig
    data: DataConfig

    @property
    def is_production(self) -> bool:
        return self.kind == "production"

    @property
    def stage_name(self) -> str:
        """``dev`` becomes ``Dev``: the construct id users select with ``'Dev/*'``."""
        return self.name.capitalize()

    @property
    def cluster_name(self) -> str:
        """``outpost-prod``: the ECS cluster's name, fixed so that the Data stack's task-state
        rule can match the cluster's ARN before the Service stack that creates it exists."""
        return f"outpost-{self.name}"


def account_override_key(env_name: str) -> str:
    """Context key that overrides an environment's account: ``-c outpost:prod:account=...``."""
    return f"{CONTEXT_KEY}:{env_name}:account"


def parse_environment(
    name: str,
    data: Any,
    *,
    account_override: str | None = None,
    certificate_override: str | None = None,
) -> EnvironmentConfig:
    section = Section(data, f"{CONTEXT_KEY}.environments.{name}")
    kind = section.string("kind", choices=KINDS)
    account = section.string("account", pattern=ACCOUNT_PATTERN, rule="must be a 12-digit AWS account id")
    if account_override is not None:
        account = account_override
        if not isinstance(account, str) or not account.isdigit() or len(account) != 12:
            raise ConfigError(account_override_key(name), account, "must be a 12-digit AWS account id")
    region = section.string(
        "region", pattern=REGION_PATTERN, rule="must be an AWS region name such as us-east-1"
    )
    env_tags = tags(section, "tags")
    network = parse_network(section.section("network"), region=region, production=kind == "production")
    registry = parse_registry(section.section("registry"))
    monitoring = parse_monitoring(section.section("monitoring"), production=kind == "production")
    audit = parse_audit(section.section("audit"), production=kind == "production")
    service = parse_service(section.section("service"), production=kind == "production")
    ingress = parse_ingress(
        section.section("ingress"),
        region=region,
        account=account,
        production=kind == "production",
        env_name=name,
        certificate_override=certificate_override,
    )
    data = parse_data(section.section("data"))
    section.done()
    return EnvironmentConfig(
        name=name,
        kind=kind,
        account=account,
        region=region,
        tags=env_tags,
        network=network,
        registry=registry,
        monitoring=monitoring,
        audit=audit,
        service=service,
        ingress=ingress,
        data=data,
    )


def load_environments(
    get_context: Callable[[str], Any], *, only: str | None = None
) -> tuple[EnvironmentConfig, ...]:
    """Parse every environment from context; ``only`` keeps one, by name."""
    root = Section(get_context(CONTEXT_KEY), CONTEXT_KEY)
    envs = root.mapping("environments")
    # Blocks of their own, parsed by config.delivery and config.cost (they read every environment).
    for block in OTHER_BLOCKS:
        root.raw(block, None)
    root.done()
    if not envs:
        raise ConfigError(f"{CONTEXT_KEY}.environments", envs, "must define at least one environment")
    for name in envs:
        if not re.fullmatch(ENV_NAME_PATTERN, name):
            raise ConfigError(
                f"{CONTEXT_KEY}.environments",
                name,
                "environment names are 2-16 lower-case letters or digits, starting with a letter",
            )
    if only is not None and only not in envs:
        raise ConfigError(f"{CONTEXT_KEY}:only", only, f"is not a configured environment ({', '.join(envs)})")
    names = [only] if only is not None else list(envs)
    parsed = tuple(
        parse_environment(
            n,
            envs[n],
            account_override=get_context(account_override_key(n)),
            certificate_override=get_context(certificate_override_key(n)),
        )
        for n in names
    )
    check_shared_accounts(parsed)
    return parsed


# Names an environment chooses itself that must be unique in an account and region: a
# second environment there with the same one fails its deploy ("already exists") or, worse,
# would share the first one's resource. Every other fixed name carries the environment's name.
_UNIQUE_PER_ACCOUNT_AND_REGION: tuple[tuple[str, Callable[[EnvironmentConfig], str]], ...] = (
    ("registry.repository_prefix", lambda env: env.registry.repository_prefix),
    ("data.event_bus_name", lambda env: env.data.event_bus_name),
)


def check_shared_accounts(environments: tuple[EnvironmentConfig, ...]) -> None:
    """Environments deployed to one account and region must not choose the same names."""
    for setting, value_of in _UNIQUE_PER_ACCOUNT_AND_REGION:
        seen: dict[tuple[str, str, str], str] = {}
        for env in environments:
            key = (env.account, env.region, value_of(env))
            if key in seen:
                raise ConfigError(
                    f"{CONTEXT_KEY}.environments.{env.name}.{setting}",
                    value_of(env),
                    f"is also the {setting.split('.')[-1]} of environment {seen[key]}, deployed to the "
                    f"same account {env.account} and region {env.region}: choose another",
                )
            seen[key] = env.name
