"""What ``cdk bootstrap`` and the asset publishing of ``cdk deploy`` do, onto the emulator.

``cdk bootstrap aws://<account>/<region>`` creates the ``CDKToolkit`` stack from the
bootstrap template of the CDK CLI: the file-assets bucket ``cdk-hnb659fds-assets-<account>-
<region>``, the container-assets repository, the deploy, execution, publishing and lookup
roles and the SSM parameter ``/cdk-bootstrap/hnb659fds/version`` that every template's
``BootstrapVersion`` parameter reads. The rehearsal creates the same stack from the same
template (the pinned CLI's ``node_modules/aws-cdk/lib/api/bootstrap/bootstrap-template.yaml``)
with the CLI's default parameters, through the same emulator adaptations as any stack.

Publishing then puts each stack's file assets (``*.assets.json``) into that bucket under
their object keys: a directory zipped, a file as is (the templates are file assets too).
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from tools.assembly import FileAsset, Stack

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP_TEMPLATE = ROOT / "node_modules/aws-cdk/lib/api/bootstrap/bootstrap-template.yaml"
TOOLKIT_STACK = "CDKToolkit"
QUALIFIER = "hnb659fds"
# The parameters `cdk bootstrap` passes when given no options: the execution role gets
# AdministratorAccess, the bucket is encrypted with the AWS managed key.
BOOTSTRAP_PARAMETERS = {
    "Qualifier": QUALIFIER,
    "CloudFormationExecutionPolicies": "arn:aws:iam::aws:policy/AdministratorAccess",
    "FileAssetsBucketKmsKeyId": "AWS_MANAGED_KEY",
    "PublicAccessBlockConfiguration": "true",
}
# Zip entries get one fixed time, as the CDK CLI's zips do, so an asset zips the same each run.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def bootstrap_stack(account: str, region: str, template_path: Path = BOOTSTRAP_TEMPLATE) -> Stack:
    """The ``CDKToolkit`` stack of one account and Region, as ``cdk bootstrap`` creates it."""
    template: dict[str, Any] = yaml.safe_load(template_path.read_text())
    for name, value in BOOTSTRAP_PARAMETERS.items():
        template["Parameters"][name]["Default"] = value
    stack = Stack.from_template(
        f"{account}/{region}/{TOOLKIT_STACK}", template, account=account, region=region
    )
    stack.stack_name = TOOLKIT_STACK
    stack.template_file = template_path
    return stack


def zipped(directory: Path) -> bytes:
    """``directory`` as a zip: every file below it, sorted, with fixed times and modes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(directory).as_posix(), ZIP_TIME)
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def publish(s3: Any, assets: Iterable[FileAsset]) -> int:
    """Upload every asset to its bucket and key; returns how many were uploaded."""
    count = 0
    for asset in assets:
        body = zipped(asset.source) if asset.packaging == "zip" else asset.source.read_bytes()
        s3.put_object(Bucket=asset.bucket, Key=asset.key, Body=body)
        count += 1
    return count
