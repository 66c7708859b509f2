"""Which properties CloudFormation can only change by replacing the resource.

Two sources, both CloudFormation's own data, neither a list kept here; a property is
replacing when either says so:

- **the CDK CLI's service specification** (``node_modules/aws-cdk/db.json.gz``, the database
  the pinned CLI's own diff engine reads): each property's ``causesReplacement``, ``yes`` or
  ``maybe``, on resource types and on their nested property types. It carries the older
  resource specification's "Update requires: Replacement" too (``AWS::DynamoDB::Table``'s
  ``KeySchema``, ``AWS::S3::Bucket``'s ``ObjectLockEnabled``), which the registry schemas omit;
- **the CloudFormation resource provider schemas** (cfn-lint's copy of the registry's, per
  region): ``createOnlyProperties``, "a property that can't be updated after the resource is
  created", https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html.

``maybe`` is a conditional replacement ("Update requires: Some interruptions or Replacement"
depending on the value): ``make changes`` reports it as a replacement that may happen, and
refuses it for stateful data like a certain one; ``make deploy`` then reads CloudFormation's
own answer (``Replacement: Conditional``) before executing (tools/changes/deploy.py).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CDK_SPEC = ROOT / "node_modules" / "aws-cdk" / "db.json.gz"
CACHE = ROOT / ".cache" / "changes"
Path_ = tuple[str, ...]  # property names from the resource's Properties ("*": any key/index)


@dataclass(frozen=True)
class TypeSchema:
    type_name: str
    create_only: tuple[Path_, ...]  # always replaces
    conditional: tuple[Path_, ...] = ()  # may replace, depending on the values
    known: bool = True  # False: in no source (custom resources): nothing is create-only


def _schemas_dir() -> Path:
    return Path(str(resources.files("cfnlint.data.schemas")))


@cache
def _providers(region: str) -> dict[str, str]:
    path = _schemas_dir() / "providers" / f"{region}.json"
    if not path.exists():
        path = _schemas_dir() / "providers" / "us-east-1.json"
    found: dict[str, str] = json.loads(path.read_text())
    return found


def _registry(region: str, type_name: str) -> tuple[Path_, ...] | None:
    schema_hash = _providers(region).get(type_name)
    if schema_hash is None:
        return None
    document = json.loads((_schemas_dir() / "resources" / f"{schema_hash}.json").read_text())
    return tuple(
        tuple(pointer.removeprefix("/properties/").split("/"))
        for pointer in document.get("createOnlyProperties", ())
        if pointer.startswith("/properties/")
    )


# Type -> (paths that replace, paths that may replace, whether the CDK calls the type stateful).
Replacing = dict[str, tuple[tuple[Path_, ...], tuple[Path_, ...], bool]]


@cache
def _cdk_spec(path: Path = CDK_SPEC) -> Replacing:
    """Type -> (paths that replace, paths that may replace, stateful), from the CLI's specification;
    empty when the file is not there (``make`` installs node_modules before ``make changes``).
    The extract is kept in .cache/ under the specification's hash: reading the whole database
    takes seconds, the extract milliseconds."""
    if not path.exists():
        return {}
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    cached = CACHE / f"cdk-spec-{digest}-v2.json"
    try:
        raw = json.loads(cached.read_text())
        return {
            k: (tuple(map(tuple, yes)), tuple(map(tuple, maybe)), bool(stateful))
            for k, (yes, maybe, stateful) in raw.items()
        }
    except (OSError, ValueError):
        pass  # not cached yet (or unreadable): read the database
    found = _read_cdk_spec(path)
    try:
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.partial")  # parallel runs never share one
        partial.write_text(json.dumps(found))
        partial.replace(cached)
    except OSError:
        pass  # a read-only tree: read the database again next time
    return found


def _read_cdk_spec(path: Path) -> Replacing:
    with gzip.open(path) as handle:
        schema = json.load(handle)["schema"]
    types = {entity["$id"]: entity for entity in schema["typeDefinition"]["entities"]}
    found: Replacing = {}
    for entity in schema["resource"]["entities"]:
        yes: list[Path_] = []
        maybe: list[Path_] = []
        _walk(entity.get("properties", {}), (), types, yes, maybe, 0)
        found[entity["cloudFormationType"]] = (tuple(yes), tuple(maybe), bool(entity.get("isStateful")))
    return found


def _walk(
    properties: dict[str, Any],
    prefix: Path_,
    types: dict[str, Any],
    yes: list[Path_],
    maybe: list[Path_],
    depth: int,
) -> None:
    if depth > 8:  # property types may nest recursively; replacement is decided near the top
        return
    for name, prop in properties.items():
        path = (*prefix, name)
        if prop.get("causesReplacement") == "yes":
            yes.append(path)
        elif prop.get("causesReplacement") == "maybe":
            maybe.append(path)
        for suffix, ref in _references(prop.get("type", {})):
            nested = types.get(ref)
            if nested is not None:
                _walk(nested.get("properties", {}), (*path, *suffix), types, yes, maybe, depth + 1)


def _references(kind: dict[str, Any], suffix: Path_ = ()) -> list[tuple[Path_, str]]:
    """(path suffix, type id) of each property type a property's type refers to."""
    if kind.get("type") == "ref":
        return [(suffix, kind["reference"]["$ref"])]
    if kind.get("type") in ("array", "map"):
        return _references(kind.get("element", {}), (*suffix, "*"))
    if kind.get("type") == "union":
        return [found for inner in kind.get("types", ()) for found in _references(inner, suffix)]
    return []


@cache
def schema(region: str, type_name: str) -> TypeSchema:
    """The replacing property paths of ``type_name`` in ``region``, from both sources."""
    registry = _registry(region, type_name)
    spec = _cdk_spec().get(type_name)
    if registry is None and spec is None:
        return TypeSchema(type_name, (), known=False)
    always = {*(registry or ()), *(spec[0] if spec else ())}
    conditional = {path for path in (spec[1] if spec else ()) if path not in always}
    return TypeSchema(type_name, tuple(sorted(always)), tuple(sorted(conditional)))


def cdk_stateful(type_name: str) -> bool:
    """Whether the CDK's service specification calls the type stateful (``isStateful``: the CDK
    warns when such a resource is replaced or deleted)."""
    spec = _cdk_spec().get(type_name)
    return bool(spec and spec[2])


def _overlaps(pattern: Path_, changed: Path_) -> bool:
    """A change at ``changed`` touches the create-only ``pattern``: one is a prefix of the other
    (a whole ``EncryptionConfiguration`` added touches ``EncryptionConfiguration/KmsKey``)."""
    return all(p == "*" or c == "*" or p == c for p, c in zip(pattern, changed, strict=False))


def _names(patterns: tuple[Path_, ...], changed: frozenset[Path_]) -> tuple[str, ...]:
    """The matched patterns, outermost only: a changed ``ContainerDefinitions`` names that one
    property, not each of the ninety create-only paths the schema lists beneath it."""
    matched = {p for p in patterns for path in changed if _overlaps(p, path)}
    outermost = {p for p in matched if not any(q != p and p[: len(q)] == q for q in matched)}
    return tuple(sorted(".".join(p).replace(".*", "[*]") for p in outermost))


def forcing(type_schema: TypeSchema, changed: frozenset[Path_]) -> tuple[str, ...]:
    """The replacing properties (dotted, sorted) that a change at ``changed`` touches."""
    return _names(type_schema.create_only, changed)


def maybe_forcing(type_schema: TypeSchema, changed: frozenset[Path_]) -> tuple[str, ...]:
    """The conditionally replacing properties that a change at ``changed`` touches."""
    return _names(type_schema.conditional, changed)
