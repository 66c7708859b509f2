"""The data-reach section of the security review: what data each role can read and write.

Derived from the templates only (``review.data_reach`` over ``review.roles``), so these tests
hold whatever the stacks grant: every role of every environment is listed, named by what
uses it, and a throwaway template shows how grants read (a role that writes ``bucket/*``
writes the whole bucket).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config import AGENTS
from constructs.provider_secrets import AGENT_PROVIDERS
from tests.environments import ENVIRONMENTS, of_kind
from tools.review import report
from tools.review.credentials import credential_rows
from tools.review.data_reach import reach, reach_rows
from tools.review.roles import environment_roles, words
from tools.stack_template import StackTemplate


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_section_lists_every_role_of_the_environment(
    written: dict[str, report.Review], report_dir: Path, env: str
) -> None:
    review = written[env]
    text = (report_dir / f"security-review-{env}.md").read_text()
    assert "## Data reach" in text
    assert "| role | used by | reads | writes |" in text
    rows = reach_rows(review.stacks)
    listed = [row[0].split("\n")[1].strip("`") for row in rows]
    roles = [
        f"{s.short}/{s.name(logical_id)}"
        for s in review.stacks
        for logical_id, _ in s.of_type("AWS::IAM::Role")
    ]
    assert sorted(listed) == sorted(roles)
    for row in rows:
        assert all(cell.strip() for cell in row), row
        assert f"| {row[0].replace(chr(10), '<br>')} |" in text


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_roles_are_named_by_what_uses_them(written: dict[str, report.Review], env: str) -> None:
    labels = {role.name: role.label for role in environment_roles(written[env].stacks)}
    assert labels["Service/ControlPlane/TaskRole"] == "control plane task role"
    assert labels["Service/ControlPlane/Execution/Role"] == "control plane execution role"
    agents = [label for label in labels.values() if label.endswith("agent task role")]
    assert agents, "task definitions no service runs are agents'"
    assert "task state callback function role" in labels.values()
    assert words("VpcRestrictDefaultSGCustomResourceProvider") == (
        "vpc restrict default SG custom resource provider"
    )


def test_an_agent_is_launched_by_the_control_plane(written: dict[str, report.Review]) -> None:
    rows = {row[0].split("\n")[0]: row for row in reach_rows(written[of_kind("production")].stacks)}
    agent = next(row for label, row in rows.items() if label.endswith("agent task role"))
    assert "run on demand by the control plane task role" in agent[1]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_agents_reach_no_bucket_and_only_their_dispatch_access_point(
    written: dict[str, report.Review], env: str
) -> None:
    """Issue 10, as a reviewer reads it: an agent task role reads and writes no S3 object and
    mounts only through an access point other than the shared /workspaces one."""
    rows = {row[0].split("\n")[0]: row for row in reach_rows(written[env].stacks)}
    agents = [row for label, row in rows.items() if label.endswith("agent task role")]
    assert len(agents) == 5
    for row in agents:
        reads, writes = row[2], row[3]
        assert "bucket" not in reads + writes
        for cell in (reads, writes):
            assert "through any access point except access point" in cell
            assert "(root `/workspaces`)" in cell


def _resource(kind: str, path: str, **props: Any) -> dict[str, Any]:
    return {"Type": kind, "Properties": props, "Metadata": {"aws:cdk:path": f"Env/Data/{path}/Resource"}}


def _throwaway(statements: list[dict[str, Any]], **extra: dict[str, Any]) -> list[StackTemplate]:
    """One stack: a bucket, a file system and its access point, a role with ``statements``,
    and a task definition that uses the role as its task role and mounts the access point."""
    resources = {
        "Bucket": _resource("AWS::S3::Bucket", "Bucket"),
        "Files": _resource("AWS::EFS::FileSystem", "Files"),
        "Point": _resource(
            "AWS::EFS::AccessPoint",
            "Files/Point",
            FileSystemId={"Ref": "Files"},
            RootDirectory={"Path": "/jobs/one"},
        ),
        "Role": _resource("AWS::IAM::Role", "Job/Role", AssumeRolePolicyDocument={}),
        "Policy": _resource(
            "AWS::IAM::Policy",
            "Job/Policy",
            Roles=[{"Ref": "Role"}],
            PolicyDocument={"Version": "2012-10-17", "Statement": statements},
        ),
        "Task": _resource(
            "AWS::ECS::TaskDefinition",
            "Job/TaskDefinition",
            Family="jobs",
            TaskRoleArn={"Fn::GetAtt": ["Role", "Arn"]},
            ContainerDefinitions=[{"MountPoints": [{"SourceVolume": "work", "ContainerPath": "/work"}]}],
            Volumes=[
                {
                    "Name": "work",
                    "EFSVolumeConfiguration": {
                        "FilesystemId": {"Ref": "Files"},
                        "AuthorizationConfig": {"AccessPointId": {"Ref": "Point"}, "IAM": "ENABLED"},
                    },
                }
            ],
        ),
        **extra,
    }
    return [StackTemplate("Env", "Env/Data", {"Resources": resources})]


def _arn(logical_id: str, suffix: str) -> dict[str, Any]:
    return {"Fn::Join": ["", [{"Fn::GetAtt": [logical_id, "Arn"]}, suffix]]}


def test_a_role_that_writes_bucket_star_writes_the_whole_bucket() -> None:
    stacks = _throwaway([{"Effect": "Allow", "Action": "s3:PutObject", "Resource": _arn("Bucket", "/*")}])
    (role,) = environment_roles(stacks)
    reads, writes = reach(stacks, role)
    assert reads == []
    assert writes == ["bucket `Bucket.Arn`: every object (the whole bucket) (PutObject)"]
    assert role.label == "job agent task role"


def test_prefixes_wildcards_and_reads_versus_writes() -> None:
    stacks = _throwaway(
        [
            {
                "Effect": "Allow",
                "Action": ["s3:Get*", "s3:DeleteObject"],
                "Resource": _arn("Bucket", "/jobs/*"),
            },
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": {"Fn::GetAtt": ["Bucket", "Arn"]}},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": "dynamodb:Query",
                "Resource": "arn:aws:dynamodb:r:1:table/T/index/byUser",
            },
            {
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "arn:aws:secretsmanager:s",
            },
            {
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "arn:aws:kms:k",
                "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
            },
        ]
    )
    (role,) = environment_roles(stacks)
    reads, writes = reach(stacks, role)
    assert reads == [
        "bucket `Bucket.Arn`: list keys (ListBucket)",
        "bucket `Bucket.Arn`: objects under `jobs/` (GetObject, GetObjectAttributes, GetObjectVersion)",
        "table `arn:aws:dynamodb:r:1:table/T`, index `byUser` (Query)",
        "secret `arn:aws:secretsmanager:s` (GetSecretValue)",
        "key `arn:aws:kms:k`: decrypt via s3",
    ]
    assert writes == ["bucket `Bucket.Arn`: objects under `jobs/` (DeleteObject)"]


def test_file_systems_through_access_points_and_mounts() -> None:
    point = {"Fn::Join": ["", ["arn:aws:elasticfilesystem:r:1:access-point/", {"Ref": "Point"}]]}
    stacks = _throwaway(
        [
            {
                "Effect": "Allow",
                "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                "Resource": {"Fn::GetAtt": ["Files", "Arn"]},
                "Condition": {"StringEquals": {"elasticfilesystem:AccessPointArn": point}},
            },
            {
                "Effect": "Allow",
                "Action": "elasticfilesystem:ClientRootAccess",
                "Resource": {"Fn::GetAtt": ["Files", "Arn"]},
            },
        ]
    )
    (role,) = environment_roles(stacks)
    reads, writes = reach(stacks, role)
    through = "file system `Files.Arn` through access point `Files/Point` (root `/jobs/one`)"
    assert reads == [f"{through} (ClientMount)"]
    assert writes == [
        f"{through} (ClientWrite)",
        "file system `Files.Arn`, any path (no access point required by this policy) (ClientRootAccess)",
    ]
    (row,) = reach_rows(stacks)
    assert (
        "mounts `Files` through access point `Files/Point` (root `/jobs/one`) at `/work`, read-write"
        in row[1]
    )


def test_a_cross_stack_reference_reads_as_stack_and_resource() -> None:
    """Another stack's bucket, as CDK references it, reads ``Env-Store:Bucket.Arn``."""
    output = "PublishOutputFnGetAttBucket83908E77Arn063C8555"
    store = StackTemplate(
        "Env",
        "Env/Store",
        {
            "Resources": {"Bucket83908E77": _resource("AWS::S3::Bucket", "Bucket")},
            "Outputs": {output: {"Value": {"Fn::GetAtt": ["Bucket83908E77", "Arn"]}}},
        },
    )
    reference = {"Fn::GetStackOutput": {"StackName": "Env-Store", "OutputName": output}}
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": {"Fn::Join": ["", [reference, "/*"]]},
    }
    stacks = [*_throwaway([statement]), store]
    (role,) = environment_roles(stacks)
    assert reach(stacks, role) == (
        ["bucket `Env-Store:Bucket.Arn`: every object (the whole bucket) (GetObject)"],
        [],
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_credentials_say_who_holds_each_secret_for_how_long_and_what_it_reaches(
    written: dict[str, report.Review], report_dir: Path, env: str
) -> None:
    """Issue 21 item 6, as a reviewer reads it: every secret of the environment has a row; a
    provider key is held by its agent's credential proxy and execution role, never by an agent
    container; the GitHub App's key by the control plane alone; the agents hold only their
    dispatch's token file, which the control plane writes."""
    stacks = written[env].stacks
    rows = {row[0]: row for row in credential_rows(stacks, environment_roles(stacks))}
    secrets = [
        f"`{resource['Properties']['Name']}`"
        for s in stacks
        for _, resource in s.of_type("AWS::SecretsManager::Secret")
    ]
    assert sorted(k for k in rows if not k.startswith("file ")) == sorted(secrets)
    for agent, provider in AGENT_PROVIDERS.items():
        _, held, lives, reaches = rows[f"`outpost/{env}/{provider.name}-api-key`"]
        assert held.split("\n") == [
            f"`credential-proxy` container of `outpost-{env}-{agent}`, in its environment as "
            "`OUTPOST_PROVIDER_API_KEY`",
            f"{agent} agent execution role (GetSecretValue: ECS reads it to start a task)",
        ]
        assert "a dispatch's task, at most 3600 s" in lives
        assert lives.endswith("the value: until an operator replaces it (no rotation schedule)")
        assert reaches == provider.upstream
    _, held, _, reaches = rows[f"`outpost/{env}/github-app-private-key`"]
    assert held == "control plane task role (GetSecretValue: whenever it runs)"
    assert reaches.startswith("https://api.github.com (the `control-plane` container")
    _, held, lives, reaches = rows["file `/mnt/workspaces/.outpost/github-token`"]
    assert held.split("\n") == [f"`agent` container of `outpost-{env}-{agent}`" for agent in sorted(AGENTS)]
    assert lives.endswith(
        f"written per dispatch by the `control-plane` container of `outpost-{env}-control-plane`"
    )
    text = (report_dir / f"security-review-{env}.md").read_text()
    assert "| secret | held by | for how long | reaches |" in text


def test_credentials_follow_the_templates() -> None:
    """A throwaway stack: a secret injected into one container, read by another role, rotated."""
    stacks = _throwaway(
        [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": {"Ref": "Key"}}],
        Key=_resource("AWS::SecretsManager::Secret", "Key", Name="team/key"),
        Rotation=_resource(
            "AWS::SecretsManager::RotationSchedule",
            "Key/Rotation",
            SecretId={"Ref": "Key"},
            RotationRules={"AutomaticallyAfterDays": 30},
        ),
        Other=_resource(
            "AWS::ECS::TaskDefinition",
            "Other/TaskDefinition",
            Family="others",
            ContainerDefinitions=[
                {
                    "Name": "holder",
                    "Secrets": [{"Name": "KEY", "ValueFrom": {"Ref": "Key"}}],
                    "Environment": [{"Name": "UPSTREAM", "Value": "https://example.com"}],
                }
            ],
        ),
    )
    [row] = credential_rows(stacks, environment_roles(stacks))
    assert row == [
        "`team/key`",
        "`holder` container of `others`, in its environment as `KEY`\n"
        "job agent task role (GetSecretValue: whenever it runs)",
        "`holder` container of `others`: its task's life\nthe value: rotated every 30 days",
        "https://example.com",
    ]
