"""The one error type a bad setting raises."""

from __future__ import annotations

from typing import Any


class ConfigError(ValueError):
    """A setting broke a rule. ``str()`` is one line: key, value and rule."""

    def __init__(self, key: str, value: Any, rule: str) -> None:
        self.key = key
        self.value = value
        self.rule = rule
        super().__init__(f"{key} = {value!r}: {rule}")
