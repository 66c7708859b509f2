"""Reading synthesized templates for people: names, intrinsic functions, resources by type."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class StackTemplate:
    """One stack of one environment: ``Prod/Network`` and its template."""

    stage: str
    stack: str
    body: Mapping[str, Any]

    @classmethod
    def load(cls, stage: str, stack: str, path: Path) -> StackTemplate:
        return cls(stage, stack, json.loads(path.read_text()))

    @property
    def short(self) -> str:
        """``Network`` for ``Prod/Network``."""
        return self.stack.split("/", 1)[-1]

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        resources: Mapping[str, Mapping[str, Any]] = self.body.get("Resources", {})
        return resources

    def of_type(self, *types: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        for logical_id, resource in sorted(self.resources.items()):
            if resource.get("Type") in types:
                yield logical_id, resource

    def name(self, logical_id: str) -> str:
        """The construct path below the stack (``Network/FlowLogs``), else the logical id."""
        resource = self.resources.get(logical_id)
        if resource is None:
            return logical_id
        path = str(resource.get("Metadata", {}).get("aws:cdk:path", logical_id))
        path = path.removesuffix("/Resource")
        prefix = self.stack + "/"
        return path[len(prefix) :] if path.startswith(prefix) else path

    def render(self, value: Any) -> str:
        """An intrinsic function as a reader would say it (``Network/FlowLogs.Arn``)."""
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return ", ".join(self.render(v) for v in value)
        if isinstance(value, dict) and len(value) == 1:
            (fn, arg), *_ = value.items()
            if fn == "Ref":
                return f"${{{arg}}}" if str(arg).startswith("AWS::") else self.name(str(arg))
            if fn == "Fn::GetAtt":
                return f"{self.name(str(arg[0]))}.{arg[1]}"
            if fn == "Fn::Join":
                return str(arg[0]).join(self.render(v) for v in arg[1])
            if fn == "Fn::Sub":
                return str(arg if isinstance(arg, str) else arg[0])
            if fn == "Fn::ImportValue":
                return f"import({self.render(arg)})"
            if fn == "Fn::GetStackOutput" and isinstance(arg, dict):
                return f"{arg.get('StackName')}:{output_name(str(arg.get('OutputName')))}"
        return json.dumps(value, sort_keys=True)

    def readable(self, value: Any) -> Any:
        """``value`` with every intrinsic function in it rendered (for JSON of conditions)."""
        if isinstance(value, dict):
            if len(value) == 1 and next(iter(value)).startswith(("Ref", "Fn::")):
                return self.render(value)
            return {k: self.readable(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.readable(v) for v in value]
        return value

    def refers_to(self, value: Any, logical_id: str) -> bool:
        """Whether ``value`` references ``logical_id`` (Ref, GetAtt, or an import naming it)."""
        if isinstance(value, dict):
            if value.get("Ref") == logical_id:
                return True
            if "Fn::GetAtt" in value and value["Fn::GetAtt"][0] == logical_id:
                return True
            if "Fn::ImportValue" in value and logical_id in json.dumps(value["Fn::ImportValue"]):
                return True
            # A weak cross-stack reference names the producer's output after the logical id.
            if "Fn::GetStackOutput" in value and logical_id in str(
                value["Fn::GetStackOutput"].get("OutputName")
            ):
                return True
            return any(self.refers_to(v, logical_id) for v in value.values())
        if isinstance(value, list):
            return any(self.refers_to(v, logical_id) for v in value)
        return False


# A resource as a reference names it: the stack that holds it, its logical id, the attribute
# (``Arn``) or ``None`` for a ``Ref``.
Target = tuple[StackTemplate, str, str | None]


def resolve(stacks: Sequence[StackTemplate], stack: StackTemplate, value: Any) -> Target | None:
    """The resource ``value`` refers to, following cross-stack references to their producer
    (``Fn::GetStackOutput`` and ``Fn::ImportValue`` to the stack with that output); ``None``
    for anything that is not one reference to a resource of the environment."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    (fn, arg), *_ = value.items()
    if fn == "Ref" and arg in stack.resources:
        return stack, str(arg), None
    if fn == "Fn::GetAtt" and isinstance(arg, list) and arg[0] in stack.resources:
        return stack, str(arg[0]), str(arg[1])
    if fn in ("Fn::GetStackOutput", "Fn::ImportValue"):
        wanted = str(arg.get("OutputName")) if isinstance(arg, dict) else stack.render(arg)
        for producer in stacks:
            for name, output in producer.body.get("Outputs", {}).items():
                export = output.get("Export", {}).get("Name")
                if wanted in (name, export):
                    return resolve(stacks, producer, output.get("Value"))
    return None


def references(value: Any) -> Iterator[Mapping[str, Any]]:
    """Every reference inside ``value`` (``Ref``, ``Fn::GetAtt``, cross-stack outputs)."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in REFERENCES:
            yield value
            return
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


REFERENCES = frozenset({"Ref", "Fn::GetAtt", "Fn::GetStackOutput", "Fn::ImportValue"})

# What CDK names the output (or export) behind a cross-stack reference:
# PublishOutput + Ref|FnGetAtt + logical id (8-hex suffix) [+ attribute] + 8-hex hash.
_OUTPUT = re.compile(r"^(?:PublishOutput|ExportsOutput)(Ref|FnGetAtt)(.+)[0-9A-F]{8}$")
_GET_ATT = re.compile(r"^(.+?)[0-9A-F]{8}([A-Za-z]+)$")
_HASHED_ID = re.compile(r"^(.+?)[0-9A-F]{8}$")


def output_name(name: str) -> str:
    """``PublishOutputFnGetAttArtifactsBucket88671897Arn8A95CC21`` -> ``ArtifactsBucket.Arn``,
    ``PublishOutputRefTablesDispatches1A2B3C4D5E6F7A8B`` -> ``TablesDispatches``; any other
    name as it is."""
    match = _OUTPUT.match(name)
    if not match:
        return name
    kind, rest = match.groups()
    if kind == "FnGetAtt":
        attribute = _GET_ATT.match(rest)
        return f"{attribute.group(1)}.{attribute.group(2)}" if attribute else rest
    hashed = _HASHED_ID.match(rest)
    return hashed.group(1) if hashed else rest


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
