"""Data stack: everything the control plane keeps or talks to, and the task-state callback."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput
from aws_cdk import aws_kms as kms

from config import EnvironmentConfig
from config.names import pascal
from constructs import Construct
from constructs.artifacts_bucket import ArtifactsBucket
from constructs.artifacts_collector import ArtifactsCollector
from constructs.dispatch_tables import DispatchTables
from constructs.event_bus import OutpostEventBus
from constructs.github_token import GithubAppKey, github_app_key_name
from constructs.log_encryption import LogsKey
from constructs.operations_alarms import DataWatched
from constructs.provider_secrets import ProviderSecrets
from constructs.task_state_callback import TaskStateCallback
from constructs.workspace_sweeper import WorkspaceSweeper
from constructs.workspaces_fs import WorkspacesFileSystem
from permissions.data_access import DataAccess
from stacks.base import OutpostStack
from stacks.exports import DataExports, NetworkExports


class DataStack(OutpostStack):
    """Artifacts bucket, DynamoDB tables, every secret (the GitHub App's private key and
    the model providers' API keys), event bus, workspaces EFS, task-state callback. Data is retained in
    production (``data_removal_policy``).

    ``exports`` is what the Service stack uses of it (``access``, the bundle its tasks are
    given; the provider secrets; the dead-letter queue), ``watched`` what the alarms watch.
    Attributes: ``key``, ``artifacts``, ``tables`` (by name), ``github_app_key``,
    ``provider_secrets``, ``event_bus``, ``file_system``, ``access_point``, ``callback``,
    ``sweeper``, ``access``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        network: NetworkExports,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description="artifacts, dispatch tables, secrets, event bus, workspaces, task-state callback",
            **kwargs,
        )
        removal = self.data_removal_policy
        self.key = kms.Key(
            self,
            "DataKey",
            description=f"Outpost {config.name}: encrypts artifacts, tables, secrets and workspaces",
            enable_key_rotation=True,
            removal_policy=removal,
        )
        logs_key = LogsKey(
            self,
            "LogsKey",
            description=f"Outpost {config.name}: encrypts the task-state callback's logs",
            removal_policy=removal,
            production=config.is_production,
        )
        self._stores(config)
        workspaces = WorkspacesFileSystem(
            self,
            "Workspaces",
            vpc=network.vpc,
            security_group=network.groups.file_system,
            encryption_key=self.key,
            transition_to_ia_days=config.data.efs_transition_to_ia_days,
            removal_policy=removal,
        )
        self.file_system = workspaces.file_system
        self.access_point = workspaces.access_point
        self._functions(config, network, logs_key)
        self.access = DataAccess(
            key=self.key,
            tables=self.tables,
            artifacts=self.artifacts,
            event_bus=self.event_bus,
            file_system=self.file_system,
            access_point=self.access_point,
            github_app_key=self.github_app_key,
        )
        self._outputs(config)

    def _stores(self, config: EnvironmentConfig) -> None:
        """``artifacts``, ``tables``, ``github_app_key``, ``provider_secrets`` and ``event_bus``."""
        data, removal = config.data, self.data_removal_policy
        self.artifacts = ArtifactsBucket(
            self,
            "Artifacts",
            config=data,
            encryption_key=self.key,
            removal_policy=removal,
            lock=config.is_production,
        ).bucket
        self.tables = DispatchTables(
            self,
            "Tables",
            encryption_key=self.key,
            removal_policy=removal,
            deletion_protection=config.is_production,
        ).tables
        # Only the control plane reads it, to mint each dispatch's repository token.
        self.github_app_key = GithubAppKey(
            self, "GithubApp", env_name=config.name, encryption_key=self.key, removal_policy=removal
        ).secret
        # The provider keys keep a KMS key of their own rather than the data key: only the five
        # agent execution roles ever decrypt with it (each for its one secret), so its key
        # policy and its CloudTrail decrypt events concern credentials alone, and no
        # permission on the data key (control plane, agents through S3) can reach a provider key.
        self.provider_secrets = ProviderSecrets(
            self, "ProviderSecrets", env_name=config.name, removal_policy=removal
        )
        self.event_bus = OutpostEventBus(
            self,
            "Events",
            bus_name=data.event_bus_name,
            archive_retention_days=data.event_archive_retention_days,
        ).bus

    def _functions(self, config: EnvironmentConfig, network: NetworkExports, logs_key: LogsKey) -> None:
        """``callback`` (stopped tasks finish their dispatch), ``sweeper`` (expired workspaces) and
        ``collector`` (a stopped task's outbox to the artifacts bucket)."""
        data = config.data
        self.callback = TaskStateCallback(
            self,
            "TaskStateCallback",
            config=data.callback,
            env_name=config.name,
            cluster_name=config.cluster_name,
            dispatches=self.tables["dispatches"],
            table_key=self.key,
            vpc=network.vpc,
            security_group=network.groups.callback,
            logs_key=logs_key,
            removal_policy=self.data_removal_policy,
        )
        # Workspaces accumulate: the sweeper deletes those untouched for the expiry. It shares
        # the callback's dead-letter queue (one queue to watch).
        self.sweeper = WorkspaceSweeper(
            self,
            "WorkspaceSweeper",
            env_name=config.name,
            config=data.sweeper,
            expiry_days=data.workspace_expiry_days,
            file_system=self.file_system,
            access_point=self.access_point,
            vpc=network.vpc,
            security_group=network.groups.sweeper,
            dead_letters=self.callback.dead_letters,
            logs_key=logs_key,
        )
        # A presigned link dies with its signer's credentials: the outbox of a stopped task's
        # dispatch reaches S3 through this function instead, on the callback's rule and queue.
        self.collector = ArtifactsCollector(
            self,
            "ArtifactsCollector",
            config=data.collector,
            stopped_tasks=self.callback.rule,
            dispatches=self.tables["dispatches"],
            artifacts=self.artifacts,
            data_key=self.key,
            file_system=self.file_system,
            access_point=self.access_point,
            vpc=network.vpc,
            security_group=network.groups.collector,
            dead_letters=self.callback.dead_letters,
            logs_key=logs_key,
        )

    def _outputs(self, config: EnvironmentConfig) -> None:
        """What an operator needs: names and ids to set secrets, inspect and redrive."""
        outputs: dict[str, tuple[str, str]] = {
            "ArtifactsBucketName": (
                self.artifacts.bucket_name,
                "Artifacts bucket: the agents' run output",
            ),
            "EventBusName": (self.event_bus.event_bus_name, "Bus the control plane puts cost events on"),
            "GithubAppPrivateKeySecretName": (
                github_app_key_name(config.name),
                "Set the GitHub App's private key (PEM) with: aws secretsmanager put-secret-value "
                "--secret-id <this> --secret-string file://key.pem",
            ),
            "WorkspacesFileSystemId": (self.file_system.file_system_id, "Workspaces EFS"),
            "WorkspacesAccessPointId": (self.access_point.access_point_id, "Access point /workspaces"),
            "CallbackFunctionName": (
                self.callback.function.function_name,
                "Task-state callback (replay dead-lettered events into it)",
            ),
            "CollectorFunctionName": (
                self.collector.function.function_name,
                "Artifacts collector (replay a dead-lettered stopped-task event into it too)",
            ),
            "CallbackDeadLetterQueueUrl": (
                self.callback.dead_letters.queue.queue_url,
                "Stopped-task events the callback could not process (inspect, then redrive)",
            ),
        }
        for provider in self.provider_secrets.secrets:
            outputs[f"{pascal(provider)}SecretName"] = (
                ProviderSecrets.secret_name(config.name, provider),
                f"Secret of the {provider} API key (aws secretsmanager put-secret-value)",
            )
        for name, table in self.tables.items():
            outputs[f"{pascal(name)}TableName"] = (table.table_name, f"DynamoDB table: {name}")
        for output_id, (value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description)

    @property
    def exports(self) -> DataExports:
        return DataExports(
            access=self.access,
            provider_secrets=self.provider_secrets,
            dead_letters=self.callback.dead_letters,
        )

    @property
    def watched(self) -> DataWatched:
        return DataWatched(
            callback=self.callback.function,
            collector=self.collector.function,
            callback_rule=self.callback.rule,
            sweeper=self.sweeper.function,
            sweeper_rule=self.sweeper.rule,
            dead_letter_queue=self.callback.dead_letters.queue,
            file_system=self.file_system,
            tables=self.tables,
        )
