"""What the roles of any ECS task need: its image, its log group, its secrets, one each.

The execution roles (``constructs/task_roles.py``) hold exactly these statements, in one
managed policy per role: CDK's own grants (image pull, log writes, secret reads) are dropped.
"""

from __future__ import annotations

from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager

from config.guardduty import GuardDutyAgentImage

# The service principal of ECS tasks: who assumes task and execution roles, and the only
# service the control plane may pass the agents' roles to.
ECS_TASKS = "ecs-tasks.amazonaws.com"


def pull_statements(*repositories: ecr.IRepository) -> list[iam.PolicyStatement]:
    """Pull images from ``repositories`` only (plus the registry login, which has no resource)."""
    return [
        iam.PolicyStatement(
            sid="RegistryLogin",
            actions=["ecr:GetAuthorizationToken"],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="PullOwnImage",
            actions=["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
            resources=[repository.repository_arn for repository in repositories],
        ),
    ]


def guardduty_agent_statements(agent: GuardDutyAgentImage | None) -> list[iam.PolicyStatement]:
    """Pull GuardDuty's Fargate security agent (the sidecar GuardDuty adds to every task of the
    account when it manages the agent) from its one AWS-owned repository; nothing when GuardDuty
    is off. The three actions are the prerequisites page's ("Prerequisites for container image
    access": https://docs.aws.amazon.com/guardduty/latest/ug/prereq-runtime-monitoring-ecs-support.html);
    the login is ``RegistryLogin``'s."""
    if agent is None:
        return []
    return [
        iam.PolicyStatement(
            sid="PullGuardDutyAgent",
            actions=["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
            resources=[agent.repository_arn],
        )
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
