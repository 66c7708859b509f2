"""The control plane's task role: one managed policy per concern, and the wildcards each needs.

One policy for everything would pass IAM's 6,144-character limit of a managed policy once its
references are resolved; a role may hold 10. Add statements for new resources to the policy
they concern (a grant on the task role would create an inline policy, which the compliance
packs refuse).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam

from compliance.acknowledgements import acknowledge, acknowledge_wildcard_resource, wildcard_resource
from constructs import IConstruct
from permissions.agent_launch import acknowledge_launch, agent_role_statements, launch_statements
from permissions.data_access import DataAccess
from permissions.slot_pool import PooledAgent, acknowledge_slot_pool, slot_pool_statements

# The task role's managed policies (construct id -> what it allows), one per concern.
POLICIES = {
    "LaunchPolicy": "launch, watch and stop agent tasks",
    "AgentRolesPolicy": "pass agent tasks their roles, read their logs",
    "RecordsPolicy": "dispatch records in the tables, cost events on the bus",
    "ArtifactsPolicy": "list, read, write and delete artifacts",
    "WorkspacesPolicy": "the GitHub token, per-workspace access points, the workspaces mount",
    "SlotPoolPolicy": "grow the leased-slot pool (slot revisions and access points), run slot revisions",
}


def control_plane_statements(
    scope: IConstruct,
    *,
    cluster: ecs.ICluster,
    agents: Sequence[PooledAgent],
    data: DataAccess,
    capacity_provider: str,
) -> dict[str, list[iam.PolicyStatement]]:
    """The statements of each policy of ``POLICIES``; agents run on ``capacity_provider`` only."""
    return {
        "LaunchPolicy": launch_statements(
            scope, cluster=cluster, agents=agents, capacity_provider=capacity_provider
        ),
        "AgentRolesPolicy": agent_role_statements(agents),
        "RecordsPolicy": data.control_plane_record_statements(scope),
        "ArtifactsPolicy": data.control_plane_artifact_statements(scope),
        "WorkspacesPolicy": data.control_plane_workspace_statements(scope),
        "SlotPoolPolicy": slot_pool_statements(scope, cluster=cluster, agents=agents, data=data),
    }


def acknowledge_control_plane(
    policies: Mapping[str, iam.ManagedPolicy],
    *,
    cluster: ecs.ICluster,
    agents: Sequence[PooledAgent],
    data: DataAccess,
) -> None:
    """The wildcards of :func:`control_plane_statements`, each on its policy with what bounds it."""
    acknowledge_launch(policies["LaunchPolicy"], cluster=cluster, agents=agents)
    acknowledge_slot_pool(policies["SlotPoolPolicy"], agents=agents)
    acknowledge_wildcard_resource(
        policies["ArtifactsPolicy"],
        "Objects of the one artifacts bucket: the control plane serves and deletes any dispatch's "
        "artifacts, whose keys exist only at run time; no other bucket is named, objects are "
        "KMS-encrypted and versioned (and locked in production).",
        data.artifacts.arn_for_objects("*"),
    )
    workspaces = policies["WorkspacesPolicy"]
    acknowledge(
        workspaces,
        "Access-point ARNs do not name their file system and the access points are created at run "
        "time: TagResource is allowed only inside CreateAccessPoint and DeleteAccessPoint only on "
        "access points tagged with this workspaces file system's id (aws:ResourceTag).",
        wildcard_resource(workspaces, data.access_point_arns(workspaces)),
    )
