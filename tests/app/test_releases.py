"""Safe releases (issue 14): a deploy never cuts capacity, a bad control-plane release rolls back.

Read from the synthesized templates of every environment: what a ``make deploy`` would send.
"""

from __future__ import annotations

from typing import Any

import pytest

from config.service import BAKE_MINUTES
from tests.environments import STAGES, is_production, name_of
from tests.synth import Synthesized
from tests.templates import ref, settings, stack_paths
from tests.test_workflows import jobs

RELEASE_ALARMS = {
    # construct id: (metric, statistic, datapoints that fire it, comparison)
    "Target5xx": ("HTTPCode_Target_5XX_Count", {"Statistic": "Sum"}, 1, "GreaterThanOrEqualToThreshold"),
    "ResponseTimeP95": ("TargetResponseTime", {"ExtendedStatistic": "p95"}, 2, "GreaterThanThreshold"),
}


def services(synthesized: Synthesized, stage: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(stack, logical id) -> resource, of every ECS service of the stage."""
    return {
        (stack, logical_id): resource
        for stack in stack_paths(synthesized, stage)
        for logical_id, resource in synthesized.resources(stack, "AWS::ECS::Service").items()
    }


def control_plane(synthesized: Synthesized, stage: str) -> tuple[str, dict[str, Any]]:
    [(logical_id, resource)] = synthesized.resources(f"{stage}/Service", "AWS::ECS::Service").items()
    return logical_id, resource


def release_alarms(synthesized: Synthesized, stage: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Alarm name -> (logical id, properties) of the Service stack's alarms."""
    return {
        resource["Properties"]["AlarmName"]: (logical_id, resource["Properties"])
        for logical_id, resource in synthesized.resources(
            f"{stage}/Service", "AWS::CloudWatch::Alarm"
        ).items()
    }


@pytest.mark.parametrize("stage", STAGES)
def test_no_service_states_a_running_count_a_deploy_would_reset(synthesized: Synthesized, stage: str) -> None:
    """CloudFormation omits an absent DesiredCount from an update of an existing service, so a
    deploy keeps the count autoscaling set; a stated one sets a service scaled to 8 tasks back
    to it in the middle of a release (prod stated 2). Only bootstrap states one: 0."""
    found = services(synthesized, stage)
    assert found
    for (stack, logical_id), service in found.items():
        assert "DesiredCount" not in service["Properties"], (stack, logical_id)


@pytest.mark.parametrize("stage", STAGES)
def test_autoscaling_alone_moves_the_running_count(synthesized: Synthesized, stage: str) -> None:
    """Each service's count has one scalable target: a new service starts at ECS's default of 1
    and RegisterScalableTarget lifts it into MinCapacity; nothing else in a template sets it."""
    wanted = settings(stage)["service"]["control_plane"]
    for (stack, service_id), _ in services(synthesized, stage).items():
        targets = [
            target["Properties"]
            for target in synthesized.resources(stack, "AWS::ApplicationAutoScaling::ScalableTarget").values()
            if target["Properties"]["ScalableDimension"] == "ecs:service:DesiredCount"
            # service/<cluster>/<service name>
            and {"Fn::GetAtt": [service_id, "Name"]} in target["Properties"]["ResourceId"]["Fn::Join"][1]
        ]
        assert len(targets) == 1, (stack, service_id)
        [target] = targets
        assert (target["MinCapacity"], target["MaxCapacity"]) == (
            wanted["min_tasks"],
            wanted["max_tasks"],
        )
        assert "ScheduledActions" not in target
    if is_production(stage):
        assert wanted["min_tasks"] >= 2  # one task per zone of two at least


@pytest.mark.parametrize("stage", STAGES)
def test_a_release_rolls_back_when_a_release_alarm_fires(synthesized: Synthesized, stage: str) -> None:
    service_id, service = control_plane(synthesized, stage)
    env = name_of(stage)
    names = [f"outpost-{env}-{name}" for name in RELEASE_ALARMS]
    assert service["Properties"]["DeploymentConfiguration"] == {
        "Alarms": {"AlarmNames": names, "Enable": True, "Rollback": True},
        "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
        "MaximumPercent": 200,
        "MinimumHealthyPercent": 100,
    }
    # Rolling deployments of the ECS controller: the only kind whose bake follows its alarms.
    assert "DeploymentController" not in service["Properties"]
    assert "Strategy" not in service["Properties"]["DeploymentConfiguration"]
    alarms = release_alarms(synthesized, stage)
    assert sorted(alarms) == sorted(names)
    # The alarms exist before a deployment names them.
    assert {alarms[name][0] for name in names} <= set(service["DependsOn"])
    [balancer] = service["Properties"]["LoadBalancers"]
    target_group = balancer["TargetGroupArn"]["Ref"]
    [load_balancer] = synthesized.resources(f"{stage}/Service", "AWS::ElasticLoadBalancingV2::LoadBalancer")
    for name, (metric, statistic, _, comparison) in RELEASE_ALARMS.items():
        props = alarms[f"outpost-{env}-{name}"][1]
        assert (props["Namespace"], props["MetricName"]) == ("AWS/ApplicationELB", metric)
        assert statistic.items() <= props.items()
        assert props["ComparisonOperator"] == comparison
        # The control plane's own target group, behind the one load balancer.
        assert {d["Name"]: d["Value"] for d in props["Dimensions"]} == {
            "LoadBalancer": {"Fn::GetAtt": [load_balancer, "LoadBalancerFullName"]},
            "TargetGroup": {"Fn::GetAtt": [target_group, "TargetGroupFullName"]},
        }
    assert service_id


@pytest.mark.parametrize("stage", STAGES)
def test_release_alarms_fire_on_the_monitoring_thresholds(synthesized: Synthesized, stage: str) -> None:
    monitoring = settings(stage)["monitoring"]
    alarms = release_alarms(synthesized, stage)
    env = name_of(stage)
    assert alarms[f"outpost-{env}-Target5xx"][1]["Threshold"] == monitoring["http_5xx_per_5_minutes"]
    assert (
        alarms[f"outpost-{env}-ResponseTimeP95"][1]["Threshold"] == monitoring["response_time_p95_ms"] / 1000
    )


@pytest.mark.parametrize("stage", STAGES)
def test_the_bake_is_the_release_alarms_window(synthesized: Synthesized, stage: str) -> None:
    """ECS bakes a rolling deployment for as long as its alarms evaluate: each alarm fires on
    its usual datapoints (1 and 2 of 5 minutes) anywhere in the last ``bake_minutes``."""
    bake = settings(stage)["service"]["control_plane"]["bake_minutes"]
    for name, (_, _, datapoints, _) in RELEASE_ALARMS.items():
        props = release_alarms(synthesized, stage)[f"outpost-{name_of(stage)}-{name}"][1]
        assert props["Period"] * props["EvaluationPeriods"] == bake * 60, name
        assert props["DatapointsToAlarm"] == datapoints, name
        assert f"last {bake} minutes" in props["AlarmDescription"], name
        # CloudWatch refuses an evaluation window over a day for periods under an hour.
        assert props["Period"] * props["EvaluationPeriods"] <= 86_400


@pytest.mark.parametrize("stage", STAGES)
def test_release_alarms_reach_the_alerts_topic(synthesized: Synthesized, stage: str) -> None:
    [topic] = synthesized.resources(f"{stage}/Alerts", "AWS::SNS::Topic")
    outputs = synthesized.template(f"{stage}/Alerts")["Outputs"]
    for name, (_, props) in release_alarms(synthesized, stage).items():
        for actions in ("AlarmActions", "OKActions"):
            [action] = props[actions]
            reference = action["Fn::GetStackOutput"]
            assert reference["StackName"] == f"{stage}-Alerts", name
            assert outputs[reference["OutputName"]]["Value"] == ref(topic), name


def test_a_ci_deploy_outlasts_the_longest_bake() -> None:
    """A release holds `make deploy` for its bake: the CI job that runs it must not be killed
    first (the longest bake the settings allow, plus half an hour for the rest)."""
    deploys = [
        job
        for _, _, job in jobs()
        if any("make deploy " in str(s.get("run", "")) for s in job.get("steps", []))
    ]
    assert deploys
    for job in deploys:
        assert job["timeout-minutes"] >= BAKE_MINUTES[1] + 30
