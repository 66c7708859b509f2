"""What the emulator cannot take as CloudFormation would, and what the rehearsal does about it.

moto's CloudFormation (``moto/cloudformation/parsing.py``) creates a resource only if moto
has a model for its type; ``resource_class_from_type`` returns nothing for any other type,
which is then skipped without a trace: not created, and a ``Ref``/``Fn::GetAtt`` to it
yields nothing (outputs that read it vanish). ``Custom::`` types get a stand-in that waits
for a response its Lambda would send. So, before a template goes to the emulator:

- ``Fn::GetStackOutput`` (unknown to moto) is replaced by the producing stack's output, read
  from the emulator (``DescribeStacks``), as CloudFormation does for a weak reference.
- ``Ref``/``Fn::GetAtt`` of a type moto skips, or an attribute its model cannot answer,
  become the realistic value of ``tools.rehearsal.physical_names`` (an ARN of the right form and length).
- Defects of moto 5.2.5 that AWS does not have are worked around, each listed in
  ``WORKAROUNDS`` and in the rehearsal's output.

``coverage(types, support)`` sorts the types a deployment used into what the emulator skipped,
what the rehearsal answered in its place, and what it only stored.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tools.rehearsal.emulator import Support
from tools.rehearsal.resolve import Resolver

WORKAROUNDS = (
    "AWS::KMS::Key Tags dropped (moto 5.2.5 reads a key's Tags as TagKey/TagValue, fails on Key/Value)",
    "AWS::Events::Archive EventPattern sent as a JSON string (moto 5.2.5 fails on the object AWS takes)",
    "AWS::Events::Archive without ArchiveName named as CloudFormation names it, cut to 48 characters "
    "(moto 5.2.5 generates <stack>-<logical id>-<random> uncut, which its own CreateArchive refuses "
    "past 48: any stage name longer than Prod)",
    "certificate stand-ins requested in the emulator's ACM; listeners get the ARN it chose (not settable)",
    "Custom:: resources answered SUCCESS by the rehearsal (moto waits for their Lambda, which it cannot run)",
    "on update, a bucket without BucketName given the name it has (moto 5.2.5 fails to update it: KeyError)",
    "on update, a removed resource with DeletionPolicy Retain kept, a removed ECR repository with "
    "EmptyOnDelete emptied and a removed role's managed policies detached first (moto 5.2.5 deletes the "
    "first, refuses the others)",
)


@dataclass(frozen=True)
class MissingReferenceError(LookupError):
    """A ``Fn::GetStackOutput`` whose stack or output the emulator does not have."""

    resource: str
    stack_name: str
    output: str

    def __str__(self) -> str:
        return (
            f"{self.resource} reads output {self.output} of stack {self.stack_name}, which it does not have"
        )


def for_emulator(
    template: dict[str, Any], resolver: Resolver, outputs: Callable[[str, str], Any], support: Support
) -> dict[str, Any]:
    """A copy of ``template`` the emulator can create; ``outputs(stack, name)`` reads the emulator
    (raises ``KeyError`` when the stack or output is not there)."""
    body = copy.deepcopy(template)
    resources = body.get("Resources", {})

    def substitute(value: Any, where: str) -> Any:
        if isinstance(value, list):
            return [substitute(v, where) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), *_ = value.items()
            if key == "Fn::GetStackOutput":
                reference = substitute(arg, where)
                try:
                    return outputs(str(reference["StackName"]), str(reference["OutputName"]))
                except KeyError:
                    raise MissingReferenceError(
                        where, str(reference["StackName"]), str(reference["OutputName"])
                    ) from None
            if key == "Ref" and arg in resources and not created(resources[arg]["Type"], support):
                return resolver.reference(arg, "Ref")
            if key == "Fn::GetAtt":
                logical_id, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
                kind = resources.get(logical_id, {}).get("Type", "")
                if kind and not (created(kind, support) and answerable(kind, attribute, support)):
                    return resolver.reference(logical_id, attribute)
        return {k: substitute(v, where) for k, v in value.items()}

    for logical_id, resource in resources.items():
        resources[logical_id] = substitute(resource, logical_id)
        properties = resources[logical_id].get("Properties", {})
        if resource["Type"] == "AWS::KMS::Key":
            properties.pop("Tags", None)
        if resource["Type"] == "AWS::Events::Archive":
            if isinstance(properties.get("EventPattern"), dict):
                properties["EventPattern"] = json.dumps(properties["EventPattern"])
            if "ArchiveName" not in properties:
                # CloudFormation cuts a generated name to the type's maximum (tools.rehearsal.physical_names).
                properties["ArchiveName"] = resolver.reference(logical_id, "ArchiveName")
    body["Outputs"] = {k: substitute(v, f"output {k}") for k, v in body.get("Outputs", {}).items()}
    body.pop("Rules", None)  # checked by the rehearsal itself (rehearsal.deploy.check_rules)
    return body


def created(resource_type: str, support: Support) -> bool:
    """Whether the emulator creates a resource of this type (custom resources: a stand-in)."""
    return resource_type.startswith("Custom::") or resource_type in support.modeled


def answerable(resource_type: str, attribute: str, support: Support) -> bool:
    """Whether the emulator's model of ``resource_type`` gives ``Fn::GetAtt`` ``attribute``."""
    return resource_type.startswith("Custom::") or (resource_type, attribute) in support.answerable


def attributes(templates: Iterable[dict[str, Any]]) -> set[tuple[str, str]]:
    """Every ``(type, attribute)`` of a ``Fn::GetAtt`` in ``templates`` (what to ask the emulator)."""
    found: set[tuple[str, str]] = set()

    def walk(value: Any, resources: dict[str, Any]) -> None:
        if isinstance(value, dict):
            target = value.get("Fn::GetAtt")
            if target is not None and len(value) == 1:
                logical_id, attribute = target.split(".", 1) if isinstance(target, str) else target
                if logical_id in resources and isinstance(attribute, str):
                    found.add((resources[logical_id]["Type"], attribute))
            for v in value.values():
                walk(v, resources)
        elif isinstance(value, list):
            for v in value:
                walk(v, resources)

    for template in templates:
        walk(template, template.get("Resources", {}))
    return found


@dataclass(frozen=True)
class Coverage:
    skipped: tuple[str, ...]  # no moto model: not created at all
    answered: tuple[str, ...]  # custom resources: the rehearsal answers for their Lambda
    stored: tuple[str, ...]  # created as a record: no behaviour (no policy evaluated, no task run)


def coverage(types: Iterable[str], support: Support) -> Coverage:
    kinds = sorted(set(types))
    return Coverage(
        skipped=tuple(t for t in kinds if not created(t, support)),
        answered=tuple(t for t in kinds if t.startswith("Custom::")),
        stored=tuple(t for t in kinds if t in support.modeled),
    )
