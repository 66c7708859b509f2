"""``make report``: one security review per environment, complete and generated from the app."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2

from compliance.acknowledgements import acknowledge
from compliance.packs import add_nag_packs, read_report
from config.api import CONTROL_PLANE_PORT
from tests.environments import ENVIRONMENTS, SETTINGS, SHIPPED, STAGES, of_kind, stage_of_kind
from tests.synth import ROOT, Synthesized, shipped_context
from tools.review import acknowledgements_made, iam_summary, render_markdown, report, retention, roles, scan
from tools.review.diagram import architecture_svg
from tools.stack_template import StackTemplate, output_name

THROWAWAY_REASON = "Throwaway acknowledgement of a test: the report must show it while it exists."


def markdown(report_dir: Path, env: str) -> str:
    return (report_dir / f"security-review-{env}.md").read_text()


def md(text: str) -> str:
    return text.replace("|", "\\|")


def test_a_report_for_every_environment_and_the_delivery_stage(
    shipped_written: dict[str, report.Review],
) -> None:
    # The Delivery stage (GitHub OIDC roles, stacks/delivery_stack.py) gets its own review.
    assert sorted(shipped_written) == sorted([*SHIPPED, "delivery"])


@pytest.mark.parametrize("env", [*ENVIRONMENTS, "delivery"])
def test_each_review_is_one_self_contained_page(
    written: dict[str, report.Review], report_dir: Path, env: str
) -> None:
    review = written[env]
    assert markdown(report_dir, env).startswith(f"# Security review: Outpost {env}")
    html = (report_dir / f"security-review-{env}.html").read_text()
    # Self-contained: the diagram is inline and nothing is loaded from elsewhere.
    assert "<svg" in html
    for external in ("<link", "src=", "<script"):
        assert external not in html
    assert (report_dir / f"architecture-{env}.svg").read_text() == review.svg


def test_every_acknowledgement_of_the_app_is_in_its_report(
    synthesized: Synthesized, written: dict[str, report.Review], report_dir: Path
) -> None:
    total = 0
    for plugin in synthesized.report["pluginReports"]:
        for ack in plugin.get("suppressedViolations", []):
            for construct in ack["violatingConstructs"]:
                env = construct["constructPath"].split("/")[0].lower()
                text = markdown(report_dir, env)
                path, at, reason = construct["constructPath"], ack["acknowledgedAt"], ack["reason"]
                row = f"| {md(path)} | {md(at)} | {md(reason)} |"
                assert row in text, (construct["constructPath"], ack["ruleName"])
                total += 1
    assert total == sum(len(r.acknowledgements) for r in written.values())
    for env, review in written.items():
        assert f"| acknowledgements | {len(review.acknowledgements)} |" in markdown(report_dir, env)
        assert f"{len(review.acknowledgements)} findings acknowledged" in markdown(report_dir, env)


def test_no_acknowledgement_is_stale(synthesized: Synthesized) -> None:
    """Every acknowledgement the code makes matches a finding in some environment."""
    made = acknowledgements_made.acknowledgements_made(synthesized.outdir)
    assert len(made) >= sum(
        len(p.get("suppressedViolations", [])) for p in synthesized.report["pluginReports"]
    )
    assert acknowledgements_made.stale_acknowledgements(made, synthesized.report) == []


def test_a_stale_acknowledgement_is_reported(synthesized: Synthesized) -> None:
    stale = acknowledgements_made.Made(
        f"{STAGES[0]}/Network/Somewhere", "AwsSolutions::AwsSolutions-S1", "no longer needed"
    )
    assert acknowledgements_made.stale_acknowledgements([stale], synthesized.report) == [stale]
    stacks = report.environment_templates(synthesized.outdir)[STAGES[0]]
    review = report.build_review(STAGES[0], stacks, synthesized.report, [], [stale])
    assert f"| {STAGES[0]}/Network/Somewhere | AwsSolutions::AwsSolutions-S1 | no longer needed |" in (
        render_markdown.to_markdown(review, "a.svg")
    )


def _throwaway(outdir: Path, *, acknowledged: bool) -> report.Review:
    """A one-stack app whose security group is open to the internet on 443 (AwsSolutions-EC23)."""
    app = cdk.App(outdir=str(outdir), context={"aws:cdk:enable-path-metadata": True})
    stack = cdk.Stack(
        cdk.Stage(app, "Throwaway"), "Open", env=cdk.Environment(account="111111111111", region="us-east-1")
    )
    group = ec2.CfnSecurityGroup(
        stack,
        "Https",
        group_description="https from anywhere",
        security_group_ingress=[
            ec2.CfnSecurityGroup.IngressProperty(
                ip_protocol="tcp", from_port=443, to_port=443, cidr_ip="0.0.0.0/0"
            )
        ],
    )
    if acknowledged:
        acknowledge(group, THROWAWAY_REASON, "AwsSolutions-EC23")
    add_nag_packs(app)
    try:
        app.synth()
    except RuntimeError:
        assert not acknowledged, "synth fails only without the acknowledgement"
    ((review, _),) = report.write_reports(outdir)
    return review


def test_an_acknowledgement_added_appears_and_removed_disappears(tmp_path: Path) -> None:
    with_ack = _throwaway(tmp_path / "with", acknowledged=True)
    assert [(a.rule, a.construct, a.reason) for a in with_ack.acknowledgements] == [
        ("AwsSolutions-EC23", "Throwaway/Open/Https", THROWAWAY_REASON)
    ]
    assert with_ack.open_findings == []
    assert THROWAWAY_REASON in (tmp_path / "with" / "security-review-throwaway.md").read_text()

    without = _throwaway(tmp_path / "without", acknowledged=False)
    assert without.acknowledgements == []
    assert [(f.rule, f.construct) for f in without.open_findings] == [
        ("AwsSolutions-EC23", "Throwaway/Open/Https")
    ]
    text = (tmp_path / "without" / "security-review-throwaway.md").read_text()
    assert THROWAWAY_REASON not in text
    assert "| AwsSolutions | AwsSolutions-EC23 | Throwaway/Open/Https |" in text


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_flow_table_and_diagram(written: dict[str, report.Review], report_dir: Path, env: str) -> None:
    review = written[env]
    text = markdown(report_dir, env)
    # The API's clients: the internet over TLS, or, without a certificate, the allowed ranges.
    assert "| internet | LoadBalancer | tcp | 443 |" in text or "| LoadBalancer | tcp | 80 |" in text
    assert f"| LoadBalancer | ControlPlane | tcp | {CONTROL_PLANE_PORT} |" in text
    assert "| Agents | internet | tcp | 443 |" in text
    assert f"![Architecture of {env}](architecture-{env}.svg)" in text
    svg = ET.fromstring(review.svg)
    labels = {t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert {"internet", "LoadBalancer", "ControlPlane", "Agents", f"tcp/{CONTROL_PLANE_PORT}"} <= labels
    assert {f"{s.short} stack" for s in review.stacks} <= labels


def test_iam_at_a_glance_lists_each_role_with_its_grants(written: dict[str, report.Review]) -> None:
    production = of_kind("production")
    rows = iam_summary.iam_rows(written[production].stacks)
    (flow_logs,) = [r for r in rows if r[0] == "Network/Network/FlowLogRole"]
    assert flow_logs[2] == "logs:CreateLogStream, logs:DescribeLogStreams, logs:PutLogEvents"
    assert flow_logs[3] == "Network/FlowLogs.Arn"
    (role,) = [r for r in roles.environment_roles(written[production].stacks) if r.name == flow_logs[0]]
    assert role.trust.startswith("Service: vpc-flow-logs.amazonaws.com")
    assert role.label == "flow log delivery role"
    names = {
        f"{s.short}/{s.name(logical_id)}"
        for s in written[production].stacks
        for logical_id, _ in s.of_type("AWS::IAM::Role")
    }
    assert names == {r[0] for r in rows}


RETAINED_TYPES = {
    "S3 buckets": "AWS::S3::Bucket",
    "Log groups": "AWS::Logs::LogGroup",
    "ECR repositories": "AWS::ECR::Repository",
    "KMS keys": "AWS::KMS::Key",
    "DynamoDB tables": "AWS::DynamoDB::Table",
    "EFS file systems": "AWS::EFS::FileSystem",
    "SQS queues": "AWS::SQS::Queue",
    "Secrets": "AWS::SecretsManager::Secret",
}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_data_retention_lists_every_store(written: dict[str, report.Review], env: str) -> None:
    stacks = written[env].stacks
    tables = retention.retention_tables(stacks)
    for title, kind in RETAINED_TYPES.items():
        expected = {f"{s.short}/{s.name(logical_id)}" for s in stacks for logical_id, _ in s.of_type(kind)}
        assert {row[0] for row in tables[title].rows} == expected, title
    (flow_logs,) = [row for row in tables["Log groups"].rows if row[0] == "Network/Network/FlowLogs"]
    assert flow_logs[1] == str(SETTINGS[env]["network"]["flow_log_retention_days"])
    # Images are kept in every kind; a rebuilt environment adopts its kept repositories
    # (registry.existing_repositories, docs/rehearsal.md).
    assert all(row[2] == "Retain" for row in tables["ECR repositories"].rows)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cross_stack_references_read_as_stack_and_resource(
    written: dict[str, report.Review], report_dir: Path, env: str
) -> None:
    """No raw ``{"Fn::GetStackOutput": ...}`` or CDK output names: ``Prod-Data:ArtifactsBucket.Arn``."""
    assert env in written
    text = markdown(report_dir, env)
    assert '{"Fn::' not in text
    assert "PublishOutput" not in text


def test_a_cross_stack_reference_reads_as_its_stack_and_resource(
    shipped_written: dict[str, report.Review], report_dir: Path
) -> None:
    production, stage = of_kind("production"), stage_of_kind("production")
    assert f"IAM5[Resource::<{stage}-Data:ArtifactsBucket.Arn>/*]" in markdown(report_dir, production)
    assert output_name("PublishOutputRefProviderSecretsDeepseek0EED443E28EAEB13") == (
        "ProviderSecretsDeepseek"
    )


def test_scanner_results_and_exceptions_are_reported(synthesized: Synthesized) -> None:
    stage = STAGES[0]
    stacks = report.environment_templates(synthesized.outdir)[stage]
    summary: list[dict[str, Any]] = [
        {
            "tool": "checkov",
            "line": "checkov: 4 templates, 1 passed, 0 failed, 1 skipped (1.0 s)",
            "ok": True,
            "findings": [],
            "skips": [
                {
                    "rule": "CKV_AWS_1",
                    "reason": "the comment of a skip",
                    "stack": f"{stage}/Network",
                    "resource": "X",
                }
            ],
        },
        {
            "tool": "cfn-lint",
            "line": "cfn-lint: 4 templates, 1 errors, 0 warnings (1.0 s)",
            "ok": False,
            "findings": [
                {
                    "rule": "E3002",
                    "level": "error",
                    "message": "bad",
                    "stack": f"{stage}/Network",
                    "resource": "Y",
                }
            ],
            "skips": [],
        },
    ]
    review = report.build_review(stage, stacks, synthesized.report, summary)
    text = render_markdown.to_markdown(review, "a.svg")
    assert "| checkov | CKV_AWS_1 | " in text
    assert "the comment of a skip" in text
    assert f"| cfn-lint | E3002 | error | {stage}/Network | Y | bad |" in text
    assert "| cfn-lint | FAIL: 1 findings, 0 exceptions |" in text
    no_scan = render_markdown.to_markdown(report.build_review(stage, stacks, synthesized.report, []), "a.svg")
    assert "Scanner results are missing" in no_scan


def test_diagram_labels_what_uses_each_group() -> None:
    """ALB, ECS service and agent task definitions, as other stacks will add them."""

    def resource(kind: str, path: str, **props: Any) -> dict[str, Any]:
        return {"Type": kind, "Properties": props, "Metadata": {"aws:cdk:path": path}}

    group = {"Fn::GetAtt": ["Lb", "GroupId"]}
    network = {
        "Resources": {
            "Lb": resource(
                "AWS::EC2::SecurityGroup",
                "Env/Network/Policy/LoadBalancer/Resource",
                SecurityGroupIngress=[
                    {"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}
                ],
            ),
            "Cp": resource("AWS::EC2::SecurityGroup", "Env/Network/Policy/ControlPlane/Resource"),
            "Ag": resource("AWS::EC2::SecurityGroup", "Env/Network/Policy/Agents/Resource"),
        }
    }
    service = {
        "Resources": {
            "Alb": resource(
                "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Env/Service/Alb/Resource",
                SecurityGroups=[group],
            ),
            "Svc": resource(
                "AWS::ECS::Service",
                "Env/Service/Api/Service",
                TaskDefinition={"Ref": "ApiTask"},
                NetworkConfiguration={
                    "AwsvpcConfiguration": {"SecurityGroups": [{"Fn::GetAtt": ["Cp", "GroupId"]}]}
                },
            ),
            "ApiTask": resource("AWS::ECS::TaskDefinition", "Env/Service/Api/TaskDef/Resource"),
            "Claude": resource("AWS::ECS::TaskDefinition", "Env/Service/Agents/Claude/TaskDef/Resource"),
        }
    }
    # Cross-stack references come as imports naming the logical id.
    service["Resources"]["Svc"]["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"][
        "SecurityGroups"
    ] = [{"Fn::ImportValue": "Env-Network:ExportsOutputFnGetAttCpGroupId"}]
    service["Resources"]["Alb"]["Properties"]["SecurityGroups"] = [
        {"Fn::ImportValue": "Env-Network:ExportsOutputFnGetAttLbGroupId"}
    ]
    stacks = [StackTemplate("Env", "Env/Network", network), StackTemplate("Env", "Env/Service", service)]
    svg = ET.fromstring(architecture_svg(stacks, title="t"))
    labels = {t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert {"ALB Alb", "ECS service Api", "tasks: Claude"} <= labels, labels
    assert {"• load balancer", "• ECS service", "• 2 task definitions"} <= labels


def test_committed_diagram_is_current(synthesized: Synthesized) -> None:
    """docs/architecture.svg (linked from the README) is the first production environment's diagram:
    `make report` rewrites it."""
    assert report.first_production_environment() == of_kind("production")
    stage = stage_of_kind("production")
    stacks = report.environment_templates(synthesized.outdir)[stage]
    expected = report.build_review(stage, stacks, synthesized.report, []).svg
    assert (ROOT / "docs" / "architecture.svg").read_text() == expected, "run `make report` and commit docs/"


def test_report_reads_the_scan_summary(tmp_path: Path) -> None:
    result = scan.ToolResult("checkov", 1, passed=3, seconds=1.0)
    scan.write_summary(tmp_path, [result])
    assert json.loads((tmp_path / scan.SUMMARY_FILE).read_text())[0]["line"] == result.line()
    assert scan.read_summary(tmp_path)[0]["ok"] is True
    assert read_report(tmp_path) == {}


def test_the_delivery_review_shows_whom_each_ci_role_trusts(
    report_dir: Path, written: dict[str, report.Review]
) -> None:
    delivery = shipped_context()["outpost"]["delivery"]
    text = markdown(report_dir, "delivery")
    assert "| open findings (rule packs) | 0 |" in text
    for env in delivery["environments"]:
        assert f"repo:{delivery['repository']}:environment:{env}" in text
        assert f"/{env.capitalize()}Deploy/Role |" in text
        assert f"/{env.capitalize()}Diff/Role |" in text
    assert f"repo:{delivery['repository']}:pull_request" in text


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_environment_review_has_its_cost_estimate(
    report_dir: Path, written: dict[str, report.Review], env: str
) -> None:
    assert env in written
    text = markdown(report_dir, env)
    assert "## Monthly cost estimate" in text
    assert "| item | $/month | how | assumptions |" in text
    assert "| NAT gateways |" in text
    assert "dispatches_per_month = " in text
    assert "| total |" in text


def test_the_delivery_review_has_no_cost_estimate(
    report_dir: Path, shipped_written: dict[str, report.Review]
) -> None:
    assert "delivery" in shipped_written
    assert "## Monthly cost estimate" not in markdown(report_dir, "delivery")
