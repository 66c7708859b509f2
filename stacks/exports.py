"""What the stacks of an environment hand each other: small typed interfaces, never a stack.

A stack offers what its consumers need as one of these (``exports``), and takes the ones it
needs in its constructor; only ``stacks/stage.py``, which composes the stacks, holds them
whole. What the Monitoring stack watches is offered the same way, by each stack's
``watched`` (the types are the alarms' own: ``constructs/operations_alarms.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr

from config.names import pascal
from constructs import Construct
from constructs.network_policy import SecurityGroups
from constructs.provider_secrets import ProviderSecrets
from constructs.vpc_function import DeadLetters
from permissions.data_access import DataAccess


@dataclass(frozen=True)
class NetworkExports:
    """The Network stack's VPC, and every security group by who sits in it (their rules stay in
    the Network stack: ``constructs/network_policy.py``)."""

    vpc: ec2.IVpc
    groups: SecurityGroups


@dataclass(frozen=True)
class DataExports:
    """What the Service stack uses of the Data stack: the resources its tasks reach
    (``access``), the model providers' keys the agents read, and the dead-letter queue the
    dispatch janitor shares with the callback and the sweeper."""

    access: DataAccess
    provider_secrets: ProviderSecrets
    dead_letters: DeadLetters


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
        return ecr.Repository.from_repository_attributes(
            scope,
            f"{pascal(image)}Repository",
            repository_name=name,
            repository_arn=Stack.of(scope).format_arn(
                service="ecr",
                resource="repository",
                resource_name=name,
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            ),
        )
