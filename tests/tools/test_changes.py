"""`make changes` (tools/changes): two template sets in, per resource add/update/replace/delete out,
and the refusal of stateful data loss and of changed outputs another stack reads.

"Before" is the shipped synth (masked as the snapshots are); "after" is a copy with one edit,
the edit a setting would make. Replacement follows the CloudFormation resource schemas
(``createOnlyProperties``), never a list kept here.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from config import IMAGES, EnvironmentConfig
from config.changes import Acknowledgement, ChangesConfig
from tests.app.test_registry import adopting
from tests.environments import CONFIGS, SHIPPED, of_kind
from tests.synth import Synthesized
from tools.changes import schemas
from tools.changes.__main__ import check
from tools.changes.compare import compare
from tools.changes.policy import STATEFUL_TYPES, Verdict, stateful_roles
from tools.changes.sources import masked

PROD = CONFIGS[of_kind("production")]
DEV = CONFIGS[of_kind("development")]
Templates = dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def before(shipped_synthesized: Synthesized) -> Templates:
    return {path: masked(template) for path, template in shipped_synthesized.templates.items()}


def run(
    before: Templates,
    edit: Callable[[Templates], None] | None = None,
    acknowledged: Mapping[str, tuple[Acknowledgement, ...]] | None = None,
    after: Templates | None = None,
) -> tuple[dict[str, Verdict], list[str]]:
    if after is None:
        after = copy.deepcopy(before)
        if edit is not None:
            edit(after)
    envs: list[EnvironmentConfig] = [
        dataclasses.replace(CONFIGS[name], changes=ChangesConfig((acknowledged or {}).get(name, ())))
        for name in SHIPPED
    ]
    out: list[str] = []
    verdicts = check(before, after, envs, dict.fromkeys(after, "us-east-1"), out)
    return {v.environment: v for v in verdicts}, out


def resources_of(templates: Templates, path: str, type_name: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in templates[path]["Resources"].items() if r["Type"] == type_name}


def rename_repositories(templates: Templates) -> None:
    """What a new ``registry.repository_prefix`` of prod does to its Registry stack."""
    for repository in resources_of(templates, f"{PROD.stage_name}/Registry", "AWS::ECR::Repository").values():
        repository["Properties"]["RepositoryName"] = repository["Properties"]["RepositoryName"].replace(
            PROD.registry.repository_prefix, "outpost-renamed"
        )


def test_the_same_templates_change_nothing(before: Templates) -> None:
    verdicts, out = run(before)
    assert set(verdicts) == {*SHIPPED, "Delivery"}
    assert all(not v.refused and not v.acknowledged for v in verdicts.values())
    assert all(
        " 0 replace, 0 delete, 0 add, 0 update; 0 output" in line for line in out if not line.startswith(" ")
    )


def test_a_new_repository_prefix_is_refused_naming_every_repository(before: Templates) -> None:
    verdicts, out = run(before, rename_repositories)
    repositories = resources_of(before, f"{PROD.stage_name}/Registry", "AWS::ECR::Repository")
    refused = verdicts[PROD.name].refused
    assert len(repositories) == len(IMAGES)
    assert len(refused) == len(repositories)
    for logical_id in repositories:
        (line,) = [line for line in refused if f" {logical_id} " in line]
        assert line.startswith(
            f"{PROD.name}: refused {PROD.stage_name}/Registry {logical_id} AWS::ECR::Repository"
        )
        assert "replace forced by RepositoryName" in line
        name = repositories[logical_id]["Properties"]["RepositoryName"]
        assert (
            f"RepositoryName {name} -> {name.replace(PROD.registry.repository_prefix, 'outpost-renamed')}"
            in line
        )
        assert "(the old one is retained, orphaned)" in line
    assert not verdicts[DEV.name].refused
    # A replaced repository has a new URI: the outputs that read it change too, and are said.
    assert any(
        line.startswith(f"  output  {PROD.stage_name}/Registry") and "it reads a replaced resource" in line
        for line in out
    )


def test_keeping_one_more_image_is_an_update_in_place(before: Templates) -> None:
    def keep_more(templates: Templates) -> None:
        for repository in resources_of(
            templates, f"{PROD.stage_name}/Registry", "AWS::ECR::Repository"
        ).values():
            policy = repository["Properties"]["LifecyclePolicy"]
            text = policy["LifecyclePolicyText"]
            policy["LifecyclePolicyText"] = text.replace(
                f'"countNumber":{PROD.registry.keep_tagged_images}',
                f'"countNumber":{PROD.registry.keep_tagged_images + 1}',
            )
            assert policy["LifecyclePolicyText"] != text

    verdicts, out = run(before, keep_more)
    assert not any(v.refused for v in verdicts.values())
    assert f"{PROD.name}: 0 replace, 0 delete, 0 add, {len(IMAGES)} update; 0 output change(s)" in out


def test_deleting_a_bucket_is_refused(before: Templates) -> None:
    path = f"{PROD.stage_name}/Data"
    logical_id = next(iter(resources_of(before, path, "AWS::S3::Bucket")))
    verdicts, _ = run(before, lambda t: t[path]["Resources"].pop(logical_id))
    assert any(
        f"refused {path} {logical_id} AWS::S3::Bucket (bucket): delete" in line
        for line in verdicts[PROD.name].refused
    )


def test_adopting_the_repositories_of_a_live_environment_is_refused_as_each_leaving_the_stack(
    before: Templates,
) -> None:
    """``registry.existing_repositories`` set on an environment whose Registry stack still holds
    them: each repository is removed from the stack (retained: its images stay, unmanaged), which
    `make changes` refuses per repository, saying so (docs/rehearsal.md)."""
    path = f"{DEV.stage_name}/Registry"
    adopted = masked(adopting(DEV.stage_name, IMAGES))
    verdicts, _ = run(before, lambda t: t.__setitem__(path, adopted))
    repositories = resources_of(before, path, "AWS::ECR::Repository")
    refused = verdicts[DEV.name].refused
    assert len(refused) == len(repositories) == len(IMAGES)
    for logical_id in repositories:
        (line,) = [line for line in refused if f" {logical_id} " in line]
        assert line.startswith(
            f"{DEV.name}: refused {path} {logical_id} AWS::ECR::Repository (repository): delete"
        )
        assert "(retained: it leaves the stack, its data stays in the account, unmanaged)" in line


def test_log_groups_are_stateful_by_role_not_by_type(before: Templates) -> None:
    roles = {path: stateful_roles(template) for path, template in before.items()}
    stage = PROD.stage_name
    assert "audit log group" in roles[f"{stage}/Audit"].values()
    assert "flow log group" in roles[f"{stage}/Network"].values()
    assert "WAF log group" in roles[f"{stage}/Service"].values()
    application = [
        (path, logical_id)
        for path, template in before.items()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Logs::LogGroup" and logical_id not in roles[path]
    ]
    assert application, "the functions' and tasks' log groups are not refused"

    def rename(path: str, logical_id: str) -> Callable[[Templates], None]:
        def edit(templates: Templates) -> None:
            templates[path]["Resources"][logical_id]["Properties"]["LogGroupName"] = "renamed"

        return edit

    flow = next(k for k, role in roles[f"{stage}/Network"].items() if role == "flow log group")
    verdicts, _ = run(before, rename(f"{stage}/Network", flow))
    assert [line for line in verdicts[PROD.name].refused if f" {flow} " in line]
    path, app = application[0]
    verdicts, out = run(before, rename(path, app))
    assert not any(v.refused for v in verdicts.values())
    assert any(
        line.startswith(f"  replace {path} {app} AWS::Logs::LogGroup forced by LogGroupName") for line in out
    )


def test_a_replaced_security_group_changes_outputs_other_stacks_read(before: Templates) -> None:
    path = f"{PROD.stage_name}/Network"
    groups = resources_of(before, path, "AWS::EC2::SecurityGroup")
    # A group whose id the Data stack reads through Fn::GetStackOutput.
    read = {
        ref["OutputName"]
        for ref in _stack_outputs_read(before[f"{PROD.stage_name}/Data"])
        if ref["StackName"] == path.replace("/", "-")
    }
    logical_id = next(
        lid for lid in groups if any(_refers_to(before[path]["Outputs"][o]["Value"], lid) for o in read)
    )

    def describe(templates: Templates) -> None:
        templates[path]["Resources"][logical_id]["Properties"]["GroupDescription"] += " (new)"

    verdicts, out = run(before, describe)
    assert any(
        line.startswith(f"  replace {path} {logical_id} AWS::EC2::SecurityGroup forced by GroupDescription")
        for line in out
    )
    refused = verdicts[PROD.name].refused
    assert any(f"{path} output " in line and f"read by {PROD.stage_name}/Data" in line for line in refused)
    # Its rules name it by id (create-only in a rule): the new group's new id replaces them too,
    # though their text is unchanged.
    rules = [
        lid
        for lid, r in before[path]["Resources"].items()
        if r["Type"] in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress")
        and r["Properties"].get("GroupId") == {"Fn::GetAtt": [logical_id, "GroupId"]}
    ]
    assert rules
    for rule in rules:
        assert any(line.startswith(f"  replace {path} {rule} ") and "GroupId" in line for line in out), rule


def _stack_outputs_read(template: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(template, dict):
        if "Fn::GetStackOutput" in template:
            found.append(template["Fn::GetStackOutput"])
        for value in template.values():
            found.extend(_stack_outputs_read(value))
    elif isinstance(template, list):
        for value in template:
            found.extend(_stack_outputs_read(value))
    return found


def _refers_to(value: Any, logical_id: str) -> bool:
    return logical_id in str(value)


def _acknowledge(
    line: str, reason: str = "moving to the new prefix; images re-pushed by CI first"
) -> Acknowledgement:
    """The acknowledgement a refusing line asks for."""
    hint = line.split("acknowledge in cdk.json with ", 1)[1]
    import json

    fields = json.loads(hint)
    target = fields.get("resource") or fields["output"]
    return Acknowledgement(stack=fields["stack"], logical_id=target, change=fields["change"], reason=reason)


def test_an_acknowledged_change_passes_and_only_that_change(before: Templates) -> None:
    verdicts, _ = run(before, rename_repositories)
    acks = tuple(_acknowledge(line) for line in verdicts[PROD.name].refused)
    verdicts, _ = run(before, rename_repositories, {PROD.name: acks})
    assert not verdicts[PROD.name].refused
    assert len(verdicts[PROD.name].acknowledged) == len(IMAGES)
    # In another environment, or for another change of the same resource, it approves nothing.
    verdicts, _ = run(before, rename_repositories, {DEV.name: acks})
    assert len(verdicts[PROD.name].refused) == len(IMAGES)

    def other_name(templates: Templates) -> None:
        rename_repositories(templates)
        for repository in resources_of(
            templates, f"{PROD.stage_name}/Registry", "AWS::ECR::Repository"
        ).values():
            repository["Properties"]["RepositoryName"] += "-2"

    verdicts, _ = run(before, other_name, {PROD.name: acks})
    assert len(verdicts[PROD.name].refused) == len(IMAGES)
    assert len(verdicts[PROD.name].spent) == len(IMAGES)


def test_an_acknowledgement_is_spent_once_its_change_is_deployed(before: Templates) -> None:
    """Once deployed, the "before" is the renamed repository: the acknowledgement matches
    nothing (said, for removal), and cannot approve a later replacement of the same resource."""
    verdicts, _ = run(before, rename_repositories)
    acks = {PROD.name: tuple(_acknowledge(line) for line in verdicts[PROD.name].refused)}
    deployed = copy.deepcopy(before)
    rename_repositories(deployed)
    verdicts, out = run(deployed, None, acks)
    assert len(verdicts[PROD.name].spent) == len(IMAGES)
    assert sum("matches no change relative to FROM" in line for line in out) == len(IMAGES)

    def back(templates: Templates) -> None:
        for repository in resources_of(
            templates, f"{PROD.stage_name}/Registry", "AWS::ECR::Repository"
        ).values():
            repository["Properties"]["RepositoryName"] = repository["Properties"]["RepositoryName"].replace(
                "outpost-renamed", PROD.registry.repository_prefix
            )

    verdicts, _ = run(deployed, back, acks)
    assert len(verdicts[PROD.name].refused) == len(IMAGES)


def test_a_new_type_replaces_and_a_stack_only_before_is_not_deleted(before: Templates) -> None:
    path = f"{DEV.stage_name}/Data"
    table = next(iter(resources_of(before, path, "AWS::DynamoDB::Table")))

    def retype(templates: Templates) -> None:
        templates[path]["Resources"][table]["Type"] = "AWS::DynamoDB::GlobalTable"
        del templates[f"{DEV.stage_name}/Alerts"]

    verdicts, out = run(before, retype)
    assert any(
        f"{path} {table} AWS::DynamoDB::GlobalTable (table): replace forced by Type" in line
        for line in verdicts[DEV.name].refused
    )
    assert not any("Alerts" in line for line in out if line.startswith("  delete"))


def test_a_new_allowed_name_and_a_tighter_endpoint_policy_are_updates_in_place(before: Templates) -> None:
    """Day two of the containment (docs/egress.md): the DNS firewall's names and an endpoint's
    policy change in place ("Update requires: No interruption"), nothing is replaced; renaming a
    domain list or rule group would replace it (create-only ``Name``)."""

    def change(templates: Templates) -> None:
        network = f"{PROD.stage_name}/Network"
        lists = resources_of(templates, network, "AWS::Route53Resolver::FirewallDomainList")
        [allowed] = [r for r in lists.values() if r["Properties"]["Domains"] != ["*"]]
        allowed["Properties"]["Domains"] = [*allowed["Properties"]["Domains"], "example.org"]
        endpoints = resources_of(templates, network, "AWS::EC2::VPCEndpoint")
        [s3] = [r for k, r in endpoints.items() if k.startswith("NetworkVpcS3Endpoint")]
        s3["Properties"]["PolicyDocument"]["Statement"].pop()  # ECR's image layers

    verdicts, out = run(before, change)
    assert not any(v.refused for v in verdicts.values())
    assert f"{PROD.name}: 0 replace, 0 delete, 0 add, 2 update; 0 output change(s)" in out
    for type_name in ("AWS::Route53Resolver::FirewallDomainList", "AWS::Route53Resolver::FirewallRuleGroup"):
        create_only = {".".join(p) for p in schemas.schema("us-east-1", type_name).create_only}
        assert "Name" in create_only
        assert not create_only & {"Domains", "FirewallRules"}
    association = schemas.schema("us-east-1", "AWS::Route53Resolver::FirewallRuleGroupAssociation")
    assert {"FirewallRuleGroupId", "VpcId"} <= {".".join(p) for p in association.create_only}
    endpoint = schemas.schema("us-east-1", "AWS::EC2::VPCEndpoint")
    assert "PolicyDocument" not in {".".join(p) for p in endpoint.create_only}


def test_replacement_comes_from_the_resource_schemas() -> None:
    def create_only(type_name: str) -> set[str]:
        return {".".join(p) for p in schemas.schema("us-east-1", type_name).create_only}

    assert "RepositoryName" in create_only("AWS::ECR::Repository")
    assert "TableName" in create_only("AWS::DynamoDB::Table")
    # From the CDK CLI's service specification only (the registry schema lets them update):
    assert "KeySchema" in create_only("AWS::DynamoDB::Table")
    assert "ObjectLockEnabled" in create_only("AWS::S3::Bucket")
    assert "InstanceType" in {
        ".".join(p) for p in schemas.schema("us-east-1", "AWS::EC2::Instance").conditional
    }
    assert {"GroupDescription", "VpcId"} <= create_only("AWS::EC2::SecurityGroup")
    assert "LifecyclePolicy" not in create_only("AWS::ECR::Repository")
    assert not schemas.schema("us-east-1", "Custom::VpcRestrictDefaultSG").known
    ecr = schemas.schema("us-east-1", "AWS::ECR::Repository")
    # The outermost replacing property the change touches, not each one the schema nests in it.
    assert schemas.forcing(ecr, frozenset({("EncryptionConfiguration",)})) == ("EncryptionConfiguration",)
    assert schemas.forcing(ecr, frozenset({("EncryptionConfiguration", "KmsKey")})) == (
        "EncryptionConfiguration",
    )
    assert schemas.forcing(ecr, frozenset({("LifecyclePolicy", "LifecyclePolicyText")})) == ()


def test_a_new_table_key_is_refused_though_the_registry_schema_allows_it(before: Templates) -> None:
    """``KeySchema`` replaces a table ("Update requires: Replacement"); only the CDK CLI's
    service specification says so, the registry schema lists just ``TableName``."""
    path = f"{PROD.stage_name}/Data"
    table = next(iter(resources_of(before, path, "AWS::DynamoDB::Table")))

    def rekey(templates: Templates) -> None:
        keys = templates[path]["Resources"][table]["Properties"]["KeySchema"]
        keys[0]["AttributeName"] = "renamed"

    verdicts, _ = run(before, rekey)
    assert any(
        f"{path} {table} AWS::DynamoDB::Table (table): replace forced by KeySchema" in line
        for line in verdicts[PROD.name].refused
    )


def test_every_type_the_cdk_calls_stateful_is_refused_by_type_or_by_role(before: Templates) -> None:
    """The list is ours (tools/changes/policy.py), checked against the CDK's: a type the CDK's
    service specification marks stateful that a template uses is in the list, or a log group
    (stateful by role). A new stateful type added to a stack fails here until it is decided."""
    used = {r["Type"] for template in before.values() for r in template["Resources"].values()}
    cdk_stateful = {type_name for type_name in used if schemas.cdk_stateful(type_name)}
    assert cdk_stateful, "the CDK's specification was read"
    assert cdk_stateful - set(STATEFUL_TYPES) <= {"AWS::Logs::LogGroup"}
    # Ours beyond the CDK's: repositories, the trail, the bus and its archive hold data too.
    assert {"AWS::ECR::Repository", "AWS::Events::EventBus", "AWS::Events::Archive"} <= set(
        STATEFUL_TYPES
    ) - cdk_stateful


def test_a_conditional_replacement_is_said_as_such() -> None:
    """``causesReplacement: maybe`` (an EC2 instance's type: replaced or stopped, by value)."""

    def instance(instance_type: str) -> dict[str, Any]:
        properties = {"InstanceType": instance_type, "ImageId": "ami-12345678"}
        return {"Resources": {"Box": {"Type": "AWS::EC2::Instance", "Properties": properties}}}

    resources, _ = compare(
        {"Dev/X": instance("t3.small")}, {"Dev/X": instance("t3.large")}, {"Dev/X": "us-east-1"}
    )
    (change,) = resources
    assert (change.action, change.causes) == ("replace", ("InstanceType (conditionally)",))
    resources, _ = compare(
        {"Dev/X": instance("t3.small")}, {"Dev/X": instance("t3.small")}, {"Dev/X": "us-east-1"}
    )
    assert resources == []


def test_a_replacement_names_the_outermost_changed_property_only() -> None:
    """A changed ``ContainerDefinitions`` is the cause, not each create-only path the schema
    lists beneath it (a task definition's list would run to ninety names)."""
    patterns = (("ContainerDefinitions",), ("ContainerDefinitions", "*", "Image"), ("Family",))
    assert schemas.forcing(
        schemas.TypeSchema("AWS::ECS::TaskDefinition", create_only=patterns),
        frozenset({("ContainerDefinitions",)}),
    ) == ("ContainerDefinitions",)
