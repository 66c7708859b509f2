"""What each setting is: its type, default, bounds and rules, declared once.

The strict reader (``config/reader.py``) takes a setting's type, default, bounds, choices and
pattern from here, so what is checked and what ``docs/settings.md`` says (generated from
these declarations by ``python -m config --docs``) cannot drift apart. A rule that depends on
another setting or on the environment's ``kind`` is checked in the parser and stated here in
words (``rules``), next to the bounds it adds to.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["integer", "string", "optional string", "boolean", "strings", "object", "value"]

_TYPE_NAMES: dict[str, str] = {
    "integer": "whole number",
    "string": "string",
    "optional string": "string, optional",
    "boolean": "true or false",
    "strings": "list of strings",
    "object": "object",
}


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


class SpecError(Exception):
    """A parser read a setting that no declaration describes: a bug, not a bad setting."""


@dataclass(frozen=True)
class Setting:
    name: str
    kind: Kind
    meaning: str
    default: Any = REQUIRED
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[Any, ...] | None = None
    # How the docs name a long list of choices ("a retention CloudWatch Logs accepts").
    choices_name: str | None = None
    pattern: str | None = None
    pattern_rule: str | None = None
    # Rules beyond the bounds, in words: those that involve other settings or the kind.
    rules: tuple[str, ...] = ()
    # The type in words, for a setting of kind "value" (several shapes, checked by its parser).
    type_name: str | None = None
    # A list whose entries may repeat (lists refuse repeats unless this is set).
    repeats: bool = False

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def type_text(self) -> str:
        return self.type_name or _TYPE_NAMES[self.kind]

    def rule_text(self) -> str:
        """The rule in words: the bounds, the choices, the pattern, then ``rules``."""
        parts: list[str] = []
        if self.choices is not None:
            listed = ", ".join(f"`{c}`" if isinstance(c, str) else str(c) for c in self.choices)
            each = "each one of" if self.kind == "strings" else "one of"
            parts.append(self.choices_name or f"{each} {listed}")
        if self.minimum is not None and self.maximum is not None:
            parts.append(f"{self.minimum:,} to {self.maximum:,}")
        elif self.minimum is not None:
            parts.append(f"at least {self.minimum:,}")
        elif self.maximum is not None:
            parts.append(f"at most {self.maximum:,}")
        if self.pattern_rule:
            parts.append(self.pattern_rule.removeprefix("must be "))
        if self.kind == "strings" and not self.repeats:
            parts.append("no repeats")
        parts.extend(self.rules)
        return "; ".join(parts)


@dataclass(frozen=True)
class Group:
    """An object of settings: a section of ``cdk.json`` such as ``network``.

    With ``names``, the object's keys are those names and each holds the one entry of
    ``entries``, named after what the names are (``service.agents.<agent>``: the same
    settings for every agent).
    """

    name: str
    meaning: str
    entries: tuple[Setting | Group, ...]
    names: tuple[str, ...] | None = None
    # An object that may be left out (read as {}: every setting in it at its default).
    optional: bool = False
    # Keys of one object that must be written in the environment itself, never in defaults.
    per_environment: tuple[str, ...] = field(default=())

    def entry(self, name: str) -> Setting | Group | None:
        if self.names is not None:
            return self.entries[0] if name in self.names else None
        return next((e for e in self.entries if e.name == name), None)

    def setting(self, name: str, path: str) -> Setting:
        found = self.entry(name)
        if not isinstance(found, Setting):
            raise SpecError(f"{path}.{name} is read as a setting but config declares no such setting")
        return found

    def group(self, name: str, path: str) -> Group:
        found = self.entry(name)
        if not isinstance(found, Group):
            raise SpecError(f"{path}.{name} is read as an object but config declares no such group")
        return found

    def walk(self, prefix: str = "") -> Iterator[tuple[str, Setting | Group]]:
        """(dotted key, entry) of every entry below this group, depth first."""
        for entry in self.entries:
            key = f"{prefix}{entry.name}"
            yield key, entry
            if isinstance(entry, Group):
                yield from entry.walk(f"{key}.")


# Shorthands for the declarations in each settings module.


def integer(name: str, meaning: str, **rules: Any) -> Setting:
    return Setting(name, "integer", meaning, **rules)


def string(name: str, meaning: str, **rules: Any) -> Setting:
    return Setting(name, "string", meaning, **rules)


def optional_string(name: str, meaning: str, **rules: Any) -> Setting:
    return Setting(name, "optional string", meaning, default=None, **rules)


def boolean(name: str, meaning: str, **rules: Any) -> Setting:
    return Setting(name, "boolean", meaning, **rules)


def strings(name: str, meaning: str, **rules: Any) -> Setting:
    return Setting(name, "strings", meaning, **rules)
