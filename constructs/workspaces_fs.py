"""The workspaces file system: EFS that each dispatch mounts at ``/mnt/workspaces`` through an
access point of its own (its workspace directory), and the control plane and the sweeper through
the shared ``/workspaces`` one."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_efs as efs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from compliance.acknowledgements import acknowledge
from constructs import Construct

# The agent image's user (base image: Ubuntu 24.04, uid 1000); every NFS operation through
# the access point runs as this user, whatever uid the client claims.
WORKSPACES_UID = "1000"
WORKSPACES_PATH = "/workspaces"
MOUNT_PATH = "/mnt/workspaces"

_LIFECYCLE = {
    1: efs.LifecyclePolicy.AFTER_1_DAY,
    7: efs.LifecyclePolicy.AFTER_7_DAYS,
    14: efs.LifecyclePolicy.AFTER_14_DAYS,
    30: efs.LifecyclePolicy.AFTER_30_DAYS,
    60: efs.LifecyclePolicy.AFTER_60_DAYS,
    90: efs.LifecyclePolicy.AFTER_90_DAYS,
    180: efs.LifecyclePolicy.AFTER_180_DAYS,
    270: efs.LifecyclePolicy.AFTER_270_DAYS,
    365: efs.LifecyclePolicy.AFTER_365_DAYS,
}


class WorkspacesFileSystem(Construct):
    """``file_system`` and its ``access_point`` (``/workspaces``, uid/gid 1000).

    Encrypted with ``encryption_key``, mount targets in the private subnets behind
    ``security_group`` (NFS from the control plane, the agents and the sweeper only:
    constructs/network_policy.py), elastic throughput, AWS Backup's daily automatic backups,
    files moved to Infrequent Access after ``transition_to_ia_days`` without access and back on
    the first access.
    The file-system policy refuses any connection without TLS and any client that does not
    authenticate with IAM (``mount -o tls,iam``): only principals of this account whose own
    policy allows ``elasticfilesystem:ClientMount`` may mount, and only through an access
    point (which fixes the directory and the POSIX identity; no client gets root access). The
    control plane creates one access point per dispatch at run time
    (``elasticfilesystem:CreateAccessPoint``), rooted at that dispatch's workspace directory.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        encryption_key: kms.IKey,
        transition_to_ia_days: int,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.file_system = efs.FileSystem(
            self,
            "FileSystem",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_group=security_group,
            encrypted=True,
            kms_key=encryption_key,
            enable_automatic_backups=True,
            performance_mode=efs.PerformanceMode.GENERAL_PURPOSE,
            throughput_mode=efs.ThroughputMode.ELASTIC,
            lifecycle_policy=_LIFECYCLE[transition_to_ia_days],
            out_of_infrequent_access_policy=efs.OutOfInfrequentAccessPolicy.AFTER_1_ACCESS,
            file_system_policy=_file_system_policy(),
            # True only stops CDK adding its own statement that grants write and root access to
            # ANY principal through a mount target; the policy above grants nothing to
            # anonymous (non-IAM) clients, so they cannot mount at all.
            allow_anonymous_access=True,
            removal_policy=removal_policy,
        )
        acknowledge(
            self.file_system,
            "Workspaces are backed up daily by AWS Backup's automatic backup plan for EFS (backup policy "
            "ENABLED, 35-day retention), which cdk-nag cannot see because that plan is created by EFS, "
            "not in this template.",
            "HIPAA.Security-EFSInBackupPlan",
            "NIST.800.53.R4-EFSInBackupPlan",
            "NIST.800.53.R5-EFSInBackupPlan",
        )
        self.access_point = self.file_system.add_access_point(
            "Workspaces",
            path=WORKSPACES_PATH,
            posix_user=efs.PosixUser(uid=WORKSPACES_UID, gid=WORKSPACES_UID),
            create_acl=efs.Acl(owner_uid=WORKSPACES_UID, owner_gid=WORKSPACES_UID, permissions="750"),
        )


def _file_system_policy() -> iam.PolicyDocument:
    """TLS only, an access point always, and only IAM-authorized clients of this account."""
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="DenyWithoutTls",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["*"],
                resources=["*"],
                conditions={"Bool": {"aws:SecureTransport": "false"}},
            ),
            # EFS evaluates elasticfilesystem:AccessPointArn on ClientMount ("Using IAM to
            # enforce use of access points", EFS user guide): absent, the client mounts the
            # file-system root, which no principal here needs.
            iam.PolicyStatement(
                sid="DenyMountsWithoutAnAccessPoint",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=[
                    "elasticfilesystem:ClientMount",
                    "elasticfilesystem:ClientWrite",
                    "elasticfilesystem:ClientRootAccess",
                ],
                resources=["*"],
                conditions={"Null": {"elasticfilesystem:AccessPointArn": "true"}},
            ),
            iam.PolicyStatement(
                sid="AllowIamAuthorizedClientsOfThisAccount",
                principals=[iam.AccountRootPrincipal()],
                actions=["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                resources=["*"],
                conditions={"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}},
            ),
        ]
    )
