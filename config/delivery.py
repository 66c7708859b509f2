"""Settings of the Delivery stacks: which GitHub repository may deploy which environments.

Read from ``outpost.delivery`` in ``cdk.json``::

    "delivery": {
      "repository": "example-org/outpost-infra",
      "environments": ["dev", "prod"],
      "existing_oidc_providers": []
    }

Each account that holds a delivered environment gets one Delivery stack (``delivery_targets``):
the GitHub OIDC provider (created, or imported from ``existing_oidc_providers``) and, per
environment, a deploy role and a diff role. The GitHub environment a deploy job runs in has
the name of the Outpost environment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from config.environment import CONTEXT_KEY, EnvironmentConfig
from config.errors import ConfigError
from config.reader import Section
from config.schema import Group, string, strings

DELIVERY_KEY = "delivery"
# The stage that holds the Delivery stacks, apart from every environment's stage.
DELIVERY_STAGE = "Delivery"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"

# GitHub's rules: an owner (user or organisation) is 1-39 letters, digits or single inner
# hyphens; a repository name is 1-100 letters, digits, '.', '_' or '-', and not '.' or '..'.
# No wildcard can pass either pattern, so no trust policy can name "any owner" or "any repo".
_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
_NAME = r"[A-Za-z0-9._-]{1,100}"
REPOSITORY_PATTERN = rf"(?P<owner>{_OWNER})/(?P<name>{_NAME})"

_PROVIDER_ARN = rf"arn:aws(?:-[a-z]+)*:iam::(?P<account>\d{{12}}):oidc-provider/{re.escape(GITHUB_OIDC_HOST)}"

# What `cdk bootstrap` names its roles after (cdk-<qualifier>-deploy-role-...): the synthesizer
# reads it from this context key, and falls back to the default qualifier.
QUALIFIER_CONTEXT_KEY = "@aws-cdk/core:bootstrapQualifier"
DEFAULT_QUALIFIER = "hnb659fds"
# The bootstrap template's own rule for its Qualifier parameter (AllowedPattern), which keeps
# "cdk-<qualifier>-image-publishing-role-<account>-<region>" within IAM's 64 characters.
_QUALIFIER = r"[A-Za-z0-9_-]{1,10}"

DELIVERY = Group(
    "delivery",
    "Who may deploy from GitHub: one Delivery stack per account that holds a listed environment "
    "(README, *Deploy from GitHub Actions*). Without the block, no Delivery stack.",
    (
        string(
            "repository",
            "the GitHub repository whose workflows may deploy, `owner/name`, spelt as GitHub spells it "
            "(IAM compares it case-sensitively)",
            pattern=REPOSITORY_PATTERN,
            pattern_rule="must be a GitHub repository as owner/name (letters, digits, '-', and '.' or '_' in "
            "the name; no wildcard)",
        ),
        strings(
            "environments",
            "the environments CI may deploy; each gets a deploy role (trusted by the GitHub environment of "
            "the same name) and a diff role (trusted by the repository's pull requests)",
            rules=("configured environment names", "at least one"),
        ),
        strings(
            "existing_oidc_providers",
            "ARNs of GitHub OIDC providers that already exist (an account holds one per URL); that "
            "account's Delivery stack trusts it instead of creating one",
            default=[],
            rules=(
                f"`arn:aws:iam::<account>:oidc-provider/{GITHUB_OIDC_HOST}`",
                "one per account, of an account that holds a listed environment",
            ),
        ),
    ),
)


@dataclass(frozen=True)
class DeliveryConfig:
    repository: str  # owner/name, exactly as GitHub spells it (IAM compares it case-sensitively)
    environments: tuple[str, ...]
    existing_oidc_providers: tuple[str, ...]

    @property
    def pull_request_subject(self) -> str:
        """The ``sub`` of a token GitHub issues to a job run for a pull request."""
        return f"repo:{self.repository}:pull_request"

    def environment_subject(self, environment: str) -> str:
        """The ``sub`` of a token GitHub issues to a job that runs in GitHub environment ``environment``."""
        return f"repo:{self.repository}:environment:{environment}"


@dataclass(frozen=True)
class DeliveryTarget:
    """One account's Delivery stack: where it is deployed and whom it lets in."""

    account: str
    region: str  # the region of the first delivered environment of the account (IAM is global)
    environments: tuple[EnvironmentConfig, ...]
    existing_oidc_provider: str | None

    @property
    def stack_id(self) -> str:
        """``Account111111111111``: the stack's id in the ``Delivery`` stage."""
        return f"Account{self.account}"

    @property
    def stack_path(self) -> str:
        """``Delivery/Account111111111111``: what ``cdk deploy`` selects it by."""
        return f"{DELIVERY_STAGE}/{self.stack_id}"


def _key(name: str) -> str:
    return f"{CONTEXT_KEY}.{DELIVERY_KEY}.{name}"


def parse_delivery(data: Any, *, environment_names: Sequence[str]) -> DeliveryConfig | None:
    """``None`` when ``outpost.delivery`` is absent: no Delivery stack at all."""
    if data is None:
        return None
    section = Section(data, f"{CONTEXT_KEY}.{DELIVERY_KEY}", DELIVERY)
    repository = section.string("repository")
    if repository.split("/", 1)[1] in (".", ".."):
        raise ConfigError(section.key("repository"), repository, "is not a repository name GitHub accepts")
    environments = section.strings("environments")
    if not environments:
        raise ConfigError(
            section.key("environments"), [], "must name at least one environment (or drop the delivery block)"
        )
    for name in environments:
        if name not in environment_names:
            raise ConfigError(
                section.key("environments"),
                name,
                f"is not a configured environment ({', '.join(environment_names)})",
            )
    providers = section.strings("existing_oidc_providers")
    seen: dict[str, str] = {}
    for arn in providers:
        match = re.fullmatch(_PROVIDER_ARN, arn)
        if match is None:
            raise ConfigError(
                section.key("existing_oidc_providers"),
                arn,
                f"must be the ARN of an IAM OIDC provider for {GITHUB_OIDC_HOST} "
                f"(arn:aws:iam::<account>:oidc-provider/{GITHUB_OIDC_HOST})",
            )
        if match["account"] in seen:
            raise ConfigError(
                section.key("existing_oidc_providers"),
                arn,
                f"an account has one provider for a URL; {seen[match['account']]} is already listed",
            )
        seen[match["account"]] = arn
    section.done()
    return DeliveryConfig(repository=repository, environments=environments, existing_oidc_providers=providers)


def delivery_targets(
    config: DeliveryConfig, environments: Sequence[EnvironmentConfig]
) -> tuple[DeliveryTarget, ...]:
    """One target per account that holds a delivered environment, in the order of ``cdk.json``.

    Two environments in one account share its stack (an account holds one OIDC provider per
    URL); each keeps its own roles. Every listed existing provider must belong to one of them.
    """
    by_name = {env.name: env for env in environments}
    delivered = [by_name[name] for name in by_name if name in config.environments]
    accounts: dict[str, list[EnvironmentConfig]] = {}
    for env in delivered:
        accounts.setdefault(env.account, []).append(env)
    providers = {provider_account(arn): arn for arn in config.existing_oidc_providers}
    for account, arn in providers.items():
        if account not in accounts:
            raise ConfigError(
                _key("existing_oidc_providers"),
                arn,
                f"account {account} holds none of the delivered environments "
                f"(accounts: {', '.join(accounts)})",
            )
    return tuple(
        DeliveryTarget(
            account=account,
            region=envs[0].region,
            environments=tuple(envs),
            existing_oidc_provider=providers.get(account),
        )
        for account, envs in accounts.items()
    )


def provider_account(arn: str) -> str:
    """The account of an OIDC provider ARN that ``parse_delivery`` accepted."""
    match = re.fullmatch(_PROVIDER_ARN, arn)
    if match is None:
        raise ValueError(f"not a GitHub OIDC provider ARN: {arn}")
    return match["account"]


def bootstrap_qualifier(get_context: Callable[[str], Any]) -> str:
    """The qualifier of the CDK bootstrap roles the app's stacks use."""
    value = get_context(QUALIFIER_CONTEXT_KEY)
    if value is None:
        return DEFAULT_QUALIFIER
    if not isinstance(value, str) or not re.fullmatch(_QUALIFIER, value):
        raise ConfigError(
            QUALIFIER_CONTEXT_KEY,
            value,
            "must be a bootstrap qualifier: 1-10 letters, digits, '-' or '_' (cdk bootstrap --qualifier)",
        )
    return value


def load_delivery(
    get_context: Callable[[str], Any], environments: Sequence[EnvironmentConfig]
) -> tuple[DeliveryConfig, tuple[DeliveryTarget, ...]] | None:
    """The delivery settings and their targets; ``None`` without a delivery block.

    ``environments`` must be every configured environment: a Delivery stack built from fewer
    would delete the roles of the ones left out.
    """
    root = get_context(CONTEXT_KEY)
    data = root.get(DELIVERY_KEY) if isinstance(root, Mapping) else None
    config = parse_delivery(data, environment_names=[env.name for env in environments])
    if config is None:
        return None
    return config, delivery_targets(config, environments)
