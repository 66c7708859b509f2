"""Every template, as JSON, against its reviewed snapshot (``make update-snapshots``)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import STAGES
from tests.synth import Synthesized

STACKS = ("Audit", "Network", "Data", "Registry", "Service", "Monitoring")
_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def masked(template: dict[str, Any]) -> Any:
    """The template with asset hashes replaced, so a rebuilt asset is not drift."""
    return json.loads(_ASSET_HASH.sub("<asset-hash>", json.dumps(template)))


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("stage", STAGES)
def test_template_matches_snapshot(
    synthesized: Synthesized, snapshot_json: SnapshotAssertion, stage: str, stack: str
) -> None:
    assert masked(synthesized.template(f"{stage}/{stack}")) == snapshot_json


def test_every_stack_has_a_snapshot(synthesized: Synthesized) -> None:
    assert sorted(synthesized.templates) == sorted(f"{s}/{k}" for s in STAGES for k in STACKS)
