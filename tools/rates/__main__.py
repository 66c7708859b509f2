"""``python -m tools.rates``: print the rate budget; ``--write`` puts it into docs/capacity.md;
exit 1 when a row of the chosen design passes the headroom at 10x."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.rates.budget import BEGIN, CHOSEN, DESIGNS, END, HEADROOM, budget, over_headroom, render

PAGE = Path(__file__).resolve().parents[2] / "docs" / "capacity.md"


def write(page: str) -> str:
    """``page`` with every design's table between its markers replaced by the computed one."""
    for design in DESIGNS:
        begin, end = BEGIN.format(design=design), END.format(design=design)
        head, found, rest = page.partition(begin)
        if not found:
            raise SystemExit(f"{PAGE}: no marker {begin}")
        _, found, tail = rest.partition(end)
        if not found:
            raise SystemExit(f"{PAGE}: no marker {end}")
        page = f"{head}{begin}\n{render(design)}\n{end}{tail}"
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.rates", description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"rewrite the tables in {PAGE.name}")
    args = parser.parse_args(argv)
    if args.write:
        PAGE.write_text(write(PAGE.read_text()))
    for design in DESIGNS:
        print(f"## {design}{' (chosen)' if design == CHOSEN else ''}\n{render(design)}\n")
    over = over_headroom(budget(DESIGNS[CHOSEN]))
    for row in over:
        print(
            f"over {HEADROOM:.0%} of its quota at 10x: {row.quota.name} ({row.share_10x:.0%})",
            file=sys.stderr,
        )
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
