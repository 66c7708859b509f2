"""``cdk synth`` of this app against the stock app (tests/benchmark/stock_app.py), side by side.

Both by the same CDK CLI on the same Node, each into its own output directory, alternating
(this app, then the stock app) so that a busy machine slows both alike; the figures are the
medians of the pairs' ratios of wall time and of CPU time (user + sys of every process of the
synth), with each side's median and the spread.

Usage: ``.venv/bin/python -m tests.benchmark.synth_ratio [pairs]``
(default 5). Not part of ``make test``: it synthesizes twice per pair.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CDK = [str(ROOT / "node_modules" / ".bin" / "cdk"), "--no-notices", "synth", "--quiet"]
STOCK_APP = f"{ROOT / '.venv' / 'bin' / 'python'} {Path(__file__).with_name('stock_app.py')}"
APPS = {"this app": [], "stock app": ["--app", STOCK_APP]}
# The Node make runs (npm's node package, first on PATH), for the CLI and jsii alike.
ENV = {**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}"}


def timed(extra: list[str], outdir: Path) -> tuple[float, float]:
    """Seconds of one ``cdk synth``. The stock app's packs find things in it, so the CLI exits 1
    after writing the assembly and the validation report: that run counts, a missing assembly
    does not."""
    shutil.rmtree(outdir, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([*CDK, *extra, "--output", str(outdir)], cwd=ROOT, env=ENV, capture_output=True)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if not (outdir / "manifest.json").exists() or not (outdir / "validation-report.json").exists():
        raise SystemExit(f"cdk synth {' '.join(extra)} wrote no assembly: {done.stderr.decode()[-500:]}")
    # Missing context makes the CLI look it up in AWS and run the app again: not one synth.
    if json.loads((outdir / "manifest.json").read_text()).get("missing"):
        raise SystemExit(f"cdk synth {' '.join(extra)} left context to look up (the CLI ran it twice)")
    return took, cpu


def main(pairs: int = 5) -> int:
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in APPS}
    with tempfile.TemporaryDirectory() as scratch:
        for name, extra in APPS.items():  # one unmeasured run each: imports and caches warm
            timed(extra, Path(scratch) / name.replace(" ", "-"))
        for _ in range(pairs):
            for name, extra in APPS.items():
                runs[name].append(timed(extra, Path(scratch) / name.replace(" ", "-")))
    # Wall time is what a user waits; CPU time (user + sys of the CLI, the app and jsii's Node)
    # is what a machine other builds share does not blur.
    for index, measure in ((0, "wall"), (1, "CPU")):
        for name, values in runs.items():
            figures = [v[index] for v in values]
            listed = ", ".join(f"{f:.2f}" for f in figures)
            print(f"{measure} {name}: median {statistics.median(figures):.2f} s ({listed})")
        ratios = [a[index] / b[index] for a, b in zip(runs["this app"], runs["stock app"], strict=True)]
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
        print(f"{measure} ratio: median {statistics.median(ratios):.2f}x (spread {spread})")
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
