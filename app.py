#!/usr/bin/env python3
"""Entry point: one cdk.Stage per environment configured in cdk.json."""

from __future__ import annotations

import sys

import aws_cdk as cdk

from config import ConfigError, load_environments
from config.cost import load_cost
from config.delivery import bootstrap_qualifier, load_delivery
from stacks.compliance import add_nag_packs, read_report, unacknowledged_findings
from stacks.delivery_stack import DeliveryStage
from stacks.stage import OutpostStage


def build(app: cdk.App) -> list[cdk.Stage]:
    """Add every configured environment (or only ``-c outpost:only=NAME``) to ``app``, and the
    ``Delivery`` stage of every account when all environments are built."""
    get = app.node.try_get_context
    only = get("outpost:only")
    environments = load_environments(get, only=only)
    load_cost(get, environments)  # a bad cost assumption stops synth like any other setting
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
