"""The rule-pack section: open findings and acknowledgements per pack and rule.

Read from ``cdk.out/validation-report.json``, which every synth writes (the six cdk-nag
packs), and the reports ``review.guard`` writes beside it after synth: the AWS Control Tower
proactive controls (cfn-guard plugin) and aws-cdk-lib's CloudFormation validation.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tools import assembly
from tools.review.acknowledgements_made import Made, stale_acknowledgements
from tools.review.document import Block, Heading, Section, Table
from tools.stack_template import output_name

NAG_PACKS = (
    "AwsSolutions",
    "HIPAA.Security",
    "NIST.800.53.R4",
    "NIST.800.53.R5",
    "PCI.DSS.321",
    "Serverless",
)
EXPECTED_PLUGINS = (*NAG_PACKS, assembly.GUARD_PLUGIN, assembly.TEMPLATE_VALIDATION_PLUGIN)
# cdk-nag names a finding on a cross-stack resource with the reference's JSON in it.
_STACK_OUTPUT = re.compile(
    r'\{"Fn::GetStackOutput":\{"StackName":"([^"]+)"[^{}]*"OutputName":"([^"]+)"[^{}]*\}\}'
)


def readable_rule(rule: str) -> str:
    """``IAM5[Resource::{"Fn::GetStackOutput":{...}}/aider/*]`` ->
    ``IAM5[Resource::<Prod-Data:ArtifactsBucket.Arn>/aider/*]``."""
    return _STACK_OUTPUT.sub(lambda m: f"<{m.group(1)}:{output_name(m.group(2))}>", rule)


@dataclass(frozen=True)
class Acknowledgement:
    pack: str
    rule: str
    construct: str
    acknowledged_at: str
    reason: str


@dataclass(frozen=True)
class OpenFinding:
    pack: str
    rule: str
    construct: str
    description: str


def pack_results(
    report: Mapping[str, Any], stage: str
) -> tuple[dict[str, str], list[OpenFinding], list[Acknowledgement]]:
    """Conclusion per plugin, open findings and acknowledgements of constructs in ``stage``."""
    prefix = stage + "/"
    conclusions: dict[str, str] = {}
    found: list[OpenFinding] = []
    acks: list[Acknowledgement] = []
    for plugin in report.get("pluginReports", []):
        name = plugin.get("pluginName", "?")
        conclusions[name] = plugin.get("conclusion", "?")
        for violation in plugin.get("violations", []):
            for construct in violation.get("violatingConstructs", []):
                path = construct.get("constructPath", "")
                if path.startswith(prefix):
                    found.append(
                        OpenFinding(name, violation["ruleName"], path, violation.get("description", ""))
                    )
        for ack in plugin.get("suppressedViolations", []):
            for construct in ack.get("violatingConstructs", []):
                path = construct.get("constructPath", "")
                if path.startswith(prefix):
                    acks.append(
                        Acknowledgement(
                            name, ack["ruleName"], path, ack.get("acknowledgedAt", ""), ack.get("reason", "")
                        )
                    )
    return conclusions, sorted(set(found), key=str), sorted(set(acks), key=str)


def packs_section(
    report: Mapping[str, Any], stage: str, made: Sequence[Made]
) -> tuple[list[Section], list[OpenFinding], list[Acknowledgement]]:
    """The rule-pack section and the acknowledgements section of ``stage``."""
    conclusions, found, acks = pack_results(report, stage)
    stale = stale_acknowledgements(made, report)
    open_by: dict[str, int] = defaultdict(int)
    acked_by: dict[str, int] = defaultdict(int)
    for finding in found:
        open_by[finding.pack] += 1
    for ack in acks:
        acked_by[ack.pack] += 1
    names = list(EXPECTED_PLUGINS) + sorted(set(conclusions) - set(EXPECTED_PLUGINS))
    summary = Table(
        ["rule pack", "open findings", "acknowledged", "conclusion (whole app)"],
        [
            [
                name,
                str(open_by[name]),
                str(acked_by[name]),
                conclusions.get(name, "success (nothing reported)"),
            ]
            for name in names
        ],
    )
    rules: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for finding in found:
        rules[(finding.pack, finding.rule)][0] += 1
    for ack in acks:
        rules[(ack.pack, ack.rule)][1] += 1
    per_rule = Table(
        ["rule pack", "rule", "open", "acknowledged"],
        [[pack, readable_rule(rule), str(o), str(a)] for (pack, rule), (o, a) in sorted(rules.items())],
        empty="No rule reported anything in this environment.",
    )
    section = Section(
        "Rule packs",
        [
            "The six cdk-nag packs run on every synth (`cdk.out/validation-report.json`); "
            "aws-cdk-lib's CloudFormation validation and the AWS Control Tower proactive controls (the "
            f"rules of `{assembly.GUARD_PLUGIN}`) run once over the whole assembly in `make scan` "
            "(`cdk.out/cfn-validate-report.json`, `cdk.out/cfn-guard-report.json`). "
            "A pack that reported nothing does not appear in those "
            "reports: it passed with nothing to acknowledge.",
            summary,
            Heading("Per rule"),
            per_rule,
            Heading("Open findings (expected none)"),
            Table(
                ["rule pack", "rule", "construct", "description"],
                [[f.pack, readable_rule(f.rule), f.construct, f.description] for f in found],
            ),
        ],
    )
    mine = [m for m in stale if m.path.startswith(stage + "/")]
    return [section, acknowledgements_section(acks, mine)], found, acks


def _rule(ack: Acknowledgement) -> str:
    """``AwsSolutions-EC23`` names its pack; ``W3010`` gets it: ``CloudFormation Validate: W3010``."""
    rule = readable_rule(ack.rule)
    return rule if rule.startswith(ack.pack) else f"{ack.pack}: {rule}"


def acknowledgements_section(acks: Sequence[Acknowledgement], stale: Sequence[Made]) -> Section:
    """The acknowledgements per stack, one row per construct and reason with all its rules
    (the packs often find the same thing, and the reason is read once)."""
    by_stack: dict[str, dict[tuple[str, str, str], list[str]]] = defaultdict(dict)
    for ack in acks:
        stack = ack.construct.split("/")[1] if ack.construct.count("/") > 1 else ack.construct
        key = (ack.construct, ack.acknowledged_at, ack.reason)
        by_stack[stack].setdefault(key, []).append(_rule(ack))
    blocks: list[Block] = [
        f"{len(acks)} findings acknowledged, each on one construct, with a reason that names the "
        "compensating control. One row per construct and reason, with every rule it answers.",
    ]
    for stack, rows in sorted(by_stack.items()):
        count = sum(len(rules) for rules in rows.values())
        blocks += [
            Heading(f"{stack} stack"),
            f"{count} acknowledgements on {len({c for c, _, _ in rows})} constructs.",
            Table(
                ["rules", "construct", "acknowledged at", "reason"],
                [["\n".join(rules), *key] for key, rules in sorted(rows.items())],
            ),
        ]
    blocks += [
        Heading("Stale acknowledgements (expected none)"),
        "Made in the code but matched by no finding in any environment: remove them.",
        Table(["acknowledged at", "rule", "reason"], [[m.path, m.rule_id, m.reason] for m in stale]),
    ]
    return Section("Acknowledgements", blocks)
