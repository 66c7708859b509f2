"""The one reader of a cloud assembly (``cdk.out``): every tool and the tests read it here.

The stacks are discovered from the manifests (``cdk.out/manifest.json`` and each stage's nested
assembly), so every stack of every environment is read, including stacks added later. Two
views of the same walk: ``templates`` (where each stack's template and metadata are, for the
review, the scanners, the cost estimate and the tests) and ``read_assembly`` (each stage's
stacks in dependency order with their assets and roles, as ``cdk deploy`` sees them, for the
rehearsal). The validation reports the synth writes beside them are named in
``compliance/reports.py`` and re-exported here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Re-exported: the tools read the report names from here.
from compliance.reports import (
    GUARD_PLUGIN as GUARD_PLUGIN,
)
from compliance.reports import (
    GUARD_REPORT as GUARD_REPORT,
)
from compliance.reports import (
    TEMPLATE_VALIDATION_PLUGIN as TEMPLATE_VALIDATION_PLUGIN,
)
from compliance.reports import (
    TEMPLATE_VALIDATION_REPORT as TEMPLATE_VALIDATION_REPORT,
)
from compliance.reports import (
    VALIDATION_REPORT as VALIDATION_REPORT,
)
from compliance.reports import (
    validation_report as validation_report,
)

STACK = "aws:cloudformation:stack"
ASSETS = "cdk:asset-manifest"
NESTED = "cdk:cloud-assembly"


@dataclass(frozen=True)
class _Entry:
    """One stack artifact where the walk found it: its assembly directory and manifest."""

    directory: Path
    stage: str  # "Dev"; a stack outside any stage: the first part of its display name
    artifact_id: str
    artifact: Mapping[str, Any]
    artifacts: Mapping[str, Any]  # every artifact of the same manifest (dependencies, assets)

    @property
    def display_name(self) -> str:
        return str(self.artifact.get("displayName", self.artifact_id))


def _walk(directory: Path, stage: str = "", *, by_id: bool = True) -> Iterator[_Entry]:
    """Every stack artifact of the assembly in ``directory`` and of the stages nested in it, each
    manifest's artifacts by id (``by_id``) or in the manifest's order (as ``cdk deploy`` reads them)."""
    manifest_file = directory / "manifest.json"
    if not manifest_file.exists():
        return
    artifacts: Mapping[str, Any] = json.loads(manifest_file.read_text()).get("artifacts", {})
    for artifact_id, artifact in sorted(artifacts.items()) if by_id else artifacts.items():
        props = artifact.get("properties", {})
        if artifact["type"] == STACK:
            display = str(artifact.get("displayName", artifact_id))
            yield _Entry(directory, stage or display.split("/")[0], artifact_id, artifact, artifacts)
        elif artifact["type"] == NESTED:
            nested = directory / props["directoryName"]
            yield from _walk(
                nested, props.get("displayName", nested.name.removeprefix("assembly-")), by_id=by_id
            )


@dataclass(frozen=True)
class Template:
    """Where one stack's template is: ``Dev/Network`` of stage ``Dev``."""

    stage: str  # "Dev"
    stack: str  # "Dev/Network"
    path: Path
    metadata: Path | None = None  # construct metadata (acknowledgements, ...) of the stack
    environment: str = ""  # "aws://111111111111/us-east-1"

    @property
    def account(self) -> str | None:
        return self._environment_part(0)

    @property
    def region(self) -> str | None:
        return self._environment_part(1)

    def load(self) -> dict[str, Any]:
        """The template itself."""
        body: dict[str, Any] = json.loads(self.path.read_text())
        return body

    def _environment_part(self, index: int) -> str | None:
        parts = self.environment.removeprefix("aws://").split("/")
        value = parts[index] if len(parts) == 2 else ""
        return None if not value or value.startswith("unknown-") else value


def templates(outdir: Path, stages: Iterable[str] | None = None) -> list[Template]:
    """Every stack template of every assembly in ``outdir`` (or of ``stages`` only), from the manifests."""
    wanted = None if stages is None else set(stages)
    found: list[Template] = []
    for entry in _walk(outdir):
        if wanted is not None and entry.stage not in wanted:
            continue
        extra = entry.artifact.get("additionalMetadataFile")
        found.append(
            Template(
                entry.stage,
                entry.display_name,
                entry.directory / entry.artifact["properties"]["templateFile"],
                entry.directory / extra if extra else None,
                entry.artifact.get("environment", ""),
            )
        )
    return found


def stack_templates(outdir: Path, stages: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """Every stack template of ``outdir`` (or of ``stages`` only), by ``Dev/Network`` and the like."""
    return {template.stack: template.load() for template in templates(outdir, stages)}


@dataclass(frozen=True)
class FileAsset:
    """One file asset of a stack: a directory to zip or a file, and where it goes."""

    source: Path
    packaging: str  # "zip" (a directory, zipped) or "file"
    bucket: str
    key: str


@dataclass
class Stack:
    """One stack as ``cdk deploy`` sees it: ``Dev/Service`` is stack ``Dev-Service``."""

    artifact_id: str
    display_name: str  # Dev/Service
    stack_name: str  # Dev-Service
    account: str
    region: str
    template: dict[str, Any]
    template_file: Path
    dependencies: tuple[str, ...]  # artifact ids of other stacks
    assets: tuple[FileAsset, ...] = ()
    deploy_role: str = ""
    execution_role: str = ""
    bootstrap_parameter: str = ""
    bootstrap_version: int = 0
    template_url: str = ""  # s3://... where `cdk deploy` uploads the template (none: sent in the request)

    @classmethod
    def from_template(
        cls, display_name: str, template: dict[str, Any], *, account: str, region: str, template_url: str = ""
    ) -> Stack:
        """A stack made from a template in memory (tests, hand-written templates)."""
        return cls(
            artifact_id=display_name.replace("/", ""),
            display_name=display_name,
            stack_name=display_name.replace("/", "-"),
            account=account,
            region=region,
            template=template,
            template_file=Path("/nonexistent") / f"{display_name.replace('/', '-')}.template.json",
            dependencies=(),
            template_url=template_url,
        )

    @property
    def stage(self) -> str:
        return self.display_name.split("/", 1)[0]

    @property
    def environment(self) -> tuple[str, str]:
        return (self.account, self.region)


@dataclass
class Assembly:
    """Every stack of every stage (``assembly-Dev``, ``assembly-Prod``) of a ``cdk.out``."""

    outdir: Path
    stages: dict[str, list[Stack]] = field(default_factory=dict)

    @property
    def stacks(self) -> list[Stack]:
        return [stack for stacks in self.stages.values() for stack in stacks]

    def by_name(self, stack_name: str) -> Stack | None:
        return next((s for s in self.stacks if s.stack_name == stack_name), None)


def _role(arn: str, partition: str = "aws") -> str:
    return arn.replace("${AWS::Partition}", partition)


def _file_assets(assembly_dir: Path, manifest_file: str) -> tuple[FileAsset, ...]:
    manifest = json.loads((assembly_dir / manifest_file).read_text())
    assets = []
    for entry in manifest.get("files", {}).values():
        source = (assembly_dir / entry["source"]["path"]).resolve()
        for destination in entry["destinations"].values():
            assets.append(
                FileAsset(
                    source,
                    entry["source"].get("packaging", "file"),
                    destination["bucketName"],
                    destination["objectKey"],
                )
            )
    return tuple(assets)


def _stack(entry: _Entry) -> Stack:
    artifact, artifacts, assembly_dir = entry.artifact, entry.artifacts, entry.directory
    props = artifact["properties"]
    # aws://111111111111/us-east-1
    account, region = artifact["environment"].removeprefix("aws://").split("/")
    assets: tuple[FileAsset, ...] = ()
    for dependency in artifact.get("dependencies", []):
        if artifacts.get(dependency, {}).get("type") == ASSETS:
            assets += _file_assets(assembly_dir, artifacts[dependency]["properties"]["file"])
    template_file = assembly_dir / props["templateFile"]
    return Stack(
        artifact_id=entry.artifact_id,
        display_name=entry.display_name,
        stack_name=props.get("stackName", entry.artifact_id),
        account=account,
        region=region,
        template=json.loads(template_file.read_text()),
        template_file=template_file,
        dependencies=tuple(
            d for d in artifact.get("dependencies", []) if artifacts.get(d, {}).get("type") == STACK
        ),
        assets=assets,
        deploy_role=_role(props.get("assumeRoleArn", "")),
        execution_role=_role(props.get("cloudFormationExecutionRoleArn", "")),
        bootstrap_parameter=props.get("bootstrapStackVersionSsmParameter", ""),
        bootstrap_version=int(props.get("requiresBootstrapStackVersion", 0)),
        template_url=props.get("stackTemplateAssetObjectUrl", ""),
    )


def dependency_order(stacks: Mapping[str, Stack]) -> list[Stack]:
    """Each stack after every stack it depends on (as ``cdk deploy`` orders them)."""
    ordered: list[Stack] = []
    state: dict[str, str] = {}

    def visit(artifact_id: str, trail: tuple[str, ...]) -> None:
        if state.get(artifact_id) == "done" or artifact_id not in stacks:
            return
        if state.get(artifact_id) == "visiting":
            raise ValueError(f"dependency cycle: {' -> '.join((*trail, artifact_id))}")
        state[artifact_id] = "visiting"
        for dependency in stacks[artifact_id].dependencies:
            visit(dependency, (*trail, artifact_id))
        state[artifact_id] = "done"
        ordered.append(stacks[artifact_id])

    for artifact_id in stacks:
        visit(artifact_id, ())
    return ordered


def read_assembly(outdir: Path, stages: Iterable[str] | None = None) -> Assembly:
    """Every nested stage assembly of ``outdir`` (``cdk.out``), or only ``stages``: each stage's
    stacks in an order where each follows its dependencies."""
    assembly = Assembly(outdir=outdir)
    wanted = None if stages is None else {s.lower() for s in stages}
    found: dict[str, dict[str, Stack]] = {}
    for entry in _walk(outdir, by_id=False):
        if entry.directory == outdir:
            continue  # a stack outside any stage
        if wanted is None or entry.stage.lower() in wanted:
            found.setdefault(entry.stage, {})[entry.artifact_id] = _stack(entry)
    for stage, stacks in found.items():
        assembly.stages[stage] = dependency_order(stacks)
    return assembly
