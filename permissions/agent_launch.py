"""What launching agents takes in IAM: the control plane's statements, and the ARNs the dispatch
janitor shares with them.

Per dispatch the control plane reads its agent's base task definition, registers a revision
of the agent's dispatch family with that dispatch's workspace access point, runs it in the
cluster, watches and stops it, and then deregisters and deletes the revision. Each statement
names the exact families, cluster and roles. Two ECS actions have no resource-level
permission in the Service Authorization Reference and must name ``*``:
``DescribeTaskDefinition`` and ``DeregisterTaskDefinition`` (``RegisterTaskDefinition`` and
``DeleteTaskDefinitions`` take ``task-definition/<family>:*`` since 2025).

Every ECS condition key the Service Authorization Reference lists for these actions is used
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html):
``RegisterTaskDefinition`` -- ``ecs:privileged``, ``ecs:compute-compatibility``, ``ecs:task-cpu``,
``ecs:task-memory`` and the request tag; ``RunTask`` -- ``ecs:cluster``,
``ecs:enable-execute-command``, ``ecs:enable-ebs-volumes`` and ``ecs:capacity-provider``;
``StopTask``, ``DescribeTasks`` and ``ListTasks`` -- ``ecs:cluster``; ``TagResource`` --
``ecs:CreateAction``, so the control plane tags a task or a revision only in the call that
creates it and can never mark someone else's task ``outpost:dispatch`` (which makes the
dispatch janitor stop it). ``DescribeTaskDefinition``, ``DeregisterTaskDefinition`` and
``DeleteTaskDefinitions`` have no ECS condition key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs

from compliance.acknowledgements import acknowledge, wildcard_resource
from constructs import IConstruct
from permissions.data_access import DISPATCH_TAG
from permissions.tasks import ECS_TASKS


class LaunchedAgent(Protocol):
    """What launching an agent names (``constructs/agent_task.py: AgentTask`` has it)."""

    @property
    def family(self) -> str: ...
    @property
    def dispatch_family(self) -> str: ...
    @property
    def task_role(self) -> iam.IRole: ...
    @property
    def execution_role(self) -> iam.IRole: ...
    @property
    def log_group(self) -> logs.ILogGroup: ...
    @property
    def task_definition(self) -> ecs.FargateTaskDefinition: ...


def revisions(scope: IConstruct, families: Sequence[str]) -> list[str]:
    """``task-definition/<family>:*``: every revision of each family."""
    stack = Stack.of(scope)
    return [
        stack.format_arn(
            service="ecs",
            resource="task-definition",
            resource_name=f"{family}:*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        for family in families
    ]


def cluster_tasks(scope: IConstruct, cluster: ecs.ICluster) -> str:
    """``task/<cluster>/*``: the tasks of this cluster (their ids exist only at run time)."""
    return Stack.of(scope).format_arn(
        service="ecs",
        resource="task",
        resource_name=f"{cluster.cluster_name}/*",
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )


def in_cluster(cluster: ecs.ICluster) -> dict[str, dict[str, str]]:
    return {"ArnEquals": {"ecs:cluster": cluster.cluster_arn}}


def launch_statements(
    scope: IConstruct, *, cluster: ecs.ICluster, agents: Sequence[LaunchedAgent], capacity_provider: str
) -> list[iam.PolicyStatement]:
    """Launching, watching and stopping agent tasks, one dispatch revision each, and nothing more."""
    return [
        *_dispatch_revision_statements(
            revisions(scope, [agent.dispatch_family for agent in agents]), copy_bounds(agents)
        ),
        *_task_statements(scope, cluster, agents, capacity_provider),
    ]


def agent_role_statements(agents: Sequence[LaunchedAgent]) -> list[iam.PolicyStatement]:
    """Pass each agent task its two roles, and read what the agents log. Apart from
    :func:`launch_statements` because both name three ARNs per agent: together in one managed
    policy they grow it by about 660 characters an agent, and a sixth agent (or a long
    environment name) would pass IAM's 6,144."""
    return [
        iam.PolicyStatement(
            sid="PassAgentRoles",
            actions=["iam:PassRole"],
            resources=[
                arn for agent in agents for arn in (agent.task_role.role_arn, agent.execution_role.role_arn)
            ],
            conditions={"StringEquals": {"iam:PassedToService": ECS_TASKS}},
        ),
        iam.PolicyStatement(
            sid="ReadAgentLogs",
            actions=["logs:DescribeLogStreams", "logs:FilterLogEvents", "logs:GetLogEvents"],
            resources=[agent.log_group.log_group_arn for agent in agents],
        ),
    ]


def _largest_size(agents: Sequence[LaunchedAgent]) -> tuple[int, int]:
    """The largest CPU units and memory (MiB) of any agent's base definition."""
    return (
        max(int(agent.task_definition.cpu) for agent in agents),
        max(int(agent.task_definition.memory_mib) for agent in agents),
    )


def copy_bounds(agents: Sequence[LaunchedAgent]) -> dict[str, dict[str, Any]]:
    """RegisterTaskDefinition conditions of a copy of an agent's definition (a dispatch's or a
    slot's revision): see :func:`_dispatch_revision_statements`."""
    cpu, memory = _largest_size(agents)
    return {
        "StringEqualsIfExists": {"ecs:privileged": "false"},
        "ForAllValues:StringEquals": {"ecs:compute-compatibility": ["FARGATE"]},
        "NumericLessThanEquals": {"ecs:task-cpu": str(cpu), "ecs:task-memory": str(memory)},
    }


# RunTask conditions of every agent task: no ECS Exec session, no EBS volume (see _task_statements).
RUN_BOUNDS = {
    "StringEqualsIfExists": {"ecs:enable-execute-command": "false", "ecs:enable-ebs-volumes": "false"}
}


def _dispatch_revision_statements(
    dispatch_revisions: list[str], bounds: dict[str, dict[str, Any]]
) -> list[iam.PolicyStatement]:
    """Read a base definition; register, tag, retire and delete the dispatch families' revisions.

    A dispatch revision copies its agent's Fargate definition: no privileged container, Fargate
    only, and no larger than the largest agent (a stolen control-plane credential cannot register
    a privileged or oversized revision). A request that leaves ``privileged`` or
    ``requiresCompatibilities`` out has no such key, and Fargate refuses a privileged container
    anyway, so those two bound what is named (``IfExists``; ``ForAllValues`` over the
    multivalued compatibility key) and never deny a copy that omits them. Task-level CPU and
    memory are required for Fargate (Amazon ECS task definition parameters, "Task size":
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#task_size),
    so the size keys are always present and checked without ``IfExists``.
    """
    return [
        iam.PolicyStatement(
            sid="ReadBaseTaskDefinitions",
            actions=["ecs:DescribeTaskDefinition"],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="RegisterDispatchRevisions",
            actions=["ecs:RegisterTaskDefinition"],
            resources=dispatch_revisions,
            conditions={"Null": {f"aws:RequestTag/{DISPATCH_TAG}": "false"}, **bounds},
        ),
        iam.PolicyStatement(
            sid="TagDispatchRevisions",
            actions=["ecs:TagResource"],
            resources=dispatch_revisions,
            conditions={"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}},
        ),
        iam.PolicyStatement(
            sid="RetireDispatchRevisions",
            actions=["ecs:DeregisterTaskDefinition"],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="DeleteDispatchRevisions",
            actions=["ecs:DeleteTaskDefinitions"],
            resources=dispatch_revisions,
        ),
    ]


def _task_statements(
    scope: IConstruct, cluster: ecs.ICluster, agents: Sequence[LaunchedAgent], capacity_provider: str
) -> list[iam.PolicyStatement]:
    """Run the agents' definitions in the cluster; watch, stop, tag and list its tasks.

    RunTask: no ECS Exec session into an agent (``ecs:enable-execute-command``) and no EBS
    volume attached (``ecs:enable-ebs-volumes``); both keys are absent when the request leaves
    the feature off, hence ``IfExists``. The capacity provider is the configured one: a Deny,
    because the key holds each provider of the request's strategy and the reference types it
    as an ARN while Fargate's providers are named FARGATE and FARGATE_SPOT, so the Deny
    names both spellings and matches neither of them only for another provider.
    """
    tasks = cluster_tasks(scope, cluster)
    provider_arn = Stack.of(scope).format_arn(
        service="ecs",
        resource="capacity-provider",
        resource_name=capacity_provider,
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )
    return [
        iam.PolicyStatement(
            sid="RunAgentTasks",
            actions=["ecs:RunTask"],
            # A dispatch runs its own revision; the warm pool runs the base definitions.
            resources=[
                *revisions(scope, [agent.family for agent in agents]),
                *revisions(scope, [agent.dispatch_family for agent in agents]),
            ],
            conditions={**in_cluster(cluster), **RUN_BOUNDS},
        ),
        iam.PolicyStatement(
            sid="OnlyTheAgentCapacityProvider",
            effect=iam.Effect.DENY,
            actions=["ecs:RunTask"],
            resources=["*"],
            conditions={
                "ForAnyValue:StringNotLike": {"ecs:capacity-provider": [capacity_provider, provider_arn]}
            },
        ),
        iam.PolicyStatement(
            sid="WatchAndStopAgentTasks",
            actions=["ecs:DescribeTasks", "ecs:StopTask"],
            resources=[tasks],
            conditions=in_cluster(cluster),
        ),
        # Tags only in the RunTask that creates the task: never on a running task.
        iam.PolicyStatement(
            sid="TagAgentTasks",
            actions=["ecs:TagResource"],
            resources=[tasks],
            conditions={"StringEquals": {"ecs:CreateAction": "RunTask"}},
        ),
        iam.PolicyStatement(
            sid="ListClusterTasks",
            actions=["ecs:ListTasks"],
            resources=["*"],
            conditions=in_cluster(cluster),
        ),
    ]


def acknowledge_launch(
    policy: iam.ManagedPolicy, *, cluster: ecs.ICluster, agents: Sequence[LaunchedAgent]
) -> None:
    """The wildcards of :func:`launch_statements`, each with what bounds it."""
    acknowledge(
        policy,
        "Task definitions are named by family, any revision: the agents' base families and their "
        "dispatch families (registered per dispatch, so revisions exist only at run time); "
        "RegisterTaskDefinition requires the outpost:dispatch tag, RunTask only into this cluster "
        "(ecs:cluster), and pinning a revision would deny tasks across a rolling deploy.",
        *(
            wildcard_resource(policy, arn)
            for arn in revisions(policy, [a.family for a in agents] + [a.dispatch_family for a in agents])
        ),
    )
    acknowledge(
        policy,
        "StopTask, DescribeTasks and TagResource name only task ARNs of this cluster "
        "(task/<cluster>/*, plus the ecs:cluster condition where the action supports it); task "
        "ids exist only at run time.",
        wildcard_resource(policy, cluster_tasks(policy, cluster)),
    )
    acknowledge(
        policy,
        "ecs:ListTasks, DescribeTaskDefinition and DeregisterTaskDefinition have no resource-level "
        "permission and must name '*': ListTasks is held to this cluster (ecs:cluster) and returns "
        "ARNs only; DescribeTaskDefinition reads definitions, which hold no secret value; a "
        "deregistered revision keeps running tasks and services running, and only the dispatch "
        "families' revisions can be deleted (DeleteTaskDefinitions names them).",
        "AwsSolutions-IAM5[Resource::*]",
    )
