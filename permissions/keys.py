"""A KMS key that a role may use only when named AWS services call KMS on its behalf.

``kms:ViaService`` (AWS KMS developer guide, "kms:ViaService":
https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service)
holds the endpoint of the service that made the request: a role with such a statement can
read and write what the service keeps under the key, and cannot decrypt anything itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from constructs import IConstruct


def key_through(
    key: kms.IKey, *services: str, scope: IConstruct, sid: str, actions: Sequence[str]
) -> iam.PolicyStatement:
    """``actions`` on ``key`` only through ``services`` (``"dynamodb"``, ``"s3"``, ...) of the
    Region of ``scope``'s stack."""
    if not services:
        raise ValueError(f"{sid}: name at least one service the key is used through")
    region = Stack.of(scope).region
    endpoints = [f"{service}.{region}.amazonaws.com" for service in services]
    return iam.PolicyStatement(
        sid=sid,
        actions=list(actions),
        resources=[key.key_arn],
        conditions={"StringEquals": {"kms:ViaService": endpoints[0] if len(endpoints) == 1 else endpoints}},
    )
