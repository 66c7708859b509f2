"""Typed, validated settings of every environment (read from ``cdk.json`` context)."""

from config.audit import AuditConfig
from config.data import CallbackConfig, DataConfig
from config.environment import (
    CONTEXT_KEY,
    EnvironmentConfig,
    account_override_key,
    load_environments,
)
from config.errors import ConfigError
from config.ingress import IngressConfig, certificate_override_key
from config.network import NetworkConfig
from config.registry import AGENTS, IMAGES, RegistryConfig
from config.service import AgentConfig, ControlPlaneConfig, ServiceConfig

__all__ = [
    "AGENTS",
    "CONTEXT_KEY",
    "IMAGES",
    "AgentConfig",
    "AuditConfig",
    "CallbackConfig",
    "ConfigError",
    "ControlPlaneConfig",
    "DataConfig",
    "EnvironmentConfig",
    "IngressConfig",
    "NetworkConfig",
    "RegistryConfig",
    "ServiceConfig",
    "account_override_key",
    "certificate_override_key",
    "load_environments",
]
