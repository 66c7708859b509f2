"""Service stack: the ECS cluster, the control-plane service and the five agent task definitions.

The public load balancer (``FrontDoor``: ALB, WAF, listeners) routes the API's paths to the
control plane, whose request-count scaling follows the load balancer's target group. Every
release of the control plane is watched by the release alarms (5xx answers, p95 latency),
which roll it back when they fire and page on-call through the Alerts stack's topic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import CfnOutput
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_sns as sns

from compliance.acknowledgements import acknowledge, control_tower
from config import AGENTS, EnvironmentConfig
from config.api import CONTROL_PLANE_PORT, HEALTH_CHECK_PATH
from config.names import pascal
from config.registry import CREDENTIAL_PROXY_IMAGE
from constructs import Construct
from constructs.agent_task import AgentTask
from constructs.control_plane import AgentFleet, ControlPlane
from constructs.dispatch_janitor import DispatchJanitor
from constructs.front_door import FrontDoor
from constructs.log_encryption import LogsKey
from constructs.operations_alarms import ServiceWatched
from constructs.release_alarms import ReleaseAlarms
from stacks.base import OutpostStack
from stacks.exports import DataExports, NetworkExports, RegistryExports


class ServiceStack(OutpostStack):
    """``cluster``, ``control_plane``, ``agents`` (name -> AgentTask), ``provider_secrets``
    (the Data stack's), ``front_door`` (the public ALB), ``target_group`` (the control
    plane behind it) and ``release_alarms`` (what a release is rolled back on; they notify
    ``alarm_topic``, the Alerts stack's); ``watched``: what the Monitoring stack's alarms watch.

    Every secret lives in the Data stack: the agents read their provider key and the GitHub
    token from there, and the control plane uses the tables, bucket, bus and workspaces there.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        network: NetworkExports,
        registry: RegistryExports,
        data: DataExports,
        alarm_topic: sns.ITopic,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description="ECS cluster, control-plane service and the agent task definitions",
            **kwargs,
        )
        self.provider_secrets = data.provider_secrets
        self.logs_key = LogsKey(
            self,
            "LogsKey",
            description=f"Outpost {config.name}: encrypts the control-plane and agent logs",
            removal_policy=self.data_removal_policy,
            production=config.is_production,
        )
        self.cluster = self._cluster(network)
        repositories = {
            image: registry.repository(self, image)
            for image in (*AGENTS, "control-plane", CREDENTIAL_PROXY_IMAGE)
        }
        self.agents = self._agents(repositories, data)
        self.control_plane = self._control_plane(network, repositories["control-plane"], data)
        self._front_door(network, alarm_topic)
        # Cleans up after a control plane that died mid-dispatch.
        self.janitor = DispatchJanitor(
            self,
            "DispatchJanitor",
            env_name=config.name,
            config=config.service.janitor,
            worker_task_timeout_seconds=config.service.control_plane.worker_task_timeout_seconds,
            cluster=self.cluster,
            agents=list(self.agents.values()),
            data=data.access,
            vpc=network.vpc,
            security_group=network.groups.janitor,
            dead_letters=data.dead_letters,
            logs_key=self.logs_key,
        )
        self._outputs()

    def _agents(self, repositories: Mapping[str, ecr.IRepository], data: DataExports) -> dict[str, AgentTask]:
        """One task definition per agent, by agent name."""
        config = self.config
        return {
            name: AgentTask(
                self,
                pascal(name),
                env_name=config.name,
                config=config.service.agent(name),
                architecture=config.service.agent_architecture,
                repository=repositories[name],
                proxy_repository=repositories[CREDENTIAL_PROXY_IMAGE],
                proxy=config.service.credential_proxy,
                secrets=self.provider_secrets,
                data=data.access,
                logs_key=self.logs_key,
                log_retention_days=config.service.log_retention_days,
                stop_timeout_seconds=config.service.agent_stop_timeout_seconds,
                guardduty_agent=config.audit.guardduty_agent,
            )
            for name in AGENTS
        }

    def _cluster(self, network: NetworkExports) -> ecs.Cluster:
        cluster = ecs.Cluster(
            self,
            "Cluster",
            # Fixed: the Data stack's task-state rule names this cluster before it exists.
            cluster_name=self.config.cluster_name,
            vpc=network.vpc,
            container_insights_v2=ecs.ContainerInsights.ENHANCED,
            enable_fargate_capacity_providers=True,
        )
        acknowledge(
            cluster.node.default_child or cluster,
            "Container Insights is on, in its enhanced mode (containerInsights=enhanced: per-task and "
            "per-container metrics), a superset of the 'enabled' value this Control Tower rule expects.",
            control_tower("ecs_container_insights_enabled_check"),
        )
        return cluster

    def _control_plane(
        self, network: NetworkExports, repository: ecr.IRepository, data: DataExports
    ) -> ControlPlane:
        settings = self.config.service
        return ControlPlane(
            self,
            "ControlPlane",
            env_name=self.config.name,
            config=settings.control_plane,
            slots=settings.slots,
            cluster=self.cluster,
            repository=repository,
            subnets=network.vpc.private_subnets,
            security_group=network.groups.control_plane,
            agents=AgentFleet(
                tasks=list(self.agents.values()),
                security_group=network.groups.agents,
                capacity_provider=settings.agent_capacity_provider,
                platform_version=settings.agent_platform_version,
            ),
            logs_key=self.logs_key,
            log_retention_days=settings.log_retention_days,
            data=data.access,
            guardduty_agent=self.config.audit.guardduty_agent,
        )

    def _front_door(self, network: NetworkExports, alarm_topic: sns.ITopic) -> None:
        """``front_door`` routing to the control plane (``target_group``), which scales on its
        requests, and ``release_alarms``, which guard the control plane's deployments."""
        config = self.config
        self.front_door = FrontDoor(
            self,
            "FrontDoor",
            config=config.ingress,
            vpc=network.vpc,
            security_group=network.groups.load_balancer,
            logs_key=self.logs_key,
            env_name=config.name,
            production=config.is_production,
        )
        self.target_group = self.front_door.route_to(
            self.control_plane.service, port=CONTROL_PLANE_PORT, health_check_path=HEALTH_CHECK_PATH
        )
        self.control_plane.scale_on_requests(self.target_group)
        self.release_alarms = ReleaseAlarms(
            self,
            "ReleaseAlarms",
            env_name=config.name,
            topic=alarm_topic,
            load_balancer=self.front_door.load_balancer,
            target_group=self.target_group,
            thresholds=config.monitoring,
            bake_minutes=config.service.control_plane.bake_minutes,
        )
        self.release_alarms.guard(self.control_plane.service)

    def _outputs(self) -> None:
        CfnOutput(self, "ClusterName", value=self.cluster.cluster_name, description="The ECS cluster")
        CfnOutput(
            self,
            "ControlPlaneServiceName",
            value=self.control_plane.service.service_name,
            description="The control-plane ECS service (aws ecs describe-services)",
        )
        CfnOutput(
            self,
            "ControlPlaneLogGroup",
            value=self.control_plane.log_group.log_group_name,
            description="The control plane's logs (aws logs tail)",
        )
        for name, agent in self.agents.items():
            CfnOutput(
                self,
                f"{pascal(name)}TaskDefinition",
                value=agent.task_definition.task_definition_arn,
                description=f"The {name} agent task definition",
            )

    @property
    def watched(self) -> ServiceWatched:
        return ServiceWatched(
            load_balancer=self.front_door.load_balancer,
            target_group=self.target_group,
            service=self.control_plane.service,
            janitor=self.janitor.function,
            stuck_leases=self.janitor.stuck_leases,
            release_alarms=self.release_alarms.alarms,
            web_acl=self.front_door.web_acl,
        )
