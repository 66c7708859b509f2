"""What a deploy of the "after" templates does to each resource and output of the "before" ones.

Per resource: ``add``, ``update`` (in place), ``replace`` or ``delete``; a replacement names the
create-only properties that force it (tools/changes/schemas.py), or ``Type``. A property whose
text is unchanged still changes when it reads a resource that is replaced (``Ref``,
``Fn::GetAtt``, ``Fn::Sub``: the new resource has a new id) or an output of another stack that
changes (``Fn::GetStackOutput``); that is followed to a fixpoint, across the stacks of an
environment, because this is how one replaced subnet replaces the groups and services on it.

Per output: ``update`` (its value will differ) or ``delete``; with the stacks that read it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tools.changes import schemas

Template = Mapping[str, Any]


@dataclass(frozen=True)
class ResourceChange:
    stack: str  # "Prod/Registry"
    logical_id: str
    type_name: str
    action: str  # add | update | replace | delete
    causes: tuple[str, ...] = ()  # what forces a replacement: create-only properties, or "Type"
    before: Any = None  # {"Type", "Properties"} before (None for an add)
    after: Any = None  # {"Type", "Properties"} after (None for a delete)
    retained: bool = False  # DeletionPolicy/UpdateReplacePolicy Retain: the old one is kept, orphaned

    def forced_by(self) -> str:
        """``RepositoryName outpost-prod/claude -> outpost-new/claude``: the causes, with the old
        and new value of each one that is a plain string (a name, a CIDR), else just its name."""
        parts: list[str] = []
        for cause in self.causes:
            old = (self.before or {}).get("Properties", {}).get(cause)
            new = (self.after or {}).get("Properties", {}).get(cause)
            plain = isinstance(old, str) and isinstance(new, str)
            parts.append(f"{cause} {old} -> {new}" if plain else cause)
        return ", ".join(parts)

    @property
    def fingerprint(self) -> str:
        """``replace:0123456789ab``: this exact change (before and after); see config/changes.py."""
        return (
            f"{self.action}:{fingerprint(self.stack, self.logical_id, self.action, self.before, self.after)}"
        )


@dataclass(frozen=True)
class OutputChange:
    stack: str  # the producer, "Prod/Data"
    output: str
    action: str  # update | delete
    consumers: tuple[str, ...]  # stack paths that read it with Fn::GetStackOutput
    before: Any = None
    after: Any = None
    why: str = ""

    @property
    def fingerprint(self) -> str:
        return f"output:{fingerprint(self.stack, self.output, self.action, self.before, self.after)}"


def fingerprint(stack: str, logical_id: str, action: str, before: Any, after: Any) -> str:
    text = json.dumps([stack.split("/")[-1], logical_id, action, before, after], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def definition(resource: Mapping[str, Any] | None) -> Any:
    """What a fingerprint covers: the type and the properties (not metadata, not the CDK path)."""
    if resource is None:
        return None
    return {"Type": resource.get("Type"), "Properties": resource.get("Properties", {})}


def changed_paths(before: Any, after: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The property paths where ``before`` and ``after`` differ (a list differs as a whole)."""
    if before == after:
        return
    if (
        isinstance(before, dict)
        and isinstance(after, dict)
        and not _intrinsic(before)
        and not _intrinsic(after)
    ):
        for key in sorted(set(before) | set(after)):
            yield from changed_paths(before.get(key), after.get(key), (*path, key))
        return
    yield path


def _intrinsic(value: dict[str, Any]) -> bool:
    return len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref"))


def references(value: Any) -> Iterator[tuple[str, str] | str]:
    """Logical ids a value reads in its own template (str) and (stack name, output) pairs it
    reads from other stacks."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
                if isinstance(target, str):
                    yield target
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                if isinstance(text, str):
                    for part in text.split("${")[1:]:
                        yield part.split("}")[0].split(".")[0]
            elif key == "Fn::GetStackOutput" and isinstance(inner, dict):
                stack, output = inner.get("StackName"), inner.get("OutputName")
                if isinstance(stack, str) and isinstance(output, str):
                    yield (stack, output)
            yield from references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from references(inner)


def _reading_paths(
    properties: Any, replaced: set[str], changed_outputs: set[tuple[str, str]], path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """Property paths whose value reads a replaced resource or a changing output."""
    if isinstance(properties, dict) and not _intrinsic(properties):
        for key, inner in properties.items():
            yield from _reading_paths(inner, replaced, changed_outputs, (*path, key))
        return
    for ref in references(properties):
        if (isinstance(ref, str) and ref in replaced) or (isinstance(ref, tuple) and ref in changed_outputs):
            yield path
            return


def _retained(resource: Mapping[str, Any], *keys: str) -> bool:
    return any(resource.get(key) in ("Retain", "RetainExceptOnCreate", "Snapshot") for key in keys)


def _stack_name(path: str) -> str:
    return path.replace("/", "-")


def compare(
    before: Mapping[str, Template], after: Mapping[str, Template], region_of: Mapping[str, str]
) -> tuple[list[ResourceChange], list[OutputChange]]:
    """Every resource and output change from ``before`` to ``after`` (both by stack path).

    A stack only in ``before`` is not deleted by a deploy (``cdk deploy`` never deletes a stack):
    it is left out. ``region_of`` gives each stack's region (for the schemas)."""
    paths = [path for path in after if path in before]
    consumers: dict[tuple[str, str], set[str]] = {}
    for path in after:
        for ref in references(after[path].get("Resources", {})):
            if isinstance(ref, tuple):
                consumers.setdefault(ref, set()).add(path)
    replaced: dict[str, set[str]] = {path: set() for path in paths}
    changed_outputs: set[tuple[str, str]] = set()
    while True:
        grew = False
        for path in paths:
            old, new = before[path].get("Resources", {}), after[path].get("Resources", {})
            for logical_id in set(old) & set(new):
                if logical_id in replaced[path]:
                    continue
                if _replacement_causes(
                    old[logical_id],
                    new[logical_id],
                    region_of.get(path, "us-east-1"),
                    replaced[path],
                    changed_outputs,
                ):
                    replaced[path].add(logical_id)
                    grew = True
            for output, value in before[path].get("Outputs", {}).items():
                key = (_stack_name(path), output)
                if key in changed_outputs:
                    continue
                new_value = after[path].get("Outputs", {}).get(output)
                if (
                    new_value is None
                    or new_value.get("Value") != value.get("Value")
                    or any(
                        True for _ in _reading_paths(new_value.get("Value"), replaced[path], changed_outputs)
                    )
                ):
                    changed_outputs.add(key)
                    grew = True
        if not grew:
            break
    resources: list[ResourceChange] = []
    outputs: list[OutputChange] = []
    for path in sorted(after):
        old = before.get(path, {}).get("Resources", {}) if path in before else {}
        new = after[path].get("Resources", {})
        region = region_of.get(path, "us-east-1")
        for logical_id in sorted(set(old) | set(new)):
            o, n = old.get(logical_id), new.get(logical_id)
            if o is None and n is not None:
                resources.append(ResourceChange(path, logical_id, n["Type"], "add", after=definition(n)))
            elif n is None and o is not None:
                resources.append(
                    ResourceChange(
                        path,
                        logical_id,
                        o["Type"],
                        "delete",
                        ("removed",),
                        before=definition(o),
                        retained=_retained(o, "DeletionPolicy"),
                    )
                )
            elif o is not None and n is not None:
                causes = _replacement_causes(o, n, region, replaced.get(path, set()), changed_outputs)
                if causes:
                    resources.append(
                        ResourceChange(
                            path,
                            logical_id,
                            n["Type"],
                            "replace",
                            causes,
                            definition(o),
                            definition(n),
                            retained=_retained(o, "UpdateReplacePolicy"),
                        )
                    )
                elif definition(o) != definition(n) or any(
                    True
                    for _ in _reading_paths(
                        n.get("Properties", {}), replaced.get(path, set()), changed_outputs
                    )
                ):
                    resources.append(
                        ResourceChange(
                            path, logical_id, n["Type"], "update", (), definition(o), definition(n)
                        )
                    )
        for output, value in sorted(before.get(path, {}).get("Outputs", {}).items()):
            key = (_stack_name(path), output)
            if key not in changed_outputs:
                continue
            new_value = after[path].get("Outputs", {}).get(output)
            action = "delete" if new_value is None else "update"
            why = (
                "removed"
                if new_value is None
                else (
                    "its value changes"
                    if new_value.get("Value") != value.get("Value")
                    else "it reads a replaced resource"
                )
            )
            outputs.append(
                OutputChange(
                    path,
                    output,
                    action,
                    tuple(sorted(consumers.get(key, ()))),
                    value.get("Value"),
                    None if new_value is None else new_value.get("Value"),
                    why,
                )
            )
    return resources, outputs


def _replacement_causes(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    region: str,
    replaced: set[str],
    changed_outputs: set[tuple[str, str]],
) -> tuple[str, ...]:
    if old.get("Type") != new.get("Type"):
        return ("Type",)
    changed = set(changed_paths(old.get("Properties", {}), new.get("Properties", {})))
    changed.update(_reading_paths(new.get("Properties", {}), replaced, changed_outputs))
    if not changed:
        return ()
    type_schema = schemas.schema(region, str(new["Type"]))
    forced = schemas.forcing(type_schema, frozenset(changed))
    if forced:
        return forced
    return tuple(f"{name} (conditionally)" for name in schemas.maybe_forcing(type_schema, frozenset(changed)))
