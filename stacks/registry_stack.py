"""Registry stack: the seven image repositories of one environment (retained)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import ArnFormat, CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms

from config import IMAGES, EnvironmentConfig
from constructs import Construct
from constructs.image_repository import ImageRepository
from stacks.base import OutpostStack


@dataclass(frozen=True)
class RegistryExports:
    """What a stack that runs the images needs of the Registry: each repository, by its name.

    A consumer imports a repository by its configured name and the ARN that name makes, so its
    template holds plain strings, not a cross-stack reference: CDK would build an image URI by
    splitting the producer's ARN (``Fn::Split`` of ``Fn::GetStackOutput``), which
    CloudFormation does not accept (``Fn::GetStackOutput`` is documented in properties,
    outputs and ``Fn::Join``/``Fn::If``/``Fn::Select``/``Fn::Sub``/``Fn::Base64`` only). The
    consumer depends on the Registry stack explicitly instead (``stacks/stage.py``).
    """

    repository_names: Mapping[str, str]  # image -> repository name

    def repository(self, scope: Construct, image: str) -> ecr.IRepository:
        """The ``image`` repository under ``scope``, id ``<Image>Repository``."""
        name = self.repository_names[image]
        construct_id = "".join(part.capitalize() for part in image.split("-"))
        return ecr.Repository.from_repository_attributes(
            scope,
            f"{construct_id}Repository",
            repository_name=name,
            repository_arn=Stack.of(scope).format_arn(
                service="ecr",
                resource="repository",
                resource_name=name,
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            ),
        )


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
            construct_id = "".join(part.capitalize() for part in image.split("-"))
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
