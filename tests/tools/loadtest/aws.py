"""boto3 clients whose calls never leave the process: botocore's Stubber answers them.

The Stubber still checks every request against the service's API model, so a misspelled
parameter or a wrong shape fails here as AWS would refuse it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.session  # type: ignore[import-untyped]
from botocore.stub import Stubber  # type: ignore[import-untyped]


@cache
def _session() -> Any:
    """One botocore session for the test run: it loads each service's API model once."""
    return botocore.session.get_session()


def stubbed(service: str) -> tuple[Any, Any]:
    """(client, stubber) for ``service``; the caller adds responses and activates the stubber."""
    client = _session().create_client(
        service, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    return client, Stubber(client)


def service_stack(outputs: dict[str, str]) -> tuple[Any, Any]:
    """A CloudFormation client that answers one DescribeStacks of Prod-Service with ``outputs``."""
    client, stubber = stubbed("cloudformation")
    stack = {
        "StackName": "Prod-Service",
        "CreationTime": "2026-01-01T00:00:00Z",
        "StackStatus": "UPDATE_COMPLETE",
        "Outputs": [{"OutputKey": key, "OutputValue": value} for key, value in outputs.items()],
    }
    stubber.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "Prod-Service"})
    return client, stubber
