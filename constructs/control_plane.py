"""The control-plane API on Fargate: its task, its service, its least-privilege role, its scaling.

The service runs in the private subnets with the control plane's security group and no
public address; a deployment that cannot get healthy tasks is stopped and rolled back by
the circuit breaker; the load balancer (built elsewhere) registers it as a target and
health-checks it on ``config.api``'s port and path. Configuration reaches the container as
plain environment variables (identifiers only); any credential would go through ECS secrets.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import jsii
from aws_cdk import Aspects, Duration, Fn, IAspect, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam

from compliance.acknowledgements import acknowledge
from config.api import CONTROL_PLANE_PORT, HEALTH_CHECK_PATH
from config.guardduty import GuardDutyAgentImage, guardduty_share
from config.service import ControlPlaneConfig, SlotsConfig
from config.slots import SLOTS_DIRECTORY_NAME
from constructs import Construct, IConstruct
from constructs.agent_task import AGENT_CONTAINER, AgentTask, task_family
from constructs.github_token import DISPATCH_TOKEN_PATH, DISPATCH_TOKEN_PERMISSIONS, GITHUB_API
from constructs.hardened_container import ARM64_LINUX, HardenedContainer
from constructs.log_encryption import LogsKey
from constructs.network_policy import NetworkPolicy
from constructs.task_roles import ExecutionRole, TaskRole
from constructs.workspaces_fs import MOUNT_PATH
from permissions.control_plane_policies import POLICIES, acknowledge_control_plane, control_plane_statements
from permissions.data_access import DataAccess
from permissions.tasks import guardduty_agent_statements, log_write_statements, pull_statements

CONTAINER = "control-plane"
USER = "1001"  # the image's non-root user (node:22-alpine based)
SCRATCH = {"tmp": "/tmp"}
LOCAL_HEALTH_CHECK = f"http://127.0.0.1:{CONTROL_PLANE_PORT}{HEALTH_CHECK_PATH}"
# The workspaces file system, mounted at MOUNT_PATH.
WORKSPACES_VOLUME = "workspaces"


@dataclass(frozen=True)
class AgentFleet:
    """The agents the control plane launches, and how: their tasks, the security group and the
    capacity provider they run with, and RunTask's platform version (Fargate Spot needs 1.4.0
    or later for ARM64 tasks)."""

    tasks: Sequence[AgentTask]
    security_group: ec2.ISecurityGroup
    capacity_provider: str
    platform_version: str


class ControlPlane(Construct):
    """``service``, ``task_definition``, ``container``, ``environment``, ``task_role``,
    ``policies``, ``log_group``, ``scaling``.

    ``policies`` are the managed policies holding every permission of the task role, one per
    concern (``permissions/control_plane_policies.py``): launching agents, dispatch records and events,
    artifacts, workspaces. The workspaces file system is mounted at ``/mnt/workspaces``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        config: ControlPlaneConfig,
        slots: SlotsConfig,
        cluster: ecs.Cluster,
        repository: ecr.IRepository,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        agents: AgentFleet,
        logs_key: LogsKey,
        log_retention_days: int,
        data: DataAccess,
        guardduty_agent: GuardDutyAgentImage | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._slots = slots
        self._guardduty_agent = guardduty_agent
        self.log_group = logs_key.log_group("Logs", scope=self, retention_days=log_retention_days)
        execution = ExecutionRole(
            self,
            "Execution",
            description="Starts control-plane tasks: pulls its image, writes its logs",
            statements=[
                *pull_statements(repository),
                *guardduty_agent_statements(guardduty_agent),
                *log_write_statements(self.log_group),
            ],
        )
        self.task_role = TaskRole(self, "TaskRole", description="Identity of the control-plane API tasks")
        self.policies = self._policies(cluster, agents, data)
        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            family=task_family(env_name, "control-plane"),
            cpu=config.cpu,
            memory_limit_mib=config.memory,
            runtime_platform=ARM64_LINUX,
            execution_role=execution.role,
            task_role=self.task_role,
            volumes=[*(ecs.Volume(name=volume) for volume in SCRATCH), _workspaces_volume(data)],
        )
        execution.depend_on_policy(self.task_definition)
        self.environment = self._environment(env_name, cluster, subnets, agents, data)
        self.container = self._container(repository)
        self.service = self._service(cluster, subnets, security_group)
        low, high = config.scaling_bounds
        self.scaling = self.service.auto_scale_task_count(min_capacity=low, max_capacity=high)
        self.scaling.scale_on_cpu_utilization(
            "CpuScaling",
            target_utilization_percent=config.cpu_target_percent,
            scale_in_cooldown=Duration.seconds(config.scale_in_cooldown_seconds),
            scale_out_cooldown=Duration.seconds(config.scale_out_cooldown_seconds),
        )

    def scale_on_requests(self, target_group: elbv2.ApplicationTargetGroup) -> None:
        """Target tracking on ALB requests per target; call once the target group exists."""
        self.scaling.scale_on_request_count(
            "RequestScaling",
            requests_per_target=self._config.requests_per_target,
            target_group=target_group,
            scale_in_cooldown=Duration.seconds(self._config.scale_in_cooldown_seconds),
            scale_out_cooldown=Duration.seconds(self._config.scale_out_cooldown_seconds),
        )

    def _policies(
        self, cluster: ecs.ICluster, fleet: AgentFleet, data: DataAccess
    ) -> dict[str, iam.ManagedPolicy]:
        """The task role's managed policies, by construct id (``POLICIES``)."""
        agents = fleet.tasks
        statements = control_plane_statements(
            self, cluster=cluster, agents=agents, data=data, capacity_provider=fleet.capacity_provider
        )
        policies = {
            name: iam.ManagedPolicy(
                self,
                name,
                description=f"Control-plane tasks: {POLICIES[name]}",
                roles=[self.task_role],
                statements=statements[name],
            )
            for name in POLICIES
        }
        # Passing the agents their roles moved from LaunchPolicy to AgentRolesPolicy: created
        # first, so no dispatch of a deploy's minutes finds the control plane without iam:PassRole
        # (CloudFormation updates and creates independent resources in parallel).
        policies["LaunchPolicy"].node.add_dependency(policies["AgentRolesPolicy"])
        acknowledge_control_plane(policies, cluster=cluster, agents=agents, data=data)
        return policies

    def _container(self, repository: ecr.IRepository) -> ecs.ContainerDefinition:
        """The API's container: ``config.api``'s port and health check, the workspaces mounted."""
        container = HardenedContainer(
            self.task_definition,
            "ControlPlane",
            container_name=CONTAINER,
            # The task's memory, less GuardDuty's agent's where it joins the task (config/guardduty.py).
            memory=self._config.memory
            - guardduty_share(self._guardduty_agent, self._config.cpu, self._config.memory),
            repository=repository,
            image_tag=self._config.image_tag,
            user=USER,
            log_group=self.log_group,
            stream_prefix=CONTAINER,
            scratch=SCRATCH,
            mounts=[
                ecs.MountPoint(source_volume=WORKSPACES_VOLUME, container_path=MOUNT_PATH, read_only=False)
            ],
            port_mappings=[ecs.PortMapping(container_port=CONTROL_PLANE_PORT, protocol=ecs.Protocol.TCP)],
            environment=self.environment,
            health_check=ecs.HealthCheck(
                # busybox wget is part of the alpine base image.
                command=["CMD-SHELL", f"wget -q -O /dev/null {LOCAL_HEALTH_CHECK} || exit 1"],
                interval=Duration.seconds(30),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(60),
            ),
        )
        acknowledge(
            self.task_definition,
            "The environment holds only non-secret identifiers (cluster, task-definition and secret "
            "ARNs, table, bucket and bus names, subnet, security-group and file-system ids, log-group "
            "names, sizes, timeouts); credentials go through ECS secrets or Secrets Manager calls, and "
            "tests/test_control_plane.py fails on any credential-like variable that does not reference a "
            "Data-stack secret (its ARN) or table (its name).",
            "AwsSolutions-ECS2",
        )
        return container

    def _service(
        self, cluster: ecs.ICluster, subnets: Sequence[ec2.ISubnet], security_group: ec2.ISecurityGroup
    ) -> ecs.FargateService:
        """Rolling deployments behind the circuit breaker, in ``subnets``, with no public address."""
        service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=self.task_definition,
            # No count after the first creation: the template would set it back on every deploy.
            # CloudFormation (AWS::ECS::Service DesiredCount): "For new services, if a desired
            # count is not specified, a default value of 1 is used ... For existing services, if
            # a desired count is not specified, it is omitted from the operation", so a deploy
            # keeps the count autoscaling set. The scalable target (the constructor's) raises a new service to
            # min_tasks: RegisterScalableTarget "changes the resource's current capacity to a
            # value that is inside of this range", also when it updates an existing target
            # (Application Auto Scaling API reference). aws-cdk-lib passes desired_count=None
            # through as an absent property (the ecs-patterns removeDefaultDesiredCount flag does
            # not concern this L2). Bootstrap states 0: there is no image to run yet.
            desired_count=self._config.fixed_desired_count,
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            capacity_provider_strategies=[
                ecs.CapacityProviderStrategy(capacity_provider="FARGATE", weight=1)
            ],
            platform_version=ecs.FargatePlatformVersion.LATEST,
            vpc_subnets=ec2.SubnetSelection(subnets=list(subnets)),
            assign_public_ip=False,
            # The network policy (Network stack) owns every rule: attaching a target group
            # here cannot add a second one.
            security_groups=[NetworkPolicy.without_rules(self, "SecurityGroup", security_group)],
            availability_zone_rebalancing=ecs.AvailabilityZoneRebalancing.ENABLED,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
            enable_ecs_managed_tags=True,
            enable_execute_command=False,
        )
        # Start tasks only once their permissions exist and the cluster can place them on
        # FARGATE: the capacity-provider association is a resource of its own, which nothing
        # references (the cluster itself is ordered by the service's reference to it).
        service.node.add_dependency(*self.policies.values())
        Aspects.of(service).add(_WaitForCapacityProviders(service, cluster))
        return service

    def _environment(
        self,
        env_name: str,
        cluster: ecs.ICluster,
        subnets: Sequence[ec2.ISubnet],
        agents: AgentFleet,
        data: DataAccess,
    ) -> dict[str, str]:
        """Plain configuration of the API: identifiers only, never a credential."""
        stack = Stack.of(self)
        environment = {
            "NODE_ENV": "production",
            "PORT": str(CONTROL_PLANE_PORT),
            "AWS_REGION": stack.region,
            "OUTPOST_ENVIRONMENT": env_name,
            "OUTPOST_CLUSTER_ARN": cluster.cluster_arn,
            "OUTPOST_WORKER_SUBNETS": Fn.join(",", [subnet.subnet_id for subnet in subnets]),
            "OUTPOST_WORKER_SECURITY_GROUP": agents.security_group.security_group_id,
            "OUTPOST_AGENT_CAPACITY_PROVIDER": agents.capacity_provider,
            # RunTask's platformVersion: Fargate Spot needs 1.4.0 or later for ARM64 tasks.
            "OUTPOST_AGENT_PLATFORM_VERSION": agents.platform_version,
            "OUTPOST_AGENT_CONTAINER_NAME": AGENT_CONTAINER,
            "OUTPOST_WORKER_TASK_TIMEOUT_SECONDS": str(self._config.worker_task_timeout_seconds),
            "OUTPOST_AGENTS": ",".join(agent.name for agent in agents.tasks),
            "OUTPOST_WARM_POOL_SIZE": str(self._config.warm_pool_size),
            "OUTPOST_ARTIFACTS_BUCKET": data.artifacts.bucket_name,
            "OUTPOST_EVENT_BUS_NAME": data.event_bus.event_bus_name,
            "OUTPOST_EFS_FILE_SYSTEM_ID": data.file_system.file_system_id,
            "OUTPOST_EFS_ACCESS_POINT_ID": data.access_point.access_point_id,
            "OUTPOST_WORKSPACES_PATH": MOUNT_PATH,
            # The leased-slot pool (docs/data.md, "Leased slots"): its size, how fast it grows, the
            # per-dispatch access points it may fall back to, where slot roots live; the leases
            # are OUTPOST_TABLE_SLOT_LEASES, each agent's slot family OUTPOST_SLOT_FAMILY_<AGENT>.
            "OUTPOST_SLOT_POOL_SIZE": str(self._slots.pool_size),
            "OUTPOST_SLOT_REGISTRATIONS_PER_MINUTE": str(self._slots.registrations_per_minute),
            "OUTPOST_SLOT_FALLBACK_ACCESS_POINTS": str(self._slots.fallback_access_points),
            "OUTPOST_SLOTS_PATH": f"{MOUNT_PATH}/{SLOTS_DIRECTORY_NAME}",
            # Per dispatch, the API mints a GitHub App installation token for the dispatch's one
            # repository with the App's private key (the ARN of the one secret it reads itself,
            # never a value) and writes it into the dispatch's workspace (docs/credentials.md).
            "OUTPOST_GITHUB_API_URL": GITHUB_API,
            "OUTPOST_GITHUB_APP_ID": str(self._config.github_app_id),
            "OUTPOST_GITHUB_APP_INSTALLATION_ID": str(self._config.github_app_installation_id),
            "OUTPOST_GITHUB_APP_PRIVATE_KEY_SECRET_ARN": data.github_app_key.secret_arn,
            "OUTPOST_GITHUB_TOKEN_PERMISSIONS": json.dumps(DISPATCH_TOKEN_PERMISSIONS, sort_keys=True),
            "OUTPOST_GITHUB_TOKEN_PATH": DISPATCH_TOKEN_PATH,
        }
        for name, table in data.tables.items():
            environment[f"OUTPOST_TABLE_{name.upper()}"] = table.table_name
        for agent in agents.tasks:
            upper = agent.name.upper()
            environment[f"OUTPOST_TASK_DEF_{upper}"] = agent.task_definition.task_definition_arn
            # Per dispatch: a revision of this family with the dispatch's access point.
            environment[f"OUTPOST_DISPATCH_FAMILY_{upper}"] = agent.dispatch_family
            # Leased slots: the pre-registered revisions of this family, one per slot.
            environment[f"OUTPOST_SLOT_FAMILY_{upper}"] = agent.slot_family
            environment[f"OUTPOST_LOG_GROUP_{upper}"] = agent.log_group.log_group_name
        return environment


def _workspaces_volume(data: DataAccess) -> ecs.Volume:
    """The workspaces file system through the shared ``/workspaces`` access point: TLS in
    transit, and the task role's IAM identity (the file-system policy refuses anything else)."""
    return ecs.Volume(
        name=WORKSPACES_VOLUME,
        efs_volume_configuration=ecs.EfsVolumeConfiguration(
            file_system_id=data.file_system.file_system_id,
            transit_encryption="ENABLED",
            authorization_config=ecs.AuthorizationConfig(
                access_point_id=data.access_point.access_point_id, iam="ENABLED"
            ),
        ),
    )


@jsii.implements(IAspect)
class _WaitForCapacityProviders:
    """Makes ``service`` wait for ``cluster``'s capacity-provider association, which the
    cluster only creates at synthesis, in an aspect of its own (this one runs after it)."""

    def __init__(self, service: ecs.FargateService, cluster: ecs.ICluster) -> None:
        self._service = service
        self._cluster = cluster

    def visit(self, node: IConstruct) -> None:
        association = self._cluster.node.try_find_child("Cluster")
        if node is self._service and association is not None:
            node.node.add_dependency(association)
