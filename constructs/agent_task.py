"""One agent's task definition: the image, the size, the key, the logs, the roles.

The control plane launches one task of it per dispatch (``ecs:RunTask``); nothing here
runs on its own. Every agent has its own execution role, so no agent's task can be
started with another agent's API key.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam

from config.service import AgentConfig
from constructs import Construct
from constructs.log_encryption import LogsKey
from constructs.provider_secrets import ProviderSecrets
from constructs.task_roles import ExecutionRole, log_write_statements, pull_statements, task_role

AGENT_CONTAINER = "agent"
AGENT_USER = "1000"  # the base image's non-root user
# Writable mounts on a read-only root filesystem: the job's checkout and scratch space.
# The image must declare both as VOLUMEs owned by uid 1000 (see the README).
AGENT_VOLUMES = {"workspace": "/workspace", "tmp": "/tmp"}

ARM64_LINUX = ecs.RuntimePlatform(
    cpu_architecture=ecs.CpuArchitecture.ARM64,
    operating_system_family=ecs.OperatingSystemFamily.LINUX,
)


def task_family(env_name: str, name: str) -> str:
    """``outpost-prod-claude``: fixed, so IAM can name the family before it exists."""
    return f"outpost-{env_name}-{name}"


class AgentTask(Construct):
    """``task_definition``, ``task_role``, ``execution_role``, ``log_group``, ``family``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        config: AgentConfig,
        repository: ecr.IRepository,
        secrets: ProviderSecrets,
        logs_key: LogsKey,
        log_retention_days: int,
        stop_timeout_seconds: int,
    ) -> None:
        super().__init__(scope, construct_id)
        name = config.name
        self.name = name
        self.family = task_family(env_name, name)
        self.log_group = logs_key.log_group("Logs", scope=self, retention_days=log_retention_days)
        variable, secret = secrets.for_agent(name)
        self.secret_variable = variable

        execution = ExecutionRole(
            self,
            "Execution",
            description=f"Starts {name} agent tasks: pulls its image, reads its key, writes its logs",
            statements=[
                *pull_statements(repository),
                *secrets.read_statements(name),
                *log_write_statements(self.log_group),
            ],
        )
        self.execution_role: iam.IRole = execution.role
        self.execution_policy = execution.policy
        # Empty on purpose: the agent talks to its model provider with its API key and to
        # git over HTTPS; it needs no AWS permission (yet).
        self.task_role = task_role(
            self, "TaskRole", description=f"Identity of {name} agent tasks (no permissions)"
        )

        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            family=self.family,
            cpu=config.cpu,
            memory_limit_mib=config.memory,
            ephemeral_storage_gib=config.ephemeral_storage_gib,
            runtime_platform=ARM64_LINUX,
            execution_role=self.execution_role,
            task_role=self.task_role,
            volumes=[ecs.Volume(name=volume) for volume in AGENT_VOLUMES],
        )
        execution.depend_on_policy(self.task_definition)
        linux = ecs.LinuxParameters(self, "Linux")
        linux.drop_capabilities(ecs.Capability.ALL)
        self.container = self.task_definition.add_container(
            "Agent",
            # A hard limit, the task's size: the container cannot take more (CT.ECS.PR.7).
            memory_limit_mib=config.memory,
            container_name=AGENT_CONTAINER,
            image=ecs.ContainerImage.from_ecr_repository(repository, config.image_tag),
            essential=True,
            user=AGENT_USER,
            readonly_root_filesystem=True,
            linux_parameters=linux,
            stop_timeout=Duration.seconds(stop_timeout_seconds),
            logging=ecs.LogDrivers.aws_logs(stream_prefix=name, log_group=self.log_group),
            secrets={variable: ecs.Secret.from_secrets_manager(secret)},
        )
        self.container.add_mount_points(
            *(
                ecs.MountPoint(source_volume=volume, container_path=path, read_only=False)
                for volume, path in AGENT_VOLUMES.items()
            )
        )
