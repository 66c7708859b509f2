"""A strict reader over one mapping of settings.

Every getter names the full key path in its error, and ``done()`` rejects keys that no
getter asked for, so a typo in ``cdk.json`` fails synth instead of being ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from config.errors import ConfigError

_MISSING = object()


class Section:
    """Typed, validating access to one JSON object of settings."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(path, data, "must be an object")
        self._data = data
        self._path = path
        self._seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self._path}.{name}"

    def _raw(self, name: str, default: Any) -> Any:
        self._seen.add(name)
        if name in self._data:
            return self._data[name]
        if default is _MISSING:
            raise ConfigError(self.key(name), None, "is required")
        return default

    def has(self, name: str) -> bool:
        return name in self._data

    def raw(self, name: str, default: Any = _MISSING) -> Any:
        """The value as written, for a setting that may take several shapes (checked by the caller)."""
        return self._raw(name, default)

    def string(
        self,
        name: str,
        default: Any = _MISSING,
        *,
        pattern: str | None = None,
        rule: str | None = None,
        choices: tuple[str, ...] | None = None,
    ) -> str:
        value = self._raw(name, default)
        if not isinstance(value, str):
            raise ConfigError(self.key(name), value, "must be a string")
        if choices is not None and value not in choices:
            raise ConfigError(self.key(name), value, f"must be one of {', '.join(choices)}")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise ConfigError(self.key(name), value, rule or f"must match {pattern}")
        return value

    def optional_string(
        self, name: str, *, pattern: str | None = None, rule: str | None = None
    ) -> str | None:
        if self._raw(name, None) is None:
            return None
        return self.string(name, pattern=pattern, rule=rule)

    def integer(
        self,
        name: str,
        default: Any = _MISSING,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
        choices: tuple[int, ...] | None = None,
    ) -> int:
        value = self._raw(name, default)
        # bool is an int subclass in Python; true/false is never a count.
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(self.key(name), value, "must be a whole number")
        if choices is not None and value not in choices:
            allowed = ", ".join(str(c) for c in choices)
            raise ConfigError(self.key(name), value, f"must be one of {allowed}")
        if minimum is not None and value < minimum:
            raise ConfigError(self.key(name), value, f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise ConfigError(self.key(name), value, f"must be at most {maximum}")
        return value

    def boolean(self, name: str, default: Any = _MISSING) -> bool:
        value = self._raw(name, default)
        if not isinstance(value, bool):
            raise ConfigError(self.key(name), value, "must be true or false")
        return value

    def strings(
        self,
        name: str,
        default: Any = _MISSING,
        *,
        choices: tuple[str, ...] | None = None,
        unique: bool = True,
    ) -> tuple[str, ...]:
        value = self._raw(name, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(self.key(name), value, "must be a list of strings")
        if unique and len(set(value)) != len(value):
            raise ConfigError(self.key(name), value, "must not repeat an entry")
        if choices is not None:
            for item in value:
                if item not in choices:
                    raise ConfigError(self.key(name), item, f"must be one of {', '.join(choices)}")
        return tuple(value)

    def mapping(self, name: str, default: Any = _MISSING) -> dict[str, Any]:
        value = self._raw(name, default)
        if not isinstance(value, Mapping):
            raise ConfigError(self.key(name), value, "must be an object")
        return dict(value)

    def section(self, name: str, default: Any = _MISSING) -> Section:
        return Section(self._raw(name, default), self.key(name))

    def done(self) -> None:
        """Reject any key no getter read: typos must not pass silently."""
        for name in self._data:
            if name not in self._seen:
                raise ConfigError(self.key(name), self._data[name], "is not a known setting")
