"""Check ``cdk.json`` without synthesizing: ``python -m config [--env NAME | --delivery-stack NAME]``.

Prints one line per environment and one per Delivery stack (or the stage name of ``--env``,
or the path of the Delivery stack of ``--delivery-stack``'s account); on a bad setting prints
one ``config error:`` line and exits 2. The Makefile runs this before every cdk command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from config.cost import load_cost
from config.delivery import bootstrap_qualifier, load_delivery
from config.environment import load_environments
from config.errors import ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config", description=__doc__)
    parser.add_argument("--cdk-json", default="cdk.json", type=Path)
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--env", help="print the stage name of this environment")
    chosen.add_argument(
        "--delivery-stack", metavar="ENV", help="print the Delivery stack of this environment's account"
    )
    args = parser.parse_args(argv)
    try:
        context = json.loads(args.cdk_json.read_text())["context"]
    except (OSError, ValueError, KeyError) as err:
        print(f"config error: cannot read context from {args.cdk_json}: {err}", file=sys.stderr)
        return 2
    try:
        envs = load_environments(context.get, only=args.env)
        load_cost(context.get, envs)
        delivery = None if args.env else load_delivery(context.get, envs)
        bootstrap_qualifier(context.get)
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    if args.env:
        print(envs[0].stage_name)
        return 0
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


if __name__ == "__main__":
    sys.exit(main())
