"""The environments the test session synthesizes, by kind, never by name.

``ENVIRONMENTS`` are those of ``cdk.json`` and the throwaway one (``tests/synth.py``);
``SHIPPED`` only those of ``cdk.json`` (what the snapshots hold). A test that needs "a
production environment" asks ``of_kind("production")``; a test parametrized over ``STAGES``
reads what it expects from that environment's settings (``settings(stage)``, its merged
``cdk.json`` values) or its parsed configuration (``config_of(stage)``), never from its name.
"""

from __future__ import annotations

from typing import Any

from config import EnvironmentConfig, load_environments
from config.environment import read_blocks
from config.layers import plain
from tests.synth import session_context, shipped_context

_CONTEXT = session_context()
_BLOCKS = read_blocks(_CONTEXT["outpost"])

CONFIGS: dict[str, EnvironmentConfig] = {env.name: env for env in load_environments(_CONTEXT.get)}
ENVIRONMENTS: tuple[str, ...] = tuple(CONFIGS)
STAGES: tuple[str, ...] = tuple(env.stage_name for env in CONFIGS.values())
SHIPPED: tuple[str, ...] = tuple(shipped_context()["outpost"]["environments"])
SHIPPED_STAGES: tuple[str, ...] = tuple(CONFIGS[name].stage_name for name in SHIPPED)
THROWAWAY: tuple[str, ...] = tuple(name for name in ENVIRONMENTS if name not in SHIPPED)
# Each environment's settings as cdk.json makes them: its block over the defaults.
SETTINGS: dict[str, Any] = {name: plain(_BLOCKS.merged(name)) for name in ENVIRONMENTS}
_BY_STAGE = {env.stage_name: env for env in CONFIGS.values()}


def config_of(stage: str) -> EnvironmentConfig:
    """The parsed settings of the environment of stage ``Dev``, ``Staging``, ..."""
    return _BY_STAGE[stage]


def name_of(stage: str) -> str:
    return config_of(stage).name


def settings(stage: str) -> dict[str, Any]:
    """The merged ``cdk.json`` settings of the environment of stage ``stage``."""
    return SETTINGS[name_of(stage)]  # type: ignore[no-any-return]


def is_production(stage: str) -> bool:
    return config_of(stage).is_production


def of_kind(kind: str) -> str:
    """The name of the first shipped environment of ``kind`` (``development`` or ``production``)."""
    return next(name for name in SHIPPED if CONFIGS[name].kind == kind)


def stage_of_kind(kind: str) -> str:
    return CONFIGS[of_kind(kind)].stage_name


def stages_of_kind(kind: str) -> tuple[str, ...]:
    return tuple(stage for stage in STAGES if config_of(stage).kind == kind)
