"""``make scan``: cfn-lint, checkov, CDK's CloudFormation validation and the Control Tower
guard rules over every template.

Templates are discovered from the cloud assembly (``cdk.out/manifest.json`` and the
manifest of each stage's nested assembly), so every stack of every environment is scanned,
including stacks added later. One summary line per tool; exit 1 on any finding, 2 when the
scan cannot run (no templates, a scanner missing or broken). A JSON summary lands in
``cdk.out/scan-summary.json`` for the security review report (``tools/review/report.py``).

- **cfn-lint** (``.venv-scan/bin/cfn-lint``): zero errors and zero warnings, every rule applied
  to every template. No configuration file may ignore a rule for all templates; an ignore,
  should one ever be needed, sits on the one resource it concerns
  (``Metadata.cfn-lint.config.ignore_checks``) and is listed with the findings.
- **checkov** (``.venv-scan/bin/checkov``, CloudFormation framework, offline): zero failed
  checks; a skip is a ``Metadata.checkov.skip`` entry written by
  ``compliance.scanners.skip_checkov`` on the one resource it concerns.
- **CloudFormation validation** (aws-cdk-lib's built-in plugin, ``review.template_validation``)
  and **cfn-guard** (AWS Control Tower proactive controls: the rules of the pinned
  cdk-validator-cfnguard package), once over every template by ``review.guard`` (not inside
  each synth): zero unacknowledged findings; their reports land beside the validation report.

Usage: ``python -m tools.review.scan [cdk.out] [--scan-venv .venv-scan]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tools.assembly import GUARD_REPORT, TEMPLATE_VALIDATION_REPORT, Template, templates
from tools.review import guard

ROOT = Path(__file__).resolve().parents[2]
SUMMARY_FILE = "scan-summary.json"
# cfn-lint reads these from the working directory: none may exist (no blanket ignores).
CFN_LINT_CONFIGS = (".cfnlintrc", ".cfnlintrc.yaml", ".cfnlintrc.yml")
# checkov without Prisma Cloud: no API key, no downloads, no version check, no telemetry.
OFFLINE_ENV = {
    "BC_SKIP_MAPPING": "TRUE",
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
    "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
    "BC_API_KEY": "",
    "PRISMA_API_URL": "",
}


class ScanError(Exception):
    """The scan could not run: no templates, a scanner missing, unreadable output."""


@dataclass(frozen=True)
class Finding:
    rule: str
    level: str  # "error", "warning", "failed", ...
    message: str
    stack: str
    resource: str


@dataclass(frozen=True)
class Skip:
    """A rule not applied to a resource, and why (a checkov skip, a cfn-lint ignore)."""

    rule: str
    reason: str
    stack: str = ""
    resource: str = ""


@dataclass
class ToolResult:
    tool: str
    templates: int
    findings: list[Finding] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    passed: int | None = None
    seconds: float = 0.0

    def count(self, level: str) -> int:
        return sum(1 for f in self.findings if f.level == level)

    @property
    def ok(self) -> bool:
        return not self.findings

    def line(self) -> str:
        if self.tool == "cfn-lint":
            counts = f"{self.count('error')} errors, {self.count('warning')} warnings"
            counts += f", {len(self.skips)} rules ignored on a resource"
        elif self.tool == "checkov":
            counts = f"{self.passed} passed, {len(self.findings)} failed, {len(self.skips)} skipped"
        else:
            counts = f"{len(self.findings)} failures, {len(self.skips)} acknowledged"
        took = f"{self.seconds:.1f} s"
        return f"{self.tool}: {self.templates} templates, {counts} ({took})"


def _stack_of(path: str, all_templates: Sequence[Template]) -> str:
    """The stack whose template is at ``path`` (absolute, or relative to the outdir)."""
    for template in all_templates:
        parts = template.path.parts[-2:]
        if Path(path).parts[-2:] == parts:
            return template.stack
    return path


def _run(command: list[str], *, env: dict[str, str] | None = None) -> tuple[int, str, str, float]:
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}
        )
    except FileNotFoundError as err:
        raise ScanError(f"{command[0]} not found; `make scan` installs it into .venv-scan") from err
    return done.returncode, done.stdout, done.stderr, time.perf_counter() - start


def cfn_lint_ignores(all_templates: Sequence[Template]) -> list[Skip]:
    """The rules a resource's ``Metadata.cfn-lint.config.ignore_checks`` ignores, with the reason
    ``compliance.scanners.ignore_cfn_lint`` wrote beside them."""
    ignores: list[Skip] = []
    for template in all_templates:
        resources = json.loads(template.path.read_text()).get("Resources", {})
        for logical_id, resource in resources.items():
            metadata = resource.get("Metadata", {}).get("cfn-lint", {})
            for rule in metadata.get("config", {}).get("ignore_checks", []):
                reason = metadata.get("reasons", {}).get(rule, "")
                ignores.append(Skip(rule=rule, reason=reason, stack=template.stack, resource=logical_id))
    return ignores


def blanket_cfn_lint_config(root: Path = ROOT) -> Path | None:
    """A cfn-lint configuration file in ``root``, which would apply to every template."""
    return next((root / name for name in CFN_LINT_CONFIGS if (root / name).exists()), None)


def run_cfn_lint(all_templates: Sequence[Template], *, binary: Path) -> ToolResult:
    if (config := blanket_cfn_lint_config()) is not None:
        raise ScanError(
            f"{config.name} would set cfn-lint rules for every template: remove it (an ignore belongs "
            "on the one resource it concerns, in Metadata.cfn-lint.config.ignore_checks)"
        )
    command = [str(binary), "--format", "json"]
    code, out, err, seconds = _run(command + [str(t.path) for t in all_templates])
    try:
        matches: list[dict[str, Any]] = json.loads(out or "[]")
    except json.JSONDecodeError as error:
        raise ScanError(
            f"cfn-lint exited {code} without JSON output: {(err or out).strip()[:300]}"
        ) from error
    result = ToolResult(
        "cfn-lint", len(all_templates), skips=cfn_lint_ignores(all_templates), seconds=seconds
    )
    for match in matches:
        path = match.get("Location", {}).get("Path") or []
        resource = str(path[1]) if len(path) > 1 and path[0] == "Resources" else "/".join(map(str, path))
        result.findings.append(
            Finding(
                rule=match["Rule"]["Id"],
                level=str(match.get("Level", "Error")).lower(),
                message=match.get("Message", ""),
                stack=_stack_of(match.get("Filename", ""), all_templates),
                resource=resource,
            )
        )
    if code != 0 and not matches:
        raise ScanError(f"cfn-lint exited {code}: {(err or out).strip()[:300]}")
    return result


def run_checkov(all_templates: Sequence[Template], *, binary: Path) -> ToolResult:
    command = [str(binary), "--framework", "cloudformation", "--skip-download", "--output", "json"]
    for template in all_templates:
        command += ["--file", str(template.path)]
    code, out, err, seconds = _run(command, env=OFFLINE_ENV)
    try:
        reports: Any = json.loads(out)
    except json.JSONDecodeError as error:
        raise ScanError(f"checkov exited {code} without JSON output: {(err or out).strip()[:300]}") from error
    result = ToolResult("checkov", len(all_templates), passed=0, seconds=seconds)
    for report in reports if isinstance(reports, list) else [reports]:
        if report.get("check_type") not in (None, "cloudformation"):
            continue
        summary = report.get("summary", {})
        result.passed = (result.passed or 0) + int(summary.get("passed", 0))
        results = report.get("results", {})
        for check in results.get("failed_checks", []):
            result.findings.append(
                Finding(
                    rule=check["check_id"],
                    level="failed",
                    message=check.get("check_name", ""),
                    stack=_stack_of(check.get("file_path", ""), all_templates),
                    resource=check.get("resource", ""),
                )
            )
        for check in results.get("skipped_checks", []):
            result.skips.append(
                Skip(
                    rule=check["check_id"],
                    reason=(check.get("check_result") or {}).get("suppress_comment", ""),
                    stack=_stack_of(check.get("file_path", ""), all_templates),
                    resource=check.get("resource", ""),
                )
            )
        for path in results.get("parsing_errors", []):
            result.findings.append(
                Finding("parsing", "error", "checkov could not parse", _stack_of(path, all_templates), "")
            )
    if code not in (0, 1) or (code == 1 and result.ok):
        raise ScanError(f"checkov exited {code}: {err.strip()[:300]}")
    return result


def rule_results(outdir: Path, all_templates: Sequence[Template]) -> list[ToolResult]:
    """CDK's CloudFormation validation and the Control Tower rules, run once over every template
    (``review.guard``; again here when this assembly is newer than their reports)."""
    start = time.perf_counter()
    written = outdir / GUARD_REPORT
    if not written.exists() or written.stat().st_mtime < (outdir / "manifest.json").stat().st_mtime:
        try:
            guard.run_guard(outdir)  # not run over this assembly yet (`make` runs it first)
        except guard.GuardError as error:
            raise ScanError(str(error)) from error
    seconds = time.perf_counter() - start
    return [
        _plugin_result(tool, json.loads((outdir / report).read_text()), len(all_templates), seconds)
        for tool, report in (
            ("CloudFormation validation", TEMPLATE_VALIDATION_REPORT),
            ("cfn-guard (Control Tower)", GUARD_REPORT),
        )
    ]


def _plugin_result(tool: str, report: dict[str, Any], count: int, seconds: float) -> ToolResult:
    """A plugin report (open violations, acknowledgements) as one scanner's findings and skips."""
    result = ToolResult(tool, count, seconds=seconds)
    for violation in report.get("violations", []):
        for construct in violation.get("violatingConstructs", []):
            result.findings.append(
                Finding(
                    rule=violation["ruleName"],
                    level="failure",
                    message=violation.get("description", ""),
                    stack="/".join(construct["constructPath"].split("/")[:2]),
                    resource=construct["constructPath"],
                )
            )
    for ack in report.get("suppressedViolations", []):
        for construct in ack.get("violatingConstructs", []):
            result.skips.append(
                Skip(
                    rule=ack["ruleName"],
                    reason=ack.get("reason", ""),
                    stack="/".join(construct["constructPath"].split("/")[:2]),
                    resource=construct["constructPath"],
                )
            )
    return result


def scan(outdir: Path, *, scan_venv: Path) -> list[ToolResult]:
    """cfn-lint, checkov and the rules run after synth, side by side (each is its own process;
    the machine's cores share them)."""
    found = templates(outdir)
    if not found:
        raise ScanError(f"no stack templates in {outdir}: run `make synth` first")
    missing = [t.path for t in found if not t.path.exists()]
    if missing:
        raise ScanError(f"template missing: {missing[0]}")
    with ThreadPoolExecutor(max_workers=3) as pool:
        lint = pool.submit(run_cfn_lint, found, binary=scan_venv / "bin" / "cfn-lint")
        checkov = pool.submit(run_checkov, found, binary=scan_venv / "bin" / "checkov")
        rules = pool.submit(rule_results, outdir, found)
        return [lint.result(), checkov.result(), *rules.result()]


def write_summary(outdir: Path, results: Iterable[ToolResult]) -> Path:
    path = outdir / SUMMARY_FILE
    data = [{**asdict(r), "line": r.line(), "ok": r.ok} for r in results]
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def read_summary(outdir: Path) -> list[dict[str, Any]]:
    path = outdir / SUMMARY_FILE
    return list(json.loads(path.read_text())) if path.exists() else []


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.review.scan", description=__doc__.splitlines()[0])
    parser.add_argument("outdir", nargs="?", default="cdk.out", type=Path)
    parser.add_argument("--scan-venv", default=ROOT / ".venv-scan", type=Path)
    args = parser.parse_args(argv)
    try:
        results = scan(args.outdir, scan_venv=args.scan_venv)
    except ScanError as err:
        print(f"scan error: {err}", file=sys.stderr)
        return 2
    write_summary(args.outdir, results)
    for result in results:
        for finding in result.findings:
            where = f"{finding.stack} {finding.resource}"
            print(f"  {result.tool}: {finding.rule} ({finding.level}) {where}: {finding.message}")
        print(result.line())
    failed = [r.tool for r in results if not r.ok]
    if failed:
        print(f"scan failed: findings from {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
