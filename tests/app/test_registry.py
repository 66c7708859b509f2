"""Fine-grained assertions of the Registry stack: seven repositories, one policy each."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from aws_cdk import App, Environment
from aws_cdk.assertions import Template

from config import IMAGES
from stacks.registry_stack import RegistryStack
from tests.environments import STAGES, config_of
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
def test_repositories_are_immutable_scanned_encrypted_and_retained_in_every_kind(
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
        # Images survive the stack's deletion and the repository's replacement in every kind
        # (DESIGN.md, Safety defaults); a rebuilt environment adopts them by name
        # (registry.existing_repositories, docs/rehearsal.md), so nothing is emptied.
        assert repo["DeletionPolicy"] == "Retain", name
        assert repo["UpdateReplacePolicy"] == "Retain", name
        assert "EmptyOnDelete" not in props, name


def adopting(stage: str, images: tuple[str, ...]) -> dict[str, Any]:
    """The Registry template of ``stage`` with ``registry.existing_repositories`` = ``images``:
    the stack alone in its own app (no other stack reads it by reference)."""
    config = config_of(stage)
    config = replace(config, registry=replace(config.registry, existing_repositories=images))
    stack = RegistryStack(
        App(), "Registry", config=config, env=Environment(account=config.account, region=config.region)
    )
    return dict(Template.from_stack(stack).to_json())


@pytest.mark.parametrize("stage", STAGES)
def test_existing_repositories_are_referenced_by_name_not_created(
    synthesized: Synthesized, stage: str
) -> None:
    """A rebuild adopts what the destroyed stack kept: the named repositories are not created
    (no "already exists"), the rest are, and every image's URI output stays for CI."""
    prefix = settings(stage)["registry"]["repository_prefix"]
    adopted = ("base", "claude", "control-plane")
    template = adopting(stage, adopted)
    created = {
        r["Properties"]["RepositoryName"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ECR::Repository"
    }
    assert created == {f"{prefix}/{image}" for image in IMAGES if image not in adopted}
    outputs = template["Outputs"]
    uris = {key: o for key, o in outputs.items() if key.endswith("RepositoryUri")}
    assert len(uris) == len(IMAGES)
    config = config_of(stage)
    assert outputs["ClaudeRepositoryUri"]["Value"] == {
        "Fn::Join": [
            "",
            [f"{config.account}.dkr.ecr.{config.region}.", {"Ref": "AWS::URLSuffix"}, f"/{prefix}/claude"],
        ]
    }
    # The stack still holds its (retained) key: what a repository created later is encrypted with.
    assert [r["Type"] for r in template["Resources"].values()].count("AWS::KMS::Key") == 1
    # Everything adopted: no repository resource at all.
    assert not [
        r for r in adopting(stage, IMAGES)["Resources"].values() if r["Type"] == "AWS::ECR::Repository"
    ]


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
