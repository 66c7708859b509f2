"""``review.result_cache``: a template is judged again exactly when its bytes, its account and
region, or the rule set change; a kept result reads back as the run said it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tools.review.result_cache import Judged, cache_dir, per_template


def _templates(tmp_path: Path) -> list[Path]:
    paths = []
    for name in ("network", "service"):
        path = tmp_path / "cdk.out" / f"Dev{name}.template.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f'{{"Resources": {{"{name}": {{}}}}}}')
        paths.append(path)
    return paths


class Rules:
    """A rule set that flags every template holding a ``service``, and counts what it judged."""

    def __init__(self) -> None:
        self.judged: list[str] = []

    def __call__(self, templates: Sequence[Path]) -> Mapping[str, Any]:
        self.judged += [t.name for t in templates]
        flagged = [t for t in templates if "service" in t.read_text()]
        resources = [
            {"resourceLogicalId": "service", "templatePath": str(t), "locations": []} for t in flagged
        ]
        violation = {"ruleName": "R1", "description": "d", "violatingResources": resources}
        return {"success": not flagged, "violations": [violation] if flagged else []}


def judge(templates: list[Path], rules: Rules, cache: Path, *, name: str = "rules v1", env: str = "") -> Any:
    judged = Judged(templates, rules=name, extra=lambda _: env, directory=cache)
    if judged.missing:
        judged.add(rules(judged.missing))
    return judged.result()


def test_only_what_changed_is_judged_again(tmp_path: Path) -> None:
    templates, rules, cache = _templates(tmp_path), Rules(), tmp_path / "cache"
    first = judge(templates, rules, cache)
    assert rules.judged == ["Devnetwork.template.json", "Devservice.template.json"]
    assert judge(templates, rules, cache) == first  # nothing judged, the same result
    assert len(rules.judged) == 2
    templates[0].write_text('{"Resources": {"network": {}, "service": {}}}')
    changed = judge(templates, rules, cache)
    assert rules.judged[2:] == ["Devnetwork.template.json"]
    assert [v["violatingResources"][0]["templatePath"] for v in changed["violations"]] == [
        str(t.resolve()) for t in templates
    ]
    judge(templates, rules, cache, name="rules v2")
    judge(templates, rules, cache, name="rules v2", env="aws://222222222222/us-east-1")
    assert len(rules.judged) == 7  # a new rule set, then a new account: both judged again


def test_a_kept_result_names_the_template_where_it_is_now(tmp_path: Path) -> None:
    templates, rules, cache = _templates(tmp_path), Rules(), tmp_path / "cache"
    judge(templates, rules, cache)
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    copies = [moved / t.name for t in templates]
    for template, copy in zip(templates, copies, strict=True):
        copy.write_bytes(template.read_bytes())
    [violation] = judge(copies, rules, cache)["violations"]
    assert violation["violatingResources"][0]["templatePath"] == str(copies[1].resolve())
    assert len(rules.judged) == 2


def test_a_violation_over_several_templates_is_split_per_template(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    violation = {
        "ruleName": "R",
        "violatingResources": [
            {"resourceLogicalId": "X", "templatePath": str(a)},
            {"resourceLogicalId": "Y", "templatePath": str(b)},
        ],
    }
    split = per_template([violation])
    assert {
        k: [r["resourceLogicalId"] for v in vs for r in v["violatingResources"]] for k, vs in split.items()
    } == {
        str(a.resolve()): ["X"],
        str(b.resolve()): ["Y"],
    }


def test_the_cache_can_be_moved_or_turned_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OUTPOST_SCAN_CACHE", "off")
    assert cache_dir() is None
    templates, rules = _templates(tmp_path), Rules()
    for _ in range(2):
        judged = Judged(templates, rules="r")
        assert judged.missing == templates
        judged.add(rules(judged.missing))
    monkeypatch.setenv("OUTPOST_SCAN_CACHE", str(tmp_path / "moved"))
    assert cache_dir() == tmp_path / "moved"
