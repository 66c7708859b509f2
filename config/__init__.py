"""Typed, validated settings of every environment (read from ``cdk.json`` context)."""

from config.audit import AuditConfig
from config.environment import (
    CONTEXT_KEY,
    EnvironmentConfig,
    account_override_key,
    load_environments,
)
from config.errors import ConfigError
from config.network import NetworkConfig
from config.registry import AGENTS, IMAGES, RegistryConfig

__all__ = [
    "AGENTS",
    "CONTEXT_KEY",
    "IMAGES",
    "AuditConfig",
    "ConfigError",
    "EnvironmentConfig",
    "NetworkConfig",
    "RegistryConfig",
    "account_override_key",
    "load_environments",
]
