"""One environment: a cdk.Stage holding every stack of it."""

from __future__ import annotations

from aws_cdk import Environment, Stack, Stage, Tags

from config import EnvironmentConfig
from constructs import Construct
from stacks.audit_stack import AuditStack
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
        # First, and a dependency of every other stack (so `cdk deploy` puts it first even
        # when one stack is named): the trail records the deployment of everything after it.
        self.audit = AuditStack(self, "Audit", config=config)
        self.network = NetworkStack(self, "Network", config=config)
        self.registry = RegistryStack(self, "Registry", config=config)
        self.service = ServiceStack(
            self, "Service", config=config, network=self.network, registry=self.registry
        )
        for child in self.node.children:
            if isinstance(child, Stack) and child is not self.audit:
                child.add_stack_dependency(self.audit, "CloudTrail records every deployment after it")
        Tags.of(self).add("Environment", config.name)
        for key, value in config.tags:
            Tags.of(self).add(key, value)
