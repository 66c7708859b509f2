"""The IAM policy evaluator of `make paths`, rule by rule of AWS's policy evaluation logic."""

from __future__ import annotations

from typing import Any

import pytest

from tools.paths.policy import (
    Request,
    ResourcePolicy,
    UnsupportedConditionError,
    arn_matches,
    evaluate,
)

ROLE = "arn:aws:iam::111111111111:role/caller"
ROOT = "arn:aws:iam::111111111111:root"
BUCKET = "arn:aws:s3:::bucket"


def allow(action: Any = "s3:GetObject", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def allowed(
    statements: list[dict[str, Any]], request: Request, resource: ResourcePolicy | None = None
) -> bool:
    return evaluate(request, [("policy", {"Statement": statements})], resource).allowed


def get(resource: str = f"{BUCKET}/d-1/a", action: str = "s3:GetObject", **context: Any) -> Request:
    return Request(ROLE, action, resource, context)


def test_nothing_allows_it_then_it_is_refused() -> None:
    decision = evaluate(get(), [])
    assert not decision
    assert "implicit deny" in decision.reason


def test_an_explicit_deny_wins_over_any_allow() -> None:
    deny = {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Sid": "No"}
    decision = evaluate(get(), [("a", {"Statement": [allow()]}), ("b", {"Statement": [deny]})])
    assert not decision
    assert "No" in decision.reason


def test_actions_match_case_insensitively_with_wildcards() -> None:
    assert allowed([allow("S3:get*")], get())
    assert allowed([allow("s3:GetObjec?")], get())
    assert not allowed([allow("s3:Put*")], get())


def test_not_action_and_not_resource() -> None:
    assert allowed([{"Effect": "Allow", "NotAction": "s3:Put*", "Resource": "*"}], get())
    assert not allowed([{"Effect": "Allow", "NotAction": "s3:Get*", "Resource": "*"}], get())
    assert not allowed([{"Effect": "Allow", "Action": "s3:*", "NotResource": f"{BUCKET}/*"}], get())
    assert allowed([{"Effect": "Allow", "Action": "s3:*", "NotResource": f"{BUCKET}/x/*"}], get())


def test_resources_match_segment_by_segment_and_case_sensitively() -> None:
    assert arn_matches("arn:aws:ecs:*:111111111111:task/c/*", "arn:aws:ecs:us-east-1:111111111111:task/c/abc")
    assert not arn_matches(
        "arn:aws:ecs:*:111111111111:task/c/*", "arn:aws:ecs:us-east-1:222222222222:task/c/abc"
    )
    assert not arn_matches(f"{BUCKET}/D-1/*", f"{BUCKET}/d-1/a")
    assert arn_matches("*", "anything")


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ({"StringEquals": {"aws:ResourceTag/t": "a"}}, {"aws:ResourceTag/t": "a"}, True),
        ({"StringEquals": {"aws:ResourceTag/t": "a"}}, {"aws:ResourceTag/t": "b"}, False),
        ({"StringEquals": {"aws:ResourceTag/t": "a"}}, {}, False),  # absent key: no match
        ({"StringEquals": {"aws:resourcetag/T": "a"}}, {"aws:ResourceTag/T": "a"}, True),  # keys: any case
        ({"StringEquals": {"k": ["a", "b"]}}, {"k": "b"}, True),  # values: OR
        ({"StringEquals": {"k": "a", "j": "b"}}, {"k": "a"}, False),  # keys: AND
        ({"StringNotEquals": {"k": "a"}}, {}, True),  # negated, absent key: true
        ({"StringLike": {"k": "a*"}}, {"k": "abc"}, True),
        ({"StringEqualsIfExists": {"k": "a"}}, {}, True),
        (
            {"ArnLike": {"k": "arn:aws:elasticfilesystem:*:*:access-point/*"}},
            {"k": "arn:aws:elasticfilesystem:us-east-1:1:access-point/fsap-1"},
            True,
        ),
        (
            {"ArnNotEquals": {"k": "arn:aws:elasticfilesystem:us-east-1:1:access-point/fsap-1"}},
            {"k": "arn:aws:elasticfilesystem:us-east-1:1:access-point/fsap-1"},
            False,
        ),
        (
            {"ArnEquals": {"ecs:cluster": "arn:aws:ecs:us-east-1:1:cluster/c"}},
            {"ecs:cluster": "arn:aws:ecs:us-east-1:1:cluster/other"},
            False,
        ),
        ({"Null": {"aws:ResourceTag/t": "false"}}, {"aws:ResourceTag/t": "a"}, True),
        ({"Null": {"aws:ResourceTag/t": "false"}}, {}, False),
        ({"Null": {"aws:ResourceTag/t": "true"}}, {}, True),
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"}, False),
        ({"BoolIfExists": {"x": "false"}}, {}, True),
        ({"NumericLessThan": {"s3:TlsVersion": 1.2}}, {"s3:TlsVersion": "1.3"}, False),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "z"]}}, {"aws:TagKeys": ["x", "a"]}, True),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}, {}, False),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:TagKeys": ["a", "c"]}, False),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {}, True),  # vacuously true
        ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "10.1.2.3"}, True),
    ],
)
def test_condition_operators(condition: dict[str, Any], context: dict[str, Any], expected: bool) -> None:
    assert allowed([allow(Condition=condition)], get(**context)) is expected


def test_an_unknown_operator_stops_rather_than_guesses() -> None:
    with pytest.raises(UnsupportedConditionError):
        allowed([allow(Condition={"StringSoundsLike": {"k": "a"}})], get(k="a"))


def test_a_resource_policy_naming_the_caller_allows_on_its_own() -> None:
    policy = ResourcePolicy({"Statement": [allow(Principal={"AWS": ROLE})]})
    assert evaluate(get(), [], policy)


def test_a_resource_policy_naming_the_account_delegates_to_identity_policies() -> None:
    policy = ResourcePolicy({"Statement": [allow(Principal={"AWS": ROOT})]})
    assert not evaluate(get(), [], policy)
    assert allowed([allow()], get(), policy)


def test_a_deny_in_the_resource_policy_refuses() -> None:
    deny = {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    policy = ResourcePolicy({"Statement": [deny]})
    assert not allowed([allow()], get(**{"aws:SecureTransport": "false"}), policy)
    assert allowed([allow()], get(**{"aws:SecureTransport": "true"}), policy)


def test_a_key_policy_must_allow_the_caller_or_its_account() -> None:
    key = "arn:aws:kms:us-east-1:111111111111:key/k"
    request = Request(ROLE, "kms:Decrypt", key)
    identity = [allow("kms:Decrypt")]
    silent = ResourcePolicy(
        {"Statement": [allow("kms:*", Principal={"Service": "logs.amazonaws.com"})]}, required=True
    )
    assert not allowed(identity, request, silent)
    delegating = ResourcePolicy({"Statement": [allow("kms:*", Principal={"AWS": ROOT})]}, required=True)
    assert allowed(identity, request, delegating)


def test_a_service_principal_is_matched_by_name_and_its_conditions() -> None:
    function = "arn:aws:lambda:us-east-1:111111111111:function:f"
    rule = "arn:aws:events:us-east-1:111111111111:rule/r"
    statement = allow(
        "lambda:InvokeFunction",
        function,
        Principal={"Service": "events.amazonaws.com"},
        Condition={"ArnLike": {"AWS:SourceArn": rule}},
    )
    policy = ResourcePolicy({"Statement": [statement]})
    invoke = Request("events.amazonaws.com", "lambda:InvokeFunction", function, {"aws:SourceArn": rule})
    assert evaluate(invoke, [], policy)
    other = Request("events.amazonaws.com", "lambda:InvokeFunction", function, {"aws:SourceArn": rule + "x"})
    assert not evaluate(other, [], policy)


def test_policy_variables_are_filled_from_the_context() -> None:
    statement = allow(resource=f"{BUCKET}/${{aws:PrincipalTag/team}}/*")
    assert allowed([statement], get(**{"aws:PrincipalTag/team": "d-1"}))
    assert not allowed([statement], get(**{"aws:PrincipalTag/team": "d-2"}))
