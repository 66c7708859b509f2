"""The egress settings: each bad value stops with one line naming the key, the value and the rule."""

from __future__ import annotations

from typing import Any

import pytest

from config import ConfigError, load_environments
from config.egress import FIREWALL_SUBNET_PREFIX, aws_host
from tests.environments import of_kind
from tests.settings import set_path
from tests.synth import shipped_context

DEV, PROD = of_kind("development"), of_kind("production")


def with_setting(path: str, value: Any) -> dict[str, Any]:
    context = shipped_context()
    env, _, setting = path.partition(".")
    set_path(context["outpost"]["environments"][env], setting, value)
    return context


def load(context: dict[str, Any], only: str) -> Any:
    return load_environments(context.get, only=only)


BAD = [
    (f"{PROD}.egress.base", ["*.github.com"], "lower-case DNS names"),
    (f"{PROD}.egress.base", ["GitHub.com"], "lower-case DNS names"),
    (f"{PROD}.egress.base", ["com"], "two labels or more"),
    (f"{PROD}.egress.base", [".com"], "two labels or more"),
    (f"{PROD}.egress.base", ["github.com."], "lower-case DNS names"),
    (f"{PROD}.egress.base", ["140.82.112.3"], "is an IP address"),
    (f"{PROD}.egress.base", ["https://github.com"], "lower-case DNS names"),
    (f"{PROD}.egress.base", ["github.com", "github.com"], "must not repeat"),
    (f"{PROD}.egress.base", "github.com", "list of strings"),
    (f"{PROD}.egress.agents.claude", ["api.github.com"], "already allowed by egress.base (api.github.com)"),
    (f"{PROD}.egress.agents.claude", ["raw.githubusercontent.com"], "(.githubusercontent.com)"),
    (f"{PROD}.egress.agents.claude", ["a" * 64 + ".example.com"], "lower-case DNS names"),
    (f"{PROD}.egress.agents.hal", ["api.example.com"], "is not a known setting"),
    (f"{PROD}.egress.aws_services", ["s3"], "must be one of ecr.api"),
    (f"{PROD}.egress.alert_log_retention_days", 30, "at least 365"),
    (f"{DEV}.egress.alert_log_retention_days", 2, "must be one of 1, 3, 5"),
    (f"{PROD}.egress.unknown", 1, "is not a known setting"),
]


@pytest.mark.parametrize(("setting", "value", "rule"), BAD, ids=[f"{s}={v!r}" for s, v, _ in BAD])
def test_bad_egress_setting_is_one_clear_line(setting: str, value: Any, rule: str) -> None:
    env = setting.split(".")[0]
    with pytest.raises(ConfigError) as caught:
        load(with_setting(setting, value), only=env)
    message = str(caught.value)
    assert "\n" not in message
    assert rule in message
    assert caught.value.key.startswith(f"outpost.environments.{env}.egress")


def test_an_agent_without_its_list_is_refused() -> None:
    context = shipped_context()
    del context["outpost"]["defaults"]["egress"]["agents"]["grok"]
    with pytest.raises(ConfigError) as caught:
        load(context, only=PROD)
    assert "grok" in caught.value.key


def test_the_firewall_subnets_must_fit_above_the_tiers() -> None:
    """A /24 VPC holding 2 public /26 and 2 private /26 leaves no room for a /28 at the top."""
    context = with_setting(f"{DEV}.network.vpc_cidr", "10.10.0.0/24")
    for key, value in (("public_subnet_mask", 26), ("private_subnet_mask", 26), ("min_agent_task_ips", 0)):
        set_path(context["outpost"]["environments"][DEV], f"network.{key}", value)
    with pytest.raises(ConfigError) as caught:
        load(context, only=DEV)
    assert f"no room for the egress firewall's 1 /{FIREWALL_SUBNET_PREFIX} subnets" in str(caught.value)
    assert caught.value.key == f"outpost.environments.{DEV}.network.vpc_cidr"


def test_shipped_lists_per_agent_and_aws_hosts() -> None:
    (prod,) = load(shipped_context(), only=PROD)
    egress = prod.egress
    assert egress.agent_domains("claude") == (*egress.base, "api.anthropic.com")
    allowed = egress.allowed(region=prod.region, account=prod.account)
    assert f"{prod.account}.dkr.ecr.{prod.region}.amazonaws.com" in allowed
    assert "api.ecr.us-east-1.amazonaws.com" in allowed
    assert all(name in allowed for agent, _ in egress.agents for name in egress.agent_domains(agent))
    # Only the environment's own registry: never another account's.
    assert not any(".dkr.ecr." in name and prod.account not in name for name in allowed)


def test_aws_hosts() -> None:
    assert aws_host("logs", region="eu-west-1", account="1") == "logs.eu-west-1.amazonaws.com"
    assert aws_host("ecr.api", region="eu-west-1", account="1") == "api.ecr.eu-west-1.amazonaws.com"
    assert aws_host("ecr.dkr", region="eu-west-1", account="123") == "123.dkr.ecr.eu-west-1.amazonaws.com"
