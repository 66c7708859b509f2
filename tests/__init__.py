"""The tests run on the Node.js the project pins, as ``make`` runs everything.

``make`` puts ``node_modules/.bin`` (npm's ``node`` package, pinned in ``package-lock.json``)
first on ``PATH``; so does this package, before any test module imports aws-cdk-lib (whose
jsii runtime starts the ``node`` on ``PATH``), so ``pytest`` run on its own starts the same
Node, and so do the apps and tools the tests start as subprocesses.
"""

import os
from pathlib import Path

_NODE_BIN = Path(__file__).resolve().parent.parent / "node_modules" / ".bin"
if (_NODE_BIN / "node").exists() and not os.environ.get("PATH", "").startswith(f"{_NODE_BIN}{os.pathsep}"):
    os.environ["PATH"] = f"{_NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
