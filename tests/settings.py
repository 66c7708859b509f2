"""Changing a copy of the shipped settings, and what a refused setting must look like."""

from __future__ import annotations

from typing import Any

from config import ConfigError


def set_path(node: dict[str, Any], path: str, value: Any) -> None:
    """Set ``node[a][b][c]`` for ``path`` ``a.b.c`` (creating missing levels); ``...`` removes it."""
    *parents, last = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    if value is ...:
        node.pop(last, None)
    else:
        node[last] = value


def assert_one_clear_line(error: ConfigError, rule: str, key: str) -> None:
    """One line, naming ``rule``, with a key that contains ``key``."""
    message = str(error)
    assert "\n" not in message
    assert rule in message
    assert key in error.key
