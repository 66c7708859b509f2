"""Typed, validated settings of every environment (read from ``cdk.json`` context)."""

from config.environment import (
    CONTEXT_KEY,
    EnvironmentConfig,
    account_override_key,
    load_environments,
)
from config.errors import ConfigError
from config.network import NetworkConfig

__all__ = [
    "CONTEXT_KEY",
    "ConfigError",
    "EnvironmentConfig",
    "NetworkConfig",
    "account_override_key",
    "load_environments",
]
