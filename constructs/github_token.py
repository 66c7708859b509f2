"""The GitHub token the agents push and open pull requests with: a secret set out of band."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager

from compliance.acknowledgements import acknowledge
from constructs import Construct


class GithubTokenSecret(Construct):
    """``secret`` named ``secret_name``, encrypted with ``encryption_key``.

    Created with a random placeholder, so no value ever appears in a template; an operator
    sets the real token after the deploy (README: ``aws secretsmanager put-secret-value``).
    CloudFormation does not touch the value again: a later deploy leaves it as it is.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        secret_name: str,
        encryption_key: kms.IKey,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            secret_name=secret_name,
            description="GitHub token of the Outpost agents; placeholder until set with put-secret-value",
            encryption_key=encryption_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=40, exclude_punctuation=True
            ),
            removal_policy=removal_policy,
        )
        acknowledge(
            self.secret,
            "A GitHub token is issued by GitHub, not by AWS, so Secrets Manager cannot rotate it: it is "
            "rotated by issuing a fine-grained, expiring token and storing it with put-secret-value "
            "(README); the secret is KMS-encrypted and readable only by the roles granted it.",
            "AwsSolutions-SMG4",
            "HIPAA.Security-SecretsManagerRotationEnabled",
            "NIST.800.53.R5-SecretsManagerRotationEnabled",
        )
