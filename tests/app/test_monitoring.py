"""Fine-grained assertions of the alarms and who they reach: every alarm of an environment
(the Monitoring stack's and the Service stack's release alarms) notifies the Alerts stack's
topic, and the Monitoring stack's dashboard shows each of them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.environments import STAGES, config_of, name_of
from tests.synth import Synthesized
from tests.templates import data_id, from_data, ref, resolved_outputs, settings, stack_paths

EXPECTED_ALARMS = {
    # construct id prefix: (namespace, metric name or expression, threshold, comparison)
    "LoadBalancer5xx": ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"),
    "UnhealthyHosts": ("AWS/ApplicationELB", "UnHealthyHostCount"),
    "ControlPlaneCpu": ("AWS/ECS", "CPUUtilization"),
    "ControlPlaneMemory": ("AWS/ECS", "MemoryUtilization"),
    "CallbackErrors": ("AWS/Lambda", "Errors"),
    "DeadLetters": ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    "RuleDeadLetterFailures": ("AWS/Events", "InvocationsFailedToBeSentToDLQ"),
    "CallbackDeadLetterFailures": ("AWS/Lambda", "DeadLetterErrors"),
    "SweeperErrors": ("AWS/Lambda", "Errors"),
    "JanitorErrors": ("AWS/Lambda", "Errors"),
    "CollectorErrors": ("AWS/Lambda", "Errors"),
    "CollectorDeadLetterFailures": ("AWS/Lambda", "DeadLetterErrors"),
    "SweeperRuleDeadLetterFailures": ("AWS/Events", "InvocationsFailedToBeSentToDLQ"),
    "SweeperDeadLetterFailures": ("AWS/Lambda", "DeadLetterErrors"),
}


def alarms(synthesized: Synthesized, stage: str) -> dict[str, dict[str, Any]]:
    found = synthesized.resources(f"{stage}/Monitoring", "AWS::CloudWatch::Alarm")
    return {logical_id.removeprefix("Operations"): r["Properties"] for logical_id, r in found.items()}


def alarm(synthesized: Synthesized, stage: str, name: str) -> dict[str, Any]:
    (props,) = [p for logical_id, p in alarms(synthesized, stage).items() if logical_id.startswith(name)]
    return props


def topic_id(synthesized: Synthesized, stage: str) -> str:
    (logical_id,) = synthesized.resources(f"{stage}/Alerts", "AWS::SNS::Topic")
    return logical_id


def every_alarm(synthesized: Synthesized, stage: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(stack, logical id) -> properties of every operations alarm of the environment, in any
    stack but the Audit stack (whose security alarms notify the security topic:
    tests/app/test_security_alarms.py)."""
    return {
        (stack, logical_id): resource["Properties"]
        for stack in stack_paths(synthesized, stage)
        if stack != f"{stage}/Audit"
        for logical_id, resource in synthesized.resources(stack, "AWS::CloudWatch::Alarm").items()
    }


@pytest.mark.parametrize("stage", STAGES)
def test_every_alarm_notifies_the_topic_on_alarm_and_ok(synthesized: Synthesized, stage: str) -> None:
    topic = {f"{stage}/Alerts": ref(topic_id(synthesized, stage))}
    found = every_alarm(synthesized, stage)
    # The Monitoring stack's own, and the Service stack's release alarms.
    assert {stack for stack, _ in found} == {f"{stage}/Monitoring", f"{stage}/Service"}
    for name, props in found.items():
        assert resolved_outputs(synthesized, props["AlarmActions"]) == [topic], name
        assert resolved_outputs(synthesized, props["OKActions"]) == [topic], name
        assert props["TreatMissingData"] == "notBreaching", name
        assert props["AlarmDescription"], name


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("name", EXPECTED_ALARMS)
def test_alarm_watches_a_metric_the_resource_emits(synthesized: Synthesized, stage: str, name: str) -> None:
    namespace, metric_name = EXPECTED_ALARMS[name]
    props = alarm(synthesized, stage, name)
    assert props["Namespace"] == namespace
    assert props["MetricName"] == metric_name
    # Dimensions point at real resources (references), never typed-in names.
    for dimension in props["Dimensions"]:
        assert isinstance(dimension["Value"], dict), (name, dimension)


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("name", ["UnhealthyHosts"])
def test_target_group_alarms_read_the_full_names_the_service_stack_publishes(
    synthesized: Synthesized, stage: str, name: str
) -> None:
    """Both dimensions are the GetAtt full names of the Service stack's load balancer and
    target group, read whole (no Fn::Split of a cross-stack reference)."""
    outputs = synthesized.template(f"{stage}/Service")["Outputs"]
    dimensions = {d["Name"]: d["Value"] for d in alarm(synthesized, stage, name)["Dimensions"]}
    assert set(dimensions) == {"LoadBalancer", "TargetGroup"}
    for dimension, attribute in (
        ("LoadBalancer", "LoadBalancerFullName"),
        ("TargetGroup", "TargetGroupFullName"),
    ):
        reference = dimensions[dimension]["Fn::GetStackOutput"]
        assert reference["StackName"] == f"{stage}-Service"
        assert outputs[reference["OutputName"]]["Value"]["Fn::GetAtt"][1] == attribute


@pytest.mark.parametrize("stage", STAGES)
def test_thresholds_come_from_settings(synthesized: Synthesized, stage: str) -> None:
    """(The release alarms' thresholds: tests/app/test_releases.py.)"""
    wanted = settings(stage)["monitoring"]
    props = alarm(synthesized, stage, "LoadBalancer5xx")
    assert props["Threshold"] == wanted["http_5xx_per_5_minutes"]
    assert props["Statistic"] == "Sum"
    assert props["Period"] == 300
    assert alarm(synthesized, stage, "ControlPlaneCpu")["Threshold"] == wanted["cpu_percent"]
    assert alarm(synthesized, stage, "ControlPlaneMemory")["Threshold"] == wanted["memory_percent"]


@pytest.mark.parametrize("stage", STAGES)
def test_running_below_desired_uses_container_insights(synthesized: Synthesized, stage: str) -> None:
    props = alarm(synthesized, stage, "RunningBelowDesired")
    queries = {q["Id"]: q for q in props["Metrics"]}
    assert queries["expr_1"]["Expression"] == "desired - running"
    for query_id, metric_name in (("desired", "DesiredTaskCount"), ("running", "RunningTaskCount")):
        metric = queries[query_id]["MetricStat"]["Metric"]
        assert metric["Namespace"] == "ECS/ContainerInsights"
        assert metric["MetricName"] == metric_name
        assert {d["Name"] for d in metric["Dimensions"]} == {"ClusterName", "ServiceName"}


@pytest.mark.parametrize("stage", STAGES)
def test_one_nat_port_allocation_alarm_per_nat_gateway(synthesized: Synthesized, stage: str) -> None:
    nat_count = settings(stage)["network"]["nat_gateways"]
    nat_alarms = [p for n, p in alarms(synthesized, stage).items() if n.startswith("NatPortAllocation")]
    assert len(nat_alarms) == nat_count
    for props in nat_alarms:
        assert props["Namespace"] == "AWS/NATGateway"
        assert props["MetricName"] == "ErrorPortAllocation"
        (dimension,) = props["Dimensions"]
        assert dimension["Name"] == "NatGatewayId"
        # The Network stack's own gateway, read across stacks: never a typed-in id.
        reference = dimension["Value"]["Fn::GetStackOutput"]
        assert reference["StackName"] == f"{stage}-Network"
        assert "NATGateway" in reference["OutputName"]


@pytest.mark.parametrize("stage", STAGES)
def test_topic_is_encrypted_tls_only_and_only_cloudwatch_publishes(
    synthesized: Synthesized, stage: str
) -> None:
    path = f"{stage}/Alerts"
    topic = synthesized.resources(path, "AWS::SNS::Topic")[topic_id(synthesized, stage)]["Properties"]
    (key_id, key), *_ = synthesized.resources(path, "AWS::KMS::Key").items()
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key["Properties"]["EnableKeyRotation"] is True
    key_statements = key["Properties"]["KeyPolicy"]["Statement"]
    (cloudwatch_use,) = [s for s in key_statements if s.get("Sid") == "AllowCloudWatchAlarmsOfThisAccount"]
    assert cloudwatch_use["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert cloudwatch_use["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    (policy,) = synthesized.resources(path, "AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (publish,) = [s for s in statements if s.get("Sid") == "AllowCloudWatchAlarmsOfThisAccount"]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert publish["Action"] == "sns:Publish"
    assert set(publish["Condition"]) == {"StringEquals", "ArnLike"}
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("stage", STAGES)
def test_email_subscription_only_when_configured(synthesized: Synthesized, stage: str) -> None:
    email = settings(stage)["monitoring"].get("alarm_email")
    subscriptions = synthesized.resources(f"{stage}/Alerts", "AWS::SNS::Subscription").values()
    assert [(s["Properties"]["Protocol"], s["Properties"]["Endpoint"]) for s in subscriptions] == (
        [("email", email)] if email else []
    )


def referenced_arns(node: Any, stack: str) -> set[tuple[str, str]]:
    """(stack, logical id) of the resources whose ``Arn`` a fragment of ``stack`` references,
    with cross-stack references already resolved (``tests.templates.resolved_outputs``)."""
    if isinstance(node, dict):
        if list(node) == ["Fn::GetAtt"] and node["Fn::GetAtt"][1] == "Arn":
            return {(stack, node["Fn::GetAtt"][0])}
        if len(node) == 1 and "/" in next(iter(node)):  # {"Dev/Service": <its output's value>}
            ((producer, value),) = node.items()
            return referenced_arns(value, producer)
        return set().union(*(referenced_arns(v, stack) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(referenced_arns(v, stack) for v in node))
    return set()


@pytest.mark.parametrize("stage", STAGES)
def test_dashboard_shows_every_alarm(synthesized: Synthesized, stage: str) -> None:
    path = f"{stage}/Monitoring"
    (dashboard,) = synthesized.resources(path, "AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == f"outpost-{name_of(stage)}"
    body = resolved_outputs(synthesized, dashboard["Properties"]["DashboardBody"])
    assert referenced_arns(body, path) == set(every_alarm(synthesized, stage))


@pytest.mark.parametrize("stage", STAGES)
def test_sweeper_errors_watch_the_sweeper_function(synthesized: Synthesized, stage: str) -> None:
    props = alarm(synthesized, stage, "SweeperErrors")
    (dimension,) = props["Dimensions"]
    assert dimension["Name"] == "FunctionName"
    sweeper = data_id(synthesized, stage, "WorkspaceSweeper/Function/Resource")
    assert from_data(synthesized, stage, dimension["Value"]) == {"Data": ref(sweeper)}
    assert (props["Threshold"], props["Statistic"], props["Period"]) == (1, "Sum", 300)


@pytest.mark.parametrize("stage", STAGES)
def test_collector_alarms_watch_the_collector_function(synthesized: Synthesized, stage: str) -> None:
    """A stopped dispatch's outbox that fails to reach S3 pages (issue 20: artifacts of long jobs)."""
    collector = data_id(synthesized, stage, "ArtifactsCollector/Function/Resource")
    for name, metric in (("CollectorErrors", "Errors"), ("CollectorDeadLetterFailures", "DeadLetterErrors")):
        props = alarm(synthesized, stage, name)
        (dimension,) = props["Dimensions"]
        assert dimension["Name"] == "FunctionName"
        assert from_data(synthesized, stage, dimension["Value"]) == {"Data": ref(collector)}
        assert (props["MetricName"], props["Threshold"], props["Statistic"]) == (metric, 1, "Sum")


# --- capacity ------------------------------------------------------------------------------

GIB = 1024**3


def queries(props: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["Id"]: q for q in props["Metrics"]}


@pytest.mark.parametrize("stage", STAGES)
def test_workspaces_size_and_growth_alarms(synthesized: Synthesized, stage: str) -> None:
    wanted = config_of(stage).monitoring
    file_system = data_id(synthesized, stage, "Workspaces/FileSystem/Resource")
    size = alarm(synthesized, stage, "WorkspacesSize")
    assert (size["Namespace"], size["MetricName"]) == ("AWS/EFS", "StorageBytes")
    dimensions = {d["Name"]: from_data(synthesized, stage, d["Value"]) for d in size["Dimensions"]}
    assert dimensions == {"FileSystemId": {"Data": ref(file_system)}, "StorageClass": "Total"}
    assert size["Threshold"] == wanted.efs_storage_gib * GIB
    growth = queries(alarm(synthesized, stage, "WorkspacesGrowth"))
    assert growth["expr_1"]["Expression"] == f"DIFF(size) / {GIB}"
    metric = growth["size"]["MetricStat"]
    assert metric["Metric"]["MetricName"] == "StorageBytes"
    assert metric["Period"] == 3600
    assert alarm(synthesized, stage, "WorkspacesGrowth")["Threshold"] == wanted.efs_growth_gib_per_hour


@pytest.mark.parametrize("stage", STAGES)
def test_fargate_vcpu_quota_alarm_once_per_account(synthesized: Synthesized, stage: str) -> None:
    config = config_of(stage)
    found = [p for n, p in alarms(synthesized, stage).items() if n.startswith("FargateVcpuQuota")]
    if not config.owns_account_alarms:
        assert found == []
        return
    (props,) = found
    by_id = queries(props)
    assert by_id["expr_1"]["Expression"] == "usage / SERVICE_QUOTA(usage) * 100"
    metric = by_id["usage"]["MetricStat"]["Metric"]
    assert (metric["Namespace"], metric["MetricName"]) == ("AWS/Usage", "ResourceCount")
    assert {d["Name"]: d["Value"] for d in metric["Dimensions"]} == {
        "Service": "Fargate",
        "Type": "Resource",
        "Resource": "OnDemand",
        "Class": "Standard/OnDemand",
    }
    assert props["Threshold"] == config.monitoring.fargate_vcpu_quota_percent


def web_acl(synthesized: Synthesized, stage: str) -> dict[str, Any]:
    (acl,) = synthesized.resources(f"{stage}/Service", "AWS::WAFv2::WebACL").values()
    return acl["Properties"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("stage", STAGES)
def test_one_blocked_requests_alarm_per_web_acl_rule(synthesized: Synthesized, stage: str) -> None:
    """Every rule of the synthesized web ACL (a rule added there is watched too), by the metric
    names its visibility config gives the ``WebACL`` and ``Rule`` dimensions."""
    acl = web_acl(synthesized, stage)
    rule_metrics = {rule["VisibilityConfig"]["MetricName"] for rule in acl["Rules"]}
    blocked = [p for n, p in alarms(synthesized, stage).items() if n.startswith("WafBlocked")]
    assert len(blocked) == len(acl["Rules"]) >= 4
    watched = set()
    for props in blocked:
        assert (props["Namespace"], props["MetricName"]) == ("AWS/WAFV2", "BlockedRequests")
        dimensions = {d["Name"]: d["Value"] for d in props["Dimensions"]}
        assert dimensions["WebACL"] == acl["VisibilityConfig"]["MetricName"]
        assert dimensions["Region"] == config_of(stage).region
        watched.add(dimensions["Rule"])
        assert props["Threshold"] == config_of(stage).monitoring.waf_blocked_per_5_minutes
    assert watched == rule_metrics


@pytest.mark.parametrize("stage", STAGES)
def test_throttling_alarm_per_dispatch_table(synthesized: Synthesized, stage: str) -> None:
    tables = synthesized.resources(f"{stage}/Data", "AWS::DynamoDB::Table")
    throttled = [p for n, p in alarms(synthesized, stage).items() if n.startswith("Throttled")]
    assert len(throttled) == len(tables) == 6  # the five dispatch tables and slot_leases
    watched = set()
    for props in throttled:
        by_id = queries(props)
        assert by_id["expr_1"]["Expression"] == "reads + writes"
        names = set()
        for query_id, metric_name in (("reads", "ReadThrottleEvents"), ("writes", "WriteThrottleEvents")):
            metric = by_id[query_id]["MetricStat"]["Metric"]
            assert (metric["Namespace"], metric["MetricName"]) == ("AWS/DynamoDB", metric_name)
            ((dimension, value),) = {d["Name"]: d["Value"] for d in metric["Dimensions"]}.items()
            assert dimension == "TableName"
            names.add(json.dumps(from_data(synthesized, stage, value), sort_keys=True))
        assert len(names) == 1
        watched |= names
        assert props["Threshold"] == config_of(stage).monitoring.dynamodb_throttles_per_5_minutes
    assert watched == {json.dumps({"Data": ref(t)}, sort_keys=True) for t in tables}
