"""The synth benchmark's own arithmetic (tests/benchmark/synth_ratio.py): what it counts as an
app's size and how it takes the fixed cost out. The synths themselves are not run here."""

from __future__ import annotations

import json
from pathlib import Path

from tests.benchmark.synth_ratio import marginal, resources


def test_resources_counts_every_template_of_the_nested_stages(tmp_path: Path) -> None:
    (tmp_path / "assembly-Dev").mkdir()
    (tmp_path / "Top.template.json").write_text(json.dumps({"Resources": {"A": {}, "B": {}}}))
    (tmp_path / "assembly-Dev" / "DevNetwork.template.json").write_text(json.dumps({"Resources": {"C": {}}}))
    (tmp_path / "assembly-Dev" / "DevEmpty.template.json").write_text(json.dumps({"Rules": {}}))
    (tmp_path / "manifest.json").write_text(json.dumps({"Resources": {"not": "a template"}}))
    assert resources(tmp_path) == 3


def test_marginal_takes_the_empty_apps_median_off_before_dividing() -> None:
    runs = {
        "empty app": [(0.0, 1.0), (0.0, 2.0), (0.0, 9.0)],  # median 2.0: one slow run does not count
        "this app": [(0.0, 8.0), (0.0, 8.0), (0.0, 1.0)],  # median 8.0
        "stock app": [(0.0, 3.0)],
    }
    line = marginal(runs, {"this app": 600, "stock app": 100})
    assert line == (
        "CPU beyond the fixed 2.00 s, per resource: this app 10.0 ms (600 resources), "
        "stock app 10.0 ms (100 resources), ratio 1.00x"
    )
