"""The GitHub Actions workflows: make targets only, pinned actions, least permissions, keyless deploys.

actionlint (with ShellCheck) checks their syntax and scripts in ``make lint``; these tests check
what it cannot: that CI runs what the README documents and nothing else, and that it
deploys through the Delivery stacks' roles only.
"""

from __future__ import annotations

import itertools
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.synth import ROOT, Synthesized, shipped_context
from tests.templates import SETTINGS

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONS = sorted((ROOT / ".github" / "actions").glob("*/action.yml"))
DELIVERY = shipped_context()["outpost"]["delivery"]
SUMMARY = '>> "$GITHUB_STEP_SUMMARY"'
PRINTING = ("echo", "printf", "head", "cat")


def load(path: Path) -> dict[str, Any]:
    # YAML reads a bare `on:` key as True; GitHub reads it as the trigger.
    document: dict[Any, Any] = yaml.safe_load(path.read_text())
    if True in document:
        document["on"] = document.pop(True)
    return document


def jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path.name, name, job) for path in WORKFLOWS for name, job in load(path)["jobs"].items()]


def steps() -> list[tuple[str, dict[str, Any]]]:
    found = [(f"{w}:{j}", step) for w, j, job in jobs() for step in job.get("steps", [])]
    found += [(str(path.relative_to(ROOT)), step) for path in ACTIONS for step in load(path)["runs"]["steps"]]
    return found


def make_command(script: str) -> tuple[str, list[str]] | None:
    """(target, arguments) of ``make <target> [VAR=value ...] [2>&1 | tee <file>]``; None otherwise."""
    command = re.sub(r"\s+2>&1 \| tee [\w.-]+$", "", script.strip())
    words = shlex.split(command)
    if len(words) < 2 or words[0] != "make" or "\n" in command or re.search(r"[;&|`]|\$\(", command):
        return None
    if not all(re.fullmatch(r"[A-Z_]+=\S*", w) for w in words[2:]):
        return None
    return words[1], words[2:]


def is_summary(script: str) -> bool:
    """A step that only writes the job summary: one ``{ ... } >> "$GITHUB_STEP_SUMMARY"`` group
    whose every command prints (echo, printf, head, cat) and does nothing else."""
    lines = [line.strip() for line in script.strip().splitlines()]
    if len(lines) < 3 or lines[0] != "{" or lines[-1] != "} " + SUMMARY:
        return False
    commands = [part.strip() for line in lines[1:-1] for part in line.split("||")]
    return all(shlex.split(command)[0] in PRINTING for command in commands)


def ci_targets() -> set[str]:
    targets = set()
    for _, step in steps():
        if "run" in step:
            command = make_command(step["run"])
            if command:
                targets.add(command[0])
    return targets


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(title)
    end = text.find("\n#", start + len(title))
    return text[start : end if end != -1 else len(text)]


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), flags=re.MULTILINE))


# --- what CI runs ------------------------------------------------------------------------


def test_every_build_step_is_a_make_target() -> None:
    for where, step in steps():
        if "run" not in step:
            continue
        script = step["run"]
        assert make_command(script) or is_summary(script), (where, script)


def test_ci_runs_the_make_targets_the_readme_documents() -> None:
    documented = set(re.findall(r"`make ([a-z-]+)", readme_section("### What CI runs")))
    assert ci_targets() == documented == {"test", "report", "diff", "deploy"}
    everywhere = set(re.findall(r"make ([a-z-]+)", (ROOT / "README.md").read_text()))
    assert documented <= everywhere & makefile_targets()


def test_make_lint_runs_actionlint_on_every_workflow() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "WORKFLOWS := $(wildcard .github/workflows/*.yml)" in makefile
    lint = makefile[makefile.index("\nlint:") :].split("\n\n")[0]
    assert "$(VENV)/bin/actionlint -shellcheck $(VENV)/bin/shellcheck -pyflakes= $(WORKFLOWS)" in lint
    assert re.search(r"^actionlint-\S+==[\d.]+$", (ROOT / "requirements-dev.txt").read_text(), re.MULTILINE)
    assert WORKFLOWS


# --- pinned actions, least permissions, no secrets -----------------------------------------


def test_every_action_is_pinned_by_commit_with_its_release_beside_it() -> None:
    for path in [*WORKFLOWS, *ACTIONS]:
        for line in path.read_text().splitlines():
            match = re.search(r"\buses: (\S+)(.*)$", line)
            if match is None or match[1].startswith("./"):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", match[1]), (path.name, line)
            assert re.fullmatch(r" # v\d+\.\d+\.\d+", match[2]), (path.name, line)


def test_workflows_grant_nothing_by_default() -> None:
    for path in WORKFLOWS:
        assert load(path)["permissions"] == {}, path.name


def test_each_job_asks_for_the_least_it_needs() -> None:
    for workflow, name, job in jobs():
        permissions = job["permissions"]
        assumes_a_role = (
            any(
                str(step.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")
                for step in job.get("steps", [])
            )
            or job.get("uses") == "./.github/workflows/deploy-environment.yml"
        )
        expected = {"contents": "read", "id-token": "write"} if assumes_a_role else {"contents": "read"}
        assert permissions == expected, (workflow, name)


def test_no_secret_and_no_access_key_only_role_arns() -> None:
    for path in [*WORKFLOWS, *ACTIONS]:
        text = path.read_text()
        assert "secrets." not in text, path.name
        assert "aws-access-key-id" not in text, path.name
        assert "aws-secret-access-key" not in text, path.name
    for where, step in steps():
        if str(step.get("uses", "")).startswith("aws-actions/configure-aws-credentials@"):
            role = step["with"]["role-to-assume"]
            assert role in ("${{ vars.OUTPOST_DEPLOY_ROLE_ARN }}", "${{ env.ROLE_ARN }}"), where


# --- deploys -----------------------------------------------------------------------------


def test_environments_deploy_in_order_each_behind_its_environment_and_never_overlapping() -> None:
    deploy = load(ROOT / ".github" / "workflows" / "deploy.yml")
    assert deploy["on"] == {"push": {"branches": ["main"]}}
    callers = {name: job for name, job in deploy["jobs"].items() if "uses" in job}
    assert [job["with"]["environment"] for job in callers.values()] == list(DELIVERY["environments"])
    # One after the other, in the order of outpost.delivery.environments, after the tests.
    order = ["test", *DELIVERY["environments"]]
    for before, name in itertools.pairwise(order):
        assert callers[name]["needs"] == before
    for name, job in callers.items():
        assert job["with"]["region"] == SETTINGS[name]["region"]
    (called,) = load(ROOT / ".github" / "workflows" / "deploy-environment.yml")["jobs"].values()
    assert called["environment"] == "${{ inputs.environment }}"
    assert called["concurrency"] == {
        "group": "outpost-deploy-${{ inputs.environment }}",
        "cancel-in-progress": False,
    }
    (step,) = [s for s in called["steps"] if "run" in s]
    assert make_command(step["run"]) == ("deploy", ["ENV=$OUTPOST_ENV", "REQUIRE_APPROVAL=never"])
    # bootstrap: true deploys only when the GitHub environment's variable names the environment
    # (make deploy reads CONFIRM_BOOTSTRAP; config/bootstrap.py).
    assert step["env"]["CONFIRM_BOOTSTRAP"] == "${{ vars.OUTPOST_CONFIRM_BOOTSTRAP }}"


def test_pull_requests_diff_every_delivered_environment_through_its_diff_role() -> None:
    workflow = load(ROOT / ".github" / "workflows" / "pull-request.yml")
    diff = workflow["jobs"]["diff"]
    matrix = diff["strategy"]["matrix"]["include"]
    assert [m["environment"] for m in matrix] == list(DELIVERY["environments"])
    for entry in matrix:
        assert entry["region"] == SETTINGS[entry["environment"]]["region"]
        assert entry["role-variable"] == f"OUTPOST_{entry['environment'].upper()}_DIFF_ROLE_ARN"
    (run,) = [s["run"] for s in diff["steps"] if "run" in s and make_command(s["run"])]
    assert make_command(run) == ("diff", ["ENV=$OUTPOST_ENV", "DIFF_METHOD=template"])
    # No environment: a job in one would get an environment subject, which no diff role trusts.
    assert "environment" not in diff


@pytest.mark.parametrize("env", DELIVERY["environments"])
def test_the_role_variables_are_the_delivery_stack_outputs(synthesized: Synthesized, env: str) -> None:
    outputs = synthesized.template(f"Delivery/Account{SETTINGS[env]['account']}")["Outputs"]
    label = env.capitalize()
    assert "variable OUTPOST_DEPLOY_ROLE_ARN" in outputs[f"{label}DeployRoleArn"]["Description"]
    assert f"OUTPOST_{env.upper()}_DIFF_ROLE_ARN" in outputs[f"{label}DiffRoleArn"]["Description"]
