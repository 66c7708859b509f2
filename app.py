#!/usr/bin/env python3
"""Entry point: one cdk.Stage per environment configured in cdk.json."""

from __future__ import annotations

import sys
from pathlib import Path

import aws_cdk as cdk

from compliance.packs import add_nag_packs, new_app, synth_findings
from config import CONTEXT_KEY, ConfigError, load_environments
from config.bootstrap import bootstrap_warnings
from config.context import check_context_keys, read_cdk_json
from config.delivery import bootstrap_qualifier, load_delivery
from config.environment import read_blocks
from stacks.delivery_stack import DeliveryStage
from stacks.stage import OutpostStage

CDK_JSON = Path(__file__).resolve().parent / "cdk.json"


def build(app: cdk.App) -> list[cdk.Stage]:
    """Add every configured environment (or only ``-c outpost:only=NAME``) to ``app``, and the
    ``Delivery`` stage of every account when all environments are built."""
    get = app.node.try_get_context
    # Every context key the app was given (cdk.json's, the feature flags, each -c): ours are outpost:*.
    check_context_keys(app.node.get_all_context(), read_blocks(get(CONTEXT_KEY)).environments)
    only = get("outpost:only")
    environments = load_environments(get, only=only)
    for line in bootstrap_warnings(environments):
        print(line, file=sys.stderr)
    stages: list[cdk.Stage] = [OutpostStage(app, config=env) for env in environments]
    # Built from every environment or not at all: a Delivery stack built from one environment
    # of a shared account would drop the roles of the others.
    delivery = None if only is not None else load_delivery(get, environments)
    if delivery is not None:
        config, targets = delivery
        stages.append(
            DeliveryStage(app, delivery=config, targets=targets, qualifier=bootstrap_qualifier(get))
        )
    add_nag_packs(app)
    return stages


def main() -> int:
    app = new_app()
    try:
        # The CDK CLI reads cdk.json itself and keeps the last copy of a key written twice: check first.
        if CDK_JSON.exists():
            read_cdk_json(CDK_JSON)
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
    findings = synth_findings(assembly.directory)
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
