"""`make changes FROM=<ref>` end to end on a throwaway git repository: the "before" templates are the
snapshots committed at FROM (read with git), the "after" ones a cloud assembly on disk.

The assembly is the session's synth, copied and edited as a setting's change would edit it, so
no second synth runs; each commit carries the snapshots of its assembly, as a real commit does.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.registry import IMAGES
from tests.environments import CONFIGS, of_kind
from tests.synth import ROOT, Synthesized
from tools.changes.__main__ import main
from tools.changes.sources import SNAPSHOT_DIR, current_templates

PROD = CONFIGS[of_kind("production")]


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def snapshot_name(path: str) -> str:
    stage, stack = path.split("/")
    if stage == "Delivery":
        return f"test_delivery_template_matches_snapshot[{stage}{stack}].json"
    return f"test_template_matches_snapshot[{stage}-{stack}].json"


def commit(root: Path, message: str) -> None:
    """Commit the assembly's templates as the snapshots (what `make update-snapshots` writes)."""
    snapshots = root / SNAPSHOT_DIR
    shutil.rmtree(snapshots, ignore_errors=True)
    snapshots.mkdir(parents=True)
    for path, template in current_templates(root / "cdk.out").items():
        (snapshots / snapshot_name(path)).write_text(json.dumps(template, indent=2))
    git(root, "add", "-A", "cdk.json", SNAPSHOT_DIR)
    git(root, "commit", "-q", "-m", message)


def edit_registry(root: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Edit each ECR repository of prod's Registry template in the assembly."""
    assembly = root / "cdk.out" / f"assembly-{PROD.stage_name}"
    manifest = json.loads((assembly / "manifest.json").read_text())
    (registry,) = [
        a for a in manifest["artifacts"].values() if a.get("displayName") == f"{PROD.stage_name}/Registry"
    ]
    file = assembly / registry["properties"]["templateFile"]
    template = json.loads(file.read_text())
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::ECR::Repository":
            edit(resource["Properties"])
    file.write_text(json.dumps(template))


@pytest.fixture
def repo(tmp_path: Path, shipped_synthesized: Synthesized) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(ROOT / "cdk.json", root / "cdk.json")
    shutil.copytree(
        shipped_synthesized.outdir,
        root / "cdk.out",
        ignore=lambda directory, names: [n for n in names if n.startswith("asset.") or n.endswith(".html")],
    )
    git(root, "init", "-q", "-b", "main")
    commit(root, "first")
    return root


def test_no_previous_commit_is_said_and_passes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(repo), str(repo / "cdk.out"), "--from", "HEAD~1"]) == 0
    assert (
        "nothing to compare with: HEAD~1 is not here (no such commit in this clone); passing"
        in capsys.readouterr().out
    )


def test_a_shallow_clone_is_said_and_passes(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit_more = repo / "cdk.json"
    commit_more.write_text(commit_more.read_text() + "\n")
    commit(repo, "second")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(clone)], check=True, capture_output=True
    )
    assert main(["--root", str(clone), str(repo / "cdk.out"), "--from", "HEAD~1"]) == 0
    assert "this clone is shallow" in capsys.readouterr().out


def test_one_more_tagged_image_passes_and_a_new_prefix_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keep = PROD.registry.keep_tagged_images

    def keep_one_more(properties: dict[str, Any]) -> None:
        text = properties["LifecyclePolicy"]["LifecyclePolicyText"]
        properties["LifecyclePolicy"]["LifecyclePolicyText"] = text.replace(
            f'"countNumber":{keep}}}', f'"countNumber":{keep + 1}}}'
        )

    edit_registry(repo, keep_one_more)
    commit(repo, "keep one more tagged image in prod")
    assert main(["--root", str(repo), str(repo / "cdk.out"), "--from", "HEAD~1"]) == 0
    out = capsys.readouterr().out
    assert f"{PROD.name}: 0 replace, 0 delete, 0 add, {len(IMAGES)} update; 0 output change(s)" in out

    def new_prefix(properties: dict[str, Any]) -> None:
        properties["RepositoryName"] = properties["RepositoryName"].replace(
            PROD.registry.repository_prefix, "outpost-new"
        )

    edit_registry(repo, new_prefix)
    commit(repo, "a new repository prefix in prod")
    assert main(["--root", str(repo), str(repo / "cdk.out"), "--from", "HEAD~1"]) == 1
    refused = [line for line in capsys.readouterr().err.splitlines() if ": refused " in line]
    assert len(refused) == len(IMAGES)
    assert all(
        "AWS::ECR::Repository (repository): replace forced by RepositoryName" in line for line in refused
    )
    named = sorted(line.split(" -> ")[1].split(" ")[0] for line in refused)
    assert named == sorted(f"outpost-new/{image}" for image in IMAGES)


def test_make_test_and_ci_run_make_changes_against_the_right_commit() -> None:
    """`make test` checks against HEAD~1 unless told FROM; a pull request against its base, a
    push to main against main before it, each with the history to read them."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile[makefile.index("\ntest:") :].split("\n\n")[0]
    assert "changes FROM='$(or $(FROM),HEAD~1)'" in recipe
    for workflow, variable, source in (
        ("pull-request.yml", "BASE_SHA", "${{ github.event.pull_request.base.sha }}"),
        ("deploy.yml", "BEFORE", "${{ github.event.before }}"),
    ):
        steps = yaml.safe_load((ROOT / ".github" / "workflows" / workflow).read_text())["jobs"]["test"][
            "steps"
        ]
        (checkout,) = [s for s in steps if str(s.get("uses", "")).startswith("actions/checkout@")]
        assert checkout["with"]["fetch-depth"] == 0
        (test,) = [s for s in steps if str(s.get("run", "")).startswith("make test")]
        assert test["run"] == f'make test FROM="${variable}"'
        assert test["env"] == {variable: source}


def test_no_git_work_tree_is_said_and_passes(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "tarball"
    plain.mkdir()
    shutil.copy(repo / "cdk.json", plain / "cdk.json")
    assert main(["--root", str(plain), str(repo / "cdk.out"), "--from", "HEAD~1"]) == 0
    assert "is not a git work tree; passing" in capsys.readouterr().out
