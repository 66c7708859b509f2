"""Every KMS key of the app lets only AWS services create grants on it.

AWS Control Tower's proactive control CT.KMS.PR.3 asks each key policy for a statement that
denies ``kms:CreateGrant`` to every principal unless the grant is for an AWS resource or the
caller is an AWS service. ECR (and any service that encrypts with the key) creates its grants
with ``kms:GrantIsForAWSResource`` true, so it keeps working; a person or role can no longer
hand the key to someone else through a grant.

:func:`grants_only_for_aws_services` gives every key below a scope the statement: each
environment's stage calls it once its stacks are built (``stacks.stage.OutpostStage``), so every
key of every stack gets it, including keys added later. Not an aspect: an aspect is called
back from jsii's Node process once per construct (about a thousand per environment), which
cost about a tenth of ``cdk synth``; one walk of the built tree is one call.
"""

from __future__ import annotations

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


def grants_only_for_aws_services(scope: IConstruct) -> None:
    """:func:`deny_grants_except_for_aws_services` on every ``kms.Key`` below ``scope``."""
    for node in scope.node.find_all():
        if isinstance(node, kms.Key):
            deny_grants_except_for_aws_services(node)
