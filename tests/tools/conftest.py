"""Fixtures of the tools wing's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.synth import Synthesized
from tools.assembly import read_assembly
from tools.rehearsal.adapt import attributes
from tools.rehearsal.cdk_bootstrap import bootstrap_stack
from tools.rehearsal.emulator import Emulator, running


@pytest.fixture(scope="session")
def emulator(
    shipped_synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Emulator]:
    """One emulator for every rehearsal test of the session (each test deploys into an account
    of its own): asked about every ``Fn::GetAtt`` of today's templates and the bootstrap stack's."""
    stacks = read_assembly(shipped_synthesized.outdir).stacks
    toolkit = bootstrap_stack(stacks[0].account, stacks[0].region)
    with running(tmp_path_factory.mktemp("moto"), attributes(s.template for s in [*stacks, toolkit])) as live:
        yield live
