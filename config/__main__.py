"""Check ``cdk.json`` without synthesizing: ``python -m config [--env NAME]``.

Prints one line per environment (or the stage name of ``--env``); on a bad setting prints
one ``config error:`` line and exits 2. The Makefile runs this before every cdk command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from config.environment import load_environments
from config.errors import ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config", description=__doc__)
    parser.add_argument("--cdk-json", default="cdk.json", type=Path)
    parser.add_argument("--env", help="print the stage name of this environment")
    args = parser.parse_args(argv)
    try:
        context = json.loads(args.cdk_json.read_text())["context"]
    except (OSError, ValueError, KeyError) as err:
        print(f"config error: cannot read context from {args.cdk_json}: {err}", file=sys.stderr)
        return 2
    try:
        envs = load_environments(context.get, only=args.env)
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    for env in envs:
        if args.env:
            print(env.stage_name)
        else:
            print(
                f"{env.name}: {env.kind}, {env.region} {','.join(env.network.availability_zones)}, "
                f"room for {env.network.agent_task_ip_capacity} agent tasks"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
