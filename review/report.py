"""``make report``: the security review of each environment, from what synth and scan wrote.

For every environment (stage) of the cloud assembly in ``cdk.out`` this writes
``security-review-<env>.md`` and a self-contained ``security-review-<env>.html`` (the
diagram inline), plus ``architecture-<env>.svg`` next to them. A reviewer reads them
without running anything:

- rule packs (cdk-nag, AWS Control Tower via cfn-guard, CloudFormation validation): open
  findings per pack and rule (expected none) and every acknowledgement with its construct
  path and reason, from ``validation-report.json``;
- scanners: cfn-lint, checkov and cfn-guard results and every exception, from
  ``scan-summary.json`` (``make scan``);
- the network policy: allowed flows and every security group rule (``review.flows``);
- IAM at a glance: each role, who may assume it, what it may do and on what;
- data retention at a glance: buckets, log groups, repositories, keys, tables;
- the architecture diagram (``review.diagram``).

Usage: ``python -m review.report [cdk.out] [--diagram docs/architecture.svg --diagram-env prod]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from review import flows, scan
from review.diagram import architecture_svg
from review.templates import StackTemplate, as_list

NAG_PACKS = (
    "AwsSolutions",
    "HIPAA.Security",
    "NIST.800.53.R4",
    "NIST.800.53.R5",
    "PCI.DSS.321",
    "Serverless",
)
EXPECTED_PLUGINS = (*NAG_PACKS, scan.GUARD_PLUGIN, "CloudFormation Validate")
# Acknowledgements aws-cdk-lib makes itself (not in this app's code): on every VPC flow log,
# for a CloudFormation spec quirk. They need not match a finding.
LIBRARY_ACKNOWLEDGEMENTS = frozenset({"CloudFormation-Validate::F3002", "CloudFormation-Validate::F3003"})
ACKNOWLEDGED_RULES = "aws:cdk:acknowledged-rules"


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    empty: str = "None."


Block = str | Table


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)


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


@dataclass
class Review:
    env: str
    stage: str
    stacks: list[StackTemplate]
    acknowledgements: list[Acknowledgement]
    open_findings: list[OpenFinding]
    svg: str
    sections: list[Section]


# ---------------------------------------------------------------- rule packs


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


def _packs_section(
    report: Mapping[str, Any], stage: str, made: Sequence[Made]
) -> tuple[Section, list[OpenFinding], list[Acknowledgement]]:
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
        [[pack, rule, str(o), str(a)] for (pack, rule), (o, a) in sorted(rules.items())],
        empty="No rule reported anything in this environment.",
    )
    section = Section(
        "Rule packs",
        [
            "The six cdk-nag packs, the AWS Control Tower proactive controls (cfn-guard plugin "
            f"`{scan.GUARD_PLUGIN}`) and aws-cdk-lib's CloudFormation validation run on every synth "
            "(`cdk.out/validation-report.json`). A pack that reported nothing does not appear in that "
            "report: it passed with nothing to acknowledge.",
            summary,
            "### Per rule",
            per_rule,
            "### Open findings (expected none)",
            Table(
                ["rule pack", "rule", "construct", "description"],
                [[f.pack, f.rule, f.construct, f.description] for f in found],
            ),
            f"### Acknowledgements ({len(acks)})",
            "Each row is one finding acknowledged on one construct; the reason names the "
            "compensating control.",
            Table(
                ["rule pack", "rule", "construct", "acknowledged at", "reason"],
                [[a.pack, a.rule, a.construct, a.acknowledged_at, a.reason] for a in acks],
            ),
            "### Acknowledgements that match no finding (expected none)",
            "Made in the code but matched by no finding in any environment: stale, remove them.",
            Table(
                ["acknowledged at", "rule", "reason"],
                [[m.path, m.rule_id, m.reason] for m in stale if m.path.startswith(stage + "/")],
            ),
        ],
    )
    return section, found, acks


@dataclass(frozen=True)
class Made:
    """An acknowledgement as the code made it: where, for which rule id, why."""

    path: str
    rule_id: str
    reason: str

    @property
    def in_any_stage(self) -> tuple[str, str]:
        """Path without its stage, and rule: the same code makes it in every environment."""
        return self.path.split("/", 1)[-1], self.rule_id


def acknowledgements_made(outdir: Path) -> list[Made]:
    """Every acknowledgement in the construct metadata of the cloud assembly."""
    made = set()
    for template in scan.templates(outdir):
        if template.metadata is None or not template.metadata.exists():
            continue
        for path, entries in json.loads(template.metadata.read_text()).items():
            for entry in entries:
                if entry.get("type") == ACKNOWLEDGED_RULES:
                    for rule_id, reason in entry.get("data", {}).items():
                        made.add(Made(path.lstrip("/"), rule_id, str(reason)))
    return sorted(made, key=lambda m: (m.path, m.rule_id))


def stale_acknowledgements(made: Iterable[Made], report: Mapping[str, Any]) -> list[Made]:
    """Acknowledgements of this app that matched no finding in any environment: remove them."""
    used = {
        (str(s.get("acknowledgedAt", "")).split("/", 1)[-1], s.get("acknowledgedId", ""))
        for plugin in report.get("pluginReports", [])
        for s in plugin.get("suppressedViolations", [])
    }
    return [m for m in made if m.rule_id not in LIBRARY_ACKNOWLEDGEMENTS and m.in_any_stage not in used]


# ---------------------------------------------------------------- scanners


def scanner_rows(summary: Sequence[Mapping[str, Any]], stage: str, templates: int) -> list[list[str]]:
    """Per tool, this environment only: tool, templates, findings, exceptions, result."""
    prefix = stage + "/"
    rows = []
    for tool in summary:
        mine = [f for f in tool["findings"] if f["stack"].startswith(prefix)]
        skips = [s for s in tool["skips"] if s["stack"].startswith(prefix) or not s["stack"]]
        rows.append(
            [tool["tool"], str(templates), str(len(mine)), str(len(skips)), "pass" if not mine else "FAIL"]
        )
    return rows


def _scanners_section(summary: Sequence[Mapping[str, Any]], stage: str, templates: int) -> Section:
    if not summary:
        return Section("Scanners", ["Scanner results are missing: run `make scan` (or `make report`) first."])
    prefix = stage + "/"
    rows, findings, exceptions = [], [], []
    for tool in summary:
        mine = [f for f in tool["findings"] if f["stack"].startswith(prefix)]
        skips = [s for s in tool["skips"] if s["stack"].startswith(prefix) or not s["stack"]]
        rows.append(
            [tool["tool"], str(templates), str(len(mine)), str(len(skips)), "pass" if not mine else "FAIL"]
        )
        findings += [
            [tool["tool"], f["rule"], f["level"], f["stack"], f["resource"], f["message"]] for f in mine
        ]
        exceptions += [
            [
                tool["tool"],
                s["rule"],
                s["stack"] or "every template",
                s["resource"] or "(config file)",
                s["reason"],
            ]
            for s in skips
        ]
    return Section(
        "Scanners",
        [
            "`make scan` over every template of this environment (whole-app line: "
            + "; ".join(f"`{t['line']}`" for t in summary)
            + ").",
            Table(["tool", "templates", "findings", "exceptions", "result"], rows),
            "### Findings (expected none)",
            Table(["tool", "rule", "level", "stack", "resource", "message"], findings),
            "### Exceptions",
            "cfn-lint ignores (`.cfnlintrc.yaml`, every template), checkov skips "
            "(`Metadata.checkov.skip` on one resource each) and acknowledged Control Tower rules.",
            Table(["tool", "rule", "stack", "resource", "reason"], exceptions),
        ],
    )


# ---------------------------------------------------------------- network


def _network_section(stacks: Sequence[StackTemplate]) -> Section:
    bodies = [s.body for s in stacks]
    all_rules = flows.rules(bodies)
    allowed = flows.flows(all_rules)

    def ports(low: int, high: int) -> str:
        return str(low) if low == high else f"{low}-{high}"

    return Section(
        "Network policy",
        [
            "Derived from the security groups in the templates: a flow is allowed when the source's "
            "group lets it out and the destination's group lets it in. Anything not listed is refused.",
            "### Allowed flows",
            Table(
                ["from", "to", "protocol", "ports"],
                [[f.source, f.destination, f.protocol, ports(f.from_port, f.to_port)] for f in allowed],
            ),
            "### Security group rules",
            Table(
                ["group", "direction", "peer", "protocol", "ports", "description"],
                [
                    [r.group, r.direction, r.peer, r.protocol, ports(r.from_port, r.to_port), r.description]
                    for r in all_rules
                ],
            ),
        ],
    )


# ---------------------------------------------------------------- IAM


def _principals(stack: StackTemplate, document: Mapping[str, Any]) -> str:
    found = []
    for statement in as_list(document.get("Statement")):
        principal = statement.get("Principal", {})
        if isinstance(principal, str):
            found.append(principal)
            continue
        for kind, value in sorted(principal.items()):
            found += [f"{kind}: {stack.render(v)}" for v in as_list(value)]
        if statement.get("Condition"):
            found.append("if " + json.dumps(statement["Condition"], sort_keys=True))
    return "; ".join(found)


def iam_rows(stacks: Sequence[StackTemplate]) -> list[list[str]]:
    """One row per statement: role, trusted by, effect, actions, resources, granted via."""
    rows: list[list[str]] = []
    for stack in stacks:
        grants: dict[str, list[tuple[str, Mapping[str, Any]]]] = defaultdict(list)
        for logical_id, resource in stack.of_type("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            props = resource.get("Properties", {})
            for role in as_list(props.get("Roles")):
                for role_id, _ in stack.of_type("AWS::IAM::Role"):
                    if stack.refers_to(role, role_id):
                        grants[role_id].append((stack.name(logical_id), props.get("PolicyDocument", {})))
        for role_id, role in stack.of_type("AWS::IAM::Role"):
            props = role.get("Properties", {})
            name = f"{stack.short}/{stack.name(role_id)}"
            trust = _principals(stack, props.get("AssumeRolePolicyDocument", {}))
            sources = [
                (f"inline {p.get('PolicyName', '')}", p.get("PolicyDocument", {}))
                for p in props.get("Policies", [])
            ]
            sources += grants.get(role_id, [])
            for via, document in sources:
                for statement in as_list(document.get("Statement")):
                    rows.append(
                        [
                            name,
                            trust,
                            statement.get("Effect", ""),
                            ", ".join(sorted(str(a) for a in as_list(statement.get("Action")))),
                            stack.render(as_list(statement.get("Resource"))),
                            ("if " + json.dumps(statement["Condition"], sort_keys=True))
                            if statement.get("Condition")
                            else "",
                            via,
                        ]
                    )
            for arn in as_list(props.get("ManagedPolicyArns")):
                rows.append(
                    [name, trust, "Allow", "(AWS managed policy)", stack.render(arn), "", "managed policy"]
                )
            if not sources and not props.get("ManagedPolicyArns"):
                rows.append([name, trust, "", "(no permissions in the templates)", "", "", ""])
    return rows


def _iam_section(stacks: Sequence[StackTemplate]) -> Section:
    return Section(
        "IAM at a glance",
        [
            "Every role of the environment, who may assume it, and each statement that grants it "
            "something (inline policies, `AWS::IAM::Policy`, `AWS::IAM::ManagedPolicy`, "
            "AWS managed policies).",
            Table(
                ["role", "trusted by", "effect", "actions", "resources", "condition", "granted via"],
                iam_rows(stacks),
            ),
        ],
    )


# ---------------------------------------------------------------- retention


def _deletion(resource: Mapping[str, Any]) -> str:
    return str(resource.get("DeletionPolicy", "Delete"))


def retention_tables(stacks: Sequence[StackTemplate]) -> dict[str, Table]:
    buckets, log_groups, repositories, keys, tables = [], [], [], [], []
    for stack in stacks:
        for logical_id, r in stack.of_type("AWS::S3::Bucket"):
            props = r.get("Properties", {})
            rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
            expiry = (
                ", ".join(f"{x['ExpirationInDays']} d" for x in rules if "ExpirationInDays" in x) or "never"
            )
            noncurrent = ", ".join(
                f"{x['NoncurrentVersionExpiration']['NoncurrentDays']} d"
                for x in rules
                if "NoncurrentVersionExpiration" in x
            ) or ("never" if props.get("VersioningConfiguration") else "n/a")
            lock = props.get("ObjectLockConfiguration", {}).get("Rule", {}).get("DefaultRetention")
            buckets.append(
                [
                    f"{stack.short}/{stack.name(logical_id)}",
                    _deletion(r),
                    props.get("VersioningConfiguration", {}).get("Status", "off"),
                    expiry,
                    noncurrent,
                    f"{lock.get('Mode')} {lock.get('Days') or lock.get('Years')}" if lock else "none",
                ]
            )
        for logical_id, r in stack.of_type("AWS::Logs::LogGroup"):
            props = r.get("Properties", {})
            log_groups.append(
                [
                    f"{stack.short}/{stack.name(logical_id)}",
                    str(props.get("RetentionInDays", "never expires")),
                    _deletion(r),
                    "KMS" if props.get("KmsKeyId") else "default",
                ]
            )
        for logical_id, r in stack.of_type("AWS::ECR::Repository"):
            props = r.get("Properties", {})
            text = props.get("LifecyclePolicy", {}).get("LifecyclePolicyText")
            policy = json.loads(text) if isinstance(text, str) else {}
            rules = "; ".join(
                x.get("description", json.dumps(x.get("selection"))) for x in policy.get("rules", [])
            )
            repositories.append(
                [
                    f"{stack.short}/{stack.name(logical_id)}",
                    rules or "none (images never expire)",
                    _deletion(r),
                    str(props.get("ImageTagMutability", "MUTABLE")),
                ]
            )
        for logical_id, r in stack.of_type("AWS::KMS::Key"):
            props = r.get("Properties", {})
            keys.append(
                [
                    f"{stack.short}/{stack.name(logical_id)}",
                    _deletion(r),
                    str(props.get("PendingWindowInDays", "30 (default)")),
                    "yes" if props.get("EnableKeyRotation") else "no",
                ]
            )
        for logical_id, r in stack.of_type("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
            props = r.get("Properties", {})
            tables.append(
                [
                    f"{stack.short}/{stack.name(logical_id)}",
                    _deletion(r),
                    str(props.get("TimeToLiveSpecification", {}).get("AttributeName", "none")),
                    "yes"
                    if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")
                    else "no",
                ]
            )
    return {
        "S3 buckets": Table(
            [
                "bucket",
                "on stack deletion",
                "versioning",
                "objects expire",
                "old versions expire",
                "object lock",
            ],
            buckets,
        ),
        "Log groups": Table(["log group", "retention (days)", "on stack deletion", "encryption"], log_groups),
        "ECR repositories": Table(
            ["repository", "lifecycle rules", "on stack deletion", "tags"], repositories
        ),
        "KMS keys": Table(["key", "on stack deletion", "pending window (days)", "rotation"], keys),
        "DynamoDB tables": Table(
            ["table", "on stack deletion", "TTL attribute", "point-in-time recovery"], tables
        ),
    }


def _retention_section(stacks: Sequence[StackTemplate]) -> Section:
    blocks: list[Block] = [
        "What each data store keeps, for how long, and what happens to it when its stack is "
        "deleted (`Retain` keeps it; `Delete` removes it)."
    ]
    for title, table in retention_tables(stacks).items():
        blocks += [f"### {title}", table]
    return Section("Data retention at a glance", blocks)


# ---------------------------------------------------------------- assembly


def environment_templates(outdir: Path) -> dict[str, list[StackTemplate]]:
    """Stage name -> its stack templates, from the cloud assembly."""
    result: dict[str, list[StackTemplate]] = defaultdict(list)
    for template in scan.templates(outdir):
        result[template.stage].append(StackTemplate.load(template.stage, template.stack, template.path))
    return dict(result)


def build_review(
    stage: str,
    stacks: Sequence[StackTemplate],
    report: Mapping[str, Any],
    summary: Sequence[Mapping[str, Any]],
    made: Sequence[Made] = (),
) -> Review:
    env = stage.lower()
    packs, found, acks = _packs_section(report, stage, made)
    svg = architecture_svg(stacks, title=f"Outpost {env}: architecture and allowed flows")
    overview = Section(
        "Overview",
        [
            Table(
                ["", ""],
                [
                    ["environment", f"{env} (stage `{stage}`)"],
                    ["stacks", ", ".join(s.stack for s in stacks)],
                    ["open findings (rule packs)", str(len(found))],
                    ["acknowledgements", str(len(acks))],
                    *(
                        [tool, f"{result}: {found_} findings, {skipped} exceptions"]
                        for tool, _, found_, skipped, result in scanner_rows(summary, stage, len(stacks))
                    ),
                    *([["scanners", "not run: `make report` runs `make scan` first"]] if not summary else []),
                ],
            )
        ],
    )
    sections = [
        overview,
        packs,
        _scanners_section(summary, stage, len(stacks)),
        _network_section(stacks),
        _iam_section(stacks),
        _retention_section(stacks),
        Section("Architecture", ["Generated from the templates of this environment."]),
    ]
    return Review(env, stage, list(stacks), acks, found, svg, sections)


# ---------------------------------------------------------------- rendering


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or " "


def _md_blocks(blocks: Iterable[Block]) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Table):
            if not block.rows:
                lines += [block.empty, ""]
                continue
            lines.append("| " + " | ".join(_md_cell(h) for h in block.headers) + " |")
            lines.append("|" + "---|" * len(block.headers))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            lines.append("")
        else:
            lines += [block, ""]
    return lines


def to_markdown(review: Review, svg_name: str) -> str:
    lines = [f"# Security review: Outpost {review.env}", ""]
    lines += [
        "Generated by `make report` from `cdk.out` (templates, `validation-report.json`, "
        "`scan-summary.json`); do not edit by hand.",
        "",
    ]
    for section in review.sections:
        lines += [f"## {section.title}", ""]
        lines += _md_blocks(section.blocks)
    lines += [f"![Architecture of {review.env}]({svg_name})", ""]
    return "\n".join(lines)


_CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:2rem auto;max-width:1200px;color:#1b1f24;padding:0 1rem}
table{border-collapse:collapse;margin:.5rem 0 1.2rem;font-size:13px;width:100%}
th,td{border:1px solid #c9d1d9;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f3f6}tr:nth-child(even) td{background:#fafbfc}
code{background:#f0f3f6;padding:0 3px;border-radius:3px}h2{border-bottom:1px solid #d0d7de;padding-bottom:4px}
.diagram{overflow-x:auto;border:1px solid #d0d7de;padding:8px}
"""


def _html_inline(text: str) -> str:
    """Escape, then turn `code` spans into <code>."""
    parts = escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def to_html(review: Review) -> str:
    out = [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        f"<title>Security review: Outpost {escape(review.env)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Security review: Outpost {escape(review.env)}</h1>",
        "<p>Generated by <code>make report</code> from <code>cdk.out</code>; "
        "self-contained, nothing to load.</p>",
    ]
    for section in review.sections:
        out.append(f"<h2>{escape(section.title)}</h2>")
        for block in section.blocks:
            if isinstance(block, Table):
                if not block.rows:
                    out.append(f"<p>{escape(block.empty)}</p>")
                    continue
                out.append("<table><thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in block.headers))
                out.append("</tr></thead><tbody>")
                out += [
                    "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in block.rows
                ]
                out.append("</tbody></table>")
            elif block.startswith("### "):
                out.append(f"<h3>{escape(block[4:])}</h3>")
            else:
                out.append(f"<p>{_html_inline(block)}</p>")
    out += [f"<div class='diagram'>{review.svg}</div>", "</body></html>", ""]
    return "\n".join(out)


def write_reports(outdir: Path, dest: Path | None = None) -> list[tuple[Review, list[Path]]]:
    """Write the review of every environment found in ``outdir``; returns what was written."""
    dest = dest or outdir
    dest.mkdir(parents=True, exist_ok=True)
    environments = environment_templates(outdir)
    if not environments:
        raise scan.ScanError(f"no stack templates in {outdir}: run `make synth` first")
    report_file = outdir / scan.VALIDATION_REPORT
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    summary = scan.read_summary(outdir)
    made = acknowledgements_made(outdir)
    written = []
    for stage, stacks in sorted(environments.items()):
        review = build_review(stage, stacks, report, summary, made)
        svg = dest / f"architecture-{review.env}.svg"
        md = dest / f"security-review-{review.env}.md"
        html = dest / f"security-review-{review.env}.html"
        svg.write_text(review.svg)
        md.write_text(to_markdown(review, svg.name))
        html.write_text(to_html(review))
        written.append((review, [md, html, svg]))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m review.report", description=__doc__.splitlines()[0])
    parser.add_argument("outdir", nargs="?", default="cdk.out", type=Path)
    parser.add_argument("--diagram", type=Path, help="also copy one environment's diagram here")
    parser.add_argument("--diagram-env", default="prod", help="the environment whose diagram --diagram gets")
    args = parser.parse_args(argv)
    try:
        written = write_reports(args.outdir)
    except scan.ScanError as err:
        print(f"report error: {err}", file=sys.stderr)
        return 2
    for review, paths in written:
        print(
            f"report {review.env}: {', '.join(str(p) for p in paths)} "
            f"({len(review.acknowledgements)} acknowledgements, {len(review.open_findings)} open findings)"
        )
    if args.diagram:
        chosen = [r for r, _ in written if r.env == args.diagram_env] or [written[-1][0]]
        args.diagram.parent.mkdir(parents=True, exist_ok=True)
        args.diagram.write_text(chosen[0].svg)
        print(f"diagram of {chosen[0].env}: {args.diagram}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
