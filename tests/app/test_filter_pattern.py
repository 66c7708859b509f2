"""The filter-pattern evaluator (tests/filter_pattern.py) the CIS filter tests rest on."""

from __future__ import annotations

import pytest

from tests.filter_pattern import PatternError, matches

EVENT = {
    "eventName": "ConsoleLogin",
    "errorCode": "Client.UnauthorizedOperation",
    "userIdentity": {"type": "Root", "arn": "arn:aws:iam::111111111111:root"},
    "additionalEventData": {"MFAUsed": "No"},
    "readOnly": False,
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ $.eventName = "ConsoleLogin" }', True),
        ("{ $.eventName = ConsoleLogin }", True),
        ("{ $.eventName = consolelogin }", False),  # case-sensitive
        ('{ $.eventName != "ConsoleLogin" }', False),
        ('{ $.userIdentity.type = "Root" }', True),
        ('{ $.errorCode = "*UnauthorizedOperation" }', True),
        ('{ $.errorCode = "AccessDenied*" }', False),
        ('{ $.errorCode = "Client.*Operation" }', True),
        ("{ $.userIdentity.invokedBy NOT EXISTS }", True),
        ("{ $.userIdentity.type NOT EXISTS }", False),
        # A missing property satisfies neither = nor !=.
        ('{ $.errorMessage != "Failed authentication" }', False),
        ('{ $.errorMessage = "*" }', False),
        ("{ $.readOnly = false }", True),
        # Precedence: && binds tighter than ||.
        ('{ $.eventName = "x" && $.eventName = "y" || $.userIdentity.type = "Root" }', True),
        ('{ $.eventName = "x" && ($.eventName = "y" || $.userIdentity.type = "Root") }', False),
        ('{ ($.eventName = ConsoleLogin) && (($.errorCode = "x") || ($.errorCode = "*Operation")) }', True),
        # An object or array is no string.
        ('{ $.userIdentity = "*" }', False),
    ],
)
def test_evaluates_the_subset(pattern: str, expected: bool) -> None:
    assert matches(pattern, EVENT) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        '$.eventName = "ConsoleLogin"',  # no braces
        '{ $.eventName == "ConsoleLogin" }',
        '{ $.eventName = "ConsoleLogin" ',
        '{ ($.eventName = "ConsoleLogin" }',
        '{ $.eventName = "ConsoleLogin" } x',
        '{ eventName = "ConsoleLogin" }',
        "{ $.eventName NOT EXIST }",
        '{ $.eventName = "ConsoleLogin" & $.readOnly = false }',
        '{ $.eventName = "ConsoleLogin" && }',
    ],
)
def test_refuses_what_it_cannot_read(pattern: str) -> None:
    with pytest.raises(PatternError):
        matches(pattern, EVENT)
