"""Keyless deploys from GitHub Actions: the account's OIDC provider and the roles CI assumes.

A CI role trusts exactly one kind of GitHub token: issued by ``token.actions.githubusercontent.com``,
for the audience ``sts.amazonaws.com``, with one exact subject (``repo:<owner>/<name>:environment:<env>``
for a deploy, ``repo:<owner>/<name>:pull_request`` for a diff); ``StringEquals``, never a
wildcard. A deploy role may do one thing: assume the CDK bootstrap roles a deploy uses in its
environment's account and region, which hold the real permissions (publishing assets, driving
CloudFormation). A diff role assumes no role at all: a pull request runs its own workflow and
Makefile, so whatever its role reaches, any branch can read. It may only read the templates of
its environment's own stacks (``diff_statements``), which is all ``cdk diff --method template``
needs. Nothing else in the account is reachable with either.

AWS validates GitHub's tokens against its own library of trusted root certificate authorities,
not a thumbprint, so the provider carries none ("These OIDC IdPs include Auth0, GitHub, GitLab,
Google ...": https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateOpenIDConnectProviderThumbprint.html).
Subjects: https://docs.github.com/en/actions/reference/security/oidc
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam

from config.delivery import GITHUB_OIDC_HOST
from constructs import Construct

STS_AUDIENCE = "sts.amazonaws.com"
# The bootstrap roles a deploy uses (cdk bootstrap's names, without cfn-exec-role: only
# CloudFormation may assume that one) and the one a template diff uses: `cdk diff --method
# template` "compares templates directly and uses the lookup role", while "auto" and
# "change-set" "use the deploy role instead" (`cdk diff --help`, CLI 2.1148; in the CLI's
# source, Deployments.readCurrentTemplate reads through accessStackForLookupBestEffort).
DEPLOY_BOOTSTRAP_ROLES = ("deploy", "file-publishing", "image-publishing", "lookup")
# A diff role assumes none: the lookup role holds AWS's ReadOnlyAccess (the bootstrap template
# denies only kms:Decrypt), so a pull request holding it could read the account's logs, task
# definitions, function code and configuration. Without it the CLI warns that it could not
# assume the lookup role (then the deploy role) and, the credentials being of the stack's
# account, reads the templates with them ("Proceeding anyway": SdkProvider.forEnvironment in
# aws-cdk 2.1148). A template diff then calls, per stack, cloudformation:DescribeStacks and
# cloudformation:GetTemplate with the stack's name (CloudFormationStack.lookup), and
# ListStackResources only for nested stacks, which these stacks have none of.
DIFF_ACTIONS = ("cloudformation:DescribeStacks", "cloudformation:GetTemplate")
# What IAM checks at create time: a role name of at most 64 characters, a session of 1 to 12
# hours (AWS::IAM::Role MaxSessionDuration), a trust policy of at most 2,048 characters
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html); and one OIDC
# provider per URL in an account (CreateOpenIDConnectProvider fails with EntityAlreadyExists),
# hence delivery.existing_oidc_providers. tests/test_delivery.py checks each.
MAX_ROLE_NAME = 64
MAX_TRUST_POLICY_CHARACTERS = 2048


def github_oidc_provider(
    scope: Construct, construct_id: str, *, existing_arn: str | None
) -> iam.IOidcProvider:
    """The account's provider for GitHub's tokens: imported when it exists, else created.

    A created provider is kept when its stack is deleted: an account holds one provider per
    URL, and other repositories' workflows may have come to trust it. To bring it back under
    a new Delivery stack, list its ARN in ``delivery.existing_oidc_providers``.
    """
    if existing_arn is not None:
        return iam.OidcProviderNative.from_oidc_provider_arn(scope, construct_id, existing_arn)
    return iam.OidcProviderNative(
        scope,
        construct_id,
        url=f"https://{GITHUB_OIDC_HOST}",
        client_ids=[STS_AUDIENCE],
        removal_policy=RemovalPolicy.RETAIN,
    )


def bootstrap_role_arns(scope: Construct, *, qualifier: str, region: str, kinds: Sequence[str]) -> list[str]:
    """``arn:aws:iam::<account>:role/cdk-<qualifier>-<kind>-role-<account>-<region>``, per kind."""
    stack = Stack.of(scope)
    return [
        f"arn:{stack.partition}:iam::{stack.account}:role/cdk-{qualifier}-{kind}-role-{stack.account}-{region}"
        for kind in kinds
    ]


def own_stacks(scope: Construct, *, stage: str, region: str) -> str:
    """``stack/<Stage>-*/*``: every stack of stage ``stage`` (``<Stage>-<Name>``) in ``region``."""
    stack = Stack.of(scope)
    return f"arn:{stack.partition}:cloudformation:{region}:{stack.account}:stack/{stage}-*/*"


def diff_statements(scope: Construct, *, stage: str, region: str) -> list[iam.PolicyStatement]:
    """Read the templates of the stacks of stage ``stage`` in ``region``.

    Both actions take a stack ARN (``stack/<name>/<id>``); the CLI names each stack, so no
    ``*`` resource is needed (Service Authorization Reference, AWS CloudFormation:
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html).
    """
    return [
        iam.PolicyStatement(
            sid="ReadOwnStackTemplates",
            actions=list(DIFF_ACTIONS),
            resources=[own_stacks(scope, stage=stage, region=region)],
        )
    ]


class CiRole(Construct):
    """A role GitHub Actions assumes with a token of exactly ``subject``, allowed only
    ``sts:AssumeRole`` on ``assumable`` (role ARNs) and ``statements``. ``role`` is it;
    ``policy`` its only permission."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        provider: iam.IOidcProvider,
        subject: str,
        role_name: str,
        description: str,
        assumable: Sequence[str] = (),
        statements: Sequence[iam.PolicyStatement] = (),
        max_session: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.subject = subject
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            description=description,
            max_session_duration=max_session or Duration.hours(1),
            assumed_by=iam.OpenIdConnectPrincipal(
                provider,
                conditions={
                    "StringEquals": {
                        f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE,
                        f"{GITHUB_OIDC_HOST}:sub": subject,
                    }
                },
            ),
        )
        # A managed policy, not an inline one: the compliance packs refuse inline policies.
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"{role_name}: "
            + (
                "may only assume the CDK bootstrap roles it needs"
                if assumable
                else "may only read its own stacks"
            ),
            roles=[self.role],
            statements=[
                *(
                    [
                        iam.PolicyStatement(
                            sid="AssumeBootstrapRoles", actions=["sts:AssumeRole"], resources=list(assumable)
                        )
                    ]
                    if assumable
                    else []
                ),
                *statements,
            ],
        )
