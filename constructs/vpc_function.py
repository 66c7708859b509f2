"""What every small Lambda function of the app in the VPC needs, and nothing more."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs

from compliance.acknowledgements import acknowledge, control_tower, in_packs
from compliance.scanners import REDUNDANT_ROLE_DEPENDENCY, ignore_cfn_lint, skip_checkov
from constructs import Construct
from constructs.log_encryption import LogsKey
from permissions.keys import key_through


@dataclass(frozen=True)
class DeadLetters:
    """Where a function's failed events wait for an operator: the SQS queue and its key."""

    queue: sqs.IQueue
    key: kms.IKey


@dataclass(frozen=True)
class Handler:
    """What a function runs (``lambdas/<directory>/handler.py``), its size, and how a reviewer
    reads it: ``name`` (``task-state callback``) and the phrases ``environment_holds`` and
    ``data_permissions`` complete the acknowledgements of its policy and function."""

    name: str
    role_description: str
    description: str
    directory: Path
    memory_mb: int
    timeout: Duration
    environment_holds: str
    data_permissions: str


class VpcFunction(Construct):
    """A hardened Python function in the private subnets, as the construct it serves.

    The task-state callback, the workspace sweeper and the dispatch janitor each *are* one: a
    subclass makes under itself what its function needs first (the callback its dead-letter
    queue) and then calls :meth:`_add_function`, which adds the log group (``Logs``), the role
    (``Role``), its one managed policy (``Permissions``) and the function (``Function``) beside
    them. They have always been direct children of the callback, sweeper and janitor: a
    construct of their own one level down would change their paths, hence every logical id
    and every reference to them from other stacks.

    After :meth:`_add_function`: ``log_group``, ``role``, ``policy``, ``function``.
    """

    log_group: logs.LogGroup
    role: iam.Role
    policy: iam.ManagedPolicy
    function: lambda_.Function

    def _add_function(
        self,
        handler: Handler,
        *,
        environment: Mapping[str, str],
        statements: Sequence[iam.PolicyStatement],
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        dead_letters: DeadLetters,
        logs_key: LogsKey,
        log_retention_days: int,
        reserved_concurrency: int,
        retry_attempts: int,
        max_event_age: Duration,
        filesystem: lambda_.FileSystem | None = None,
    ) -> None:
        """The function of ``handler``: its own role whose only permissions are one managed
        policy (``statements`` plus what every such function needs), ARM64, X-Ray, JSON logs to
        its own log group kept ``log_retention_days``, ``reserved_concurrency`` executions
        reserved (0: none, the account's shared pool), retries into ``dead_letters``.
        """
        self.log_group = logs_key.log_group("Logs", scope=self, retention_days=log_retention_days)
        self.role, self.policy = self._permissions(
            handler, [*statements, *self._own_statements(dead_letters, self.log_group)]
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=handler.description,
            # The newest Python runtime CDK knows (cdk-nag AwsSolutions-L1); the handlers also
            # run on 3.11, the version the tests and mypy use.
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler="handler.handler",
            code=lambda_.Code.from_asset(str(handler.directory), exclude=["__pycache__", "*.pyc"]),
            memory_size=handler.memory_mb,
            timeout=handler.timeout,
            # CDK cannot add inline policies to this role: every permission is in the policy.
            role=self.role.without_policy_updates(),
            environment=dict(environment),
            filesystem=filesystem,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[security_group],
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=reserved_concurrency or None,
            dead_letter_queue=dead_letters.queue,
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
        )
        self.function.node.add_dependency(self.policy)
        ignore_cfn_lint(self.function, *REDUNDANT_ROLE_DEPENDENCY)
        self._explain(handler, reserved_concurrency)

    def _permissions(
        self, handler: Handler, statements: Sequence[iam.PolicyStatement]
    ) -> tuple[iam.Role, iam.ManagedPolicy]:
        """``Role``, whose only permissions are ``Permissions``: one managed policy of ``statements``."""
        name = handler.name
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=handler.role_description,
        )
        policy = iam.ManagedPolicy(
            self,
            "Permissions",
            description=f"Everything the {name} may do, and nothing else",
            roles=[role],
            statements=list(statements),
        )
        acknowledge(
            policy,
            "Two statements need Resource '*' because the services offer no resource-level permission "
            "for them: X-Ray trace upload (PutTraceSegments, PutTelemetryRecords) and the network "
            f"interface calls Lambda makes to place the function in the VPC; {handler.data_permissions}",
            "AwsSolutions-IAM5[Resource::*]",
        )
        skip_checkov(
            policy,
            "CKV_AWS_111",
            "Only X-Ray trace upload and Lambda's VPC network-interface calls use Resource '*': those "
            f"actions have no resource-level permission; {handler.data_permissions}",
        )
        return role, policy

    def _explain(self, handler: Handler, reserved_concurrency: int) -> None:
        """What the packs and scanners find on every such function, and why it stands."""
        name, function = handler.name, self.function
        if not reserved_concurrency:
            skip_checkov(
                function,
                "CKV_AWS_115",
                f"No concurrency is reserved for the {name} (configured 0: a new account cannot reserve "
                "any); its one EventBridge rule bounds its invocations and failures are dead-lettered.",
            )
            acknowledge(
                function,
                f"No concurrency is reserved for the {name} by configuration (0): a new account's quota of "
                "10 concurrent executions cannot reserve any, since Lambda keeps 100 unreserved. Its "
                "invocations are bounded by their one event source (its EventBridge rule), and an "
                "execution that the shared pool cannot serve is retried and then dead-lettered, never lost.",
                *in_packs("LambdaConcurrency", ("HIPAA.Security", "NIST.800.53.R5")),
            )
        acknowledge(
            function,
            f"The function does run in the VPC: private subnets and the {name}'s own security group "
            "(VpcConfig). Control Tower's rule accepts only literal ids or same-stack references, and "
            "these come from the Network stack.",
            control_tower("lambda_inside_vpc_check"),
        )
        skip_checkov(
            function,
            "CKV_AWS_173",
            f"The environment holds only {handler.environment_holds}, no secret; Lambda encrypts it at "
            "rest with its service key, and the role takes no policy updates for a CMK.",
        )
        acknowledge(
            function,
            "Failed asynchronous invocations go to the function's dead-letter queue (DeadLetterConfig, "
            "the SQS queue the rule dead-letters to); an on-failure destination as well would put "
            "every failed event into that queue twice.",
            "Serverless-LambdaAsyncFailureDestination",
        )

    def _own_statements(
        self, dead_letters: DeadLetters, log_group: logs.ILogGroup
    ) -> list[iam.PolicyStatement]:
        """Dead-letter its failed events, write its own logs, send traces, run in the VPC.

        X-Ray and the network-interface calls have no resource-level permission (hence ``*``,
        acknowledged where each function's policy is made); everything else names its resource.
        """
        return [
            iam.PolicyStatement(
                sid="DeadLetterFailedEvents",
                actions=["sqs:SendMessage"],
                resources=[dead_letters.queue.queue_arn],
            ),
            key_through(
                dead_letters.key,
                "sqs",
                scope=self,
                sid="UseTheDeadLetterKeyThroughSqs",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
            ),
            iam.PolicyStatement(
                sid="WriteItsLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            ),
            iam.PolicyStatement(
                sid="UploadTraces",
                actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="RunInTheVpc",
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSubnets",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=["*"],
            ),
        ]
