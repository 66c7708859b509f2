"""``cdk synth`` of this app against the stock app (tests/benchmark/stock_app.py), side by side.

All by the same CDK CLI on the same Node, each into its own output directory, in rounds (this
app, then each yardstick) so that a busy machine slows them alike; the figures are the medians
of the rounds' ratios of wall time and of CPU time (user + sys of every process of the synth),
with each app's median and the spread.

The two apps differ in size (the stock app is one template of about 40 resources), so the run
also synthesizes the stock app's empty stack (``--empty``: the same start-up, packs and CLI),
whose median is the fixed cost every synth pays, and the stock app's stack repeated until it
holds about as many resources as this app (``--copies=N``): the ratio to it, and each app's CPU
beyond the fixed cost per resource in its templates, compare their work rather than their size.

Usage: ``.venv/bin/python -m tests.benchmark.synth_ratio [rounds]``
(default 5). Not part of ``make test``: it synthesizes four apps per round.
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
APPS = {"this app": [], "stock app": ["--app", STOCK_APP], "empty app": ["--app", f"{STOCK_APP} --empty"]}
# The stock app's stack repeated until it holds about as many resources as this app.
SAME_SIZE = "stock app, same size"
# The Node make runs (npm's node package, first on PATH), for the CLI and jsii alike.
ENV = {**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}"}


def resources(outdir: Path) -> int:
    """Resources in every template of an assembly, its nested stages' included."""
    return sum(
        len(json.loads(template.read_text()).get("Resources", {}))
        for template in outdir.rglob("*.template.json")
    )


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


def main(rounds: int = 5) -> int:
    apps = dict(APPS)
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as scratch:
        out = {name: Path(scratch) / name.replace(" ", "-").replace(",", "") for name in (*APPS, SAME_SIZE)}
        for name, extra in APPS.items():  # one unmeasured run each: imports and caches warm
            timed(extra, out[name])
            sizes[name] = resources(out[name])
        copies = round(sizes["this app"] / sizes["stock app"])
        apps[SAME_SIZE] = ["--app", f"{STOCK_APP} --copies={copies}"]
        timed(apps[SAME_SIZE], out[SAME_SIZE])
        sizes[SAME_SIZE] = resources(out[SAME_SIZE])
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in apps}
        for _ in range(rounds):
            for name, extra in apps.items():
                runs[name].append(timed(extra, out[name]))
    # Wall time is what a user waits; CPU time (user + sys of the CLI, the app and jsii's Node)
    # is what a machine other builds share does not blur.
    for index, measure in ((0, "wall"), (1, "CPU")):
        for name, values in runs.items():
            figures = [v[index] for v in values]
            listed = ", ".join(f"{f:.2f}" for f in figures)
            print(f"{measure} {name}: median {statistics.median(figures):.2f} s ({listed})")
        for yardstick in ("stock app", SAME_SIZE):
            ratios = [a[index] / b[index] for a, b in zip(runs["this app"], runs[yardstick], strict=True)]
            median, spread = statistics.median(ratios), f"{min(ratios):.2f}-{max(ratios):.2f}"
            print(f"{measure} ratio to the {yardstick}: median {median:.2f}x (spread {spread})")
    print(f"resources: {', '.join(f'{name} {count}' for name, count in sizes.items())}")
    print(marginal(runs, sizes))
    return 0


def marginal(runs: dict[str, list[tuple[float, float]]], sizes: dict[str, int]) -> str:
    """CPU milliseconds per resource beyond the empty app's median (the fixed cost)."""
    fixed = statistics.median(cpu for _, cpu in runs["empty app"])
    per = {
        name: (statistics.median(cpu for _, cpu in runs[name]) - fixed) * 1000 / sizes[name]
        for name in ("this app", "stock app")
    }
    return (
        f"CPU beyond the fixed {fixed:.2f} s, per resource: this app {per['this app']:.1f} ms "
        f"({sizes['this app']} resources), stock app {per['stock app']:.1f} ms "
        f"({sizes['stock app']} resources), ratio {per['this app'] / per['stock app']:.2f}x"
    )


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
