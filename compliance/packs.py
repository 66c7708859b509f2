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

from compliance.reports import GUARD_REPORT, TEMPLATE_VALIDATION_REPORT, validation_report

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


def new_app(*, outdir: str | None = None, context: dict[str, Any] | None = None) -> App:
    """The app, as ``app.py`` and the tests build it: without aws-cdk-lib's built-in
    CloudFormation validation inside synth. It costs every ``cdk synth``, ``diff`` and
    ``deploy`` about 3 seconds; ``make scan`` (hence CI) and the test session run the same
    plugin once over the assembly (``tools/review/template_validation.py``) and fail on any finding
    not acknowledged."""
    return App(outdir=outdir, context=context, builtin_cloud_formation_validation=False)


def add_nag_packs(app: App) -> None:
    """All six cdk-nag packs: a finding not acknowledged on its construct fails synth.

    The AWS Control Tower proactive controls (cfn-guard) do not run here: as a plugin they
    cost every synth about 13 seconds. ``make scan`` (hence CI) runs them once over every
    template (``tools/review/guard.py``), with CDK's CloudFormation validation (``new_app``), and
    fails on any unacknowledged finding.
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


def synth_findings(outdir: str | Path) -> list[str]:
    """``unacknowledged_findings`` of the synth that just wrote ``outdir``: its packs' report only.
    The reports ``review.guard`` writes beside it describe the assembly it read, an older one:
    they are removed (``make`` then runs the rules again), never merged into this synth's verdict."""
    for stale in (GUARD_REPORT, TEMPLATE_VALIDATION_REPORT):
        (Path(outdir) / stale).unlink(missing_ok=True)
    return unacknowledged_findings(read_report(outdir))


def read_report(outdir: str | Path) -> dict[str, Any]:
    """``validation-report.json``, with the reports of CDK's CloudFormation validation and the
    Control Tower rules (when ``review.guard`` has run over this assembly) as more plugin reports."""
    return validation_report(Path(outdir))
