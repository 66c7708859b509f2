"""The two template sets ``make changes`` compares.

**Before** (``FROM``): the snapshots committed at ``FROM`` (tests/__snapshots__/test_snapshots,
every template of every shipped environment as JSON, read with ``git show``), so no second
toolchain or synth of the old code is needed. ``tests/test_snapshots.py`` keeps them equal to
what that commit synthesizes. **After**: the templates ``make synth`` wrote to ``cdk.out``.

What the snapshots mask, and what that means: every 64-hex asset hash reads ``<asset-hash>``
(tests/test_snapshots.py), so the "after" templates are masked the same way before comparing.
A change of Lambda code or any other asset alone is therefore not seen; where an asset hash
sits (a function's ``Code.S3Key``, a custom resource's handler) it is an in-place update, never
a create-only property of a stateful type (``asset_in_create_only`` checks that on the current
templates, so the blind spot cannot hide a replacement).
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SNAPSHOT_DIR = "tests/__snapshots__/test_snapshots"
_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
_SNAPSHOT = re.compile(r"test_(?:delivery_)?template_matches_snapshot\[(?P<name>[^\]]+)\]\.json")


class NoBaselineError(Exception):
    """``FROM`` is not there to compare with (a shallow clone, a first commit, no git): said, not fatal."""


def masked(template: dict[str, Any]) -> dict[str, Any]:
    """``template`` with asset hashes masked exactly as the snapshots mask them."""
    found: dict[str, Any] = json.loads(_ASSET_HASH.sub("<asset-hash>", json.dumps(template)))
    return found


def stack_path(snapshot_name: str) -> str:
    """``Prod-Registry`` -> ``Prod/Registry``; ``DeliveryAccount2222`` -> ``Delivery/Account2222``."""
    if snapshot_name.startswith("Delivery") and "-" not in snapshot_name:
        return f"Delivery/{snapshot_name.removeprefix('Delivery')}"
    stage, _, stack = snapshot_name.partition("-")
    return f"{stage}/{stack}"


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise NoBaselineError("git is not installed") from None
    if done.returncode != 0:
        raise NoBaselineError(
            done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"git {args[0]} failed"
        )
    return done.stdout


def default_from(root: Path) -> str:
    """The merge base with the main branch (``origin/main`` or ``main``), else ``HEAD~1``."""
    for branch in ("origin/main", "main"):
        try:
            base = _git(root, "merge-base", "HEAD", branch).strip()
        except NoBaselineError:
            continue
        head = _git(root, "rev-parse", "HEAD").strip()
        if base and base != head:
            return base
    return "HEAD~1"


def resolve(root: Path, ref: str) -> str:
    """The commit ``ref`` names, or ``NoBaselineError`` saying why there is none."""
    try:
        return _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except NoBaselineError:
        shallow = ""
        try:
            shallow = _git(root, "rev-parse", "--is-shallow-repository").strip()
        except NoBaselineError:
            raise NoBaselineError(f"{root} is not a git work tree") from None
        why = "this clone is shallow" if shallow == "true" else "no such commit in this clone"
        raise NoBaselineError(f"{ref} is not here ({why})") from None


def previous_templates(root: Path, commit: str) -> dict[str, dict[str, Any]]:
    """Every snapshot template at ``commit``, by stack path (``Prod/Registry``). Found by file name
    anywhere under tests/, so a later move of the snapshot folder still reads older commits."""
    listing = _git(root, "ls-tree", "-r", "--name-only", commit, "--", "tests").splitlines()
    found: dict[str, dict[str, Any]] = {}
    for name in listing:
        match = _SNAPSHOT.fullmatch(name.rsplit("/", 1)[-1])
        if match is None:
            continue
        found[stack_path(match["name"])] = json.loads(_git(root, "show", f"{commit}:{name}"))
    if not found:
        raise NoBaselineError(f"{commit[:12]} has no template snapshots under tests/")
    return found


def current_templates(outdir: Path, *, mask: bool = True) -> dict[str, dict[str, Any]]:
    """Every stack template of ``outdir`` (``make synth``'s cdk.out), masked, by stack path."""
    found: dict[str, dict[str, Any]] = {}
    manifest = json.loads((outdir / "manifest.json").read_text())
    for artifact in manifest["artifacts"].values():
        if artifact["type"] != "cdk:cloud-assembly":
            continue
        assembly = outdir / artifact["properties"]["directoryName"]
        nested = json.loads((assembly / "manifest.json").read_text())
        for stack in nested["artifacts"].values():
            if stack["type"] == "aws:cloudformation:stack":
                template = json.loads((assembly / stack["properties"]["templateFile"]).read_text())
                found[stack["displayName"]] = masked(template) if mask else template
    return found


@dataclass(frozen=True)
class StackInfo:
    path: str  # "Prod/Registry"
    stack_name: str  # "Prod-Registry": the CloudFormation stack name
    region: str
    account: str
    dependencies: tuple[str, ...]  # stack paths deployed before it
    assume_role_arn: str | None  # the bootstrap deploy role (``${AWS::Partition}`` unresolved)
    lookup_role_arn: str | None  # the bootstrap lookup role (read-only)


def stack_infos(outdir: Path) -> dict[str, StackInfo]:
    """Each stack's deployment facts from the manifests, by stack path."""
    infos: dict[str, StackInfo] = {}
    manifest = json.loads((outdir / "manifest.json").read_text())
    for artifact in manifest["artifacts"].values():
        if artifact["type"] != "cdk:cloud-assembly":
            continue
        nested = json.loads((outdir / artifact["properties"]["directoryName"] / "manifest.json").read_text())
        by_id = {
            key: value
            for key, value in nested["artifacts"].items()
            if value["type"] == "aws:cloudformation:stack"
        }
        for stack in by_id.values():
            account, _, region = stack["environment"].removeprefix("aws://").partition("/")
            infos[stack["displayName"]] = StackInfo(
                path=stack["displayName"],
                stack_name=stack["properties"].get("stackName", stack["displayName"].replace("/", "-")),
                region=region,
                account=account,
                dependencies=tuple(
                    by_id[dep]["displayName"] for dep in stack.get("dependencies", ()) if dep in by_id
                ),
                assume_role_arn=stack["properties"].get("assumeRoleArn"),
                lookup_role_arn=stack["properties"].get("lookupRole", {}).get("arn"),
            )
    return infos
