"""``permissions.keys.key_through``: a key only through named services, the statement every
role of the app uses for its keys (templates: the snapshots and each role's tests)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms

from permissions.keys import key_through


@pytest.fixture(scope="module")
def key() -> kms.IKey:
    stack = cdk.Stack(cdk.App(), "Keys", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    return kms.Key(stack, "Key")


def via(key: kms.IKey, *services: str) -> object:
    statement = key_through(key, *services, scope=key, sid="UseIt", actions=["kms:Decrypt"])
    resolved = cdk.Stack.of(key).resolve(statement.to_statement_json())
    return resolved["Condition"]["StringEquals"]["kms:ViaService"]


def test_one_service_is_one_endpoint_of_the_stacks_region(key: kms.IKey) -> None:
    assert via(key, "dynamodb") == "dynamodb.eu-west-1.amazonaws.com"


def test_several_services_are_a_list_in_order(key: kms.IKey) -> None:
    assert via(key, "dynamodb", "s3") == ["dynamodb.eu-west-1.amazonaws.com", "s3.eu-west-1.amazonaws.com"]


def test_no_service_is_refused(key: kms.IKey) -> None:
    with pytest.raises(ValueError, match="UseIt: name at least one service"):
        key_through(key, scope=key, sid="UseIt", actions=["kms:Decrypt"])
