"""The data-retention section: what each data store keeps, for how long, and on deletion.

Buckets, log groups, ECR repositories, KMS keys and DynamoDB tables, one table each.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tools.review.document import Block, Heading, Section, Table
from tools.stack_template import StackTemplate


def _deletion(resource: Mapping[str, Any]) -> str:
    return str(resource.get("DeletionPolicy", "Delete"))


_TITLES = ("buckets", "logs", "ecr", "keys", "tables", "efs", "sqs", "secrets")


def retention_tables(stacks: Sequence[StackTemplate]) -> dict[str, Table]:
    rows: dict[str, list[list[str]]] = {name: [] for name in _TITLES}
    buckets, log_groups, repositories, keys = rows["buckets"], rows["logs"], rows["ecr"], rows["keys"]
    tables, files, queues, secrets = rows["tables"], rows["efs"], rows["sqs"], rows["secrets"]
    for stack in stacks:
        for logical_id, r in stack.of_type("AWS::S3::Bucket"):
            props = r.get("Properties", {})
            rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
            expiry = (
                ", ".join(f"{x['ExpirationInDays']} d" for x in rules if "ExpirationInDays" in x) or "never"
            )
            noncurrent = ", ".join(
                f"{x['NoncurrentVersionExpiration']['NoncurrentDays']} d"
                for x in rules
                if "NoncurrentVersionExpiration" in x
            ) or ("never" if props.get("VersioningConfiguration") else "n/a")
            lock = props.get("ObjectLockConfiguration", {}).get("Rule", {}).get("DefaultRetention")
            buckets.append(
                [
                    f"{stack.short}/{stack.name(logical_id)}",
                    _deletion(r),
                    props.get("VersioningConfiguration", {}).get("Status", "off"),
                    expiry,
                    noncurrent,
                    _lock(lock) if lock else "none",
                ]
            )
        for logical_id, r in stack.of_type("AWS::Logs::LogGroup"):
            props = r.get("Properties", {})
            log_groups.append(
                [
                    f"{stack.short}/{stack.name(logical_id)}",
                    str(props.get("RetentionInDays", "never expires")),
                    _deletion(r),
                    "KMS" if props.get("KmsKeyId") else "default",
                ]
            )
        for logical_id, r in stack.of_type("AWS::ECR::Repository"):
            props = r.get("Properties", {})
            text = props.get("LifecyclePolicy", {}).get("LifecyclePolicyText")
            policy = json.loads(text) if isinstance(text, str) else {}
            rules = "; ".join(
                x.get("description", json.dumps(x.get("selection"))) for x in policy.get("rules", [])
            )
            repositories.append(
                [
                    f"{stack.short}/{stack.name(logical_id)}",
                    rules or "none (images never expire)",
                    _deletion(r),
                    str(props.get("ImageTagMutability", "MUTABLE")),
                ]
            )
        for logical_id, r in stack.of_type("AWS::KMS::Key"):
            props = r.get("Properties", {})
            keys.append(
                [
                    f"{stack.short}/{stack.name(logical_id)}",
                    _deletion(r),
                    str(props.get("PendingWindowInDays", "30 (default)")),
                    "yes" if props.get("EnableKeyRotation") else "no",
                ]
            )
        for logical_id, r in stack.of_type("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
            props = r.get("Properties", {})
            tables.append(
                [
                    f"{stack.short}/{stack.name(logical_id)}",
                    _deletion(r),
                    str(props.get("TimeToLiveSpecification", {}).get("AttributeName", "none")),
                    "yes"
                    if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")
                    else "no",
                ]
            )
        for logical_id, r in stack.of_type("AWS::EFS::FileSystem"):
            props = r.get("Properties", {})
            transitions = [
                f"{k} {v}" for rule in props.get("LifecyclePolicies", []) for k, v in sorted(rule.items())
            ]
            files.append(
                [
                    f"{stack.short}/{stack.name(logical_id)}",
                    _deletion(r),
                    "on" if props.get("BackupPolicy", {}).get("Status") == "ENABLED" else "off",
                    ", ".join(transitions) or "none",
                    "yes" if props.get("Encrypted") else "no",
                ]
            )
        for logical_id, r in stack.of_type("AWS::SQS::Queue"):
            props = r.get("Properties", {})
            seconds = int(props.get("MessageRetentionPeriod", 345600))
            queues.append(
                [
                    f"{stack.short}/{stack.name(logical_id)}",
                    _deletion(r),
                    f"{seconds / 86400:g}",
                    "KMS"
                    if props.get("KmsMasterKeyId")
                    else ("SQS" if props.get("SqsManagedSseEnabled") else "default"),
                ]
            )
        for logical_id, r in stack.of_type("AWS::SecretsManager::Secret"):
            props = r.get("Properties", {})
            rotated = any(
                stack.refers_to(rotation.get("Properties", {}).get("SecretId"), logical_id)
                for _, rotation in stack.of_type("AWS::SecretsManager::RotationSchedule")
            )
            secrets.append(
                [
                    f"{stack.short}/{stack.name(logical_id)}",
                    _deletion(r),
                    "yes" if rotated else "no",
                    stack.render(props["KmsKeyId"]) if props.get("KmsKeyId") else "AWS managed key",
                ]
            )
    return {
        "S3 buckets": Table(
            [
                "bucket",
                "on stack deletion",
                "versioning",
                "objects expire",
                "old versions expire",
                "object lock",
            ],
            buckets,
        ),
        "Log groups": Table(["log group", "retention (days)", "on stack deletion", "encryption"], log_groups),
        "ECR repositories": Table(
            ["repository", "lifecycle rules", "on stack deletion", "tags"], repositories
        ),
        "KMS keys": Table(["key", "on stack deletion", "pending window (days)", "rotation"], keys),
        "DynamoDB tables": Table(
            ["table", "on stack deletion", "TTL attribute", "point-in-time recovery"], tables
        ),
        "EFS file systems": Table(
            ["file system", "on stack deletion", "AWS Backup", "lifecycle", "encrypted"], files
        ),
        "SQS queues": Table(["queue", "on stack deletion", "message retention (days)", "encryption"], queues),
        "Secrets": Table(
            ["secret", "on stack deletion", "rotation in the templates", "encryption key"], secrets
        ),
    }


def _lock(retention: Mapping[str, Any]) -> str:
    """Object Lock default retention: ``COMPLIANCE, 365 days``."""
    period = f"{retention['Days']} days" if "Days" in retention else f"{retention.get('Years')} years"
    return f"{retention.get('Mode')}, {period}"


def retention_section(stacks: Sequence[StackTemplate]) -> Section:
    blocks: list[Block] = [
        "What each data store keeps, for how long, and what happens to it when its stack is "
        "deleted (`Retain` keeps it; `Delete` removes it)."
    ]
    for title, table in retention_tables(stacks).items():
        blocks += [Heading(title), table]
    return Section("Data retention at a glance", blocks)
