"""Session-wide fixtures: one synth of every environment for the whole test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from review import report
from tests.synth import Synthesized, from_assembly, shipped_context, synthesize

ENVIRONMENTS = tuple(shipped_context()["outpost"]["environments"])
STAGES = tuple(name.capitalize() for name in ENVIRONMENTS)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The whole app, once per session: the assembly `make unit` names (``OUTPOST_ASSEMBLY``,
    synthesized by `make synth` and checked by the Control Tower rules), or a fresh synth when
    pytest runs on its own."""
    assembly = os.environ.get("OUTPOST_ASSEMBLY")
    if assembly:
        return from_assembly(Path(assembly))
    return synthesize(Path(tmp_path_factory.mktemp("cdk.out")), guard=True)


@pytest.fixture(scope="session")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("report")


@pytest.fixture(scope="session")
def written(synthesized: Synthesized, report_dir: Path) -> dict[str, report.Review]:
    """The security reviews of the session's synth (``make report``), written into ``report_dir``."""
    return {review.env: review for review, _ in report.write_reports(synthesized.outdir, report_dir)}
