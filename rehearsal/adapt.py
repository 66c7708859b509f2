"""What the emulator cannot take as CloudFormation would, and what the rehearsal does about it.

moto's CloudFormation (``moto/cloudformation/parsing.py``) creates a resource only if moto
has a model for its type; ``resource_class_from_type`` returns nothing for any other type,
which is then skipped without a trace: not created, and a ``Ref``/``Fn::GetAtt`` to it
yields nothing (outputs that read it vanish). ``Custom::`` types get a stand-in that waits
for a response its Lambda would send. So, before a template goes to the emulator:

- ``Fn::GetStackOutput`` (unknown to moto) is replaced by the producing stack's output, read
  from the emulator (``DescribeStacks``), as CloudFormation does for a weak reference.
- ``Ref``/``Fn::GetAtt`` of a type moto skips, or an attribute its model cannot answer,
  become the realistic value of ``rehearsal.names`` (an ARN of the right form and length).
- Defects of moto 5.2.5 that AWS does not have are worked around, each listed in
  ``WORKAROUNDS`` and in the rehearsal's output.

``coverage(types)`` sorts the types a deployment used into what the emulator skipped,
what the rehearsal answered in its place, and what it only stored.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from rehearsal.resolve import Resolver

WORKAROUNDS = (
    "AWS::KMS::Key Tags dropped (moto 5.2.5 reads Tags of a key as TagKey/TagValue and fails on Key/Value)",
    "AWS::Events::Archive EventPattern sent as a JSON string (moto 5.2.5 fails on the object form AWS accepts)",
    "Custom:: resources answered SUCCESS by the rehearsal (moto would wait for their Lambda, which it cannot run)",
)


@cache
def moto_models() -> dict[str, Any]:
    """moto's CloudFormation model per resource type (the types it creates)."""
    from moto.cloudformation.parsing import get_model_map

    return dict(get_model_map())


def modeled(resource_type: str) -> bool:
    return resource_type in moto_models()


def answerable(resource_type: str, attribute: str) -> bool:
    """Whether moto's model of ``resource_type`` can give ``Fn::GetAtt`` ``attribute``."""
    if resource_type.startswith("Custom::"):
        return True
    model = moto_models().get(resource_type)
    return model is not None and hasattr(model, "get_cfn_attribute") and bool(model.has_cfn_attr(attribute))


@dataclass(frozen=True)
class MissingReference(LookupError):
    """A ``Fn::GetStackOutput`` whose stack or output the emulator does not have."""

    resource: str
    stack_name: str
    output: str

    def __str__(self) -> str:
        return f"{self.resource} reads output {self.output} of stack {self.stack_name}, which it does not have"


def for_emulator(template: dict[str, Any], resolver: Resolver, outputs: Callable[[str, str], Any]) -> dict[str, Any]:
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
                    raise MissingReference(where, str(reference["StackName"]), str(reference["OutputName"])) from None
            if key == "Ref" and arg in resources and not _created(resources[arg]["Type"]):
                return resolver.reference(arg, "Ref")
            if key == "Fn::GetAtt":
                logical_id, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
                kind = resources.get(logical_id, {}).get("Type", "")
                if kind and not (_created(kind) and answerable(kind, attribute)):
                    return resolver.reference(logical_id, attribute)
        return {k: substitute(v, where) for k, v in value.items()}

    for logical_id, resource in resources.items():
        resources[logical_id] = substitute(resource, logical_id)
        properties = resources[logical_id].get("Properties", {})
        if resource["Type"] == "AWS::KMS::Key":
            properties.pop("Tags", None)
        if resource["Type"] == "AWS::Events::Archive" and isinstance(properties.get("EventPattern"), dict):
            properties["EventPattern"] = json.dumps(properties["EventPattern"])
    body["Outputs"] = {k: substitute(v, f"output {k}") for k, v in body.get("Outputs", {}).items()}
    body.pop("Rules", None)  # checked by the rehearsal itself (rehearsal.deploy.check_rules)
    return body


def _created(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or modeled(resource_type)


@dataclass(frozen=True)
class Coverage:
    skipped: tuple[str, ...]  # no moto model: not created at all
    answered: tuple[str, ...]  # custom resources: the rehearsal answers for their Lambda
    stored: tuple[str, ...]  # created as a record: no behaviour (no policy evaluated, no task run)


def coverage(types: Iterable[str]) -> Coverage:
    kinds = sorted(set(types))
    return Coverage(
        skipped=tuple(t for t in kinds if not _created(t)),
        answered=tuple(t for t in kinds if t.startswith("Custom::")),
        stored=tuple(t for t in kinds if modeled(t)),
    )
