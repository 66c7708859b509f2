"""`make paths`: every declared runtime call path holds in every environment, and a broken one
fails it (on a copy of the templates with one ingress rule or one permission removed)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.environments import STAGES, config_of, stage_of_kind
from tests.synth import ROOT, Synthesized
from tools.paths.check import Outcome
from tools.paths.cli import check, main, repository_of
from tools.paths.docs import render
from tools.paths.table import PATHS
from tools.paths.terms import (
    COLLECTOR,
    CONTROL_PLANE,
    JANITOR,
    REFUSED_BY_IAM,
    REFUSED_BY_NETWORK,
    REFUSED_ON_THE_WAY,
)

REPOSITORY = repository_of(ROOT / "cdk.json")
PROD = stage_of_kind("production")


def outcomes(synthesized: Synthesized, stage: str) -> list[Outcome]:
    return check(synthesized.outdir, repository=REPOSITORY, only=[stage])


@pytest.mark.parametrize("stage", STAGES)
def test_every_path_holds_and_every_forbidden_one_is_refused(synthesized: Synthesized, stage: str) -> None:
    found = outcomes(synthesized, stage)
    assert [o.line() for o in found if not o.passed] == []
    assert len(found) >= 20
    assert {o.caller for o in found} >= {
        JANITOR,
        COLLECTOR,
        "control plane",
        "task-state callback",
        "workspace sweeper",
        "claude credential proxy",
    }
    assert any(o.expect == REFUSED_BY_IAM for o in found)
    assert any(o.expect == REFUSED_BY_NETWORK for o in found)
    assert any(o.expect == REFUSED_ON_THE_WAY for o in found)


@pytest.mark.parametrize("stage", STAGES)
def test_the_janitor_reaches_ecs_over_the_route_the_environment_has(
    synthesized: Synthesized, stage: str
) -> None:
    """Through the ``ecs`` interface endpoint where the environment has one, else NAT."""
    ecs = [o.network for o in outcomes(synthesized, stage) if o.caller == JANITOR and "task" in o.does]
    has_endpoint = "ecs" in config_of(stage).network.interface_endpoints
    wanted = "ecs interface endpoint (private DNS)" if has_endpoint else "ecs through NAT"
    assert {n.route.split(" and the ")[0] for n in ecs} == {wanted}
    assert [n.problems for n in ecs if not n.ok] == []


def test_the_page_is_the_table() -> None:
    assert (ROOT / "docs" / "paths.md").read_text() == render()


def test_each_row_names_where_its_call_is_made() -> None:
    assert all(path.source and path.per_dispatch for path in PATHS)


# --- a broken path fails `make paths` -------------------------------------------------


def _copy(synthesized: Synthesized, target: Path) -> Path:
    shutil.copytree(synthesized.outdir, target, ignore=shutil.ignore_patterns("asset.*"))
    return target


def _edit(outdir: Path, stage: str, change: Callable[[str, dict[str, Any]], bool]) -> None:
    """Apply ``change(construct path, resource)`` to every resource of ``stage``; it must change one."""
    changed = 0
    for path in (outdir / f"assembly-{stage}").glob("*.template.json"):
        template = json.loads(path.read_text())
        resources = template["Resources"]
        for logical_id in list(resources):
            construct = str(resources[logical_id].get("Metadata", {}).get("aws:cdk:path", ""))
            if change(construct, resources[logical_id]):
                changed += 1
        path.write_text(json.dumps(template))
    assert changed, "the change found nothing to change"


def _failed(outdir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main([str(outdir), "--env", PROD, "--cdk-json", str(ROOT / "cdk.json")])
    lines = capsys.readouterr().out.splitlines()
    return code, [line for line in lines if line.startswith("FAIL")]


def test_without_the_janitors_endpoint_ingress_its_ecs_paths_fail(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The rule this issue added, removed again: prod as it was."""
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")

    def drop(construct: str, resource: dict[str, Any]) -> bool:
        ingress = resource["Type"] == "AWS::EC2::SecurityGroupIngress"
        if not (ingress and "/Endpoints/from" in construct and "Janitor" in construct):
            return False
        resource["Type"] = "AWS::CloudFormation::WaitConditionHandle"
        resource["Properties"] = {}
        return True

    _edit(outdir, PROD, drop)
    code, failed = _failed(outdir, capsys)
    assert code == 1
    assert failed
    assert all(f"{JANITOR} " in line and "ecs interface endpoint" in line for line in failed)


def test_without_one_permission_its_path_fails(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")

    def drop(construct: str, resource: dict[str, Any]) -> bool:
        if not construct.endswith("DispatchJanitor/Permissions/Resource"):
            return False
        statements = resource["Properties"]["PolicyDocument"]["Statement"]
        kept = [s for s in statements if s.get("Sid") != "ListClusterTasks"]
        resource["Properties"]["PolicyDocument"]["Statement"] = kept
        return len(kept) < len(statements)

    _edit(outdir, PROD, drop)
    code, failed = _failed(outdir, capsys)
    assert code == 1
    assert [line for line in failed if "ecs:ListTasks refused" in line and JANITOR in line]
    assert all(JANITOR in line for line in failed)


def test_delete_statements_that_forget_the_slot_tag_fail_the_slot_rows(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Leased slots (docs/data.md): both DeleteAccessPoint statements without the condition that
    the access point carries no ``outpost:slot`` tag, as before the pool was built."""
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")

    def forget(construct: str, resource: dict[str, Any]) -> bool:
        if resource["Type"] != "AWS::IAM::ManagedPolicy":
            return False
        found = [
            s.get("Condition", {}).get("Null", {})
            for s in resource["Properties"]["PolicyDocument"]["Statement"]
        ]
        return bool(
            [
                null.pop("aws:ResourceTag/outpost:slot")
                for null in found
                if "aws:ResourceTag/outpost:slot" in null
            ]
        )

    _edit(outdir, PROD, forget)
    code, failed = _failed(outdir, capsys)
    assert code == 1
    assert len(failed) == 2
    assert all("deletes a slot's access point [must be refused by IAM]" in line for line in failed)
    assert {CONTROL_PLANE in line for line in failed} == {True, False}  # the control plane, the janitor


def test_an_agent_allowed_the_shared_access_point_fails_a_negative_row(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The agents' mount statement without its ``ArnNotEquals`` on the shared access point."""
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")

    def widen(construct: str, resource: dict[str, Any]) -> bool:
        if resource["Type"] != "AWS::IAM::ManagedPolicy" or "TaskPolicy" not in construct:
            return False
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            statement.get("Condition", {}).pop("ArnNotEquals", None)
        return True

    _edit(outdir, PROD, widen)
    code, failed = _failed(outdir, capsys)
    assert code == 1
    assert failed
    assert all("mounts the shared /workspaces access point (every workspace)" in f for f in failed)


def test_missing_templates_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().out.startswith("paths: ")


def test_private_dns_without_the_vpcs_dns_hostnames_fails_every_endpoint_path(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")

    def no_hostnames(construct: str, resource: dict[str, Any]) -> bool:
        if resource["Type"] != "AWS::EC2::VPC":
            return False
        resource["Properties"]["EnableDnsHostnames"] = False
        return True

    _edit(outdir, PROD, no_hostnames)
    code, failed = _failed(outdir, capsys)
    assert code == 1
    assert failed
    assert all("interface endpoint" in line and "DNS hostnames" in line for line in failed)


def test_a_contract_variable_the_table_needs_missing_exits_2_naming_it(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")

    def forget(construct: str, resource: dict[str, Any]) -> bool:
        if not construct.endswith("ControlPlane/TaskDefinition/Resource"):
            return False
        container = resource["Properties"]["ContainerDefinitions"][0]
        container["Environment"] = [e for e in container["Environment"] if e["Name"] != "OUTPOST_AGENTS"]
        return True

    _edit(outdir, PROD, forget)
    assert main([str(outdir), "--env", PROD, "--cdk-json", str(ROOT / "cdk.json")]) == 2
    assert capsys.readouterr().out == "paths: the control plane's task definition sets no OUTPOST_AGENTS\n"


def test_an_alarm_that_notifies_nobody_fails(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")

    def silence(construct: str, resource: dict[str, Any]) -> bool:
        if not construct.endswith("Operations/JanitorErrors/Resource"):
            return False
        resource["Properties"].pop("AlarmActions")
        return True

    _edit(outdir, PROD, silence)
    code, failed = _failed(outdir, capsys)
    assert code == 1
    assert len(failed) == 1
    assert "Operations/JanitorErrors" in failed[0]
    assert "sns:Publish refused" in failed[0]


def test_a_gateway_endpoint_policy_that_excludes_the_bucket_fails_its_paths(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An S3 endpoint policy (what an egress allow-list may add) is applied to every S3 call."""
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")

    def restrict(construct: str, resource: dict[str, Any]) -> bool:
        if not construct.endswith("Vpc/S3Endpoint/Resource"):
            return False
        statement = {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::other/*",
        }
        resource["Properties"]["PolicyDocument"] = {"Version": "2012-10-17", "Statement": [statement]}
        return True

    _edit(outdir, PROD, restrict)
    code = main([str(outdir), "--env", PROD, "--cdk-json", str(ROOT / "cdk.json")])
    report = capsys.readouterr().out.split("\nok   ")
    failed = [block for block in report if "FAIL" in block]
    assert code == 1
    assert failed
    assert all("s3 gateway endpoint" in block and "the endpoint refuses it" in block for block in failed)
    assert any("image layers" in block for block in failed)  # ECR's layer bucket, refused


def test_without_endpoint_policies_another_accounts_keys_pass_and_fail_the_intruder_rows(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Prod's endpoints as they were before permissions/endpoints.py: AWS's default full access.
    Exactly the rows of an intruder's own keys fail, for every agent and every endpoint."""
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")

    def full_access(construct: str, resource: dict[str, Any]) -> bool:
        if resource["Type"] != "AWS::EC2::VPCEndpoint" or "PolicyDocument" not in resource["Properties"]:
            return False
        del resource["Properties"]["PolicyDocument"]
        return True

    _edit(outdir, PROD, full_access)
    code, failed = _failed(outdir, capsys)
    assert code == 1
    intruder = [row.does for row in PATHS if row.expect == REFUSED_ON_THE_WAY]
    assert len(intruder) == 3
    agents = len(config_of(PROD).service.agents)
    assert len(failed) == 3 * agents
    assert all(any(does in line for does in intruder) for line in failed)


def test_a_gateway_endpoint_open_to_every_account_fails_only_on_the_other_accounts_side(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Prod's S3 endpoint without its conditions (any principal, any bucket): an intruder's upload
    to its own bucket passes, and only those rows fail."""
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")

    def open_up(construct: str, resource: dict[str, Any]) -> bool:
        if not construct.endswith("Vpc/S3Endpoint/Resource"):
            return False
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            statement.pop("Condition", None)
        return True

    _edit(outdir, PROD, open_up)
    code, failed = _failed(outdir, capsys)
    assert code == 1
    assert len(failed) == len(config_of(PROD).service.agents)
    assert all("another account's bucket" in line for line in failed)


def test_without_the_dns_firewalls_block_rule_the_dns_queries_leave(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Prod's resolver as it was: it answers any name. Exactly the agents' DNS rows fail."""
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")

    def allow_all(construct: str, resource: dict[str, Any]) -> bool:
        if resource["Type"] != "AWS::Route53Resolver::FirewallRuleGroup":
            return False
        rules = resource["Properties"]["FirewallRules"]
        resource["Properties"]["FirewallRules"] = [r for r in rules if r["Action"] != "BLOCK"]
        return True

    _edit(outdir, PROD, allow_all)
    code, failed = _failed(outdir, capsys)
    assert code == 1
    assert len(failed) == len(config_of(PROD).service.agents)
    assert all("as DNS queries" in line for line in failed)


def test_a_name_the_dns_firewall_does_not_answer_fails_every_path_to_it(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The egress firewall passes registry.npmjs.org, but a resolver that does not answer it
    cuts the agents off from npm all the same."""
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")

    def forget_npm(construct: str, resource: dict[str, Any]) -> bool:
        if not construct.endswith("DnsFirewall/Allowed"):
            return False
        domains = resource["Properties"]["Domains"]
        resource["Properties"]["Domains"] = [d for d in domains if d != "registry.npmjs.org"]
        return len(domains) > len(resource["Properties"]["Domains"])

    _edit(outdir, PROD, forget_npm)
    code, failed = _failed(outdir, capsys)
    assert code == 1
    assert len(failed) == len(config_of(PROD).service.agents)
    assert all(
        "npm" in line and "DNS firewall answers NXDOMAIN for registry.npmjs.org" in line for line in failed
    )


def test_network_acls_are_not_guessed(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")

    def add_acl(construct: str, resource: dict[str, Any]) -> bool:
        if resource["Type"] != "AWS::EC2::FlowLog":
            return False
        resource["Type"] = "AWS::EC2::NetworkAclEntry"
        return True

    _edit(outdir, PROD, add_acl)
    assert main([str(outdir), "--env", PROD, "--cdk-json", str(ROOT / "cdk.json")]) == 2
    assert "network ACL entries are not evaluated" in capsys.readouterr().out


# --- the components merged after `make paths` was written -------------------------------


def _statements_without(sid: str, policy_suffix: str) -> Callable[[str, dict[str, Any]], bool]:
    def drop(construct: str, resource: dict[str, Any]) -> bool:
        if not construct.endswith(policy_suffix):
            return False
        statements = resource["Properties"]["PolicyDocument"]["Statement"]
        kept = [s for s in statements if s.get("Sid") != sid]
        resource["Properties"]["PolicyDocument"]["Statement"] = kept
        return len(kept) < len(statements)

    return drop


def test_without_the_collectors_upload_permission_its_path_fails(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")
    _edit(outdir, PROD, _statements_without("UploadArtifacts", "ArtifactsCollector/Permissions/Resource"))
    code, failed = _failed(outdir, capsys)
    assert code == 1
    assert len(failed) == 1
    assert f"{COLLECTOR} puts the outbox's files" in failed[0]
    assert "s3:PutObject refused" in failed[0]


def test_without_the_execution_roles_provider_key_read_the_proxy_gets_no_key(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")
    _edit(outdir, PROD, _statements_without("ReadOwnProviderSecret", "Claude/Execution/Policy/Resource"))
    code, failed = _failed(outdir, capsys)
    assert code == 1
    assert len(failed) == 1
    assert "claude agent (execution role) reads its provider key for the credential proxy" in failed[0]


def test_a_proxy_listening_beyond_the_loopback_fails(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On 0.0.0.0 the proxy would serve anybody who reaches the task's interface."""
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")

    def widen(construct: str, resource: dict[str, Any]) -> bool:
        if not construct.endswith("Service/Codex/TaskDefinition/Resource"):
            return False
        for container in resource["Properties"]["ContainerDefinitions"]:
            for variable in container.get("Environment", []):
                if variable["Name"] == "OUTPOST_PROXY_LISTEN":
                    variable["Value"] = "0.0.0.0:8787"
        return True

    _edit(outdir, PROD, widen)
    code, failed = _failed(outdir, capsys)
    assert code == 1
    assert len(failed) == 1
    assert "codex agent calls its model provider through its credential proxy" in failed[0]
    assert "listens on 0.0.0.0:8787" in failed[0]


def test_an_agent_execution_role_allowed_the_github_app_key_fails_a_negative_row(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The control plane's two GitHub App key statements copied into one agent's execution role."""
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")
    granted: list[dict[str, Any]] = []

    def take(construct: str, resource: dict[str, Any]) -> bool:
        if not construct.endswith("ControlPlane/WorkspacesPolicy/Resource"):
            return False
        statements = resource["Properties"]["PolicyDocument"]["Statement"]
        granted.extend(s for s in statements if s.get("Sid", "").endswith("GithubAppKey"))
        return True

    def give(construct: str, resource: dict[str, Any]) -> bool:
        if not construct.endswith("Grok/Execution/Policy/Resource"):
            return False
        resource["Properties"]["PolicyDocument"]["Statement"] += granted
        return True

    _edit(outdir, PROD, take)
    assert len(granted) == 2
    _edit(outdir, PROD, give)
    code, failed = _failed(outdir, capsys)
    assert code == 1
    assert len(failed) == 1
    assert "grok agent (execution role) reads the GitHub App's private key" in failed[0]


# --- the egress firewall and the pull-request diff role ---------------------------------


def test_a_provider_off_the_firewalls_allow_list_fails_its_proxys_path(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")

    def forget(construct: str, resource: dict[str, Any]) -> bool:
        if resource["Type"] != "AWS::NetworkFirewall::RuleGroup" or not construct.endswith("/AllowList"):
            return False
        listed = resource["Properties"]["RuleGroup"]["RulesSource"]["RulesSourceList"]
        listed["Targets"] = [t for t in listed["Targets"] if t != "api.x.ai"]
        return True

    _edit(outdir, PROD, forget)
    code, failed = _failed(outdir, capsys)
    assert code == 1
    assert len(failed) == 1
    assert "grok credential proxy forwards to its model provider" in failed[0]
    assert "passes no rule for api.x.ai:443" in failed[0]


def test_return_traffic_that_bypasses_the_firewall_fails_every_internet_path(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the internet gateway's edge routes, replies skip the firewall: asymmetric."""
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")

    def drop(construct: str, resource: dict[str, Any]) -> bool:
        if resource["Type"] != "AWS::EC2::GatewayRouteTableAssociation":
            return False
        resource["Type"] = "AWS::CloudFormation::WaitConditionHandle"
        resource["Properties"] = {}
        return True

    _edit(outdir, PROD, drop)
    code, failed = _failed(outdir, capsys)
    assert code == 1
    assert any("credential proxy forwards to its model provider" in line for line in failed)
    assert any("control plane mints" in line for line in failed)
    assert all("through NAT" in line and "asymmetric" in line for line in failed)


def test_a_diff_role_that_may_assume_the_lookup_role_fails_a_negative_row(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")

    def widen(construct: str, resource: dict[str, Any]) -> bool:
        if not (construct.endswith(f"{PROD}Diff/Policy/Resource")):
            return False
        statement = {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": "arn:aws:iam::*:role/cdk-*-lookup-role-*",
        }
        resource["Properties"]["PolicyDocument"]["Statement"].append(statement)
        return True

    _edit(outdir, "Delivery", widen)
    code, failed = _failed(outdir, capsys)
    assert code == 1
    assert len(failed) == 1
    assert "CI diff role assumes the CDK lookup role" in failed[0]


def test_a_firewall_that_does_not_pass_443_in_cuts_the_api_off(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")

    def narrow(construct: str, resource: dict[str, Any]) -> bool:
        if resource["Type"] != "AWS::NetworkFirewall::RuleGroup" or not construct.endswith("/Inbound"):
            return False
        source = resource["Properties"]["RuleGroup"]["RulesSource"]
        source["RulesString"] = source["RulesString"].replace("[443,80]", "[80]")
        return "[80]" in source["RulesString"]

    _edit(outdir, PROD, narrow)
    code, failed = _failed(outdir, capsys)
    assert code == 1
    assert len(failed) == 1
    assert (
        "API client reaches the load balancer's listener (Service/FrontDoor/LoadBalancer/Https" in failed[0]
    )
    assert ":443 (default: drop)" in failed[0]


def test_a_security_topic_that_refuses_the_findings_rule_fails_the_guardduty_path(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")
    _edit(outdir, PROD, _statements_without("AllowTheFindingsRule", "SecurityTopic/Topic/Policy/Resource"))
    code, failed = _failed(outdir, capsys)
    assert code == 1
    assert len(failed) == 1
    assert "EventBridge publishes a GuardDuty finding to the security topic" in failed[0]
    assert "sns:Publish refused" in failed[0]


def test_a_topic_key_that_needs_the_source_account_from_eventbridge_fails_the_guardduty_path(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The key statement as it was until SNS's guide was read: EventBridge's KMS requests through
    SNS carry no aws:SourceAccount, so the statement never matches and no finding is published."""
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")

    def source_account_instead(construct: str, resource: dict[str, Any]) -> bool:
        if not construct.endswith("SecurityTopic/TopicKey/Resource"):
            return False
        for statement in resource["Properties"]["KeyPolicy"]["Statement"]:
            if statement.get("Principal") == {"Service": "events.amazonaws.com"}:
                statement["Condition"] = {"StringEquals": {"aws:SourceAccount": "222222222222"}}
                return True
        return False

    _edit(outdir, PROD, source_account_instead)
    code, failed = _failed(outdir, capsys)
    assert code == 1
    assert len(failed) == 1
    assert "EventBridge publishes a GuardDuty finding to the security topic" in failed[0]
    assert "kms:GenerateDataKey refused" in failed[0]


# --- GuardDuty's Fargate agent -----------------------------------------------------------

GUARDDUTY_PULL = "pulls GuardDuty's security agent image"
GUARDDUTY_REPORT = "sends runtime events to GuardDuty"


@pytest.mark.parametrize("stage", STAGES)
def test_guardduty_agent_rows_exist_exactly_where_guardduty_is_on(
    synthesized: Synthesized, stage: str
) -> None:
    """Every task of the cluster pulls the sidecar and reports (the control plane and each agent)."""
    found = outcomes(synthesized, stage)
    pulls = [o for o in found if GUARDDUTY_PULL in o.does]
    reports = [o for o in found if GUARDDUTY_REPORT in o.does]
    on = config_of(stage).audit.guardduty != "off"
    assert len(pulls) == (1 + len(config_of(stage).service.agents) if on else 0)
    assert len(reports) == len(pulls)
    assert all(o.passed for o in pulls + reports)


def test_without_the_guardduty_pull_statement_the_agent_pulls_fail(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Prod's execution roles as they were before this change: every task's sidecar pull refused."""
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")
    _edit(outdir, PROD, _statements_without("PullGuardDutyAgent", "/Execution/Policy/Resource"))
    code, failed = _failed(outdir, capsys)
    assert code == 1
    assert len(failed) == 1 + len(config_of(PROD).service.agents)
    assert all(GUARDDUTY_PULL in line and "ecr:BatchGetImage refused" in line for line in failed)


def test_without_the_ecr_endpoint_the_guardduty_registry_meets_the_firewall(
    shipped_synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Prod without its ``ecr.dkr`` endpoint: the pulls leave through NAT, where the allow-list
    admits this account's registry but not GuardDuty's (prod's list leaves it out: the endpoint
    carries the pull), so exactly the sidecar pulls fail."""
    outdir = _copy(shipped_synthesized, tmp_path / "cdk.out")

    def drop(construct: str, resource: dict[str, Any]) -> bool:
        if resource["Type"] != "AWS::EC2::VPCEndpoint" or "ecr.dkr" not in json.dumps(resource["Properties"]):
            return False
        resource["Type"] = "AWS::CloudFormation::WaitConditionHandle"
        resource["Properties"] = {}
        return True

    _edit(outdir, PROD, drop)
    code, failed = _failed(outdir, capsys)
    assert code == 1
    assert len(failed) == 1 + len(config_of(PROD).service.agents)
    agent = config_of(PROD).audit.guardduty_agent
    assert agent is not None
    refused = f"passes no rule for {agent.registry_host}:443"
    assert all(GUARDDUTY_PULL in line and refused in line for line in failed), failed
