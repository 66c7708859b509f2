"""``review.guard``: the Control Tower rules run side by side over shares of the templates,
and the result does not depend on how many shares (the machine's cores) there were; CDK's
CloudFormation validation runs beside them, after synth instead of inside it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.synth import Synthesized
from tools import assembly
from tools.review import guard, template_validation


def _files(tmp_path: Path, sizes: dict[str, int]) -> list[Path]:
    paths = []
    for name, size in sizes.items():
        path = tmp_path / f"{name}.template.json"
        path.write_bytes(b" " * size)
        paths.append(path)
    return paths


def test_shares_are_balanced_by_size_and_hold_every_template_once(tmp_path: Path) -> None:
    templates = _files(tmp_path, {"service": 130, "data": 70, "network": 55, "monitoring": 35, "alerts": 5})
    groups = guard.balanced(templates, 2)
    assert sorted(p for group in groups for p in group) == sorted(templates)
    loads = sorted(sum(p.stat().st_size for p in group) for group in groups)
    # Largest first into the lighter share: {service, alerts} and {data, network, monitoring}.
    assert loads == [135, 160]


def test_never_more_shares_than_templates(tmp_path: Path) -> None:
    templates = _files(tmp_path, {"a": 3, "b": 2})
    assert len(guard.balanced(templates, 8)) == 2
    assert guard.balanced(templates, 1) == [sorted(templates, key=lambda p: -p.stat().st_size)]


# Two templates of one resource each, each breaking a Control Tower rule: the smallest input on
# which one run and two can differ (each rule run costs a Node start and the rules over every
# resource: the app's smallest templates with a finding, the Audit stacks, cost 3x as much).
BROKEN = {
    "logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 1}},  # under a year
    "queue": {"Type": "AWS::SQS::Queue", "Properties": {}},  # no dead-letter queue
}


def test_the_result_is_the_same_in_one_run_or_several(tmp_path: Path) -> None:
    templates = []
    for name, resource in BROKEN.items():
        path = tmp_path / f"{name}.template.json"
        path.write_text(json.dumps({"Resources": {name.capitalize(): resource}}))
        templates.append(path)
    package = guard.package_dir()
    one = guard.run_rules(templates, package, parts=1)
    several = guard.run_rules(templates, package, parts=2)
    found = {
        (v["ruleName"], Path(r["templatePath"]).name)
        for v in one["violations"]
        for r in v["violatingResources"]
    }
    assert {
        ("cloudwatch_log_group_retention_period_check", "logs.template.json"),
        ("sqs_dlq_check", "queue.template.json"),
    } <= found, "each template breaks a rule: the rules ran over both"
    assert several == one


def test_cloudformation_validation_moved_out_of_synth_with_its_acknowledgements(
    shipped_synthesized: Synthesized,
) -> None:
    """Not in the synth's own report any more, in the merged one once: every finding of it
    acknowledged where the app acknowledged it (explicit zones, ``CloudFormation-Validate::W3010``
    on each subnet)."""
    outdir = shipped_synthesized.outdir
    in_synth = json.loads((outdir / assembly.VALIDATION_REPORT).read_text())
    plugin = template_validation.PLUGIN
    assert plugin not in {p["pluginName"] for p in in_synth["pluginReports"]}
    [validation] = [p for p in shipped_synthesized.report["pluginReports"] if p["pluginName"] == plugin]
    assert validation["conclusion"] == "success"
    assert validation["violations"] == []
    acknowledged = {(s["ruleName"], s["acknowledgedId"]) for s in validation["suppressedViolations"]}
    assert acknowledged == {("W3010", "CloudFormation-Validate::W3010")}
    suppressed = validation["suppressedViolations"]
    subnets = [c["constructPath"] for s in suppressed for c in s["violatingConstructs"]]
    assert subnets
    # The VPC's tiers and the egress firewall's own subnets.
    assert all(
        ("/Vpc/" in path or "/EgressFirewall/" in path) and path.endswith("/Subnet") for path in subnets
    )
