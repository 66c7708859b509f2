"""The cdk-nag rule packs every environment must pass, registered on the app."""

from __future__ import annotations

import json
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

VALIDATION_REPORT = "validation-report.json"

NAG_PACKS = (
    AwsSolutionsChecks,
    HIPAASecurityChecks,
    NIST80053R4Checks,
    NIST80053R5Checks,
    PCIDSS321Checks,
    ServerlessChecks,
)


def add_nag_packs(app: App) -> None:
    """All six packs; a finding not acknowledged on its construct fails synth."""
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
    path = Path(outdir) / VALIDATION_REPORT
    return json.loads(path.read_text()) if path.exists() else {}
