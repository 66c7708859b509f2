"""Acknowledged day-two changes: a replacement or deletion of stateful data, or a change of an
output another stack reads, that an environment's owner has accepted, with the reason.

``make changes`` and ``make deploy`` (tools/changes) refuse those changes unless the exact
change is listed here. "Exact" is the change's fingerprint, which ``make changes`` prints on
the refusing line: a hash of the resource (or output) as deployed before and as it will be
after. Once the change is deployed the "before" is different, so the acknowledgement can no
longer approve anything (a later replacement of the same resource has a new fingerprint);
``make changes`` then names it as spent, for removal. docs/changes.md has the procedure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from config.errors import ConfigError
from config.reader import Section
from config.schema import Group, Setting

CHANGE_ID = re.compile(r"(replace|delete|output):[0-9a-f]{12}")
_LOGICAL_ID = re.compile(r"[A-Za-z0-9]{1,255}")
_STACK = re.compile(r"[A-Za-z][A-Za-z0-9]{0,127}")
MIN_REASON = 20
_KEYS = ("stack", "resource", "output", "change", "reason")

CHANGES = Group(
    "changes",
    "Day-two changes `make changes` and `make deploy` would otherwise refuse (docs/changes.md).",
    (
        Setting(
            "acknowledged",
            "value",
            "each accepted change: `stack` (e.g. `Registry`), `resource` or `output` (its logical id), "
            "`change` (the id `make changes` prints, e.g. `replace:0123456789ab`) and `reason`",
            type_name="list of objects",
            default=(),
            rules=(
                f"`reason` at least {MIN_REASON} characters",
                "a `replace:`/`delete:` change names a `resource`, an `output:` change an `output`",
                "no repeats",
            ),
        ),
    ),
    optional=True,
)


@dataclass(frozen=True)
class Acknowledgement:
    stack: str  # "Registry": the stack's id within the environment's stage
    logical_id: str  # the resource's or the output's logical id
    change: str  # "replace:0123456789ab"
    reason: str

    @property
    def action(self) -> str:
        return self.change.split(":", 1)[0]


@dataclass(frozen=True)
class ChangesConfig:
    acknowledged: tuple[Acknowledgement, ...] = ()


def _entry(key: str, value: Any) -> Acknowledgement:
    if not isinstance(value, dict):
        raise ConfigError(key, value, "must be an object with stack, resource or output, change and reason")
    for name in value:
        if name not in _KEYS:
            raise ConfigError(f"{key}.{name}", value[name], "is not a known setting")
    for name in ("stack", "change", "reason"):
        if not isinstance(value.get(name), str):
            raise ConfigError(f"{key}.{name}", value.get(name), "is required and must be a string")
    stack, change, reason = value["stack"], value["change"], value["reason"]
    if not _STACK.fullmatch(stack):
        raise ConfigError(f"{key}.stack", stack, "must be a stack's id in the stage, e.g. Registry")
    if not CHANGE_ID.fullmatch(change):
        raise ConfigError(
            f"{key}.change",
            change,
            "must be the id make changes prints (replace:, delete: or output: and 12 hex digits)",
        )
    target = "output" if change.startswith("output:") else "resource"
    other = "resource" if target == "output" else "output"
    if other in value:
        rule = (
            "an output: change names an output, not a resource"
            if target == "output"
            else f"a {change.split(':')[0]}: change names a resource, not an output"
        )
        raise ConfigError(f"{key}.{other}", value[other], rule)
    logical_id = value.get(target)
    if not isinstance(logical_id, str) or not _LOGICAL_ID.fullmatch(logical_id):
        raise ConfigError(f"{key}.{target}", logical_id, "is required: the logical id make changes prints")
    if len(reason.strip()) < MIN_REASON:
        raise ConfigError(f"{key}.reason", reason, f"must say why, in at least {MIN_REASON} characters")
    return Acknowledgement(stack=stack, logical_id=logical_id, change=change, reason=reason.strip())


def parse_changes(section: Section) -> ChangesConfig:
    raw = section.raw("acknowledged")
    key = section.key("acknowledged")
    if not isinstance(raw, (list, tuple)):
        raise ConfigError(key, raw, "must be a list of objects")
    entries = tuple(_entry(f"{key}[{index}]", value) for index, value in enumerate(raw))
    seen: set[tuple[str, str, str]] = set()
    for index, entry in enumerate(entries):
        identity = (entry.stack, entry.logical_id, entry.change)
        if identity in seen:
            raise ConfigError(f"{key}[{index}]", entry.change, "must not repeat an entry")
        seen.add(identity)
    section.done()
    return ChangesConfig(acknowledged=entries)
