"""The Delivery stacks: whom each CI role trusts, and the one thing each may do.

A deploy role trusts only tokens GitHub issues to a job in that environment of the configured
repository; a diff role only tokens of that repository's pull requests. Each may only assume
CDK bootstrap roles of its environment's account and region: the four a deploy uses. A diff
role assumes no role (the lookup role is ReadOnlyAccess, and a pull request runs its own
code): it may only read its environment's own stacks' templates, what ``cdk diff --method
template`` calls (``cloudformation:DescribeStacks`` and ``GetTemplate``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from app import build
from compliance.packs import add_nag_packs, read_report, unacknowledged_findings
from config import load_environments
from config.delivery import QUALIFIER_CONTEXT_KEY, bootstrap_qualifier, load_delivery
from constructs.github_oidc import MAX_ROLE_NAME, MAX_TRUST_POLICY_CHARACTERS
from stacks.delivery_stack import DeliveryStage
from tests.environments import of_kind
from tests.synth import Synthesized, read_templates, shipped_context, throwaway_name, with_throwaway
from tests.templates import SETTINGS, path_of

GITHUB = "token.actions.githubusercontent.com"
DELIVERY = shipped_context()["outpost"]["delivery"]
REPOSITORY = DELIVERY["repository"]
DELIVERED = tuple(DELIVERY["environments"])
DEPLOY_ROLES = ("deploy", "file-publishing", "image-publishing", "lookup")
DEV, PROD = of_kind("development"), of_kind("production")


def stack_of(env: str) -> str:
    return f"Delivery/Account{SETTINGS[env]['account']}"


def resource(template: dict[str, Any], path_suffix: str) -> tuple[str, dict[str, Any]]:
    found = [(k, r) for k, r in template["Resources"].items() if path_of(r).endswith(path_suffix)]
    assert len(found) == 1, (path_suffix, [k for k, _ in found])
    return found[0]


def role_and_policy(template: dict[str, Any], env: str, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(role, its managed policy) of ``kind`` (``Deploy`` or ``Diff``) for ``env``."""
    label = f"{env.capitalize()}{kind}"
    role_id, role = resource(template, f"/{label}/Role/Resource")
    _, policy = resource(template, f"/{label}/Policy/Resource")
    assert policy["Properties"]["Roles"] == [{"Ref": role_id}]
    return role, policy


def bootstrap_arns(env: str, kinds: tuple[str, ...], qualifier: str = "hnb659fds") -> list[str]:
    account, region = SETTINGS[env]["account"], SETTINGS[env]["region"]
    return [f"arn:aws:iam::{account}:role/cdk-{qualifier}-{kind}-role-{account}-{region}" for kind in kinds]


def assumable(policy: dict[str, Any]) -> Any:
    """The resources of the policy's one statement, which allows ``sts:AssumeRole`` and nothing else."""
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert {k: v for k, v in statement.items() if k != "Resource"} == {
        "Sid": "AssumeBootstrapRoles",
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
    }
    return statement["Resource"]


def trust_statement(role: dict[str, Any]) -> dict[str, Any]:
    statements = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert len(statements) == 1, statements
    return statements[0]  # type: ignore[no-any-return]


def provider_id(template: dict[str, Any]) -> str:
    return resource(template, "/GitHubOidcProvider/Resource")[0]


# --- one stack per account --------------------------------------------------------------


def test_one_delivery_stack_per_account_of_a_delivered_environment(synthesized: Synthesized) -> None:
    delivery = sorted(name for name in synthesized.templates if name.startswith("Delivery/"))
    assert delivery == sorted({stack_of(env) for env in DELIVERED})


def test_delivery_stacks_are_protected_and_deployed_where_their_environments_are(
    synthesized: Synthesized,
) -> None:
    manifest = json.loads((synthesized.outdir / "assembly-Delivery" / "manifest.json").read_text())
    stacks = {
        a["displayName"]: a for a in manifest["artifacts"].values() if a["type"] == "aws:cloudformation:stack"
    }
    for env in DELIVERED:
        artifact = stacks[stack_of(env)]
        assert artifact["environment"] == f"aws://{SETTINGS[env]['account']}/{SETTINGS[env]['region']}"
        assert artifact["properties"]["terminationProtection"] is True


def test_only_iam_resources(synthesized: Synthesized) -> None:
    for env in DELIVERED:
        types = {r["Type"] for r in synthesized.template(stack_of(env))["Resources"].values()}
        assert types <= {"AWS::IAM::OIDCProvider", "AWS::IAM::Role", "AWS::IAM::ManagedPolicy"}, types


def test_the_provider_is_githubs_for_sts_only(synthesized: Synthesized) -> None:
    for env in DELIVERED:
        _, provider = resource(synthesized.template(stack_of(env)), "/GitHubOidcProvider/Resource")
        assert provider["Type"] == "AWS::IAM::OIDCProvider"
        assert provider["Properties"] == {"ClientIdList": ["sts.amazonaws.com"], "Url": f"https://{GITHUB}"}
        # Kept: an account has one provider per URL, and others may have come to trust it.
        assert provider["DeletionPolicy"] == "Retain"


# --- trust -------------------------------------------------------------------------------


def test_a_deploy_role_trusts_only_its_github_environment(synthesized: Synthesized) -> None:
    for env in DELIVERED:
        template = synthesized.template(stack_of(env))
        role, _ = role_and_policy(template, env, "Deploy")
        assert trust_statement(role) == {
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Effect": "Allow",
            "Principal": {"Federated": {"Ref": provider_id(template)}},
            "Condition": {
                "StringEquals": {
                    f"{GITHUB}:aud": "sts.amazonaws.com",
                    f"{GITHUB}:sub": f"repo:{REPOSITORY}:environment:{env}",
                }
            },
        }


def test_a_diff_role_trusts_only_pull_requests_of_the_repository(synthesized: Synthesized) -> None:
    for env in DELIVERED:
        template = synthesized.template(stack_of(env))
        role, _ = role_and_policy(template, env, "Diff")
        assert trust_statement(role)["Condition"] == {
            "StringEquals": {
                f"{GITHUB}:aud": "sts.amazonaws.com",
                f"{GITHUB}:sub": f"repo:{REPOSITORY}:pull_request",
            }
        }
        assert trust_statement(role)["Principal"] == {"Federated": {"Ref": provider_id(template)}}


def test_no_trust_policy_holds_a_wildcard(synthesized: Synthesized) -> None:
    for env in DELIVERED:
        for r in synthesized.template(stack_of(env))["Resources"].values():
            if r["Type"] == "AWS::IAM::Role":
                document = json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
                assert "*" not in document
                assert "?" not in document
                assert "StringLike" not in document


# --- permissions -------------------------------------------------------------------------


def test_a_deploy_role_may_only_assume_the_bootstrap_roles_of_its_account_and_region(
    synthesized: Synthesized,
) -> None:
    for env in DELIVERED:
        role, policy = role_and_policy(synthesized.template(stack_of(env)), env, "Deploy")
        assert assumable(policy) == bootstrap_arns(env, DEPLOY_ROLES)
        # Nothing else: no inline policy, no managed policy of AWS, no boundary to lift.
        assert set(role["Properties"]) == {
            "AssumeRolePolicyDocument",
            "Description",
            "MaxSessionDuration",
            "RoleName",
        }
        assert role["Properties"]["RoleName"] == f"outpost-{env}-github-deploy"
        assert role["Properties"]["MaxSessionDuration"] == 7200


def test_a_diff_role_only_reads_its_own_stacks_templates(synthesized: Synthesized) -> None:
    """No role a pull request can assume reaches a bootstrap role (the lookup role holds
    ReadOnlyAccess) or a wildcard action: it reads the templates of ``<Stage>-*`` only."""
    for env in DELIVERED:
        role, policy = role_and_policy(synthesized.template(stack_of(env)), env, "Diff")
        account, region = SETTINGS[env]["account"], SETTINGS[env]["region"]
        assert policy["Properties"]["PolicyDocument"]["Statement"] == [
            {
                "Sid": "ReadOwnStackTemplates",
                "Effect": "Allow",
                "Action": ["cloudformation:DescribeStacks", "cloudformation:GetTemplate"],
                "Resource": f"arn:aws:cloudformation:{region}:{account}:stack/{env.capitalize()}-*/*",
            }
        ]
        assert "sts:" not in json.dumps(policy)
        assert role["Properties"]["RoleName"] == f"outpost-{env}-github-diff"
        assert role["Properties"]["MaxSessionDuration"] == 3600


def test_no_role_a_pull_request_assumes_reaches_a_role_or_a_wildcard_action(synthesized: Synthesized) -> None:
    """Every role trusted by ``:pull_request`` tokens, wherever it is: no sts action, no ``*`` action."""
    for env in DELIVERED:
        template = synthesized.template(stack_of(env))
        resources = template["Resources"]
        trusted = {
            logical
            for logical, r in resources.items()
            if r["Type"] == "AWS::IAM::Role"
            and ":pull_request" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
        }
        assert trusted
        for r in resources.values():
            if r["Type"] != "AWS::IAM::ManagedPolicy":
                continue
            if not {ref["Ref"] for ref in r["Properties"].get("Roles", [])} & trusted:
                continue
            for statement in r["Properties"]["PolicyDocument"]["Statement"]:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                assert all("*" not in a and not a.startswith("sts:") for a in actions), statement
                assert "lookup-role" not in json.dumps(statement)


def test_no_role_reaches_the_cloudformation_execution_role(synthesized: Synthesized) -> None:
    """Only CloudFormation may assume cfn-exec-role; CI must go through the deploy role."""
    for env in DELIVERED:
        assert "cfn-exec-role" not in json.dumps(synthesized.template(stack_of(env)))


def test_the_roles_are_what_cdk_assumes_for_the_environment(synthesized: Synthesized) -> None:
    """The ARNs the deploy role may assume are the ones the environment's stacks name."""
    for env in DELIVERED:
        stage = env.capitalize()
        manifest = json.loads((synthesized.outdir / f"assembly-{stage}" / "manifest.json").read_text())
        named = set()
        for artifact in manifest["artifacts"].values():
            properties = artifact.get("properties", {})
            named.add(properties.get("assumeRoleArn"))
            named.add(properties.get("lookupRole", {}).get("arn"))
        named.discard(None)
        resolved = {arn.replace("${AWS::Partition}", "aws") for arn in named}
        assert resolved <= set(bootstrap_arns(env, DEPLOY_ROLES)), resolved


# --- shared accounts, existing providers, another qualifier --------------------------------


def synth_delivery(tmp_path: Path, context: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Synthesize only the Delivery stage of ``context`` (with every nag pack)."""
    context.setdefault("aws:cdk:enable-path-metadata", True)
    app = cdk.App(outdir=str(tmp_path), context=context)
    get = app.node.try_get_context
    loaded = load_delivery(get, load_environments(get))
    assert loaded is not None
    DeliveryStage(app, delivery=loaded[0], targets=loaded[1], qualifier=bootstrap_qualifier(get))
    add_nag_packs(app)
    app.synth()
    assert unacknowledged_findings(read_report(tmp_path)) == []
    return read_templates(tmp_path, ["Delivery"])


def test_two_environments_in_one_account_share_one_stack(tmp_path: Path) -> None:
    """A third environment in the development one's account (tests/synth.py's throwaway copy)."""
    third = throwaway_name(shipped_context()["outpost"]["environments"])
    context = with_throwaway(shipped_context())
    context["outpost"]["delivery"]["environments"] = [DEV, third, PROD]
    templates = synth_delivery(tmp_path, context)
    assert sorted(templates) == sorted({stack_of(DEV), stack_of(PROD)})
    shared = templates[stack_of(DEV)]["Resources"]
    providers = [r for r in shared.values() if r["Type"] == "AWS::IAM::OIDCProvider"]
    names = sorted(r["Properties"]["RoleName"] for r in shared.values() if r["Type"] == "AWS::IAM::Role")
    assert len(providers) == 1
    assert names == sorted(
        f"outpost-{env}-github-{kind}" for env in (DEV, third) for kind in ("deploy", "diff")
    )


def test_an_existing_provider_is_trusted_not_created(tmp_path: Path) -> None:
    arn = f"arn:aws:iam::{SETTINGS[PROD]['account']}:oidc-provider/{GITHUB}"
    context = shipped_context()
    context["outpost"]["delivery"]["existing_oidc_providers"] = [arn]
    templates = synth_delivery(tmp_path, context)
    prod = templates[stack_of(PROD)]["Resources"]
    assert not [r for r in prod.values() if r["Type"] == "AWS::IAM::OIDCProvider"]
    role, _ = role_and_policy({"Resources": prod}, PROD, "Deploy")
    assert trust_statement(role)["Principal"] == {"Federated": arn}
    dev = templates[stack_of(DEV)]["Resources"]
    assert len([r for r in dev.values() if r["Type"] == "AWS::IAM::OIDCProvider"]) == 1


def test_the_roles_follow_the_bootstrap_qualifier(tmp_path: Path) -> None:
    context = shipped_context()
    context[QUALIFIER_CONTEXT_KEY] = "outpost1"
    templates = synth_delivery(tmp_path, context)
    _, policy = role_and_policy(templates[stack_of(PROD)], PROD, "Deploy")
    assert assumable(policy) == bootstrap_arns(PROD, DEPLOY_ROLES, qualifier="outpost1")


def test_one_environment_builds_no_delivery_stage(tmp_path: Path) -> None:
    """``-c outpost:only=<env>`` (make deploy) must not build a Delivery stack from one environment."""
    context = shipped_context()
    context["outpost:only"] = DEV
    stages = build(cdk.App(outdir=str(tmp_path), context=context))
    assert [stage.stage_name for stage in stages] == [DEV.capitalize()]


def test_what_iam_checks_when_it_creates_the_roles(synthesized: Synthesized) -> None:
    """Name length, session length and trust-policy size (constructs/github_oidc.py cites the limits)."""
    for env in DELIVERED:
        for kind in ("Deploy", "Diff"):
            role, _ = role_and_policy(synthesized.template(stack_of(env)), env, kind)
            name = role["Properties"]["RoleName"]
            assert len(name) <= MAX_ROLE_NAME
            assert re.fullmatch(r"[\w+=,.@-]+", name)
            assert 3600 <= role["Properties"]["MaxSessionDuration"] <= 43200
            # The provider's ARN replaces its Ref at deploy time: count it at its longest.
            document = json.loads(json.dumps(role["Properties"]["AssumeRolePolicyDocument"]))
            document["Statement"][0]["Principal"]["Federated"] = (
                f"arn:aws-us-gov:iam::{SETTINGS[env]['account']}:oidc-provider/{GITHUB}"
            )
            assert len(json.dumps(document, separators=(",", ":"))) <= MAX_TRUST_POLICY_CHARACTERS
