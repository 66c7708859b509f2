"""The DynamoDB tables of the control plane: dispatches, idempotency, workspaces, warm pool, API keys.

Their key schema is the contract with the control plane, kept in ``config/tables.py``.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms

from compliance.acknowledgements import acknowledge, in_packs
from config.names import pascal
from config.tables import TABLES, TTL_ATTRIBUTE
from constructs import Construct

# The packs that ask for an AWS Backup plan.
BACKUP_PACKS = ("HIPAA.Security", "NIST.800.53.R4", "NIST.800.53.R5")
BACKUP_REASON = (
    "Point-in-time recovery is on: any second of the last 35 days can be restored, a finer "
    "recovery point than a daily AWS Backup plan; in production the table is retained on stack "
    "deletion and has deletion protection."
)


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class DispatchTables(Construct):
    """``tables``: ``dispatches``, ``idempotency``, ``workspaces``, ``warm_pool``, ``api_keys``.

    On demand, point-in-time recovery, encrypted with ``encryption_key``; in production
    (``deletion_protection``) they refuse deletion and are retained with the stack.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        removal_policy: RemovalPolicy,
        deletion_protection: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.tables: dict[str, dynamodb.Table] = {}
        for spec in TABLES:
            table = dynamodb.Table(
                self,
                pascal(spec.name),
                partition_key=_string(spec.partition_key),
                sort_key=_string(spec.sort_key) if spec.sort_key else None,
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
                encryption_key=encryption_key,
                deletion_protection=deletion_protection,
                time_to_live_attribute=TTL_ATTRIBUTE if spec.ttl else None,
                removal_policy=removal_policy,
            )
            for index in spec.indexes:
                table.add_global_secondary_index(
                    index_name=index.name,
                    partition_key=_string(index.partition_key),
                    sort_key=_string(index.sort_key) if index.sort_key else None,
                    projection_type=(
                        dynamodb.ProjectionType.KEYS_ONLY if index.keys_only else dynamodb.ProjectionType.ALL
                    ),
                )
            acknowledge(table, BACKUP_REASON, *in_packs("DynamoDBInBackupPlan", BACKUP_PACKS))
            self.tables[spec.name] = table

    @property
    def dispatches(self) -> dynamodb.Table:
        return self.tables["dispatches"]
