"""The rate budget (issue 20): docs/capacity.md's tables are the code's, and the chosen design fits.

``tools/rates/budget.py`` holds every call per dispatch and every quota; these tests recompute
the tables from it and hold the chosen design (leased slots) to ``HEADROOM`` at 10x the users.
The per-dispatch revision is kept in the module as the design it replaces: it must stay over,
which is the reason for the change.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from config.load_model import LoadModel
from tools.rates.__main__ import write
from tools.rates.budget import (
    ACCESS_POINTS_PER_FILE_SYSTEM,
    CHOSEN,
    DESIGNS,
    HEADROOM,
    TD_MODIFY,
    Call,
    Quota,
    access_points,
    budget,
    over_headroom,
    rate,
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
