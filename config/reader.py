"""A strict reader over one object of settings.

Every getter takes the setting's type, default, bounds and choices from its declaration
(``config/schema.py``), names the key where the value was written in its error (the
environment's block or ``outpost.defaults``), and ``done()`` rejects keys that no getter
asked for, so a typo in ``cdk.json`` fails synth instead of being ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from config.errors import ConfigError
from config.schema import REQUIRED, Group, Setting, SpecError

_MISSING: Any = object()


class Section:
    """Typed, validating access to one JSON object of settings, declared by ``spec``."""

    def __init__(self, data: Any, path: str, spec: Group, *, required_hint: str = "") -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(path, data, "must be an object")
        self._data = data
        self._path = path
        self._spec = spec
        self._hint = required_hint
        self._seen: set[str] = set()

    def key(self, name: str) -> str:
        """Where ``name`` was written (``outpost.defaults...`` if inherited); its own path if nowhere."""
        where: Mapping[str, str] = getattr(self._data, "where", {})
        return where.get(name, f"{self._path}.{name}")

    def _setting(self, name: str, *kinds: str) -> Setting:
        setting = self._spec.setting(name, self._path)
        if kinds and setting.kind not in kinds:
            raise SpecError(f"{self._path}.{name} is declared {setting.kind}, read as {'/'.join(kinds)}")
        return setting

    def _raw(self, name: str, default: Any) -> Any:
        self._seen.add(name)
        if name in self._data:
            return self._data[name]
        if default is REQUIRED:
            raise ConfigError(self.key(name), None, "is required" + self._hint)
        return default

    def has(self, name: str) -> bool:
        return name in self._data

    def written(self, name: str) -> Any:
        """The value as written, unread: for an error about a key that is not a setting (any more)."""
        return self._data.get(name)

    def names(self) -> list[str]:
        """The keys written in this object (each then read by its own getter)."""
        return list(self._data)

    def raw(self, name: str) -> Any:
        """The value as written, for a setting that may take several shapes (checked by the caller)."""
        return self._raw(name, self._setting(name).default)

    def string(
        self,
        name: str,
        *,
        pattern: str | None = None,
        rule: str | None = None,
    ) -> str:
        setting = self._setting(name, "string", "optional string", "value")
        value = self._raw(name, setting.default)
        if not isinstance(value, str):
            raise ConfigError(self.key(name), value, "must be a string")
        choices = setting.choices
        if choices is not None and value not in choices:
            listed = setting.choices_name or f"one of {', '.join(choices)}"
            raise ConfigError(self.key(name), value, f"must be {listed}")
        pattern = pattern or setting.pattern
        if pattern is not None and not re.fullmatch(pattern, value):
            raise ConfigError(self.key(name), value, rule or setting.pattern_rule or f"must match {pattern}")
        return value

    def optional_string(self, name: str) -> str | None:
        setting = self._setting(name, "optional string")
        if self._raw(name, setting.default) is None:
            return None
        return self.string(name)

    def integer(self, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
        """A whole number; ``minimum``/``maximum`` narrow the declared bounds where another setting does."""
        setting = self._setting(name, "integer")
        value = self._raw(name, setting.default)
        # bool is an int subclass in Python; true/false is never a count.
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(self.key(name), value, "must be a whole number")
        choices = setting.choices
        if choices is not None and value not in choices:
            allowed = ", ".join(str(c) for c in choices)
            raise ConfigError(self.key(name), value, f"must be one of {allowed}")
        low = minimum if minimum is not None else setting.minimum
        high = maximum if maximum is not None else setting.maximum
        if low is not None and value < low:
            raise ConfigError(self.key(name), value, f"must be at least {low}")
        if high is not None and value > high:
            raise ConfigError(self.key(name), value, f"must be at most {high}")
        return value

    def boolean(self, name: str) -> bool:
        setting = self._setting(name, "boolean")
        value = self._raw(name, setting.default)
        if not isinstance(value, bool):
            raise ConfigError(self.key(name), value, "must be true or false")
        return value

    def strings(self, name: str) -> tuple[str, ...]:
        setting = self._setting(name, "strings", "value")
        value = self._raw(name, setting.default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(self.key(name), value, "must be a list of strings")
        if not setting.repeats and len(set(value)) != len(value):
            raise ConfigError(self.key(name), value, "must not repeat an entry")
        if setting.choices is not None:
            for item in value:
                if item not in setting.choices:
                    raise ConfigError(self.key(name), item, f"must be one of {', '.join(setting.choices)}")
        return tuple(value)

    def section(self, name: str) -> Section:
        group = self._spec.group(name, self._path)
        data = self._raw(name, {} if group.optional else REQUIRED)
        if not isinstance(data, Mapping):
            raise ConfigError(self.key(name), data, "must be an object")
        return Section(data, f"{self._path}.{name}", group, required_hint=self._hint)

    def done(self) -> None:
        """Reject any key no getter read: typos must not pass silently."""
        for name in self._data:
            if name not in self._seen:
                raise ConfigError(self.key(name), self._data[name], "is not a known setting")
