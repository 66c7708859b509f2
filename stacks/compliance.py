"""The cdk-nag rule packs every environment must pass, registered on the app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from aws_cdk import App, IPolicyValidationPlugin, Validations
from cdk_nag import (
    AwsSolutionsChecks,
    HIPAASecurityChecks,
    NIST80053R4Checks,
    NIST80053R5Checks,
    PCIDSS321Checks,
    ServerlessChecks,
)
from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

VALIDATION_REPORT = "validation-report.json"

NAG_PACKS = (
    AwsSolutionsChecks,
    HIPAASecurityChecks,
    NIST80053R4Checks,
    NIST80053R5Checks,
    PCIDSS321Checks,
    ServerlessChecks,
)


# Acknowledge the cfn-guard plugin's findings with
# ``acknowledge(construct, reason, control_tower("<rule name>"))`` (constructs/nag.py).


def add_nag_packs(app: App) -> None:
    """All six cdk-nag packs and the AWS Control Tower proactive controls.

    The Control Tower controls run through the cfn-guard policy-validation plugin, which
    ships its own ``cfn-guard`` binary and rules inside the package: nothing is downloaded
    at synth. A finding not acknowledged on its construct fails synth, whichever plugin
    reported it.
    """
    Validations.of(app).add_plugins(
        *(pack(app) for pack in NAG_PACKS),
        # The plugin is typed against the beta1 interface, which the jsii kernel accepts here.
        cast(IPolicyValidationPlugin, CfnGuardValidator(control_tower_rules_enabled=True)),
    )


def unacknowledged_findings(report: dict[str, Any]) -> list[str]:
    """One line per finding no acknowledgement covers, from ``validation-report.json``.

    Warnings count too: a finding is a finding whatever severity its pack gives it.
    """
    lines = []
    for plugin in report.get("pluginReports", []):
        for violation in plugin.get("violations", []):
            for construct in violation.get("violatingConstructs", []):
                lines.append(
                    f"{violation['ruleName']} at {construct['constructPath']}: {violation['description']}"
                )
    return lines


def read_report(outdir: str | Path) -> dict[str, Any]:
    path = Path(outdir) / VALIDATION_REPORT
    return json.loads(path.read_text()) if path.exists() else {}
