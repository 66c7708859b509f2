"""The Node.js everything runs on: a supported LTS the project installs itself (npm's ``node``
package, pinned in ``package-lock.json``), first on ``PATH`` for ``make`` and the tests, and no
end-of-life warning silenced anywhere."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Node.js releases in active or maintenance LTS (https://nodejs.org/en/about/previous-releases).
SUPPORTED_LTS = {22, 24}


def test_package_json_pins_a_supported_node_lts() -> None:
    package = json.loads((ROOT / "package.json").read_text())
    version = package["dependencies"]["node"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"node {version}: pin an exact version"
    assert int(version.split(".")[0]) in SUPPORTED_LTS
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/node"]["version"] == version
    assert lock["packages"]["node_modules/node"]["integrity"].startswith("sha512-")


def test_make_runs_the_pinned_node_and_silences_no_warning() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "export PATH := $(CURDIR)/node_modules/.bin:$(PATH)" in makefile
    silenced = "JSII_SILENCE_" + "WARNING"  # not spelled out: this file would match itself
    for where in [ROOT / "Makefile", *ROOT.glob(".github/**/*.yml"), *ROOT.glob("tests/**/*.py")]:
        assert silenced not in where.read_text(), where


def test_the_node_on_path_is_the_pinned_one() -> None:
    """What jsii starts (``node`` on ``PATH``) in this session: tests/__init__.py puts the pinned
    one first, as ``make`` does."""
    node = shutil.which("node")
    assert node is not None
    assert Path(node).parent == ROOT / "node_modules" / ".bin"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    assert int(version.strip().lstrip("v").split(".")[0]) in SUPPORTED_LTS
