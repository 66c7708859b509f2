"""The rehearsal's create-time limits (tools/rehearsal/limits.py), on small hand-written templates and
on today's synthesized ones. No emulator here: these are pure template checks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from config.guardduty import agent_image
from tests.synth import Synthesized
from tools.assembly import Stack, read_assembly
from tools.rehearsal.adapt import for_emulator
from tools.rehearsal.emulator import Support
from tools.rehearsal.limits import MANAGED_POLICY_SIZE, Finding, Options, check, policy_size
from tools.rehearsal.physical_names import Place, generated_name
from tools.rehearsal.resolve import Resolver, StackSet

ACCOUNT, REGION = "111111111111", "us-east-1"
CERTIFICATE = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/00000000-0000-4000-8000-000000000001"


def stack(resources: dict[str, Any], name: str = "Dev/Test", **sections: Any) -> Stack:
    return Stack.from_template(
        name,
        {"Resources": resources, **sections},
        account=ACCOUNT,
        region=REGION,
        template_url="s3://b/k.json",
    )


def findings(*stacks: Stack, **options: Any) -> list[Finding]:
    return check(stacks, Options(**options))


def reasons(*stacks: Stack, **options: Any) -> list[str]:
    return [f"{f.resource}: {f.reason}" for f in findings(*stacks, **options)]


def statement(n: int, length: int) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{'b' * length}{n}/*"}


def managed_policy(statements: list[dict[str, Any]], roles: list[Any] | None = None) -> dict[str, Any]:
    document = {"Version": "2012-10-17", "Statement": statements}
    return {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {"PolicyDocument": document, "Roles": roles or []},
    }


def role(**properties: Any) -> dict[str, Any]:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    return {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": trust, **properties}}


# --- IAM ---------------------------------------------------------------------------------


def test_policy_size_ignores_white_space_as_iam_does() -> None:
    assert policy_size({"Action": "s3:GetObject", "Resource": "a b"}) == len(
        '{"Action":"s3:GetObject","Resource":"ab"}'
    )


def test_managed_policy_over_6144_characters_fails_naming_it() -> None:
    big = stack({"Big": managed_policy([statement(i, 120) for i in range(45)])})
    small = stack({"Small": managed_policy([statement(i, 120) for i in range(20)])})
    [reason] = reasons(big)
    assert reason.startswith("Big: managed policy of ")
    assert "exceeds 6,144" in reason
    assert reasons(small) == []


def test_policy_size_counts_references_at_their_resolved_length() -> None:
    """A Ref is a few characters in the template and a full ARN in IAM."""
    refs = [
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": {"Fn::GetAtt": [f"Role{i}", "Arn"]}}
        for i in range(60)
    ]
    resources = {f"Role{i}": role() for i in range(60)} | {"Pass": managed_policy(refs)}
    unresolved = policy_size({"Statement": refs})
    assert unresolved < 6_144
    [reason] = reasons(stack(resources))
    assert reason.startswith("Pass: managed policy of")


def test_role_inline_policies_together_over_10240_fail() -> None:
    inline = [
        {"PolicyName": f"p{i}", "PolicyDocument": {"Statement": [statement(i, 200) for i in range(8)]}}
        for i in range(6)
    ]
    [reason] = reasons(stack({"R": role(Policies=inline)}))
    assert reason.startswith("R: inline policies of")
    assert "10,240" in reason
    assert reasons(stack({"R": role(Policies=inline[:4])})) == []


def test_inline_policy_resources_count_toward_their_role() -> None:
    document = {"Statement": [statement(i, 200) for i in range(25)]}
    policy = {
        "Type": "AWS::IAM::Policy",
        "Properties": {"PolicyName": "p", "PolicyDocument": document, "Roles": [{"Ref": "R"}]},
    }
    [reason] = reasons(stack({"R": role(), "P1": policy, "P2": policy}))
    assert "inline policies" in reason


def test_trust_policy_over_2048_fails() -> None:
    principals = [f"arn:aws:iam::{ACCOUNT}:role/{'x' * 60}{i}" for i in range(30)]
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": principals}, "Action": "sts:AssumeRole"}]}
    [reason] = reasons(stack({"R": role(AssumeRolePolicyDocument=trust)}))
    assert reason.startswith("R: trust policy of")
    assert "2,048" in reason


def test_more_than_10_managed_policies_on_a_role_fail_on_the_eleventh() -> None:
    arns = [f"arn:aws:iam::aws:policy/P{i}" for i in range(8)]
    attached = {f"M{i}": managed_policy([statement(i, 10)], roles=[{"Ref": "R"}]) for i in range(3)}
    [finding] = findings(stack({"R": role(ManagedPolicyArns=arns)} | attached))
    assert finding.resource == "M2"
    assert "11 managed policies" in finding.reason
    assert reasons(stack({"R": role(ManagedPolicyArns=arns[:7])} | attached)) == []


# --- network, load balancer, CloudFormation ------------------------------------------------


def ingress(group: str, port: int) -> dict[str, Any]:
    return {
        "Type": "AWS::EC2::SecurityGroupIngress",
        "Properties": {
            "GroupId": {"Fn::GetAtt": [group, "GroupId"]},
            "IpProtocol": "tcp",
            "FromPort": port,
            "ToPort": port,
            "CidrIp": "10.0.0.0/8",
        },
    }


def test_security_group_rules_over_60_inbound_fail_and_60_pass() -> None:
    group = {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "g", "VpcId": "vpc-1"}}
    sixty = {f"In{i}": ingress("G", i) for i in range(60)}
    assert reasons(stack({"G": group} | sixty)) == []
    [finding] = findings(stack({"G": group} | sixty | {"In60": ingress("G", 60)}))
    assert finding.resource == "In60"
    assert "61 inbound rules" in finding.reason


def test_security_group_inline_outbound_rules_count() -> None:
    egress = [{"IpProtocol": "tcp", "FromPort": i, "ToPort": i, "CidrIp": "0.0.0.0/0"} for i in range(61)]
    group = {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {"GroupDescription": "g", "SecurityGroupEgress": egress},
    }
    [reason] = reasons(stack({"G": group}))
    assert "61 outbound rules" in reason


def test_more_than_100_rules_on_a_load_balancer_fail() -> None:
    balancer = {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {"Name": "lb"}}
    listener = {
        "Type": "AWS::ElasticLoadBalancingV2::Listener",
        "Properties": {"LoadBalancerArn": {"Ref": "LB"}, "Port": 80},
    }
    rule = {"Type": "AWS::ElasticLoadBalancingV2::ListenerRule", "Properties": {"ListenerArn": {"Ref": "L"}}}
    rules = {f"Rule{i}": rule for i in range(101)}
    [finding] = findings(stack({"LB": balancer, "L": listener} | rules))
    assert finding.resource == "Rule100"
    assert "101 listener rules" in finding.reason


def test_template_body_limits_depend_on_how_the_template_is_sent() -> None:
    bucket = {"Type": "AWS::S3::Bucket", "Properties": {"Tags": [{"Key": "k", "Value": "v" * 60_000}]}}
    direct = Stack.from_template("Dev/Test", {"Resources": {"B": bucket}}, account=ACCOUNT, region=REGION)
    assert "exceeds 51,200 (in the request)" in reasons(direct)[0]
    assert reasons(stack({"B": bucket})) == []  # 1 MB through S3, as cdk deploy sends it


def test_resources_outputs_and_parameters_per_stack() -> None:
    resources = {f"T{i}": {"Type": "AWS::SNS::Topic"} for i in range(501)}
    outputs = {f"O{i}": {"Value": "v"} for i in range(201)}
    parameters = {f"P{i}": {"Type": "String", "Default": "d"} for i in range(201)}
    found = reasons(stack(resources, Outputs=outputs, Parameters=parameters))
    assert found == [
        "template: 501 resources exceed 500 per stack",
        "template: 201 outputs exceed 200 per stack",
        "template: 201 parameters exceed 200 per stack",
    ]


# --- ECS, certificates, Lambda ----------------------------------------------------------------


def task_definition(
    cpu: str, memory: str, architecture: str = "ARM64", env: dict[str, Any] | None = None
) -> dict[str, Any]:
    container = {
        "Name": "c",
        "Image": "i",
        "Environment": [{"Name": k, "Value": v} for k, v in (env or {}).items()],
    }
    return {
        "Type": "AWS::ECS::TaskDefinition",
        "Properties": {
            "Cpu": cpu,
            "Memory": memory,
            "RequiresCompatibilities": ["FARGATE"],
            "RuntimePlatform": {"CpuArchitecture": architecture, "OperatingSystemFamily": "LINUX"},
            "ContainerDefinitions": [container],
        },
    }


def test_fargate_cpu_memory_pairs() -> None:
    assert reasons(stack({"T": task_definition("1024", "2048")})) == []
    assert reasons(stack({"T": task_definition("256", "4096")})) == [
        "T: Fargate has no task size of cpu 256 with memory 4096"
    ]


def test_containers_fit_their_task_and_ecs_quota() -> None:
    """Issue 21's second container: the hard limits add up to at most the task's memory, and a
    task definition holds at most 10 containers."""
    fits = task_definition("512", "1024")
    fits["Properties"]["ContainerDefinitions"] = [
        {"Name": "agent", "Memory": 896},
        {"Name": "proxy", "Memory": 128},
    ]
    assert reasons(stack({"T": fits})) == []
    over = task_definition("512", "1024")
    over["Properties"]["ContainerDefinitions"] = [
        {"Name": "agent", "Memory": 1024},
        {"Name": "proxy", "Memory": 128},
    ]
    assert reasons(stack({"T": over})) == [
        "T: containers' hard memory limits add up to 1152 MiB, more than the task's 1024"
    ]
    many = task_definition("512", "1024")
    many["Properties"]["ContainerDefinitions"] = [{"Name": f"c{n}"} for n in range(11)]
    assert reasons(stack({"T": many})) == ["T: 11 containers exceed 10 per task definition"]


def service(provider: str, platform: str | None = None) -> dict[str, Any]:
    strategy = [{"CapacityProvider": provider, "Weight": 1}]
    props: dict[str, Any] = {"TaskDefinition": {"Ref": "T"}, "CapacityProviderStrategy": strategy}
    if platform:
        props["PlatformVersion"] = platform
    return {"Type": "AWS::ECS::Service", "Properties": props}


def test_a_service_on_fargate_spot_needs_the_platform_version_of_its_architecture() -> None:
    """Fargate Spot: ARM64 Linux tasks on 1.4.0 or later, X86_64 on 1.3.0 or later."""
    arm = task_definition("512", "1024")
    [reason] = reasons(stack({"T": arm, "S": service("FARGATE_SPOT", "1.3.0")}))
    assert reason.startswith("S: capacity-provider strategy names FARGATE_SPOT on platform version 1.3.0")
    assert "ARM64 Linux tasks on platform version 1.4.0 or later only" in reason
    assert reasons(stack({"T": arm, "S": service("FARGATE_SPOT")})) == []  # LATEST is 1.4.0
    assert reasons(stack({"T": arm, "S": service("FARGATE_SPOT", "1.4.0")})) == []
    x86 = task_definition("512", "1024", "X86_64")
    assert reasons(stack({"T": x86, "S": service("FARGATE_SPOT", "1.3.0")})) == []
    assert reasons(stack({"T": arm, "S": service("FARGATE", "1.3.0")})) == []


def test_a_launcher_sending_arm64_tasks_to_fargate_spot_on_1_3_fails() -> None:
    def launcher(provider: str, platform: str | None) -> dict[str, Any]:
        env: dict[str, Any] = {"OUTPOST_AGENT_CAPACITY_PROVIDER": provider, "AGENT": {"Ref": "Agent"}}
        if platform:
            env["OUTPOST_AGENT_PLATFORM_VERSION"] = platform
        return task_definition("512", "1024", env=env)

    agent = task_definition("1024", "2048")
    [finding] = findings(stack({"Agent": agent, "Launcher": launcher("FARGATE_SPOT", "1.3.0")}))
    assert finding.resource == "Launcher"
    assert "FARGATE_SPOT" in finding.reason
    assert "(Agent)" in finding.reason
    assert reasons(stack({"Agent": agent, "Launcher": launcher("FARGATE_SPOT", "LATEST")})) == []
    assert reasons(stack({"Agent": agent, "Launcher": launcher("FARGATE_SPOT", None)})) == []
    assert reasons(stack({"Agent": agent, "Launcher": launcher("FARGATE", "1.3.0")})) == []


def listener(certificate: str) -> dict[str, Any]:
    return {
        "Type": "AWS::ElasticLoadBalancingV2::Listener",
        "Properties": {"Certificates": [{"CertificateArn": certificate}]},
    }


def test_a_listener_certificate_must_be_a_stand_in_of_the_same_account_and_region() -> None:
    assert reasons(stack({"L": listener(CERTIFICATE)}), certificates=frozenset({CERTIFICATE})) == []
    [missing] = reasons(stack({"L": listener(CERTIFICATE)}))
    assert missing.startswith(f"L: certificate {CERTIFICATE} is not one of the certificates that exist")
    elsewhere = CERTIFICATE.replace(REGION, "eu-west-1")
    [wrong] = reasons(stack({"L": listener(elsewhere)}), certificates=frozenset({elsewhere}))
    assert "is not in 111111111111/us-east-1" in wrong


def alarm(
    name: str | None = None, *, period: int = 300, periods: int = 1, datapoints: int = 1
) -> dict[str, Any]:
    props: dict[str, Any] = {"Period": period, "EvaluationPeriods": periods, "DatapointsToAlarm": datapoints}
    if name is not None:
        props["AlarmName"] = name
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": props}


def watching(*names: str) -> dict[str, Any]:
    """A service whose deployments roll back on ``names``."""
    alarms = {"AlarmNames": list(names), "Enable": True, "Rollback": True}
    return {"Type": "AWS::ECS::Service", "Properties": {"DeploymentConfiguration": {"Alarms": alarms}}}


def test_cloudwatch_refuses_a_window_over_a_day_for_periods_under_an_hour() -> None:
    assert reasons(stack({"A": alarm(periods=288)})) == []  # 288 x 5 minutes: one day
    [reason] = reasons(stack({"A": alarm(periods=289)}))
    assert reason.startswith("A: evaluates 289 periods of 300 s = 86,700 s, over CloudWatch's 86,400 s")
    assert reasons(stack({"A": alarm(period=3_600, periods=168)})) == []  # hourly: a week
    [weekly] = reasons(stack({"A": alarm(period=3_600, periods=169)}))
    assert "over CloudWatch's 604,800 s for any alarm" in weekly


def test_an_m_out_of_n_alarm_needs_m_at_most_n() -> None:
    assert reasons(stack({"A": alarm(periods=4, datapoints=2)})) == []
    [reason] = reasons(stack({"A": alarm(periods=2, datapoints=3)}))
    assert reason == "A: DatapointsToAlarm 3 is not between 1 and EvaluationPeriods 2"


def test_a_deployment_must_watch_alarms_that_exist_before_it() -> None:
    release = {"Alarm": alarm("outpost-dev-Target5xx"), "Service": watching("outpost-dev-Target5xx")}
    assert reasons(stack(release)) == []
    [finding] = findings(stack({"Service": watching("outpost-dev-Target5xxx")}))
    assert finding.resource == "Service"
    assert "'outpost-dev-Target5xxx', which no alarm of this account and Region is named" in finding.reason
    assert finding.page.endswith("API_DeploymentAlarms.html")
    # An alarm of a stack deployed before counts; one of another account does not.
    assert reasons(stack({"A": alarm("a")}, "Dev/Alerts"), stack({"S": watching("a")}, "Dev/Service")) == []
    elsewhere = Stack.from_template(
        "Prod/Alerts",
        {"Resources": {"A": alarm("a")}},
        account="222222222222",
        region=REGION,
        template_url="s3://b/k",
    )
    assert len(reasons(elsewhere, stack({"S": watching("a")}, "Dev/Service"))) == 1


def test_todays_release_alarms_exist_and_cloudwatch_accepts_them(synthesized: Synthesized) -> None:
    found = check(read_assembly(synthesized.outdir).stacks)
    assert [
        f for f in found if f.page.endswith(("API_PutMetricAlarm.html", "API_DeploymentAlarms.html"))
    ] == []


def function(reserved: int) -> dict[str, Any]:
    return {"Type": "AWS::Lambda::Function", "Properties": {"ReservedConcurrentExecutions": reserved}}


def test_reserved_concurrency_must_leave_100_unreserved_of_the_assumed_quota() -> None:
    assert reasons(stack({"A": function(500), "B": function(400)})) == []
    [finding] = findings(stack({"A": function(500), "B": function(401)}))
    assert finding.resource == "B"
    assert "leaves 99 unreserved" in finding.reason
    assert "1,000" in finding.reason
    # Two stacks of one account and Region share the account's concurrency.
    [shared] = findings(
        stack({"A": function(5)}, "Dev/One"),
        stack({"B": function(1)}, "Dev/Two"),
        lambda_concurrency_quota=105,
    )
    assert shared.stack == "Dev/Two"


# --- today's synthesized templates ----------------------------------------------------------


def control_plane_policies(synthesized: Synthesized) -> list[tuple[Stack, str, dict[str, Any]]]:
    """(Service stack, logical id, document as IAM sees it) of every managed policy of the control
    plane's task role, in every environment; each Service stack has some."""
    assembly = read_assembly(synthesized.outdir)
    resolvers = StackSet(assembly.stacks)
    found = []
    for item in (s for s in assembly.stacks if s.display_name.endswith("/Service")):
        policies = [
            (k, r)
            for k, r in item.template["Resources"].items()
            if r["Type"] == "AWS::IAM::ManagedPolicy" and k.startswith("ControlPlane")
        ]
        assert policies, item.display_name
        found += [
            (item, k, resolvers.resolver(item).resolve(r["Properties"]["PolicyDocument"]))
            for k, r in policies
        ]
    return found


def test_every_policy_of_today_resolves_to_realistic_values(synthesized: Synthesized) -> None:
    """The control plane's managed policies, measured as IAM sees them: no intrinsic function
    left, the real account in every ARN, generated role names of CloudFormation's form."""
    roles: list[str] = []
    for item, logical_id, document in control_plane_policies(synthesized):
        text = json.dumps(document)
        assert "Fn::" not in text, logical_id
        assert '"Ref"' not in text, logical_id
        arns = [
            r
            for s in document["Statement"]
            for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
        ]
        # Beside this account's ARNs: GuardDuty's agent repository (an AWS account, config/guardduty.py).
        guardduty = agent_image(item.region)
        theirs = {guardduty.repository_arn} if guardduty is not None else set()
        assert all(
            arn == "*" or f":{item.account}:" in arn or arn.startswith("arn:aws:s3:::") or arn in theirs
            for arn in arns
        ), logical_id
        roles += [
            a.split(":role/")[1]
            for a in arns
            if ":role/" in a and a.split(":role/")[1].startswith(item.stack_name)
        ]
    assert roles
    assert all(len(name) <= 64 for name in roles)


# Agents a control-plane managed policy must still have room for, at about 400 characters an
# agent (LaunchPolicy's growth, the larger of the two per-agent policies): a tripwire that fires
# while the policy can still be split, not at the deploy that adds the agent.
ROOM_FOR_AGENTS = 3
CHARACTERS_PER_AGENT = 400


def test_every_control_plane_policy_has_room_for_more_agents(synthesized: Synthesized) -> None:
    """LaunchPolicy was 5,661 of IAM's 6,144 characters with both per-agent concerns in it: a sixth
    agent or a 16-character environment name would have failed the deploy. Split, each policy of
    the control plane's task role keeps room for ROOM_FOR_AGENTS more agents."""
    sizes = {
        f"{item.display_name} {logical_id}": policy_size(document)
        for item, logical_id, document in control_plane_policies(synthesized)
    }
    assert len(sizes) >= 12
    room = MANAGED_POLICY_SIZE - ROOM_FOR_AGENTS * CHARACTERS_PER_AGENT
    assert {name: size for name, size in sizes.items() if size > room} == {}


def test_the_limits_run_over_every_synthesized_template(synthesized: Synthesized) -> None:
    """Every reference of every template resolves (no UnknownReferenceError), and each finding
    names a stack, a resource and the AWS page of its limit."""
    assembly = read_assembly(synthesized.outdir)
    for finding in check(
        assembly.stacks,
        Options(
            certificates=frozenset(
                {"arn:aws:acm:us-east-1:222222222222:certificate/00000000-0000-4000-8000-000000000000"}
            )
        ),
    ):
        assert finding.stack in {s.display_name for s in assembly.stacks}
        assert finding.page.startswith("https://docs.aws.amazon.com/")


@pytest.mark.parametrize("quota", [10])
def test_a_new_account_quota_refuses_todays_reservations(synthesized: Synthesized, quota: int) -> None:
    """With the quota of a new account (10), any reservation leaves fewer than 100 unreserved."""
    assembly = read_assembly(synthesized.outdir)
    found = [
        f
        for f in check(assembly.stacks, Options(lambda_concurrency_quota=quota))
        if "reserved concurrency" in f.reason
    ]
    reserved = [
        s
        for s in assembly.stacks
        for r in s.template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r.get("Properties", {}).get("ReservedConcurrentExecutions")
    ]
    assert bool(found) == bool(reserved)


# --- what the emulator is given -------------------------------------------------------------


@pytest.mark.parametrize("stage", ["Prod", "Staging", "Production"])
def test_an_unnamed_archive_gets_the_name_cloudformation_would_give_it(stage: str) -> None:
    """CloudFormation cuts a generated name to the type's maximum (48 for an archive); moto does
    not, and refuses its own name past 48: a stage name longer than ``Prod`` failed the rehearsal."""
    template = {"Resources": {"EventsBusArchive3AC72948": {"Type": "AWS::Events::Archive", "Properties": {}}}}
    place = Place("111111111111", "us-east-1", f"{stage}-Data")
    support = Support(modeled=frozenset({"AWS::Events::Archive"}))
    body = for_emulator(template, Resolver(template, place), lambda stack, name: None, support)
    name = body["Resources"]["EventsBusArchive3AC72948"]["Properties"]["ArchiveName"]
    assert name == generated_name(place, "EventsBusArchive3AC72948", 48)
    assert len(name) <= 48
    assert name.startswith(f"{stage}-Data-EventsBusArch")
