"""Rules of ``outpost.delivery`` (who may deploy what from GitHub) and of the bootstrap qualifier."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from config import ConfigError, account_override_key, certificate_override_key, load_environments
from config.delivery import (
    DEFAULT_QUALIFIER,
    QUALIFIER_CONTEXT_KEY,
    bootstrap_qualifier,
    load_delivery,
)
from tests.settings import assert_one_clear_line, set_path
from tests.synth import ROOT, shipped_context, throwaway_name, with_throwaway
from tests.templates import PROD_CERTIFICATE

GITHUB = "token.actions.githubusercontent.com"
CONFIGURED = tuple(shipped_context()["outpost"]["environments"])
# An environment name cdk.json does not configure.
MISSING = throwaway_name(CONFIGURED)


def provider(account: str) -> str:
    return f"arn:aws:iam::{account}:oidc-provider/{GITHUB}"


def delivery_of(context: dict[str, Any]) -> Any:
    return load_delivery(context.get, load_environments(context.get))


def with_delivery(name: str, value: Any) -> dict[str, Any]:
    """The shipped context with ``outpost.delivery.<name>`` set (or removed if ...)."""
    context = shipped_context()
    set_path(context["outpost"]["delivery"], name, value)
    return context


def test_shipped_delivery_settings() -> None:
    loaded = delivery_of(shipped_context())
    assert loaded is not None
    config, targets = loaded
    assert config.repository == "example-org/outpost-infra"
    assert config.environments == ("dev", "prod")
    assert config.environment_subject("prod") == "repo:example-org/outpost-infra:environment:prod"
    assert config.pull_request_subject == "repo:example-org/outpost-infra:pull_request"
    assert [(t.account, t.stack_path) for t in targets] == [
        ("111111111111", "Delivery/Account111111111111"),
        ("222222222222", "Delivery/Account222222222222"),
    ]
    assert all(t.existing_oidc_provider is None for t in targets)


def test_no_delivery_block_means_no_delivery_stacks() -> None:
    context = shipped_context()
    del context["outpost"]["delivery"]
    assert delivery_of(context) is None


def test_two_environments_of_one_account_share_one_target() -> None:
    context = with_throwaway(shipped_context())
    third = throwaway_name(shipped_context()["outpost"]["environments"])
    context["outpost"]["delivery"]["environments"] = ["dev", "prod", third]
    _, targets = delivery_of(context)
    assert [(t.account, [e.name for e in t.environments]) for t in targets] == [
        ("111111111111", ["dev", third]),
        ("222222222222", ["prod"]),
    ]


def test_an_existing_provider_is_imported_in_its_account_only() -> None:
    context = with_delivery("existing_oidc_providers", [provider("222222222222")])
    _, targets = delivery_of(context)
    assert {t.account: t.existing_oidc_provider for t in targets} == {
        "111111111111": None,
        "222222222222": provider("222222222222"),
    }


def test_an_account_override_moves_the_target() -> None:
    context = shipped_context()
    context[account_override_key("prod")] = "333333333333"
    context[certificate_override_key("prod")] = PROD_CERTIFICATE.replace("222222222222", "333333333333")
    _, targets = delivery_of(context)
    assert [t.account for t in targets] == ["111111111111", "333333333333"]


BAD_DELIVERY = [
    ("repository", ..., "is required"),
    ("repository", 7, "must be a string"),
    ("repository", "outpost-infra", "must be a GitHub repository as owner/name"),
    ("repository", "*/outpost-infra", "no wildcard"),
    ("repository", "example-org/*", "no wildcard"),
    ("repository", "example-org/outpost-*", "no wildcard"),
    ("repository", "-org/outpost-infra", "must be a GitHub repository as owner/name"),
    ("repository", "org-/outpost-infra", "must be a GitHub repository as owner/name"),
    ("repository", "o--rg/outpost-infra", "must be a GitHub repository as owner/name"),
    ("repository", "a" * 40 + "/outpost-infra", "must be a GitHub repository as owner/name"),
    ("repository", "example-org/" + "r" * 101, "must be a GitHub repository as owner/name"),
    ("repository", "example-org/outpost-infra/extra", "must be a GitHub repository as owner/name"),
    ("repository", "example-org/..", "is not a repository name GitHub accepts"),
    ("environments", ..., "is required"),
    ("environments", [], "must name at least one environment"),
    ("environments", "prod", "must be a list of strings"),
    ("environments", ["prod", "prod"], "must not repeat"),
    ("environments", [MISSING], f"is not a configured environment ({', '.join(CONFIGURED)})"),
    ("existing_oidc_providers", "arn", "must be a list of strings"),
    (
        "existing_oidc_providers",
        ["arn:aws:iam::222222222222:oidc-provider/gitlab.com"],
        f"must be the ARN of an IAM OIDC provider for {GITHUB}",
    ),
    (
        "existing_oidc_providers",
        [f"arn:aws:iam::2222:oidc-provider/{GITHUB}"],
        f"must be the ARN of an IAM OIDC provider for {GITHUB}",
    ),
    (
        "existing_oidc_providers",
        [provider("222222222222"), provider("222222222222")],
        "must not repeat",
    ),
    (
        "existing_oidc_providers",
        [provider("222222222222"), f"arn:aws-us-gov:iam::222222222222:oidc-provider/{GITHUB}"],
        "an account has one provider for a URL",
    ),
    (
        "existing_oidc_providers",
        [provider("333333333333")],
        "account 333333333333 holds none of the delivered environments",
    ),
    ("github_environments", {"prod": "production"}, "is not a known setting"),
]


@pytest.mark.parametrize(
    ("setting", "value", "rule"), BAD_DELIVERY, ids=[f"{s}={v!r}" for s, v, _ in BAD_DELIVERY]
)
def test_bad_delivery_setting_is_one_clear_line(setting: str, value: Any, rule: str) -> None:
    with pytest.raises(ConfigError) as caught:
        delivery_of(with_delivery(setting, value))
    assert_one_clear_line(caught.value, rule, "outpost.delivery")


def test_delivery_must_be_an_object() -> None:
    context = shipped_context()
    context["outpost"]["delivery"] = ["example-org/outpost-infra"]
    with pytest.raises(ConfigError, match=r"^outpost.delivery = \[.*\]: must be an object$"):
        delivery_of(context)


def test_bootstrap_qualifier() -> None:
    def context(value: Any) -> dict[str, Any]:
        return {} if value is None else {QUALIFIER_CONTEXT_KEY: value}

    assert bootstrap_qualifier(context(None).get) == DEFAULT_QUALIFIER == "hnb659fds"
    assert bootstrap_qualifier(context("outpost1").get) == "outpost1"
    for bad in ("", "eleven-char", "has space", 7):
        with pytest.raises(ConfigError, match=r"must be a bootstrap qualifier: 1-10 letters"):
            bootstrap_qualifier(context(bad).get)


def test_config_command_names_the_delivery_stack_of_an_environment() -> None:
    """What ``make deploy-delivery ENV=prod`` deploys."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "config", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert run("--delivery-stack", "prod").stdout.strip() == "Delivery/Account222222222222"
    assert "delivery Delivery/Account111111111111 (us-east-1): example-org/outpost-infra deploys dev" in (
        run().stdout
    )
    missing = run("--delivery-stack", MISSING)
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"config error: {MISSING} is not in outpost.delivery.environments"
