"""The cdk-nag rule packs every environment must pass, registered on the app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import (
    AwsSolutionsChecks,
    HIPAASecurityChecks,
    NIST80053R4Checks,
    NIST80053R5Checks,
    PCIDSS321Checks,
    ServerlessChecks,
)

from review.assembly import validation_report

NAG_PACKS = (
    AwsSolutionsChecks,
    HIPAASecurityChecks,
    NIST80053R4Checks,
    NIST80053R5Checks,
    PCIDSS321Checks,
    ServerlessChecks,
)


# Acknowledge the Control Tower rules' findings with
# ``acknowledge(construct, reason, control_tower("<rule name>"))`` (compliance/acknowledgements.py).


def add_nag_packs(app: App) -> None:
    """All six cdk-nag packs: a finding not acknowledged on its construct fails synth.

    The AWS Control Tower proactive controls (cfn-guard) do not run here: as a plugin they
    cost every synth about 13 seconds. ``make scan`` (hence CI) runs them once over every
    template (``review/guard.py``) and fails on any unacknowledged one.
    """
    Validations.of(app).add_plugins(*(pack(app) for pack in NAG_PACKS))


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
    """``validation-report.json``, with the Control Tower rules' report (when they have run
    over this assembly) as one more plugin report."""
    return validation_report(Path(outdir))
