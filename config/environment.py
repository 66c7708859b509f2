"""One deployment environment's settings: ``outpost.defaults`` with the environment's block over it."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from config.audit import AUDIT, AuditConfig, parse_audit
from config.budget import BUDGET, BudgetConfig, parse_budget
from config.changes import CHANGES, ChangesConfig, parse_changes
from config.common import TAGS, tags
from config.cost import COST, CostAssumptions, parse_cost
from config.data import DATA, DataConfig, parse_data
from config.egress import EGRESS, EgressConfig, parse_egress
from config.errors import ConfigError
from config.ingress import INGRESS, IngressConfig, certificate_override_key, parse_ingress
from config.layers import merge
from config.monitoring import MONITORING, MonitoringConfig, parse_monitoring
from config.names import pascal, resource_name
from config.network import NETWORK, NetworkConfig, parse_network
from config.reader import Section
from config.regions import REGIONS
from config.registry import REGISTRY, RegistryConfig, parse_registry
from config.schema import Group, string
from config.service import SERVICE, ServiceConfig, parse_service

CONTEXT_KEY = "outpost"
DEFAULTS_KEY = "defaults"
ENV_NAME_PATTERN = r"[a-z][a-z0-9]{1,15}"
ACCOUNT_PATTERN = r"\d{12}"
KINDS = ("development", "production")
# Blocks of ``outpost`` beside ``environments`` and ``defaults``: the Delivery stacks' settings.
OTHER_BLOCKS = ("delivery",)

ENVIRONMENT = Group(
    "<env>",
    "One environment: `outpost.defaults` with the environment's own block over it.",
    (
        string(
            "kind",
            "what the environment is; its rules and safety defaults follow it, never its name "
            "(production: termination protection, data retained, stricter floors)",
            choices=KINDS,
            rules=("written in the environment itself, never in `outpost.defaults`",),
        ),
        string(
            "account",
            "12-digit AWS account id (the shipped ones are placeholders)",
            pattern=ACCOUNT_PATTERN,
            pattern_rule="must be a 12-digit AWS account id",
            rules=("`-c outpost:<env>:account=...` replaces it (the certificate ARN must follow)",),
        ),
        string(
            "region",
            "the region every stack of the environment is deployed to",
            choices=REGIONS,
            choices_name="an AWS commercial region (config/regions.py lists them)",
        ),
        TAGS,
        NETWORK,
        EGRESS,
        REGISTRY,
        SERVICE,
        AUDIT,
        INGRESS,
        DATA,
        MONITORING,
        BUDGET,
        COST,
        CHANGES,
    ),
    per_environment=("kind",),
)
# Blocks that used to live beside ``environments``: where their settings are now.
_MOVED = {"cost": f" (cost assumptions are each environment's `cost`, and {CONTEXT_KEY}.{DEFAULTS_KEY}.cost)"}
REQUIRED_HINT = f" (write it in the environment or in {CONTEXT_KEY}.{DEFAULTS_KEY})"


@dataclass(frozen=True)
class EnvironmentConfig:
    name: str
    kind: str
    account: str
    region: str
    tags: tuple[tuple[str, str], ...]
    network: NetworkConfig
    egress: EgressConfig
    registry: RegistryConfig
    monitoring: MonitoringConfig
    audit: AuditConfig
    service: ServiceConfig
    ingress: IngressConfig
    data: DataConfig
    budget: BudgetConfig
    cost: CostAssumptions
    changes: ChangesConfig
    # This environment makes what an account has once (``account_owners``): the CIS metric filters
    # on its trail, the security topic, the Fargate vCPU quota alarm.
    owns_account_alarms: bool = True
    # Another environment is deployed to the same account: its budget counts this one's costs
    # by the ``Environment`` tag only.
    shares_account: bool = False

    @property
    def is_production(self) -> bool:
        return self.kind == "production"

    @property
    def stage_name(self) -> str:
        """``dev`` becomes ``Dev``: the construct id users select with ``'Dev/*'``."""
        return pascal(self.name)

    @property
    def cluster_name(self) -> str:
        """``outpost-prod``: the ECS cluster's name, fixed so that the Data stack's task-state
        rule can match the cluster's ARN before the Service stack that creates it exists."""
        return resource_name(self.name)


def account_override_key(env_name: str) -> str:
    """Context key that overrides an environment's account: ``-c outpost:prod:account=...``."""
    return f"{CONTEXT_KEY}:{env_name}:account"


def environment_path(name: str) -> str:
    return f"{CONTEXT_KEY}.environments.{name}"


def parse_environment(
    name: str,
    data: Any,
    *,
    account_override: str | None = None,
    certificate_override: str | None = None,
) -> EnvironmentConfig:
    """``data``: the environment's settings, merged over the defaults (``config.layers.merge``)."""
    section = Section(data, environment_path(name), ENVIRONMENT, required_hint=REQUIRED_HINT)
    kind = section.string("kind")
    production = kind == "production"
    account = section.string("account")
    if account_override is not None:
        account = account_override
        if not isinstance(account, str) or not re.fullmatch(ACCOUNT_PATTERN, account):
            raise ConfigError(account_override_key(name), account, "must be a 12-digit AWS account id")
    region = section.string("region")
    env_tags = tags(section, "tags")
    network_section = section.section("network")
    network = parse_network(network_section, region=region, production=production)
    egress = parse_egress(
        section.section("egress"),
        network=network,
        production=production,
        vpc_cidr_key=network_section.key("vpc_cidr"),
    )
    registry = parse_registry(section.section("registry"))
    monitoring = parse_monitoring(section.section("monitoring"), production=production)
    audit = parse_audit(section.section("audit"), production=production, region=region)
    service = parse_service(
        section.section("service"), production=production, guardduty=audit.guardduty_agent
    )
    ingress = parse_ingress(
        section.section("ingress"),
        region=region,
        account=account,
        production=production,
        env_name=name,
        certificate_override=certificate_override,
    )
    data_config = parse_data(section.section("data"), production=production)
    budget = parse_budget(section.section("budget"))
    cost = parse_cost(
        section.section("cost"),
        worker_task_timeout_seconds=service.control_plane.worker_task_timeout_seconds,
    )
    changes = parse_changes(section.section("changes"))
    section.done()
    return EnvironmentConfig(
        name=name,
        kind=kind,
        account=account,
        region=region,
        tags=env_tags,
        network=network,
        egress=egress,
        registry=registry,
        monitoring=monitoring,
        audit=audit,
        service=service,
        ingress=ingress,
        data=data_config,
        budget=budget,
        cost=cost,
        changes=changes,
    )


@dataclass(frozen=True)
class Blocks:
    """``outpost.defaults`` and ``outpost.environments`` as written, checked for shape."""

    defaults: Mapping[str, Any]
    environments: Mapping[str, Any]

    def merged(self, name: str) -> Any:
        """Environment ``name``'s block over the defaults, each key knowing where it was written."""
        return merge(
            self.defaults,
            f"{CONTEXT_KEY}.{DEFAULTS_KEY}",
            self.environments[name],
            environment_path(name),
        )


def read_blocks(outpost: Any) -> Blocks:
    """The defaults and the environments of ``outpost`` (the context block), shapes checked."""
    if not isinstance(outpost, Mapping):
        raise ConfigError(CONTEXT_KEY, outpost, "must be an object")
    known = ("environments", DEFAULTS_KEY, *OTHER_BLOCKS)
    for key, value in outpost.items():
        if key not in known:
            raise ConfigError(f"{CONTEXT_KEY}.{key}", value, "is not a known setting" + _MOVED.get(key, ""))
    envs = outpost.get("environments")
    if not isinstance(envs, Mapping):
        raise ConfigError(
            f"{CONTEXT_KEY}.environments", envs, "is required" if envs is None else "must be an object"
        )
    if not envs:
        raise ConfigError(f"{CONTEXT_KEY}.environments", envs, "must define at least one environment")
    for name, block in envs.items():
        if not re.fullmatch(ENV_NAME_PATTERN, name):
            raise ConfigError(
                f"{CONTEXT_KEY}.environments",
                name,
                "environment names are 2-16 lower-case letters or digits, starting with a letter",
            )
        if not isinstance(block, Mapping):
            raise ConfigError(environment_path(name), block, "must be an object")
    defaults = outpost.get(DEFAULTS_KEY, {})
    if not isinstance(defaults, Mapping):
        raise ConfigError(f"{CONTEXT_KEY}.{DEFAULTS_KEY}", defaults, "must be an object")
    for key in ENVIRONMENT.per_environment:
        if key in defaults:
            raise ConfigError(
                f"{CONTEXT_KEY}.{DEFAULTS_KEY}.{key}",
                defaults[key],
                "is set per environment: each environment states its own",
            )
    return Blocks(defaults=defaults, environments=envs)


def load_environments(
    get_context: Callable[[str], Any], *, only: str | None = None
) -> tuple[EnvironmentConfig, ...]:
    """Parse every environment from context; ``only`` keeps one, by name."""
    blocks = read_blocks(get_context(CONTEXT_KEY))
    envs = blocks.environments
    if only is not None and only not in envs:
        raise ConfigError(f"{CONTEXT_KEY}:only", only, f"is not a configured environment ({', '.join(envs)})")
    names = [only] if only is not None else list(envs)
    owners, shared = account_owners(blocks, get_context)
    parsed = tuple(
        dataclasses.replace(
            _parse_one(
                n,
                blocks.merged(n),
                account_override=get_context(account_override_key(n)),
                certificate_override=get_context(certificate_override_key(n)),
            ),
            owns_account_alarms=n in owners,
            shares_account=n in shared,
        )
        for n in names
    )
    check_shared_accounts(parsed)
    return parsed


def account_owners(
    blocks: Blocks, get_context: Callable[[str], Any]
) -> tuple[frozenset[str], frozenset[str]]:
    """(owners, sharing): the environment of each account that makes its account-wide alarms
    (the first of production kind in ``cdk.json`` order, else the first), and the environments
    that share an account with another. Each environment runs its own trail over the whole
    account, so two owners would page twice for every event. Read from every environment's
    block, so ``-c outpost:only=<env>`` decides as a full synth does."""
    by_account: dict[Any, list[tuple[str, Any]]] = {}
    for name in blocks.environments:
        merged = blocks.merged(name)
        account = get_context(account_override_key(name)) or merged.get("account")
        by_account.setdefault(account, []).append((name, merged.get("kind")))
    owners = frozenset(
        next((name for name, kind in members if kind == "production"), members[0][0])
        for members in by_account.values()
    )
    sharing = frozenset(name for members in by_account.values() if len(members) > 1 for name, _ in members)
    return owners, sharing


def _parse_one(name: str, data: Any, **overrides: Any) -> EnvironmentConfig:
    """``parse_environment``; an error in an inherited default also names the environment inheriting it."""
    try:
        return parse_environment(name, data, **overrides)
    except ConfigError as err:
        if not err.key.startswith(f"{CONTEXT_KEY}.{DEFAULTS_KEY}."):
            raise
        raise ConfigError(
            err.key,
            err.value,
            f"{err.rule} (inherited by environment {name}: fix the default or override it in "
            f"{environment_path(name)})",
        ) from None


# Names an environment chooses itself that must be unique in an account and region: a
# second environment there with the same one fails its deploy ("already exists") or, worse,
# would share the first one's resource. Every other fixed name carries the environment's name.
_UNIQUE_PER_ACCOUNT_AND_REGION: tuple[tuple[str, Callable[[EnvironmentConfig], str]], ...] = (
    ("registry.repository_prefix", lambda env: env.registry.repository_prefix),
    ("data.event_bus_name", lambda env: env.data.event_bus_name),
)


# What exists once per account (and region): at most one environment may own it.
_ONE_PER_ACCOUNT: tuple[tuple[str, Callable[[EnvironmentConfig], bool], bool, str], ...] = (
    (
        "audit.guardduty",
        lambda env: env.audit.creates_detector,
        True,
        "GuardDuty has one detector per account and Region: write the detector id here instead",
    ),
)


def check_shared_accounts(environments: tuple[EnvironmentConfig, ...]) -> None:
    """Environments deployed to one account and region must not choose the same names, and
    only one of them may own what an account (or an account's region) has once."""
    for setting, owns, per_region, rule in _ONE_PER_ACCOUNT:
        owners: dict[tuple[str, str], str] = {}
        for env in environments:
            if not owns(env):
                continue
            where = (env.account, env.region if per_region else "")
            if where in owners:
                group, name = setting.split(".")
                raise ConfigError(
                    f"{environment_path(env.name)}.{setting}",
                    getattr(getattr(env, group), name),
                    f"environment {owners[where]} of the same account {env.account} owns it already; {rule}",
                )
            owners[where] = env.name
    for setting, value_of in _UNIQUE_PER_ACCOUNT_AND_REGION:
        seen: dict[tuple[str, str, str], str] = {}
        for env in environments:
            key = (env.account, env.region, value_of(env))
            if key in seen:
                raise ConfigError(
                    f"{environment_path(env.name)}.{setting}",
                    value_of(env),
                    f"is also the {setting.split('.')[-1]} of environment {seen[key]}, deployed to the "
                    f"same account {env.account} and region {env.region}: choose another",
                )
            seen[key] = env.name
