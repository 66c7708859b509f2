"""``python -m tools.rehearsal.recreate [cdk.out]``: a development environment destroyed and created again.

Each environment of kind ``development`` (from ``cdk.json``; ``--env`` to choose) is created on
the emulator (its images pushed), destroyed in reverse dependency order as ``cdk destroy`` deletes
its stacks, and created again by the runbook of docs/rehearsal.md (*Rebuild a development
environment*): the image repositories the destroyed Registry stack kept are found, the
environment is synthesized again (only it, ``-c outpost:only=<env>``) with
``registry.existing_repositories`` naming them, and that assembly is created. Every stack must be
created the second time, and every image pushed the first time must still be there.
``--without-adoption`` skips the runbook (the second create uses the first templates), to show
what it prevents: the Registry stack fails, naming each repository that already exists.

What a stack's ``DeletionPolicy`` retains stays on the emulator (moto 5.2.5 deletes every
resource of a deleted stack except those with ``DeletionPolicy: Retain``). AWS refuses to
create a named resource whose name a retained one still holds ("already exists"). moto refuses
an ECR repository (``RepositoryAlreadyExistsException``) but answers a log group's with an
error of its own (a 500), and types it does not model it cannot refuse; so the rehearsal checks
it itself: before the second create, a resource whose fixed name (``RepositoryName``,
``LogGroupName``, ``BucketName``, ...) a retained resource of the same type still holds fails
the stack, naming both. A retained resource without a fixed name (a generated one) is no obstacle: the new
stack gets a new name, and the report lists what stays behind.

Exit 0 when every stack was created twice and no image was lost, 1 when not, 2 on bad input.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from config import IMAGES, ConfigError, EnvironmentConfig, account_override_key, load_environments
from config.context import ONLY_KEY, read_context
from tools.assembly import Assembly, Stack, read_assembly
from tools.rehearsal import limits
from tools.rehearsal.adapt import attributes
from tools.rehearsal.cdk_bootstrap import ROOT, bootstrap_stack, publish
from tools.rehearsal.deploy import Deployment, Result
from tools.rehearsal.emulator import Emulator, isolate_from_aws, started
from tools.rehearsal.run import SETTINGS, Group, bootstrap, options_from, report

RETAINING = ("Retain", "RetainExceptOnCreate", "Snapshot")
# The property that fixes a resource's physical name, per type (CloudFormation's "name type"
# properties: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html).
NAME_PROPERTIES = {
    "AWS::ECR::Repository": "RepositoryName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::KMS::Alias": "AliasName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Archive": "ArchiveName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::EFS::FileSystem": "",  # no name property: never collides
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::OIDCProvider": "Url",
}


EMPTIED_WORKAROUND = (
    "ECR repositories with EmptyOnDelete emptied before their stack is deleted (moto 5.2.5 ignores it)"
)
DELETE_WORKAROUNDS = (
    "managed policies detached from a stack's roles before it is deleted (moto 5.2.5 deletes neither)",
    "a deleted stack's VPC endpoints and route tables deleted by the rehearsal (moto 5.2.5 leaves them)",
)
ADOPT_SETTING = "registry.existing_repositories"
RUNBOOK = "docs/rehearsal.md, Rebuild a development environment"


@dataclass(frozen=True)
class Retained:
    """A resource a deleted stack left on the emulator (and in the account)."""

    stack: str  # Dev/Registry
    logical_id: str
    type: str
    physical_id: str

    def holds(self, resource_type: str, name: str) -> bool:
        if resource_type != self.type or not name:
            return False
        # A secret's physical id is its ARN: ...:secret:<name>-<6 characters>.
        return self.physical_id == name or self.physical_id.rsplit(":", 1)[-1][:-7] == name


def environments(cdk_json: Path = ROOT / "cdk.json") -> dict[str, EnvironmentConfig]:
    """Stage name (``Dev``) -> the environment's settings, from ``cdk.json``."""
    context = read_context(cdk_json)
    return {env.stage_name: env for env in load_environments(context.get)}


def kept_repositories(config: EnvironmentConfig, retained: Sequence[Retained]) -> tuple[str, ...]:
    """The images whose repository, by this environment's names, a destroyed stack kept."""
    names = {r.physical_id for r in retained if r.type == "AWS::ECR::Repository"}
    return tuple(image for image in IMAGES if config.registry.repository_name(image) in names)


def adoption_context(config: EnvironmentConfig, images: Sequence[str], account: str) -> dict[str, Any]:
    """``cdk.json``'s context as the runbook changes it: the environment's block gets
    ``registry.existing_repositories``; only that environment is built (``-c outpost:only``), in
    the account its destroyed stacks were in (``-c outpost:<env>:account`` when that differs)."""
    context = read_context(ROOT / "cdk.json")
    block = context["outpost"]["environments"][config.name]
    block.setdefault("registry", {})["existing_repositories"] = list(images)
    context[ONLY_KEY] = config.name
    if account != config.account:
        context[account_override_key(config.name)] = account
    # As the CDK CLI runs the app: construct paths and asset paths in metadata, no version report.
    context.update(
        {
            "aws:cdk:enable-path-metadata": True,
            "aws:cdk:enable-asset-metadata": True,
            "aws:cdk:version-reporting": False,
        }
    )
    return context


def synthesize_adopting(
    outdir: Path, config: EnvironmentConfig, images: Sequence[str], account: str
) -> list[str]:
    """The runbook's synth, in this process (the same toolchain as ``make synth``), into ``outdir``;
    its unacknowledged cdk-nag findings (none expected: it creates less, never more)."""
    # Imported here: the app is built only when the runbook needs it.
    from app import build
    from compliance.packs import new_app, synth_findings

    shutil.rmtree(outdir, ignore_errors=True)
    app = new_app(outdir=str(outdir), context=adoption_context(config, images, account))
    build(app)
    app.synth()
    return synth_findings(outdir)


def destroy(deployment: Deployment, stacks: Sequence[Stack]) -> tuple[list[Result], list[Retained]]:
    """Delete ``stacks`` in reverse order; what their templates retain, as the emulator left it."""
    results, retained = [], []
    for stack in reversed(stacks):
        cloudformation = deployment.account(stack).client("cloudformation")
        resources = stack.template.get("Resources", {})
        try:
            listed = cloudformation.describe_stack_resources(StackName=stack.stack_name)["StackResources"]
            for entry in listed:
                declared = resources.get(entry.get("LogicalResourceId", ""), {})
                if declared.get("DeletionPolicy") in RETAINING:
                    retained.append(
                        Retained(
                            stack.display_name,
                            entry["LogicalResourceId"],
                            str(entry.get("ResourceType", declared.get("Type", ""))),
                            str(entry.get("PhysicalResourceId", "")),
                        )
                    )
            _as_cloudformation_deletes(deployment, stack, listed)
            try:
                cloudformation.delete_stack(StackName=stack.stack_name)
            except ClientError as err:
                if "DependencyViolation" not in str(err):
                    raise
                _delete_left_in_vpc(deployment, stack, listed)
                cloudformation.delete_stack(StackName=stack.stack_name)
            status = _status(cloudformation, stack.stack_name)
        except ClientError as err:
            results.append(Result(stack.display_name, "failed", f"delete: {err}"))
            continue
        if status not in (None, "DELETE_COMPLETE"):
            results.append(Result(stack.display_name, "failed", f"delete: {status}"))
        else:
            results.append(Result(stack.display_name, "deleted"))
    return results, retained


def _as_cloudformation_deletes(deployment: Deployment, stack: Stack, listed: Sequence[Any]) -> None:
    """What CloudFormation's delete handlers do and moto 5.2.5's do not (WORKAROUNDS): a
    repository with ``EmptyOnDelete`` is emptied first; a role's managed policies are
    detached before the role and the policies are deleted."""
    resources = stack.template.get("Resources", {})
    account = deployment.account(stack)
    for entry in listed:
        declared = resources.get(entry.get("LogicalResourceId", ""), {})
        physical = str(entry.get("PhysicalResourceId", ""))
        if declared.get("DeletionPolicy") in RETAINING or not physical:
            continue
        if entry.get("ResourceType") == "AWS::ECR::Repository" and declared.get("Properties", {}).get(
            "EmptyOnDelete"
        ):
            ecr = account.client("ecr")
            images = ecr.list_images(repositoryName=physical).get("imageIds", [])
            if images:
                ecr.batch_delete_image(repositoryName=physical, imageIds=images)
        if entry.get("ResourceType") == "AWS::IAM::Role":
            iam = account.client("iam")
            for policy in iam.list_attached_role_policies(RoleName=physical).get("AttachedPolicies", []):
                iam.detach_role_policy(RoleName=physical, PolicyArn=policy["PolicyArn"])


def _delete_left_in_vpc(deployment: Deployment, stack: Stack, listed: Sequence[Any]) -> None:
    """moto 5.2.5 leaves a deleted stack's VPC endpoints and route tables behind, so its VPC
    "has dependencies" (WORKAROUNDS): delete the ones this stack created, as CloudFormation does."""
    ec2 = deployment.account(stack).client("ec2")
    own: dict[str, list[str]] = {e.get("ResourceType", ""): [] for e in listed}
    for entry in listed:
        own[entry.get("ResourceType", "")].append(str(entry.get("PhysicalResourceId", "")))
    endpoints = [e for e in own.get("AWS::EC2::VPCEndpoint", []) if e]
    if endpoints:
        ec2.delete_vpc_endpoints(VpcEndpointIds=endpoints)
    for table in own.get("AWS::EC2::RouteTable", []):
        try:
            ec2.delete_route_table(RouteTableId=table)
        except ClientError:
            continue  # already gone


def _status(cloudformation: Any, stack_name: str) -> str | None:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError:
        return None
    return str(stacks[0]["StackStatus"]) if stacks else None


def collisions(deployment: Deployment, stack: Stack, retained: Sequence[Retained]) -> list[str]:
    """Each resource of ``stack`` whose fixed name a retained resource still holds."""
    resolver = deployment.resolver(stack)
    found = []
    for logical_id, resource in stack.template.get("Resources", {}).items():
        prop = NAME_PROPERTIES.get(resource.get("Type", ""))
        if not prop or prop not in resource.get("Properties", {}):
            continue
        name = str(resolver.resolve(resource["Properties"][prop]))
        for old in retained:
            if old.holds(resource["Type"], name):
                hint = (
                    f" (adopt it: {ADOPT_SETTING}, {RUNBOOK})"
                    if resource["Type"] == "AWS::ECR::Repository"
                    else ""
                )
                found.append(
                    f"{logical_id} creates {resource['Type']} {name!r}, which {old.stack} retained "
                    f"({old.logical_id}) when it was deleted: already exists{hint}"
                )
    return found


@dataclass(frozen=True)
class Runbook:
    """How the second create is prepared: ``outdir`` receives the runbook's synth; ``None``
    creates the first templates again (``--without-adoption``)."""

    outdir: Path | None
    config: EnvironmentConfig
    options: limits.Options


def images_lost(deployment: Deployment, stacks: Sequence[Stack], pushed: Sequence[str]) -> list[str]:
    """Each ``repository:tag`` pushed at the first create that is no longer there."""
    ecr = deployment.account(stacks[0]).client("ecr")
    lost = []
    for image in pushed:
        repository, _, tag = image.rpartition(":")
        try:
            ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
        except ClientError:
            lost.append(image)
    return lost


def rehearse_recreate(
    group: Group,
    assembly: Assembly,
    findings: dict[str, list[limits.Finding]],
    runbook: Runbook,
    emulator: Emulator | None = None,
) -> Group:
    stacks = [s for stage in group.stages for s in assembly.stages[stage]]
    toolkits = [bootstrap_stack(a, r) for a, r in dict.fromkeys(s.environment for s in stacks)]
    with started(emulator, None, attributes(s.template for s in stacks + toolkits)) as emulator:
        group.support = emulator.support
        known = dict(findings)  # the runbook's stacks' findings are added to it
        deployment = Deployment(emulator, known)
        if not bootstrap(deployment, toolkits, stacks, group):
            return group
        first = deployment.deploy(stacks)
        pushed = list(deployment.pushed)
        group.notes.append("first create: " + ", ".join(f"{r.stack} {r.status}" for r in first))
        if any(r.status != "created" for r in first):
            group.results.extend(r for r in first if r.status != "created")
            return group
        deleted, retained = destroy(deployment, stacks)
        group.notes.append(
            "destroyed in reverse order: " + ", ".join(f"{r.stack} {r.status}" for r in deleted)
        )
        group.notes.extend(f"retained: {r.stack} {r.logical_id} {r.type} {r.physical_id}" for r in retained)
        emptied = any(
            r.get("Type") == "AWS::ECR::Repository" and r.get("Properties", {}).get("EmptyOnDelete")
            for s in stacks
            for r in s.template.get("Resources", {}).values()
        )
        group.notes.extend(
            f"delete workaround: {w}" for w in ((EMPTIED_WORKAROUND,) if emptied else ()) + DELETE_WORKAROUNDS
        )
        group.results.extend(r for r in deleted if r.status != "deleted")
        # Checked before the second create, which pushes the images again.
        lost = images_lost(deployment, stacks, pushed)
        group.notes.append(
            f"images pushed at the first create and still there after the destroy: "
            f"{len(pushed) - len(lost)} of {len(pushed)}"
        )
        if lost:
            group.results.append(
                Result(
                    f"{group.stages[0]}/images",
                    "failed",
                    "lost with the destroyed stacks: " + ", ".join(lost),
                )
            )
        again = adopt(group, runbook, stacks, retained, deployment, known)
        if again is None:
            return group
        deployment.results.clear()
        deployment.deployed.clear()
        for stack in again:
            clash = collisions(deployment, stack, retained)
            if clash:
                result = Result(stack.display_name, "failed", "; ".join(clash))
            else:
                [result] = deployment.deploy([stack])
            deployment.results[stack.display_name] = result
            group.results.append(result)
    return group


def adopt(
    group: Group,
    runbook: Runbook,
    stacks: Sequence[Stack],
    retained: Sequence[Retained],
    deployment: Deployment,
    findings: dict[str, list[limits.Finding]],
) -> list[Stack] | None:
    """The stacks to create again: the runbook's synth of them when the destroyed Registry kept
    repositories (``None`` when it fails), else the first ones."""
    images = kept_repositories(runbook.config, retained)
    if runbook.outdir is None or not images:
        group.notes.append(
            "runbook not followed (--without-adoption): the first templates created again"
            if runbook.outdir is None
            else "no repository kept: the first templates created again"
        )
        return list(stacks)
    [account] = {s.account for s in stacks}
    settings = f"{ADOPT_SETTING} = {list(images)}"
    try:
        unacknowledged = synthesize_adopting(runbook.outdir, runbook.config, images, account)
    except (ConfigError, RuntimeError) as err:
        unacknowledged = [str(err).splitlines()[0]]
    if unacknowledged:
        why = "; ".join(unacknowledged)
        group.results.append(
            Result(stacks[0].display_name, "failed", f"the runbook's synth ({settings}): {why}")
        )
        return None
    fresh = read_assembly(runbook.outdir, group.stages)
    names = {s.display_name for s in stacks}
    again = [s for stage in group.stages for s in fresh.stages.get(stage, []) if s.display_name in names]
    findings.update(limits.by_stack(limits.check(again, runbook.options)))
    count = publish(deployment.account(again[0]).client("s3"), [a for s in again for a in s.assets])
    group.notes.append(
        f"runbook: {runbook.config.name} synthesized again with {settings} "
        f"(-c {ONLY_KEY}={runbook.config.name}) into {runbook.outdir}; published {count} file assets"
    )
    return again


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.rehearsal.recreate", description=__doc__)
    parser.add_argument("outdir", nargs="?", default="cdk.out", type=Path)
    parser.add_argument("--env", action="append", help="this environment (default: every development one)")
    parser.add_argument("--settings", type=Path, default=SETTINGS)
    parser.add_argument(
        "--runbook-outdir",
        type=Path,
        help="where the runbook's synth goes (default: <outdir>.recreate)",
    )
    parser.add_argument(
        "--without-adoption",
        action="store_true",
        help="create the first templates again, without the runbook (it fails: already exists)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, emulator: Emulator | None = None) -> int:
    """The recreate rehearsal; ``emulator``: a running one to use (tests), else each stage starts its own."""
    args = parse(argv)
    started = time.monotonic()
    isolate_from_aws()
    if not (args.outdir / "manifest.json").exists():
        print(f"rehearse-recreate: no cloud assembly in {args.outdir} (run make synth)", file=sys.stderr)
        return 2
    configs = environments()
    stages = args.env or [stage for stage, env in configs.items() if env.kind == "development"]
    assembly = read_assembly(args.outdir, stages)
    if not assembly.stacks:
        print(f"rehearse-recreate: no stack of {', '.join(stages)} in {args.outdir}", file=sys.stderr)
        return 2
    by_stage = {stage.lower(): env for stage, env in configs.items()}
    options = options_from(args.settings)
    findings = limits.by_stack(limits.check(assembly.stacks, options))
    outdir = args.runbook_outdir or args.outdir.with_name(f"{args.outdir.name}.recreate")
    done = []
    for stage in assembly.stages:
        config = by_stage.get(stage.lower())
        if config is None:
            print(f"rehearse-recreate: {stage} is not an environment of cdk.json", file=sys.stderr)
            return 2
        runbook = Runbook(None if args.without_adoption else outdir, config, options)
        done.append(rehearse_recreate(Group([stage]), assembly, findings, runbook, emulator))
    return report(done, assembly, options, time.monotonic() - started, verb="created again")


if __name__ == "__main__":
    sys.exit(main())
