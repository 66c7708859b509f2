"""What the leased-slot pool takes in IAM: the control plane's ``SlotPoolPolicy``.

docs/data.md, "Leased slots": the control plane grows a pool of slots ahead of demand (per slot
one EFS access point rooted at ``/workspaces/.slots/<n>`` and, per agent, one revision of
``outpost-<env>-<agent>-slot`` mounting it) and leases a slot per dispatch, so the dispatch path
registers and creates nothing (docs/capacity.md, "The rate budget"). The policy allows:

* ``RegisterTaskDefinition`` into the ``-slot`` families only with an ``outpost:slot`` request
  tag and within the bounds of a dispatch revision (no privileged container, Fargate only, no
  larger than the largest agent: ``permissions/agent_launch.py``), and tagging a revision only
  inside that call (``ecs:CreateAction``);
* ``RunTask`` of ``-slot`` revisions only in this cluster, only tagged ``outpost:dispatch`` (the
  dispatch janitor finds a lease's task by that tag), with no ECS Exec and no EBS volume, and
  on the configured capacity provider only (the launch policy's Deny covers every RunTask);
* ``CreateAccessPoint`` on the workspaces file system only tagged with its id
  (``outpost:file-system``) and ``outpost:slot`` (the tag itself is allowed by the workspaces
  policy's ``TagNewDispatchAccessPoints``, inside CreateAccessPoint only).

Nothing here deletes: no statement anywhere deletes a ``-slot`` revision (DeleteTaskDefinitions
names the dispatch families only) or an access point tagged ``outpost:slot`` (both delete
statements require the slot tag to be absent). Shrinking the pool is an operator's change
(docs/data.md). ``DeregisterTaskDefinition`` has no resource-level permission and is allowed on
``*`` for the dispatch families' sake, so a slot revision could be deregistered; the control
plane re-registers a slot whose revision is INACTIVE (a retired revision runs no new task).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam

from compliance.acknowledgements import acknowledge, wildcard_resource
from constructs import IConstruct
from permissions.agent_launch import RUN_BOUNDS, LaunchedAgent, copy_bounds, in_cluster, revisions
from permissions.data_access import ACCESS_POINT_TAG, DISPATCH_TAG, SLOT_TAG, DataAccess


class PooledAgent(LaunchedAgent, Protocol):
    """An agent with a slot family (``constructs/agent_task.py: AgentTask`` has it)."""

    @property
    def slot_family(self) -> str: ...


def slot_pool_statements(
    scope: IConstruct, *, cluster: ecs.ICluster, agents: Sequence[PooledAgent], data: DataAccess
) -> list[iam.PolicyStatement]:
    """Grow the pool (register slot revisions, create slot access points) and run slot revisions."""
    slot_revisions = revisions(scope, [agent.slot_family for agent in agents])
    return [
        iam.PolicyStatement(
            sid="RegisterSlotRevisions",
            actions=["ecs:RegisterTaskDefinition"],
            resources=slot_revisions,
            conditions={"Null": {f"aws:RequestTag/{SLOT_TAG}": "false"}, **copy_bounds(agents)},
        ),
        iam.PolicyStatement(
            sid="TagSlotRevisions",
            actions=["ecs:TagResource"],
            resources=slot_revisions,
            conditions={"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}},
        ),
        iam.PolicyStatement(
            sid="RunSlotTasks",
            actions=["ecs:RunTask"],
            resources=slot_revisions,
            conditions={
                **in_cluster(cluster),
                "Null": {f"aws:RequestTag/{DISPATCH_TAG}": "false"},
                **RUN_BOUNDS,
            },
        ),
        iam.PolicyStatement(
            sid="CreateSlotAccessPoints",
            actions=["elasticfilesystem:CreateAccessPoint"],
            resources=[data.file_system.file_system_arn],
            conditions={
                "StringEquals": {f"aws:RequestTag/{ACCESS_POINT_TAG}": data.file_system.file_system_id},
                "Null": {f"aws:RequestTag/{SLOT_TAG}": "false"},
            },
        ),
    ]


def acknowledge_slot_pool(policy: iam.ManagedPolicy, *, agents: Sequence[PooledAgent]) -> None:
    """The wildcards of :func:`slot_pool_statements`, with what bounds them."""
    acknowledge(
        policy,
        "Slot revisions are registered at run time as the pool grows, so they are named by family, "
        "any revision (task-definition/outpost-<env>-<agent>-slot:*): RegisterTaskDefinition "
        "requires the outpost:slot tag, TagResource is allowed only inside it (ecs:CreateAction), "
        "RunTask only into this cluster (ecs:cluster) with the outpost:dispatch tag; nothing may "
        "delete them.",
        *(wildcard_resource(policy, arn) for arn in revisions(policy, [a.slot_family for a in agents])),
    )
