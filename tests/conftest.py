"""Session-wide fixtures: one synth of every environment for the whole test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.synth import Synthesized, shipped_context, synthesize

ENVIRONMENTS = tuple(shipped_context()["outpost"]["environments"])
STAGES = tuple(name.capitalize() for name in ENVIRONMENTS)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(Path(tmp_path_factory.mktemp("cdk.out")))
