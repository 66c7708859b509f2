"""The figures in docs/loadtest.md and docs/capacity.md are the model's, at 1x and 10x."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.loadtest.model import LoadModel

ROOT = Path(__file__).resolve().parents[3]
LOADTEST = (ROOT / "docs" / "loadtest.md").read_text()
CAPACITY = (ROOT / "docs" / "capacity.md").read_text()


def figures(model: LoadModel) -> list[str]:
    return [
        f"{model.dispatches_per_day:,}",
        f"{model.concurrent_dispatches:,}",
        f"{model.peak_requests_per_window:,.0f}",
        f"{model.peak_requests_per_second * 60:,.0f}",
    ]


@pytest.mark.parametrize("users", [1_000, 10_000])
def test_the_capacity_note_uses_the_models_figures(users: int) -> None:
    for figure in figures(LoadModel(daily_users=users)):
        assert figure in CAPACITY, figure


def test_the_load_test_page_states_the_model_and_its_mix() -> None:
    model = LoadModel()
    for figure in figures(model)[:3]:
        assert figure in LOADTEST, figure
    for operation, rate in model.peak_rates().items():
        assert f"| {operation} |" in LOADTEST
        assert f"| {rate:.3f} |" in LOADTEST, operation


def test_the_readme_links_both_pages() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "(docs/loadtest.md)" in readme
    assert "(docs/capacity.md)" in readme
