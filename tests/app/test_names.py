"""The one resource-name helper and the one case helper (config/names.py)."""

from __future__ import annotations

import pytest

from config.names import pascal, resource_name


def test_resource_names_start_with_the_environment() -> None:
    assert resource_name("prod") == "outpost-prod"
    assert resource_name("prod", "audit") == "outpost-prod-audit"
    assert resource_name("dev", "claude", "dispatch") == "outpost-dev-claude-dispatch"
    assert resource_name("dev", "github-token", separator="/") == "outpost/dev/github-token"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("claude", "Claude"),
        ("control-plane", "ControlPlane"),
        ("warm_pool", "WarmPool"),
        ("ecr.api", "EcrApi"),
        ("staging2", "Staging2"),
    ],
)
def test_pascal_case_of_a_setting_name(name: str, expected: str) -> None:
    assert pascal(name) == expected
