"""The rehearsal from end to end: limits, emulators, bootstrap, assets, stacks, the report."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tools.assembly import Assembly, Stack, read_assembly
from tools.rehearsal import limits
from tools.rehearsal.adapt import WORKAROUNDS, attributes, coverage
from tools.rehearsal.cdk_bootstrap import bootstrap_stack, publish
from tools.rehearsal.deploy import Deployment, Result
from tools.rehearsal.emulator import Emulator, Support, isolate_from_aws, started

SETTINGS = Path(__file__).resolve().parent / "settings.json"


@dataclass
class Group:
    """Environments that share an account and Region share one emulator (and run in order)."""

    stages: list[str]
    results: list[Result] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    support: Support = field(default_factory=Support)


def bootstrap(
    deployment: Deployment, toolkits: Sequence[Stack], stacks: Sequence[Stack], group: Group
) -> bool:
    """Each account's ``CDKToolkit`` deployed and the file assets of its stacks published, as
    ``cdk deploy`` needs them; False (with the failed result in ``group``) when a toolkit was
    not created. The create, update and recreate rehearsals all start this way."""
    for toolkit in toolkits:
        [result] = deployment.deploy([toolkit], push_images=False)
        if result.status != "created":
            group.results.append(result)
            return False
        here = [s for s in stacks if s.environment == toolkit.environment]
        count = publish(
            deployment.account(here[0] if here else toolkit).client("s3"), [a for s in here for a in s.assets]
        )
        group.notes.append(
            f"bootstrapped {'/'.join(toolkit.environment)} (CDKToolkit), published {count} file assets"
        )
    return True


def groups(assembly: Assembly) -> list[Group]:
    merged: list[tuple[set[tuple[str, str]], list[str]]] = []
    for stage, stacks in assembly.stages.items():
        places = {s.environment for s in stacks}
        overlapping = [g for g in merged if g[0] & places]
        for g in overlapping:
            merged.remove(g)
            places |= g[0]
        merged.append((places, [s for g in overlapping for s in g[1]] + [stage]))
    return [Group(stages) for _, stages in merged]


def rehearse_group(
    group: Group,
    assembly: Assembly,
    findings: dict[str, list[limits.Finding]],
    first: Assembly | None,
    log_dir: Path | None,
    emulator: Emulator | None = None,
) -> Group:
    stacks = [s for stage in group.stages for s in assembly.stages[stage]]
    toolkits = [bootstrap_stack(a, r) for a, r in dict.fromkeys(s.environment for s in stacks)]
    templates = [s.template for s in stacks + toolkits + (first.stacks if first else [])]
    with started(emulator, log_dir, attributes(templates)) as emulator:
        group.support = emulator.support
        deployment = Deployment(emulator, findings)
        if not bootstrap(deployment, toolkits, stacks, group):
            return group
        if first is not None:
            initial = [s for stage in group.stages for s in first.stages.get(stage, [])]
            for result in deployment.deploy(initial, push_images=False):
                group.notes.append(
                    f"first deploy (bootstrap: true): {result.stack} {result.status} {result.detail}".rstrip()
                )
            deployment.results.clear()
        group.results.extend(deployment.deploy(stacks))
        if deployment.pushed:
            group.notes.append(f"pushed {len(deployment.pushed)} images: {', '.join(deployment.pushed)}")
    return group


def report(
    groups_done: Sequence[Group],
    assembly: Assembly,
    options: limits.Options,
    seconds: float,
    *,
    verb: str = "created",
) -> int:
    width = max((len(r.stack) for g in groups_done for r in g.results), default=10) + 2
    failed = 0
    for group in groups_done:
        for note in group.notes:
            print(f"  {note}")
        for result in group.results:
            print(f"{result.stack:<{width}}{result.status}{': ' + result.detail if result.detail else ''}")
            failed += result.status not in ("created", "updated", "unchanged")
    support = groups_done[0].support if groups_done else Support()
    kinds = coverage(
        (r["Type"] for s in assembly.stacks for r in s.template.get("Resources", {}).values()), support
    )
    print("\nWhat the emulator does not model (so this is not AWS):")
    print(f"  skipped, not created at all (no moto model): {', '.join(kinds.skipped) or 'none'}")
    print(f"  answered by the rehearsal, their Lambda never runs: {', '.join(kinds.answered) or 'none'}")
    print(
        "  stored only, no behaviour (no policy evaluated, no key or bucket policy enforced, no task run, "
        f"no traffic): {', '.join(kinds.stored)}"
    )
    print("  workarounds for the emulator's own defects:")
    for workaround in WORKAROUNDS:
        print(f"    - {workaround}")
    print(
        f"  assumed: certificates that exist = tools/rehearsal/settings.json ({len(options.certificates)}); "
        f"Lambda concurrency quota {options.lambda_concurrency_quota:,} per account and Region"
    )
    stacks = sum(len(g.results) for g in groups_done)
    print(f"\n{stacks - failed} of {stacks} stacks {verb}, {failed} not ({seconds:.1f} s)")
    return 1 if failed else 0


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.rehearsal", description=__doc__)
    parser.add_argument("outdir", nargs="?", default="cdk.out", type=Path)
    parser.add_argument("--env", action="append", help="only this environment (repeatable)")
    parser.add_argument("--first-deploy", type=Path, help="cloud assembly synthesized with bootstrap: true")
    parser.add_argument("--settings", type=Path, default=SETTINGS)
    parser.add_argument("--certificate", action="append", default=[], help="another certificate stand-in")
    parser.add_argument("--lambda-concurrency-quota", type=int)
    parser.add_argument("--log-dir", type=Path, help="where the emulator's log goes (default: a temp dir)")
    return parser.parse_args(argv)


def options_from(path: Path, certificates: Sequence[str] = (), quota: int | None = None) -> limits.Options:
    """What the rehearsal assumes of the accounts: ``settings.json`` and the command line."""
    settings = json.loads(path.read_text())
    return limits.Options(
        certificates=frozenset([*settings.get("certificates", []), *certificates]),
        lambda_concurrency_quota=quota or int(settings.get("lambda_concurrency_quota", 1000)),
    )


def main(argv: Sequence[str] | None = None, emulator: Emulator | None = None) -> int:
    """The rehearsal; ``emulator``: a running one to use (tests), else each group starts its own."""
    args = parse(argv)
    started = time.monotonic()
    isolate_from_aws()
    options = options_from(args.settings, args.certificate, args.lambda_concurrency_quota)
    if not (args.outdir / "manifest.json").exists():
        print(f"rehearsal: no cloud assembly in {args.outdir} (run make synth)", file=sys.stderr)
        return 2
    assembly = read_assembly(args.outdir, args.env)
    if not assembly.stacks:
        print(f"rehearsal: no stack of {args.env} in {args.outdir}", file=sys.stderr)
        return 2
    first = read_assembly(args.first_deploy, args.env) if args.first_deploy else None
    findings = limits.by_stack(limits.check(assembly.stacks + (first.stacks if first else []), options))
    todo = groups(assembly)
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(
            pool.map(lambda g: rehearse_group(g, assembly, findings, first, args.log_dir, emulator), todo)
        )
    return report(done, assembly, options, time.monotonic() - started)
