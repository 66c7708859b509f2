"""The AWS Control Tower proactive controls, run once over the synthesized templates.

The rules and the ``cfn-guard`` binary ship inside ``cdklabs.cdk-validator-cfnguard`` (pinned);
nothing is downloaded. As a policy-validation plugin inside ``cdk synth`` they cost every synth
about 13 of its 18 seconds, so they run here instead, over every template of a cloud
assembly at once: ``make scan`` (hence CI) and the test session run them, ``cdk synth`` and
``cdk deploy`` keep the six cdk-nag packs.

The plugin's own code (Node, ``tools/review/guard_run.js``) runs cfn-guard and reads its output;
this module maps each failing resource to its construct path (the templates' ``aws:cdk:path``)
and applies the app's acknowledgements (``acknowledge(..., control_tower(rule))``: the
``aws:cdk:acknowledged-rules`` metadata of the assembly) as synth did: an acknowledgement
covers its construct and everything below it. The result is written beside
``validation-report.json`` as ``cfn-guard-report.json``, a plugin report of the same shape,
which ``compliance.packs.read_report`` merges. cfn-guard runs once per core, each run over a
share of the templates; while they run, aws-cdk-lib's CloudFormation validation, which the
app keeps out of synth too, runs here (``review.template_validation``) and its report is
written beside them as ``cfn-validate-report.json``, its acknowledgements applied the same way.

Usage: ``python -m tools.review.guard [cdk.out]`` (exit 1 on an unacknowledged finding of either).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tools import assembly
from tools.review import template_validation
from tools.review.acknowledgements_made import Made, acknowledgements_made
from tools.review.result_cache import Judged, per_template

PLUGIN = assembly.GUARD_PLUGIN
REPORT_FILE = assembly.GUARD_REPORT
RUNNER = Path(__file__).resolve().parent / "guard_run.js"


class GuardError(Exception):
    """The rules could not run (package or Node missing, unreadable output)."""


def package_dir(cache: Path | None = None) -> Path:
    """The plugin's npm package (rules, binary, code), extracted once from the Python wheel's
    jsii bundle into ``<venv>/share/cdk-validator-cfnguard/<bundle name>``."""
    spec = importlib.util.find_spec("cdklabs.cdk_validator_cfnguard")
    if spec is None or not spec.submodule_search_locations:
        raise GuardError("cdklabs.cdk-validator-cfnguard is not installed: run `make install`")
    bundles = sorted(Path(next(iter(spec.submodule_search_locations)), "_jsii").glob("*.jsii.tgz"))
    if not bundles:
        raise GuardError("the cfn-guard plugin's jsii bundle is missing from its package")
    bundle = bundles[-1]
    target = (cache or Path(sys.prefix) / "share" / "cdk-validator-cfnguard") / bundle.name.removesuffix(
        ".tgz"
    )
    if not (target / "package" / "lib" / "plugin.js").exists():
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        with tarfile.open(bundle) as archive:
            archive.extractall(partial, filter="data")
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
    return target / "package"


def balanced(templates: Sequence[Path], parts: int) -> list[list[Path]]:
    """``templates`` in at most ``parts`` groups of about equal bytes, largest first: cfn-guard's
    time grows with a template's size (a Service template takes ten times an Alerts one)."""
    groups: list[list[Path]] = [[] for _ in range(max(1, min(parts, len(templates))))]
    loads = [0] * len(groups)
    for template in sorted(templates, key=lambda t: t.stat().st_size, reverse=True):
        lightest = loads.index(min(loads))
        groups[lightest].append(template)
        loads[lightest] += template.stat().st_size
    return groups


def run_rules(templates: Sequence[Path], package: Path, *, parts: int | None = None) -> dict[str, Any]:
    """The plugin's report over ``templates``: ``{"success": ..., "violations": [...]}``.

    One cfn-guard run per core (``parts``, default ``os.cpu_count()``), each over a share of the
    templates, side by side: the rules judge each template on its own, and the runs' violations
    are the one run's (the plugin lists a rule once per failing check anyway).
    """
    return collect(start_rules(templates, package, parts=parts))


def rules_identity(package: Path) -> str:
    """What the Control Tower rules' result depends on besides a template: the plugin's bundle
    (its version, rules and binary) and the runner that calls it."""
    return f"cfn-guard {package.parent.name} {RUNNER.read_text()}"


def start_rules(
    templates: Sequence[Path], package: Path, *, parts: int | None = None
) -> list[subprocess.Popen[str]]:
    """The cfn-guard runs of ``run_rules``, started; ``collect`` waits for them."""
    node = shutil.which("node")
    if node is None:
        raise GuardError("node is not on PATH (Node.js runs the CDK CLI and these rules)")
    return [
        subprocess.Popen(
            [node, str(RUNNER), str(package), *map(str, group)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for group in balanced(templates, parts or os.cpu_count() or 1)
    ]


def collect(runs: Sequence[subprocess.Popen[str]]) -> dict[str, Any]:
    results = [_read_run(*run.communicate(), run.returncode) for run in runs]
    violations = [violation for result in results for violation in result.get("violations", [])]
    # One per rule and template (result_cache.per_template), in an order of their own, not of
    # the grouping (which follows the machine's cores).
    split = [v for found in per_template(violations).values() for v in found]
    return {
        "success": all(result.get("success", False) for result in results),
        "violations": sorted(split, key=_violation_order),
    }


def _violation_order(violation: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    where = [
        (r["templatePath"], r.get("resourceLogicalId", "")) for r in violation.get("violatingResources", [])
    ]
    return violation["ruleName"], where


def _read_run(stdout: str, stderr: str, returncode: int) -> dict[str, Any]:
    if returncode != 0:
        raise GuardError(f"the Control Tower rules failed to run: {(stderr or stdout).strip()[:300]}")
    try:
        result: dict[str, Any] = json.loads(stdout)
    except json.JSONDecodeError as error:
        raise GuardError(f"unreadable output of the Control Tower rules: {stdout[:200]}") from error
    return result


def _covering(path: str, rule_id: str, made: Sequence[Made]) -> Made | None:
    """The acknowledgement of ``rule_id`` nearest above ``path`` (itself included)."""
    found = [m for m in made if m.rule_id == rule_id and (path == m.path or path.startswith(m.path + "/"))]
    return max(found, key=lambda m: len(m.path), default=None)


def template_bodies(templates: Sequence[assembly.Template]) -> dict[str, dict[str, Any]]:
    """Each template, parsed, by its resolved path: where ``plugin_report`` finds the construct
    path (``aws:cdk:path``) of a violating resource."""
    return {str(t.path.resolve()): json.loads(t.path.read_text()) for t in templates}


def plugin_report(
    outdir: Path,
    result: Mapping[str, Any],
    made: Sequence[Made],
    bodies: Mapping[str, Mapping[str, Any]],
    *,
    plugin: str = PLUGIN,
    version: str | None = None,
) -> dict[str, Any]:
    """``result`` as ``plugin``'s report in ``validation-report.json``: open violations and, grouped
    by acknowledgement (``<plugin>::<rule>``, spaces as hyphens), the suppressed ones."""
    open_violations: list[dict[str, Any]] = []
    suppressed: dict[tuple[str, str], dict[str, Any]] = {}
    for violation in result.get("violations", []):
        rule = violation["ruleName"]
        base = {
            "ruleName": rule,
            "description": violation.get("description", ""),
            "suggestedFix": violation.get("fix", ""),
            "severity": violation.get("severity", "error"),
            "ruleMetadata": violation.get("ruleMetadata", {}),
        }
        still_open = []
        for resource in violation.get("violatingResources", []):
            template = str(Path(resource["templatePath"]).resolve())
            logical_id = resource["resourceLogicalId"]
            body = bodies.get(template, {}).get("Resources", {}).get(logical_id, {})
            construct_path = str(body.get("Metadata", {}).get("aws:cdk:path", logical_id))
            construct = {
                "constructPath": construct_path,
                "cloudFormationResource": {
                    "templatePath": str(Path(template).relative_to(outdir.resolve())),
                    "logicalId": logical_id,
                    "propertyPaths": resource.get("locations", []),
                },
            }
            ack = _covering(construct_path, f"{plugin.replace(' ', '-')}::{rule}", made)
            if ack is None:
                still_open.append(construct)
                continue
            entry = suppressed.setdefault(
                (rule, ack.path),
                {
                    **base,
                    "violatingConstructs": [],
                    "acknowledgedId": ack.rule_id,
                    "reason": ack.reason,
                    "acknowledgedAt": ack.path,
                },
            )
            entry["violatingConstructs"].append(construct)
        if still_open:
            open_violations.append({**base, "violatingConstructs": still_open})
    return {
        "pluginName": plugin,
        "pluginVersion": package_version() if version is None else version,
        "conclusion": "failure" if open_violations else "success",
        "violations": open_violations,
        "suppressedViolations": list(suppressed.values()),
    }


def package_version() -> str:
    return importlib.metadata.version("cdklabs.cdk-validator-cfnguard")


def run_guard(outdir: Path, *, cache: Path | None = None) -> dict[str, Any]:
    """Run the rules over every template of the assembly in ``outdir`` and write the reports:
    the Control Tower rules' (returned) and, while cfn-guard runs, CDK's CloudFormation
    validation (``review.template_validation``)."""
    templates = assembly.templates(outdir)
    if not templates:
        raise GuardError(f"no stack templates in {outdir}: synthesize first")
    made = acknowledgements_made(outdir)
    package = package_dir(cache)
    # Each rule set judges only the templates whose bytes it has not judged before
    # (review.result_cache: a warm tree's unchanged templates; CI judges them all).
    environment = {str(t.path.resolve()): t.environment for t in templates}
    paths = [t.path for t in templates]
    guarded = Judged(paths, rules=rules_identity(package), extra=lambda p: environment[str(p.resolve())])
    validated = Judged(
        paths, rules=template_validation.rules_identity(), extra=lambda p: environment[str(p.resolve())]
    )
    runs = start_rules(guarded.missing, package) if guarded.missing else []
    try:
        if validated.missing:
            missing = {str(p.resolve()) for p in validated.missing}
            validated.add(
                template_validation.run_rules([t for t in templates if str(t.path.resolve()) in missing])[0]
            )
    except BaseException:
        for run in runs:
            run.kill()
            run.wait()
        raise
    bodies = template_bodies(templates)  # read once, for both reports
    validation = plugin_report(
        outdir,
        validated.result(),
        made,
        bodies,
        plugin=template_validation.PLUGIN,
        version=template_validation.version(),
    )
    (outdir / assembly.TEMPLATE_VALIDATION_REPORT).write_text(json.dumps(validation, indent=1) + "\n")
    if runs:
        guarded.add(collect(runs))
    report = plugin_report(outdir, guarded.result(), made, bodies)
    (outdir / REPORT_FILE).write_text(json.dumps(report, indent=1) + "\n")
    return report


def failures(report: Mapping[str, Any]) -> list[str]:
    return [
        f"{v['ruleName']} at {c['constructPath']}: {v['description']}"
        for v in report.get("violations", [])
        for c in v.get("violatingConstructs", [])
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.review.guard", description=__doc__.splitlines()[0])
    parser.add_argument("outdir", nargs="?", default="cdk.out", type=Path)
    args = parser.parse_args(argv)
    try:
        report = run_guard(args.outdir)
    except GuardError as err:
        print(f"guard error: {err}", file=sys.stderr)
        return 2
    validation = json.loads((args.outdir / assembly.TEMPLATE_VALIDATION_REPORT).read_text())
    found = 0
    for name, written, file in (
        ("CloudFormation validation", validation, assembly.TEMPLATE_VALIDATION_REPORT),
        ("cfn-guard (Control Tower)", report, REPORT_FILE),
    ):
        for line in failures(written):
            print(f"  {name}: {line}", file=sys.stderr)
        acknowledged = sum(len(entry["violatingConstructs"]) for entry in written["suppressedViolations"])
        print(
            f"{name}: {len(failures(written))} failures, {acknowledged} acknowledged ({args.outdir / file})"
        )
        found += len(failures(written))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
