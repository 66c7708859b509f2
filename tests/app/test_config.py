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
from config.environment import KINDS
from tests.environments import of_kind
from tests.settings import set_path
from tests.synth import ROOT, shipped_context, throwaway_name, with_throwaway
from tests.templates import PROD_CERTIFICATE

# The shipped environments of each kind: rules follow the kind, so the tests pick by kind.
DEV, PROD = of_kind("development"), of_kind("production")


def load(context: dict[str, Any], only: str | None = None) -> Any:
    return load_environments(context.get, only=only)


def with_setting(path: str, value: Any) -> dict[str, Any]:
    """The shipped context with ``outpost.environments.<path>`` set; ``...`` removes the setting
    from the environment and from ``outpost.defaults`` (so that nothing writes it)."""
    context = shipped_context()
    env, _, setting = path.partition(".")
    set_path(context["outpost"]["environments"][env], setting, value)
    if value is ...:
        set_path(context["outpost"]["defaults"], setting, ...)
    return context


def test_shipped_settings_parse() -> None:
    envs = {env.name: env for env in load(shipped_context())}
    assert {env.kind for env in envs.values()} == set(KINDS)
    for env in envs.values():
        assert env.is_production is (env.kind == "production")
        assert env.stage_name == env.name.capitalize()
        assert env.cluster_name == f"outpost-{env.name}"
        if env.is_production:
            assert len(env.network.availability_zones) >= 2
    assert envs[DEV].data.event_bus_name == "outpost-events"


def test_event_bus_name_defaults_to_the_one_the_control_plane_expects() -> None:
    context = with_setting(f"{PROD}.data.event_bus_name", ...)
    prod = next(env for env in load(context) if env.name == PROD)
    assert prod.data.event_bus_name == "outpost-events"


def test_audit_settings() -> None:
    envs = {env.name: env.audit for env in load(shipped_context())}
    assert envs[PROD].object_lock_mode == "COMPLIANCE"
    assert envs[PROD].log_all_s3_data_events
    assert envs[DEV].object_lock_mode == "GOVERNANCE"
    assert all(a.bucket_retention_days >= 365 for a in envs.values())
    assert all(a.log_group_retention_days >= 365 for a in envs.values())


def test_audit_data_events_of_named_buckets() -> None:
    context = with_setting(f"{DEV}.audit.s3_data_events", ["outpost-artifacts", "other.bucket/jobs/"])
    dev = next(env for env in load(context) if env.name == DEV)
    assert not dev.audit.log_all_s3_data_events
    assert dev.audit.s3_data_event_selectors == (
        S3DataEventSelector("outpost-artifacts", ""),
        S3DataEventSelector("other.bucket", "jobs/"),
    )


def test_a_development_environment_may_use_governance_mode() -> None:
    context = with_setting(f"{PROD}.kind", "development")
    set_path(context["outpost"]["environments"][PROD], "audit.object_lock_mode", "GOVERNANCE")
    prod = next(env for env in load(context) if env.name == PROD)
    assert prod.audit.object_lock_mode == "GOVERNANCE"


def test_prod_private_tier_holds_at_least_4000_agent_tasks() -> None:
    prod = next(env for env in load(shipped_context()) if env.name == PROD)
    assert prod.network.agent_task_ip_capacity >= 4000
    # /20 per zone: 4,096 - 5 reserved - one address per interface endpoint, times 3 zones.
    assert prod.network.agent_task_ip_capacity == 3 * (4096 - 5 - len(prod.network.interface_endpoints))


BAD_SETTINGS = [
    # (setting under outpost.environments, bad value, words the rule must contain)
    (f"{PROD}.kind", "staging", "must be one of development, production"),
    (f"{PROD}.account", "12345", "12-digit AWS account id"),
    (f"{PROD}.account", 222222222222, "must be a string"),
    (f"{PROD}.region", "us-east", "must be an AWS commercial region"),
    (f"{PROD}.region", "xx-fake-1", "must be an AWS commercial region"),
    (f"{PROD}.region", "us-gov-west-1", "must be an AWS commercial region"),
    (f"{PROD}.tags", {"aws:owner": "x"}, "reserved"),
    (f"{PROD}.tags", {"Owner": 7}, "must be a string"),
    (f"{PROD}.tags", {"Owner": "a{b}"}, "tag values"),
    (f"{PROD}.network.vpc_cidr", "10.0.0.0/33", "CIDR notation"),
    (f"{PROD}.network.vpc_cidr", "10.20.0.1/16", "CIDR notation"),
    (f"{PROD}.network.vpc_cidr", "10.0.0.0/8", "between /16 and /24"),
    (f"{PROD}.network.vpc_cidr", "8.8.0.0/16", "private (RFC 1918)"),
    (f"{PROD}.network.availability_zones", [], "at least one zone"),
    (f"{PROD}.network.availability_zones", ["eu-west-1a", "eu-west-1b"], "zone of region us-east-1"),
    (f"{PROD}.network.availability_zones", ["us-east-1a", "us-east-1a"], "must not repeat"),
    (f"{PROD}.network.availability_zones", ["us-east-1a"], "production environment needs at least 2 zones"),
    (f"{PROD}.network.availability_zones", "us-east-1a", "list of strings"),
    (
        f"{PROD}.network.availability_zones",
        ["us-east-1a", "us-east-1z"],
        "must be a zone of region us-east-1: ",
    ),
    (f"{PROD}.network.availability_zones", ["us-east-1a", "us-east-1"], "must be a zone of region us-east-1"),
    (f"{PROD}.network.nat_gateways", 2, "a production environment has one NAT gateway per zone (3)"),
    (f"{DEV}.network.vpc_cidr", "10.10.0.0/24", "is too small: 2 public /24 and 2 private /22 subnets"),
    (f"{PROD}.network.public_subnet_mask", 8, "at least 16"),
    (f"{PROD}.network.public_subnet_mask", 29, "at most 28"),
    (f"{PROD}.network.private_subnet_mask", 17, "need 99072 addresses but 10.20.0.0/16 has 65536"),
    (f"{PROD}.network.private_subnet_mask", 24, "below min_agent_task_ips 4000"),
    (f"{PROD}.network.nat_gateways", -1, "at least 1"),
    (f"{PROD}.network.nat_gateways", 0, "at least 1"),
    (f"{PROD}.network.nat_gateways", 4, "at most 3"),
    (f"{PROD}.network.nat_gateways", "3", "whole number"),
    (f"{PROD}.network.nat_gateways", True, "whole number"),
    (f"{PROD}.network.interface_endpoints", ["ecr.api", "s3x"], "must be one of"),
    (f"{PROD}.network.flow_log_retention_days", 10, "must be one of 1, 3, 5"),
    (f"{PROD}.network.flow_log_retention_days", 3, "at least 365 days"),
    (f"{PROD}.network.flow_log_retention_days", 180, "at least 365 days"),
    (f"{DEV}.network.flow_log_retention_days", 5, "at least 7 days"),
    (f"{PROD}.network.min_agent_task_ips", -1, "at least 0"),
    (f"{PROD}.network.surprise", 1, "is not a known setting"),
    (f"{PROD}.network.vpc_cidr", ..., "is required"),
    (f"{PROD}.colour", "blue", "is not a known setting"),
    (f"{PROD}.network", [], "must be an object"),
    (f"{PROD}.registry.repository_prefix", "Outpost", "lower-case letters and digits"),
    (f"{PROD}.registry.repository_prefix", "outpost//prod", "lower-case letters and digits"),
    (f"{PROD}.registry.repository_prefix", "o" * 250, "over 256 characters"),
    (f"{PROD}.registry.keep_tagged_images", 0, "at least 1"),
    (f"{PROD}.registry.keep_tagged_images", 1001, "at most 1000"),
    (f"{PROD}.registry.untagged_expiry_days", 0, "at least 1"),
    (f"{PROD}.registry.untagged_expiry_days", 90, "at most 30"),
    (f"{PROD}.registry.keep", 1, "is not a known setting"),
    (f"{DEV}.registry.existing_repositories", ["claude", "cluade"], "must be one of base, claude"),
    (f"{DEV}.registry.existing_repositories", ["base", "base"], "must not repeat"),
    (f"{DEV}.registry.existing_repositories", "all", "must be a list of strings"),
    (f"{PROD}.monitoring.alarm_email", "on-call", "must be an e-mail address"),
    (f"{PROD}.monitoring.alarm_email", None, "production alarms must reach a person"),
    (f"{PROD}.monitoring.response_time_p95_ms", 0, "at least 10"),
    (f"{PROD}.monitoring.http_5xx_per_5_minutes", 0, "at least 1"),
    (f"{PROD}.monitoring.cpu_percent", 101, "at most 100"),
    (f"{PROD}.monitoring.memory_percent", 5, "at least 10"),
    (f"{PROD}.monitoring.topic", "x", "is not a known setting"),
    (f"{PROD}.data.artifacts_expiration_days", 0, "at least 1"),
    (f"{PROD}.data.artifacts_expiration_days", 3651, "at most 3650"),
    (f"{PROD}.data.artifacts_noncurrent_expiration_days", 0, "at least 1"),
    (
        f"{PROD}.data.artifacts_noncurrent_expiration_days",
        91,
        "must not exceed artifacts_expiration_days (90)",
    ),
    (f"{PROD}.data.access_log_retention_days", 0, "at least 1"),
    (f"{PROD}.data.access_log_retention_days", 3651, "at most 3650"),
    (f"{PROD}.data.event_bus_name", "outpost/events", "letters, digits or . _ -"),
    (f"{PROD}.data.event_bus_name", "", "letters, digits or . _ -"),
    (f"{PROD}.data.event_bus_name", "default", "default bus or a reserved"),
    (f"{PROD}.data.event_bus_name", "aws.events", "default bus or a reserved"),
    (f"{PROD}.data.event_archive_retention_days", 0, "at least 1"),
    (f"{PROD}.data.event_archive_retention_days", 3651, "at most 3650"),
    (f"{PROD}.data.efs_transition_to_ia_days", 45, "must be one of 1, 7, 14, 30"),
    (f"{PROD}.data.workspace_expiry_days", 0, "at least 1"),
    (f"{PROD}.data.workspace_expiry_days", 3651, "at most 3650"),
    (f"{PROD}.data.workspace_expiry_days", ..., "is required"),
    (f"{PROD}.data.callback.target_retry_attempts", -1, "at least 0"),
    (f"{PROD}.data.callback.target_retry_attempts", 186, "at most 185"),
    (f"{PROD}.data.callback.retry_attempts", 3, "at most 2"),
    (f"{PROD}.data.callback.retry_attempts", -1, "at least 0"),
    (f"{PROD}.data.callback.max_event_age_minutes", 0, "at least 1"),
    (f"{PROD}.data.callback.max_event_age_minutes", 361, "at most 360"),
    (f"{PROD}.data.callback.log_retention_days", 0, "must be one of 1, 3, 5"),
    (f"{DEV}.data.callback.log_retention_days", 5, "at least 7 days"),
    (f"{PROD}.data.callback.log_retention_days", 30, "at least 365 days in a production environment"),
    (f"{PROD}.data.callback.dead_letter_retention_days", 0, "at least 1"),
    (f"{PROD}.data.callback.dead_letter_retention_days", 15, "at most 14"),
    (f"{PROD}.data.callback.reserved_concurrency", -1, "at least 0"),
    (f"{PROD}.data.callback.reserved_concurrency", 101, "at most 100"),
    (f"{PROD}.data.callback.timeout", 30, "is not a known setting"),
    (f"{PROD}.data.callback", ..., "is required"),
    (f"{PROD}.data.sweeper", ..., "is required"),
    (f"{PROD}.data.sweeper.reserved_concurrency", 2, "at most 1"),
    (f"{PROD}.data.sweeper.reserved_concurrency", -1, "at least 0"),
    (f"{PROD}.data.sweeper.target_retry_attempts", 186, "at most 185"),
    (f"{PROD}.data.sweeper.retry_attempts", 3, "at most 2"),
    (f"{PROD}.data.sweeper.max_event_age_minutes", 0, "at least 1"),
    (f"{DEV}.data.sweeper.log_retention_days", 5, "at least 7 days"),
    (f"{PROD}.data.sweeper.log_retention_days", 30, "at least 365 days in a production environment"),
    (f"{PROD}.data.sweeper.dead_letter_retention_days", 14, "is not a known setting"),
    (f"{PROD}.data.bucket", "x", "is not a known setting"),
    (f"{PROD}.data", ..., "is required"),
    (f"{PROD}.service", ..., "is required"),
    (f"{PROD}.service.surprise", 1, "is not a known setting"),
    (f"{PROD}.service.control_plane.image_tag", "latest", "never 'latest'"),
    (f"{PROD}.service.control_plane.image_tag", "LATEST", "never 'latest'"),
    (f"{PROD}.service.control_plane.image_tag", "", "must be a Docker image tag"),
    (f"{PROD}.service.control_plane.image_tag", "-rc1", "must be a Docker image tag"),
    (f"{PROD}.service.control_plane.image_tag", "v1 2", "must be a Docker image tag"),
    (f"{PROD}.service.control_plane.image_tag", "a" * 129, "must be a Docker image tag"),
    (f"{PROD}.service.control_plane.image_tag", 1, "must be a string"),
    (f"{PROD}.service.control_plane.bootstrap", "yes", "must be true or false"),
    (f"{PROD}.service.control_plane.cpu", 300, "must be one of 256, 512, 1024"),
    (f"{PROD}.service.control_plane.memory", 1024, "cpu 1024 accepts memory 2048-8192 MiB in steps of 1024"),
    (f"{PROD}.service.control_plane.memory", 2500, "cpu 1024 accepts memory 2048-8192 MiB"),
    (f"{PROD}.service.control_plane.min_tasks", 1, "production environment runs at least 2 tasks"),
    (f"{DEV}.service.control_plane.min_tasks", 0, "must be at least 1"),
    (f"{PROD}.service.control_plane.max_tasks", 1, "must be at least min_tasks (2)"),
    (f"{PROD}.service.control_plane.max_tasks", 101, "must be at most 100"),
    # Gone: a count in the template would reset autoscaling's on every deploy.
    (
        f"{PROD}.service.control_plane.desired_count",
        2,
        "no longer a setting: autoscaling owns the running count",
    ),
    (f"{PROD}.service.control_plane.bake_minutes", 5, "must be at least 10"),
    (f"{PROD}.service.control_plane.bake_minutes", 65, "must be at most 60"),
    (f"{PROD}.service.control_plane.bake_minutes", 12, "must be a multiple of 5 (the release alarms' period"),
    (f"{PROD}.service.control_plane.bake_minutes", ..., "is required"),
    (f"{PROD}.service.control_plane.github_app_id", 0, "must be at least 1"),
    (f"{PROD}.service.control_plane.github_app_id", "123", "must be a whole number"),
    (f"{PROD}.service.control_plane.github_app_id", ..., "is required"),
    (f"{PROD}.service.control_plane.github_app_installation_id", -4, "must be at least 1"),
    (f"{PROD}.service.control_plane.github_app_installation_id", 2**60, "must be at most"),
    (
        f"{PROD}.service.credential_proxy.memory",
        800,
        "leaves the aider agent's container 96 MiB of its task's 1024, less GuardDuty's agent's 128",
    ),
    # Enough in an environment without GuardDuty's agent (1024 - 700 = 324), not in prod's.
    (
        f"{PROD}.service.credential_proxy.memory",
        700,
        "leaves the aider agent's container 196 MiB of its task's 1024, less GuardDuty's agent's 128; "
        "it needs at least 256",
    ),
    (
        f"{DEV}.service.credential_proxy.memory",
        800,
        "leaves the aider agent's container 224 MiB of its task's 1024;",
    ),
    (f"{PROD}.service.credential_proxy.memory", 16, "must be at least 32"),
    (f"{PROD}.service.credential_proxy.image_tag", "latest", "never 'latest'"),
    (f"{PROD}.service.control_plane.cpu_target_percent", 5, "must be at least 10"),
    (f"{PROD}.service.control_plane.cpu_target_percent", 95, "must be at most 90"),
    (f"{PROD}.service.control_plane.requests_per_target", 0, "must be at least 1"),
    (f"{PROD}.service.control_plane.scale_in_cooldown_seconds", -1, "must be at least 0"),
    (f"{PROD}.service.control_plane.scale_out_cooldown_seconds", 3601, "must be at most 3600"),
    (f"{PROD}.service.control_plane.worker_task_timeout_seconds", 30, "must be at least 60"),
    (f"{PROD}.service.control_plane.warm_pool_size", -1, "must be at least 0"),
    (f"{PROD}.service.control_plane.warm_pool_size", 101, "must be at most 100"),
    (f"{PROD}.service.control_plane.warm_pool_size", "10", "must be a whole number"),
    (f"{PROD}.service.control_plane.port", 3000, "is not a known setting"),
    (f"{PROD}.service.agents.grok", ..., "is required"),
    (f"{PROD}.service.agents.mistral", {}, "is not a known setting"),
    (f"{PROD}.service.agents.claude.image_tag", "latest", "never 'latest'"),
    (f"{PROD}.service.agents.claude.cpu", 1000, "must be one of 256, 512, 1024"),
    (f"{PROD}.service.agents.aider.memory", 512, "cpu 512 accepts memory 1024-4096 MiB in steps of 1024"),
    (f"{PROD}.service.agents.claude.ephemeral_storage_gib", 20, "must be at least 21"),
    (f"{PROD}.service.agents.claude.ephemeral_storage_gib", 201, "must be at most 200"),
    (f"{PROD}.service.agents.claude.gpu", 1, "is not a known setting"),
    (f"{PROD}.service.agents_use_spot", "true", "must be true or false"),
    (f"{PROD}.service.agent_architecture", "arm64", "must be one of ARM64, X86_64"),
    (f"{PROD}.service.agent_architecture", ..., "is required"),
    (f"{PROD}.service.agent_platform_version", "1.2.0", "must be one of LATEST, 1.4.0, 1.3.0"),
    # Fargate Spot runs ARM64 Linux tasks on platform version 1.4.0 or later only.
    (f"{DEV}.service.agent_platform_version", "1.3.0", "Fargate Spot runs ARM64 Linux tasks on platform"),
    (f"{PROD}.service.agent_stop_timeout_seconds", 1, "must be at least 2"),
    (f"{PROD}.service.agent_stop_timeout_seconds", 121, "must be at most 120"),
    (f"{PROD}.service.log_retention_days", 10, "must be one of 1, 3, 5"),
    (f"{PROD}.service.log_retention_days", 5, "must be at least 365 days"),
    (f"{PROD}.service.log_retention_days", 180, "must be at least 365 days"),
    (f"{DEV}.service.log_retention_days", 5, "must be at least 7 days"),
    (f"{PROD}.audit", ..., "is required"),
    (f"{PROD}.audit.bucket_retention_days", 364, "at least 365"),
    (f"{PROD}.audit.bucket_retention_days", 36501, "at most 36500"),
    (f"{PROD}.audit.bucket_retention_days", "365", "whole number"),
    (f"{PROD}.audit.object_lock_mode", "LEGAL_HOLD", "must be one of COMPLIANCE, GOVERNANCE"),
    (f"{PROD}.audit.object_lock_mode", "GOVERNANCE", "a production environment must use COMPLIANCE"),
    (f"{PROD}.audit.log_group_retention_days", 364, "must be one of 1, 3, 5"),
    (f"{PROD}.audit.log_group_retention_days", 180, "at least 365 days"),
    (f"{PROD}.audit.access_log_retention_days", 90, "at least 365"),
    (f"{PROD}.audit.access_log_retention_days", 36501, "at most 36500"),
    (f"{PROD}.audit.s3_data_events", "all", "must be true, false or a list of bucket names"),
    (f"{PROD}.audit.s3_data_events", [], "write false instead"),
    (f"{PROD}.audit.s3_data_events", [7], "list of strings"),
    (f"{PROD}.audit.s3_data_events", ["logs", "logs"], "must not repeat"),
    (f"{PROD}.audit.s3_data_events", ["Artifacts"], "must be an S3 bucket name"),
    (f"{PROD}.audit.s3_data_events", ["my..bucket"], "must be an S3 bucket name"),
    (f"{PROD}.audit.s3_data_events", ["bucket/*"], "must be an S3 bucket name"),
    (f"{PROD}.audit.s3_data_events", [f"bucket-{n}" for n in range(101)], "at most 100 buckets"),
    (f"{PROD}.audit.s3_data_events", ..., "is required"),
    (f"{PROD}.audit.lock_days", 365, "is not a known setting"),
    (f"{PROD}.ingress.certificate_arn", ..., "a production environment must serve HTTPS"),
    (f"{PROD}.ingress.certificate_arn", None, "a production environment must serve HTTPS"),
    (
        f"{PROD}.ingress.certificate_arn",
        "arn:aws:acm:us-east-1:222222222222:certificate/nope",
        "ACM certificate ARN",
    ),
    (
        f"{PROD}.ingress.certificate_arn",
        "arn:aws:acm:eu-west-1:222222222222:certificate/00000000-0000-4000-8000-000000000000",
        "of account 222222222222 in us-east-1",
    ),
    (
        f"{PROD}.ingress.certificate_arn",
        "arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-4000-8000-000000000000",
        "of account 222222222222 in us-east-1",
    ),
    (
        f"{PROD}.ingress.certificate_arn",
        "arn:aws:iam::222222222222:server-certificate/outpost",
        "ACM certificate ARN",
    ),
    (f"{PROD}.ingress.certificate_arn", 7, "must be a string"),
    (f"{PROD}.ingress.domain_name", ..., "is required with a certificate"),
    (f"{PROD}.ingress.domain_name", "API.example.com", "lower-case DNS name"),
    # Without a certificate the load balancer serves plain HTTP: the ApiUrl would be http://<domain>.
    (f"{DEV}.ingress.domain_name", "api.dev.outpost.example.com", "needs a certificate"),
    (f"{PROD}.ingress.domain_name", "https://api.example.com", "lower-case DNS name"),
    (f"{PROD}.ingress.idle_timeout_seconds", 0, "at least 1"),
    (f"{PROD}.ingress.idle_timeout_seconds", 4001, "at most 4000"),
    (f"{PROD}.ingress.rate_limit_per_5_minutes", 9, "at least 10"),
    # All traffic comes from the MCP server's one address: the per-IP limit carries the 10x peak.
    (f"{PROD}.ingress.rate_limit_per_5_minutes", 2_000, "must be at least 28728: every request comes from"),
    (f"{DEV}.ingress.rate_limit_per_5_minutes", 28_727, "must be at least 28728"),
    (f"{PROD}.ingress.rate_limit_per_credential_per_5_minutes", 9, "at least 10"),
    (f"{PROD}.ingress.rate_limit_per_credential_per_5_minutes", 81, "must be at least 82: a user with 3"),
    (
        f"{PROD}.ingress.rate_limit_per_credential_per_5_minutes",
        30_000,
        "must be below rate_limit_per_5_minutes",
    ),
    (f"{PROD}.ingress.rate_limit_per_5_minutes", 2_000_000_001, "at most 2000000000"),
    (f"{PROD}.ingress.access_log_retention_days", 6, "at least 7"),
    # The artifacts collector: one PutObject per file, at most 5 GiB.
    (f"{PROD}.data.collector.max_mib_per_dispatch", 5121, "at most 5120"),
    (f"{PROD}.data.collector.max_files_per_dispatch", 0, "at least 1"),
    (f"{PROD}.data.collector.retry_attempts", 3, "at most 2"),
    (f"{PROD}.ingress.access_log_retention_days", 3654, "at most 3653"),
    (f"{PROD}.ingress.waf_log_retention_days", 100, "must be one of 1, 3, 5"),
    (f"{PROD}.ingress.waf_log_retention_days", 5, "at least 365 days"),
    (f"{PROD}.ingress.waf_log_retention_days", 90, "at least 365 days"),
    (f"{DEV}.ingress.waf_log_retention_days", 5, "at least 7 days"),
    (f"{PROD}.ingress.ssl_policy", "TLS12", "is not a known setting"),
    # Without a certificate, ranges are required and the internet is refused (plain HTTP).
    (f"{DEV}.ingress.allowed_cidrs", ..., "is required without a certificate"),
    (f"{DEV}.ingress.allowed_cidrs", [], "is required without a certificate"),
    (f"{DEV}.ingress.allowed_cidrs", ["0.0.0.0/0"], "admits the whole internet to plain HTTP"),
    (f"{DEV}.ingress.allowed_cidrs", ["::/0"], "admits the whole internet to plain HTTP"),
    (f"{DEV}.ingress.allowed_cidrs", ["10.0.0.1/24"], "must be an IPv4 range"),
    (f"{DEV}.ingress.allowed_cidrs", ["office"], "must be an IPv4 range"),
    (f"{PROD}.ingress.allowed_cidrs", ["2001:db8::/32"], "must be an IPv4 range"),
    (f"{DEV}.ingress.allowed_cidrs", [f"10.0.{n}.0/24" for n in range(26)], "at most 25 ranges"),
    (f"{DEV}.ingress.allowed_cidrs", "203.0.113.0/24", "must be a list of strings"),
    (f"{PROD}.service.janitor", ..., "is required"),
    (f"{PROD}.service.janitor.interval_minutes", 4, "at least 5"),
    (f"{PROD}.service.janitor.interval_minutes", 61, "at most 60"),
    (f"{PROD}.service.janitor.grace_minutes", 121, "at most 120"),
    (f"{PROD}.service.janitor.reserved_concurrency", 2, "at most 1"),
    (f"{PROD}.service.janitor.log_retention_days", 30, "at least 365 days"),
    # Leased slots: the pool and the per-dispatch fallback share EFS's 10,000 access points.
    (f"{PROD}.service.slots", ..., "is required"),
    (f"{PROD}.service.slots.pool_size", -1, "at least 0"),
    (f"{PROD}.service.slots.pool_size", 9_991, "at most 9990"),
    (f"{PROD}.service.slots.fallback_access_points", 9, "at least 10"),
    (f"{PROD}.service.slots.fallback_access_points", 8_800, "EFS allows 10,000 per file system"),
    (f"{DEV}.service.slots.pool_size", 9_950, "file system would hold 10,001 access points"),
    (f"{PROD}.service.slots.registrations_per_minute", 0, "at least 1"),
    (f"{PROD}.service.slots.registrations_per_minute", 31, "at most 30"),
    (f"{PROD}.ingress", ..., "is required"),
    (f"{PROD}.audit.security_email", "security", "must be an e-mail address"),
    (f"{PROD}.audit.security_email", None, "security alarms of a production account must reach a person"),
    (f"{PROD}.audit.guardduty", "on", "must be off, create or a GuardDuty detector id"),
    (f"{PROD}.audit.guardduty", "ABCDEF0123456789ABCDEF0123456789", "must be off, create or a GuardDuty"),
    (f"{PROD}.audit.guardduty", "off", "a production environment runs threat detection"),
    (f"{PROD}.monitoring.efs_storage_gib", 0, "at least 1"),
    (f"{PROD}.monitoring.efs_growth_gib_per_hour", 0, "at least 1"),
    (f"{PROD}.monitoring.fargate_vcpu_quota_percent", 101, "at most 100"),
    (f"{PROD}.monitoring.waf_blocked_per_5_minutes", 0, "at least 1"),
    (f"{PROD}.monitoring.dynamodb_throttles_per_5_minutes", 0, "at least 1"),
    (f"{PROD}.budget.monthly_estimate_usd", 0, "at least 1"),
    (f"{PROD}.budget.monthly_estimate_usd", "6129", "must be a whole number"),
    (f"{PROD}.budget.limit_percent", 99, "at least 100"),
    (f"{PROD}.budget.forecast_percent", 0, "at least 1"),
    (f"{PROD}.budget.emails", ["finance"], "must be an e-mail address"),
    (f"{PROD}.budget.emails", [f"a{n}@example.com" for n in range(11)], "AWS Budgets tells at most 10"),
    (f"{PROD}.budget.limit", 1, "is not a known setting"),
]


@pytest.mark.parametrize(
    ("setting", "value", "rule"), BAD_SETTINGS, ids=[f"{s}={v!r}" for s, v, _ in BAD_SETTINGS]
)
def test_bad_setting_is_one_clear_line(setting: str, value: Any, rule: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(with_setting(setting, value), only=setting.split(".")[0])
    message = str(caught.value)
    assert "\n" not in message
    assert rule in message
    assert caught.value.key.startswith(f"outpost.environments.{setting.split('.')[0]}")
    if value is not ...:
        assert repr(caught.value.value) in message


def test_bad_environment_name() -> None:
    context = shipped_context()
    context["outpost"]["environments"]["Prod!"] = context["outpost"]["environments"][PROD]
    with pytest.raises(ConfigError, match="environment names are 2-16 lower-case"):
        load(context)


def test_unknown_environment_selected() -> None:
    missing = throwaway_name(shipped_context()["outpost"]["environments"])
    with pytest.raises(ConfigError, match=rf"outpost:only = '{missing}': is not a configured environment"):
        load(shipped_context(), only=missing)


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
    context[account_override_key(PROD)] = "333333333333"
    # The certificate must belong to the account the stacks deploy to.
    with pytest.raises(ConfigError, match="of account 333333333333 in us-east-1"):
        load(context)
    context[certificate_override_key(PROD)] = PROD_CERTIFICATE.replace("222222222222", "333333333333")
    prod = next(env for env in load(context) if env.name == PROD)
    assert prod.account == "333333333333"
    assert prod.ingress.certificate_arn == context[certificate_override_key(PROD)]
    context[account_override_key(PROD)] = "33"
    with pytest.raises(ConfigError, match=r"outpost:prod:account = '33': must be a 12-digit"):
        load(context)


def test_ingress_settings() -> None:
    envs = {env.name: env for env in load(shipped_context())}
    assert not envs[DEV].ingress.https
    assert envs[DEV].ingress.certificate_arn is None
    assert envs[PROD].ingress.https
    assert envs[PROD].ingress.certificate_arn == PROD_CERTIFICATE
    assert envs[PROD].ingress.domain_name == "api.outpost.example.com"


def test_certificate_override_from_context() -> None:
    context = with_setting(f"{DEV}.ingress.domain_name", "api.dev.outpost.example.com")
    context[certificate_override_key(DEV)] = PROD_CERTIFICATE.replace("222222222222", "111111111111")
    dev = next(env for env in load(context) if env.name == DEV)
    assert dev.ingress.https
    context[certificate_override_key(DEV)] = "arn:aws:acm:us-east-1:111111111111:certificate/x"
    with pytest.raises(ConfigError, match=r"^outpost:dev:certificate_arn = .*ACM certificate ARN"):
        load(context)


def test_a_new_environment_needs_config_only() -> None:
    """A copy of the development block, with the two names an account holds once (tests/synth.py)."""
    shipped = list(shipped_context()["outpost"]["environments"])
    third = throwaway_name(shipped)
    envs = load(with_throwaway(shipped_context()))
    assert [env.name for env in envs] == [*shipped, third]
    assert envs[-1].stage_name == third.capitalize()


def _run(args: list[str], env_extra: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env_extra}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_synth_with_a_bad_setting_prints_one_line_and_no_traceback() -> None:
    """What a user sees from ``cdk synth``: the app's stderr and exit code."""
    context = with_setting(f"{PROD}.network.vpc_cidr", "10.0.0.0/33")
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
    assert f"{PROD}: production" in good.stdout
    assert _run(["-m", "config", "--env", PROD], {}).stdout.strip() == PROD.capitalize()

    bad = {"context": with_setting(f"{DEV}.network.nat_gateways", -1)}
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
    context = with_setting(f"{DEV}.service.agents.claude.cpu", cpu)
    context["outpost"]["environments"][DEV]["service"]["agents"]["claude"]["memory"] = memory
    if accepted:
        dev = load(context, only=DEV)[0]
        assert (dev.service.agent("claude").cpu, dev.service.agent("claude").memory) == (cpu, memory)
    else:
        with pytest.raises(ConfigError, match=f"cpu {cpu} accepts memory"):
            load(context, only=DEV)


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
    prod = envs[PROD].service.control_plane
    assert prod.min_tasks >= 2
    # The template states no count: autoscaling keeps at least min_tasks running.
    assert prod.fixed_desired_count is None


def test_bootstrap_runs_no_task_and_pins_scaling_at_zero() -> None:
    context = with_setting(f"{PROD}.service.control_plane.bootstrap", True)
    prod = load(context, only=PROD)[0].service.control_plane
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
    context = with_setting(f"{DEV}.service.agent_architecture", architecture)
    context["outpost"]["environments"][DEV]["service"]["agent_platform_version"] = platform
    assert context["outpost"]["environments"][DEV]["service"]["agents_use_spot"] is True
    if accepted:
        assert load(context, only=DEV)[0].service.agent_capacity_provider == "FARGATE_SPOT"
    else:
        with pytest.raises(ConfigError, match=r"Spot runs ARM64 Linux tasks on platform version 1\.4\.0"):
            load(context, only=DEV)
    # Without Spot, every pair is accepted.
    context["outpost"]["environments"][DEV]["service"]["agents_use_spot"] = False
    assert load(context, only=DEV)[0].service.agent_capacity_provider == "FARGATE"


def test_lambda_concurrency_zero_reserves_none() -> None:
    """A new account (quota 10, 100 kept unreserved) cannot reserve: 0 means unreserved."""
    envs = {env.name: env.data for env in load(shipped_context())}
    assert (envs[DEV].callback.reserved_concurrency, envs[DEV].sweeper.reserved_concurrency) == (0, 0)
    assert envs[PROD].callback.reserved_concurrency > 0
    assert envs[PROD].sweeper.reserved_concurrency == 1


def test_a_certificate_lifts_the_ingress_restriction() -> None:
    """With a certificate the internet may connect (ranges optional, 0.0.0.0/0 accepted)."""
    prod = load(shipped_context(), only=PROD)[0].ingress
    assert prod.https
    assert prod.allowed_cidrs == ()
    context = with_setting(f"{PROD}.ingress.allowed_cidrs", ["0.0.0.0/0"])
    assert load(context, only=PROD)[0].ingress.allowed_cidrs == ("0.0.0.0/0",)


def test_a_production_environment_may_name_an_existing_detector() -> None:
    detector = "0123456789abcdef0123456789abcdef"
    (env,) = load(with_setting(f"{PROD}.audit.guardduty", detector), only=PROD)
    assert env.audit.detector_id == detector
    assert not env.audit.creates_detector


def test_one_detector_per_account_and_region() -> None:
    """GuardDuty has one detector per account and Region: two environments there cannot both
    create one."""
    context = with_throwaway(shipped_context())
    envs = context["outpost"]["environments"]
    staging = throwaway_name(shipped_context()["outpost"]["environments"])
    for name in (DEV, staging):
        set_path(envs[name], "audit.guardduty", "create")
    with pytest.raises(ConfigError) as caught:
        load(context)
    assert caught.value.key == f"outpost.environments.{staging}.audit.guardduty"
    assert f"environment {DEV} of the same account" in str(caught.value)


def test_each_account_has_one_owner_of_its_account_alarms() -> None:
    """The first environment of an account (a production one before any other) makes the CIS
    filters and the quota alarm; another environment of that account does not, even built alone."""
    context = with_throwaway(shipped_context())
    staging = throwaway_name(shipped_context()["outpost"]["environments"])
    owners = {env.name: env.owns_account_alarms for env in load(context)}
    assert owners == {DEV: True, PROD: True, staging: False}
    (alone,) = load(context, only=staging)
    assert not alone.owns_account_alarms
    assert alone.shares_account
    # Moved into a production environment's account, the first environment hands it over.
    dev = context["outpost"]["environments"][DEV]
    dev["account"] = context["outpost"]["environments"][PROD]["account"]
    set_path(dev, "data.event_bus_name", "outpost-dev-events")
    owners = {env.name: env.owns_account_alarms for env in load(context)}
    assert owners == {DEV: False, PROD: True, staging: True}
