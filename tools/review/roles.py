"""The IAM roles of an environment: what each may do, who may assume it, and what uses it.

Read from the templates only. A role's statements come from its inline policies and from the
``AWS::IAM::Policy`` and ``AWS::IAM::ManagedPolicy`` resources attached to it; AWS managed
policies are named, not expanded. A role is named by what uses it (``claude agent task
role``, ``task state callback function role``): the resources of any stack that refer to it
(a task definition's ``TaskRoleArn``, a function's ``Role``), named after the construct that
holds them. A task definition that no ECS service runs is launched on demand: an agent.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tools.stack_template import StackTemplate, Target, as_list, references, resolve

# How a resource uses a role, by its type and the property that names the role.
_KINDS = {
    ("AWS::ECS::TaskDefinition", "TaskRoleArn"): "task role",
    ("AWS::ECS::TaskDefinition", "ExecutionRoleArn"): "execution role",
    ("AWS::Lambda::Function", "Role"): "function role",
    ("AWS::EC2::FlowLog", "DeliverLogsPermissionArn"): "delivery role",
    ("AWS::CloudTrail::Trail", "CloudWatchLogsRoleArn"): "log delivery role",
}
_POLICIES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")


def words(name: str) -> str:
    """``ControlPlane`` -> ``control plane``; acronyms stay (``VpcRestrictDefaultSG`` ->
    ``vpc restrict default SG``)."""
    name = name.removeprefix("Custom::")
    parts = re.findall(r"[A-Z]+(?=[A-Z][a-z]|\b|[0-9])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+", name)
    return " ".join(p if p.isupper() and len(p) > 1 else p.lower() for p in parts) or name


@dataclass(frozen=True)
class Use:
    """One resource that uses a role: a task definition, a function, a flow log..."""

    stack: StackTemplate
    logical_id: str
    kind: str  # "task role", "execution role", "function role", or "role of <type>"

    @property
    def resource(self) -> Mapping[str, Any]:
        return self.stack.resources[self.logical_id]

    @property
    def name(self) -> str:
        return self.stack.name(self.logical_id)

    @property
    def owner(self) -> str:
        """The construct that holds the user: ``Claude`` for ``Claude/TaskDefinition``."""
        path = self.name.split("/")
        return path[-2] if len(path) > 1 else path[0]


@dataclass
class Role:
    stack: StackTemplate
    logical_id: str
    trust: str
    grants: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)  # (via, document)
    managed: list[str] = field(default_factory=list)
    uses: list[Use] = field(default_factory=list)
    on_demand: bool = False  # used by a task definition that no ECS service runs

    @property
    def name(self) -> str:
        """``Service/Claude/TaskRole``."""
        return f"{self.stack.short}/{self.stack.name(self.logical_id)}"

    @property
    def label(self) -> str:
        """What uses the role, as a reader says it: ``claude agent task role``."""
        if not self.uses:
            return f"role {self.stack.name(self.logical_id)}"
        labels = []
        for use in self.uses:
            agent = " agent" if self.on_demand and use.resource["Type"] == "AWS::ECS::TaskDefinition" else ""
            labels.append(f"{words(use.owner)}{agent} {use.kind}")
        return ", ".join(dict.fromkeys(labels))

    def statements(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """(granted via, statement) for every statement of the role's policies."""
        for via, document in self.grants:
            for statement in as_list(document.get("Statement")):
                yield via, statement


def principals(stack: StackTemplate, document: Mapping[str, Any]) -> str:
    """Who a trust policy lets assume the role, and on which condition."""
    found = []
    for statement in as_list(document.get("Statement")):
        principal = statement.get("Principal", {})
        if isinstance(principal, str):
            found.append(principal)
            continue
        for kind, value in sorted(principal.items()):
            found += [f"{kind}: {stack.render(v)}" for v in as_list(value)]
        found += [f"if {line}" for line in conditions(stack, statement.get("Condition", {}))]
    return "; ".join(found)


def conditions(stack: StackTemplate, condition: Mapping[str, Any], skip: Sequence[str] = ()) -> list[str]:
    """A statement's conditions, one per key: ``kms:ViaService (StringEquals): s3.…``."""
    lines = []
    for operator, test in sorted(condition.items()):
        if not isinstance(test, Mapping):
            lines.append(f"{operator}: {json.dumps(stack.readable(test), sort_keys=True)}")
            continue
        for key, value in sorted(test.items()):
            if key not in skip:
                lines.append(f"{key} ({operator}): {', '.join(stack.render(v) for v in as_list(value))}")
    return lines


def _uses(stacks: Sequence[StackTemplate], role: Role) -> Iterator[Use]:
    for stack in stacks:
        for logical_id, resource in sorted(stack.resources.items()):
            kind = str(resource.get("Type"))
            if kind.startswith("AWS::IAM::"):
                continue
            for key, value in sorted(resource.get("Properties", {}).items()):
                if any(
                    _is(resolve(stacks, stack, ref), role.stack, role.logical_id) for ref in references(value)
                ):
                    yield Use(stack, logical_id, _KINDS.get((kind, key), f"role of {kind} ({key})"))


def _is(target: Target | None, stack: StackTemplate, logical_id: str) -> bool:
    return target is not None and target[0] is stack and target[1] == logical_id


def _run_by_a_service(stacks: Sequence[StackTemplate], use: Use) -> bool:
    for stack in stacks:
        for _, service in stack.of_type("AWS::ECS::Service"):
            task = service.get("Properties", {}).get("TaskDefinition")
            if _is(resolve(stacks, stack, task), use.stack, use.logical_id):
                return True
    return False


def environment_roles(stacks: Sequence[StackTemplate]) -> list[Role]:
    """Every role of the environment, in stack order, with its grants and users."""
    roles = []
    for stack in stacks:
        attached: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
        for logical_id, resource in stack.of_type(*_POLICIES):
            props = resource.get("Properties", {})
            for ref in as_list(props.get("Roles")):
                target = resolve(stacks, stack, ref)
                if target:
                    attached.setdefault(target[1], []).append(
                        (stack.name(logical_id), props.get("PolicyDocument", {}))
                    )
        for logical_id, resource in stack.of_type("AWS::IAM::Role"):
            props = resource.get("Properties", {})
            role = Role(stack, logical_id, principals(stack, props.get("AssumeRolePolicyDocument", {})))
            role.grants = [
                (f"inline {p.get('PolicyName', '')}", p.get("PolicyDocument", {}))
                for p in props.get("Policies", [])
            ]
            role.grants += attached.get(logical_id, [])
            role.managed = [stack.render(arn) for arn in as_list(props.get("ManagedPolicyArns"))]
            role.uses = list(_uses(stacks, role))
            role.on_demand = any(
                u.resource["Type"] == "AWS::ECS::TaskDefinition" and not _run_by_a_service(stacks, u)
                for u in role.uses
            )
            roles.append(role)
    return roles


def launchers(roles: Sequence[Role], family: str) -> list[Role]:
    """The roles that may ``ecs:RunTask`` a task definition of ``family``."""
    found: list[Role] = []
    for role in roles:
        for _, statement in role.statements():
            actions = [str(a).lower() for a in as_list(statement.get("Action"))]
            if statement.get("Effect") != "Allow" or not any(
                fnmatch.fnmatchcase("ecs:runtask", a) for a in actions
            ):
                continue
            for resource in as_list(statement.get("Resource")):
                text = role.stack.render(resource)
                pattern = text.split(":", 5)[-1]
                if (pattern == "*" or fnmatch.fnmatchcase(f"task-definition/{family}:1", pattern)) and all(
                    r is not role for r in found
                ):
                    found.append(role)
    return found
