"""What ECS tasks may do with the Data stack's resources: the IAM statements.

The Data stack owns the resources; the Service stack's tasks use them. ``DataAccess`` is the
bundle of L2 objects handed from one to the other (``stacks/exports.py: DataExports``), and
its methods build the exact statements each kind of task gets (added to the task's managed
policy by the caller).

Per-dispatch isolation (docs/data.md, "One dispatch cannot touch another's data"):

* Artifacts live under ``<dispatch_id>/`` of the artifacts bucket. Agent task roles hold no S3
  permission at all: the control plane hands each task a presigned POST policy limited to
  its dispatch's prefix (and presigned GETs for its inputs), signed with its own role, which
  reads, writes, lists and deletes the whole bucket.
* Workspaces: agent task definitions mount nothing. For each dispatch the control plane
  creates an access point rooted at that dispatch's workspace directory and registers a
  revision of the agent's dispatch family (``outpost-<env>-<agent>-dispatch``) that mounts
  it; agent task roles may mount through an access point only, never the shared
  ``/workspaces`` one, and the file-system policy refuses any mount without an access point.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_efs as efs
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager

from config.tables import TABLES
from constructs import IConstruct
from permissions.keys import key_through
from permissions.tasks import secret_read_statements

# The tag the control plane must put on every access point it creates
# (CreateAccessPoint ... --tags Key=outpost:file-system,Value=<file system id>): it may create
# access points only with it and delete only access points that carry it, so the shared
# /workspaces access point (made here, untagged) and other file systems' are out of reach.
ACCESS_POINT_TAG = "outpost:file-system"
# The dispatch an access point, a task-definition revision or a task belongs to: required on
# every one the control plane creates, and how the dispatch janitor finds stale ones.
DISPATCH_TAG = "outpost:dispatch"


def of_a_dispatch() -> dict[str, dict[str, str]]:
    """Condition: the resource carries the ``outpost:dispatch`` tag (the shared access point and
    the control plane's own tasks do not)."""
    return {"Null": {f"aws:ResourceTag/{DISPATCH_TAG}": "false"}}


# The slot an access point (or revision) of the leased-slot pool is (permissions/slot_pool.py):
# an access point that carries it is never deleted, whatever else it is tagged with.
SLOT_TAG = "outpost:slot"


def of_a_dispatch_not_a_slot() -> dict[str, dict[str, str]]:
    """Condition: tagged with a dispatch and not with a slot (what the delete statements allow)."""
    return {"Null": {f"aws:ResourceTag/{DISPATCH_TAG}": "false", f"aws:ResourceTag/{SLOT_TAG}": "true"}}


# What the control plane does with items: CRUD, conditional writes, batches, and the same
# inside TransactWriteItems / TransactGetItems (DynamoDB authorizes each item of a transaction
# as its own PutItem, UpdateItem, DeleteItem, GetItem or ConditionCheckItem: there is no
# separate transaction action). No Scan: every listing has a key or an index to query.
ITEM_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
)
DATA_KEY_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey")


@dataclass(frozen=True)
class DataAccess:
    """The Data stack's resources that tasks use (``DataExports.access``, ``stacks/exports.py``)."""

    key: kms.IKey  # encrypts the tables, artifacts, GitHub App key and workspaces
    tables: Mapping[str, dynamodb.ITable]
    artifacts: s3.IBucket
    event_bus: events.IEventBus
    file_system: efs.IFileSystem
    access_point: efs.IAccessPoint
    github_app_key: secretsmanager.ISecret  # read by the control plane only

    # --- the workspaces file system -------------------------------------------------------

    def mount_statement(self) -> iam.PolicyStatement:
        """Mount and write the file system, only through the shared ``/workspaces`` access point."""
        return iam.PolicyStatement(
            sid="MountWorkspaces",
            actions=["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
            resources=[self.file_system.file_system_arn],
            conditions={
                "StringEquals": {"elasticfilesystem:AccessPointArn": self.access_point.access_point_arn}
            },
        )

    def access_point_arns(self, scope: IConstruct) -> str:
        """Every access point of the account and region (their ARNs do not name the file system)."""
        return Stack.of(scope).format_arn(
            service="elasticfilesystem",
            resource="access-point",
            resource_name="*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    # --- the control plane ----------------------------------------------------------------

    def index_arns(self) -> list[str]:
        return [
            f"{self.tables[spec.name].table_arn}/index/{index.name}"
            for spec in TABLES
            for index in spec.indexes
        ]

    def control_plane_record_statements(self, scope: IConstruct) -> list[iam.PolicyStatement]:
        """Dispatch records and cost events: item CRUD and queries on the tables, the data key
        only through DynamoDB, PutEvents on the bus."""
        return [
            iam.PolicyStatement(
                sid="ReadWriteDispatchTables",
                actions=list(ITEM_ACTIONS),
                resources=[self.tables[spec.name].table_arn for spec in TABLES],
            ),
            iam.PolicyStatement(
                sid="QueryDispatchTableIndexes",
                actions=["dynamodb:Query"],
                resources=self.index_arns(),
            ),
            self.data_key_through("dynamodb", scope, sid="UseTheDataKeyThroughDynamoDb"),
            iam.PolicyStatement(
                sid="PutEvents",
                actions=["events:PutEvents"],
                resources=[self.event_bus.event_bus_arn],
            ),
        ]

    def control_plane_artifact_statements(self, scope: IConstruct) -> list[iam.PolicyStatement]:
        """List, read, write and delete any dispatch's artifacts; the data key only through S3."""
        return [
            iam.PolicyStatement(
                sid="ListArtifacts",
                actions=["s3:ListBucket"],
                resources=[self.artifacts.bucket_arn],
            ),
            iam.PolicyStatement(
                sid="ReadWriteDeleteArtifacts",
                actions=["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                resources=[self.artifacts.arn_for_objects("*")],
            ),
            self.data_key_through("s3", scope, sid="UseTheDataKeyThroughS3"),
        ]

    def control_plane_workspace_statements(self, scope: IConstruct) -> list[iam.PolicyStatement]:
        """Clone into workspaces and hand each dispatch its repository token: the GitHub App's
        private key; one access point per workspace; the mount."""
        file_system_arn = self.file_system.file_system_arn
        our_tag = {f"aws:RequestTag/{ACCESS_POINT_TAG}": self.file_system.file_system_id}
        for_a_dispatch = {"Null": {f"aws:RequestTag/{DISPATCH_TAG}": "false"}}
        return [
            *self.github_app_key_statements(Stack.of(scope).region),
            iam.PolicyStatement(
                sid="ListWorkspaceAccessPoints",
                actions=["elasticfilesystem:DescribeAccessPoints"],
                resources=[file_system_arn],
            ),
            iam.PolicyStatement(
                sid="CreateDispatchAccessPoints",
                actions=["elasticfilesystem:CreateAccessPoint"],
                resources=[file_system_arn],
                conditions={"StringEquals": our_tag, **for_a_dispatch},
            ),
            iam.PolicyStatement(
                sid="TagNewDispatchAccessPoints",
                actions=["elasticfilesystem:TagResource"],
                resources=[self.access_point_arns(scope)],
                conditions={
                    "StringEquals": {"elasticfilesystem:CreateAction": "CreateAccessPoint", **our_tag}
                },
            ),
            iam.PolicyStatement(
                sid="DeleteDispatchAccessPoints",
                actions=["elasticfilesystem:DeleteAccessPoint"],
                resources=[self.access_point_arns(scope)],
                conditions={
                    "StringEquals": {f"aws:ResourceTag/{ACCESS_POINT_TAG}": self.file_system.file_system_id},
                    **of_a_dispatch_not_a_slot(),
                },
            ),
            self.mount_statement(),
        ]

    def data_key_through(self, service: str, scope: IConstruct, *, sid: str) -> iam.PolicyStatement:
        """The data key, only when ``service`` calls KMS on the caller's behalf."""
        return key_through(self.key, service, scope=scope, sid=sid, actions=DATA_KEY_ACTIONS)

    def github_app_key_statements(self, region: str) -> list[iam.PolicyStatement]:
        """Read the GitHub App's private key: its value, and the data key only through Secrets
        Manager for it. The control plane's alone: agents get per-dispatch tokens."""
        return secret_read_statements(self.github_app_key, self.key, region=region, sid="GithubAppKey")

    # --- an agent -------------------------------------------------------------------------

    def agent_statements(self, scope: IConstruct) -> list[iam.PolicyStatement]:
        """An agent's task role: mount and write the file system through a dispatch's own access
        point (the one its task-definition revision names), never the shared ``/workspaces``
        one and never without an access point. No S3, no key: artifacts travel on presigned
        requests the control plane signs for the dispatch's prefix only.

        EFS evaluates ``elasticfilesystem:AccessPointArn`` on ClientMount, not the access
        point's tags, so which dispatch's access point a task mounts is fixed by its
        task-definition revision (registered by the control plane), not by this statement.
        """
        return [
            iam.PolicyStatement(
                sid="MountADispatchAccessPoint",
                actions=["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                resources=[self.file_system.file_system_arn],
                conditions={
                    "ArnLike": {"elasticfilesystem:AccessPointArn": self.access_point_arns(scope)},
                    "ArnNotEquals": {"elasticfilesystem:AccessPointArn": self.access_point.access_point_arn},
                },
            ),
        ]
