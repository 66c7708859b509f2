"""What every stack of an environment shares: its zones, its protection, its removal policy."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack

from config import EnvironmentConfig
from constructs import Construct


class OutpostStack(Stack):
    """A stack that knows its environment's settings.

    ``availability_zones`` answers from configuration, so nothing asks AWS for the zones
    of the account (synth stays offline); production stacks get termination protection.
    Every KMS key of the stack lets only AWS services create grants on it: its stage sees to
    that once the stacks are built (``compliance.kms_grants``, AWS Control Tower CT.KMS.PR.3).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        description: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"Outpost {config.name}: {description}",
            termination_protection=config.is_production,
            **kwargs,
        )
        self.config = config

    @property
    def availability_zones(self) -> list[str]:
        return list(self.config.network.availability_zones)

    @property
    def data_removal_policy(self) -> RemovalPolicy:
        """Kept on deletion in production; in development, deleted with the stack."""
        return RemovalPolicy.RETAIN if self.config.is_production else RemovalPolicy.DESTROY
