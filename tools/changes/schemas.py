"""Which properties CloudFormation can only change by replacing the resource.

The answer is each resource type's ``createOnlyProperties`` in its CloudFormation resource
provider schema ("A property that can't be updated after the resource is created: changing it
replaces the resource", https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html).
The schemas come with cfn-lint (already installed through moto, see requirements.lock), which
ships the registry's schemas per region; nothing here keeps its own list of properties.

What the schemas do not say: a "conditional" replacement (a property that replaces the resource
only for some old/new value pairs). Those are not ``createOnlyProperties`` and are reported as
in-place updates here; ``make deploy`` reads CloudFormation's own answer
(``Replacement: Conditional``) before executing (tools/changes/deploy.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class TypeSchema:
    type_name: str
    create_only: tuple[tuple[str, ...], ...]  # each a path of property names ("*": any key/index)
    known: bool  # False: no schema for the type (custom resources): nothing is create-only


def _schemas_dir() -> Path:
    return Path(str(resources.files("cfnlint.data.schemas")))


@cache
def _providers(region: str) -> dict[str, str]:
    path = _schemas_dir() / "providers" / f"{region}.json"
    if not path.exists():
        path = _schemas_dir() / "providers" / "us-east-1.json"
    found: dict[str, str] = json.loads(path.read_text())
    return found


@cache
def schema(region: str, type_name: str) -> TypeSchema:
    """The create-only property paths of ``type_name`` in ``region`` (empty for an unknown type)."""
    schema_hash = _providers(region).get(type_name)
    if schema_hash is None:
        return TypeSchema(type_name, (), known=False)
    document = json.loads((_schemas_dir() / "resources" / f"{schema_hash}.json").read_text())
    paths = tuple(
        tuple(pointer.removeprefix("/properties/").split("/"))
        for pointer in document.get("createOnlyProperties", ())
        if pointer.startswith("/properties/")
    )
    return TypeSchema(type_name, paths, known=True)


def _overlaps(pattern: tuple[str, ...], changed: tuple[str, ...]) -> bool:
    """A change at ``changed`` touches the create-only ``pattern``: one is a prefix of the other
    (a whole ``EncryptionConfiguration`` added touches ``EncryptionConfiguration/KmsKey``)."""
    return all(p == "*" or p == c for p, c in zip(pattern, changed, strict=False))


def forcing(type_schema: TypeSchema, changed: frozenset[tuple[str, ...]]) -> tuple[str, ...]:
    """The create-only properties (top-level names, sorted) that a change at ``changed`` touches."""
    return tuple(
        sorted(
            {
                ".".join(pattern).replace(".*", "[*]")
                for pattern in type_schema.create_only
                for path in changed
                if _overlaps(pattern, path)
            }
        )
    )
