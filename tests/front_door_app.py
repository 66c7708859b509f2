"""The throwaway app tests/app/test_front_door.py reads: a FrontDoor in front of a minimal service.

Per environment of the test session (tests/environments.py: with a certificate or without,
of either kind): the real Network stack, and a test stack holding a minimal Fargate service
behind a FrontDoor, with all six cdk-nag packs.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs

from compliance.acknowledgements import acknowledge, in_packs
from compliance.kms_grants import grants_only_for_aws_services
from compliance.packs import add_nag_packs, new_app, read_report
from config import EnvironmentConfig, load_environments
from config.api import CONTROL_PLANE_PORT, HEALTH_CHECK_PATH
from constructs import Construct
from constructs.front_door import FrontDoor
from constructs.log_encryption import LogsKey
from constructs.network_policy import NetworkPolicy
from stacks.base import OutpostStack
from stacks.exports import NetworkExports
from stacks.network_stack import NetworkStack
from tests.synth import read_templates, session_context
from tools.review.guard import run_guard


class ThrowawayService(Construct):
    """The smallest Fargate service the front door can route to (not part of the app).

    Its own nag findings are acknowledged here, in test code: the real control-plane
    service is built (and checked) in the Service stack.
    """

    def __init__(self, scope: Construct, construct_id: str, *, network: NetworkExports, logs_key: LogsKey):
        super().__init__(scope, construct_id)
        cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=network.vpc,
            # Plain "enabled": the Control Tower rule CT.ECS.PR.2 knows no other value.
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        task = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=256,
            memory_limit_mib=512,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        task.add_container(
            "api",
            memory_limit_mib=512,  # a hard limit (CT.ECS.PR.7)
            image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/busybox:1.36"),
            port_mappings=[ecs.PortMapping(container_port=CONTROL_PLANE_PORT)],
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="api", log_group=logs_key.log_group("ApiLogs", scope=self, retention_days=365)
            ),
            readonly_root_filesystem=True,
            user="1001",
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=task,
            # As constructs/control_plane.py does: the rules stay the network policy's.
            security_groups=[
                NetworkPolicy.without_rules(self, "ControlPlaneGroup", network.groups.control_plane)
            ],
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            assign_public_ip=False,
            desired_count=1,
            min_healthy_percent=100,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )
        # Test-only acknowledgement, on the throwaway service's execution role, not on the
        # front door: the real control-plane service owns its roles and their nag findings.
        acknowledge(
            task.obtain_execution_role(),
            "Test fixture only: CDK's inline default policy of the throwaway task's execution role "
            "(log writes to one group); the Service stack's roles are checked on their own.",
            *in_packs("IAMNoInlinePolicy"),
        )


class FrontDoorTestStack(OutpostStack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, network: NetworkExports
    ):
        super().__init__(scope, construct_id, config=config, description="front door under test")
        logs_key = LogsKey(
            self,
            "LogsKey",
            description="test logs",
            removal_policy=self.data_removal_policy,
            production=config.is_production,
        )
        service = ThrowawayService(self, "Throwaway", network=network, logs_key=logs_key)
        self.front_door = FrontDoor(
            self,
            "FrontDoor",
            config=config.ingress,
            vpc=network.vpc,
            security_group=network.groups.load_balancer,
            logs_key=logs_key,
            env_name=config.name,
            production=config.is_production,
        )
        self.service = service.service
        self.front_door.route_to(
            service.service, port=CONTROL_PLANE_PORT, health_check_path=HEALTH_CHECK_PATH
        )


@dataclass
class Synth:
    templates: dict[str, dict[str, Any]]
    report: dict[str, Any]
    urls: dict[str, str]
    front_doors: dict[str, FrontDoor]
    services: dict[str, ecs.FargateService]

    def resources(self, stage: str, resource_type: str) -> dict[str, dict[str, Any]]:
        template = self.templates[f"{stage}/FrontDoorTest"]
        return {k: r for k, r in template["Resources"].items() if r["Type"] == resource_type}

    def one(self, stage: str, resource_type: str) -> tuple[str, dict[str, Any]]:
        (item,) = self.resources(stage, resource_type).items()
        return item[0], item[1]["Properties"]


def synthesize_front_door(outdir: Path) -> Synth:
    """Synthesize the throwaway app into ``outdir`` with all six packs; an open finding does not raise."""
    context = {**session_context(), "aws:cdk:enable-path-metadata": True}
    app = new_app(outdir=str(outdir), context=context)
    urls, front_doors, services = {}, {}, {}
    environments = load_environments(context.get)
    for config in environments:
        stage = cdk.Stage(
            app, config.stage_name, env=cdk.Environment(account=config.account, region=config.region)
        )
        network = NetworkStack(stage, "Network", config=config)
        stack = FrontDoorTestStack(stage, "FrontDoorTest", config=config, network=network.exports)
        urls[config.stage_name] = stack.resolve(stack.front_door.url)
        front_doors[config.stage_name] = stack.front_door
        services[config.stage_name] = stack.service
        grants_only_for_aws_services(stage)  # as every OutpostStage does
    add_nag_packs(app)
    with contextlib.suppress(RuntimeError):  # an open finding: test_no_nag_findings names it
        app.synth()
    run_guard(outdir)  # the Control Tower rules, as `make scan` runs them
    return Synth(
        templates=read_templates(outdir, [config.stage_name for config in environments]),
        report=read_report(outdir),
        urls=urls,
        front_doors=front_doors,
        services=services,
    )
