"""`make deploy` (tools/changes/deploy.py) on recorded CloudFormation and CloudWatch answers.

The AWS calls go through real boto3 clients with botocore's Stubber (each answer checked against
the service's model, nothing leaves the machine); the CDK CLI is a recorder. The templates are
the session's synth of the production environment.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.stub import Stubber  # type: ignore[import-untyped]

from config.changes import Acknowledgement, ChangesConfig
from tests.environments import CONFIGS, of_kind
from tests.synth import Synthesized
from tools.changes import deploy
from tools.changes.deploy import (
    BotoCloud,
    RefusedError,
    Run,
    assumed_credentials,
    deploy_order,
    release_alarm_names,
)
from tools.changes.sources import StackInfo, stack_infos

PROD = CONFIGS[of_kind("production")]
STAGE = PROD.stage_name
NAME = "outpost-deploy-1"


class RecordingCli:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, bool]] = []

    def prepare(self, stack_path: str, name: str, *, force: bool) -> None:
        self.calls.append(("prepare", stack_path, force))

    def execute(self, stack_path: str, name: str) -> None:
        self.calls.append(("execute", stack_path, False))


def client(service: str) -> Any:
    return boto3.client(
        service, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@dataclasses.dataclass
class Stubs:
    cfn: Stubber
    cloudwatch: Stubber
    cloud: BotoCloud


@pytest.fixture
def stubs() -> Iterator[Stubs]:
    cfn, cloudwatch = client("cloudformation"), client("cloudwatch")
    with Stubber(cfn) as cfn_stub, Stubber(cloudwatch) as cw_stub:
        yield Stubs(cfn_stub, cw_stub, BotoCloud(cfn, cloudwatch))
        cfn_stub.assert_no_pending_responses()
        cw_stub.assert_no_pending_responses()


@pytest.fixture(scope="module")
def templates(shipped_synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {p: t for p, t in shipped_synthesized.templates.items() if p.split("/")[0] == STAGE}


@pytest.fixture(scope="module")
def infos(shipped_synthesized: Synthesized) -> dict[str, StackInfo]:
    return stack_infos(Path(shipped_synthesized.outdir))


def alarms_answer(stubs: Stubs, names: tuple[str, ...], state: str = "OK") -> None:
    alarms = [
        {
            "AlarmName": n,
            "StateValue": state,
            "AlarmArn": f"arn:aws:cloudwatch:us-east-1:222222222222:alarm:{n}",
        }
        for n in names
    ]
    stubs.cloudwatch.add_response(
        "describe_alarms",
        {"MetricAlarms": alarms, "CompositeAlarms": []},
        {"AlarmNames": list(names), "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]},
    )


def stack_answers(
    stubs: Stubs,
    stack_name: str,
    template: dict[str, Any],
    changes: list[dict[str, Any]] | None,
    outputs: dict[str, str] | None = None,
    outputs_after: dict[str, str] | None = None,
    delete: bool = False,
) -> None:
    """What CloudFormation answers for one stack: its outputs, its deployed template, the change
    set (``None``: the CLI made none, the template being unchanged; ``[]``: an empty one)."""

    def described(values: dict[str, str]) -> dict[str, Any]:
        return {
            "Stacks": [
                {
                    "StackName": stack_name,
                    "CreationTime": "2026-01-01T00:00:00Z",
                    "StackStatus": "UPDATE_COMPLETE",
                    "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in values.items()],
                }
            ]
        }

    stubs.cfn.add_response("describe_stacks", described(outputs or {}), {"StackName": stack_name})
    stubs.cfn.add_response(
        "get_template",
        {"TemplateBody": json.dumps(template)},
        {"StackName": stack_name, "TemplateStage": "Original"},
    )
    ids = {"StackName": stack_name, "ChangeSetName": NAME}
    if changes is None:
        stubs.cfn.add_client_error(
            "describe_change_set", "ChangeSetNotFound", "ChangeSet not found", 404, expected_params=ids
        )
        return
    answer: dict[str, Any] = {"ChangeSetName": NAME, "StackName": stack_name, "Changes": changes}
    if changes:
        answer.update(Status="CREATE_COMPLETE", ExecutionStatus="AVAILABLE")
    else:
        answer.update(
            Status="FAILED",
            ExecutionStatus="UNAVAILABLE",
            StatusReason="The submitted information didn't contain changes. "
            "Submit different information to create a change set.",
        )
    stubs.cfn.add_response("describe_change_set", answer, ids)
    if delete or not changes:
        stubs.cfn.add_response("delete_change_set", {}, ids)
        return
    stubs.cfn.add_response(
        "describe_stacks", described(outputs_after or outputs or {}), {"StackName": stack_name}
    )


def modify(
    logical_id: str, type_name: str, replacement: str, name: str, recreation: str = "Always"
) -> dict[str, Any]:
    """A ``ResourceChange`` as DescribeChangeSet gives it."""
    return {
        "Type": "Resource",
        "ResourceChange": {
            "Action": "Modify",
            "LogicalResourceId": logical_id,
            "PhysicalResourceId": f"physical-{logical_id}",
            "ResourceType": type_name,
            "Replacement": replacement,
            "Scope": ["Properties"],
            "Details": [
                {
                    "Target": {"Attribute": "Properties", "Name": name, "RequiresRecreation": recreation},
                    "Evaluation": "Static",
                    "ChangeSource": "DirectModification",
                }
            ],
        },
    }


def make_run(stubs: Stubs, templates: dict[str, Any], infos: dict[str, StackInfo], **kwargs: Any) -> Run:
    lines: list[str] = []
    run = Run(
        env=kwargs.pop("env", PROD),
        templates=templates,
        infos=infos,
        cloud=stubs.cloud,
        cli=RecordingCli(),
        change_set_name=NAME,
        say=lines.append,
        **kwargs,
    )
    run.said = lines  # type: ignore[attr-defined]
    return run


def path_of(stack: str) -> str:
    return f"{STAGE}/{stack}"


def test_release_alarms_are_those_the_service_rolls_back_on(templates: dict[str, Any]) -> None:
    names = release_alarm_names(templates[path_of("Service")])
    assert names == tuple(f"outpost-{PROD.name}-{n}" for n in ("Target5xx", "ResponseTimeP95"))


def test_a_release_alarm_in_alarm_stops_the_deploy_without_a_terminal(
    stubs: Stubs, templates: dict[str, Any], infos: dict[str, StackInfo]
) -> None:
    names = release_alarm_names(templates[path_of("Service")])
    alarms_answer(stubs, names, "ALARM")
    run = make_run(stubs, templates, infos)
    with pytest.raises(RefusedError) as refused:
        run.run()
    (line,) = refused.value.lines
    assert f"release alarm(s) in ALARM: {', '.join(sorted(names))}" in line
    assert run.cli.calls == []  # type: ignore[attr-defined]


def test_at_a_terminal_the_operator_may_confirm(
    stubs: Stubs, templates: dict[str, Any], infos: dict[str, StackInfo]
) -> None:
    names = release_alarm_names(templates[path_of("Service")])
    alarms_answer(stubs, names, "ALARM")
    asked: list[tuple[str, str]] = []

    def ask(question: str, answer: str) -> bool:
        asked.append((question, answer))
        return True

    run = make_run(stubs, templates, infos, ask=ask)
    run.check_alarms()
    assert [answer for _, answer in asked] == [PROD.name]
    assert any("confirmed at the terminal" in line for line in run.said)  # type: ignore[attr-defined]


def test_replacing_a_repository_is_refused_on_the_change_set_and_nothing_executes(
    stubs: Stubs, templates: dict[str, Any], infos: dict[str, StackInfo]
) -> None:
    alarms_answer(stubs, release_alarm_names(templates[path_of("Service")]))
    order = deploy_order(infos, STAGE)
    registry = path_of("Registry")
    repository = next(
        k for k, r in templates[registry]["Resources"].items() if r["Type"] == "AWS::ECR::Repository"
    )
    for path in order[: order.index(registry)]:
        stack_answers(stubs, infos[path].stack_name, templates[path], None)
    stack_answers(
        stubs,
        infos[registry].stack_name,
        templates[registry],
        [modify(repository, "AWS::ECR::Repository", "True", "RepositoryName")],
        delete=True,
    )
    run = make_run(stubs, templates, infos)
    with pytest.raises(RefusedError) as refused:
        run.run()
    (line,) = refused.value.lines
    assert (
        f"refused {registry} {repository} AWS::ECR::Repository (repository): replace (Replacement: True;"
        in line
    )
    assert "forced by RepositoryName" in line
    assert not any(call[0] == "execute" for call in run.cli.calls)  # type: ignore[attr-defined]


@pytest.mark.parametrize("replacement", ["True", "Conditional", "Dynamic"])
def test_an_acknowledged_replacement_executes_and_a_conditional_one_is_refused_like_true(
    stubs: Stubs, templates: dict[str, Any], infos: dict[str, StackInfo], replacement: str
) -> None:
    data = path_of("Data")
    table = next(k for k, r in templates[data]["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table")
    deployed = copy.deepcopy(templates[data])
    deployed["Resources"][table]["Properties"]["TableName"] = "old-name"
    change = [modify(table, "AWS::DynamoDB::Table", replacement, "TableName", "Conditionally")]
    if replacement == "Dynamic":  # the action itself is unknown; Replacement is then left out
        change[0]["ResourceChange"].update(Action="Dynamic")
        del change[0]["ResourceChange"]["Replacement"]
    # First without an acknowledgement: refused; the line carries the acknowledgement to write.
    stack_answers(stubs, infos[data].stack_name, deployed, change, delete=True)
    run = make_run(stubs, templates, infos)
    with pytest.raises(RefusedError) as refused:
        run.deploy_stack(data)
    (line,) = refused.value.lines
    answer = "Action: Dynamic" if replacement == "Dynamic" else f"Replacement: {replacement}"
    assert f"replace ({answer}; forced by TableName)" in line
    hint = json.loads(line.split("acknowledge in cdk.json with ", 1)[1])
    ack = Acknowledgement(
        hint["stack"], hint["resource"], hint["change"], "renamed on purpose; data exported"
    )
    # Then with it: executed.
    stack_answers(stubs, infos[data].stack_name, deployed, change)
    env = dataclasses.replace(PROD, changes=ChangesConfig((ack,)))
    run = make_run(stubs, templates, infos, env=env)
    run.deploy_stack(data)
    assert ("execute", data, False) in run.cli.calls  # type: ignore[attr-defined]
    assert any("acknowledged" in said for said in run.said)  # type: ignore[attr-defined]


def test_readers_of_a_changed_output_are_deployed_too(
    stubs: Stubs, templates: dict[str, Any], infos: dict[str, StackInfo]
) -> None:
    service, monitoring = path_of("Service"), path_of("Monitoring")
    read = sorted(
        ref["OutputName"]
        for ref in _get_stack_outputs(templates[monitoring])
        if ref["StackName"] == infos[service].stack_name
    )
    assert read
    before = dict.fromkeys(read, "old")
    after = {**before, read[0]: "new"}
    alarms_answer(stubs, release_alarm_names(templates[service]))
    task = next(
        k for k, r in templates[service]["Resources"].items() if r["Type"] == "AWS::ECS::TaskDefinition"
    )
    for path in deploy_order(infos, STAGE):
        if path == service:
            change = [modify(task, "AWS::ECS::TaskDefinition", "True", "ContainerDefinitions")]
            stack_answers(stubs, infos[path].stack_name, templates[path], change, before, after)
        elif path == monitoring:
            change = [modify("Dashboard", "AWS::CloudWatch::Dashboard", "False", "DashboardBody", "Never")]
            stack_answers(stubs, infos[path].stack_name, templates[path], change)
        else:
            stack_answers(stubs, infos[path].stack_name, templates[path], None)
    run = make_run(stubs, templates, infos)
    run.run()
    assert ("prepare", monitoring, True) in run.cli.calls  # type: ignore[attr-defined]
    assert ("execute", monitoring, False) in run.cli.calls  # type: ignore[attr-defined]
    assert ("prepare", path_of("Network"), False) in run.cli.calls  # type: ignore[attr-defined]


def test_a_reader_that_cloudformation_would_not_update_stops_the_deploy(
    stubs: Stubs, templates: dict[str, Any], infos: dict[str, StackInfo]
) -> None:
    monitoring = path_of("Monitoring")
    stack_answers(stubs, infos[monitoring].stack_name, templates[monitoring], [])
    run = make_run(stubs, templates, infos)
    run.refreshed.add(monitoring)
    with pytest.raises(RefusedError) as refused:
        run.deploy_stack(monitoring)
    assert "it would keep the old values" in refused.value.lines[0]


def test_a_stack_not_yet_created_has_no_outputs(stubs: Stubs) -> None:
    stubs.cfn.add_client_error(
        "describe_stacks",
        "ValidationError",
        "Stack with id Prod-New does not exist",
        400,
        expected_params={"StackName": "Prod-New"},
    )
    assert stubs.cloud.outputs("Prod-New") is None


def test_the_cli_prepares_and_executes_the_named_change_set(monkeypatch: pytest.MonkeyPatch) -> None:
    commands: list[list[str]] = []

    class Done:
        returncode = 0

    def record(command: list[str], check: bool) -> Done:
        commands.append(command)
        return Done()

    monkeypatch.setattr(subprocess, "run", record)
    cli = deploy.CdkCli(("cdk", "--no-notices"), Path("cdk.out"), "never")
    cli.prepare("Prod/Data", NAME, force=True)
    cli.execute("Prod/Data", NAME)
    assert commands[0] == [
        "cdk", "--no-notices", "deploy", "Prod/Data", "--method", "prepare-change-set",
        "--change-set-name", NAME, "--require-approval", "never", "--force",
        "--app", "cdk.out", "--exclusively",
    ]  # fmt: skip
    assert commands[1][3:7] == ["Prod/Data", "--method", "execute-change-set", "--change-set-name"]


def _get_stack_outputs(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if "Fn::GetStackOutput" in value:
            yield value["Fn::GetStackOutput"]
        for inner in value.values():
            yield from _get_stack_outputs(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _get_stack_outputs(inner)


def test_a_reader_deployed_before_its_producer_is_said(
    stubs: Stubs, templates: dict[str, Any], infos: dict[str, StackInfo]
) -> None:
    service, monitoring = path_of("Service"), path_of("Monitoring")
    read = sorted(
        ref["OutputName"]
        for ref in _get_stack_outputs(templates[monitoring])
        if ref["StackName"] == infos[service].stack_name
    )
    task = next(
        k for k, r in templates[service]["Resources"].items() if r["Type"] == "AWS::ECS::TaskDefinition"
    )
    change = [modify(task, "AWS::ECS::TaskDefinition", "True", "ContainerDefinitions")]
    before = dict.fromkeys(read, "old")
    stack_answers(
        stubs, infos[service].stack_name, templates[service], change, before, {**before, read[0]: "new"}
    )
    run = make_run(stubs, templates, infos)
    run.done.add(monitoring)
    with pytest.raises(RefusedError) as refused:
        run.deploy_stack(service)
    assert (
        f"{monitoring} read changed outputs of {service} but were deployed before it"
        in refused.value.lines[0]
    )


def _assumed(key: str, expires: datetime.datetime) -> dict[str, Any]:
    return {
        "Credentials": {
            "AccessKeyId": key,
            "SecretAccessKey": f"{key}-secret",
            "SessionToken": f"{key}-token-that-is-long-enough",
            "Expiration": expires,
        }
    }


def test_the_deploy_roles_credentials_are_assumed_again_before_they_expire() -> None:
    """Role chaining caps each session at an hour while a deploy may take two: the helper's
    CloudFormation and CloudWatch calls must not fail with ExpiredToken after the first hour."""
    role = "arn:aws:iam::222222222222:role/cdk-hnb659fds-deploy-role-222222222222-us-east-1"
    sts = client("sts")
    now = datetime.datetime.now(datetime.UTC)
    with Stubber(sts) as stub:
        wanted = {"RoleArn": role, "RoleSessionName": "outpost-deploy"}
        # The first session is about to expire (within botocore's 10-minute mandatory window).
        stub.add_response(
            "assume_role", _assumed("ASIAFIRST0000000", now + datetime.timedelta(minutes=5)), wanted
        )
        stub.add_response(
            "assume_role", _assumed("ASIASECOND000000", now + datetime.timedelta(hours=1)), wanted
        )
        credentials = assumed_credentials(sts, role)
        assert credentials.get_frozen_credentials().access_key == "ASIASECOND000000"
        # The second, an hour long, is kept: no third AssumeRole.
        assert credentials.get_frozen_credentials().access_key == "ASIASECOND000000"
        stub.assert_no_pending_responses()


def test_the_helpers_session_uses_the_renewing_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    sentinel = object()
    monkeypatch.setattr(deploy, "assumed_credentials", lambda sts, role: sentinel)
    base = boto3.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    session = deploy._session(base, "arn:${AWS::Partition}:iam::222222222222:role/cdk-hnb659fds-deploy-role")
    assert session.get_credentials() is sentinel
    assert session.region_name == "us-east-1"
    assert deploy._session(base, None) is base
