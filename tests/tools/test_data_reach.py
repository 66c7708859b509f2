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

from tests.environments import ENVIRONMENTS, of_kind
from tools.review import report
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
