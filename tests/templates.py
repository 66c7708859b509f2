"""Reading the synthesized templates and the settings: one copy for every test module.

Settings are each environment's as ``cdk.json`` makes them (its block over the defaults:
``settings(stage)``, ``SETTINGS[name]``); resources are found by their construct path
(``aws:cdk:path`` metadata), never by a logical id typed into a test.
"""

from __future__ import annotations

from typing import Any

from tests.environments import SETTINGS, config_of, is_production, of_kind, settings
from tests.synth import Synthesized

__all__ = ["SETTINGS", "settings"]
# The certificate ARN of the first shipped production environment (none is looked up: offline).
PROD_CERTIFICATE: str = SETTINGS[of_kind("production")]["ingress"]["certificate_arn"]


# --- settings ---------------------------------------------------------------------------


def account(stage: str) -> str:
    return config_of(stage).account


def region(stage: str) -> str:
    return config_of(stage).region


def retained(stage: str) -> str:
    """The deletion policy of data in that stage: kept in production, deleted with the stack elsewhere."""
    return "Retain" if is_production(stage) else "Delete"


# --- intrinsic functions ----------------------------------------------------------------


def ref(logical: str) -> dict[str, str]:
    return {"Ref": logical}


def arn_of(logical: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical, "Arn"]}


def join(*parts: Any) -> dict[str, Any]:
    return {"Fn::Join": ["", list(parts)]}


def output_of(value: Any) -> str:
    """The name of the other stack's output a ``Fn::GetStackOutput`` reads."""
    return str(value["Fn::GetStackOutput"]["OutputName"])


# --- what every bucket of the app holds -------------------------------------------------

BLOCK_ALL_PUBLIC_ACCESS = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


def kms_bucket_encryption(key: str) -> list[dict[str, Any]]:
    """``ServerSideEncryptionConfiguration`` of a bucket encrypted with the key of logical id ``key``."""
    return [
        {
            "BucketKeyEnabled": True,
            "ServerSideEncryptionByDefault": {"KMSMasterKeyID": arn_of(key), "SSEAlgorithm": "aws:kms"},
        }
    ]


# --- resources by construct path --------------------------------------------------------


def path_of(resource: dict[str, Any]) -> str:
    return str(resource.get("Metadata", {}).get("aws:cdk:path", ""))


def at(synthesized: Synthesized, stack: str, path: str) -> tuple[str, dict[str, Any]]:
    """(logical id, resource) of the one resource at construct path ``<stack>/<path>``.

    ``stack`` is a stack path such as ``Dev/Service``.
    """
    full = f"{stack}/{path}"
    found = [
        (logical, resource)
        for logical, resource in synthesized.template(stack)["Resources"].items()
        if path_of(resource) == full
    ]
    assert len(found) == 1, (full, [f[0] for f in found])
    return found[0]


def ending(
    synthesized: Synthesized, stack: str, suffix: str, resource_type: str | None = None
) -> tuple[str, dict[str, Any]]:
    """(logical id, resource) of the one resource (of ``resource_type``, if given) of ``stack``
    whose construct path ends with ``suffix``."""
    resources = (
        synthesized.template(stack)["Resources"]
        if resource_type is None
        else synthesized.resources(stack, resource_type)
    )
    found = [
        (logical, resource) for logical, resource in resources.items() if path_of(resource).endswith(suffix)
    ]
    assert len(found) == 1, (resource_type, suffix, [path_of(r) for _, r in found])
    return found[0]


def only(synthesized: Synthesized, stack: str, resource_type: str) -> tuple[str, dict[str, Any]]:
    """(logical id, resource) of the one resource of ``resource_type`` in ``stack``."""
    found = synthesized.resources(stack, resource_type)
    assert len(found) == 1, sorted(found)
    return next(iter(found.items()))


# --- references across stacks -----------------------------------------------------------


def resolved_outputs(synthesized: Synthesized, value: Any) -> Any:
    """``value`` with every ``Fn::GetStackOutput`` replaced by ``{"<stack path>": <the output's
    value there>}`` (``{"Dev/Alerts": {"Ref": "AlarmsTopic..."}}``)."""
    if isinstance(value, list):
        return [resolved_outputs(synthesized, v) for v in value]
    if not isinstance(value, dict):
        return value
    reference = value.get("Fn::GetStackOutput")
    if reference is not None:
        stack = str(reference["StackName"]).replace("-", "/", 1)
        return {stack: synthesized.template(stack)["Outputs"][reference["OutputName"]]["Value"]}
    return {k: resolved_outputs(synthesized, v) for k, v in value.items()}


def stack_paths(synthesized: Synthesized, stage: str) -> list[str]:
    """The stacks of one stage: ``Dev/Audit``, ``Dev/Network``, ..."""
    return [path for path in synthesized.templates if path.startswith(f"{stage}/")]


# --- references to the Data stack --------------------------------------------------------


def data_id(synthesized: Synthesized, stage: str, path: str) -> str:
    """Logical id of the resource at construct path ``<stage>/Data/<path>``."""
    return at(synthesized, f"{stage}/Data", path)[0]


def data_key(synthesized: Synthesized, stage: str) -> str:
    """Logical id of the Data stack's key (tables, artifacts, GitHub token)."""
    return ending(synthesized, f"{stage}/Data", "/DataKey/Resource", "AWS::KMS::Key")[0]


def from_data(synthesized: Synthesized, stage: str, value: Any) -> Any:
    """``value`` with every reference to the Data stack replaced by ``{"Data": <its value there>}``."""
    if isinstance(value, list):
        return [from_data(synthesized, stage, v) for v in value]
    if not isinstance(value, dict):
        return value
    reference = value.get("Fn::GetStackOutput")
    if reference is not None and reference["StackName"] == f"{stage}-Data":
        outputs = synthesized.template(f"{stage}/Data")["Outputs"]
        return {"Data": outputs[reference["OutputName"]]["Value"]}
    return {k: from_data(synthesized, stage, v) for k, v in value.items()}


def data_ref(synthesized: Synthesized, stage: str, path: str) -> dict[str, Any]:
    return {"Data": ref(data_id(synthesized, stage, path))}


def data_arn(synthesized: Synthesized, stage: str, path: str) -> dict[str, Any]:
    return {"Data": arn_of(data_id(synthesized, stage, path))}
