"""The rate budget (issue 20): docs/capacity.md's tables are the code's, and the chosen design fits.

``tools/rates/budget.py`` holds every call per dispatch and every quota; these tests recompute
the tables from it and hold the chosen design (leased slots) to ``HEADROOM`` at 10x the users.
The per-dispatch revision is kept in the module as the design it replaces: it must stay over,
which is the reason for the change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config.load_model import LoadModel
from permissions.control_plane_policies import POLICIES
from tests.environments import STAGES, is_production
from tests.service_templates import container, statements
from tests.synth import Synthesized
from tools.rates.__main__ import write
from tools.rates.budget import (
    ACCESS_POINTS_PER_FILE_SYSTEM,
    CHOSEN,
    DESIGNS,
    FALLBACK_ACCESS_POINTS,
    HEADROOM,
    POOL_GROWTH_PER_SECOND,
    TD_MODIFY,
    Call,
    Quota,
    access_points,
    budget,
    lease_attempts,
    over_headroom,
    rate,
    slots_needed,
)

PAGE = Path(__file__).resolve().parents[2] / "docs" / "capacity.md"


def test_the_tables_in_capacity_md_are_the_budgets() -> None:
    page = PAGE.read_text()
    assert write(page) == page, "run `python -m tools.rates --write` and commit docs/capacity.md"


def test_the_chosen_design_fits_every_quota_with_headroom_at_10x() -> None:
    rows = budget(DESIGNS[CHOSEN])
    assert over_headroom(rows) == [], [(r.quota.name, f"{r.share_10x:.0%}") for r in over_headroom(rows)]
    typical, worst = access_points(CHOSEN)
    assert worst <= HEADROOM * ACCESS_POINTS_PER_FILE_SYSTEM
    # The pool covers the 10x peak's concurrent dispatches.
    assert typical >= LoadModel().scaled(10).concurrent_dispatches


def test_the_per_dispatch_revision_does_not_fit_task_definition_changes_at_10x() -> None:
    (row,) = [r for r in budget(DESIGNS["per-dispatch revision"]) if r.quota == TD_MODIFY]
    # Register + deregister + delete, 1.85 dispatches a second, against a bucket refilling 1 a second.
    assert row.at_10x == pytest.approx(3 * LoadModel().scaled(10).dispatch_rate)
    assert row.share_10x > 5
    assert row.share_1x > HEADROOM  # already past the headroom at 1x


def test_a_row_past_the_headroom_is_reported() -> None:
    tiny = Quota("tiny", 1, "https://docs.aws.amazon.com/x.html")
    rows = budget([Call("x:Y", "someone", tiny, per_dispatch=1)])
    assert [r.quota for r in over_headroom(rows)] == [tiny]  # 1.85/s against 1/s at 10x


def test_rates_add_the_dispatch_rate_the_running_dispatches_and_the_fixed_load() -> None:
    model = LoadModel()
    call = Call("x:Y", "someone", TD_MODIFY, per_dispatch=2, per_active=0.5, fixed=0.1)
    assert rate(call, model) == pytest.approx(
        2 * model.dispatch_rate + 0.5 * model.concurrent_dispatches + 0.1
    )


@pytest.mark.parametrize("design", sorted(DESIGNS))
def test_every_quota_cites_an_aws_page(design: str) -> None:
    for call in DESIGNS[design]:
        assert call.quota.source.startswith("https://docs.aws.amazon.com/"), call.quota.name
        assert call.quota.per_second > 0


# --- the chosen design is what the templates allow ---------------------------------------------

PRODUCTION = next(stage for stage in STAGES if is_production(stage))


def iam_actions(call: Call) -> list[str]:
    """``ecs:RegisterTaskDefinition + DeregisterTaskDefinition`` or ``dynamodb:GetItem/Query``
    (a note in parentheses after it) as IAM actions."""
    service, _, names = call.action.split(" (")[0].partition(":")
    return [f"{service}:{name.strip()}" for part in names.split("+") for name in part.split("/")]


def control_plane_allows(synthesized: Synthesized) -> list[dict[str, Any]]:
    """The Allow statements of the control plane's task policies, as copies whose ``Action`` and
    ``Resource`` are lists (the session's templates are shared: never change them)."""
    found = []
    for policy in POLICIES:
        for statement in statements(synthesized, PRODUCTION, f"ControlPlane/{policy}"):
            if statement["Effect"] != "Allow":
                continue
            actions, resources = statement["Action"], statement["Resource"]
            found.append(
                {
                    **statement,
                    "Action": [actions] if isinstance(actions, str) else list(actions),
                    "Resource": list(resources) if isinstance(resources, list) else [resources],
                }
            )
    return found


def test_every_control_plane_call_of_the_chosen_design_is_allowed_by_its_policies(
    synthesized: Synthesized,
) -> None:
    allowed = {action for statement in control_plane_allows(synthesized) for action in statement["Action"]}
    calls = [call for call in DESIGNS[CHOSEN] if "control plane" in call.caller]
    assert {"ecs:RunTask", "ecs:RegisterTaskDefinition (pool growth only)"} <= {c.action for c in calls}
    for call in calls:
        assert set(iam_actions(call)) <= allowed, call.action


def test_slots_are_registered_tagged_and_run_as_the_budget_assumes(synthesized: Synthesized) -> None:
    """No task-definition change on the dispatch path: RegisterTaskDefinition into the -slot
    families (pool growth) only with the outpost:slot tag, and RunTask of -slot revisions."""
    assert [c.per_dispatch for c in DESIGNS[CHOSEN] if c.quota == TD_MODIFY] == [0]
    allows = control_plane_allows(synthesized)
    slot_register = [
        s
        for s in allows
        if "ecs:RegisterTaskDefinition" in s["Action"] and any("-slot:*" in str(r) for r in s["Resource"])
    ]
    assert [s["Condition"]["Null"] for s in slot_register] == [{"aws:RequestTag/outpost:slot": "false"}]
    run_slots = [
        s for s in allows if "ecs:RunTask" in s["Action"] and any("-slot:*" in str(r) for r in s["Resource"])
    ]
    assert len(run_slots) == 1
    assert run_slots[0]["Condition"]["Null"] == {"aws:RequestTag/outpost:dispatch": "false"}


def test_the_pool_the_budget_assumes_is_productions(synthesized: Synthesized) -> None:
    """Growth pace, pool size and fallback of the budget are production's settings, as deployed."""
    environment = {
        variable["Name"]: variable["Value"]
        for variable in container(synthesized, PRODUCTION, "ControlPlane")["Environment"]
    }
    assert int(environment["OUTPOST_SLOT_REGISTRATIONS_PER_MINUTE"]) / 60 == POOL_GROWTH_PER_SECOND
    assert int(environment["OUTPOST_SLOT_POOL_SIZE"]) >= slots_needed()
    assert int(environment["OUTPOST_SLOT_FALLBACK_ACCESS_POINTS"]) == FALLBACK_ACCESS_POINTS
    _, worst = access_points(CHOSEN)
    assert worst == slots_needed() + FALLBACK_ACCESS_POINTS <= HEADROOM * ACCESS_POINTS_PER_FILE_SYSTEM


def test_a_lease_costs_more_writes_the_fuller_the_pool() -> None:
    model = LoadModel()
    utilization = model.scaled(10).concurrent_dispatches / slots_needed()
    assert lease_attempts() == pytest.approx(1 / (1 - utilization))
    assert lease_attempts(model, growth=1) < lease_attempts()
