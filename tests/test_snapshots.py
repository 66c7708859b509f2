"""Every template of the shipped environments, as JSON, against its reviewed snapshot.

The throwaway environment the session adds (``tests/synth.py``) has none: it is checked by
every other test, and adding an environment to ``cdk.json`` only adds its snapshots.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.environments import SHIPPED_STAGES
from tests.synth import Synthesized, shipped_context
from tests.templates import SETTINGS

STACKS = ("Audit", "Network", "Data", "Registry", "Alerts", "Service", "Monitoring")
# One Delivery stack per account of a delivered environment (stacks/delivery_stack.py).
DELIVERY_STACKS = tuple(
    sorted(
        {
            f"Delivery/Account{SETTINGS[env]['account']}"
            for env in shipped_context()["outpost"]["delivery"]["environments"]
        }
    )
)
_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def masked(template: dict[str, Any]) -> Any:
    """The template with asset hashes replaced, so a rebuilt asset is not drift."""
    return json.loads(_ASSET_HASH.sub("<asset-hash>", json.dumps(template)))


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("stage", SHIPPED_STAGES)
def test_template_matches_snapshot(
    synthesized: Synthesized, snapshot_json: SnapshotAssertion, stage: str, stack: str
) -> None:
    assert masked(synthesized.template(f"{stage}/{stack}")) == snapshot_json


@pytest.mark.parametrize("stack", DELIVERY_STACKS)
def test_delivery_template_matches_snapshot(
    synthesized: Synthesized, snapshot_json: SnapshotAssertion, stack: str
) -> None:
    assert masked(synthesized.template(stack)) == snapshot_json


def test_every_stack_has_a_snapshot(synthesized: Synthesized) -> None:
    expected = [f"{s}/{k}" for s in SHIPPED_STAGES for k in STACKS] + list(DELIVERY_STACKS)
    shipped = [path for path in synthesized.templates if path.split("/")[0] in (*SHIPPED_STAGES, "Delivery")]
    assert sorted(shipped) == sorted(expected)
