"""The cloud assembly as the review reads it back: every stack template of every stage, and the
validation reports written beside them.

Templates are discovered from the manifests (``cdk.out/manifest.json`` and each stage's nested
assembly), so every stack of every environment is read, including stacks added later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# Re-exported: the tools read the report names from here.
from compliance.reports import (
    GUARD_PLUGIN as GUARD_PLUGIN,
)
from compliance.reports import (
    GUARD_REPORT as GUARD_REPORT,
)
from compliance.reports import (
    TEMPLATE_VALIDATION_PLUGIN as TEMPLATE_VALIDATION_PLUGIN,
)
from compliance.reports import (
    TEMPLATE_VALIDATION_REPORT as TEMPLATE_VALIDATION_REPORT,
)
from compliance.reports import (
    VALIDATION_REPORT as VALIDATION_REPORT,
)
from compliance.reports import (
    validation_report as validation_report,
)


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
