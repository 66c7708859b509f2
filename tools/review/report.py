"""``make report``: the security review of each environment, from what synth and scan wrote.

For every environment (stage) of the cloud assembly in ``cdk.out`` this writes
``security-review-<env>.md`` and a self-contained ``security-review-<env>.html`` (the
diagram inline), plus ``architecture-<env>.svg`` next to them. A reviewer reads them
without running anything:

- rule packs (cdk-nag, AWS Control Tower via cfn-guard, CloudFormation validation): open
  findings per pack and rule (expected none) and every acknowledgement with its construct
  path and reason, from ``validation-report.json``;
- scanners: cfn-lint, checkov, CloudFormation validation and cfn-guard results and every exception, from
  ``scan-summary.json`` (``make scan``);
- the network policy: allowed flows and every security group rule (``review.flows``);
- IAM at a glance: each role, what uses it, who may assume it, what it may do and on what;
- data reach: what data each role can read and write (``review.data_reach``);
- data retention at a glance: buckets, log groups, repositories, keys, tables;
- the monthly cost estimate of the environment (``review.cost_section``, ``make cost``);
- the architecture diagram (``review.diagram``).

Usage: ``python -m tools.review.report [cdk.out] [--diagram docs/architecture.svg --diagram-env prod]``.

The sections are built by one module each: ``review.rule_packs`` (with
``review.acknowledgements_made``), ``review.scanner_section``, ``review.network_section``,
``review.iam_summary`` and ``review.data_reach`` (both over ``review.roles``), ``review.retention``;
``review.render_markdown`` and ``review.render_html`` (a Jinja2 template) write them out.
This module assembles them per environment and writes the files.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config import ConfigError, load_environments
from tools import assembly
from tools.cost.estimate import shipped_context
from tools.review import scan
from tools.review.acknowledgements_made import Made, acknowledgements_made
from tools.review.cost_section import cost_sections
from tools.review.data_reach import data_reach_section
from tools.review.diagram import architecture_svg
from tools.review.document import Figure, Section, Table
from tools.review.iam_summary import iam_section
from tools.review.network_section import network_section
from tools.review.render_html import to_html
from tools.review.render_markdown import to_markdown
from tools.review.retention import retention_section
from tools.review.roles import environment_roles
from tools.review.rule_packs import Acknowledgement, OpenFinding, packs_section
from tools.review.scanner_section import scanner_rows, scanners_section
from tools.stack_template import StackTemplate


@dataclass
class Review:
    env: str
    stage: str
    stacks: list[StackTemplate]
    acknowledgements: list[Acknowledgement]
    open_findings: list[OpenFinding]
    svg: str
    sections: list[Section]


def environment_templates(outdir: Path) -> dict[str, list[StackTemplate]]:
    """Stage name -> its stack templates, from the cloud assembly."""
    result: dict[str, list[StackTemplate]] = defaultdict(list)
    for template in assembly.templates(outdir):
        result[template.stage].append(StackTemplate.load(template.stage, template.stack, template.path))
    return dict(result)


def build_review(
    stage: str,
    stacks: Sequence[StackTemplate],
    report: Mapping[str, Any],
    summary: Sequence[Mapping[str, Any]],
    made: Sequence[Made] = (),
    cost: Section | None = None,
) -> Review:
    env = stage.lower()
    packs, found, acks = packs_section(report, stage, made)
    svg = architecture_svg(stacks, title=f"Outpost {env}: architecture and allowed flows")
    overview = Section(
        "Overview",
        [
            "Read in this order: this table (expected: no open findings, every scanner `pass`); "
            "the acknowledgements, whose reasons name the compensating control, and the list of "
            "stale ones (expected empty); the allowed flows, against the diagram at the end; who "
            "may do what (IAM) and what data each role reaches; what each data store keeps and "
            "whether it survives its stack.",
            Table(
                ["what", "this environment"],
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
            ),
        ],
    )
    roles = environment_roles(stacks)
    sections = [
        overview,
        *packs,
        scanners_section(summary, stage, len(stacks)),
        network_section(stacks),
        iam_section(stacks, roles),
        data_reach_section(stacks, roles),
        retention_section(stacks),
        *([cost] if cost is not None else []),
        Section(
            "Architecture",
            ["Generated from the templates of this environment.", Figure(f"Architecture of {env}")],
        ),
    ]
    return Review(env, stage, list(stacks), acks, found, svg, sections)


def write_reports(
    outdir: Path, dest: Path | None = None, context: Mapping[str, Any] | None = None
) -> list[tuple[Review, list[Path]]]:
    """Write the review of every environment found in ``outdir``; returns what was written.

    ``context`` is what ``outdir`` was synthesized from (default: ``cdk.json``'s), for the cost estimate.
    """
    dest = dest or outdir
    dest.mkdir(parents=True, exist_ok=True)
    environments = environment_templates(outdir)
    if not environments:
        raise scan.ScanError(f"no stack templates in {outdir}: run `make synth` first")
    report = assembly.validation_report(outdir)
    summary = scan.read_summary(outdir)
    made = acknowledgements_made(outdir)
    costs = cost_sections(outdir, context)
    written = []
    for stage, stacks in sorted(environments.items()):
        review = build_review(stage, stacks, report, summary, made, cost=costs.get(stage))
        svg = dest / f"architecture-{review.env}.svg"
        md = dest / f"security-review-{review.env}.md"
        html = dest / f"security-review-{review.env}.html"
        svg.write_text(review.svg)
        md.write_text(to_markdown(review, svg.name))
        html.write_text(to_html(review))
        written.append((review, [md, html, svg]))
    return written


def first_production_environment() -> str | None:
    """The environment ``docs/architecture.svg`` draws: the first production one of ``cdk.json``."""
    try:
        environments = load_environments(shipped_context().get)
    except ConfigError:
        return None
    return next((env.name for env in environments if env.is_production), None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.review.report", description=__doc__.splitlines()[0]
    )
    parser.add_argument("outdir", nargs="?", default="cdk.out", type=Path)
    parser.add_argument("--diagram", type=Path, help="also copy one environment's diagram here")
    parser.add_argument(
        "--diagram-env",
        help="the environment whose diagram --diagram gets (default: the first production environment)",
    )
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
        wanted = args.diagram_env or first_production_environment()
        chosen = [r for r, _ in written if r.env == wanted] or [written[-1][0]]
        args.diagram.parent.mkdir(parents=True, exist_ok=True)
        args.diagram.write_text(chosen[0].svg)
        print(f"diagram of {chosen[0].env}: {args.diagram}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
