"""Acknowledgements as the code made them, and the ones no finding uses any more (stale).

The report lists the acknowledgements cdk-nag applied (``review.rule_packs``); this module
reads the ones the app *made*, from the construct metadata of the cloud assembly, so that an
acknowledgement left behind after its finding was fixed shows up (and fails the tests).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools import assembly

# Acknowledgements aws-cdk-lib makes itself (not in this app's code): on every VPC flow log,
# for a CloudFormation spec quirk. They need not match a finding.
LIBRARY_ACKNOWLEDGEMENTS = frozenset({"CloudFormation-Validate::F3002", "CloudFormation-Validate::F3003"})
ACKNOWLEDGED_RULES = "aws:cdk:acknowledged-rules"


@dataclass(frozen=True)
class Made:
    """An acknowledgement as the code made it: where, for which rule id, why."""

    path: str
    rule_id: str
    reason: str

    @property
    def in_any_stage(self) -> tuple[str, str]:
        """Path without its stage, and rule: the same code makes it in every environment."""
        return self.path.split("/", 1)[-1], self.rule_id


def acknowledgements_made(outdir: Path) -> list[Made]:
    """Every acknowledgement in the construct metadata of the cloud assembly."""
    made = set()
    for template in assembly.templates(outdir):
        if template.metadata is None or not template.metadata.exists():
            continue
        for path, entries in json.loads(template.metadata.read_text()).items():
            for entry in entries:
                if entry.get("type") == ACKNOWLEDGED_RULES:
                    for rule_id, reason in entry.get("data", {}).items():
                        made.add(Made(path.lstrip("/"), rule_id, str(reason)))
    return sorted(made, key=lambda m: (m.path, m.rule_id))


def stale_acknowledgements(made: Iterable[Made], report: Mapping[str, Any]) -> list[Made]:
    """Acknowledgements of this app that matched no finding in any environment: remove them."""
    used = {
        (str(s.get("acknowledgedAt", "")).split("/", 1)[-1], s.get("acknowledgedId", ""))
        for plugin in report.get("pluginReports", [])
        for s in plugin.get("suppressedViolations", [])
    }
    return [m for m in made if m.rule_id not in LIBRARY_ACKNOWLEDGEMENTS and m.in_any_stage not in used]
