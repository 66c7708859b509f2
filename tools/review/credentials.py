"""The credentials of the data-reach section: who holds which secret, for how long, what it reaches.

Derived from the templates only:

* **held by** - every container whose task definition injects the secret (``Secrets`` of a
  container definition: it sits in that container's environment), and every role whose
  policies allow ``secretsmanager:GetSecretValue`` on it (an execution role reads it for ECS,
  to inject it when a task starts; any other role may read it whenever it runs);
* **for how long** - a container holds it for its task's life (bounded by the
  ``OUTPOST_WORKER_TASK_TIMEOUT_SECONDS`` of the container that launches the task definition,
  when one does); the value itself lives until its rotation schedule (``AWS::SecretsManager::
  RotationSchedule``) or, without one, until an operator replaces it;
* **reaches** - the ``https://`` origins in the environment of the containers that hold the
  secret or name it (a variable whose value is the secret's ARN), and the permissions that
  container narrows what it mints to (a ``..._PERMISSIONS`` variable).

Plus every credential a container is told to read from a file (``..._TOKEN_FILE``): who holds
it, who writes it (a container naming the same path in a ``..._TOKEN_PATH`` variable).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tools.review.roles import Role
from tools.stack_template import StackTemplate, as_list, references, resolve

SECRET = "AWS::SecretsManager::Secret"
TIMEOUT_VARIABLE = "OUTPOST_WORKER_TASK_TIMEOUT_SECONDS"
WARM_POOL_VARIABLE = "OUTPOST_WARM_POOL_SIZE"


@dataclass(frozen=True)
class Container:
    """One container definition of one task definition."""

    stack: StackTemplate
    task: str  # logical id of the task definition
    definition: Mapping[str, Any]

    @property
    def name(self) -> str:
        return str(self.definition.get("Name"))

    @property
    def family(self) -> str:
        return str(self.stack.resources[self.task].get("Properties", {}).get("Family", self.task))

    @property
    def environment(self) -> dict[str, Any]:
        return {str(v.get("Name")): v.get("Value") for v in self.definition.get("Environment", [])}

    @property
    def label(self) -> str:
        return f"`{self.name}` container of `{self.family}`"

    def origins(self) -> list[str]:
        return sorted(
            {v for v in self.environment.values() if isinstance(v, str) and v.startswith("https://")}
        )


def containers(stacks: Sequence[StackTemplate]) -> Iterator[Container]:
    for stack in stacks:
        for logical_id, resource in stack.of_type("AWS::ECS::TaskDefinition"):
            for definition in resource.get("Properties", {}).get("ContainerDefinitions", []):
                yield Container(stack, logical_id, definition)


def _points_at(
    stacks: Sequence[StackTemplate], stack: StackTemplate, value: Any, target: tuple[str, str]
) -> bool:
    """Whether ``value`` is a reference to the resource ``target`` (stack path, logical id)."""
    found = resolve(stacks, stack, value)
    return found is not None and (found[0].stack, found[1]) == target


def _life(stacks: Sequence[StackTemplate], holder: Container, *, warm: bool = True) -> str:
    """How long a container holds what it was given: its task's life, bounded by the worker
    timeout of whatever container launches its task definition; an idle warm-pool task (of the
    base definition, when that launcher keeps a pool) lives until it is dispatched or stopped."""
    target = (holder.stack.stack, holder.task)
    for launcher in containers(stacks):
        environment = launcher.environment
        timeout = environment.get(TIMEOUT_VARIABLE)
        if timeout and any(
            _points_at(stacks, launcher.stack, value, target)
            for value in environment.values()
            if isinstance(value, dict)
        ):
            life = f"a dispatch's task, at most {timeout} s ({TIMEOUT_VARIABLE} of the {launcher.label})"
            pool = str(environment.get(WARM_POOL_VARIABLE, "0"))
            if warm and pool != "0":
                life += f"; an idle warm-pool task ({WARM_POOL_VARIABLE} {pool}) until dispatched or stopped"
            return life
    return "its task's life"


def _reads(role: Role, stacks: Sequence[StackTemplate], target: tuple[str, str]) -> bool:
    for _, statement in role.statements():
        if statement.get("Effect") != "Allow":
            continue
        actions = [str(a).lower() for a in as_list(statement.get("Action"))]
        if not any(fnmatch.fnmatchcase("secretsmanager:getsecretvalue", a) for a in actions):
            continue
        for resource in as_list(statement.get("Resource")):
            if resource == "*" or _points_at(stacks, role.stack, resource, target):
                return True
            if any(_points_at(stacks, role.stack, ref, target) for ref in references(resource)):
                return True
    return False


def _rotation(stacks: Sequence[StackTemplate], target: tuple[str, str]) -> str:
    for stack in stacks:
        for _, schedule in stack.of_type("AWS::SecretsManager::RotationSchedule"):
            props = schedule.get("Properties", {})
            if _points_at(stacks, stack, props.get("SecretId"), target):
                days = props.get("RotationRules", {}).get("AutomaticallyAfterDays")
                return f"the value: rotated every {days} days"
    return "the value: until an operator replaces it (no rotation schedule)"


def _permissions(box: Container) -> list[str]:
    return [
        f"`{name}` {value}"
        for name, value in sorted(box.environment.items())
        if name.endswith("_PERMISSIONS")
    ]


def secret_rows(stacks: Sequence[StackTemplate], roles: Sequence[Role]) -> list[list[str]]:
    """secret, held by, for how long, reaches: one row per secret of the environment."""
    boxes = list(containers(stacks))
    rows = []
    for stack in stacks:
        for logical_id, resource in stack.of_type(SECRET):
            target = (stack.stack, logical_id)
            name = stack.render(resource.get("Properties", {}).get("Name", logical_id))
            held, lives, reaches = [], [], []
            for box in boxes:
                for secret in box.definition.get("Secrets", []):
                    if _points_at(stacks, box.stack, secret.get("ValueFrom"), target):
                        held.append(f"{box.label}, in its environment as `{secret.get('Name')}`")
                        lives.append(f"{box.label}: {_life(stacks, box)}")
                        reaches += box.origins()
                named = [
                    variable
                    for variable, value in box.environment.items()
                    if isinstance(value, dict) and _points_at(stacks, box.stack, value, target)
                ]
                if named:
                    reaches += [f"{origin} (the {box.label})" for origin in box.origins()] + _permissions(box)
            for role in roles:
                if _reads(role, stacks, target):
                    execution = any(use.kind == "execution role" for use in role.uses)
                    held.append(
                        f"{role.label} (GetSecretValue"
                        + (": ECS reads it to start a task)" if execution else ": whenever it runs)")
                    )
            lives.append(_rotation(stacks, target))
            rows.append(
                [
                    f"`{name}`",
                    "\n".join(held) or "nobody",
                    "\n".join(lives),
                    "\n".join(dict.fromkeys(reaches)) or "nothing in the templates says",
                ]
            )
    return rows


def file_rows(stacks: Sequence[StackTemplate]) -> list[list[str]]:
    """Credentials a container reads from a file (``..._TOKEN_FILE``), and who writes them."""
    boxes = list(containers(stacks))
    found: dict[str, list[Container]] = {}
    for box in boxes:
        for variable, value in box.environment.items():
            if variable.endswith("_TOKEN_FILE") and isinstance(value, str):
                found.setdefault(value, []).append(box)
    rows = []
    for path, holders in sorted(found.items()):
        writers = [
            box
            for box in boxes
            for variable, value in box.environment.items()
            if variable.endswith("_TOKEN_PATH") and isinstance(value, str) and path.endswith("/" + value)
        ]
        rows.append(
            [
                f"file `{path}`",
                "\n".join(f"{box.label}" for box in holders),
                "\n".join(_grouped((box, _life(stacks, box, warm=False)) for box in holders))
                + "\nthe file: written per dispatch by the "
                + (", ".join(box.label for box in writers) or "nobody in the templates"),
                "\n".join(
                    [
                        *(origin for box in writers for origin in box.origins()),
                        *(p for box in writers for p in _permissions(box)),
                    ]
                )
                or "nothing in the templates says",
            ]
        )
    return rows


def _grouped(lives: Iterator[tuple[Container, str]]) -> list[str]:
    """``containers A, B: life`` for containers that hold something equally long."""
    by_life: dict[str, list[str]] = {}
    for box, life in lives:
        by_life.setdefault(life, []).append(box.label)
    return [f"{', '.join(labels)}: {life}" for life, labels in by_life.items()]


def credential_rows(stacks: Sequence[StackTemplate], roles: Sequence[Role]) -> list[list[str]]:
    return secret_rows(stacks, roles) + file_rows(stacks)
