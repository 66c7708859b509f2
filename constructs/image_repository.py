"""One ECR repository for one image: immutable tags, scanned, encrypted, expiring."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms

from config.registry import RegistryConfig
from constructs import Construct


class ImageRepository(Construct):
    """``repository``: kept, with every image, when the stack is deleted or the repository
    replaced, in every kind: no image is lost by accident. It keeps its fixed name, so an
    environment created again after its stacks were destroyed adopts it
    (``registry.existing_repositories``, docs/rehearsal.md) rather than creating it.

    Exactly one lifecycle policy, with two rules: untagged images (failed or superseded
    pushes) expire after ``untagged_expiry_days``; of the tagged images the newest
    ``keep_tagged_images`` are kept.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        image: str,
        config: RegistryConfig,
        encryption_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.image = image
        self.repository = ecr.Repository(
            self,
            "Repository",
            repository_name=config.repository_name(image),
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            image_scan_on_push=True,
            encryption=ecr.RepositoryEncryption.KMS,
            encryption_key=encryption_key,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    rule_priority=1,
                    description=f"Expire untagged images after {config.untagged_expiry_days} days",
                    tag_status=ecr.TagStatus.UNTAGGED,
                    max_image_age=Duration.days(config.untagged_expiry_days),
                ),
                ecr.LifecycleRule(
                    rule_priority=2,
                    description=f"Keep the newest {config.keep_tagged_images} tagged images",
                    tag_status=ecr.TagStatus.TAGGED,
                    tag_pattern_list=["*"],
                    max_image_count=config.keep_tagged_images,
                ),
            ],
        )
