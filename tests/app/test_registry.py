"""Fine-grained assertions of the Registry stack: seven repositories, one policy each."""

from __future__ import annotations

import json
from typing import Any

import pytest

from config import IMAGES
from tests.environments import STAGES
from tests.synth import Synthesized
from tests.templates import settings


def repositories(synthesized: Synthesized, stage: str) -> dict[str, dict[str, Any]]:
    found = synthesized.resources(f"{stage}/Registry", "AWS::ECR::Repository")
    return {r["Properties"]["RepositoryName"]: r for r in found.values()}


@pytest.mark.parametrize("stage", STAGES)
def test_one_repository_per_image_with_stable_names(synthesized: Synthesized, stage: str) -> None:
    prefix = settings(stage)["registry"]["repository_prefix"]
    assert sorted(repositories(synthesized, stage)) == sorted(f"{prefix}/{image}" for image in IMAGES)
    assert len(IMAGES) == 7


@pytest.mark.parametrize("stage", STAGES)
def test_repositories_are_immutable_scanned_encrypted_and_retained(
    synthesized: Synthesized, stage: str
) -> None:
    keys = synthesized.resources(f"{stage}/Registry", "AWS::KMS::Key")
    [(key_id, key)] = keys.items()
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    for name, repo in repositories(synthesized, stage).items():
        props = repo["Properties"]
        assert props["ImageTagMutability"] == "IMMUTABLE", name
        assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}, name
        assert props["EncryptionConfiguration"] == {
            "EncryptionType": "KMS",
            "KmsKey": {"Fn::GetAtt": [key_id, "Arn"]},
        }, name
        assert repo["DeletionPolicy"] == "Retain", name
        assert repo["UpdateReplacePolicy"] == "Retain", name
        assert props["EmptyOnDelete"] is False, name


@pytest.mark.parametrize("stage", STAGES)
def test_exactly_one_lifecycle_policy_expires_untagged_and_caps_tagged(
    synthesized: Synthesized, stage: str
) -> None:
    wanted = settings(stage)["registry"]
    for name, repo in repositories(synthesized, stage).items():
        rules = json.loads(repo["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
        assert [r["selection"] for r in rules] == [
            {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countNumber": wanted["untagged_expiry_days"],
                "countUnit": "days",
            },
            {
                "tagStatus": "tagged",
                "tagPatternList": ["*"],
                "countType": "imageCountMoreThan",
                "countNumber": wanted["keep_tagged_images"],
            },
        ], name
        assert all(r["action"] == {"type": "expire"} for r in rules), name


@pytest.mark.parametrize("stage", STAGES)
def test_repository_uris_are_outputs_for_ci(synthesized: Synthesized, stage: str) -> None:
    outputs = synthesized.template(f"{stage}/Registry")["Outputs"]
    uris = [o for key, o in outputs.items() if key.endswith("RepositoryUri")]
    assert len(uris) == len(IMAGES)
