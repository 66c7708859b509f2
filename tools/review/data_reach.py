"""The data-reach section: for every role of the environment, what data it can read and write.

Read from the same statements as IAM at a glance (``review.roles``), answering the question a
reviewer asks of each identity: what can it touch? S3 buckets and object prefixes, DynamoDB
tables and indexes, Secrets Manager secrets, EFS file systems (through which access point),
SQS queues and log groups; KMS keys only as "decrypt via <service>". Plus the file systems
that a role's task definitions (as their task role) and functions mount: access point and
root directory. Everything is derived from the templates, so the table follows them.

Read and write follow the access levels of the Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html):
``s3:GetObject`` and ``s3:ListBucket`` read, ``s3:PutObject``/``DeleteObject`` write;
``dynamodb:GetItem``/``Query``/``Scan``/``ConditionCheckItem`` read, ``PutItem``/``UpdateItem``/
``DeleteItem``/``BatchWriteItem`` write; ``elasticfilesystem:ClientMount`` reads,
``ClientWrite`` writes, ``ClientRootAccess`` writes as root, and creating an access point
opens a new path into the file system. Only the roles' own policies are read: a resource
policy (bucket, key, file-system or queue policy) may narrow this, and Deny statements are
not subtracted.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any

from tools.review.credentials import credential_rows
from tools.review.document import Heading, Section, Table
from tools.review.roles import Role, Use, conditions, environment_roles, launchers
from tools.stack_template import StackTemplate, as_list, references, resolve

# Service prefix -> (read actions, write actions), in the order the table lists the stores.
LEVELS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "s3": (
        ("GetObject", "GetObjectVersion", "GetObjectAttributes", "ListBucket", "ListBucketVersions"),
        ("PutObject", "DeleteObject", "DeleteObjectVersion", "AbortMultipartUpload", "RestoreObject"),
    ),
    "dynamodb": (
        ("GetItem", "BatchGetItem", "Query", "Scan", "ConditionCheckItem", "PartiQLSelect", "GetRecords"),
        (
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "BatchWriteItem",
            "PartiQLInsert",
            "PartiQLUpdate",
            "PartiQLDelete",
        ),
    ),
    "secretsmanager": (("GetSecretValue", "BatchGetSecretValue"), ("PutSecretValue", "UpdateSecret")),
    "elasticfilesystem": (
        ("ClientMount",),
        ("ClientWrite", "ClientRootAccess", "CreateAccessPoint", "DeleteAccessPoint"),
    ),
    "sqs": (("ReceiveMessage",), ("SendMessage", "DeleteMessage", "PurgeQueue")),
    "logs": (("GetLogEvents", "FilterLogEvents", "StartQuery"), ("PutLogEvents",)),
    "kms": (("Decrypt",), ()),
}
_BUCKET_LEVEL = ("ListBucket", "ListBucketVersions")
# Condition keys the targets already say in words.
AP_KEY = "elasticfilesystem:AccessPointArn"
_SAID = (AP_KEY, "kms:ViaService", "kms:EncryptionContext:SecretARN")


def _granted(patterns: Sequence[str]) -> list[tuple[str, str, bool]]:
    """(service, action, writes) for every data action the action patterns allow."""
    found = []
    for service, (reads, writes) in LEVELS.items():
        for action, write in [(a, False) for a in reads] + [(a, True) for a in writes]:
            if any(fnmatch.fnmatchcase(f"{service}:{action}".lower(), p.lower()) for p in patterns):
                found.append((service, action, write))
    return found


def _split(stack: StackTemplate, value: Any, separators: tuple[str, ...]) -> tuple[str, str | None]:
    """An ARN as (the resource it names, what follows it): ``Fn::Join`` of a reference and
    ``/claude/*`` is (``Prod-Data:ArtifactsBucket.Arn``, ``claude/*``); a plain ARN is split at
    the first of ``separators``."""
    if isinstance(value, dict) and "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        for i, part in enumerate(parts):
            if isinstance(part, dict):
                head = str(delimiter).join(stack.render(p) for p in parts[: i + 1])
                tail = str(delimiter).join(stack.render(p) for p in parts[i + 1 :])
                return head, tail.lstrip("/") or None
    text = stack.render(value)
    if not isinstance(value, str):
        return text, None
    for separator in separators:
        head, found, tail = text.partition(separator)
        if found and tail:
            return head, (found + tail).lstrip("/")
    return text, None


def _access_point(stacks: Sequence[StackTemplate], stack: StackTemplate, value: Any) -> str:
    """``access point `Prod-Data:WorkspacesFileSystemWorkspaces` (root `/workspaces`)``."""
    for ref in references(value):
        target = resolve(stacks, stack, ref)
        if target and target[0].resources[target[1]].get("Type") == "AWS::EFS::AccessPoint":
            props = target[0].resources[target[1]].get("Properties", {})
            root = props.get("RootDirectory", {}).get("Path", "/")
            return f"access point `{stack.render(ref)}` (root `{root}`)"
    text = stack.render(value)
    return "any access point" if text.endswith("/*") or text == "*" else f"access point `{text}`"


def _target(
    stacks: Sequence[StackTemplate],
    stack: StackTemplate,
    service: str,
    action: str,
    resource: Any,
    condition: Mapping[str, Any],
) -> str | None:
    """What one action reaches on one resource, in words; ``None`` when it reaches no data."""
    keys = {k: v for test in condition.values() if isinstance(test, dict) for k, v in test.items()}
    if service == "s3":
        bucket, key = _split(stack, resource, ("/",))
        bucket = "every bucket" if bucket == "*" else f"bucket `{bucket}`"
        if action in _BUCKET_LEVEL:
            return f"{bucket}: list keys"
        if key is None and bucket != "every bucket":
            return None  # object actions on the bucket's own ARN reach no object
        if key in (None, "*"):
            return f"{bucket}: every object (the whole bucket)"
        if key.endswith("/*") and "*" not in key[:-2]:
            return f"{bucket}: objects under `{key[:-1]}`"
        return f"{bucket}: objects `{key}`"
    if service == "dynamodb":
        table, rest = _split(stack, resource, ("/index/", "/stream/"))
        if rest and rest.startswith("index/"):
            index = rest.removeprefix("index/")
            return f"table `{table}`, " + ("every index" if index == "*" else f"index `{index}`")
        return f"table `{table}`" + (f" `{rest}`" if rest else "")
    if service == "elasticfilesystem":
        where = f"file system `{stack.render(resource)}`"
        if action == "CreateAccessPoint":
            return where + ": new access points (each may root anywhere in it)"
        if action == "DeleteAccessPoint":
            return f"access points `{stack.render(resource)}`: delete"
        allowed, excluded = _access_point_tests(condition)
        if allowed is None:
            return f"{where}, any path (no access point required by this policy)"
        through = f"{where} through {_access_point(stacks, stack, allowed)}"
        if excluded is not None:
            through += f" except {_access_point(stacks, stack, excluded)}"
        return through
    if service == "kms":
        via = sorted(str(v).split(".")[0] for v in as_list(keys.get("kms:ViaService")))
        text = f"key `{stack.render(resource)}`: decrypt " + (
            f"via {', '.join(via)}" if via else "(any service)"
        )
        secret = keys.get("kms:EncryptionContext:SecretARN")
        return text + (f" for `{stack.render(secret)}`" if secret else "")
    name = stack.render(resource)
    return {"secretsmanager": "secret", "sqs": "queue", "logs": "log group"}[service] + f" `{name}`"


def _access_point_tests(condition: Mapping[str, Any]) -> tuple[Any, Any]:
    """(the access point(s) a mount must go through, the one(s) it must not), from the
    ``elasticfilesystem:AccessPointArn`` tests of positive and negated operators."""
    allowed = excluded = None
    for operator, tests in condition.items():
        if isinstance(tests, dict) and AP_KEY in tests:
            if "Not" in operator:
                excluded = tests[AP_KEY]
            else:
                allowed = tests[AP_KEY]
    return allowed, excluded


def _condition(stack: StackTemplate, condition: Mapping[str, Any]) -> str:
    """The conditions the target does not already say: `` if aws:RequestTag/x (StringEquals): y``."""
    said = conditions(stack, condition, skip=_SAID)
    return f" if {'; '.join(said)}" if said else ""


def reach(stacks: Sequence[StackTemplate], role: Role) -> tuple[list[str], list[str]]:
    """What the role can read and what it can write, one line per store and target."""
    found: dict[tuple[bool, int, str], list[str]] = {}
    for _, statement in role.statements():
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement or "NotResource" in statement:
            for write in (False, True):
                found.setdefault(
                    (write, -1, "a `NotAction`/`NotResource` statement: see IAM at a glance"), []
                )
            continue
        condition = statement.get("Condition", {})
        suffix = _condition(role.stack, condition)
        for service, action, write in _granted([str(a) for a in as_list(statement.get("Action"))]):
            for resource in as_list(statement.get("Resource")):
                target = _target(stacks, role.stack, service, action, resource, condition)
                if target:
                    key = (write, list(LEVELS).index(service), f"{target}{suffix}")
                    verbs = found.setdefault(key, [])
                    verbs += [] if action in verbs or service == "kms" else [action]
    lines: tuple[list[str], list[str]] = ([], [])
    for (write, _, target), verbs in sorted(found.items()):
        lines[write].append(target + (f" ({', '.join(sorted(verbs))})" if verbs else ""))
    return lines


def used_by(stacks: Sequence[StackTemplate], roles: Sequence[Role], role: Role) -> list[str]:
    """What uses the role, and for a task role or function role what it mounts."""
    lines = []
    for use in role.uses:
        props = use.resource.get("Properties", {})
        family = props.get("Family")
        line = f"{use.kind} of `{use.name}`" + (f" (family `{family}`)" if family else "")
        if role.on_demand and family:
            by = [r.label for r in launchers(roles, str(family))]
            line += ", run on demand" + (f" by the {', '.join(by)}" if by else "")
        lines.append(line)
        if use.kind == "task role":
            for volume in props.get("Volumes", []):
                efs = volume.get("EFSVolumeConfiguration")
                if efs:
                    lines.append(_mount(stacks, use, volume["Name"], efs))
        for config in props.get("FileSystemConfigs", []) if use.kind == "function role" else []:
            point = _access_point(stacks, use.stack, config.get("Arn"))
            lines.append(f"mounts {point} at `{config.get('LocalMountPath')}`")
    return lines or ["nothing in the templates"]


def _mount(stacks: Sequence[StackTemplate], use: Use, volume: str, efs: Mapping[str, Any]) -> str:
    stack = use.stack
    point = efs.get("AuthorizationConfig", {}).get("AccessPointId")
    where = (
        _access_point(stacks, stack, point) if point else f"root directory `{efs.get('RootDirectory', '/')}`"
    )
    mounts = [
        m
        for container in use.resource.get("Properties", {}).get("ContainerDefinitions", [])
        for m in container.get("MountPoints", [])
        if m.get("SourceVolume") == volume
    ]
    paths = ", ".join(f"`{m.get('ContainerPath')}`" for m in mounts) or "no container"
    mode = "read-only" if mounts and all(m.get("ReadOnly") for m in mounts) else "read-write"
    iam = (
        "IAM authorization"
        if efs.get("AuthorizationConfig", {}).get("IAM") == "ENABLED"
        else "no IAM authorization"
    )
    return f"mounts `{stack.render(efs.get('FilesystemId'))}` through {where} at {paths}, {mode}, {iam}"


def reach_rows(stacks: Sequence[StackTemplate], roles: Sequence[Role] | None = None) -> list[list[str]]:
    """role, used by, reads, writes: one row per role of the environment."""
    roles = environment_roles(stacks) if roles is None else roles
    rows = []
    for role in roles:
        reads, writes = reach(stacks, role)
        managed = [f"AWS managed policy `{arn}` (not expanded)" for arn in role.managed]
        rows.append(
            [
                f"{role.label}\n`{role.name}`",
                "\n".join(used_by(stacks, roles, role)),
                "\n".join(reads + managed) or "nothing",
                "\n".join(writes + managed) or "nothing",
            ]
        )
    return rows


def data_reach_section(stacks: Sequence[StackTemplate], roles: Sequence[Role] | None = None) -> Section:
    roles = environment_roles(stacks) if roles is None else roles
    return Section(
        "Data reach",
        [
            "For every role, the data it can read and the data it can write: S3 objects, DynamoDB "
            "items, secrets, EFS files (through which access point), queue messages, log events; "
            "keys only as what they decrypt, through which service. Read from the roles' own "
            "policies (a resource policy may narrow it further) and the file systems their task "
            "definitions and functions mount. Expected: each agent reaches only its own dispatch.",
            Table(["role", "used by", "reads", "writes"], reach_rows(stacks, roles)),
            Heading("Credentials"),
            "Who holds each secret, for how long, and what it reaches: the containers a task "
            "definition injects it into, the roles that may read it, the rotation of its value, "
            "and the https origins of the containers that hold or name it; then the credentials "
            "a container reads from a file, and who writes them. Expected: no agent container "
            "holds a provider key or a GitHub credential beyond its own dispatch's token file "
            "(docs/credentials.md).",
            Table(["secret", "held by", "for how long", "reaches"], credential_rows(stacks, roles)),
        ],
    )
