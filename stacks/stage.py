"""One environment: a cdk.Stage holding every stack of it."""

from __future__ import annotations

from aws_cdk import Environment, Stack, Stage, Tags

from compliance.kms_grants import grants_only_for_aws_services
from config import EnvironmentConfig
from constructs import Construct
from constructs.operations_alarms import Watched
from stacks.alerts_stack import AlertsStack
from stacks.audit_stack import AuditStack
from stacks.data_stack import DataStack
from stacks.monitoring_stack import MonitoringStack
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
        self.data = DataStack(self, "Data", config=config, network=self.network.exports)
        self.registry = RegistryStack(self, "Registry", config=config)
        # Before every stack that alarms: the topic their alarms notify.
        self.alerts = AlertsStack(self, "Alerts", config=config)
        self.service = ServiceStack(
            self,
            "Service",
            config=config,
            network=self.network.exports,
            registry=self.registry.exports,
            data=self.data.exports,
            alarm_topic=self.alerts.topic,
        )
        # Its task definitions name the Registry's repositories by name, not by reference.
        self.service.add_stack_dependency(
            self.registry, "task definitions pull the images of its repositories"
        )
        # Last: it reads the metrics of the stacks above.
        self.monitoring = MonitoringStack(
            self,
            "Monitoring",
            config=config,
            topic=self.alerts.topic,
            watched=Watched(
                network=self.network.watched, data=self.data.watched, service=self.service.watched
            ),
        )
        for child in self.node.children:
            if isinstance(child, Stack) and child is not self.audit:
                child.add_stack_dependency(self.audit, "CloudTrail records every deployment after it")
        Tags.of(self).add("Environment", config.name)
        for key, value in config.tags:
            Tags.of(self).add(key, value)
        # Every KMS key of every stack above lets only AWS services create grants (CT.KMS.PR.3).
        grants_only_for_aws_services(self)
