"""Session-wide fixtures: one synth of cdk.json's environments, one of a throwaway third one.

``synthesized`` (and ``written``, the security reviews) is the synth that holds the test's
environment: a test parametrized over ``STAGES`` or ``ENVIRONMENTS`` (tests/environments.py)
runs once per environment of ``cdk.json`` against the shipped synth, and once more against the
throwaway environment's own synth (tests/synth.py); any other test gets the shipped synth.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.environments import ENVIRONMENTS, STAGES, THROWAWAY, config_of
from tests.synth import Synthesized, from_assembly, session_context, synthesize
from tools.review import report

__all__ = ["ENVIRONMENTS", "STAGES"]


@pytest.fixture(scope="session")
def shipped_synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The whole app, once per session: the assembly `make unit` names (``OUTPOST_ASSEMBLY``,
    synthesized by `make synth` and checked by the Control Tower rules), or a fresh synth when
    pytest runs on its own."""
    assembly = os.environ.get("OUTPOST_ASSEMBLY")
    if assembly:
        return from_assembly(Path(assembly))
    return synthesize(Path(tmp_path_factory.mktemp("cdk.out")), guard=True)


@pytest.fixture(scope="session")
def throwaway_synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The throwaway environment alone (``-c outpost:only=<it>``), Control Tower rules included:
    what ``make synth`` would write for it once it is in ``cdk.json``."""
    (name,) = THROWAWAY
    context = {**session_context(), "outpost:only": name}
    return synthesize(Path(tmp_path_factory.mktemp("cdk.out.throwaway")), context, guard=True)


def _for_throwaway(request: pytest.FixtureRequest) -> bool:
    """The test is parametrized with the throwaway environment (as ``stage`` or ``env``)."""
    callspec = getattr(request.node, "callspec", None)
    params = callspec.params if callspec is not None else {}
    for key in ("stage", "env"):
        value = params.get(key)
        if (value in STAGES and config_of(value).name in THROWAWAY) or value in THROWAWAY:
            return True
    return False


@pytest.fixture
def synthesized(request: pytest.FixtureRequest) -> Synthesized:
    """The synth that holds this test's environment (see the module's doc)."""
    name = "throwaway_synthesized" if _for_throwaway(request) else "shipped_synthesized"
    found: Synthesized = request.getfixturevalue(name)
    return found


@pytest.fixture(scope="session")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("report")


@pytest.fixture(scope="session")
def shipped_written(shipped_synthesized: Synthesized, report_dir: Path) -> dict[str, report.Review]:
    """The security reviews of the shipped synth (``make report``), written into ``report_dir``."""
    return {review.env: review for review, _ in report.write_reports(shipped_synthesized.outdir, report_dir)}


@pytest.fixture(scope="session")
def throwaway_written(throwaway_synthesized: Synthesized, report_dir: Path) -> dict[str, report.Review]:
    written = report.write_reports(throwaway_synthesized.outdir, report_dir, session_context())
    return {review.env: review for review, _ in written}


@pytest.fixture
def written(request: pytest.FixtureRequest) -> dict[str, report.Review]:
    """The reviews of the synth that holds this test's environment."""
    name = "throwaway_written" if _for_throwaway(request) else "shipped_written"
    found: dict[str, report.Review] = request.getfixturevalue(name)
    return found


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Coverage is measured for the app wing and the Lambda handlers only (pyproject.toml), and
    tests/app exercises them: the tools wing's tests run untraced (pytest-cov's ``no_cover``),
    which spares ``make unit`` most of the tracer's cost without changing what the floors read."""
    tools = Path(__file__).parent / "tools"
    for item in items:
        if tools in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.no_cover)
