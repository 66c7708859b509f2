"""The workspaces file system: encryption, policy, mount targets, access point."""

from __future__ import annotations

import pytest

from tests.data_templates import DENY_MOUNTS_WITHOUT_AN_ACCESS_POINT, data
from tests.environments import STAGES
from tests.synth import Synthesized
from tests.templates import account, arn_of, data_key, ending, output_of, retained, settings


@pytest.mark.parametrize("stage", STAGES)
def test_workspaces_file_system(synthesized: Synthesized, stage: str) -> None:
    _, fs = ending(synthesized, f"{stage}/Data", "/Workspaces/FileSystem/Resource", "AWS::EFS::FileSystem")
    props = fs["Properties"]
    assert props["Encrypted"] is True
    assert props["KmsKeyId"] == arn_of(data_key(synthesized, stage))
    assert props["BackupPolicy"] == {"Status": "ENABLED"}
    assert props["ThroughputMode"] == "elastic"
    assert props["PerformanceMode"] == "generalPurpose"
    assert props["LifecyclePolicies"] == [
        {"TransitionToIA": f"AFTER_{data(stage)['efs_transition_to_ia_days']}_DAYS"},
        {"TransitionToPrimaryStorageClass": "AFTER_1_ACCESS"},
    ]
    assert fs["DeletionPolicy"] == retained(stage)


@pytest.mark.parametrize("stage", STAGES)
def test_file_system_policy_requires_tls_iam_and_an_access_point(
    synthesized: Synthesized, stage: str
) -> None:
    _, fs = ending(synthesized, f"{stage}/Data", "/Workspaces/FileSystem/Resource", "AWS::EFS::FileSystem")
    assert fs["Properties"]["FileSystemPolicy"]["Statement"] == [
        {
            "Sid": "DenyWithoutTls",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        DENY_MOUNTS_WITHOUT_AN_ACCESS_POINT,
        {
            "Sid": "AllowIamAuthorizedClientsOfThisAccount",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account(stage)}:root"},
            "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
            "Resource": "*",
            "Condition": {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}},
        },
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_mount_targets_in_every_private_subnet_behind_the_file_system_group(
    synthesized: Synthesized, stage: str
) -> None:
    fs_id, _ = ending(synthesized, f"{stage}/Data", "/Workspaces/FileSystem/Resource", "AWS::EFS::FileSystem")
    targets = [
        t["Properties"] for t in synthesized.resources(f"{stage}/Data", "AWS::EFS::MountTarget").values()
    ]
    zones = settings(stage)["network"]["availability_zones"]
    assert len(targets) == len(zones)
    assert {output_of(t["SubnetId"]).split("Subnet")[0] for t in targets} == {
        "PublishOutputRefNetworkVpcPrivate"
    }
    assert len({output_of(t["SubnetId"]) for t in targets}) == len(zones)
    for target in targets:
        assert target["FileSystemId"] == {"Ref": fs_id}
        [group] = target["SecurityGroups"]
        assert "NetworkPolicyFileSystem" in output_of(group)


@pytest.mark.parametrize("stage", STAGES)
def test_workspaces_access_point(synthesized: Synthesized, stage: str) -> None:
    fs_id, _ = ending(synthesized, f"{stage}/Data", "/Workspaces/FileSystem/Resource", "AWS::EFS::FileSystem")
    [access_point] = synthesized.resources(f"{stage}/Data", "AWS::EFS::AccessPoint").values()
    props = access_point["Properties"]
    assert props["FileSystemId"] == {"Ref": fs_id}
    assert props["PosixUser"] == {"Uid": "1000", "Gid": "1000"}
    assert props["RootDirectory"] == {
        "Path": "/workspaces",
        "CreationInfo": {"OwnerUid": "1000", "OwnerGid": "1000", "Permissions": "750"},
    }
