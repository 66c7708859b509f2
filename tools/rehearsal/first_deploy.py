"""``python -m tools.rehearsal.first_deploy OUTDIR``: synthesize the first deploy into OUTDIR.

The app exactly as ``cdk synth`` builds it from ``cdk.json``, except that every environment
has ``service.control_plane.bootstrap: true`` (the control plane at 0 tasks, so nothing waits
for an image that is not pushed yet): the templates of step 1 of the first-deploy runbook.
``python -m tools.rehearsal cdk.out --first-deploy OUTDIR`` then deploys these first, pushes the
images, and deploys ``cdk.out`` over them (steps 2 and 3).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from app import build
from compliance.packs import new_app
from config.context import read_context
from tools.rehearsal.cdk_bootstrap import ROOT


def first_deploy_context() -> dict[str, Any]:
    context = read_context(ROOT / "cdk.json")
    # In each environment's own block: a value written there wins over the defaults.
    for environment in context["outpost"]["environments"].values():
        environment.setdefault("service", {}).setdefault("control_plane", {})["bootstrap"] = True
    # As the CDK CLI runs the app: construct paths and asset paths in metadata, no version report.
    context.update(
        {
            "aws:cdk:enable-path-metadata": True,
            "aws:cdk:enable-asset-metadata": True,
            "aws:cdk:version-reporting": False,
        }
    )
    return context


def main(argv: list[str]) -> int:
    outdir = Path(argv[0] if argv else "cdk.out.first-deploy")
    shutil.rmtree(outdir, ignore_errors=True)
    app = new_app(outdir=str(outdir), context=first_deploy_context())
    build(app)
    app.synth()
    print(f"synthesized the first deploy (bootstrap: true) into {outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
