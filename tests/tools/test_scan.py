"""``make scan``: the scan driver finds what each scanner finds, and fails on it.

A throwaway app with known-bad resources is synthesized once (it must be: its failure is
the point); the driver then runs cfn-lint and checkov from ``.venv-scan`` over it and reads
the Control Tower results from its validation report. ``make unit`` creates ``.venv-scan``
before pytest runs, so these tests never skip for want of a scanner.
"""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3

from compliance.packs import add_nag_packs, new_app, read_report
from compliance.scanners import checkov_skips, skip_checkov
from tests.synth import ROOT, Synthesized
from tools import assembly
from tools.review import guard, scan

SCAN_VENV = ROOT / ".venv-scan"
SKIP_COMMENT = "Throwaway bucket of a test: proves a skip lands on this one resource only."


@pytest.fixture(scope="module")
def scan_venv() -> Path:
    for tool in ("cfn-lint", "checkov"):
        if not (SCAN_VENV / "bin" / tool).exists():
            pytest.fail(f"{SCAN_VENV}/bin/{tool} is missing: run `make unit` (it installs .venv-scan)")
    return SCAN_VENV


@pytest.fixture(scope="module")
def bad_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway app with resources every scanner rejects, synthesized to a temp dir."""
    outdir = tmp_path_factory.mktemp("bad.out")
    app = new_app(outdir=str(outdir), context={"aws:cdk:enable-path-metadata": True})
    stack = cdk.Stack(
        cdk.Stage(app, "Throwaway"), "Bad", env=cdk.Environment(account="111111111111", region="us-east-1")
    )
    # checkov CKV_AWS_24 (and cdk-nag): SSH open to the world.
    ec2.CfnSecurityGroup(
        stack,
        "OpenSsh",
        group_description="ssh from anywhere",
        security_group_ingress=[
            ec2.CfnSecurityGroup.IngressProperty(
                ip_protocol="tcp", from_port=22, to_port=22, cidr_ip="0.0.0.0/0"
            )
        ],
    )
    # cfn-lint E3002: a property S3 does not have. Control Tower: no encryption, no versioning.
    typo = s3.CfnBucket(stack, "Typo")
    typo.add_property_override("BucketNam", "typo")
    # cfn-lint E1022: a cross-stack reference inside Fn::Split, which CloudFormation does not take.
    split = s3.CfnBucket(stack, "SplitsAReference")
    output = {"Fn::GetStackOutput": {"StackName": "Other", "Region": "us-east-1", "OutputName": "Arn"}}
    split.add_property_override("BucketName", {"Fn::Select": [5, {"Fn::Split": [":", output]}]})
    skipped = s3.Bucket(stack, "Skipped")
    skip_checkov(skipped, "CKV_AWS_18", SKIP_COMMENT)
    add_nag_packs(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    return outdir


@pytest.fixture(scope="module")
def bad_results(bad_app: Path, scan_venv: Path) -> dict[str, scan.ToolResult]:
    return {r.tool: r for r in scan.scan(bad_app, scan_venv=scan_venv)}


def test_templates_come_from_the_cloud_assembly(synthesized: Synthesized) -> None:
    """Every stack of every environment is scanned, new stacks included, from the manifests."""
    found = assembly.templates(synthesized.outdir)
    assert sorted(t.stack for t in found) == sorted(synthesized.templates)
    assert {t.stage for t in found} == {s.split("/")[0] for s in synthesized.templates}
    assert all(t.path.exists() for t in found)


def test_cfn_lint_reports_the_bad_property(bad_results: dict[str, scan.ToolResult]) -> None:
    result = bad_results["cfn-lint"]
    assert any(f.rule == "E3002" and f.resource.startswith("Typo") for f in result.findings), result.findings
    assert result.count("error") >= 1
    assert "errors" in result.line()


def test_cfn_lint_reports_a_split_cross_stack_reference(bad_results: dict[str, scan.ToolResult]) -> None:
    """What `.cfnlintrc.yaml` once ignored for every template (E1022 inside a Join, E1017 inside
    this Select) is a finding again."""
    assert any(
        f.rule in ("E1017", "E1022")
        and f.resource.startswith("SplitsAReference")
        and "Fn::GetStackOutput" in f.message
        for f in bad_results["cfn-lint"].findings
    ), bad_results["cfn-lint"].findings


def test_checkov_fails_open_ssh(bad_results: dict[str, scan.ToolResult]) -> None:
    result = bad_results["checkov"]
    assert any(f.rule == "CKV_AWS_24" and "OpenSsh" in f.resource for f in result.findings), result.findings
    assert (result.passed or 0) > 0


def test_checkov_skip_applies_to_its_one_resource(bad_results: dict[str, scan.ToolResult]) -> None:
    result = bad_results["checkov"]
    skips = [s for s in result.skips if s.rule == "CKV_AWS_18"]
    assert [s.reason for s in skips] == [SKIP_COMMENT]
    assert "Skipped" in skips[0].resource
    # The same check still fails on the bucket that has no skip.
    assert any(f.rule == "CKV_AWS_18" and "Typo" in f.resource for f in result.findings)


def test_control_tower_rules_fail_the_unencrypted_bucket(bad_results: dict[str, scan.ToolResult]) -> None:
    result = bad_results["cfn-guard (Control Tower)"]
    rules = {f.rule for f in result.findings if f.resource.startswith("Throwaway/Bad/Typo")}
    assert "s3_bucket_default_encryption_kms_check" in rules, result.findings


def test_scan_exits_non_zero_on_findings(
    bad_app: Path, scan_venv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert scan.main([str(bad_app), "--scan-venv", str(scan_venv)]) == 1
    out = capsys.readouterr().out
    for tool in ("cfn-lint:", "checkov:", "CloudFormation validation:", "cfn-guard (Control Tower):"):
        assert any(line.startswith(tool) for line in out.splitlines()), out
    summary = scan.read_summary(bad_app)
    assert [s["ok"] for s in summary] == [False, False, False, False]


def test_cloudformation_validation_is_a_scanner_line_of_its_own(
    bad_results: dict[str, scan.ToolResult],
) -> None:
    result = bad_results["CloudFormation validation"]
    found = [(f.rule, f.resource) for f in result.findings]
    assert ("F3002", "Throwaway/Bad/Typo") in found, found
    assert not result.ok


def test_cloudformation_validation_runs_after_synth_and_fails_the_bad_property(
    bad_app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """CDK's built-in template validation left synth (``compliance.packs.new_app``): its findings
    are in the report ``review.guard`` writes, and an unacknowledged one fails it (hence CI)."""
    in_synth = json.loads((bad_app / assembly.VALIDATION_REPORT).read_text())
    assert assembly.TEMPLATE_VALIDATION_PLUGIN not in {p["pluginName"] for p in in_synth["pluginReports"]}
    assert guard.main([str(bad_app)]) == 1
    err = capsys.readouterr().err
    assert "CloudFormation validation: F3002 at Throwaway/Bad/Typo: BucketNam" in err, err
    report = json.loads((bad_app / assembly.TEMPLATE_VALIDATION_REPORT).read_text())
    assert report["conclusion"] == "failure"
    assert report in read_report(bad_app)["pluginReports"]


def test_scan_refuses_an_empty_assembly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No templates is an error, never a silent pass."""
    assert scan.main([str(tmp_path)]) == 2
    assert "no stack templates" in capsys.readouterr().err


def test_skip_checkov_merges_and_explains() -> None:
    stack = cdk.Stack()
    bucket = s3.Bucket(stack, "Bucket")
    skip_checkov(bucket, "CKV_AWS_18", SKIP_COMMENT)
    skip_checkov(bucket, "CKV_AWS_21", SKIP_COMMENT + " Second check.")
    skip_checkov(bucket, "CKV_AWS_18", SKIP_COMMENT + " Replaced.")
    assert checkov_skips(bucket) == [
        {"id": "CKV_AWS_21", "comment": SKIP_COMMENT + " Second check."},
        {"id": "CKV_AWS_18", "comment": SKIP_COMMENT + " Replaced."},
    ]
    with pytest.raises(ValueError, match="too short"):
        skip_checkov(bucket, "CKV_AWS_18", "because")
    with pytest.raises(ValueError, match="not a checkov check id"):
        skip_checkov(bucket, "AwsSolutions-S1", SKIP_COMMENT)


def test_cfn_lint_applies_every_rule_to_every_template(synthesized: Synthesized) -> None:
    """No configuration file ignores a rule everywhere; the only ignore is W3005 on the Lambda
    functions CDK makes depend on their role beside a GetAtt of it, each with its reason."""
    assert scan.blanket_cfn_lint_config() is None
    ignores = scan.cfn_lint_ignores(assembly.templates(synthesized.outdir))
    assert {i.rule for i in ignores} == {"W3005"}
    for ignore in ignores:
        resource = synthesized.template(ignore.stack)["Resources"][ignore.resource]
        assert resource["Type"] == "AWS::Lambda::Function", ignore
        assert resource["Properties"]["Role"]["Fn::GetAtt"][0] in resource["DependsOn"], ignore
        assert len(ignore.reason) >= 40, ignore


def test_a_blanket_cfn_lint_config_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".cfnlintrc.yaml").write_text("ignore_checks:\n  - E1022\n")
    assert scan.blanket_cfn_lint_config(tmp_path) == tmp_path / ".cfnlintrc.yaml"


def test_every_checkov_skip_in_the_app_is_explained(synthesized: Synthesized) -> None:
    for stack, template in synthesized.templates.items():
        for logical_id, resource in template["Resources"].items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert len(skip.get("comment", "")) >= 40, (stack, logical_id, skip)
