"""Registry stack: the image repositories of one environment, retained in every kind.

An environment rebuilt after its stacks were destroyed finds its repositories still there (with
every image, under the same names): ``registry.existing_repositories`` lists the images whose
repository is referenced by name instead of created (docs/rehearsal.md).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms

from config import IMAGES, EnvironmentConfig
from config.names import pascal
from constructs import Construct
from constructs.image_repository import ImageRepository
from stacks.base import OutpostStack
from stacks.exports import RegistryExports


class RegistryStack(OutpostStack):
    """``repositories``: image name (``claude``, ``control-plane``, ...) -> repository;
    ``exports``: the same, by name, for the stacks that run the images."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description="ECR repositories of the base, agent and control-plane images",
            **kwargs,
        )
        self.key = kms.Key(
            self,
            "ImagesKey",
            description=f"Outpost {config.name}: encrypts the container images",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.exports = RegistryExports({image: config.registry.repository_name(image) for image in IMAGES})
        self.repositories: dict[str, ecr.IRepository] = {}
        for image in IMAGES:
            construct_id = pascal(image)
            repo: ecr.IRepository
            if image in config.registry.existing_repositories:
                # Adopted as it is: its lifecycle policy, scan setting and key stay as last deployed.
                repo = self.exports.repository(self, image)
            else:
                repo = ImageRepository(
                    self, construct_id, image=image, config=config.registry, encryption_key=self.key
                ).repository
            self.repositories[image] = repo
            CfnOutput(
                self,
                f"{construct_id}RepositoryUri",
                value=repo.repository_uri,
                description=f"Push the {image} image here (docker push <uri>:<immutable tag>)",
            )
