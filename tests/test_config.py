"""Every settings rule: a bad value stops synth with one line naming key, value and rule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from config import ConfigError, account_override_key, certificate_override_key, load_environments
from config.audit import S3DataEventSelector
from tests.synth import ROOT, shipped_context
from tests.templates import PROD_CERTIFICATE


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
    assert envs["prod"].cluster_name == "outpost-prod"
    assert envs["dev"].data.event_bus_name == "outpost-events"


def test_event_bus_name_defaults_to_the_one_the_control_plane_expects() -> None:
    context = with_setting("prod.data.event_bus_name", ...)
    prod = next(env for env in load(context) if env.name == "prod")
    assert prod.data.event_bus_name == "outpost-events"


def test_audit_settings() -> None:
    envs = {env.name: env.audit for env in load(shipped_context())}
    assert envs["prod"].object_lock_mode == "COMPLIANCE"
    assert envs["prod"].log_all_s3_data_events
    assert envs["dev"].object_lock_mode == "GOVERNANCE"
    assert all(a.bucket_retention_days >= 365 for a in envs.values())
    assert all(a.log_group_retention_days >= 365 for a in envs.values())


def test_audit_data_events_of_named_buckets() -> None:
    context = with_setting("dev.audit.s3_data_events", ["outpost-artifacts", "other.bucket/jobs/"])
    dev = next(env for env in load(context) if env.name == "dev")
    assert not dev.audit.log_all_s3_data_events
    assert dev.audit.s3_data_event_selectors == (
        S3DataEventSelector("outpost-artifacts", ""),
        S3DataEventSelector("other.bucket", "jobs/"),
    )


def test_a_development_environment_may_use_governance_mode() -> None:
    context = with_setting("prod.kind", "development")
    context["outpost"]["environments"]["prod"]["audit"]["object_lock_mode"] = "GOVERNANCE"
    prod = next(env for env in load(context) if env.name == "prod")
    assert prod.audit.object_lock_mode == "GOVERNANCE"


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
    ("prod.monitoring.alarm_email", "on-call", "must be an e-mail address"),
    ("prod.monitoring.alarm_email", None, "production alarms must reach a person"),
    ("prod.monitoring.response_time_p95_ms", 0, "at least 10"),
    ("prod.monitoring.http_5xx_per_5_minutes", 0, "at least 1"),
    ("prod.monitoring.cpu_percent", 101, "at most 100"),
    ("prod.monitoring.memory_percent", 5, "at least 10"),
    ("prod.monitoring.topic", "x", "is not a known setting"),
    ("prod.data.artifacts_expiration_days", 0, "at least 1"),
    ("prod.data.artifacts_expiration_days", 3651, "at most 3650"),
    ("prod.data.artifacts_noncurrent_expiration_days", 0, "at least 1"),
    ("prod.data.artifacts_noncurrent_expiration_days", 91, "must not exceed artifacts_expiration_days (90)"),
    ("prod.data.access_log_retention_days", 0, "at least 1"),
    ("prod.data.access_log_retention_days", 3651, "at most 3650"),
    ("prod.data.event_bus_name", "outpost/events", "letters, digits or . _ -"),
    ("prod.data.event_bus_name", "", "letters, digits or . _ -"),
    ("prod.data.event_bus_name", "default", "default bus or a reserved"),
    ("prod.data.event_bus_name", "aws.events", "default bus or a reserved"),
    ("prod.data.event_archive_retention_days", 0, "at least 1"),
    ("prod.data.event_archive_retention_days", 3651, "at most 3650"),
    ("prod.data.efs_transition_to_ia_days", 45, "must be one of 1, 7, 14, 30"),
    ("prod.data.workspace_expiry_days", 0, "at least 1"),
    ("prod.data.workspace_expiry_days", 3651, "at most 3650"),
    ("prod.data.workspace_expiry_days", ..., "is required"),
    ("prod.data.callback.target_retry_attempts", -1, "at least 0"),
    ("prod.data.callback.target_retry_attempts", 186, "at most 185"),
    ("prod.data.callback.retry_attempts", 3, "at most 2"),
    ("prod.data.callback.retry_attempts", -1, "at least 0"),
    ("prod.data.callback.max_event_age_minutes", 0, "at least 1"),
    ("prod.data.callback.max_event_age_minutes", 361, "at most 360"),
    ("prod.data.callback.log_retention_days", 0, "must be one of 1, 3, 5"),
    ("prod.data.callback.log_retention_days", 5, "at least 7 days"),
    ("prod.data.callback.dead_letter_retention_days", 0, "at least 1"),
    ("prod.data.callback.dead_letter_retention_days", 15, "at most 14"),
    ("prod.data.callback.reserved_concurrency", -1, "at least 0"),
    ("prod.data.callback.reserved_concurrency", 101, "at most 100"),
    ("prod.data.callback.timeout", 30, "is not a known setting"),
    ("prod.data.callback", ..., "is required"),
    ("prod.data.sweeper", ..., "is required"),
    ("prod.data.sweeper.reserved_concurrency", 2, "at most 1"),
    ("prod.data.sweeper.reserved_concurrency", -1, "at least 0"),
    ("prod.data.sweeper.target_retry_attempts", 186, "at most 185"),
    ("prod.data.sweeper.retry_attempts", 3, "at most 2"),
    ("prod.data.sweeper.max_event_age_minutes", 0, "at least 1"),
    ("prod.data.sweeper.log_retention_days", 5, "at least 7 days"),
    ("prod.data.sweeper.dead_letter_retention_days", 14, "is not a known setting"),
    ("prod.data.bucket", "x", "is not a known setting"),
    ("prod.data", ..., "is required"),
    ("prod.service", ..., "is required"),
    ("prod.service.surprise", 1, "is not a known setting"),
    ("prod.service.control_plane.image_tag", "latest", "never 'latest'"),
    ("prod.service.control_plane.image_tag", "LATEST", "never 'latest'"),
    ("prod.service.control_plane.image_tag", "", "must be a Docker image tag"),
    ("prod.service.control_plane.image_tag", "-rc1", "must be a Docker image tag"),
    ("prod.service.control_plane.image_tag", "v1 2", "must be a Docker image tag"),
    ("prod.service.control_plane.image_tag", "a" * 129, "must be a Docker image tag"),
    ("prod.service.control_plane.image_tag", 1, "must be a string"),
    ("prod.service.control_plane.bootstrap", "yes", "must be true or false"),
    ("prod.service.control_plane.cpu", 300, "must be one of 256, 512, 1024"),
    ("prod.service.control_plane.memory", 1024, "cpu 1024 accepts memory 2048-8192 MiB in steps of 1024"),
    ("prod.service.control_plane.memory", 2500, "cpu 1024 accepts memory 2048-8192 MiB"),
    ("prod.service.control_plane.min_tasks", 1, "production environment runs at least 2 tasks"),
    ("dev.service.control_plane.min_tasks", 0, "must be at least 1"),
    ("prod.service.control_plane.max_tasks", 1, "must be at least min_tasks (2)"),
    ("prod.service.control_plane.max_tasks", 101, "must be at most 100"),
    # Gone: a count in the template would reset autoscaling's on every deploy.
    (
        "prod.service.control_plane.desired_count",
        2,
        "no longer a setting: autoscaling owns the running count",
    ),
    ("prod.service.control_plane.bake_minutes", 5, "must be at least 10"),
    ("prod.service.control_plane.bake_minutes", 65, "must be at most 60"),
    ("prod.service.control_plane.bake_minutes", 12, "must be a multiple of 5 (the release alarms' period"),
    ("prod.service.control_plane.bake_minutes", ..., "is required"),
    ("prod.service.control_plane.cpu_target_percent", 5, "must be at least 10"),
    ("prod.service.control_plane.cpu_target_percent", 95, "must be at most 90"),
    ("prod.service.control_plane.requests_per_target", 0, "must be at least 1"),
    ("prod.service.control_plane.scale_in_cooldown_seconds", -1, "must be at least 0"),
    ("prod.service.control_plane.scale_out_cooldown_seconds", 3601, "must be at most 3600"),
    ("prod.service.control_plane.worker_task_timeout_seconds", 30, "must be at least 60"),
    ("prod.service.control_plane.warm_pool_size", -1, "must be at least 0"),
    ("prod.service.control_plane.warm_pool_size", 101, "must be at most 100"),
    ("prod.service.control_plane.warm_pool_size", "10", "must be a whole number"),
    ("prod.service.control_plane.port", 3000, "is not a known setting"),
    ("prod.service.agents.grok", ..., "is required"),
    ("prod.service.agents.mistral", {}, "is not a known setting"),
    ("prod.service.agents.claude.image_tag", "latest", "never 'latest'"),
    ("prod.service.agents.claude.cpu", 1000, "must be one of 256, 512, 1024"),
    ("prod.service.agents.aider.memory", 512, "cpu 512 accepts memory 1024-4096 MiB in steps of 1024"),
    ("prod.service.agents.claude.ephemeral_storage_gib", 20, "must be at least 21"),
    ("prod.service.agents.claude.ephemeral_storage_gib", 201, "must be at most 200"),
    ("prod.service.agents.claude.gpu", 1, "is not a known setting"),
    ("prod.service.agents_use_spot", "true", "must be true or false"),
    ("prod.service.agent_architecture", "arm64", "must be one of ARM64, X86_64"),
    ("prod.service.agent_architecture", ..., "is required"),
    ("prod.service.agent_platform_version", "1.2.0", "must be one of LATEST, 1.4.0, 1.3.0"),
    # Fargate Spot runs ARM64 Linux tasks on platform version 1.4.0 or later only.
    ("dev.service.agent_platform_version", "1.3.0", "Fargate Spot runs ARM64 Linux tasks on platform"),
    ("prod.service.agent_stop_timeout_seconds", 1, "must be at least 2"),
    ("prod.service.agent_stop_timeout_seconds", 121, "must be at most 120"),
    ("prod.service.log_retention_days", 10, "must be one of 1, 3, 5"),
    ("prod.service.log_retention_days", 5, "must be at least 365 days"),
    ("prod.service.log_retention_days", 180, "must be at least 365 days"),
    ("dev.service.log_retention_days", 5, "must be at least 7 days"),
    ("prod.audit", ..., "is required"),
    ("prod.audit.bucket_retention_days", 364, "at least 365"),
    ("prod.audit.bucket_retention_days", 36501, "at most 36500"),
    ("prod.audit.bucket_retention_days", "365", "whole number"),
    ("prod.audit.object_lock_mode", "LEGAL_HOLD", "must be one of COMPLIANCE, GOVERNANCE"),
    ("prod.audit.object_lock_mode", "GOVERNANCE", "a production environment must use COMPLIANCE"),
    ("prod.audit.log_group_retention_days", 364, "must be one of 1, 3, 5"),
    ("prod.audit.log_group_retention_days", 180, "at least 365 days"),
    ("prod.audit.access_log_retention_days", 90, "at least 365"),
    ("prod.audit.access_log_retention_days", 36501, "at most 36500"),
    ("prod.audit.s3_data_events", "all", "must be true, false or a list of bucket names"),
    ("prod.audit.s3_data_events", [], "write false instead"),
    ("prod.audit.s3_data_events", [7], "list of strings"),
    ("prod.audit.s3_data_events", ["logs", "logs"], "must not repeat"),
    ("prod.audit.s3_data_events", ["Artifacts"], "must be an S3 bucket name"),
    ("prod.audit.s3_data_events", ["my..bucket"], "must be an S3 bucket name"),
    ("prod.audit.s3_data_events", ["bucket/*"], "must be an S3 bucket name"),
    ("prod.audit.s3_data_events", [f"bucket-{n}" for n in range(101)], "at most 100 buckets"),
    ("prod.audit.s3_data_events", ..., "is required"),
    ("prod.audit.lock_days", 365, "is not a known setting"),
    ("prod.ingress.certificate_arn", ..., "a production environment must serve HTTPS"),
    ("prod.ingress.certificate_arn", None, "a production environment must serve HTTPS"),
    (
        "prod.ingress.certificate_arn",
        "arn:aws:acm:us-east-1:222222222222:certificate/nope",
        "ACM certificate ARN",
    ),
    (
        "prod.ingress.certificate_arn",
        "arn:aws:acm:eu-west-1:222222222222:certificate/00000000-0000-4000-8000-000000000000",
        "of account 222222222222 in us-east-1",
    ),
    (
        "prod.ingress.certificate_arn",
        "arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-4000-8000-000000000000",
        "of account 222222222222 in us-east-1",
    ),
    (
        "prod.ingress.certificate_arn",
        "arn:aws:iam::222222222222:server-certificate/outpost",
        "ACM certificate ARN",
    ),
    ("prod.ingress.certificate_arn", 7, "must be a string"),
    ("prod.ingress.domain_name", ..., "is required with a certificate"),
    ("prod.ingress.domain_name", "API.example.com", "lower-case DNS name"),
    ("prod.ingress.domain_name", "https://api.example.com", "lower-case DNS name"),
    ("prod.ingress.idle_timeout_seconds", 0, "at least 1"),
    ("prod.ingress.idle_timeout_seconds", 4001, "at most 4000"),
    ("prod.ingress.rate_limit_per_5_minutes", 9, "at least 10"),
    ("prod.ingress.rate_limit_per_5_minutes", 2_000_000_001, "at most 2000000000"),
    ("prod.ingress.access_log_retention_days", 6, "at least 7"),
    ("prod.ingress.access_log_retention_days", 3654, "at most 3653"),
    ("prod.ingress.waf_log_retention_days", 100, "must be one of 1, 3, 5"),
    ("prod.ingress.waf_log_retention_days", 5, "at least 365 days"),
    ("prod.ingress.waf_log_retention_days", 90, "at least 365 days"),
    ("dev.ingress.waf_log_retention_days", 5, "at least 7 days"),
    ("prod.ingress.ssl_policy", "TLS12", "is not a known setting"),
    # Without a certificate, ranges are required and the internet is refused (plain HTTP).
    ("dev.ingress.allowed_cidrs", ..., "is required without a certificate"),
    ("dev.ingress.allowed_cidrs", [], "is required without a certificate"),
    ("dev.ingress.allowed_cidrs", ["0.0.0.0/0"], "admits the whole internet to plain HTTP"),
    ("dev.ingress.allowed_cidrs", ["::/0"], "admits the whole internet to plain HTTP"),
    ("dev.ingress.allowed_cidrs", ["10.0.0.1/24"], "must be an IPv4 range"),
    ("dev.ingress.allowed_cidrs", ["office"], "must be an IPv4 range"),
    ("prod.ingress.allowed_cidrs", ["2001:db8::/32"], "must be an IPv4 range"),
    ("dev.ingress.allowed_cidrs", [f"10.0.{n}.0/24" for n in range(26)], "at most 25 ranges"),
    ("dev.ingress.allowed_cidrs", "203.0.113.0/24", "must be a list of strings"),
    ("prod.service.janitor", ..., "is required"),
    ("prod.service.janitor.interval_minutes", 4, "at least 5"),
    ("prod.service.janitor.interval_minutes", 61, "at most 60"),
    ("prod.service.janitor.grace_minutes", 121, "at most 120"),
    ("prod.service.janitor.reserved_concurrency", 2, "at most 1"),
    ("prod.service.janitor.log_retention_days", 30, "at least 365 days"),
    ("prod.ingress", ..., "is required"),
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
    # The certificate must belong to the account the stacks deploy to.
    with pytest.raises(ConfigError, match="of account 333333333333 in us-east-1"):
        load(context)
    context[certificate_override_key("prod")] = PROD_CERTIFICATE.replace("222222222222", "333333333333")
    prod = next(env for env in load(context) if env.name == "prod")
    assert prod.account == "333333333333"
    assert prod.ingress.certificate_arn == context[certificate_override_key("prod")]
    context[account_override_key("prod")] = "33"
    with pytest.raises(ConfigError, match=r"outpost:prod:account = '33': must be a 12-digit"):
        load(context)


def test_ingress_settings() -> None:
    envs = {env.name: env for env in load(shipped_context())}
    assert not envs["dev"].ingress.https
    assert envs["dev"].ingress.certificate_arn is None
    assert envs["prod"].ingress.https
    assert envs["prod"].ingress.certificate_arn == PROD_CERTIFICATE
    assert envs["prod"].ingress.domain_name == "api.outpost.example.com"


def test_certificate_override_from_context() -> None:
    context = with_setting("dev.ingress.domain_name", "api.dev.outpost.example.com")
    context[certificate_override_key("dev")] = PROD_CERTIFICATE.replace("222222222222", "111111111111")
    dev = next(env for env in load(context) if env.name == "dev")
    assert dev.ingress.https
    context[certificate_override_key("dev")] = "arn:aws:acm:us-east-1:111111111111:certificate/x"
    with pytest.raises(ConfigError, match=r"^outpost:dev:certificate_arn = .*ACM certificate ARN"):
        load(context)


def test_a_new_environment_needs_config_only() -> None:
    context = shipped_context()
    staging = json.loads(json.dumps(context["outpost"]["environments"]["dev"]))
    staging["network"]["vpc_cidr"] = "10.30.0.0/16"
    # In dev's account: names of its own where an account allows only one (test_deployability.py).
    staging["registry"]["repository_prefix"] = "outpost-staging"
    staging["data"]["event_bus_name"] = "outpost-staging-events"
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


@pytest.mark.parametrize(
    ("cpu", "memory", "accepted"),
    [
        (256, 512, True),
        (256, 2048, True),
        (256, 3072, False),
        (512, 4096, True),
        (1024, 8192, True),
        (1024, 9216, False),
        (2048, 16384, True),
        (4096, 30720, True),
        (4096, 31744, False),
        (8192, 16384, True),
        (8192, 61440, True),
        (8192, 17408, False),
        (16384, 122880, True),
        (16384, 36864, False),
    ],
)
def test_fargate_cpu_memory_pairs(cpu: int, memory: int, accepted: bool) -> None:
    context = with_setting("dev.service.agents.claude.cpu", cpu)
    context["outpost"]["environments"]["dev"]["service"]["agents"]["claude"]["memory"] = memory
    if accepted:
        dev = load(context, only="dev")[0]
        assert (dev.service.agent("claude").cpu, dev.service.agent("claude").memory) == (cpu, memory)
    else:
        with pytest.raises(ConfigError, match=f"cpu {cpu} accepts memory"):
            load(context, only="dev")


def test_shipped_service_settings() -> None:
    envs = {env.name: env for env in load(shipped_context())}
    for env in envs.values():
        sizes = {a.name: (a.cpu, a.memory) for a in env.service.agents}
        assert sizes == {
            "claude": (1024, 2048),
            "codex": (1024, 2048),
            "gemini": (1024, 2048),
            "aider": (512, 1024),
            "grok": (1024, 2048),
        }
        assert env.service.control_plane.bootstrap is False
    prod = envs["prod"].service.control_plane
    assert prod.min_tasks >= 2
    # The template states no count: autoscaling keeps at least min_tasks running.
    assert prod.fixed_desired_count is None


def test_bootstrap_runs_no_task_and_pins_scaling_at_zero() -> None:
    context = with_setting("prod.service.control_plane.bootstrap", True)
    prod = load(context, only="prod")[0].service.control_plane
    assert prod.fixed_desired_count == 0
    assert prod.scaling_bounds == (0, 0)
    # The configured bounds still obey the production rules, for the deploy after it.
    assert prod.min_tasks >= 2


@pytest.mark.parametrize(
    ("architecture", "platform", "accepted"),
    [
        ("ARM64", "LATEST", True),
        ("ARM64", "1.4.0", True),
        ("ARM64", "1.3.0", False),
        ("X86_64", "1.3.0", True),
        ("X86_64", "LATEST", True),
    ],
)
def test_fargate_spot_needs_the_platform_version_of_the_architecture(
    architecture: str, platform: str, accepted: bool
) -> None:
    """Fargate Spot: X86_64 Linux tasks on 1.3.0 or later, ARM64 on 1.4.0 or later."""
    context = with_setting("dev.service.agent_architecture", architecture)
    context["outpost"]["environments"]["dev"]["service"]["agent_platform_version"] = platform
    assert context["outpost"]["environments"]["dev"]["service"]["agents_use_spot"] is True
    if accepted:
        assert load(context, only="dev")[0].service.agent_capacity_provider == "FARGATE_SPOT"
    else:
        with pytest.raises(ConfigError, match=r"Spot runs ARM64 Linux tasks on platform version 1\.4\.0"):
            load(context, only="dev")
    # Without Spot, every pair is accepted.
    context["outpost"]["environments"]["dev"]["service"]["agents_use_spot"] = False
    assert load(context, only="dev")[0].service.agent_capacity_provider == "FARGATE"


def test_lambda_concurrency_zero_reserves_none() -> None:
    """A new account (quota 10, 100 kept unreserved) cannot reserve: 0 means unreserved."""
    envs = {env.name: env.data for env in load(shipped_context())}
    assert (envs["dev"].callback.reserved_concurrency, envs["dev"].sweeper.reserved_concurrency) == (0, 0)
    assert envs["prod"].callback.reserved_concurrency > 0
    assert envs["prod"].sweeper.reserved_concurrency == 1


def test_a_certificate_lifts_the_ingress_restriction() -> None:
    """With a certificate the internet may connect (ranges optional, 0.0.0.0/0 accepted)."""
    prod = load(shipped_context(), only="prod")[0].ingress
    assert prod.https
    assert prod.allowed_cidrs == ()
    context = with_setting("prod.ingress.allowed_cidrs", ["0.0.0.0/0"])
    assert load(context, only="prod")[0].ingress.allowed_cidrs == ("0.0.0.0/0",)
