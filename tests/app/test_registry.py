"""Fine-grained assertions of the Registry stack: seven repositories, one policy each."""

from __future__ import annotations

import json
from typing import Any

import pytest

from config import IMAGES
from tests.environments import STAGES, is_production
from tests.synth import Synthesized
from tests.templates import settings


def repositories(synthesized: Synthesized, stage: str) -> dict[str, dict[str, Any]]:
    found = synthesized.resources(f"{stage}/Registry", "AWS::ECR::Repository")
    return {r["Properties"]["RepositoryName"]: r for r in found.values()}


@pytest.mark.parametrize("stage", STAGES)
def test_one_repository_per_image_with_stable_names(synthesized: Synthesized, stage: str) -> None:
    prefix = settings(stage)["registry"]["repository_prefix"]
    assert sorted(repositories(synthesized, stage)) == sorted(f"{prefix}/{image}" for image in IMAGES)
    # base, five agents, control plane, credential proxy (docs/credentials.md)
    assert len(IMAGES) == 8


@pytest.mark.parametrize("stage", STAGES)
def test_repositories_are_immutable_scanned_encrypted_and_retained_in_production(
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
        # Production keeps every image when the stack goes; a development environment is
        # destroyed and created again, and a kept repository keeps its fixed name ("already
        # exists" on the next create: make rehearse-recreate), so its images go with it.
        policy = "Retain" if is_production(stage) else "Delete"
        assert repo["DeletionPolicy"] == policy, name
        assert repo["UpdateReplacePolicy"] == policy, name
        assert props["EmptyOnDelete"] is not is_production(stage), name


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
