"""``make check-new-environment``: a copy of the project with one more environment, end to end.

The README's example environment (*Adding an environment*) is added to a copy's ``cdk.json``,
then the copy runs ``make update-snapshots`` and ``make test``: the claim that adding an
environment needs nothing else, checked whole (scanners and rehearsal included). Every test
run already proves the tests' part on a throwaway environment (tests/synth.py); this is the
slow, complete form (a few minutes), not part of ``make test``.

The copy borrows this checkout's virtual environments (symbolic links in a temporary
directory, removed afterwards) and copies ``node_modules`` (small).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_NOT_COPIED = (".git", ".venv", ".venv-scan", "node_modules", "cdk.out*", "*cache*", "__pycache__")


def readme_example() -> tuple[str, dict[str, Any]]:
    """(name, block) of the environment the README shows under *Adding an environment*."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Adding an environment") :]
    block = section.split("```json", 1)[1].split("```", 1)[0]
    ((name, body),) = json.loads("{" + block + "}").items()
    return name, body


def prepare(copy: Path) -> str:
    """The project copied into ``copy`` with the README's environment added; returns its name."""
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*_NOT_COPIED), symlinks=True)
    shutil.copytree(ROOT / "node_modules", copy / "node_modules", symlinks=True)
    for venv in (".venv", ".venv-scan"):
        (copy / venv).symlink_to(ROOT / venv)
    name, body = readme_example()
    cdk_json = json.loads((copy / "cdk.json").read_text())
    environments = cdk_json["context"]["outpost"]["environments"]
    if name in environments:
        raise SystemExit(
            f"check-new-environment: cdk.json already has {name}; the README's example must be new"
        )
    environments[name] = body
    (copy / "cdk.json").write_text(json.dumps(cdk_json, indent=2) + "\n")
    return name


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="outpost-new-environment-") as tmp:
        copy = Path(tmp) / "outpost-infra"
        name = prepare(copy)
        for target in ("update-snapshots", "test"):
            start = time.monotonic()
            result = subprocess.run(["make", "--no-print-directory", target], cwd=copy, check=False)
            seconds = time.monotonic() - start
            print(
                f"check-new-environment: make {target} with environment {name}: exit {result.returncode} "
                f"({seconds:.0f} s)"
            )
            if result.returncode != 0:
                return 1
        stage = name.capitalize()
        added = list((copy / "tests" / "__snapshots__" / "test_snapshots").glob(f"*[[]{stage}-*"))
        print(f"check-new-environment: {len(added)} snapshots of {stage} written, every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
