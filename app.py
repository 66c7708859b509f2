#!/usr/bin/env python3
"""Entry point: one cdk.Stage per environment configured in cdk.json."""

from __future__ import annotations

import sys

import aws_cdk as cdk

from config import ConfigError, load_environments
from stacks.compliance import add_nag_packs, read_report, unacknowledged_findings
from stacks.stage import OutpostStage


def build(app: cdk.App) -> list[OutpostStage]:
    """Add every configured environment (or only ``-c outpost:only=NAME``) to ``app``."""
    only = app.node.try_get_context("outpost:only")
    stages = [OutpostStage(app, config=env) for env in load_environments(app.node.try_get_context, only=only)]
    add_nag_packs(app)
    return stages


def main() -> int:
    app = cdk.App()
    try:
        build(app)
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    try:
        assembly = app.synth()
    except RuntimeError as err:  # jsii's form of a failed validation
        print(f"synth failed: {str(err).splitlines()[0]}", file=sys.stderr)
        return 1
    # Under the CDK CLI a failed validation only sets the exit code of the jsii kernel's
    # node process, which the Python app does not inherit: read the report instead.
    findings = unacknowledged_findings(read_report(assembly.directory))
    for line in findings:
        print(f"unacknowledged finding: {line}", file=sys.stderr)
    if findings:
        print(
            f"{len(findings)} unacknowledged cdk-nag finding(s); see cdk.out/validation-report.json",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
