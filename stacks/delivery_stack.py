"""Delivery: per account, the GitHub OIDC provider and the roles CI deploys and diffs with.

The stage ``Delivery`` holds one stack per account (``Delivery/Account<id>``), however many
environments the account holds: an account has one OIDC provider per URL. It is kept apart
from the environments' stages on purpose: ``cdk deploy 'Prod/*'`` (what CI runs) never
changes who may run it. An administrator deploys it (``make deploy-delivery ENV=prod``).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Environment, Stack, Stage

from compliance.acknowledgements import acknowledge, wildcard_resource
from config import EnvironmentConfig
from config.delivery import DELIVERY_STAGE, DeliveryConfig, DeliveryTarget
from config.names import resource_name
from constructs import Construct
from constructs.github_oidc import (
    DEPLOY_BOOTSTRAP_ROLES,
    CiRole,
    bootstrap_role_arns,
    diff_statements,
    github_oidc_provider,
    own_stacks,
)

# A first deploy of every stack of an environment can outlast an hour; the CDK CLI refreshes
# its bootstrap-role sessions only while the CI role's own session is valid.
DEPLOY_SESSION = Duration.hours(2)


def deploy_role_name(env: EnvironmentConfig) -> str:
    return resource_name(env.name, "github-deploy")


def diff_role_name(env: EnvironmentConfig) -> str:
    return resource_name(env.name, "github-diff")


class DeliveryStack(Stack):
    """``provider`` (the account's GitHub OIDC provider); per environment, ``deploy_roles[name]``
    and ``diff_roles[name]``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        delivery: DeliveryConfig,
        target: DeliveryTarget,
        qualifier: str,
        **kwargs: Any,
    ) -> None:
        names = ", ".join(env.name for env in target.environments)
        super().__init__(
            scope,
            construct_id,
            description=f"Outpost delivery for {names}: GitHub OIDC provider, CI deploy and diff roles",
            # Deleting it locks CI out of every environment of the account.
            termination_protection=True,
            **kwargs,
        )
        self.provider = github_oidc_provider(
            self, "GitHubOidcProvider", existing_arn=target.existing_oidc_provider
        )
        self.deploy_roles: dict[str, CiRole] = {}
        self.diff_roles: dict[str, CiRole] = {}
        for env in target.environments:
            self._roles_of(env, delivery, qualifier)

    def _roles_of(self, env: EnvironmentConfig, delivery: DeliveryConfig, qualifier: str) -> None:
        """``env``'s deploy role (its GitHub environment) and diff role (pull requests), with the
        outputs that say where each ARN goes."""
        label = env.stage_name
        deploy = CiRole(
            self,
            f"{label}Deploy",
            provider=self.provider,
            subject=delivery.environment_subject(env.name),
            role_name=deploy_role_name(env),
            description=f"GitHub Actions deploys {env.name} from {delivery.repository}",
            assumable=bootstrap_role_arns(
                self, qualifier=qualifier, region=env.region, kinds=DEPLOY_BOOTSTRAP_ROLES
            ),
            max_session=DEPLOY_SESSION,
        )
        diff = CiRole(
            self,
            f"{label}Diff",
            provider=self.provider,
            subject=delivery.pull_request_subject,
            role_name=diff_role_name(env),
            description=f"GitHub Actions diffs {env.name} for pull requests of {delivery.repository}",
            # No bootstrap role: the lookup role would give a pull request ReadOnlyAccess.
            statements=diff_statements(self, stage=env.stage_name, region=env.region),
        )
        acknowledge(
            diff.policy,
            "A pull request's diff reads only the templates of its environment's own stacks: stack "
            "ARNs end in an id CloudFormation assigns at creation, and the stage prefix (<Stage>-*) "
            "holds them to this environment; DescribeStacks and GetTemplate only, no role to assume.",
            wildcard_resource(diff.policy, own_stacks(self, stage=env.stage_name, region=env.region)),
        )
        self.deploy_roles[env.name] = deploy
        self.diff_roles[env.name] = diff
        CfnOutput(
            self,
            f"{label}DeployRoleArn",
            value=deploy.role.role_arn,
            description=f"GitHub environment {env.name}: variable OUTPOST_DEPLOY_ROLE_ARN",
        )
        CfnOutput(
            self,
            f"{label}DiffRoleArn",
            value=diff.role.role_arn,
            description=f"Repository variable OUTPOST_{env.name.upper()}_DIFF_ROLE_ARN",
        )


class DeliveryStage(Stage):
    """``Delivery``: one ``DeliveryStack`` per target account (``stacks[account]``)."""

    def __init__(
        self,
        scope: Construct,
        *,
        delivery: DeliveryConfig,
        targets: tuple[DeliveryTarget, ...],
        qualifier: str,
    ) -> None:
        super().__init__(scope, DELIVERY_STAGE)
        self.stacks = {
            target.account: DeliveryStack(
                self,
                target.stack_id,
                delivery=delivery,
                target=target,
                qualifier=qualifier,
                env=Environment(account=target.account, region=target.region),
            )
            for target in targets
        }
