"""The command line of ``python -m tools.paths`` (see ``__main__``)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from config.context import read_context
from tools.paths.check import Checker, Outcome, UnboundError
from tools.paths.docs import render
from tools.paths.model import ModelError, environments
from tools.paths.names import Names
from tools.rehearsal.physical_names import UnknownReferenceError
from tools.rehearsal.resolve import UnresolvableError


def repository_of(cdk_json: Path) -> str:
    """The GitHub repository the CI roles trust (``outpost.delivery.repository``)."""
    delivery = read_context(cdk_json).get("outpost", {}).get("delivery") or {}
    return str(delivery.get("repository", "example-org/unknown"))


def check(
    outdir: Path, *, repository: str, only: Sequence[str] = (), notes: list[str] | None = None
) -> list[Outcome]:
    """Every path of every environment of ``outdir`` (raises ``ModelError``, ``UnboundError``);
    ``notes`` collects the interface endpoints no declared path uses (each costs per hour and AZ)."""
    outcomes: list[Outcome] = []
    for env in environments(outdir, only):
        mine = list(Checker(env, Names(env, repository=repository)).outcomes())
        outcomes += mine
        used = {o.network.route.split(" ", 1)[0] for o in mine if "interface endpoint" in o.network.route}
        for service in sorted(set(env.interface_endpoints) - used):
            if notes is not None:
                notes.append(f"note {env.stage}: the {service} interface endpoint serves no declared path")
    return outcomes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.paths", description=__doc__)
    parser.add_argument("outdir", nargs="?", default="cdk.out", type=Path)
    parser.add_argument("--env", action="append", default=[], help="only this stage (repeatable)")
    parser.add_argument("--cdk-json", default=Path("cdk.json"), type=Path)
    parser.add_argument("--docs", type=Path, help="write the page of the declared table here")
    parser.add_argument("--check-docs", type=Path, help="fail if this page differs from the table")
    args = parser.parse_args(argv)
    if args.docs:
        args.docs.write_text(render())
        print(f"wrote {args.docs}")
        return 0
    if args.check_docs and args.check_docs.read_text() != render():
        print(f"{args.check_docs} differs from the path table: run python -m tools.paths --docs it")
        return 1
    try:
        notes: list[str] = []
        outcomes = check(args.outdir, repository=repository_of(args.cdk_json), only=args.env, notes=notes)
    except (ModelError, UnboundError, FileNotFoundError, UnknownReferenceError, UnresolvableError) as error:
        print(f"paths: {error}")
        return 2
    for outcome in outcomes:
        print(outcome.line())
    for note in notes:
        print(note)
    failed = [o for o in outcomes if not o.passed]
    stages = sorted({o.stage for o in outcomes})
    print(f"{len(outcomes)} paths in {len(stages)} environments ({', '.join(stages)}): {len(failed)} failed")
    return 1 if failed or not outcomes else 0
