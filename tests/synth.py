"""Synthesize the whole app once and read what it wrote.

The app is built exactly as ``app.py`` builds it, from the context in ``cdk.json``, with
every cdk-nag pack registered; templates are read back from the cloud assembly on disk.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from app import build
from review.guard import run_guard
from stacks.compliance import read_report

ROOT = Path(__file__).resolve().parent.parent


def shipped_context() -> dict[str, Any]:
    """The ``context`` of ``cdk.json``, as a fresh copy a test may change."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return copy.deepcopy(context)


@dataclass
class Synthesized:
    outdir: Path
    error: str | None
    report: dict[str, Any]
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)

    def template(self, stack_path: str) -> dict[str, Any]:
        """The template of ``Dev/Network`` and the like."""
        return self.templates[stack_path]

    def resources(self, stack_path: str, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.template(stack_path)["Resources"].items()
            if resource["Type"] == resource_type
        }


def synthesize(outdir: Path, context: dict[str, Any] | None = None, *, guard: bool = False) -> Synthesized:
    """The app, synthesized in this process into ``outdir``; ``guard`` also runs the Control
    Tower rules over it (as `make scan` does), for tests that read their results."""
    context = context or shipped_context()
    # As the CDK CLI runs the app: construct paths and asset paths in metadata, no version
    # report (so these templates are the ones `make synth` writes, byte for byte).
    context.setdefault("aws:cdk:enable-path-metadata", True)
    context.setdefault("aws:cdk:enable-asset-metadata", True)
    context.setdefault("aws:cdk:version-reporting", False)
    app = cdk.App(outdir=str(outdir), context=context)
    stages = build(app)
    error = None
    try:
        app.synth()
    except RuntimeError as err:  # a failed validation; the report is on disk all the same
        error = str(err)
    if guard:
        run_guard(outdir)
    return Synthesized(
        outdir=outdir,
        error=error,
        report=read_report(outdir),
        templates=read_templates(outdir, [stage.stage_name for stage in stages]),
    )


def from_assembly(outdir: Path) -> Synthesized:
    """The cloud assembly ``make synth`` already wrote (``cdk.out``), read instead of synthesized
    again: ``make unit`` passes it (``OUTPOST_ASSEMBLY``), so one ``make test`` synthesizes once
    and the tests, the scanners and the rehearsal read the same templates. The Control Tower
    rules have run over it (``make`` runs ``review.guard`` first)."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    stages = [
        artifact["properties"]["directoryName"].removeprefix("assembly-")
        for artifact in manifest["artifacts"].values()
        if artifact["type"] == "cdk:cloud-assembly"
    ]
    return Synthesized(
        outdir=outdir, error=None, report=read_report(outdir), templates=read_templates(outdir, stages)
    )


def read_templates(outdir: Path, stage_names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Every stack template of those stages' assemblies in ``outdir``, by ``Dev/Network`` and the like."""
    templates: dict[str, dict[str, Any]] = {}
    for stage_name in stage_names:
        assembly = outdir / f"assembly-{stage_name}"
        manifest = json.loads((assembly / "manifest.json").read_text())
        for artifact in manifest["artifacts"].values():
            if artifact["type"] != "aws:cloudformation:stack":
                continue
            template_file = artifact["properties"]["templateFile"]
            templates[artifact["displayName"]] = json.loads((assembly / template_file).read_text())
    return templates
