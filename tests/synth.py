"""Synthesize the whole app once and read what it wrote.

The app is built exactly as ``app.py`` builds it, from the context in ``cdk.json``, with
every cdk-nag pack registered; templates are read back from the cloud assembly on disk.

Besides, the test session synthesizes one throwaway environment (``THROWAWAY``) on its own:
what a user adds to ``cdk.json`` in a few lines, a copy of the first development environment's
block under a new name, with the two names an account holds once (its repository prefix and
event bus). Every test parametrized over the environments runs on it too (tests/conftest.py),
so a test that special-cases an environment's name instead of its ``kind`` fails here, not on
the day someone adds ``staging``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import build
from compliance.packs import new_app, read_report
from config.context import read_context
from tools.assembly import stack_templates
from tools.review.guard import run_guard

ROOT = Path(__file__).resolve().parent.parent
_SHIPPED = read_context(ROOT / "cdk.json")


def shipped_context() -> dict[str, Any]:
    """The ``context`` of ``cdk.json``, as a fresh copy a test may change."""
    return copy.deepcopy(_SHIPPED)


def throwaway_name(environments: Iterable[str]) -> str:
    """``staging``, or the first ``stagingN`` no configured environment already has."""
    taken = set(environments)
    return next(name for name in ("staging", *(f"staging{n}" for n in range(2, 99))) if name not in taken)


def with_throwaway(context: dict[str, Any]) -> dict[str, Any]:
    """``context`` plus a third environment added by configuration alone (see the module's doc)."""
    envs = context["outpost"]["environments"]
    source = next(name for name, block in envs.items() if block.get("kind") == "development")
    name = throwaway_name(envs)
    block = copy.deepcopy(envs[source])
    block.setdefault("registry", {})["repository_prefix"] = f"outpost-{name}"
    block.setdefault("data", {})["event_bus_name"] = f"outpost-{name}-events"
    envs[name] = block
    return context


def session_context() -> dict[str, Any]:
    """The environments of the test session: the shipped ones and the throwaway one."""
    return with_throwaway(shipped_context())


THROWAWAY = throwaway_name(_SHIPPED["outpost"]["environments"])


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
    app = new_app(outdir=str(outdir), context=context)
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
    return Synthesized(
        outdir=outdir, error=None, report=read_report(outdir), templates=stack_templates(outdir)
    )


def read_templates(outdir: Path, stage_names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Every stack template of those stages' assemblies in ``outdir``, by ``Dev/Network`` and the like."""
    return stack_templates(outdir, stage_names)
