"""The validation reports a synth and the checks after it write into the cloud assembly.

The app wing owns these names: the synth writes ``validation-report.json`` (the cdk-nag packs),
and ``make scan`` writes the CloudFormation validation's and the Control Tower rules' reports
beside it (``tools/review/guard.py``). Both wings read them through ``validation_report``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VALIDATION_REPORT = "validation-report.json"
# The AWS Control Tower rules' plugin report (tools/review/guard.py), same shape as a pack's.
GUARD_REPORT = "cfn-guard-report.json"
GUARD_PLUGIN = "cdk-validator-cfnguard"
# CDK's built-in CloudFormation validation, run after synth (tools/review/template_validation.py).
TEMPLATE_VALIDATION_PLUGIN = "CloudFormation Validate"
TEMPLATE_VALIDATION_REPORT = "cfn-validate-report.json"


def validation_report(outdir: Path) -> dict[str, Any]:
    """``validation-report.json`` of the synth (the cdk-nag packs), with the reports of the rules
    that run once over the assembly after it (``tools.review.guard``: CDK's CloudFormation
    validation and the Control Tower rules), once they have run, as more plugin reports."""
    path = Path(outdir) / VALIDATION_REPORT
    report: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    for later in (TEMPLATE_VALIDATION_REPORT, GUARD_REPORT):
        path = Path(outdir) / later
        if path.exists():
            report.setdefault("pluginReports", []).append(json.loads(path.read_text()))
    return report
