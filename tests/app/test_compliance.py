"""cdk-nag: all six packs, every environment, zero unacknowledged findings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3

from compliance.acknowledgements import acknowledge_wildcard_resource
from compliance.packs import NAG_PACKS, add_nag_packs, read_report, synth_findings, unacknowledged_findings
from tests.synth import Synthesized
from tools import assembly

PACK_NAMES = {
    "AwsSolutions",
    "HIPAA.Security",
    "NIST.800.53.R4",
    "NIST.800.53.R5",
    "PCI.DSS.321",
    "Serverless",
}


def acknowledgements(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for plugin in report["pluginReports"] for s in plugin.get("suppressedViolations", [])]


def test_synth_passes_validation(synthesized: Synthesized) -> None:
    assert synthesized.error is None, synthesized.error


def test_all_six_packs_are_registered_and_fail_synth(tmp_path: Path) -> None:
    """A throwaway app with known-bad resources: every pack reports, synth fails."""
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(
        cdk.Stage(app, "Throwaway"), "Bad", env=cdk.Environment(account="111111111111", region="us-east-1")
    )
    s3.Bucket(stack, "Unencrypted")
    lambda_.Function(
        stack,
        "Naked",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
    )
    add_nag_packs(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = read_report(tmp_path)
    failed = {p["pluginName"] for p in report["pluginReports"] if p["conclusion"] == "failure"}
    assert failed >= PACK_NAMES
    assert len(NAG_PACKS) == len(PACK_NAMES)


def test_zero_unacknowledged_findings(synthesized: Synthesized) -> None:
    assert unacknowledged_findings(synthesized.report) == []
    for plugin in synthesized.report["pluginReports"]:
        assert plugin["conclusion"] == "success", plugin["pluginName"]


def test_acknowledgements_are_narrow_and_explained(synthesized: Synthesized) -> None:
    stacks = set(synthesized.templates)
    for ack in acknowledgements(synthesized.report):
        # Never on a whole stage or stack: on the construct the finding concerns.
        assert ack["acknowledgedAt"] not in stacks, ack["acknowledgedAt"]
        assert ack["acknowledgedAt"].count("/") >= 3, ack["acknowledgedAt"]
        assert len(ack["reason"]) >= 40, ack


def test_unacknowledged_findings_are_reported() -> None:
    """The gate can fail: a report with one open finding yields one line."""
    report = {
        "pluginReports": [
            {
                "pluginName": "AwsSolutions",
                "conclusion": "failure",
                "violations": [
                    {
                        "ruleName": "AwsSolutions-S1",
                        "description": "The S3 Bucket has server access logs disabled.",
                        "severity": "error",
                        "violatingConstructs": [{"constructPath": "Dev/Data/Bucket/Resource"}],
                    }
                ],
            }
        ]
    }
    assert unacknowledged_findings(report) == [
        "AwsSolutions-S1 at Dev/Data/Bucket/Resource: The S3 Bucket has server access logs disabled."
    ]


def _report(plugin: str, rule: str) -> dict[str, Any]:
    violation = {"ruleName": rule, "description": "open", "violatingConstructs": [{"constructPath": "Dev/X"}]}
    return {"pluginName": plugin, "conclusion": "failure", "violations": [violation]}


def test_a_synth_is_judged_on_its_own_report_not_on_the_rules_run_over_an_older_one(tmp_path: Path) -> None:
    """What ``app.py`` checks after synth: the packs' report it just wrote. The Control Tower and
    CloudFormation-validation reports beside it came from an older assembly: removed, so
    neither they fail this synth nor anything reads them as this one's (``make`` reruns them)."""
    (tmp_path / assembly.VALIDATION_REPORT).write_text(json.dumps({"pluginReports": []}))
    for stale, plugin in (
        (assembly.GUARD_REPORT, assembly.GUARD_PLUGIN),
        (assembly.TEMPLATE_VALIDATION_REPORT, assembly.TEMPLATE_VALIDATION_PLUGIN),
    ):
        (tmp_path / stale).write_text(json.dumps(_report(plugin, "old")))
    assert len(unacknowledged_findings(read_report(tmp_path))) == 2
    assert synth_findings(tmp_path) == []
    assert not (tmp_path / assembly.GUARD_REPORT).exists()
    assert not (tmp_path / assembly.TEMPLATE_VALIDATION_REPORT).exists()
    (tmp_path / assembly.VALIDATION_REPORT).write_text(
        json.dumps({"pluginReports": [_report("AwsSolutions", "AwsSolutions-S1")]})
    )
    assert synth_findings(tmp_path) == ["AwsSolutions-S1 at Dev/X: open"]


def test_a_late_wildcard_acknowledgement_needs_a_reason() -> None:
    stack = cdk.Stack(cdk.App(), "Throwaway")
    with pytest.raises(ValueError, match="too short"):
        acknowledge_wildcard_resource(stack, "because", "arn:aws:s3:::bucket/*")
