"""Acknowledging a cdk-nag finding on the one construct it concerns.

Every call names the compensating control in ``reason``; the security review reads these
reasons, so they are written for a reviewer, not for the linter.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations

from constructs import IConstruct

# The packs whose rules share a suffix (``HIPAA.Security-IAMNoInlinePolicy``, ...).
COMPLIANCE_PACKS = ("HIPAA.Security", "NIST.800.53.R4", "NIST.800.53.R5", "PCI.DSS.321")


def acknowledge(scope: IConstruct, reason: str, *rule_ids: str) -> None:
    """Acknowledge ``rule_ids`` (``AwsSolutions-EC23``, ...) on ``scope`` and below.

    The validation namespace (``AwsSolutions::``) is the part of the rule id before the
    first dash, as cdk-nag v3 names its plugins; an id that already names its namespace
    (``CloudFormation-Validate::W3010``) is taken as it is. A granular finding is named with
    its bracket (``AwsSolutions-IAM5[Resource::*]``) and gets the namespace like any other,
    so it is listed in the report's ``suppressedViolations`` with its reason.
    """
    if len(reason) < 40:
        raise ValueError(f"acknowledgement reason too short to name a compensating control: {reason!r}")
    for rule_id in rule_ids:
        # A granular finding (``AwsSolutions-IAM5[Resource::*]``) has "::" inside its brackets:
        # only a "::" before them names a namespace.
        namespaced = "::" in rule_id.split("[", 1)[0]
        full_id = rule_id if namespaced else f"{rule_id.split('-', 1)[0]}::{rule_id}"
        Validations.of(scope).acknowledge(Acknowledgment(id=full_id, reason=reason))


def in_packs(rule: str, packs: tuple[str, ...] = COMPLIANCE_PACKS) -> tuple[str, ...]:
    """``in_packs("VPCNoUnrestrictedRouteToIGW")`` -> the rule id in every compliance pack."""
    return tuple(f"{pack}-{rule}" for pack in packs)
