"""One agent's task definition: the agent, its credential proxy, the roles, the logs, the workspaces.

This is the base definition of the agent's family (``outpost-<env>-<agent>``): it mounts no
workspace. For each dispatch the control plane registers a revision of the agent's dispatch
family (``outpost-<env>-<agent>-dispatch``, ``dispatch_family``) from it, adding the EFS volume
of that dispatch's own access point, runs it (``ecs:RunTask``) and deletes it afterwards
(docs/data.md); the warm pool runs the base definition. Every agent has its own execution
role, so no agent's task can be started with another agent's API key. Its task role holds no
S3 permission (artifacts go through presigned requests) and may mount only through an access
point other than the shared ``/workspaces`` one.

Credentials (docs/credentials.md). The agent's container holds none: no GitHub token (the
control plane writes a one-hour token for the dispatch's one repository into its workspace)
and no provider key. The key is an ECS secret of the task's second container, the credential
proxy, which listens on 127.0.0.1 only (containers of an ``awsvpc`` task share its network
namespace, so the agent reaches it on localhost and nothing outside the task can), replaces
whatever credential a request carries with the key, and forwards to the provider's API
origin alone. The task shares no process namespace (no ``pidMode``), and the two containers
share no volume, so the agent cannot read the proxy's environment.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager

from compliance.acknowledgements import acknowledge
from config.guardduty import GuardDutyAgentImage
from config.names import resource_name
from config.service import AgentConfig, CredentialProxyConfig, agent_container_memory
from constructs import Construct
from constructs.github_token import DISPATCH_TOKEN_PATH
from constructs.hardened_container import HardenedContainer, linux
from constructs.log_encryption import LogsKey
from constructs.provider_secrets import Provider, ProviderSecrets
from constructs.task_roles import ExecutionRole, TaskRole
from permissions.data_access import DataAccess
from permissions.tasks import guardduty_agent_statements, log_write_statements, pull_statements

AGENT_CONTAINER = "agent"
AGENT_USER = "1000"  # the base image's non-root user
# Writable mounts on a read-only root filesystem: the job's checkout and scratch space.
# The image must declare both as VOLUMEs owned by uid 1000 (see the README).
AGENT_VOLUMES = {"workspace": "/workspace", "tmp": "/tmp"}
# The credential proxy: its container, its non-root user (the distroless "nonroot" uid), and
# the loopback address it serves the agent on.
PROXY_CONTAINER = "credential-proxy"
PROXY_USER = "65532"
PROXY_PORT = 8787
PROXY_URL = f"http://127.0.0.1:{PROXY_PORT}"
# The variable the proxy reads the key from: an ECS secret of the proxy's container only.
PROXY_KEY_VARIABLE = "OUTPOST_PROVIDER_API_KEY"
# What the agent's CLI gets in its key variable: a placeholder (most CLIs refuse to start
# without one), which the proxy drops from every request before it sets the real key.
KEY_PLACEHOLDER = "outpost-credential-proxy"
# Where the agent finds the dispatch's GitHub token: the control plane writes it there
# (mode 0600) before RunTask and refreshes it while the task runs (docs/credentials.md).
GITHUB_TOKEN_FILE = f"/mnt/workspaces/{DISPATCH_TOKEN_PATH}"


def task_family(env_name: str, name: str) -> str:
    """``outpost-prod-claude``: fixed, so IAM can name the family before it exists."""
    return resource_name(env_name, name)


def dispatch_family(env_name: str, agent: str) -> str:
    """``outpost-prod-claude-dispatch``: the family of the per-dispatch revisions."""
    return f"{task_family(env_name, agent)}-dispatch"


def slot_family(env_name: str, agent: str) -> str:
    """``outpost-prod-claude-slot``: the family of the leased-slot revisions, one per slot, each
    mounting its slot's access point (docs/data.md, "Leased slots")."""
    return f"{task_family(env_name, agent)}-slot"


class AgentTask(Construct):
    """``task_definition``, ``task_role`` and its ``task_policy``, ``execution_role``, ``log_group``,
    ``family``, ``dispatch_family`` and ``slot_family``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        config: AgentConfig,
        architecture: str,
        repository: ecr.IRepository,
        proxy_repository: ecr.IRepository,
        proxy: CredentialProxyConfig,
        secrets: ProviderSecrets,
        data: DataAccess,
        logs_key: LogsKey,
        log_retention_days: int,
        stop_timeout_seconds: int,
        guardduty_agent: GuardDutyAgentImage | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        name = config.name
        self._guardduty_agent = guardduty_agent
        self.name = name
        self.family = task_family(env_name, name)
        self.dispatch_family = dispatch_family(env_name, name)
        self.slot_family = slot_family(env_name, name)
        self.log_group = logs_key.log_group("Logs", scope=self, retention_days=log_retention_days)
        self.provider, secret = secrets.for_agent(name)

        execution = self._execution_role(repository, proxy_repository, secrets)
        self.execution_role: iam.IRole = execution.role
        self.execution_policy = execution.policy
        # The agent talks to its model provider through the proxy and to git with its dispatch's
        # token; in AWS it only mounts its dispatch's workspace.
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
        self.proxy = self._proxy(proxy, proxy_repository, secret)
        self.container = self._container(config, proxy, repository, stop_timeout_seconds)

    def _execution_role(
        self, repository: ecr.IRepository, proxy_repository: ecr.IRepository, secrets: ProviderSecrets
    ) -> ExecutionRole:
        """Pull its two images, read its own provider key (for the proxy), write its logs."""
        name = self.name
        return ExecutionRole(
            self,
            "Execution",
            description=f"Starts {name} agent tasks: pulls its images, reads its proxy's key, writes logs",
            statements=[
                *pull_statements(repository, proxy_repository),
                *guardduty_agent_statements(self._guardduty_agent),
                *secrets.read_statements(name),
                *log_write_statements(self.log_group),
            ],
        )

    def _proxy(
        self, config: CredentialProxyConfig, repository: ecr.IRepository, secret: secretsmanager.ISecret
    ) -> HardenedContainer:
        """The credential proxy: the provider key as an ECS secret of this container alone; it
        serves 127.0.0.1 only and forwards to the provider's API origin only."""
        provider: Provider = self.provider
        return HardenedContainer(
            self.task_definition,
            "CredentialProxy",
            container_name=PROXY_CONTAINER,
            memory=config.memory,
            repository=repository,
            image_tag=config.image_tag,
            user=PROXY_USER,
            log_group=self.log_group,
            stream_prefix=self.name,
            scratch={},
            environment={
                "OUTPOST_PROXY_LISTEN": f"127.0.0.1:{PROXY_PORT}",
                "OUTPOST_PROXY_UPSTREAM": provider.upstream,
                "OUTPOST_PROXY_AUTH_HEADER": provider.header,
                # The key's prefix in that header (``Bearer``); none for a bare-key header.
                **({"OUTPOST_PROXY_AUTH_SCHEME": provider.scheme} if provider.scheme else {}),
            },
            secrets={PROXY_KEY_VARIABLE: self._injected("ProviderSecret", secret)},
            # Exec form, no shell: the image's own binary checks its listener.
            health_check=ecs.HealthCheck(
                command=["CMD", "/credential-proxy", "health"],
                interval=Duration.seconds(5),
                timeout=Duration.seconds(2),
                retries=3,
                start_period=Duration.seconds(5),
            ),
        )

    def _container(
        self,
        config: AgentConfig,
        proxy: CredentialProxyConfig,
        repository: ecr.IRepository,
        stop_timeout_seconds: int,
    ) -> HardenedContainer:
        """The agent's container: no secret at all. Its CLI's base URL is the proxy; its key
        variable a placeholder; its GitHub token a file of its dispatch's workspace."""
        provider: Provider = self.provider
        container = HardenedContainer(
            self.task_definition,
            "Agent",
            container_name=AGENT_CONTAINER,
            # What the settings' check measured: the task's less the proxy's and GuardDuty's agent's.
            memory=agent_container_memory(config, proxy.memory, self._guardduty_agent),
            repository=repository,
            image_tag=config.image_tag,
            user=AGENT_USER,
            log_group=self.log_group,
            stream_prefix=self.name,
            scratch=AGENT_VOLUMES,
            stop_timeout=Duration.seconds(stop_timeout_seconds),
            environment={
                provider.variable: KEY_PLACEHOLDER,
                "OUTPOST_PROVIDER_BASE_URL": PROXY_URL,
                **{variable: PROXY_URL + path for variable, path in provider.base_urls},
                "OUTPOST_GITHUB_TOKEN_FILE": GITHUB_TOKEN_FILE,
            },
        )
        # The agent starts once its proxy answers, and is stopped before it (ECS stops
        # dependents first).
        container.add_container_dependencies(
            ecs.ContainerDependency(container=self.proxy, condition=ecs.ContainerDependencyCondition.HEALTHY)
        )
        acknowledge(
            self.task_definition,
            "The environment holds no credential: the agent's key variable holds the fixed placeholder "
            f"{KEY_PLACEHOLDER!r}, the rest are the proxy's loopback URL and address, the provider's API "
            "origin and header names, and a file path; the provider key is an ECS secret of the proxy "
            "container, and tests/app/test_credentials.py fails on any other value in a credential-like "
            "variable.",
            "AwsSolutions-ECS2",
        )
        return container

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
