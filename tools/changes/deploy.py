"""``make deploy ENV=<env>``: every stack of one environment through its real change set.

Per stack, in dependency order (docs/changes.md, "Deploying"):

1. before the first stack, the environment's release alarms (the alarms its control-plane
   service rolls back on) must not be in ALARM: ECS fails a deployment when it "detects that a
   specified CloudWatch alarm has gone into the ALARM state" ("How CloudWatch alarms detect
   Amazon ECS deployment failures",
   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html)
   and skips an alarm already in ALARM when the deployment starts (aws/copilot-cli#4512, as
   docs/service.md cites), so a release started then is unguarded. At a terminal the operator may type the
   environment's name to go on; without one (CI) it stops;
2. the CDK CLI prepares the stack's change set (``cdk deploy --method prepare-change-set``);
3. CloudFormation's answer (``DescribeChangeSet``) is judged as ``make changes`` judges the
   templates: a stateful resource (tools/changes/policy.py) with ``Replacement: True`` or
   ``Conditional``, or removed, is refused unless that exact change is acknowledged in
   ``cdk.json`` (same fingerprint: the deployed template's resource and the new one). A refused
   change set is deleted and nothing further is deployed. ``Conditional`` is refused like
   ``True``, and so is the action ``Dynamic`` ("exact action for the resource can't be
   determined"): ``Conditional`` is what a property that always recreates gets when its new value
   is known only at execution (``RequiresRecreation: Always`` with ``Evaluation: Dynamic``,
   https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html),
   and a replaced table is not undone by a rollback;
4. the CLI executes the change set (``--method execute-change-set``);
5. the stack's outputs are read again; each stack of the environment that reads a changed output
   (``Fn::GetStackOutput``) is deployed with ``--force`` when its turn comes, so it resolves the
   new value ("If the referenced stack or output is later deleted or modified, the consuming
   stack is not automatically updated",
   https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getstackoutput.html).
   If CloudFormation then finds nothing to change in such a consumer, the run stops and says
   so: the consumer would keep the old value.

The AWS calls sit behind ``Cloud`` and the CLI behind ``Cli``: the tests drive this module with
botocore's Stubber on recorded answers (tests/tools/test_changes_deploy.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from config import EnvironmentConfig
from config.changes import Acknowledgement
from tools.changes.compare import ResourceChange, definition, references
from tools.changes.policy import ack_hint, stateful_roles
from tools.changes.sources import StackInfo, current_templates, masked, stack_infos

NO_CHANGES = ("didn't contain changes", "No updates are to be performed")


@dataclass(frozen=True)
class Change:
    """One ``ResourceChange`` of a ``DescribeChangeSet`` answer."""

    action: str  # Add | Modify | Remove | Import | Dynamic
    logical_id: str
    type_name: str
    replacement: str  # True | False | Conditional | "" (Add, Remove)
    forced_by: tuple[str, ...]  # the properties whose change requires recreation


@dataclass(frozen=True)
class ChangeSet:
    status: str  # CREATE_COMPLETE | FAILED | ...
    reason: str
    changes: tuple[Change, ...]

    @property
    def empty(self) -> bool:
        return not self.changes and (
            self.status == "FAILED" and any(text in self.reason for text in NO_CHANGES)
        )


class Cloud(Protocol):
    """The AWS calls, one account and region."""

    def outputs(self, stack_name: str) -> dict[str, str] | None: ...
    def deployed_template(self, stack_name: str) -> dict[str, Any] | None: ...
    def change_set(self, stack_name: str, name: str) -> ChangeSet | None: ...
    def delete_change_set(self, stack_name: str, name: str) -> None: ...
    def alarm_states(self, names: Sequence[str]) -> dict[str, str]: ...


class Cli(Protocol):
    def prepare(self, stack_path: str, name: str, *, force: bool) -> None: ...
    def execute(self, stack_path: str, name: str) -> None: ...


class RefusedError(Exception):
    """The deploy stops; ``lines`` say why, one per refused change."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = tuple(lines)
        super().__init__("\n".join(lines))


def parse_change_set(answers: Sequence[Mapping[str, Any]]) -> ChangeSet:
    """The pages of ``DescribeChangeSet`` (``IncludePropertyValues`` off) as one ``ChangeSet``."""
    changes: list[Change] = []
    for page in answers:
        for entry in page.get("Changes", ()):
            rc = entry.get("ResourceChange", {})
            forced = sorted(
                {
                    detail["Target"].get("Name") or detail["Target"].get("Attribute", "")
                    for detail in rc.get("Details", ())
                    if detail.get("Target", {}).get("RequiresRecreation") in ("Always", "Conditionally")
                }
            )
            changes.append(
                Change(
                    action=rc.get("Action", ""),
                    logical_id=rc.get("LogicalResourceId", ""),
                    type_name=rc.get("ResourceType", ""),
                    replacement=rc.get("Replacement", ""),
                    forced_by=tuple(forced),
                )
            )
    first = answers[0] if answers else {}
    return ChangeSet(
        status=first.get("Status", ""), reason=first.get("StatusReason", ""), changes=tuple(changes)
    )


def release_alarm_names(service_template: Mapping[str, Any]) -> tuple[str, ...]:
    """The alarms every ECS service of the template rolls back on (``DeploymentConfiguration.Alarms``),
    by name; a name written as a ``Ref`` to an alarm of the template is read from that alarm."""
    resources = service_template.get("Resources", {})
    names: list[str] = []
    for resource in resources.values():
        if resource.get("Type") != "AWS::ECS::Service":
            continue
        alarms = resource.get("Properties", {}).get("DeploymentConfiguration", {}).get("Alarms", {})
        for name in alarms.get("AlarmNames", ()):
            if isinstance(name, dict) and "Ref" in name:
                name = resources.get(name["Ref"], {}).get("Properties", {}).get("AlarmName")
            if isinstance(name, str) and name not in names:
                names.append(name)
    return tuple(names)


def judge_change_set(
    stack_path: str,
    answer: ChangeSet,
    deployed: Mapping[str, Any] | None,
    template: Mapping[str, Any],
    acknowledged: Sequence[Acknowledgement],
    environment: str,
) -> tuple[list[str], list[str]]:
    """(refused lines, acknowledged lines) for one stack's change set."""
    old = masked(dict(deployed or {})).get("Resources", {})
    new = masked(dict(template)).get("Resources", {})
    roles = {**stateful_roles({"Resources": old}), **stateful_roles({"Resources": new})}
    approvals = {(a.stack, a.logical_id, a.change): a for a in acknowledged}
    stack_id = stack_path.split("/")[-1]
    refused: list[str] = []
    approved: list[str] = []
    for change in answer.changes:
        role = roles.get(change.logical_id)
        if role is None:
            continue
        if change.action == "Remove":
            action = "delete"
        elif change.action == "Dynamic" or (
            change.action == "Modify" and change.replacement in ("True", "Conditional")
        ):
            action = "replace"
        else:
            continue
        fingerprint = ResourceChange(
            stack_path,
            change.logical_id,
            change.type_name,
            action,
            before=definition(old.get(change.logical_id)),
            after=None if action == "delete" else definition(new.get(change.logical_id)),
        ).fingerprint
        named = ", ".join(change.forced_by) or "no property named"
        said = "Action: Dynamic" if change.action == "Dynamic" else f"Replacement: {change.replacement}"
        forced = f" ({said}; forced by {named})"
        what = f"{stack_path} {change.logical_id} {change.type_name} ({role}): {action}"
        what += forced if action == "replace" else ""
        approval = approvals.get((stack_id, change.logical_id, fingerprint))
        if approval is not None:
            approved.append(f"{environment}: acknowledged {what}: {approval.reason}")
        else:
            hint = ack_hint(stack_id, "resource", change.logical_id, fingerprint)
            refused.append(f"{environment}: refused {what}; acknowledge in cdk.json with {hint}")
    return refused, approved


def deploy_order(infos: Mapping[str, StackInfo], stage: str) -> list[str]:
    """The stage's stack paths, each after the stacks it depends on."""
    mine = {path: info for path, info in infos.items() if path.split("/")[0] == stage}
    order: list[str] = []

    def visit(path: str, seen: tuple[str, ...] = ()) -> None:
        if path in order or path not in mine:
            return
        if path in seen:
            raise ValueError(f"dependency cycle through {path}")
        for dep in mine[path].dependencies:
            visit(dep, (*seen, path))
        order.append(path)

    for path in sorted(mine):
        visit(path)
    return order


@dataclass
class Run:
    env: EnvironmentConfig
    templates: Mapping[str, Mapping[str, Any]]  # stack path -> template (cdk.out, unmasked)
    infos: Mapping[str, StackInfo]
    cloud: Cloud
    cli: Cli
    change_set_name: str
    ask: Callable[[str, str], bool] | None = None  # None: no terminal; else (question, answer) -> typed it
    say: Callable[[str], None] = print
    refreshed: set[str] = field(default_factory=set)  # readers of changed outputs: deployed with --force
    done: set[str] = field(default_factory=set)  # stacks this run has deployed

    def check_alarms(self) -> None:
        names: list[str] = []
        for path, template in self.templates.items():
            if path.split("/")[0] == self.env.stage_name:
                names.extend(release_alarm_names(template))
        if not names:
            return
        firing = sorted(name for name, state in self.cloud.alarm_states(names).items() if state == "ALARM")
        if not firing:
            self.say(f"{self.env.name}: release alarms not in ALARM: {', '.join(names)}")
            return
        line = (
            f"{self.env.name}: release alarm(s) in ALARM: {', '.join(firing)}; ECS does not roll back on an "
            "alarm already firing when a deployment starts, so this release would be unguarded"
        )
        if self.ask is not None and self.ask(
            f"{line}. Type {self.env.name} to deploy anyway: ", self.env.name
        ):
            self.say(
                f"{self.env.name}: deploying with {', '.join(firing)} in ALARM (confirmed at the terminal)"
            )
            return
        raise RefusedError([line + " (resolve it, or deploy from a terminal and confirm)"])

    def consumers(self, stack_name: str, changed: set[str]) -> list[str]:
        """The stack paths of this environment that read one of ``changed`` outputs of ``stack_name``."""
        readers: list[str] = []
        for path, template in self.templates.items():
            if path.split("/")[0] != self.env.stage_name:
                continue
            reads = {ref for ref in references(template.get("Resources", {})) if isinstance(ref, tuple)}
            if any((stack_name, output) in reads for output in changed):
                readers.append(path)
        return readers

    def deploy_stack(self, path: str) -> None:
        info = self.infos[path]
        force = path in self.refreshed
        before = self.cloud.outputs(info.stack_name)
        deployed = self.cloud.deployed_template(info.stack_name) if before is not None else None
        self.cli.prepare(path, self.change_set_name, force=force)
        answer = self.cloud.change_set(info.stack_name, self.change_set_name)
        if answer is None or answer.empty:
            if answer is not None:
                self.cloud.delete_change_set(info.stack_name, self.change_set_name)
            if force:
                stale = (
                    f"{self.env.name}: {path} reads outputs that changed, yet CloudFormation found "
                    "nothing to change: it would keep the old values (docs/changes.md, make deploy, step 5)"
                )
                raise RefusedError([stale])
            self.say(f"{self.env.name}: {path}: no changes")
            self.done.add(path)
            return
        refused, approved = judge_change_set(
            path, answer, deployed, self.templates[path], self.env.changes.acknowledged, self.env.name
        )
        for line in approved:
            self.say(line)
        if refused:
            self.cloud.delete_change_set(info.stack_name, self.change_set_name)
            raise RefusedError(refused)
        self.say(f"{self.env.name}: {path}: executing {len(answer.changes)} change(s)")
        self.cli.execute(path, self.change_set_name)
        after = self.cloud.outputs(info.stack_name) or {}
        changed = {key for key in (before or {}) if before is not None and before.get(key) != after.get(key)}
        self.done.add(path)
        readers = self.consumers(info.stack_name, changed)
        early = sorted(reader for reader in readers if reader in self.done)
        if early:  # not in a dependency order the CDK gives; said rather than left stale
            names = ", ".join(early)
            raise RefusedError(
                [f"{self.env.name}: {names} read changed outputs of {path} but were deployed before it"]
            )
        for reader in readers:
            if reader not in self.refreshed:
                self.say(f"{self.env.name}: {reader} reads changed outputs of {path}: deploying it too")
                self.refreshed.add(reader)

    def run(self) -> None:
        self.check_alarms()
        for path in deploy_order(self.infos, self.env.stage_name):
            self.deploy_stack(path)


class BotoCloud:
    """``Cloud`` over boto3 clients: ``for_stack`` makes CloudFormation's through the bootstrap
    deploy role and CloudWatch's through the lookup role (the roles the CLI and CI's deploy role
    use), else with the caller's credentials."""

    def __init__(self, cfn: Any, cloudwatch: Any) -> None:
        self.cfn = cfn
        self.cloudwatch = cloudwatch

    @classmethod
    def for_stack(cls, info: StackInfo) -> BotoCloud:
        import boto3  # type: ignore[import-untyped]  # only for a real deploy

        base = boto3.Session(region_name=info.region)
        return cls(
            _session(base, info.assume_role_arn).client("cloudformation"),
            _session(base, info.lookup_role_arn).client("cloudwatch"),
        )

    def outputs(self, stack_name: str) -> dict[str, str] | None:
        return cloud_outputs(self.cfn, stack_name)

    def deployed_template(self, stack_name: str) -> dict[str, Any] | None:
        return cloud_deployed_template(self.cfn, stack_name)

    def change_set(self, stack_name: str, name: str) -> ChangeSet | None:
        return cloud_change_set(self.cfn, stack_name, name)

    def delete_change_set(self, stack_name: str, name: str) -> None:
        self.cfn.delete_change_set(StackName=stack_name, ChangeSetName=name)

    def alarm_states(self, names: Sequence[str]) -> dict[str, str]:
        return cloud_alarm_states(self.cloudwatch, names)


def _session(base: Any, role_template: str | None) -> Any:
    """A boto3 session as ``role_template``'s role (else ``base``), whose credentials renew.

    The role is assumed from CI's own role session, which is role chaining: each session lasts an
    hour at most ("Role chaining limits your AWS CLI or AWS API role session to a maximum of one
    hour", STS AssumeRole, ``DurationSeconds``), while a deploy of every stack may take two (the
    Delivery stack's deploy role allows that). Credentials assumed once would expire mid-run and
    the next CloudFormation call of a later stack would fail; these are assumed again before they
    expire, as the CDK CLI's own are.
    """
    import boto3
    import botocore.session  # type: ignore[import-untyped]
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

    if not role_template:
        return base
    role = role_template.replace("${AWS::Partition}", base.get_partition_for_region(base.region_name))
    try:
        credentials = assumed_credentials(base.client("sts"), role)
    except (BotoCoreError, ClientError) as error:
        print(
            f"make deploy: could not assume {role} ({error}); using the current credentials", file=sys.stderr
        )
        return base
    session = botocore.session.get_session()
    session._credentials = credentials  # botocore's one way to hand a session refreshable credentials
    return boto3.Session(botocore_session=session, region_name=base.region_name)


def assumed_credentials(sts: Any, role: str) -> Any:
    """``role``'s credentials through ``sts``, assumed now and again whenever they near their expiry
    (botocore's ``RefreshableCredentials``: 15 minutes before, or 10 at the latest)."""
    from botocore.credentials import RefreshableCredentials  # type: ignore[import-untyped]

    def fetch() -> dict[str, str]:
        answer = sts.assume_role(RoleArn=role, RoleSessionName="outpost-deploy")["Credentials"]
        return {
            "access_key": answer["AccessKeyId"],
            "secret_key": answer["SecretAccessKey"],
            "token": answer["SessionToken"],
            "expiry_time": answer["Expiration"].isoformat(),
        }

    return RefreshableCredentials.create_from_metadata(
        metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
    )


def _missing(error: Exception) -> bool:
    """A stack or change set that does not exist (DescribeStacks answers ValidationError "Stack with
    id X does not exist"; DescribeChangeSet ChangeSetNotFound)."""
    answer = getattr(error, "response", {}).get("Error", {})
    code, message = answer.get("Code", ""), answer.get("Message", "")
    return code in ("ChangeSetNotFound", "ChangeSetNotFoundException") or (
        code == "ValidationError" and "does not exist" in message
    )


def cloud_outputs(cfn: Any, stack_name: str) -> dict[str, str] | None:
    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as error:
        if _missing(error):
            return None
        raise
    return {o["OutputKey"]: o.get("OutputValue", "") for o in stacks[0].get("Outputs", ())}


def cloud_deployed_template(cfn: Any, stack_name: str) -> dict[str, Any] | None:
    try:
        body = cfn.get_template(StackName=stack_name, TemplateStage="Original")["TemplateBody"]
    except Exception as error:
        if _missing(error):
            return None
        raise
    found: dict[str, Any] = body if isinstance(body, dict) else json.loads(body)
    return found


def cloud_change_set(cfn: Any, stack_name: str, name: str) -> ChangeSet | None:
    pages: list[dict[str, Any]] = []
    token: str | None = None
    try:
        while True:
            kwargs: dict[str, Any] = {"StackName": stack_name, "ChangeSetName": name}
            if token:
                kwargs["NextToken"] = token
            page = cfn.describe_change_set(**kwargs)
            pages.append(page)
            token = page.get("NextToken")
            if not token:
                break
    except Exception as error:
        if _missing(error):
            return None
        raise
    return parse_change_set(pages)


def cloud_alarm_states(cloudwatch: Any, names: Sequence[str]) -> dict[str, str]:
    states: dict[str, str] = {}
    for start in range(0, len(names), 100):  # DescribeAlarms takes at most 100 names
        pages = cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmNames=list(names[start : start + 100]), AlarmTypes=["MetricAlarm", "CompositeAlarm"]
        )
        for page in pages:
            for alarm in (*page.get("MetricAlarms", ()), *page.get("CompositeAlarms", ())):
                states[alarm["AlarmName"]] = alarm["StateValue"]
    return states


@dataclass(frozen=True)
class CdkCli:
    """The pinned CDK CLI over the assembly ``make synth`` wrote (no second synth)."""

    cdk: Sequence[str]
    outdir: Path
    require_approval: str

    def _run(self, *args: str) -> None:
        command = [*self.cdk, "deploy", *args, "--app", str(self.outdir), "--exclusively"]
        done = subprocess.run(command, check=False)
        if done.returncode != 0:
            raise RefusedError([f"make deploy: {' '.join(command)} exited {done.returncode}"])

    def prepare(self, stack_path: str, name: str, *, force: bool) -> None:
        extra = ["--force"] if force else []
        self._run(
            stack_path,
            "--method",
            "prepare-change-set",
            "--change-set-name",
            name,
            "--require-approval",
            self.require_approval,
            *extra,
        )

    def execute(self, stack_path: str, name: str) -> None:
        self._run(stack_path, "--method", "execute-change-set", "--change-set-name", name)


def _terminal_ask(question: str, answer: str) -> bool:
    return sys.stdin.isatty() and input(question).strip() == answer


def main(argv: Sequence[str] | None = None) -> int:
    from tools.changes.__main__ import environments

    parser = argparse.ArgumentParser(prog="make deploy", description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--env", required=True)
    parser.add_argument("--require-approval", default="broadening")
    parser.add_argument("--cdk", default="node_modules/.bin/cdk --no-notices")
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parents[2]
    env = next((e for e in environments(root) if e.name == args.env), None)
    if env is None:
        print(f"make deploy: ENV={args.env}: not an environment of cdk.json", file=sys.stderr)
        return 2
    infos = stack_infos(args.outdir)
    templates = {
        path: template
        for path, template in current_templates(args.outdir, mask=False).items()
        if path.split("/")[0] == env.stage_name
    }
    first = next(info for path, info in infos.items() if path.split("/")[0] == env.stage_name)
    run = Run(
        env=env,
        templates=templates,
        infos=infos,
        cloud=BotoCloud.for_stack(first),
        cli=CdkCli(tuple(args.cdk.split()), args.outdir, args.require_approval),
        change_set_name=f"outpost-deploy-{int(time.time())}",
        ask=_terminal_ask if sys.stdin.isatty() and not os.environ.get("CI") else None,
    )
    try:
        run.run()
    except RefusedError as refused:
        for line in refused.lines:
            print(line, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
