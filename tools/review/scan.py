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
from tools.review.result_cache import keep, key, read_kept

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
    identity = _identity("cfn-lint", binary)
    keys = {t.path: key(t.path, identity) for t in all_templates}
    found: dict[Path, list[dict[str, Any]]] = {}
    for template in all_templates:
        kept = read_kept(keys[template.path])
        if kept is not None:
            found[template.path] = [{**match, "Filename": str(template.path)} for match in kept]
    missing = [t for t in all_templates if t.path not in found]
    seconds = 0.0
    if missing:
        code, out, err, seconds = _run(command + [str(t.path) for t in missing])
        try:
            fresh: list[dict[str, Any]] = json.loads(out or "[]")
        except json.JSONDecodeError as error:
            raise ScanError(
                f"cfn-lint exited {code} without JSON output: {(err or out).strip()[:300]}"
            ) from error
        if code != 0 and not fresh:
            raise ScanError(f"cfn-lint exited {code}: {(err or out).strip()[:300]}")
        for template in missing:
            found[template.path] = [m for m in fresh if _same_file(m.get("Filename", ""), template.path)]
            keep(keys[template.path], [{**m, "Filename": ""} for m in found[template.path]])
    result = ToolResult(
        "cfn-lint", len(all_templates), skips=cfn_lint_ignores(all_templates), seconds=seconds
    )
    for match in (m for template in all_templates for m in found[template.path]):
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
    return result


def _identity(tool: str, binary: Path) -> str:
    """What a scanner's result depends on besides a template (``review.result_cache``): the tool,
    the pinned scanners (``requirements-scan.lock``) and this module, which runs them."""
    lock = ROOT / "requirements-scan.lock"
    pins = lock.read_text() if lock.exists() else ""
    return f"{tool} {binary.resolve()} {pins} {Path(__file__).read_text()}"


def _same_file(reported: str, path: Path) -> bool:
    """Whether a scanner's file name (as given, absolute, or relative to the outdir) is ``path``."""
    return bool(reported) and (reported == str(path) or Path(reported).parts[-2:] == path.parts[-2:])


def run_checkov(all_templates: Sequence[Template], *, binary: Path) -> ToolResult:
    identity = _identity("checkov", binary)
    keys = {t.path: key(t.path, identity) for t in all_templates}
    found: dict[Path, dict[str, Any]] = {}
    for template in all_templates:
        kept = read_kept(keys[template.path])
        if kept is not None:
            found[template.path] = kept
    missing = [t for t in all_templates if t.path not in found]
    seconds = 0.0
    if missing:
        fresh, seconds = _checkov_run(missing, binary)
        found.update(fresh)
        for template in missing:
            keep(keys[template.path], fresh[template.path])
    result = ToolResult("checkov", len(all_templates), passed=0, seconds=seconds)
    for template in all_templates:
        own = found[template.path]
        result.passed = (result.passed or 0) + int(own["passed"])
        for check in own["failed"]:
            result.findings.append(
                Finding(
                    rule=check["check_id"],
                    level="failed",
                    message=check.get("check_name", ""),
                    stack=template.stack,
                    resource=check.get("resource", ""),
                )
            )
        for check in own["skipped"]:
            result.skips.append(
                Skip(
                    rule=check["check_id"],
                    reason=(check.get("check_result") or {}).get("suppress_comment", ""),
                    stack=template.stack,
                    resource=check.get("resource", ""),
                )
            )
        if own["parsing_error"]:
            result.findings.append(Finding("parsing", "error", "checkov could not parse", template.stack, ""))
    return result


def _checkov_run(some: Sequence[Template], binary: Path) -> tuple[dict[Path, dict[str, Any]], float]:
    """checkov over ``some``: per template, the checks it passed (a count), failed and skipped,
    and whether it could not be parsed."""
    command = [str(binary), "--framework", "cloudformation", "--skip-download", "--output", "json"]
    for template in some:
        command += ["--file", str(template.path)]
    code, out, err, seconds = _run(command, env=OFFLINE_ENV)
    try:
        reports: Any = json.loads(out)
    except json.JSONDecodeError as error:
        raise ScanError(f"checkov exited {code} without JSON output: {(err or out).strip()[:300]}") from error
    per: dict[Path, dict[str, Any]] = {
        t.path: {"passed": 0, "failed": [], "skipped": [], "parsing_error": False} for t in some
    }

    def owner(reported: str) -> dict[str, Any]:
        for template in some:
            if _same_file(reported, template.path):
                return per[template.path]
        raise ScanError(f"checkov reported a file it was not given: {reported}")

    for report in reports if isinstance(reports, list) else [reports]:
        if report.get("check_type") not in (None, "cloudformation"):
            continue
        results = report.get("results", {})
        for check in results.get("passed_checks", []):
            owner(check.get("file_path", ""))["passed"] += 1
        for check in results.get("failed_checks", []):
            owner(check.get("file_path", ""))["failed"].append(check)
        for check in results.get("skipped_checks", []):
            owner(check.get("file_path", ""))["skipped"].append(check)
        for path in results.get("parsing_errors", []):
            owner(path)["parsing_error"] = True
        passed = int(report.get("summary", {}).get("passed", 0))
        if passed != len(results.get("passed_checks", [])):
            raise ScanError(
                f"checkov's summary counts {passed} passed checks, its results list another number"
            )
    failed = any(own["failed"] or own["parsing_error"] for own in per.values())
    if code not in (0, 1) or (code == 1 and not failed):
        raise ScanError(f"checkov exited {code}: {err.strip()[:300]}")
    return per, seconds


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
