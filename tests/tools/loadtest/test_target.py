"""The API's URL: from a flag or the Service stack's outputs; loopback only in the self-test."""

from __future__ import annotations

import json
from typing import Any

import pytest

from config import load_environments
from tests.tools.loadtest.aws import service_stack
from tools.loadtest.cli import CDK_JSON
from tools.loadtest.target import (
    TargetError,
    api_url,
    check_url,
    require_loopback,
    service_stack_name,
    stack_outputs,
)

CONTEXT: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]


def test_the_service_stack_is_named_after_the_stage() -> None:
    for env in load_environments(CONTEXT.get):
        assert service_stack_name(env) == f"{env.stage_name}-Service"


def test_the_url_comes_from_the_stacks_api_url_output() -> None:
    client, stubber = service_stack(
        {
            "ApiUrl": "https://api.outpost.example.com",
            "ControlPlaneServiceName": "Prod-Service-ControlPlane-abc",
        }
    )
    with stubber:
        outputs = stack_outputs(client, "Prod-Service")
    stubber.assert_no_pending_responses()
    assert api_url(outputs, "Prod-Service") == "https://api.outpost.example.com"
    assert outputs["ControlPlaneServiceName"] == "Prod-Service-ControlPlane-abc"


def test_a_stack_without_the_output_is_named_in_the_error() -> None:
    with pytest.raises(TargetError, match="stack Prod-Service has no ApiUrl output"):
        api_url({}, "Prod-Service")


@pytest.mark.parametrize(
    "url", ["ftp://x.example.com", "https://", "https://a.example.com/api/v2", "api.example.com"]
)
def test_only_a_base_http_url_is_accepted(url: str) -> None:
    with pytest.raises(TargetError):
        check_url(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:1", "http://127.255.0.1", "http://[::1]:8080"])
def test_loopback_literals_pass_the_self_test_guard(url: str) -> None:
    assert require_loopback(url) == url


@pytest.mark.parametrize("url", ["http://localhost:1", "http://10.1.2.3", "http://[::ffff:127.0.0.1]:1"])
def test_names_and_other_addresses_do_not(url: str) -> None:
    with pytest.raises(TargetError, match="only sends traffic to a loopback address"):
        require_loopback(url)
