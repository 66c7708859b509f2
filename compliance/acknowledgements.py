"""Acknowledging a cdk-nag finding on the one construct it concerns.

Every call names the compensating control in ``reason``; the security review reads these
reasons, so they are written for a reviewer, not for the linter.
"""

from __future__ import annotations

import json
from typing import Any

import jsii
from aws_cdk import Acknowledgment, Stack, Validations

from constructs import IConstruct, IValidation

# The packs whose rules share a suffix (``HIPAA.Security-IAMNoInlinePolicy``, ...).
COMPLIANCE_PACKS = ("HIPAA.Security", "NIST.800.53.R4", "NIST.800.53.R5", "PCI.DSS.321")
# The validation namespace of the cfn-guard plugin (AWS Control Tower proactive controls).
GUARD_PLUGIN = "cdk-validator-cfnguard"


def acknowledge(scope: IConstruct, reason: str, *rule_ids: str) -> None:
    """Acknowledge ``rule_ids`` (``AwsSolutions-EC23``, ...) on ``scope`` and below.

    The validation namespace (``AwsSolutions::``) is the part of the rule id before the
    first dash, as cdk-nag v3 names its plugins; an id that already names its namespace
    (``CloudFormation-Validate::W3010``) is taken as it is.
    """
    if len(reason) < 40:
        raise ValueError(f"acknowledgement reason too short to name a compensating control: {reason!r}")
    Validations.of(scope).acknowledge(*(Acknowledgment(id=_full_id(r), reason=reason) for r in rule_ids))


def _full_id(rule_id: str) -> str:
    # A finding id may carry "::" in its brackets: AwsSolutions-IAM5[Resource::*].
    rule = rule_id.split("[", 1)[0]
    return rule_id if "::" in rule else f"{rule.split('-', 1)[0]}::{rule_id}"


def control_tower(rule: str) -> str:
    """The acknowledgement id of an AWS Control Tower rule of the cfn-guard plugin.

    ``control_tower("lambda_inside_vpc_check")`` -> ``cdk-validator-cfnguard::lambda_inside_vpc_check``.
    """
    return f"{GUARD_PLUGIN}::{rule}"


def in_packs(rule: str, packs: tuple[str, ...] = COMPLIANCE_PACKS) -> tuple[str, ...]:
    """``in_packs("VPCNoUnrestrictedRouteToIGW")`` -> the rule id in every compliance pack."""
    return tuple(f"{pack}-{rule}" for pack in packs)


def wildcard_resource(scope: IConstruct, resource: str) -> str:
    """The id cdk-nag gives a wildcard resource: ``AwsSolutions-IAM5[Resource::<id>]``.

    Tokens render as cdk-nag renders them: ``{"Ref": "Cluster"}`` as ``<Cluster>``,
    ``{"Fn::GetAtt": ["Role", "Arn"]}`` as ``<Role.Arn>``, joins concatenated.
    """
    return f"AwsSolutions-IAM5[Resource::{_render(Stack.of(scope).resolve(resource))}]"


def acknowledge_wildcard_resource(scope: IConstruct, reason: str, resource: str) -> None:
    """``acknowledge(scope, reason, wildcard_resource(scope, resource))`` for a ``resource``
    that holds a reference to another stack.

    Such a reference becomes ``Fn::GetStackOutput`` (which cdk-nag prints as JSON) only when
    the app is prepared for synthesis, so the finding id is computed then: in a construct
    validation, which runs after references are resolved and before the validation plugins.
    """
    if len(reason) < 40:
        raise ValueError(f"acknowledgement reason too short to name a compensating control: {reason!r}")
    scope.node.add_validation(_LateAcknowledgement(scope, reason, resource))


@jsii.implements(IValidation)
class _LateAcknowledgement:
    def __init__(self, scope: IConstruct, reason: str, resource: str) -> None:
        self._scope = scope
        self._reason = reason
        self._resource = resource

    def validate(self) -> list[str]:
        acknowledge(self._scope, self._reason, wildcard_resource(self._scope, self._resource))
        return []


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::GetStackOutput" in value:
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_render(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    raise ValueError(f"cannot render {value!r} as a cdk-nag finding id")
