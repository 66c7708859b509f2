"""One agent's task definition: the image, the size, the keys, the logs, the roles, the workspaces.

This is the base definition of the agent's family (``outpost-<env>-<agent>``): it mounts no
workspace. For each dispatch the control plane registers a revision of the agent's dispatch
family (``outpost-<env>-<agent>-dispatch``, ``dispatch_family``) from it, adding the EFS volume
of that dispatch's own access point, runs it (``ecs:RunTask``) and deletes it afterwards
(docs/data.md); the warm pool runs the base definition. Every agent has its own execution
role, so no agent's task can be started with another agent's API key. Its task role holds no
S3 permission (artifacts go through presigned requests) and may mount only through an access
point other than the shared ``/workspaces`` one.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager

from config.names import resource_name
from config.service import AgentConfig
from constructs import Construct
from constructs.hardened_container import HardenedContainer, linux
from constructs.log_encryption import LogsKey
from constructs.provider_secrets import ProviderSecrets
from constructs.task_roles import ExecutionRole, TaskRole
from permissions.data_access import DataAccess
from permissions.tasks import log_write_statements, pull_statements

AGENT_CONTAINER = "agent"
AGENT_USER = "1000"  # the base image's non-root user
# Writable mounts on a read-only root filesystem: the job's checkout and scratch space.
# The image must declare both as VOLUMEs owned by uid 1000 (see the README).
AGENT_VOLUMES = {"workspace": "/workspace", "tmp": "/tmp"}
GITHUB_TOKEN_VARIABLE = "GITHUB_TOKEN"


def task_family(env_name: str, name: str) -> str:
    """``outpost-prod-claude``: fixed, so IAM can name the family before it exists."""
    return resource_name(env_name, name)


def dispatch_family(env_name: str, agent: str) -> str:
    """``outpost-prod-claude-dispatch``: the family of the per-dispatch revisions."""
    return f"{task_family(env_name, agent)}-dispatch"


class AgentTask(Construct):
    """``task_definition``, ``task_role`` and its ``task_policy``, ``execution_role``, ``log_group``,
    ``family`` and ``dispatch_family``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        config: AgentConfig,
        architecture: str,
        repository: ecr.IRepository,
        secrets: ProviderSecrets,
        data: DataAccess,
        logs_key: LogsKey,
        log_retention_days: int,
        stop_timeout_seconds: int,
    ) -> None:
        super().__init__(scope, construct_id)
        name = config.name
        self.name = name
        self.family = task_family(env_name, name)
        self.dispatch_family = dispatch_family(env_name, name)
        self.log_group = logs_key.log_group("Logs", scope=self, retention_days=log_retention_days)
        self.secret_variable, secret = secrets.for_agent(name)

        execution = self._execution_role(repository, secrets, data)
        self.execution_role: iam.IRole = execution.role
        self.execution_policy = execution.policy
        # The agent talks to its model provider with its API key and to git with the token;
        # in AWS it only mounts its dispatch's workspace.
        self.task_role = TaskRole(
            self, "TaskRole", description=f"Identity of {name} agent tasks: its dispatch's workspace only"
        )
        self.task_policy = iam.ManagedPolicy(
            self, "TaskPolicy", roles=[self.task_role], statements=data.agent_statements(self)
        )
        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            family=self.family,
            cpu=config.cpu,
            memory_limit_mib=config.memory,
            ephemeral_storage_gib=config.ephemeral_storage_gib,
            runtime_platform=linux(architecture),
            execution_role=self.execution_role,
            task_role=self.task_role,
            volumes=[ecs.Volume(name=volume) for volume in AGENT_VOLUMES],
        )
        execution.depend_on_policy(self.task_definition)
        # A dispatch's revision must not start before its task may mount the workspace.
        self.task_definition.node.add_dependency(self.task_policy)
        self.container = self._container(config, repository, stop_timeout_seconds, secret, data)

    def _execution_role(
        self, repository: ecr.IRepository, secrets: ProviderSecrets, data: DataAccess
    ) -> ExecutionRole:
        """Pull its image, read its own provider key and the GitHub token, write its logs."""
        name = self.name
        return ExecutionRole(
            self,
            "Execution",
            description=f"Starts {name} agent tasks: pulls its image, reads its key, writes its logs",
            statements=[
                *pull_statements(repository),
                *secrets.read_statements(name),
                # Every agent pushes with the GitHub token (GITHUB_TOKEN below).
                *data.github_token_statements(Stack.of(self).region),
                *log_write_statements(self.log_group),
            ],
        )

    def _container(
        self,
        config: AgentConfig,
        repository: ecr.IRepository,
        stop_timeout_seconds: int,
        secret: secretsmanager.ISecret,
        data: DataAccess,
    ) -> HardenedContainer:
        """The agent's container: its provider key and the GitHub token as ECS secrets."""
        return HardenedContainer(
            self.task_definition,
            "Agent",
            container_name=AGENT_CONTAINER,
            memory=config.memory,
            repository=repository,
            image_tag=config.image_tag,
            user=AGENT_USER,
            log_group=self.log_group,
            stream_prefix=self.name,
            scratch=AGENT_VOLUMES,
            stop_timeout=Duration.seconds(stop_timeout_seconds),
            secrets={
                self.secret_variable: self._injected("ProviderSecret", secret),
                GITHUB_TOKEN_VARIABLE: self._injected("GithubToken", data.github_token),
            },
        )

    def _injected(self, construct_id: str, secret: secretsmanager.ISecret) -> ecs.Secret:
        """``secret`` as an ECS secret, referenced by its ARN only.

        Handing ECS the secret itself would make it grant its KMS key to the execution role in
        the key policy (the role takes no policy updates, so the grant falls back to the key):
        a duplicate of the explicit statements above, and a reference from the Data stack back
        to this one. The execution role's policy holds the reads, nothing else does.
        """
        return ecs.Secret.from_secrets_manager(
            secretsmanager.Secret.from_secret_attributes(
                self, construct_id, secret_complete_arn=secret.secret_arn
            )
        )
