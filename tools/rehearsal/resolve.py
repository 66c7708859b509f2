"""Intrinsic functions resolved to the values CloudFormation would give them, offline.

``Resolver(template, place, outputs=...)`` resolves ``Ref``, ``Fn::GetAtt``, ``Fn::Join``,
``Fn::Sub``, ``Fn::Select``, ``Fn::Split``, ``Fn::If`` (with the template's conditions),
``Fn::Equals``/``Not``/``And``/``Or``, ``Fn::FindInMap``, ``Fn::Base64``, ``Fn::GetAZs``,
pseudo parameters and ``Fn::GetStackOutput`` (through ``outputs``). Resources resolve to
the realistic names and ARNs of ``tools.rehearsal.physical_names``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from typing import Any

from tools.rehearsal.physical_names import Place, Resource, reference, uuid_like

# A function the resolver calls for Fn::GetStackOutput: (stack name, region, output name).
Outputs = Callable[[str, str, str], Any]


class MissingOutputError(LookupError):
    """A ``Fn::GetStackOutput`` names an output its stack does not have (or a stack not there)."""

    def __init__(self, stack_name: str, output: str, why: str = "has no such output") -> None:
        super().__init__(f"stack {stack_name} {why}: {output}")
        self.stack_name = stack_name
        self.output = output


class UnresolvableError(ValueError):
    """An intrinsic function the rehearsal does not evaluate."""


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()
SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


def no_outputs(stack_name: str, region: str, output: str) -> Any:
    raise MissingOutputError(stack_name, output, "is not known here")


class _LazyProperties(Mapping[str, Any]):
    """A resource's properties, each resolved when a name rule first reads it."""

    def __init__(self, resolver: Resolver, raw: Mapping[str, Any]) -> None:
        self._resolver = resolver
        self._raw = raw
        self._done: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key not in self._done:
            value = self._resolver.resolve(self._raw[key])
            if value is NO_VALUE:
                raise KeyError(key)
            self._done[key] = value
        return self._done[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


class Resolver:
    """Resolves the intrinsic functions of one stack's template."""

    def __init__(
        self,
        template: Mapping[str, Any],
        place: Place,
        *,
        outputs: Outputs = no_outputs,
        parameters: Mapping[str, Any] | None = None,
    ) -> None:
        self.template = template
        self.place = place
        self.outputs = outputs
        self.parameters = dict(parameters or {})
        self.resources: Mapping[str, Any] = template.get("Resources", {})
        self._pseudo = {
            "AWS::AccountId": place.account,
            "AWS::Region": place.region,
            "AWS::Partition": place.partition,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": place.stack_name,
            "AWS::StackId": place.arn(
                "cloudformation", f"stack/{place.stack_name}/{uuid_like(place.account, place.stack_name)}"
            ),
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        self.reference = cache(self._reference)
        self.condition = cache(self._condition)

    # --- references ---------------------------------------------------------------------

    def resource(self, logical_id: str) -> Resource:
        raw = self.resources[logical_id]
        return Resource(self.place, logical_id, raw["Type"], _LazyProperties(self, raw.get("Properties", {})))

    def _reference(self, logical_id: str, attribute: str) -> Any:
        if attribute == "Ref":
            if logical_id in self._pseudo:
                return self._pseudo[logical_id]
            if logical_id in self.template.get("Parameters", {}):
                return self.parameter(logical_id)
        if logical_id not in self.resources:
            raise UnresolvableError(f"reference to {logical_id}, which the template does not declare")
        return reference(self.resource(logical_id), attribute)

    def parameter(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        declared = self.template["Parameters"][name]
        if "Default" not in declared:
            raise UnresolvableError(f"parameter {name} has no value")
        value = declared["Default"]
        if str(declared.get("Type", "")).startswith("List") or declared.get("Type") == "CommaDelimitedList":
            return str(value).split(",")
        return value

    def _condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    # --- functions ----------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), *_ = value.items()
            if key == "Ref":
                return self.reference(str(arg), "Ref")
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg)
            if key.startswith("Fn::"):
                return self._function(key, arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _function(self, name: str, arg: Any) -> Any:
        if name == "Fn::GetAtt":
            logical_id, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
            return self.reference(str(logical_id), str(self.resolve(attribute)))
        if name == "Fn::Join":
            separator, items = arg
            return str(separator).join(str(v) for v in self.resolve(items))
        if name == "Fn::Select":
            index, items = self.resolve(arg)
            return items[int(index)]
        if name == "Fn::Split":
            separator, text = arg
            return str(self.resolve(text)).split(str(separator))
        if name == "Fn::Sub":
            return self._sub(arg)
        if name == "Fn::If":
            condition, when_true, when_false = arg
            return self.resolve(when_true if self.condition(condition) else when_false)
        if name == "Fn::Equals":
            left, right = (self.resolve(v) for v in arg)
            return str(left) == str(right)
        if name == "Fn::Not":
            return not self.resolve(arg[0])
        if name == "Fn::And":
            return all(self.resolve(v) for v in arg)
        if name == "Fn::Or":
            return any(self.resolve(v) for v in arg)
        if name == "Fn::Contains":
            items, item = self.resolve(arg)
            return item in items
        if name == "Fn::FindInMap":
            mapping, top, second = (self.resolve(v) for v in arg[:3])
            return self.template["Mappings"][mapping][top][second]
        if name == "Fn::Base64":
            return base64.b64encode(str(self.resolve(arg)).encode()).decode()
        if name == "Fn::GetAZs":
            return [f"{self.place.region}{zone}" for zone in "abc"]
        if name == "Fn::ToJsonString":
            return json.dumps(self.resolve(arg), separators=(",", ":"))
        if name == "Fn::GetStackOutput":
            ref = self.resolve(arg)
            return self.outputs(
                str(ref["StackName"]), str(ref.get("Region", self.place.region)), str(ref["OutputName"])
            )
        raise UnresolvableError(f"{name} is not evaluated by the rehearsal")

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        values = {k: self.resolve(v) for k, v in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in values:
                return str(values[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return str(self.reference(logical_id, attribute))
            return str(self.reference(name, "Ref"))

        return SUB_VARIABLE.sub(substitute, str(text)).replace("${!", "${")


class StackSet:
    """Resolvers for a set of stacks whose weak references (``Fn::GetStackOutput``) are
    resolved offline, from the producing stack's template."""

    def __init__(self, stacks: Iterable[Any]) -> None:
        self.stacks = {stack.stack_name: stack for stack in stacks}
        self._resolvers: dict[str, Resolver] = {}

    def resolver(self, stack: Any) -> Resolver:
        if stack.stack_name not in self._resolvers:
            place = Place(stack.account, stack.region, stack.stack_name)
            self._resolvers[stack.stack_name] = Resolver(stack.template, place, outputs=self.output)
        return self._resolvers[stack.stack_name]

    def output(self, stack_name: str, region: str, name: str) -> Any:
        producer = self.stacks.get(stack_name)
        if producer is None:
            raise MissingOutputError(stack_name, name, "is not part of this deployment")
        if name not in producer.template.get("Outputs", {}):
            raise MissingOutputError(stack_name, name)
        return self.resolver(producer).resolve(producer.template["Outputs"][name]["Value"])
