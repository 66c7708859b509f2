"""Which changes are refused: losing stateful data, or changing what another stack reads.

**Stateful** is decided by type and, for log groups, by role. Replacing or deleting one of these
leaves the service on a new, empty resource (or none) while the deploy reports success:

- by type: DynamoDB tables, S3 buckets, EFS file systems, KMS keys (data encrypted under the old
  key), Secrets Manager secrets, ECR repositories (images), the CloudTrail trail, the EventBridge
  bus and its archive (replayable events), SQS queues (undelivered and dead-lettered messages);
- by role: a CloudWatch Logs group that a CloudTrail trail, a VPC flow log or a WAF logging
  configuration writes to (audit, flow and request records). Other log groups (application
  logs) are not refused: a replaced one starts empty but loses no record anyone must keep.

An acknowledgement (config/changes.py) names the environment's stack, the logical id and the
change's fingerprint; it approves that exact change and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from config.changes import Acknowledgement
from tools.changes.compare import OutputChange, ResourceChange, references

STATEFUL_TYPES: dict[str, str] = {
    "AWS::DynamoDB::Table": "table",
    "AWS::DynamoDB::GlobalTable": "table",
    "AWS::S3::Bucket": "bucket",
    "AWS::EFS::FileSystem": "file system",
    "AWS::KMS::Key": "key",
    "AWS::SecretsManager::Secret": "secret",
    "AWS::ECR::Repository": "repository",
    "AWS::CloudTrail::Trail": "trail",
    "AWS::Events::EventBus": "event bus",
    "AWS::Events::Archive": "event archive",
    "AWS::SQS::Queue": "queue",
}
# Resources that make a log group hold records that must be kept, and what those records are.
LOG_WRITERS: dict[str, str] = {
    "AWS::CloudTrail::Trail": "audit log group",
    "AWS::EC2::FlowLog": "flow log group",
    "AWS::WAFv2::LoggingConfiguration": "WAF log group",
}


def stateful_roles(template: Mapping[str, Any]) -> dict[str, str]:
    """Logical id -> role ("repository", "audit log group", ...) of every stateful resource."""
    resources = template.get("Resources", {})
    roles = {
        lid: STATEFUL_TYPES[r["Type"]] for lid, r in resources.items() if r.get("Type") in STATEFUL_TYPES
    }
    for resource in resources.values():
        role = LOG_WRITERS.get(resource.get("Type", ""))
        if role is None:
            continue
        for ref in references(resource.get("Properties", {})):
            if isinstance(ref, str) and resources.get(ref, {}).get("Type") == "AWS::Logs::LogGroup":
                roles[ref] = role
    return roles


@dataclass(frozen=True)
class Verdict:
    environment: str  # "prod", or "Delivery" for the per-account Delivery stacks
    refused: tuple[str, ...]  # one line per refused change
    acknowledged: tuple[str, ...]  # one line per change an acknowledgement approved
    spent: tuple[Acknowledgement, ...]  # acknowledgements that matched no change


def ack_hint(stack: str, kind: str, logical_id: str, change: str) -> str:
    return f'{{"stack": "{stack}", "{kind}": "{logical_id}", "change": "{change}", "reason": "..."}}'


def judge(
    environment: str,
    resources: Iterable[ResourceChange],
    outputs: Iterable[OutputChange],
    roles: Mapping[str, Mapping[str, str]],
    acknowledged: Sequence[Acknowledgement],
) -> Verdict:
    """Refuse each stateful replacement or deletion and each change of a read output, unless
    acknowledged. ``roles``: ``stateful_roles`` of each stack's before and after templates."""
    approvals = {(a.stack, a.logical_id, a.change): a for a in acknowledged}
    used: set[tuple[str, str, str]] = set()
    refused: list[str] = []
    approved: list[str] = []
    for change in resources:
        role = roles.get(change.stack, {}).get(change.logical_id)
        if change.action not in ("replace", "delete") or role is None:
            continue
        stack_id = change.stack.split("/")[-1]
        key = (stack_id, change.logical_id, change.fingerprint)
        forced = change.forced_by()
        kept = ""
        if change.retained:  # replaced: the stack uses a new one; deleted: it leaves the stack, data kept
            kept = (
                " (the old one is retained, orphaned)"
                if change.action == "replace"
                else " (retained: it leaves the stack, its data stays in the account, unmanaged)"
            )
        what = f"{change.stack} {change.logical_id} {change.type_name} ({role}): {change.action}"
        what += f" forced by {forced}{kept}" if change.action == "replace" else f"{kept}"
        if key in approvals:
            used.add(key)
            approved.append(f"{environment}: acknowledged {what}: {approvals[key].reason}")
        else:
            hint = ack_hint(stack_id, "resource", change.logical_id, change.fingerprint)
            refused.append(f"{environment}: refused {what}; acknowledge in cdk.json with {hint}")
    for output in outputs:
        if not output.consumers:
            continue
        stack_id = output.stack.split("/")[-1]
        key = (stack_id, output.output, output.fingerprint)
        what = (
            f"{output.stack} output {output.output}: {output.action} ({output.why}), "
            f"read by {', '.join(output.consumers)}"
        )
        if key in approvals:
            used.add(key)
            approved.append(f"{environment}: acknowledged {what}: {approvals[key].reason}")
        else:
            hint = ack_hint(stack_id, "output", output.output, output.fingerprint)
            refused.append(f"{environment}: refused {what}; acknowledge in cdk.json with {hint}")
    spent = tuple(a for k, a in approvals.items() if k not in used)
    return Verdict(environment, tuple(refused), tuple(approved), spent)
