"""One environment: a cdk.Stage holding every stack of it."""

from __future__ import annotations

from aws_cdk import Environment, Stage, Tags

from config import EnvironmentConfig
from constructs import Construct
from stacks.network_stack import NetworkStack
from stacks.registry_stack import RegistryStack
from stacks.service_stack import ServiceStack


class OutpostStage(Stage):
    """``Dev``, ``Prod``, ...: deploy one with ``cdk deploy 'Prod/*'``."""

    def __init__(self, scope: Construct, *, config: EnvironmentConfig) -> None:
        super().__init__(
            scope,
            config.stage_name,
            env=Environment(account=config.account, region=config.region),
        )
        self.network = NetworkStack(self, "Network", config=config)
        self.registry = RegistryStack(self, "Registry", config=config)
        self.service = ServiceStack(
            self, "Service", config=config, network=self.network, registry=self.registry
        )
        Tags.of(self).add("Environment", config.name)
        for key, value in config.tags:
            Tags.of(self).add(key, value)
