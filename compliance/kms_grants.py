"""Every KMS key of the app lets only AWS services create grants on it.

AWS Control Tower's proactive control CT.KMS.PR.3 asks each key policy for a statement that
denies ``kms:CreateGrant`` to every principal unless the grant is for an AWS resource or the
caller is an AWS service. ECR (and any service that encrypts with the key) creates its grants
with ``kms:GrantIsForAWSResource`` true, so it keeps working; a person or role can no longer
hand the key to someone else through a grant.

:class:`GrantsOnlyForAwsServices` is an aspect (see ``stacks.base.OutpostStack``), so every
key of every stack gets the statement, including keys added later.
"""

from __future__ import annotations

import jsii
from aws_cdk import IAspect
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from constructs import IConstruct

SID = "DenyGrantsExceptForAwsServices"


def deny_grants_except_for_aws_services(key: kms.Key) -> None:
    """Add CT.KMS.PR.3's deny statement to ``key``'s policy (once)."""
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid=SID,
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["kms:CreateGrant"],
            resources=["*"],
            conditions={
                "BoolIfExists": {
                    "kms:GrantIsForAWSResource": "false",
                    "aws:PrincipalIsAWSService": "false",
                }
            },
        )
    )


@jsii.implements(IAspect)
class GrantsOnlyForAwsServices:
    """Aspect: :func:`deny_grants_except_for_aws_services` on every ``kms.Key`` below."""

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, kms.Key):
            deny_grants_except_for_aws_services(node)
