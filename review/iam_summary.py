"""The IAM section: each role, who may assume it, what it may do and on what.

One row per statement, from inline policies, ``AWS::IAM::Policy``, ``AWS::IAM::ManagedPolicy``
and AWS managed policy ARNs attached to the role.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from review.document import Section, Table
from review.templates import StackTemplate, as_list


def _principals(stack: StackTemplate, document: Mapping[str, Any]) -> str:
    found = []
    for statement in as_list(document.get("Statement")):
        principal = statement.get("Principal", {})
        if isinstance(principal, str):
            found.append(principal)
            continue
        for kind, value in sorted(principal.items()):
            found += [f"{kind}: {stack.render(v)}" for v in as_list(value)]
        if statement.get("Condition"):
            found.append("if " + json.dumps(stack.readable(statement["Condition"]), sort_keys=True))
    return "; ".join(found)


def iam_rows(stacks: Sequence[StackTemplate]) -> list[list[str]]:
    """One row per statement: role, trusted by, effect, actions, resources, granted via."""
    rows: list[list[str]] = []
    for stack in stacks:
        grants: dict[str, list[tuple[str, Mapping[str, Any]]]] = defaultdict(list)
        for logical_id, resource in stack.of_type("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            props = resource.get("Properties", {})
            for role in as_list(props.get("Roles")):
                for role_id, _ in stack.of_type("AWS::IAM::Role"):
                    if stack.refers_to(role, role_id):
                        grants[role_id].append((stack.name(logical_id), props.get("PolicyDocument", {})))
        for role_id, role in stack.of_type("AWS::IAM::Role"):
            props = role.get("Properties", {})
            name = f"{stack.short}/{stack.name(role_id)}"
            trust = _principals(stack, props.get("AssumeRolePolicyDocument", {}))
            sources = [
                (f"inline {p.get('PolicyName', '')}", p.get("PolicyDocument", {}))
                for p in props.get("Policies", [])
            ]
            sources += grants.get(role_id, [])
            for via, document in sources:
                for statement in as_list(document.get("Statement")):
                    rows.append(
                        [
                            name,
                            trust,
                            statement.get("Effect", ""),
                            ", ".join(sorted(str(a) for a in as_list(statement.get("Action")))),
                            stack.render(as_list(statement.get("Resource"))),
                            ("if " + json.dumps(stack.readable(statement["Condition"]), sort_keys=True))
                            if statement.get("Condition")
                            else "",
                            via,
                        ]
                    )
            for arn in as_list(props.get("ManagedPolicyArns")):
                rows.append(
                    [name, trust, "Allow", "(AWS managed policy)", stack.render(arn), "", "managed policy"]
                )
            if not sources and not props.get("ManagedPolicyArns"):
                rows.append([name, trust, "", "(no permissions in the templates)", "", "", ""])
    return rows


def iam_section(stacks: Sequence[StackTemplate]) -> Section:
    return Section(
        "IAM at a glance",
        [
            "Every role of the environment, who may assume it, and each statement that grants it "
            "something (inline policies, `AWS::IAM::Policy`, `AWS::IAM::ManagedPolicy`, "
            "AWS managed policies).",
            Table(
                ["role", "trusted by", "effect", "actions", "resources", "condition", "granted via"],
                iam_rows(stacks),
            ),
        ],
    )
