"""Check ``cdk.json`` without synthesizing: ``python -m config [--env NAME | --delivery-stack NAME | ...]``.

Prints one line per environment and one per Delivery stack (or the stage name of ``--env``,
or the path of the Delivery stack of ``--delivery-stack``'s account); on a bad setting prints
one ``config error:`` line and exits 2. The Makefile runs this before every cdk command.
``--confirm-bootstrap NAME`` is ``make deploy``'s question before a deploy with
``bootstrap: true``; ``--docs`` writes ``docs/settings.md`` from the settings code.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from config.bootstrap import CONFIRM_VARIABLE, bootstrap_warnings, confirm_bootstrap
from config.context import check_context_keys, read_context
from config.delivery import bootstrap_qualifier, load_delivery
from config.environment import CONTEXT_KEY, EnvironmentConfig, load_environments, read_blocks
from config.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config", description=__doc__)
    parser.add_argument("--cdk-json", default="cdk.json", type=Path)
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--env", help="print the stage name of this environment")
    chosen.add_argument(
        "--delivery-stack", metavar="ENV", help="print the Delivery stack of this environment's account"
    )
    chosen.add_argument(
        "--confirm-bootstrap",
        metavar="ENV",
        help=f"before deploying ENV with bootstrap: true: ask, or read {CONFIRM_VARIABLE}; exit 3 if not",
    )
    chosen.add_argument("--docs", action="store_true", help="write docs/settings.md from the settings code")
    args = parser.parse_args(argv)
    if args.docs:
        return _write_docs()
    try:
        context = read_context(args.cdk_json)
        check_context_keys(context, read_blocks(context.get(CONTEXT_KEY)).environments)
        only = args.env or args.confirm_bootstrap
        envs = load_environments(context.get, only=only)
        delivery = None if only else load_delivery(context.get, envs)
        bootstrap_qualifier(context.get)
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    if args.confirm_bootstrap:
        return _confirm(envs[0])
    if args.env:
        print(envs[0].stage_name)
        return 0
    for line in bootstrap_warnings(envs):
        print(line, file=sys.stderr)
    targets = delivery[1] if delivery else ()
    if args.delivery_stack:
        found = [t for t in targets if args.delivery_stack in (e.name for e in t.environments)]
        if not found:
            print(
                f"config error: {args.delivery_stack} is not in outpost.delivery.environments",
                file=sys.stderr,
            )
            return 2
        print(found[0].stack_path)
        return 0
    for env in envs:
        print(
            f"{env.name}: {env.kind}, {env.region} {','.join(env.network.availability_zones)}, "
            f"room for {env.network.agent_task_ip_capacity} agent tasks"
        )
    if delivery:
        for target in targets:
            print(
                f"delivery {target.stack_path} ({target.region}): {delivery[0].repository} deploys "
                f"{', '.join(e.name for e in target.environments)}"
            )
    return 0


def _confirm(env: EnvironmentConfig) -> int:
    for line in bootstrap_warnings([env]):
        print(line, file=sys.stderr)
    ask = input if sys.stdin.isatty() else None
    go, message = confirm_bootstrap(env, confirmation=os.environ.get(CONFIRM_VARIABLE, ""), ask=ask)
    if message:
        print(message, file=sys.stderr)
    return 0 if go else 3


def _write_docs() -> int:
    from config.docs import PAGE, render  # only here: the page is written, never read at synth

    (ROOT / PAGE).write_text(render())
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
