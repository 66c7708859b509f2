"""IAM roles of ECS tasks: task roles, and execution roles whose every permission is explicit.

An execution role made here is handed to its task definition *without policy updates*:
the grants CDK would add on its own (image pull, log writes, secret reads) are dropped,
and the role holds exactly the statements given here, in one managed policy that the
tests read statement by statement.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager

from compliance.acknowledgements import acknowledge
from constructs import Construct, IConstruct

ECS_TASKS = "ecs-tasks.amazonaws.com"


def task_role(scope: Construct, construct_id: str, *, description: str) -> iam.Role:
    """A role only ECS tasks of this account and region may assume (confused-deputy guard)."""
    stack = Stack.of(scope)
    return iam.Role(
        scope,
        construct_id,
        description=description,
        assumed_by=iam.ServicePrincipal(ECS_TASKS).with_conditions(
            {
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": f"arn:{stack.partition}:ecs:{stack.region}:{stack.account}:*"},
            }
        ),
    )


class ExecutionRole(Construct):
    """``role`` (immutable, for the task definition) and ``policy`` (its only permissions)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str,
        statements: Sequence[iam.PolicyStatement],
    ) -> None:
        super().__init__(scope, construct_id)
        self.mutable_role = iam.Role(
            self, "Role", description=description, assumed_by=iam.ServicePrincipal(ECS_TASKS)
        )
        self.policy = iam.ManagedPolicy(
            self, "Policy", roles=[self.mutable_role], statements=list(statements)
        )
        self.role: iam.IRole = self.mutable_role.without_policy_updates()
        acknowledge(
            self.policy,
            "ecr:GetAuthorizationToken has no resource-level permission and must name '*'; it only "
            "issues a registry login token, and image reads are limited to one repository ARN.",
            "AwsSolutions-IAM5[Resource::*]",
        )

    def depend_on_policy(self, dependent: IConstruct) -> None:
        """Make ``dependent`` (a task definition) wait for the policy, as CDK does for its own."""
        dependent.node.add_dependency(self.policy)


def pull_statements(repository: ecr.IRepository) -> list[iam.PolicyStatement]:
    """Pull images from ``repository`` only (plus the registry login, which has no resource)."""
    return [
        iam.PolicyStatement(
            sid="RegistryLogin",
            actions=["ecr:GetAuthorizationToken"],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="PullOwnImage",
            actions=["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
            resources=[repository.repository_arn],
        ),
    ]


def log_write_statements(log_group: logs.ILogGroup) -> list[iam.PolicyStatement]:
    """Write to ``log_group`` only (the awslogs driver creates its streams)."""
    return [
        iam.PolicyStatement(
            sid="WriteOwnLogs",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[log_group.log_group_arn],
        )
    ]


def secret_read_statements(
    secret: secretsmanager.ISecret, key: kms.IKey, *, region: str, sid: str
) -> list[iam.PolicyStatement]:
    """Read ``secret`` and nothing else: its value (``Read<sid>``), and ``key`` only through
    Secrets Manager for that one secret (``Decrypt<sid>``)."""
    return [
        iam.PolicyStatement(
            sid=f"Read{sid}",
            actions=["secretsmanager:GetSecretValue"],
            resources=[secret.secret_arn],
        ),
        iam.PolicyStatement(
            sid=f"Decrypt{sid}",
            actions=["kms:Decrypt"],
            resources=[key.key_arn],
            conditions={
                "StringEquals": {
                    "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                    "kms:EncryptionContext:SecretARN": secret.secret_arn,
                }
            },
        ),
    ]
