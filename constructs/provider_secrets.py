"""The model providers' API keys: one Secrets Manager secret per provider, KMS-encrypted.

Each key is handed to the credential-proxy container of its agent's tasks only (an ECS secret
of that container, read by the agent's execution role); the agent's own container holds a
placeholder and reaches the provider through the proxy on localhost (docs/credentials.md).

The stack creates each secret with a random placeholder value; an operator sets the real
key out of band (``aws secretsmanager put-secret-value``, see the README). So the key
never appears in a template, a CDK context or a CloudFormation event, and every policy can
name the exact secret ARN (a secret referenced by name would need a ``-??????`` wildcard).
CloudFormation does not overwrite a value set that way: it generates a new value only if
the generator settings below change.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager

from compliance.acknowledgements import acknowledge, in_packs
from config.names import pascal, resource_name
from constructs import Construct
from permissions.tasks import secret_read_statements


@dataclass(frozen=True)
class Provider:
    """A model provider: its secret, the API the key is good for, and how the agent's CLI is
    pointed at the credential proxy instead (docs/credentials.md).

    ``header`` is the request header the provider authenticates (``scheme`` prefixes the key in
    it: ``Bearer``); ``variable`` the key variable the CLI reads, which gets a placeholder;
    ``base_urls`` the CLI's base-URL variables with the path each expects after the host.
    """

    name: str  # secret name suffix and construct id stem
    variable: str  # the key variable the agent CLI reads: a placeholder, never the key
    upstream: str  # the provider API's origin, the only one the proxy forwards to
    header: str
    scheme: str
    base_urls: tuple[tuple[str, str], ...]


# The compliance packs that have the secret-rotation rule (PCI DSS and NIST rev 4 do not).
ROTATION_RULE_PACKS = ("HIPAA.Security", "NIST.800.53.R5")

# Which provider's key each agent needs, and how its CLI reaches the proxy (each base-URL
# variable is the CLI's documented override; docs/credentials.md cites them):
# - Claude Code: ANTHROPIC_BASE_URL (code.claude.com/docs/en/env-vars), key as X-Api-Key.
# - Codex CLI: OPENAI_BASE_URL, the built-in OpenAI provider's base-URL override, with /v1
#   (openai/codex#11698).
# - Gemini CLI: GOOGLE_GEMINI_BASE_URL (google-gemini/gemini-cli#25357; plain HTTP is accepted
#   for localhost only), key as x-goog-api-key.
# - aider (litellm's DeepSeek provider, litellm/llms/deepseek/chat/transformation.py):
#   DEEPSEEK_API_BASE, whose default is https://api.deepseek.com/beta (kept: /beta).
# - Grok CLI: GROK_BASE_URL, with /v1; xAI's own CLI reads ~/.grok/config.toml
#   ([endpoints] models_base_url), which the image writes from OUTPOST_PROVIDER_BASE_URL.
AGENT_PROVIDERS: dict[str, Provider] = {
    "claude": Provider(
        "anthropic",
        "ANTHROPIC_API_KEY",
        "https://api.anthropic.com",
        "x-api-key",
        "",
        (("ANTHROPIC_BASE_URL", ""),),
    ),
    "codex": Provider(
        "openai",
        "OPENAI_API_KEY",
        "https://api.openai.com",
        "authorization",
        "Bearer",
        (("OPENAI_BASE_URL", "/v1"),),
    ),
    "gemini": Provider(
        "google",
        "GEMINI_API_KEY",
        "https://generativelanguage.googleapis.com",
        "x-goog-api-key",
        "",
        (("GOOGLE_GEMINI_BASE_URL", ""),),
    ),
    "aider": Provider(
        "deepseek",
        "DEEPSEEK_API_KEY",
        "https://api.deepseek.com",
        "authorization",
        "Bearer",
        (("DEEPSEEK_API_BASE", "/beta"),),
    ),
    "grok": Provider(
        "xai",
        "XAI_API_KEY",
        "https://api.x.ai",
        "authorization",
        "Bearer",
        (("GROK_BASE_URL", "/v1"),),
    ),
}


class ProviderSecrets(Construct):
    """``secrets``: provider name -> secret; ``key``: the KMS key encrypting them all.

    Self-contained, so it can live in any stack of the environment: it only needs the
    environment name (for secret names) and a removal policy.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description=f"Outpost {env_name}: encrypts the model providers' API keys",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        self.secrets: dict[str, secretsmanager.Secret] = {}
        for provider in sorted({p.name for p in AGENT_PROVIDERS.values()}):
            secret = secretsmanager.Secret(
                self,
                pascal(provider),
                secret_name=self.secret_name(env_name, provider),
                description=(
                    f"Outpost {env_name}: {provider} API key. Created with a placeholder; set the "
                    "real value with aws secretsmanager put-secret-value."
                ),
                encryption_key=self.key,
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    password_length=32, exclude_punctuation=True
                ),
                removal_policy=removal_policy,
            )
            acknowledge(
                secret,
                "A provider API key is issued by the provider and cannot be rotated by a Lambda here; "
                "operators replace it with put-secret-value when the provider rotates it, and only the "
                "one agent's execution role may read it, for its task's credential proxy (never the agent).",
                "AwsSolutions-SMG4",
                *in_packs("SecretsManagerRotationEnabled", ROTATION_RULE_PACKS),
            )
            self.secrets[provider] = secret

    @staticmethod
    def secret_name(env_name: str, provider: str) -> str:
        """``outpost/prod/anthropic-api-key``: the name operators pass to put-secret-value."""
        return resource_name(env_name, f"{provider}-api-key", separator="/")

    def for_agent(self, agent: str) -> tuple[Provider, secretsmanager.ISecret]:
        """(provider, secret) of an agent: the secret goes to its task's credential proxy only."""
        provider = AGENT_PROVIDERS[agent]
        return provider, self.secrets[provider.name]

    def read_statements(self, agent: str) -> list[iam.PolicyStatement]:
        """Read this agent's secret and nothing else: the value, and its key through Secrets Manager."""
        _, secret = self.for_agent(agent)
        region = Stack.of(self).region
        return secret_read_statements(secret, self.key, region=region, sid="OwnProviderSecret")
