"""``changes.acknowledged`` (config/changes.py): each rule stops synth with one line naming the key."""

from __future__ import annotations

from typing import Any

import pytest

from config import ConfigError, load_environments
from config.changes import Acknowledgement
from tests.environments import of_kind
from tests.synth import shipped_context

PROD = of_kind("production")
GOOD = {
    "stack": "Registry",
    "resource": "ClaudeRepositoryC19BC81E",
    "change": "replace:0123456789ab",
    "reason": "new prefix; CI pushed every image to the new repositories first",
}
KEY = f"outpost.environments.{PROD}.changes.acknowledged"


def load_with(acknowledged: Any) -> Any:
    context = shipped_context()
    context["outpost"]["environments"][PROD]["changes"] = {"acknowledged": acknowledged}
    return {env.name: env for env in load_environments(context.get)}


def test_shipped_acknowledgements_say_why_and_stay_few() -> None:
    """What cdk.json acknowledges is what deploying this code onto the last landed templates
    refuses (docs/changes.md): each names a stack of the stage, a change fingerprint and a reason
    that says what happens to the data; a long list means spent ones were never removed."""
    envs = load_environments(shipped_context().get)
    stacks = {"Audit", "Network", "Data", "Registry", "Alerts", "Service", "Monitoring"}
    for env in envs:
        assert len(env.changes.acknowledged) <= 5, env.name
        for ack in env.changes.acknowledged:
            assert ack.stack in stacks, (env.name, ack)
            assert ack.action in {"replace", "delete", "output"}, (env.name, ack)
            assert len(ack.reason) >= 60, (env.name, ack.reason)
            assert "issue" in ack.reason, (env.name, ack.reason)


def test_an_acknowledgement_is_read() -> None:
    output = {
        "stack": "Network",
        "output": "PublishOutputX",
        "change": "output:abcdefabcdef",
        "reason": GOOD["reason"],
    }
    envs = load_with([GOOD, output])
    assert envs[PROD].changes.acknowledged == (
        Acknowledgement("Registry", "ClaudeRepositoryC19BC81E", "replace:0123456789ab", GOOD["reason"]),
        Acknowledgement("Network", "PublishOutputX", "output:abcdefabcdef", GOOD["reason"]),
    )
    assert envs[PROD].changes.acknowledged[0].action == "replace"


@pytest.mark.parametrize(
    ("value", "key", "rule"),
    [
        ({"stack": "Registry"}, KEY, "must be a list of objects"),
        (["x"], f"{KEY}[0]", "must be an object"),
        ([{**GOOD, "by": "me"}], f"{KEY}[0].by", "is not a known setting"),
        ([{k: v for k, v in GOOD.items() if k != "reason"}], f"{KEY}[0].reason", "is required"),
        ([{**GOOD, "stack": "Prod/Registry"}], f"{KEY}[0].stack", "must be a stack's id in the stage"),
        ([{**GOOD, "change": "replace:xyz"}], f"{KEY}[0].change", "must be the id make changes prints"),
        (
            [{**GOOD, "change": "output:0123456789ab"}],
            f"{KEY}[0].resource",
            "an output: change names an output, not a resource",
        ),
        ([{k: v for k, v in GOOD.items() if k != "resource"}], f"{KEY}[0].resource", "is required"),
        ([{**GOOD, "reason": "ok"}], f"{KEY}[0].reason", "must say why, in at least 20 characters"),
        ([GOOD, GOOD], f"{KEY}[1]", "must not repeat an entry"),
    ],
)
def test_a_bad_acknowledgement_is_one_clear_line(value: Any, key: str, rule: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_with(value)
    assert raised.value.key == key
    assert rule in raised.value.rule
    assert "\n" not in str(raised.value)
