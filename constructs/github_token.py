"""The GitHub App private key the control plane mints per-dispatch repository tokens with.

No agent holds a GitHub credential of its own: for each dispatch the control plane signs a
JSON Web Token with this key (the App's identity, at most 10 minutes), exchanges it for an
installation access token limited to the dispatch's one repository and to the permissions the
job needs (``POST /app/installations/{id}/access_tokens`` with ``repositories`` and
``permissions``; GitHub makes it expire after one hour), and writes that token into the
dispatch's workspace, as it writes the artifact links (docs/credentials.md).

Only the control plane's task role reads the key (tests/app/test_credentials.py). The secret is
created with a random placeholder, so no key is ever in a template; an operator stores the
App's PEM after the first deploy (``aws secretsmanager put-secret-value``), and a later
deploy leaves the value alone.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager

from compliance.acknowledgements import acknowledge
from config.names import resource_name
from constructs import Construct

# The permissions every dispatch's token is narrowed to (GitHub's "installation access token"
# permissions object): push a branch and open a pull request on its one repository. Metadata
# (read) comes with any installation token.
DISPATCH_TOKEN_PERMISSIONS = {"contents": "write", "pull_requests": "write"}
# The GitHub REST API the control plane mints tokens at (and revokes them: DELETE
# /installation/token).
GITHUB_API = "https://api.github.com"
# Where in the dispatch's workspace the token is written (mode 0600, owner 1000), beside the
# artifact links; the agent sees the workspace at /mnt/workspaces.
DISPATCH_TOKEN_PATH = ".outpost/github-token"


def github_app_key_name(env_name: str) -> str:
    """``outpost/prod/github-app-private-key``: the name operators pass to put-secret-value."""
    return resource_name(env_name, "github-app-private-key", separator="/")


class GithubAppKey(Construct):
    """``secret`` named ``github_app_key_name(env_name)``, encrypted with ``encryption_key``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        encryption_key: kms.IKey,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            secret_name=github_app_key_name(env_name),
            description=(
                "Private key (PEM) of the Outpost GitHub App; only the control plane reads it, to mint "
                "per-dispatch tokens. Placeholder until set with put-secret-value"
            ),
            encryption_key=encryption_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=40, exclude_punctuation=True
            ),
            removal_policy=removal_policy,
        )
        acknowledge(
            self.secret,
            "A GitHub App private key is issued by GitHub, not by AWS, so Secrets Manager cannot rotate "
            "it: an operator generates a new key in the App's settings, stores it with put-secret-value "
            "and deletes the old one on GitHub (docs/credentials.md). It is KMS-encrypted, only the "
            "control plane's task role reads it, and no agent ever holds it: agents get one-hour "
            "tokens for one repository.",
            "AwsSolutions-SMG4",
            "HIPAA.Security-SecretsManagerRotationEnabled",
            "NIST.800.53.R5-SecretsManagerRotationEnabled",
        )
