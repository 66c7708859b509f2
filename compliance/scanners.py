"""Skipping a checkov check on the one resource it concerns, from the CDK code.

checkov reads ``Metadata.checkov.skip`` of a resource in the synthesized template
(``[{"id": "CKV_AWS_260", "comment": "..."}]``). ``skip_checkov`` writes that entry on the
CloudFormation resource behind ``construct``, keeping any skip already there, so the reason
for a skip sits next to the code it concerns, like ``compliance.acknowledgements.acknowledge``.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnResource, Stack

from compliance.acknowledgements import acknowledge, control_tower
from constructs import IConstruct

CHECKOV_METADATA = "checkov"
CFN_LINT_METADATA = "cfn-lint"


def _cfn_resource(construct: IConstruct) -> CfnResource:
    """The construct itself when it is a CloudFormation resource, else its default child."""
    if isinstance(construct, CfnResource):
        return construct
    child = construct.node.default_child
    if isinstance(child, CfnResource):
        return child
    raise TypeError(f"{construct.node.path} is not backed by one CloudFormation resource")


def skip_checkov(construct: IConstruct, check_id: str, comment: str) -> None:
    """Skip ``check_id`` (``CKV_AWS_117``, ...) on the resource of ``construct`` only.

    ``comment`` names the compensating control; it lands in the template and in the
    security review report.
    """
    if not check_id.startswith("CKV"):
        raise ValueError(f"not a checkov check id: {check_id!r}")
    if len(comment) < 40:
        raise ValueError(f"checkov skip comment too short to name a compensating control: {comment!r}")
    resource = _cfn_resource(construct)
    existing: Any = resource.get_metadata(CHECKOV_METADATA) or {}
    skips = [s for s in existing.get("skip", []) if s.get("id") != check_id]
    skips.append({"id": check_id, "comment": comment})
    resource.add_metadata(CHECKOV_METADATA, {**existing, "skip": skips})


def ignore_cfn_lint(construct: IConstruct, rule: str, reason: str) -> None:
    """Ignore cfn-lint ``rule`` (``W3005``, ...) on the resource of ``construct`` only.

    cfn-lint reads ``Metadata.cfn-lint.config.ignore_checks`` of a resource; ``reason`` sits
    beside it (``Metadata.cfn-lint.reasons``), where ``make scan`` and the report read it.
    """
    if len(reason) < 40:
        raise ValueError(f"cfn-lint ignore reason too short to say why: {reason!r}")
    resource = _cfn_resource(construct)
    existing: Any = resource.get_metadata(CFN_LINT_METADATA) or {}
    checks = [c for c in existing.get("config", {}).get("ignore_checks", []) if c != rule]
    resource.add_metadata(
        CFN_LINT_METADATA,
        {
            "config": {"ignore_checks": [*checks, rule]},
            "reasons": {**existing.get("reasons", {}), rule: reason},
        },
    )


def checkov_skips(construct: IConstruct) -> list[dict[str, str]]:
    """The checkov skips written on the resource of ``construct``."""
    metadata: Any = _cfn_resource(construct).get_metadata(CHECKOV_METADATA) or {}
    return list(metadata.get("skip", []))


# CDK's Lambda function constructs (lambda.Function and the custom-resource providers) declare
# DependsOn on the function's role, which the function's GetAtt of the role already orders.
REDUNDANT_ROLE_DEPENDENCY = (
    "W3005",
    "CDK adds DependsOn on the function's role next to the GetAtt of its ARN (aws-lambda Function, "
    "custom-resource providers): redundant ordering that changes nothing in the deployment and "
    "that CDK gives no way to remove.",
)


def accept_cdk_provider(scope: IConstruct, provider_id: str, *, purpose: str) -> None:
    """Explain, once per stack, why a CDK custom-resource provider's Lambda runs as it does.

    CDK deploys some features through a stack-wide provider it generates as raw resources
    (``Custom::VpcRestrictDefaultSGCustomResourceProvider``,
    ``Custom::S3AutoDeleteObjectsCustomResourceProvider``): a Lambda outside any VPC, with no
    dead-letter queue and no reserved concurrency, that only CloudFormation invokes during a
    deployment. ``purpose`` says what it does and what its role may touch (the compensating
    control); it is written into the acknowledgement and every checkov skip.
    """
    provider = Stack.of(scope).node.try_find_child(provider_id)
    handler = provider.node.try_find_child("Handler") if provider else None
    if handler is None:
        raise ValueError(f"{Stack.of(scope).node.path} has no {provider_id}")
    if any(skip["id"] == "CKV_AWS_117" for skip in checkov_skips(handler)):
        return  # already explained for this stack
    invoked = "Only CloudFormation invokes it, during deployments"
    acknowledge(
        handler,
        f"{purpose} {invoked}, so it has no network path to protect.",
        control_tower("lambda_inside_vpc_check"),
    )
    for check_id, comment in (
        ("CKV_AWS_117", f"{purpose} {invoked}: no network path to protect inside a VPC."),
        (
            "CKV_AWS_116",
            f"{purpose} {invoked}; a failure fails the deployment: no dead-letter queue to replay.",
        ),
        ("CKV_AWS_115", f"{purpose} {invoked}, once per change: reserved concurrency would only idle."),
    ):
        skip_checkov(handler, check_id, comment)
    ignore_cfn_lint(handler, *REDUNDANT_ROLE_DEPENDENCY)
