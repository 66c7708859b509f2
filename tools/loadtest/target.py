"""Where the load goes: the API's URL (a flag, or the Service stack's outputs) and its checks."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from config import EnvironmentConfig

# Outputs of the Service stack (stacks/service_stack.py, constructs/front_door.py).
API_URL_OUTPUT = "ApiUrl"
SERVICE_NAME_OUTPUT = "ControlPlaneServiceName"


class TargetError(Exception):
    """A target the harness will not send load to; the message is one line for the operator."""


def service_stack_name(env: EnvironmentConfig) -> str:
    """``Prod-Service``: CDK names a stage's stacks ``<Stage>-<Stack>``."""
    return f"{env.stage_name}-Service"


def check_url(url: str) -> str:
    """An http(s) URL with a host and no path beyond ``/``; returned without a trailing slash."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetError(f"--url {url!r}: must be http:// or https:// and name a host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise TargetError(f"--url {url!r}: give the API's base URL only (the ApiUrl output)")
    return url.rstrip("/")


def require_loopback(url: str) -> str:
    """The self-test's guard: only a loopback address literal (127.0.0.0/8 or [::1]).

    Names are refused, ``localhost`` included: what a name resolves to is up to the
    machine's resolver, and the self-test's traffic must never leave the machine.
    """
    url = check_url(url)
    host = urlsplit(url).hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise TargetError(
            f"--url {url}: the self-test only sends traffic to a loopback address (127.0.0.1 or [::1])"
        )
    return url


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """The outputs of one stack, by key (``cloudformation`` is a boto3 client)."""
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def api_url(outputs: dict[str, str], stack_name: str) -> str:
    if API_URL_OUTPUT not in outputs:
        raise TargetError(f"stack {stack_name} has no {API_URL_OUTPUT} output: is it deployed? or pass --url")
    return check_url(outputs[API_URL_OUTPUT])
