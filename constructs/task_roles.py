"""IAM roles of ECS tasks: task roles, and execution roles whose every permission is explicit.

An execution role made here is handed to its task definition *without policy updates*:
the grants CDK would add on its own (image pull, log writes, secret reads) are dropped,
and the role holds exactly the statements it is given (``permissions/tasks.py``), in one
managed policy that the tests read statement by statement.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam

from compliance.acknowledgements import acknowledge
from constructs import Construct, IConstruct
from permissions.tasks import ECS_TASKS


class TaskRole(iam.Role):
    """A task role only ECS tasks of this account and region may assume (confused-deputy guard)."""

    def __init__(self, scope: Construct, construct_id: str, *, description: str) -> None:
        stack = Stack.of(scope)
        super().__init__(
            scope,
            construct_id,
            description=description,
            assumed_by=iam.ServicePrincipal(ECS_TASKS).with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{stack.partition}:ecs:{stack.region}:{stack.account}:*"
                    },
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
