"""Every settings rule: a bad value stops synth with one line naming key, value and rule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from config import ConfigError, account_override_key, load_environments
from tests.synth import ROOT, shipped_context


def load(context: dict[str, Any], only: str | None = None) -> Any:
    return load_environments(context.get, only=only)


def with_setting(path: str, value: Any) -> dict[str, Any]:
    """The shipped context with ``outpost.environments.<path>`` set (or removed if ...)."""
    context = shipped_context()
    node = context["outpost"]["environments"]
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return context


def test_shipped_settings_parse() -> None:
    envs = {env.name: env for env in load(shipped_context())}
    assert set(envs) == {"dev", "prod"}
    assert envs["prod"].is_production
    assert not envs["dev"].is_production
    assert envs["dev"].stage_name == "Dev"
    assert len(envs["dev"].network.availability_zones) == 2
    assert len(envs["prod"].network.availability_zones) == 3


def test_prod_private_tier_holds_at_least_4000_agent_tasks() -> None:
    prod = next(env for env in load(shipped_context()) if env.name == "prod")
    assert prod.network.agent_task_ip_capacity >= 4000
    # /20 per zone: 4,096 - 5 reserved - one address per interface endpoint, times 3 zones.
    assert prod.network.agent_task_ip_capacity == 3 * (4096 - 5 - len(prod.network.interface_endpoints))


BAD_SETTINGS = [
    # (setting under outpost.environments, bad value, words the rule must contain)
    ("prod.kind", "staging", "must be one of development, production"),
    ("prod.account", "12345", "12-digit AWS account id"),
    ("prod.account", 222222222222, "must be a string"),
    ("prod.region", "us-east", "AWS region name"),
    ("prod.tags", {"aws:owner": "x"}, "reserved"),
    ("prod.tags", {"Owner": 7}, "must be a string"),
    ("prod.tags", {"Owner": "a{b}"}, "tag values"),
    ("prod.network.vpc_cidr", "10.0.0.0/33", "CIDR notation"),
    ("prod.network.vpc_cidr", "10.20.0.1/16", "CIDR notation"),
    ("prod.network.vpc_cidr", "10.0.0.0/8", "between /16 and /24"),
    ("prod.network.vpc_cidr", "8.8.0.0/16", "private (RFC 1918)"),
    ("prod.network.availability_zones", [], "at least one zone"),
    ("prod.network.availability_zones", ["eu-west-1a", "eu-west-1b"], "zone of region us-east-1"),
    ("prod.network.availability_zones", ["us-east-1a", "us-east-1a"], "must not repeat"),
    ("prod.network.availability_zones", ["us-east-1a"], "production environment needs at least 2 zones"),
    ("prod.network.availability_zones", "us-east-1a", "list of strings"),
    ("prod.network.public_subnet_mask", 8, "at least 16"),
    ("prod.network.public_subnet_mask", 29, "at most 28"),
    ("prod.network.private_subnet_mask", 17, "need 99072 addresses but 10.20.0.0/16 has 65536"),
    ("prod.network.private_subnet_mask", 24, "below min_agent_task_ips 4000"),
    ("prod.network.nat_gateways", -1, "at least 1"),
    ("prod.network.nat_gateways", 0, "at least 1"),
    ("prod.network.nat_gateways", 4, "at most 3"),
    ("prod.network.nat_gateways", "3", "whole number"),
    ("prod.network.nat_gateways", True, "whole number"),
    ("prod.network.interface_endpoints", ["ecr.api", "s3x"], "must be one of"),
    ("prod.network.flow_log_retention_days", 10, "must be one of 1, 3, 5"),
    ("prod.network.flow_log_retention_days", 3, "at least 365 days"),
    ("prod.network.flow_log_retention_days", 180, "at least 365 days"),
    ("dev.network.flow_log_retention_days", 5, "at least 7 days"),
    ("prod.network.min_agent_task_ips", -1, "at least 0"),
    ("prod.network.surprise", 1, "is not a known setting"),
    ("prod.network.vpc_cidr", ..., "is required"),
    ("prod.colour", "blue", "is not a known setting"),
    ("prod.network", [], "must be an object"),
    ("prod.registry.repository_prefix", "Outpost", "lower-case letters and digits"),
    ("prod.registry.repository_prefix", "outpost//prod", "lower-case letters and digits"),
    ("prod.registry.repository_prefix", "o" * 250, "over 256 characters"),
    ("prod.registry.keep_tagged_images", 0, "at least 1"),
    ("prod.registry.keep_tagged_images", 1001, "at most 1000"),
    ("prod.registry.untagged_expiry_days", 0, "at least 1"),
    ("prod.registry.untagged_expiry_days", 90, "at most 30"),
    ("prod.registry.keep", 1, "is not a known setting"),
]


@pytest.mark.parametrize(
    ("setting", "value", "rule"), BAD_SETTINGS, ids=[f"{s}={v!r}" for s, v, _ in BAD_SETTINGS]
)
def test_bad_setting_is_one_clear_line(setting: str, value: Any, rule: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(with_setting(setting, value))
    message = str(caught.value)
    assert "\n" not in message
    assert rule in message
    assert caught.value.key.startswith(f"outpost.environments.{setting.split('.')[0]}")
    if value is not ...:
        assert repr(caught.value.value) in message


def test_bad_environment_name() -> None:
    context = shipped_context()
    context["outpost"]["environments"]["Prod!"] = context["outpost"]["environments"]["prod"]
    with pytest.raises(ConfigError, match="environment names are 2-16 lower-case"):
        load(context)


def test_unknown_environment_selected() -> None:
    with pytest.raises(ConfigError, match=r"outpost:only = 'staging': is not a configured environment"):
        load(shipped_context(), only="staging")


def test_no_environments() -> None:
    context = shipped_context()
    context["outpost"]["environments"] = {}
    with pytest.raises(ConfigError, match="at least one environment"):
        load(context)


def test_unknown_top_level_key() -> None:
    context = shipped_context()
    context["outpost"]["enviroments"] = {}
    with pytest.raises(ConfigError, match=r"outpost.enviroments = \{\}: is not a known setting"):
        load(context)


def test_account_override_from_context() -> None:
    context = shipped_context()
    context[account_override_key("prod")] = "333333333333"
    prod = next(env for env in load(context) if env.name == "prod")
    assert prod.account == "333333333333"
    context[account_override_key("prod")] = "33"
    with pytest.raises(ConfigError, match=r"outpost:prod:account = '33': must be a 12-digit"):
        load(context)


def test_a_new_environment_needs_config_only() -> None:
    context = shipped_context()
    staging = json.loads(json.dumps(context["outpost"]["environments"]["dev"]))
    staging["network"]["vpc_cidr"] = "10.30.0.0/16"
    context["outpost"]["environments"]["staging"] = staging
    assert [env.stage_name for env in load(context)] == ["Dev", "Prod", "Staging"]


def _run(args: list[str], env_extra: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", **env_extra}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_synth_with_a_bad_setting_prints_one_line_and_no_traceback() -> None:
    """What a user sees from ``cdk synth``: the app's stderr and exit code."""
    context = with_setting("prod.network.vpc_cidr", "10.0.0.0/33")
    result = _run(["app.py"], {"CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": "/nonexistent"})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "config error: outpost.environments.prod.network.vpc_cidr = '10.0.0.0/33': "
        "must be an IPv4 network in CIDR notation, e.g. 10.0.0.0/16"
    ]


def test_config_check_command(tmp_path: Path) -> None:
    """``python -m config``, which ``make synth`` runs before the CDK CLI."""
    good = _run(["-m", "config"], {})
    assert good.returncode == 0, good.stderr
    assert "prod: production" in good.stdout
    assert _run(["-m", "config", "--env", "prod"], {}).stdout.strip() == "Prod"

    bad = {"context": with_setting("dev.network.nat_gateways", -1)}
    (tmp_path / "cdk.json").write_text(json.dumps(bad))
    result = _run(["-m", "config", "--cdk-json", str(tmp_path / "cdk.json")], {})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "config error: outpost.environments.dev.network.nat_gateways = -1: must be at least 1"
    )
