"""The Service stack as a whole: cluster, log groups, outputs, acknowledgements."""

from __future__ import annotations

import json

import pytest

from compliance.acknowledgements import control_tower
from config import AGENTS
from tests.environments import STAGES, is_production
from tests.service_templates import (
    ENV_NAMES,
    logical_id,
    props,
    service,
)
from tests.synth import Synthesized
from tests.templates import arn_of, data_id, ref, region, settings


@pytest.mark.parametrize("stage", STAGES)
def test_cluster_has_enhanced_insights_and_both_fargate_providers(
    synthesized: Synthesized, stage: str
) -> None:
    cluster = props(synthesized, stage, "Cluster/Resource")
    assert cluster["ClusterName"] == f"outpost-{ENV_NAMES[stage]}"
    assert cluster["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enhanced"}]
    association = props(synthesized, stage, "Cluster/Cluster")
    assert sorted(association["CapacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]
    assert association["Cluster"] == ref(logical_id(synthesized, stage, "Cluster/Resource"))


@pytest.mark.parametrize("stage", STAGES)
def test_the_task_stopped_rule_matches_this_cluster(synthesized: Synthesized, stage: str) -> None:
    """The Data stack's callback rule names the cluster before it exists: the names must agree."""
    account = settings(stage)["account"]
    name = props(synthesized, stage, "Cluster/Resource")["ClusterName"]
    [rule] = [
        r["Properties"]
        for r in synthesized.resources(f"{stage}/Data", "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("detail-type") == ["ECS Task State Change"]
    ]
    assert rule["EventPattern"]["detail"]["clusterArn"] == [
        f"arn:aws:ecs:{region(stage)}:{account}:cluster/{name}"
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_log_groups_are_encrypted_and_expire(synthesized: Synthesized, stage: str) -> None:
    retention = settings(stage)["service"]["log_retention_days"]
    key = logical_id(synthesized, stage, "LogsKey/Key/Resource")
    groups = {
        logical: group
        for logical, group in synthesized.resources(f"{stage}/Service", "AWS::Logs::LogGroup").items()
        # The WAF's and the janitor's groups have their own retention settings (their tests).
        if not str(group["Properties"].get("LogGroupName", "")).startswith("aws-waf-logs-")
        and "DispatchJanitor" not in logical
    }
    assert len(groups) == len(AGENTS) + 1
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == retention
        assert group["Properties"]["KmsKeyId"] == arn_of(key)
        expected = "Retain" if is_production(stage) else "Delete"
        assert group["DeletionPolicy"] == expected


@pytest.mark.parametrize("stage", STAGES)
def test_outputs(synthesized: Synthesized, stage: str) -> None:
    outputs = service(synthesized, stage)["Outputs"]
    assert outputs["ClusterName"]["Value"] == ref(logical_id(synthesized, stage, "Cluster/Resource"))
    assert {"ControlPlaneServiceName", "ControlPlaneLogGroup"} <= set(outputs)
    assert {f"{a.capitalize()}TaskDefinition" for a in AGENTS} <= set(outputs)
    # The secrets' names are outputs of the Data stack, where the secrets are.
    assert [k for k in outputs if k.endswith("SecretName")] == []
    data_outputs = synthesized.template(f"{stage}/Data")["Outputs"]
    secret_names = sorted(
        o["Value"]
        for k, o in data_outputs.items()
        if k.endswith("SecretName") and k != "GithubAppPrivateKeySecretName"
    )
    assert secret_names == [
        f"outpost/{ENV_NAMES[stage]}/{p}-api-key"
        for p in ("anthropic", "deepseek", "google", "openai", "xai")
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_acknowledgements_are_exactly_these(synthesized: Synthesized, stage: str) -> None:
    """Each acknowledged finding of the stack, where it is made; a new one must be added here."""
    account = settings(stage)["account"]
    env = ENV_NAMES[stage]
    cluster = logical_id(synthesized, stage, "Cluster/Resource")
    found = {
        (ack["acknowledgedId"], ack["acknowledgedAt"].removeprefix(f"{stage}/Service/"))
        for plugin in synthesized.report["pluginReports"]
        for ack in plugin.get("suppressedViolations", [])
        if ack["acknowledgedAt"].startswith(f"{stage}/Service/")
        # The front door's and the janitor's own lists are pinned by their own tests.
        and not ack["acknowledgedAt"].startswith(f"{stage}/Service/FrontDoor/")
        and not ack["acknowledgedAt"].startswith(f"{stage}/Service/DispatchJanitor/")
    }
    iam5 = "AwsSolutions::AwsSolutions-IAM5"
    expected = {("AwsSolutions::AwsSolutions-ECS2", "ControlPlane/TaskDefinition")}
    # Agents: the proxy's loopback URL, the provider's origin, a placeholder key (issue 21).
    expected |= {("AwsSolutions::AwsSolutions-ECS2", f"{a.capitalize()}/TaskDefinition") for a in AGENTS}
    # Container Insights runs enhanced, which the Control Tower rule does not know.
    expected |= {(control_tower("ecs_container_insights_enabled_check"), "Cluster/Resource")}
    # Log groups kept less than a year, development only (constructs/log_encryption.py).
    if settings(stage)["service"]["log_retention_days"] < 365:
        retention = control_tower("cloudwatch_log_group_retention_period_check")
        expected |= {
            (retention, f"{name}/Logs") for name in (*(a.capitalize() for a in AGENTS), "ControlPlane")
        }
    expected |= {(f"{iam5}[Resource::*]", f"{a.capitalize()}/Execution/Policy") for a in AGENTS}
    expected |= {(f"{iam5}[Resource::*]", "ControlPlane/Execution/Policy")}
    expected |= {(f"{iam5}[Resource::*]", "ControlPlane/LaunchPolicy")}  # ecs:ListTasks
    expected |= {
        (
            f"{iam5}[Resource::arn:aws:ecs:{region(stage)}:{account}:task-definition/outpost-{env}-{family}:*]",
            "ControlPlane/LaunchPolicy",
        )
        for a in AGENTS
        for family in (a, f"{a}-dispatch")
    }
    expected |= {
        (
            f"{iam5}[Resource::arn:aws:ecs:{region(stage)}:{account}:task/<{cluster}>/*]",
            "ControlPlane/LaunchPolicy",
        )
    }
    artifacts = json.dumps(
        {
            "Fn::GetStackOutput": {
                "StackName": f"{stage}-Data",
                "Region": region(stage),
                "OutputName": next(
                    name
                    for name, o in synthesized.template(f"{stage}/Data")["Outputs"].items()
                    if name.startswith("PublishOutput")
                    and o["Value"] == arn_of(data_id(synthesized, stage, "Artifacts/Bucket/Resource"))
                ),
            }
        },
        separators=(",", ":"),
    )
    # Object ARNs of the artifacts bucket: all of them for the control plane; none for an agent.
    expected |= {(f"{iam5}[Resource::{artifacts}/*]", "ControlPlane/ArtifactsPolicy")}
    # Access points (their ARNs do not name the file system; tag conditions do).
    expected |= {
        (
            f"{iam5}[Resource::arn:aws:elasticfilesystem:{region(stage)}:{account}:access-point/*]",
            "ControlPlane/WorkspacesPolicy",
        )
    }
    assert found == expected
