"""Session-wide fixtures: one synth of every environment for the whole test session.

The environments are those of ``cdk.json`` and one throwaway environment added by
configuration (``tests/environments.py``): every test parametrized over ``STAGES`` runs on each.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from review import report
from tests.environments import ENVIRONMENTS, STAGES
from tests.synth import Synthesized, session_context, synthesize

__all__ = ["ENVIRONMENTS", "STAGES"]


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(Path(tmp_path_factory.mktemp("cdk.out")))


@pytest.fixture(scope="session")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("report")


@pytest.fixture(scope="session")
def written(synthesized: Synthesized, report_dir: Path) -> dict[str, report.Review]:
    """The security reviews of the session's synth (``make report``), written into ``report_dir``."""
    written = report.write_reports(synthesized.outdir, report_dir, session_context())
    return {review.env: review for review, _ in written}
