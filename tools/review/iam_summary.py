"""The IAM section: each role, what uses it, who may assume it, what it may do and on what.

One table of roles for the environment, then one table of statements per stack (from inline
policies, ``AWS::IAM::Policy``, ``AWS::IAM::ManagedPolicy`` and AWS managed policy ARNs
attached to the role); the roles are read by ``review.roles``.
"""

from __future__ import annotations

from collections.abc import Sequence

from tools.review.document import Block, Heading, Section, Table
from tools.review.roles import Role, conditions, environment_roles
from tools.stack_template import StackTemplate, as_list


def statement_rows(role: Role) -> list[list[str]]:
    """One row per statement: role, effect, actions, resources, condition, granted via."""
    stack = role.stack
    rows = [
        [
            role.name,
            str(statement.get("Effect", "")),
            ", ".join(sorted(str(a) for a in as_list(statement.get("Action")))),
            stack.render(as_list(statement.get("Resource"))),
            "\n".join(conditions(stack, statement.get("Condition", {}))) or "none",
            via,
        ]
        for via, statement in role.statements()
    ]
    rows += [
        [role.name, "Allow", "(AWS managed policy)", arn, "none", "managed policy"] for arn in role.managed
    ]
    if not rows:
        rows.append([role.name, "none", "(no permissions in the templates)", "none", "none", "none"])
    return rows


def iam_rows(stacks: Sequence[StackTemplate]) -> list[list[str]]:
    """Every statement of every role of the environment (see ``statement_rows``)."""
    return [row for role in environment_roles(stacks) for row in statement_rows(role)]


def iam_section(stacks: Sequence[StackTemplate], roles: Sequence[Role] | None = None) -> Section:
    roles = environment_roles(stacks) if roles is None else roles
    blocks: list[Block] = [
        "Every role of the environment, what uses it, who may assume it, and each statement that "
        "grants it something (inline policies, `AWS::IAM::Policy`, `AWS::IAM::ManagedPolicy`, "
        "AWS managed policies). What the roles reach of the data: the next section.",
        Heading("Roles"),
        f"{len(roles)} roles, named by what uses them.",
        Table(
            ["role", "used as", "trusted by"],
            [[role.name, role.label, role.trust] for role in roles],
        ),
    ]
    for stack in stacks:
        mine = [role for role in roles if role.stack is stack]
        if mine:
            blocks += [
                Heading(f"{stack.short} stack"),
                Table(
                    ["role", "effect", "actions", "resources", "condition", "granted via"],
                    [row for role in mine for row in statement_rows(role)],
                ),
            ]
    return Section("IAM at a glance", blocks)
