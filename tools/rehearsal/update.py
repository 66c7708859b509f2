"""``python -m tools.rehearsal.update [cdk.out] --from REF``: a change rehearsed as an update.

Every stack is first created from ``REF``'s templates on the emulator, then updated to the
templates of ``cdk.out`` in dependency order, skipping a stack exactly when ``cdk deploy``
would: the CLI's ``canSkipDeploy`` (``node_modules/aws-cdk/lib/index.js``) skips a stack that
exists and whose synthesized template, serialized, equals the one the stack holds (weak
references unresolved, so a consumer of a changed output is skipped), with the same tags,
notification ARNs, termination protection and parameters (a parameter read from SSM counts
as changed unless its description carries ``[cdk:skip]``, as ``BootstrapVersion``'s does).
Tags and termination protection come from the one manifest of ``cdk.out``, so here only the
template decides.

Afterwards every weak reference (``Fn::GetStackOutput``) of every stack must still equal its
producer's current output: a consumer skipped as unchanged while its producer's output
changed fails, naming both ends.

``REF``'s templates come from git, not from a second synth: the snapshots of every stack's
template at ``REF`` (``tests/__snapshots__/test_snapshots/*.json``, ``git show REF:path``).
The snapshots mask 64-hex asset hashes as ``<asset-hash>``; each is put back from the current
template at the same JSON path (so a change of Lambda code alone looks unchanged here; the
bucket holds today's assets, which ``REF``'s functions then run), else the current template's
first hash. A stack without a snapshot at ``REF`` is new: created in the update.
``--from-assembly DIR`` takes ``REF``'s templates from another cloud assembly instead.

Exit 0 when every stack was created, updated or skipped and no reference is stale; 1 when
not; 2 on bad input.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from tools.assembly import Assembly, Stack, read_assembly
from tools.rehearsal import limits
from tools.rehearsal.adapt import attributes
from tools.rehearsal.cdk_bootstrap import ROOT, bootstrap_stack
from tools.rehearsal.deploy import Deployment, Result
from tools.rehearsal.emulator import Emulator, isolate_from_aws, started
from tools.rehearsal.run import SETTINGS, Group, bootstrap, groups, options_from, report

SNAPSHOTS = "tests/__snapshots__/test_snapshots"
MASK = "<asset-hash>"
ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


class BadInputError(ValueError):
    """A git ref or assembly the rehearsal cannot read (exit 2, one line)."""


def snapshot_path(stack: Stack) -> str:
    """Where tests/test_snapshots.py keeps ``stack``'s template (syrupy drops the ``/``)."""
    stage, name = stack.display_name.split("/", 1)
    if stage == "Delivery":
        return f"{SNAPSHOTS}/test_delivery_template_matches_snapshot[{stage}{name}].json"
    return f"{SNAPSHOTS}/test_template_matches_snapshot[{stage}-{name}].json"


def unmask(previous: Any, current: Any, fallback: str) -> Any:
    """``previous`` with each ``<asset-hash>`` put back from ``current`` at the same path."""
    if isinstance(previous, dict):
        mapping = current if isinstance(current, dict) else {}
        return {k: unmask(v, mapping.get(k), fallback) for k, v in previous.items()}
    if isinstance(previous, list):
        items = current if isinstance(current, list) else []
        return [unmask(v, items[i] if i < len(items) else None, fallback) for i, v in enumerate(previous)]
    if isinstance(previous, str) and MASK in previous:
        hashes = ASSET_HASH.findall(current) if isinstance(current, str) else []
        pieces = previous.split(MASK)
        return pieces[0] + "".join(
            (hashes[i] if i < len(hashes) else fallback) + piece for i, piece in enumerate(pieces[1:])
        )
    return previous


def from_git(ref: str, assembly: Assembly, root: Path = ROOT) -> dict[str, dict[str, Any]]:
    """Every stack's template at ``ref`` (display name -> template), from its snapshots."""
    verified = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if verified.returncode != 0:
        raise BadInputError(f"--from {ref}: not a commit of this repository")
    commit = verified.stdout.strip()
    previous = {}
    for stack in assembly.stacks:
        shown = subprocess.run(
            ["git", "show", f"{commit}:{snapshot_path(stack)}"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        if shown.returncode != 0:
            continue  # no snapshot at ref: a stack the change adds
        current = stack.template
        hashes = ASSET_HASH.findall(json.dumps(current))
        previous[stack.display_name] = unmask(
            json.loads(shown.stdout), current, hashes[0] if hashes else "0" * 64
        )
    if not previous:
        raise BadInputError(f"--from {ref}: no template snapshot of any stack ({SNAPSHOTS})")
    return previous


def from_assembly(outdir: Path, assembly: Assembly) -> dict[str, dict[str, Any]]:
    if not (outdir / "manifest.json").exists():
        raise BadInputError(f"--from-assembly {outdir}: no cloud assembly there")
    old = {s.display_name: s.template for s in read_assembly(outdir, assembly.stages).stacks}
    return {
        s.display_name: copy.deepcopy(old[s.display_name]) for s in assembly.stacks if s.display_name in old
    }


def previous_stacks(assembly: Assembly, previous: Mapping[str, dict[str, Any]]) -> list[Stack]:
    """``REF``'s stacks: today's (names, environment, order, roles) with ``REF``'s templates."""
    return [
        replace(s, template=previous[s.display_name]) for s in assembly.stacks if s.display_name in previous
    ]


def stale_references(deployment: Deployment, stacks: Sequence[Stack]) -> list[Result]:
    """Each consumer whose weak reference no longer equals its producer's output, naming both."""
    results = []
    for stack in stacks:
        if deployment.results.get(stack.display_name, Result("", "")).status not in (
            "created",
            "updated",
            "unchanged",
        ):
            continue  # failed or not attempted: reported as such already
        account = deployment.account(stack)
        for (producer, output), value in sorted(deployment.read.get(stack.stack_name, {}).items()):
            account.forget(producer)
            try:
                now: str | None = account.output(producer, output)
            except KeyError:
                now = None
            if now != value:
                what = "no longer has that output" if now is None else f"now outputs {now!r}"
                results.append(
                    Result(
                        stack.display_name,
                        "stale",
                        f"reads output {output} of stack {producer} as {value!r} (resolved when it was last "
                        f"deployed), but {producer} {what}: cdk deploy skipped {stack.display_name} as "
                        "unchanged; deploy it too (--force)",
                    )
                )
    return results


Findings = Mapping[str, list[limits.Finding]]


def changed_stages(stages: Sequence[str], assembly: Assembly, previous: Sequence[Stack]) -> list[str]:
    """The stages with a template that changed, and every stage whose stacks they name (a weak
    reference's producer must be there): the others need no emulator."""
    old = {s.display_name: s.template for s in previous}
    wanted = {
        stage
        for stage in stages
        if any(old.get(s.display_name) != s.template for s in assembly.stages[stage])
    }
    grew = True
    while grew:
        text = json.dumps([s.template for stage in wanted for s in assembly.stages[stage]])
        named = {
            stage
            for stage in stages
            if stage not in wanted and any(f'"{s.stack_name}"' in text for s in assembly.stages[stage])
        }
        wanted |= named
        grew = bool(named)
    return [stage for stage in stages if stage in wanted]


def rehearse_update(
    group: Group,
    assembly: Assembly,
    previous: Sequence[Stack],
    findings: tuple[Findings, Findings],
    emulator: Emulator | None = None,
) -> Group:
    """``findings``: the limits' findings on the previous templates, then on the current ones;
    ``emulator``: a running one to use (tests), else the group starts its own."""
    stages = changed_stages(group.stages, assembly, previous)
    quiet = [stage for stage in group.stages if stage not in stages]
    if quiet:
        # cdk deploy would skip every stack of these: no emulator time spent on them.
        group.notes.append(f"{', '.join(quiet)}: every template as before, nothing to rehearse")
        group.results.extend(Result(s.display_name, "unchanged") for st in quiet for s in assembly.stages[st])
    if not stages:
        return group
    stacks = [s for stage in stages for s in assembly.stages[stage]]
    before = [s for s in previous if s.stage in stages]
    toolkits = [bootstrap_stack(a, r) for a, r in dict.fromkeys(s.environment for s in stacks)]
    with started(emulator, None, attributes(s.template for s in stacks + before + toolkits)) as emulator:
        group.support = emulator.support
        deployment = Deployment(emulator, findings[0])
        if not bootstrap(deployment, toolkits, stacks, group):
            return group
        created = deployment.deploy(before)
        group.notes.append(
            "from the previous templates: "
            + ", ".join(f"{r.stack} {r.status}{' (' + r.detail + ')' if r.detail else ''}" for r in created)
        )
        if any(r.status != "created" for r in created):
            group.results.extend(r for r in created if r.status != "created")
            return group
        deployment.results.clear()
        deployment.skip_as_cli = True
        deployment.findings = findings[1]
        group.results.extend(deployment.deploy(stacks))
        group.results.extend(stale_references(deployment, stacks))
    return group


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.rehearsal.update", description=__doc__)
    parser.add_argument("outdir", nargs="?", default="cdk.out", type=Path)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--from", dest="ref", help="git ref whose template snapshots are the previous templates"
    )
    source.add_argument("--from-assembly", type=Path, help="cloud assembly holding the previous templates")
    parser.add_argument("--env", action="append", help="only this environment (repeatable)")
    parser.add_argument("--settings", type=Path, default=SETTINGS)
    parser.add_argument("--certificate", action="append", default=[], help="another certificate stand-in")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, emulator: Emulator | None = None) -> int:
    """The update rehearsal; ``emulator``: a running one to use (tests), else each group starts its own."""
    args = parse(argv)
    started = time.monotonic()
    isolate_from_aws()
    if not (args.outdir / "manifest.json").exists():
        print(f"rehearse-update: no cloud assembly in {args.outdir} (run make synth)", file=sys.stderr)
        return 2
    assembly = read_assembly(args.outdir, args.env)
    try:
        previous = from_git(args.ref, assembly) if args.ref else from_assembly(args.from_assembly, assembly)
    except BadInputError as err:
        print(f"rehearse-update: {err}", file=sys.stderr)
        return 2
    before = previous_stacks(assembly, previous)
    options = options_from(args.settings, args.certificate)
    findings = (
        limits.by_stack(limits.check(before, options)),
        limits.by_stack(limits.check(assembly.stacks, options)),
    )
    source = args.ref or args.from_assembly
    print(f"previous templates: {len(before)} of {len(assembly.stacks)} stacks ({source})")
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(
            pool.map(lambda g: rehearse_update(g, assembly, before, findings, emulator), groups(assembly))
        )
    return report(done, assembly, options, time.monotonic() - started, verb="updated (or unchanged)")


if __name__ == "__main__":
    sys.exit(main())
