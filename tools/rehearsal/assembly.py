"""The cloud assembly as the rehearsal needs it: stacks per environment, in dependency order."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STACK = "aws:cloudformation:stack"
ASSETS = "cdk:asset-manifest"


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


def read_stage(assembly_dir: Path) -> list[Stack]:
    """The stacks of one nested assembly, in an order where each follows its dependencies."""
    manifest = json.loads((assembly_dir / "manifest.json").read_text())
    artifacts: Mapping[str, Any] = manifest["artifacts"]
    stacks: dict[str, Stack] = {}
    for artifact_id, artifact in artifacts.items():
        if artifact["type"] != STACK:
            continue
        props = artifact["properties"]
        # aws://111111111111/us-east-1
        account, region = artifact["environment"].removeprefix("aws://").split("/")
        assets: tuple[FileAsset, ...] = ()
        for dependency in artifact.get("dependencies", []):
            if artifacts.get(dependency, {}).get("type") == ASSETS:
                assets += _file_assets(assembly_dir, artifacts[dependency]["properties"]["file"])
        template_file = assembly_dir / props["templateFile"]
        stacks[artifact_id] = Stack(
            artifact_id=artifact_id,
            display_name=artifact.get("displayName", artifact_id),
            stack_name=props.get("stackName", artifact_id),
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
    return dependency_order(stacks)


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
    """Every nested stage assembly of ``outdir`` (``cdk.out``), or only ``stages``."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    assembly = Assembly(outdir=outdir)
    wanted = None if stages is None else {s.lower() for s in stages}
    for artifact in manifest["artifacts"].values():
        if artifact["type"] != "cdk:cloud-assembly":
            continue
        directory = outdir / artifact["properties"]["directoryName"]
        name = artifact["properties"].get("displayName", directory.name.removeprefix("assembly-"))
        if wanted is None or name.lower() in wanted:
            assembly.stages[name] = read_stage(directory)
    return assembly
