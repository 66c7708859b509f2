"""``review.result_cache``: a template is judged again exactly when its bytes, its account and
region, or the rule set change; a kept result reads back as the run said it."""

from __future__ import annotations

import json
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


# --- cfn-lint and checkov (review.scan) -------------------------------------------------


def test_the_scanners_scan_only_templates_they_have_not_scanned(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """cfn-lint and checkov (stood in for: ``scan._run`` answers as they do) see each template's
    bytes once; a kept result reads back as the scanner said it."""
    from tools.assembly import Template
    from tools.review import scan

    monkeypatch.setenv("OUTPOST_SCAN_CACHE", str(tmp_path / "cache"))
    paths = _templates(tmp_path)
    found = [Template("Dev", f"Dev/{p.stem}", p) for p in paths]
    given: list[list[str]] = []

    def fake_run(command: list[str], *, env: dict[str, str] | None = None) -> tuple[int, str, str, float]:
        files = [c for c in command if c.endswith(".json")]
        given.append(files)
        service = [f for f in files if "service" in Path(f).read_text()]
        if "checkov" in command[0]:
            checks = [{"check_id": "CKV_1", "file_path": f, "resource": "service"} for f in files]
            failed = [
                {"check_id": "CKV_2", "check_name": "n", "file_path": f, "resource": "s"} for f in service
            ]
            results = {"passed_checks": checks, "failed_checks": failed, "skipped_checks": []}
            report = {"check_type": "cloudformation", "summary": {"passed": len(checks)}, "results": results}
            return (1 if service else 0), json.dumps(report), "", 0.1
        matches = [
            {
                "Rule": {"Id": "W1"},
                "Level": "Warning",
                "Filename": f,
                "Location": {"Path": ["Resources", "service"]},
            }
            for f in service
        ]
        return (4 if matches else 0), json.dumps(matches), "", 0.1

    monkeypatch.setattr(scan, "_run", fake_run)
    lint = Path("/nonexistent/cfn-lint")
    checkov = Path("/nonexistent/checkov")
    first = (scan.run_cfn_lint(found, binary=lint), scan.run_checkov(found, binary=checkov))
    again = (scan.run_cfn_lint(found, binary=lint), scan.run_checkov(found, binary=checkov))
    assert len(given) == 2  # one run of each; the second time everything came from the cache
    for before, after in zip(first, again, strict=True):
        assert (before.findings, before.skips, before.passed) == (after.findings, after.skips, after.passed)
    assert [f.stack for f in again[0].findings] == ["Dev/Devservice.template"]
    assert (again[1].passed, [f.rule for f in again[1].findings]) == (2, ["CKV_2"])
    paths[0].write_text('{"Resources": {"network": {}, "service": {}}}')
    scan.run_cfn_lint(found, binary=lint)
    scan.run_checkov(found, binary=checkov)
    assert given[2:] == [[str(paths[0])], [str(paths[0])]]
