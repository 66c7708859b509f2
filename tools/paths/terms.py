"""The words of the path table: what a row is (``Caller``, ``Route``, ``Call``, ``Path``), who the
callers are, what a row expects, and the request contexts the services really send.

The rows are in ``*_paths.py`` beside this file, one module per kind of caller; ``table.py``
puts them in order (``PATHS``), which is the order of docs/paths.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

ALLOWED = "allowed"
REFUSED_BY_NETWORK = "refused by network"
REFUSED_BY_IAM = "refused by IAM"
# Refused before any policy of ours is asked: by the network (the firewall drops it), or by the
# policy of the VPC endpoint the route crosses (permissions/endpoints.py).
REFUSED_ON_THE_WAY = "refused by network or endpoint"

# Where a caller's network interfaces sit (``check.py: placement``).
IN_SERVICE = "service"  # an ECS service's awsvpc configuration (construct path of the service)
IN_FUNCTION = "function"  # a Lambda function's VPC configuration (construct path of the function)
IN_AGENT_SUBNETS = "agents"  # the group and subnets the control plane runs agent tasks with
OUTSIDE = "outside"  # not in the VPC: an AWS service, a GitHub-hosted runner


@dataclass(frozen=True)
class Caller:
    name: str
    role: str  # its IAM role: a construct path, or a ``{placeholder}`` of its ARN; "" for a principal
    placement: str
    where: str = ""  # construct path the placement is read from
    principal: str = ""  # an AWS service principal or a federated identity (then ``role`` is "")


@dataclass(frozen=True)
class Route:
    """``aws``: HTTPS to a regional AWS API (``target``: its endpoint name, ``ecs``, ``ecr.dkr``);
    ``nfs``: TCP 2049 to the workspaces file system's mount targets; ``port``: TCP ``port`` to
    another caller's interfaces (``target``: that caller); ``internet``: the host ``target`` on
    ``port`` through NAT (and the egress firewall's allow-list, where there is one);
    ``inbound``: from the internet to ``target``'s listener port (``{listener_port}``), through
    the egress firewall where there is one; ``loopback``: ``127.0.0.1:port`` inside the caller's
    own task (its credential proxy);
    ``managed``: HTTPS to an interface endpoint an AWS service makes in the VPC itself, so the
    templates do not hold it (``target``: its service, GuardDuty's ``guardduty-data``; its own
    group admits 443 from the VPC's range): the caller's groups must admit 443 to that range;
    ``dns``: the VPC's resolver asked for the name ``target`` (the query itself is what leaves:
    the DNS firewall must answer it); ``internet`` and ``aws`` names are looked up there first;
    ``none``: the call is made by an AWS service, off the VPC.
    ``host``: for ``aws``, the name called when it is not the service's own (another account's
    registry, ``{guardduty_agent_host}``)."""

    kind: str
    target: str = ""
    port: int = 443
    host: str = ""


# ``Call.signer`` of a URL an AWS service presigned for the caller (ECR's image layers in S3);
# ``aws:PrincipalAccount`` of such a request is the service's own account, not ours.
SIGNED_BY_AWS = "AWS"
AWS_SERVICE_ACCOUNT = "the service's own account"
# ``Call.signer`` of a request signed with another account's keys (an intruder's, brought in by
# a prompt) on that account's own resource: its policies allow it, only the route can refuse it.
SIGNED_BY_ANOTHER_ACCOUNT = "another account"
ANOTHER_ACCOUNT = "999999999999"
INTRUDER = f"arn:aws:iam::{ANOTHER_ACCOUNT}:user/intruder"


@dataclass(frozen=True)
class Call:
    """One IAM authorization: ``resource`` and context values may hold ``{placeholders}``.
    ``signer``: the caller whose credentials sign it, if not the row's caller (a presigned URL);
    ``SIGNED_BY_AWS``: a service signed it, so only the route's endpoint policy applies."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)
    signer: str = ""


@dataclass(frozen=True)
class Path:
    caller: str
    does: str
    route: Route
    calls: tuple[Call, ...]
    per_dispatch: str
    source: str
    expect: str = ALLOWED
    each: str = ""  # repeat the row: over every agent ("agent"), or a list ``names.py`` makes


AGENT = "{agent} agent"
AGENT_EXECUTION = "{agent} agent (execution role)"
PROXY = "{agent} credential proxy"
CONTROL_PLANE = "control plane"
CONTROL_PLANE_EXECUTION = "control plane (execution role)"
# GuardDuty's security agent: the sidecar GuardDuty adds to every Fargate task of the account
# when it manages the agent (audit.guardduty not off; docs/audit.md). It reports to GuardDuty.
GUARDDUTY_IN_AGENT = "GuardDuty agent in {agent} tasks"
GUARDDUTY_IN_CONTROL_PLANE = "GuardDuty agent in control-plane tasks"
CALLBACK = "task-state callback"
SWEEPER = "workspace sweeper"
JANITOR = "dispatch janitor"
COLLECTOR = "artifacts collector"
EVENTS = "EventBridge"
LOAD_BALANCER = "load balancer"
API_CLIENT = "API client"
ALARMS = "CloudWatch alarms"
BUDGETS = "AWS Budgets"
CLOUDTRAIL = "CloudTrail"
CLOUDTRAIL_LOGS = "CloudTrail (its logs role)"
CI_DEPLOY = "CI deploy role"
CI_DIFF = "CI diff role"
GITHUB = "GitHub Actions"

CALLBACK_FUNCTION = "TaskStateCallback/Function/Resource"
SWEEPER_FUNCTION = "WorkspaceSweeper/Function/Resource"
JANITOR_FUNCTION = "DispatchJanitor/Function/Resource"
COLLECTOR_FUNCTION = "ArtifactsCollector/Function/Resource"
PASSED_TO_TASKS = {"iam:PassedToService": "ecs-tasks.amazonaws.com"}

CALLERS: tuple[Caller, ...] = (
    Caller(CONTROL_PLANE, "{control_plane_task_role}", IN_SERVICE, "Service/ControlPlane/Service/Service"),
    Caller(
        CONTROL_PLANE_EXECUTION,
        "{control_plane_execution_role}",
        IN_SERVICE,
        "Service/ControlPlane/Service/Service",
    ),
    Caller(AGENT, "{agent_task_role}", IN_AGENT_SUBNETS),
    # The GuardDuty sidecar shares its task's network interface; it signs nothing with our roles.
    Caller(GUARDDUTY_IN_AGENT, "{agent_task_role}", IN_AGENT_SUBNETS),
    Caller(
        GUARDDUTY_IN_CONTROL_PLANE,
        "{control_plane_task_role}",
        IN_SERVICE,
        "Service/ControlPlane/Service/Service",
    ),
    Caller(AGENT_EXECUTION, "{agent_execution_role}", IN_AGENT_SUBNETS),
    # The proxy runs in the agent's task: the same task role, network interface and group.
    Caller(PROXY, "{agent_task_role}", IN_AGENT_SUBNETS),
    Caller(
        CALLBACK,
        "Data/TaskStateCallback/Role/Resource",
        IN_FUNCTION,
        "Data/TaskStateCallback/Function/Resource",
    ),
    Caller(
        SWEEPER, "Data/WorkspaceSweeper/Role/Resource", IN_FUNCTION, "Data/WorkspaceSweeper/Function/Resource"
    ),
    Caller(
        JANITOR,
        "Service/DispatchJanitor/Role/Resource",
        IN_FUNCTION,
        "Service/DispatchJanitor/Function/Resource",
    ),
    Caller(
        COLLECTOR,
        "Data/ArtifactsCollector/Role/Resource",
        IN_FUNCTION,
        "Data/ArtifactsCollector/Function/Resource",
    ),
    Caller(EVENTS, "", OUTSIDE, principal="events.amazonaws.com"),
    Caller(LOAD_BALANCER, "", IN_SERVICE, "Service/FrontDoor/LoadBalancer/Resource"),
    Caller(API_CLIENT, "", OUTSIDE, principal="a client on the internet (the MCP server)"),
    Caller(ALARMS, "", OUTSIDE, principal="cloudwatch.amazonaws.com"),
    Caller(BUDGETS, "", OUTSIDE, principal="budgets.amazonaws.com"),
    Caller(CLOUDTRAIL, "", OUTSIDE, principal="cloudtrail.amazonaws.com"),
    Caller(CLOUDTRAIL_LOGS, "{trail_logs_role}", OUTSIDE),
    Caller(CI_DEPLOY, "{delivery}/{Stage}Deploy/Role/Resource", OUTSIDE),
    Caller(CI_DIFF, "{delivery}/{Stage}Diff/Role/Resource", OUTSIDE),
    Caller(GITHUB, "", OUTSIDE, principal="{oidc_provider}"),
)

TLS = {"aws:SecureTransport": "true"}
VIA_SQS = {"kms:ViaService": "sqs.{region}.amazonaws.com"}
IN_CLUSTER = {"ecs:cluster": "{cluster}"}
A_DISPATCH_TASK = {**IN_CLUSTER, "aws:ResourceTag/outpost:dispatch": "{dispatch}"}
VIA_SECRETS = {
    "kms:ViaService": "secretsmanager.{region}.amazonaws.com",
    "kms:EncryptionContext:SecretARN": "{secret}",
}
MOUNT = {"elasticfilesystem:AccessedViaMountTarget": "true", **TLS}
NEW_ACCESS_POINT_TAGS = {
    "aws:RequestTag/outpost:file-system": "{file_system_id}",
    "aws:RequestTag/outpost:dispatch": "{dispatch}",
    "aws:RequestTag/outpost:created-at": "1764900000",
    "aws:TagKeys": "outpost:file-system,outpost:dispatch,outpost:created-at",
}
DISPATCH_AP_TAGS = {
    "aws:ResourceTag/outpost:file-system": "{file_system_id}",
    "aws:ResourceTag/outpost:dispatch": "{dispatch}",
}
DISPATCH_TAG = {"aws:RequestTag/outpost:dispatch": "{dispatch}", "aws:TagKeys": "outpost:dispatch"}
# What a dispatch revision's RegisterTaskDefinition carries: the base revision's sizes and
# compatibilities, no privileged container (Service Authorization Reference, Amazon ECS
# condition keys).
DISPATCH_REVISION = {
    **DISPATCH_TAG,
    "ecs:task-cpu": "{agent_task_cpu}",
    "ecs:task-memory": "{agent_task_memory}",
    "ecs:compute-compatibility": "{agent_compatibilities}",
    "ecs:privileged": "false",
}
# What the control plane's RunTask carries: no ECS Exec, no EBS volume.
DISPATCH_RUN = {
    **IN_CLUSTER,
    **DISPATCH_TAG,
    "ecs:enable-execute-command": "false",
    "ecs:enable-ebs-volumes": "false",
}


# Leased slots (docs/data.md): a slot's access point and revisions carry outpost:slot, never a
# dispatch's tag; a slot revision is a copy of the agent's base like a dispatch revision.
SLOT_AP_TAGS = {
    "aws:RequestTag/outpost:file-system": "{file_system_id}",
    "aws:RequestTag/outpost:slot": "{slot}",
    "aws:TagKeys": "outpost:file-system,outpost:slot",
}
SLOT_AP = {
    "aws:ResourceTag/outpost:file-system": "{file_system_id}",
    "aws:ResourceTag/outpost:slot": "{slot}",
    # A stale dispatch tag on a slot changes nothing: the slot tag keeps it out of every delete.
    "aws:ResourceTag/outpost:dispatch": "{dispatch}",
}
SLOT_TAG = {"aws:RequestTag/outpost:slot": "{slot}", "aws:TagKeys": "outpost:slot"}
SLOT_REVISION = {**DISPATCH_REVISION, **SLOT_TAG}
VIA_DYNAMODB = {"kms:ViaService": "dynamodb.{region}.amazonaws.com"}
VIA_S3 = {"kms:ViaService": "s3.{region}.amazonaws.com"}
# An intruder's own bucket, table and registry (another account's): where a hijacked agent
# would send the checkout with that account's keys.
ELSEWHERE = {"aws:ResourceAccount": ANOTHER_ACCOUNT}
ELSEWHERE_OBJECT = "arn:aws:s3:::intruder-drop/checkout.tar.gz"
ELSEWHERE_TABLE = f"arn:aws:dynamodb:{{region}}:{ANOTHER_ACCOUNT}:table/drop"
ELSEWHERE_REPOSITORY = f"arn:aws:ecr:{{region}}:{ANOTHER_ACCOUNT}:repository/drop"


def secret_read() -> tuple[Call, ...]:
    return (
        Call("secretsmanager:GetSecretValue", "{secret}", TLS),
        Call("kms:Decrypt", "{secret_key}", VIA_SECRETS),
    )
