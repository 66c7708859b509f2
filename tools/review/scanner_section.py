"""The scanner section: cfn-lint, checkov, CloudFormation validation and cfn-guard results of one environment.

Read from ``cdk.out/scan-summary.json``, which ``make scan`` (``review.scan``) writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tools.review.document import Heading, Section, Table


def _mine(tool: Mapping[str, Any], stage: str) -> tuple[list[Any], list[Any]]:
    """The findings and exceptions of one tool that concern ``stage`` (a skip with no stack
    is a config-file ignore: it applies to every template)."""
    prefix = stage + "/"
    findings = [f for f in tool["findings"] if f["stack"].startswith(prefix)]
    skips = [s for s in tool["skips"] if s["stack"].startswith(prefix) or not s["stack"]]
    return findings, skips


def scanner_rows(summary: Sequence[Mapping[str, Any]], stage: str, templates: int) -> list[list[str]]:
    """Per tool, this environment only: tool, templates, findings, exceptions, result."""
    rows = []
    for tool in summary:
        mine, skips = _mine(tool, stage)
        rows.append(
            [tool["tool"], str(templates), str(len(mine)), str(len(skips)), "pass" if not mine else "FAIL"]
        )
    return rows


def scanners_section(summary: Sequence[Mapping[str, Any]], stage: str, templates: int) -> Section:
    if not summary:
        return Section("Scanners", ["Scanner results are missing: run `make scan` (or `make report`) first."])
    findings, exceptions = [], []
    for tool in summary:
        mine, skips = _mine(tool, stage)
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
            Table(
                ["tool", "templates", "findings", "exceptions", "result"],
                scanner_rows(summary, stage, templates),
            ),
            Heading("Findings (expected none)"),
            Table(["tool", "rule", "level", "stack", "resource", "message"], findings),
            Heading("Exceptions"),
            "cfn-lint ignores (`Metadata.cfn-lint` on one resource each; none may apply to every "
            "template), checkov skips (`Metadata.checkov.skip` on one resource each), acknowledged "
            "CloudFormation-validation and Control Tower rules.",
            Table(["tool", "rule", "stack", "resource", "reason"], exceptions),
        ],
    )
