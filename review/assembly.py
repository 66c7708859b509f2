"""The cloud assembly as the review reads it back: every stack template of every stage, and the
validation reports written beside them.

Templates are discovered from the manifests (``cdk.out/manifest.json`` and each stage's nested
assembly), so every stack of every environment is read, including stacks added later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VALIDATION_REPORT = "validation-report.json"
# The AWS Control Tower rules' plugin report (review/guard.py), same shape as a pack's.
GUARD_REPORT = "cfn-guard-report.json"
# CDK's built-in CloudFormation validation, run after synth too (review/template_validation.py).
TEMPLATE_VALIDATION_PLUGIN = "CloudFormation Validate"
TEMPLATE_VALIDATION_REPORT = "cfn-validate-report.json"
GUARD_PLUGIN = "cdk-validator-cfnguard"


@dataclass(frozen=True)
class Template:
    stage: str  # "Dev"
    stack: str  # "Dev/Network"
    path: Path
    metadata: Path | None = None  # construct metadata (acknowledgements, ...) of the stack
    environment: str = ""  # "aws://111111111111/us-east-1"

    @property
    def account(self) -> str | None:
        return self._environment_part(0)

    @property
    def region(self) -> str | None:
        return self._environment_part(1)

    def _environment_part(self, index: int) -> str | None:
        parts = self.environment.removeprefix("aws://").split("/")
        value = parts[index] if len(parts) == 2 else ""
        return None if not value or value.startswith("unknown-") else value


def templates(outdir: Path) -> list[Template]:
    """Every stack template of every assembly in ``outdir``, from the manifests."""
    found: list[Template] = []

    def walk(directory: Path, stage: str) -> None:
        manifest_file = directory / "manifest.json"
        if not manifest_file.exists():
            return
        manifest = json.loads(manifest_file.read_text())
        for artifact_id, artifact in sorted(manifest.get("artifacts", {}).items()):
            props = artifact.get("properties", {})
            if artifact["type"] == "aws:cloudformation:stack":
                stack = artifact.get("displayName", artifact_id)
                extra = artifact.get("additionalMetadataFile")
                found.append(
                    Template(
                        stage or stack.split("/")[0],
                        stack,
                        directory / props["templateFile"],
                        directory / extra if extra else None,
                        artifact.get("environment", ""),
                    )
                )
            elif artifact["type"] == "cdk:cloud-assembly":
                walk(directory / props["directoryName"], props.get("displayName", artifact_id))

    walk(outdir, "")
    return found


def validation_report(outdir: Path) -> dict[str, Any]:
    """``validation-report.json`` of the synth (the cdk-nag packs), with the reports of the rules
    that run once over the assembly after it (``review.guard``: CDK's CloudFormation validation
    and the Control Tower rules), once they have run, as more plugin reports."""
    path = Path(outdir) / VALIDATION_REPORT
    report: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    for later in (TEMPLATE_VALIDATION_REPORT, GUARD_REPORT):
        path = Path(outdir) / later
        if path.exists():
            report.setdefault("pluginReports", []).append(json.loads(path.read_text()))
    return report
