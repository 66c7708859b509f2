"""The declared runtime call paths: who calls what, over which route, with which permission.

Each ``Path`` is one caller's use of one AWS API (or network destination): the route its
packets take (``Route``), the IAM calls that must pass (``Call``, with the request context the
service really sends), how often per dispatch, and where in the code the call is made.
``make paths`` checks every row of every environment against the synthesized templates
(``tools/paths/check.py``); docs/paths.md is generated from this table.

Negative rows (``expect=REFUSED_BY_NETWORK`` / ``REFUSED_BY_IAM``) are paths a hijacked agent
would try: each must be refused by the named layer.

To extend it: a new caller is a ``Caller`` (its role's construct path and where its network
interfaces sit); a new call is a ``Path`` row. ``{name}`` placeholders are filled per
environment by ``tools/paths/names.py``; a row whose caller names ``{agent}`` is repeated for
every agent task definition the Service stack holds, and ``each=`` repeats a row over a list
the templates hold (an agent's secrets, its sidecars' too once it has some). An egress proxy
or firewall in front of the agents is a new ``Route`` kind (``check.py: network``).
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


def _secret_read() -> tuple[Call, ...]:
    return (
        Call("secretsmanager:GetSecretValue", "{secret}", TLS),
        Call("kms:Decrypt", "{secret_key}", VIA_SECRETS),
    )


CONTROL_PLANE_PATHS: tuple[Path, ...] = (
    Path(
        CONTROL_PLANE,
        "creates the dispatch's workspace access point, tagged",
        Route("aws", "elasticfilesystem"),
        (
            Call("elasticfilesystem:CreateAccessPoint", "{file_system}", NEW_ACCESS_POINT_TAGS),
            Call(
                "elasticfilesystem:TagResource",
                "{dispatch_access_point}",
                {"elasticfilesystem:CreateAction": "CreateAccessPoint", **NEW_ACCESS_POINT_TAGS},
            ),
        ),
        "1",
        "docs/data.md, dispatch lifecycle step 1",
    ),
    Path(
        CONTROL_PLANE,
        "registers the dispatch's task-definition revision and passes the agent's roles",
        Route("aws", "ecs"),
        (
            Call("ecs:DescribeTaskDefinition", "{agent_base_revision}"),
            Call("ecs:RegisterTaskDefinition", "{dispatch_revision}", DISPATCH_REVISION),
            Call(
                "ecs:TagResource",
                "{dispatch_revision}",
                {"ecs:CreateAction": "RegisterTaskDefinition", **DISPATCH_TAG},
            ),
            Call("iam:PassRole", "{agent_task_role}", PASSED_TO_TASKS),
            Call("iam:PassRole", "{agent_execution_role}", PASSED_TO_TASKS),
        ),
        "1 each",
        "docs/data.md, dispatch lifecycle step 2",
        each="agent",
    ),
    Path(
        CONTROL_PLANE,
        "runs the dispatch's task in the cluster, tagged",
        Route("aws", "ecs"),
        (
            Call("ecs:RunTask", "{dispatch_revision}", DISPATCH_RUN),
            Call("ecs:TagResource", "{dispatch_task}", {"ecs:CreateAction": "RunTask", **DISPATCH_TAG}),
        ),
        "1",
        "docs/data.md, dispatch lifecycle step 3",
        each="agent",
    ),
    Path(
        CONTROL_PLANE,
        "watches, lists and stops (cancel, timeout) dispatch tasks",
        Route("aws", "ecs"),
        (
            Call("ecs:DescribeTasks", "{dispatch_task}", A_DISPATCH_TASK),
            Call("ecs:ListTasks", "{cluster_container_instances}", IN_CLUSTER),
            Call("ecs:StopTask", "{dispatch_task}", A_DISPATCH_TASK),
        ),
        "1 per status poll; 0-1 stop",
        "reference facts: RunTask/StopTask/DescribeTasks/ListTasks",
    ),
    Path(
        CONTROL_PLANE,
        "retires and deletes the dispatch's revision",
        Route("aws", "ecs"),
        (
            Call("ecs:DeregisterTaskDefinition", "{dispatch_revision}"),
            Call("ecs:DeleteTaskDefinitions", "{dispatch_revision}"),
        ),
        "1 each",
        "docs/data.md, dispatch lifecycle step 5",
        each="agent",
    ),
    Path(
        CONTROL_PLANE,
        "deletes the dispatch's access point",
        Route("aws", "elasticfilesystem"),
        (Call("elasticfilesystem:DeleteAccessPoint", "{dispatch_access_point}", DISPATCH_AP_TAGS),),
        "1",
        "docs/data.md, dispatch lifecycle step 5",
    ),
    Path(
        CONTROL_PLANE,
        "grows the slot pool: a slot's access point, tagged outpost:slot",
        Route("aws", "elasticfilesystem"),
        (
            Call("elasticfilesystem:CreateAccessPoint", "{file_system}", SLOT_AP_TAGS),
            Call(
                "elasticfilesystem:TagResource",
                "{slot_access_point}",
                {"elasticfilesystem:CreateAction": "CreateAccessPoint", **SLOT_AP_TAGS},
            ),
        ),
        "0 (pool growth, paced)",
        "docs/data.md, leased slots step 1",
    ),
    Path(
        CONTROL_PLANE,
        "grows the slot pool: a slot's revision, tagged outpost:slot",
        Route("aws", "ecs"),
        (
            Call("ecs:RegisterTaskDefinition", "{slot_revision}", SLOT_REVISION),
            Call(
                "ecs:TagResource",
                "{slot_revision}",
                {"ecs:CreateAction": "RegisterTaskDefinition", **SLOT_TAG},
            ),
            Call("iam:PassRole", "{agent_task_role}", PASSED_TO_TASKS),
            Call("iam:PassRole", "{agent_execution_role}", PASSED_TO_TASKS),
        ),
        "0 (pool growth, paced)",
        "docs/data.md, leased slots step 1",
        each="agent",
    ),
    Path(
        CONTROL_PLANE,
        "runs a leased slot's revision for the dispatch, tagged",
        Route("aws", "ecs"),
        (
            Call("ecs:RunTask", "{slot_revision}", DISPATCH_RUN),
            Call("ecs:TagResource", "{dispatch_task}", {"ecs:CreateAction": "RunTask", **DISPATCH_TAG}),
        ),
        "1",
        "docs/data.md, leased slots step 2",
        each="agent",
    ),
    Path(
        CONTROL_PLANE,
        "writes and returns slot leases",
        Route("aws", "dynamodb"),
        (
            Call("dynamodb:PutItem", "{slot_leases_table}", TLS),
            Call("dynamodb:DeleteItem", "{slot_leases_table}", TLS),
            Call("dynamodb:Query", "{slot_leases_by_state}", TLS),
            Call("kms:GenerateDataKey", "{data_key}", VIA_DYNAMODB),
            Call("kms:Decrypt", "{data_key}", VIA_DYNAMODB),
        ),
        "1 / (1 - utilization) lease writes, 1 delete",
        "docs/data.md, leased slots steps 2-3",
    ),
    Path(
        CONTROL_PLANE,
        "deletes a slot's access point",
        Route("aws", "elasticfilesystem"),
        (Call("elasticfilesystem:DeleteAccessPoint", "{slot_access_point}", SLOT_AP),),
        "never",
        "permissions/slot_pool.py: nothing deletes a slot",
        expect=REFUSED_BY_IAM,
    ),
    Path(
        CONTROL_PLANE,
        "deletes a slot's revision",
        Route("aws", "ecs"),
        (Call("ecs:DeleteTaskDefinitions", "{slot_revision}"),),
        "never",
        "permissions/slot_pool.py: nothing deletes a slot",
        expect=REFUSED_BY_IAM,
        each="agent",
    ),
    Path(
        CONTROL_PLANE,
        "registers a slot revision without the outpost:slot tag",
        Route("aws", "ecs"),
        (Call("ecs:RegisterTaskDefinition", "{slot_revision}", DISPATCH_REVISION),),
        "never",
        "permissions/slot_pool.py: RegisterSlotRevisions requires the tag",
        expect=REFUSED_BY_IAM,
        each="agent",
    ),
    Path(
        CONTROL_PLANE,
        "records the dispatch in its tables",
        Route("aws", "dynamodb"),
        (
            Call("dynamodb:PutItem", "{dispatches_table}", TLS),
            Call("dynamodb:UpdateItem", "{dispatches_table}", TLS),
            Call("dynamodb:Query", "{dispatches_by_status}", TLS),
            Call("kms:GenerateDataKey", "{data_key}", VIA_DYNAMODB),
            Call("kms:Decrypt", "{data_key}", VIA_DYNAMODB),
        ),
        "about 4 writes, 1 per status read",
        "reference facts: DynamoDB CRUD on its tables",
    ),
    Path(
        CONTROL_PLANE,
        "checks API keys and idempotency keys",
        Route("aws", "dynamodb"),
        (
            Call("dynamodb:Query", "{api_keys_by_hash}", TLS),
            Call("dynamodb:PutItem", "{idempotency_table}", TLS),
        ),
        "1 per request",
        "reference facts: api keys, idempotency tables",
    ),
    Path(
        CONTROL_PLANE,
        "lists and serves a dispatch's artifacts",
        Route("aws", "s3"),
        (
            Call("s3:ListBucket", "{artifacts_bucket}", TLS),
            Call("s3:GetObject", "{artifact_object}", TLS),
            Call("kms:Decrypt", "{data_key}", VIA_S3),
        ),
        "1 per artifacts request",
        "reference facts: S3 get/list on artifacts",
    ),
    Path(
        CONTROL_PLANE,
        "puts the cost event on the bus",
        Route("aws", "events"),
        (Call("events:PutEvents", "{event_bus}", TLS),),
        "1",
        "reference facts: EventBridge PutEvents",
    ),
    Path(
        CONTROL_PLANE,
        "reads the GitHub App's private key to mint the dispatch's repository token",
        Route("aws", "secretsmanager"),
        _secret_read(),
        "1",
        "constructs/github_token.py, docs/credentials.md",
        each="github_app_key",
    ),
    Path(
        CONTROL_PLANE,
        "mints (and revokes) the dispatch's installation token at the GitHub API",
        Route("internet", "{github_api_host}", 443),
        (),
        "2",
        "constructs/github_token.py: OUTPOST_GITHUB_API_URL",
    ),
    Path(
        CONTROL_PLANE,
        "streams the agent's logs",
        Route("aws", "logs"),
        (
            Call("logs:DescribeLogStreams", "{agent_log_group}"),
            Call("logs:GetLogEvents", "{agent_log_group}"),
        ),
        "1 per log poll",
        "reference facts: CloudWatch Logs reads of agent logs",
        each="agent",
    ),
    Path(
        CONTROL_PLANE,
        "mounts the shared /workspaces access point",
        Route("nfs"),
        (
            Call(
                "elasticfilesystem:ClientMount",
                "{file_system}",
                {"elasticfilesystem:AccessPointArn": "{shared_access_point}", **MOUNT},
            ),
            Call(
                "elasticfilesystem:ClientWrite",
                "{file_system}",
                {"elasticfilesystem:AccessPointArn": "{shared_access_point}", **MOUNT},
            ),
        ),
        "0 (mounted at task start)",
        "Service/ControlPlane task definition volume",
    ),
    Path(
        CONTROL_PLANE_EXECUTION,
        "logs in to the registry",
        Route("aws", "ecr.api"),
        (Call("ecr:GetAuthorizationToken", "*"),),
        "0 (per task start)",
        "Fargate image pull, execution role",
    ),
    Path(
        CONTROL_PLANE_EXECUTION,
        "downloads the control-plane image layers (ECR's S3 URLs)",
        Route("aws", "s3"),
        (Call("s3:GetObject", "{ecr_layers}", TLS, signer=SIGNED_BY_AWS),),
        "0 (per task start)",
        "Fargate image pull: layers come from S3",
    ),
    Path(
        CONTROL_PLANE_EXECUTION,
        "pulls the control-plane image's manifest and layer locations",
        Route("aws", "ecr.dkr"),
        (
            Call("ecr:BatchGetImage", "{control_plane_repository}"),
            Call("ecr:GetDownloadUrlForLayer", "{control_plane_repository}"),
        ),
        "0 (per task start)",
        "Fargate, execution role",
    ),
    Path(
        CONTROL_PLANE_EXECUTION,
        "pulls GuardDuty's security agent image (the sidecar GuardDuty adds to the task)",
        Route("aws", "ecr.dkr", host="{guardduty_agent_host}"),
        (
            Call("ecr:BatchGetImage", "{guardduty_agent_repository}"),
            Call("ecr:GetDownloadUrlForLayer", "{guardduty_agent_repository}"),
        ),
        "0 (per task start)",
        "GuardDuty automated agent management; config/guardduty.py, permissions/tasks.py",
        each="guardduty_agent",
    ),
    Path(
        GUARDDUTY_IN_CONTROL_PLANE,
        "sends runtime events to GuardDuty (its guardduty-data endpoint)",
        Route("managed", "guardduty-data"),
        (),
        "continuous",
        "GuardDuty's own VPC endpoint and security group (docs/audit.md)",
        each="guardduty_agent",
    ),
    Path(
        CONTROL_PLANE_EXECUTION,
        "writes the control plane's logs",
        Route("aws", "logs"),
        (
            Call("logs:CreateLogStream", "{control_plane_log_stream}"),
            Call("logs:PutLogEvents", "{control_plane_log_stream}"),
        ),
        "continuous",
        "awslogs driver, execution role",
    ),
    Path(
        API_CLIENT,
        "reaches the load balancer's listener",
        Route("inbound", LOAD_BALANCER),
        (),
        "1 per request",
        "docs/egress.md: the firewall's inbound rule, then the group and WAF",
        each="listener",
    ),
    Path(
        LOAD_BALANCER,
        "forwards API requests to the control plane's port",
        Route("port", CONTROL_PLANE, 3000),
        (),
        "1 per request",
        "Service/FrontDoor target group",
    ),
)

AGENT_PATHS: tuple[Path, ...] = (
    Path(
        AGENT_EXECUTION,
        "logs in to the registry",
        Route("aws", "ecr.api"),
        (Call("ecr:GetAuthorizationToken", "*"),),
        "1",
        "Fargate image pull, execution role",
    ),
    Path(
        AGENT_EXECUTION,
        "pulls its image's manifest and layer locations",
        Route("aws", "ecr.dkr"),
        (
            Call("ecr:BatchGetImage", "{agent_repository}"),
            Call("ecr:GetDownloadUrlForLayer", "{agent_repository}"),
        ),
        "1 + 1 per layer",
        "Fargate image pull, execution role",
    ),
    Path(
        AGENT_EXECUTION,
        "pulls its credential proxy's image manifest and layer locations",
        Route("aws", "ecr.dkr"),
        (
            Call("ecr:BatchGetImage", "{proxy_repository}"),
            Call("ecr:GetDownloadUrlForLayer", "{proxy_repository}"),
        ),
        "1 + 1 per layer",
        "constructs/agent_task.py: the proxy container's image",
    ),
    Path(
        AGENT_EXECUTION,
        "downloads its image layers (ECR's S3 URLs)",
        Route("aws", "s3"),
        (Call("s3:GetObject", "{ecr_layers}", TLS, signer=SIGNED_BY_AWS),),
        "1 per layer",
        "Fargate image pull: layers come from S3",
    ),
    Path(
        AGENT_EXECUTION,
        "pulls GuardDuty's security agent image (the sidecar GuardDuty adds to the task)",
        Route("aws", "ecr.dkr", host="{guardduty_agent_host}"),
        (
            Call("ecr:BatchGetImage", "{guardduty_agent_repository}"),
            Call("ecr:GetDownloadUrlForLayer", "{guardduty_agent_repository}"),
        ),
        "1 + 1 per layer",
        "GuardDuty automated agent management; config/guardduty.py, permissions/tasks.py",
        each="guardduty_agent",
    ),
    Path(
        AGENT_EXECUTION,
        "downloads GuardDuty's agent image layers (ECR's S3 URLs)",
        Route("aws", "s3"),
        (Call("s3:GetObject", "{ecr_layers}", TLS, signer=SIGNED_BY_AWS),),
        "1 per layer",
        "Fargate image pull: layers come from S3",
        each="guardduty_agent",
    ),
    Path(
        GUARDDUTY_IN_AGENT,
        "sends runtime events to GuardDuty (its guardduty-data endpoint)",
        Route("managed", "guardduty-data"),
        (),
        "continuous",
        "GuardDuty's own VPC endpoint and security group (docs/audit.md)",
        each="guardduty_agent",
    ),
    Path(
        AGENT_EXECUTION,
        "reads its provider key for the credential proxy's container (its only secret)",
        Route("aws", "secretsmanager"),
        _secret_read(),
        "1",
        "constructs/agent_task.py: the proxy's ECS secret, execution role",
        each="proxy_secret",
    ),
    Path(
        AGENT_EXECUTION,
        "writes its logs",
        Route("aws", "logs"),
        (
            Call("logs:CreateLogStream", "{agent_log_stream}"),
            Call("logs:PutLogEvents", "{agent_log_stream}"),
        ),
        "1 + continuous",
        "awslogs driver, execution role",
    ),
    Path(
        AGENT,
        "mounts its dispatch's workspace access point",
        Route("nfs"),
        (
            Call(
                "elasticfilesystem:ClientMount",
                "{file_system}",
                {"elasticfilesystem:AccessPointArn": "{dispatch_access_point}", **MOUNT},
            ),
            Call(
                "elasticfilesystem:ClientWrite",
                "{file_system}",
                {"elasticfilesystem:AccessPointArn": "{dispatch_access_point}", **MOUNT},
            ),
        ),
        "1",
        "docs/data.md: the dispatch revision's volume",
    ),
    Path(
        AGENT,
        "uploads artifacts on the control plane's presigned POST",
        Route("aws", "s3"),
        (
            Call("s3:PutObject", "{artifact_object}", TLS, signer=CONTROL_PLANE),
            Call(
                "kms:GenerateDataKey",
                "{data_key}",
                VIA_S3,
                signer=CONTROL_PLANE,
            ),
        ),
        "1 per artifact",
        "docs/data.md: artifacts, presigned requests",
    ),
    Path(
        AGENT,
        "calls its model provider through its credential proxy",
        Route("loopback", port=8787),
        (),
        "many",
        "constructs/agent_task.py: the CLI's base URL is the proxy",
    ),
    Path(
        PROXY,
        "forwards to its model provider, with the key",
        Route("internet", "{provider_host}", 443),
        (),
        "many",
        "constructs/provider_secrets.py: the proxy's upstream",
    ),
    Path(
        AGENT,
        "clones and pushes with the dispatch's token",
        Route("internet", "github.com", 443),
        (),
        "a few",
        "docs/credentials.md: the per-dispatch GitHub token",
    ),
    Path(
        AGENT,
        "calls the GitHub API (opens the pull request)",
        Route("internet", "{github_api_host}", 443),
        (),
        "a few",
        "docs/credentials.md: the per-dispatch GitHub token",
    ),
    Path(
        AGENT,
        "installs packages from npm",
        Route("internet", "registry.npmjs.org", 443),
        (),
        "some",
        "DESIGN.md: package registries",
    ),
    Path(
        AGENT,
        "installs packages from PyPI",
        Route("internet", "files.pythonhosted.org", 443),
        (),
        "some",
        "DESIGN.md: package registries",
    ),
    # --- what a hijacked agent tries: each must be refused -----------------------------
    Path(
        AGENT,
        "sends the checkout to a host off the allow-list",
        Route("internet", "exfil.example.net", 443),
        (),
        "never",
        "docs/egress.md: everything else is dropped and logged",
        expect=REFUSED_BY_NETWORK,
    ),
    Path(
        AGENT,
        "calls the platform's own API from inside (the load balancer's name)",
        Route("internet", "{load_balancer_host}", 443),
        (),
        "never",
        "docs/egress.md: the API's name is not on the list; it holds no API key either",
        expect=REFUSED_BY_NETWORK,
    ),
    Path(
        AGENT,
        "connects to an IP address (no name to match)",
        Route("internet", "203.0.113.7", 443),
        (),
        "never",
        "docs/egress.md: an IP literal is dropped",
        expect=REFUSED_BY_NETWORK,
    ),
    Path(
        AGENT,
        "uploads the checkout to another account's bucket with that account's keys",
        Route("aws", "s3"),
        (Call("s3:PutObject", ELSEWHERE_OBJECT, {**TLS, **ELSEWHERE}, signer=SIGNED_BY_ANOTHER_ACCOUNT),),
        "never",
        "permissions/endpoints.py: the S3 gateway endpoint takes this account's principals only",
        expect=REFUSED_ON_THE_WAY,
    ),
    Path(
        AGENT,
        "writes the checkout to another account's table with that account's keys",
        Route("aws", "dynamodb"),
        (Call("dynamodb:PutItem", ELSEWHERE_TABLE, TLS, signer=SIGNED_BY_ANOTHER_ACCOUNT),),
        "never",
        "permissions/endpoints.py: the DynamoDB gateway endpoint takes this account's principals only",
        expect=REFUSED_ON_THE_WAY,
    ),
    Path(
        AGENT,
        "pushes the checkout as an image to another account's registry with its keys",
        Route("aws", "ecr.dkr", host=f"{ANOTHER_ACCOUNT}.dkr.ecr.{{region}}.amazonaws.com"),
        (Call("ecr:InitiateLayerUpload", ELSEWHERE_REPOSITORY, signer=SIGNED_BY_ANOTHER_ACCOUNT),),
        "never",
        "permissions/endpoints.py (the ecr.dkr endpoint, where there is one); else docs/egress.md: "
        "the firewall names this account's registry only",
        expect=REFUSED_ON_THE_WAY,
    ),
    Path(
        AGENT,
        "finds or launches another dispatch's access point (the ids it would need)",
        Route("aws", "elasticfilesystem"),
        (
            Call("elasticfilesystem:DescribeAccessPoints", "{file_system}"),
            Call("ecs:RegisterTaskDefinition", "{dispatch_revision}", DISPATCH_TAG),
            Call("ecs:RunTask", "{dispatch_revision}", {**IN_CLUSTER, **DISPATCH_TAG}),
            Call("iam:PassRole", "{agent_task_role}", PASSED_TO_TASKS),
        ),
        "never",
        "docs/data.md: one dispatch cannot touch another's data",
        expect=REFUSED_BY_IAM,
    ),
    Path(
        AGENT,
        "mounts the shared /workspaces access point (every workspace)",
        Route("nfs"),
        (
            Call(
                "elasticfilesystem:ClientMount",
                "{file_system}",
                {"elasticfilesystem:AccessPointArn": "{shared_access_point}", **MOUNT},
            ),
        ),
        "never",
        "permissions/data_access.py: agent_statements",
        expect=REFUSED_BY_IAM,
    ),
    Path(
        AGENT,
        "mounts the file system's root without an access point",
        Route("nfs"),
        (Call("elasticfilesystem:ClientMount", "{file_system}", MOUNT),),
        "never",
        "Data/Workspaces file-system policy",
        expect=REFUSED_BY_IAM,
    ),
    Path(
        AGENT,
        "connects to the control plane's port",
        Route("port", CONTROL_PLANE, 3000),
        (),
        "never",
        "DESIGN.md: agents -> control plane: nothing",
        expect=REFUSED_BY_NETWORK,
    ),
    Path(
        AGENT,
        "reads another agent's secret",
        Route("aws", "secretsmanager"),
        _secret_read(),
        "never",
        "constructs/provider_secrets.py",
        expect=REFUSED_BY_IAM,
        each="other_agent_secret",
    ),
    Path(
        AGENT_EXECUTION,
        "reads another agent's secret",
        Route("aws", "secretsmanager"),
        _secret_read(),
        "never",
        "constructs/provider_secrets.py",
        expect=REFUSED_BY_IAM,
        each="other_agent_secret",
    ),
    Path(
        AGENT,
        "reads its own provider key with the task role (the proxy's, not the agent's)",
        Route("aws", "secretsmanager"),
        _secret_read(),
        "never",
        "docs/credentials.md: the key only in the proxy's container",
        expect=REFUSED_BY_IAM,
        each="proxy_secret",
    ),
    Path(
        AGENT,
        "reads the GitHub App's private key",
        Route("aws", "secretsmanager"),
        _secret_read(),
        "never",
        "constructs/github_token.py: only the control plane reads it",
        expect=REFUSED_BY_IAM,
        each="github_app_key",
    ),
    Path(
        AGENT_EXECUTION,
        "reads the GitHub App's private key",
        Route("aws", "secretsmanager"),
        _secret_read(),
        "never",
        "constructs/github_token.py: only the control plane reads it",
        expect=REFUSED_BY_IAM,
        each="github_app_key",
    ),
    Path(
        AGENT,
        "reads or writes the artifacts bucket with its own role",
        Route("aws", "s3"),
        (
            Call("s3:ListBucket", "{artifacts_bucket}", TLS),
            Call("s3:GetObject", "{other_artifact_object}", TLS),
            Call("s3:PutObject", "{other_artifact_object}", TLS),
        ),
        "never",
        "docs/data.md: no S3 permission in the agent",
        expect=REFUSED_BY_IAM,
    ),
    Path(
        AGENT,
        "reads the dispatch records",
        Route("aws", "dynamodb"),
        (
            Call("dynamodb:GetItem", "{dispatches_table}", TLS),
            Call("dynamodb:Query", "{api_keys_by_hash}", TLS),
        ),
        "never",
        "docs/data.md",
        expect=REFUSED_BY_IAM,
    ),
)

FUNCTION_PATHS: tuple[Path, ...] = (
    Path(
        EVENTS,
        "invokes the task-state callback when a task stops",
        Route("none"),
        (
            Call(
                "lambda:InvokeFunction",
                "{callback_function}",
                {"aws:SourceArn": "{task_stopped_rule}", "aws:SourceAccount": "{account}"},
            ),
        ),
        "1",
        "Data/TaskStateCallback/TaskStopped rule",
    ),
    Path(
        CALLBACK,
        "finds the dispatch of the stopped task and finishes it",
        Route("aws", "dynamodb"),
        (
            Call("dynamodb:Query", "{dispatches_by_task_arn}", TLS),
            Call("dynamodb:UpdateItem", "{dispatches_table}", TLS),
            Call("kms:Decrypt", "{data_key}", VIA_DYNAMODB),
            Call("kms:GenerateDataKey", "{data_key}", VIA_DYNAMODB),
        ),
        "1 each",
        "lambdas/task_state/handler.py: find_dispatches, mark_finished",
    ),
    Path(
        EVENTS,
        "dead-letters an event it could not deliver",
        Route("none"),
        (
            Call(
                "sqs:SendMessage",
                "{dead_letters}",
                {"aws:SourceArn": "{task_stopped_rule}", "aws:SourceAccount": "{account}", **TLS},
            ),
            Call("kms:GenerateDataKey", "{dead_letter_key}", VIA_SQS),
        ),
        "rare",
        "Data/TaskStateCallback/TaskStopped rule dead-letter config",
    ),
    Path(
        EVENTS,
        "starts the daily workspace sweep",
        Route("none"),
        (
            Call(
                "lambda:InvokeFunction",
                "{sweeper_function}",
                {"aws:SourceArn": "{sweep_rule}", "aws:SourceAccount": "{account}"},
            ),
        ),
        "0 (daily)",
        "Data/WorkspaceSweeper/Daily rule",
    ),
    Path(
        SWEEPER,
        "mounts the shared /workspaces access point and deletes expired workspaces",
        Route("nfs"),
        (
            Call(
                "elasticfilesystem:ClientMount",
                "{file_system}",
                {"elasticfilesystem:AccessPointArn": "{shared_access_point}", **MOUNT},
            ),
            Call(
                "elasticfilesystem:ClientWrite",
                "{file_system}",
                {"elasticfilesystem:AccessPointArn": "{shared_access_point}", **MOUNT},
            ),
        ),
        "0 (daily)",
        "lambdas/workspace_sweeper/handler.py: sweep",
    ),
    Path(
        EVENTS,
        "starts the dispatch janitor",
        Route("none"),
        (
            Call(
                "lambda:InvokeFunction",
                "{janitor_function}",
                {"aws:SourceArn": "{janitor_rule}", "aws:SourceAccount": "{account}"},
            ),
        ),
        "0 (every interval)",
        "Service/DispatchJanitor/Schedule rule",
    ),
    Path(
        JANITOR,
        "lists and describes the cluster's tasks",
        Route("aws", "ecs"),
        (
            Call("ecs:ListTasks", "{cluster_container_instances}", IN_CLUSTER),
            Call("ecs:DescribeTasks", "{dispatch_task}", A_DISPATCH_TASK),
        ),
        "0 (1 + 1 per 100 tasks per run)",
        "lambdas/dispatch_janitor/handler.py: read_tasks",
    ),
    Path(
        JANITOR,
        "stops an overdue dispatch task",
        Route("aws", "ecs"),
        (Call("ecs:StopTask", "{dispatch_task}", A_DISPATCH_TASK),),
        "0 (1 per overdue task)",
        "lambdas/dispatch_janitor/handler.py: _stop",
    ),
    Path(
        JANITOR,
        "finds, retires and deletes stale dispatch revisions",
        Route("aws", "ecs"),
        (
            Call("ecs:ListTaskDefinitions", "*"),
            Call("ecs:DescribeTaskDefinition", "{dispatch_revision}"),
            Call("ecs:DeregisterTaskDefinition", "{dispatch_revision}"),
            Call("ecs:DeleteTaskDefinitions", "{dispatch_revision}"),
        ),
        "0 (2 lists per family per run)",
        "lambdas/dispatch_janitor/handler.py: clean_revisions",
        each="agent",
    ),
    Path(
        JANITOR,
        "finds and deletes stale access points",
        Route("aws", "elasticfilesystem"),
        (
            Call("elasticfilesystem:DescribeAccessPoints", "{file_system}"),
            Call("elasticfilesystem:DeleteAccessPoint", "{dispatch_access_point}", DISPATCH_AP_TAGS),
        ),
        "0 (1 list per run)",
        "lambdas/dispatch_janitor/handler.py: clean_access_points",
    ),
    Path(
        JANITOR,
        "releases the slot leases of dispatches that stopped",
        Route("aws", "dynamodb"),
        (
            Call("dynamodb:Query", "{slot_leases_by_state}", TLS),
            Call("dynamodb:UpdateItem", "{slot_leases_table}", TLS),
            Call("kms:GenerateDataKey", "{data_key}", VIA_DYNAMODB),
            Call("kms:Decrypt", "{data_key}", VIA_DYNAMODB),
        ),
        "0 (1 query per run, 1 update per stale lease)",
        "lambdas/dispatch_janitor/handler.py: release_leases",
    ),
    Path(
        JANITOR,
        "deletes a slot's access point",
        Route("aws", "elasticfilesystem"),
        (Call("elasticfilesystem:DeleteAccessPoint", "{slot_access_point}", SLOT_AP),),
        "never",
        "DeleteStaleAccessPoints requires the outpost:slot tag to be absent",
        expect=REFUSED_BY_IAM,
    ),
    Path(
        JANITOR,
        "creates or deletes a slot lease",
        Route("aws", "dynamodb"),
        (
            Call("dynamodb:PutItem", "{slot_leases_table}", TLS),
            Call("dynamodb:DeleteItem", "{slot_leases_table}", TLS),
        ),
        "never",
        "the janitor only releases (UpdateItem); leases are the control plane's",
        expect=REFUSED_BY_IAM,
    ),
    Path(
        EVENTS,
        "invokes the artifacts collector when a task stops",
        Route("none"),
        (
            Call(
                "lambda:InvokeFunction",
                "{collector_function}",
                {"aws:SourceArn": "{task_stopped_rule}", "aws:SourceAccount": "{account}"},
            ),
        ),
        "1",
        "Data/TaskStateCallback/TaskStopped rule, second target",
    ),
    Path(
        COLLECTOR,
        "finds the stopped task's dispatch and its workspace",
        Route("aws", "dynamodb"),
        (
            Call("dynamodb:Query", "{dispatches_by_task_arn}", TLS),
            Call("dynamodb:GetItem", "{dispatches_table}", TLS),
            Call("kms:Decrypt", "{data_key}", VIA_DYNAMODB),
        ),
        "1 each",
        "lambdas/artifacts_collector/handler.py",
    ),
    Path(
        COLLECTOR,
        "mounts the shared /workspaces access point, reads the outbox, deletes what it uploaded",
        Route("nfs"),
        (
            Call(
                "elasticfilesystem:ClientMount",
                "{file_system}",
                {"elasticfilesystem:AccessPointArn": "{shared_access_point}", **MOUNT},
            ),
            Call(
                "elasticfilesystem:ClientWrite",
                "{file_system}",
                {"elasticfilesystem:AccessPointArn": "{shared_access_point}", **MOUNT},
            ),
        ),
        "1",
        "constructs/artifacts_collector.py: MountTheWorkspacesAccessPointToCollect",
    ),
    Path(
        COLLECTOR,
        "puts the outbox's files under the dispatch's prefix of the artifacts bucket",
        Route("aws", "s3"),
        (
            Call("s3:PutObject", "{artifact_object}", TLS),
            Call("kms:GenerateDataKey", "{data_key}", VIA_S3),
        ),
        "1 per file",
        "lambdas/artifacts_collector/handler.py: put_object",
    ),
    Path(
        COLLECTOR,
        "reads a secret (the GitHub App key, a provider key)",
        Route("aws", "secretsmanager"),
        _secret_read(),
        "never",
        "constructs/artifacts_collector.py: no secret permission",
        expect=REFUSED_BY_IAM,
        each="every_secret",
    ),
    Path(
        COLLECTOR,
        "reads or lists the artifacts bucket (it may only put)",
        Route("aws", "s3"),
        (
            Call("s3:ListBucket", "{artifacts_bucket}", TLS),
            Call("s3:GetObject", "{other_artifact_object}", TLS),
            Call("s3:DeleteObject", "{other_artifact_object}", TLS),
        ),
        "never",
        "constructs/artifacts_collector.py: UploadArtifacts",
        expect=REFUSED_BY_IAM,
    ),
    Path(
        JANITOR,
        "stops a task that is not a dispatch's (the control plane's own)",
        Route("aws", "ecs"),
        (Call("ecs:StopTask", "{service_task}", IN_CLUSTER),),
        "never",
        "permissions: StopOverdueDispatchTasks requires the dispatch tag",
        expect=REFUSED_BY_IAM,
    ),
    Path(
        JANITOR,
        "deletes the shared /workspaces access point",
        Route("aws", "elasticfilesystem"),
        (Call("elasticfilesystem:DeleteAccessPoint", "{shared_access_point}"),),
        "never",
        "the shared access point carries no dispatch tag",
        expect=REFUSED_BY_IAM,
    ),
    Path(
        CONTROL_PLANE,
        "tags a running task outpost:dispatch outside RunTask (the janitor would stop it)",
        Route("aws", "ecs"),
        (Call("ecs:TagResource", "{service_task}", DISPATCH_TAG),),
        "never",
        "permissions/control_plane.py: TagAgentTasks only with ecs:CreateAction RunTask",
        expect=REFUSED_BY_IAM,
    ),
    Path(
        CONTROL_PLANE,
        "registers a privileged dispatch revision",
        Route("aws", "ecs"),
        (
            Call(
                "ecs:RegisterTaskDefinition",
                "{dispatch_revision}",
                {**DISPATCH_REVISION, "ecs:privileged": "true"},
            ),
        ),
        "never",
        "permissions/agent_launch.py: ecs:privileged",
        expect=REFUSED_BY_IAM,
        each="agent",
    ),
    Path(
        CONTROL_PLANE,
        "runs a dispatch task with ECS Exec on",
        Route("aws", "ecs"),
        (Call("ecs:RunTask", "{dispatch_revision}", {**DISPATCH_RUN, "ecs:enable-execute-command": "true"}),),
        "never",
        "permissions/agent_launch.py: ecs:enable-execute-command",
        expect=REFUSED_BY_IAM,
        each="agent",
    ),
    Path(
        CONTROL_PLANE,
        "deletes the shared /workspaces access point",
        Route("aws", "elasticfilesystem"),
        (Call("elasticfilesystem:DeleteAccessPoint", "{shared_access_point}"),),
        "never",
        "the shared access point carries no dispatch tag",
        expect=REFUSED_BY_IAM,
    ),
)


def _run_by_lambda(caller: str, prefix: str) -> tuple[Path, ...]:
    """What the Lambda service does with the function's role: its logs, its dead letters."""
    return (
        Path(
            caller,
            "writes its logs (the Lambda service, with the function's role)",
            Route("none"),
            (
                Call("logs:CreateLogStream", f"{{{prefix}_log_stream}}"),
                Call("logs:PutLogEvents", f"{{{prefix}_log_stream}}"),
            ),
            "per invocation",
            "the function's LoggingConfig",
        ),
        Path(
            caller,
            "dead-letters a failed invocation (the Lambda service, with the function's role)",
            Route("none"),
            (
                Call("sqs:SendMessage", f"{{{prefix}_dead_letters}}", TLS),
                Call("kms:GenerateDataKey", f"{{{prefix}_dead_letter_key}}", VIA_SQS),
                Call("kms:Decrypt", f"{{{prefix}_dead_letter_key}}", VIA_SQS),
            ),
            "rare",
            "the function's DeadLetterConfig",
        ),
    )


AUDIT_AND_ALARM_PATHS: tuple[Path, ...] = (
    Path(
        ALARMS,
        "notifies the on-call topic when an alarm changes state",
        Route("none"),
        (
            Call(
                "sns:Publish",
                "{alarm_topic}",
                {"aws:SourceArn": "{alarm}", "aws:SourceAccount": "{account}", **TLS},
            ),
            Call("kms:GenerateDataKey", "{alarm_topic_key}", {"aws:SourceAccount": "{account}"}),
            Call("kms:Decrypt", "{alarm_topic_key}", {"aws:SourceAccount": "{account}"}),
        ),
        "0 (per state change)",
        "the alarm's AlarmActions (each alarm)",
        each="alarm",
    ),
    Path(
        EVENTS,
        "publishes a GuardDuty finding to the security topic",
        Route("none"),
        (
            Call(
                "sns:Publish",
                "{topic}",
                {"aws:SourceArn": "{rule}", "aws:SourceAccount": "{account}", **TLS},
            ),
            Call("kms:GenerateDataKey", "{topic_key}", {"aws:SourceAccount": "{account}"}),
            Call("kms:Decrypt", "{topic_key}", {"aws:SourceAccount": "{account}"}),
        ),
        "0 (per finding)",
        "Audit/GuardDutyFindings rule (where GuardDuty is on)",
        each="guardduty_rule",
    ),
    Path(
        BUDGETS,
        "notifies the topic when a budget threshold is crossed",
        Route("none"),
        (
            Call(
                "sns:Publish",
                "{topic}",
                {"aws:SourceArn": "{budget}", "aws:SourceAccount": "{account}", **TLS},
            ),
            Call("kms:GenerateDataKey", "{topic_key}", {"aws:SourceAccount": "{account}"}),
            Call("kms:Decrypt", "{topic_key}", {"aws:SourceAccount": "{account}"}),
        ),
        "0 (per threshold)",
        "Alerts/Budget",
        each="budget",
    ),
    Path(
        CLOUDTRAIL,
        "delivers log files to the audit bucket, encrypted with the audit key",
        Route("none"),
        (
            Call(
                "s3:GetBucketAcl",
                "{trail_bucket}",
                {"aws:SourceArn": "{trail}", "aws:SourceAccount": "{account}"},
            ),
            Call(
                "s3:PutObject",
                "{trail_object}",
                {
                    "aws:SourceArn": "{trail}",
                    "aws:SourceAccount": "{account}",
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    **TLS,
                },
            ),
            Call(
                "kms:GenerateDataKey",
                "{trail_key}",
                {"aws:SourceArn": "{trail}", "kms:EncryptionContext:aws:cloudtrail:arn": "{trail}"},
            ),
        ),
        "0 (every few minutes)",
        "Audit/AuditTrail",
    ),
    Path(
        CLOUDTRAIL_LOGS,
        "sends events to the trail's log group",
        Route("none"),
        (
            Call("logs:CreateLogStream", "{trail_log_stream}"),
            Call("logs:PutLogEvents", "{trail_log_stream}"),
        ),
        "0 (continuous)",
        "Audit/AuditTrail CloudWatchLogsRoleArn",
    ),
)

LAMBDA_SERVICE_PATHS: tuple[Path, ...] = (
    *_run_by_lambda(CALLBACK, "callback"),
    *_run_by_lambda(SWEEPER, "sweeper"),
    *_run_by_lambda(JANITOR, "janitor"),
    *_run_by_lambda(COLLECTOR, "collector"),
)

CI_PATHS: tuple[Path, ...] = (
    Path(
        GITHUB,
        "a job in the environment's GitHub environment gets the deploy role",
        Route("none"),
        (
            Call(
                "sts:AssumeRoleWithWebIdentity",
                "{ci_deploy_role}",
                {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": "{environment_subject}",
                },
            ),
        ),
        "0 (per deploy)",
        "constructs/github_oidc.py",
    ),
    Path(
        CI_DEPLOY,
        "assumes the CDK bootstrap roles to deploy",
        Route("none"),
        (
            Call("sts:AssumeRole", "{bootstrap_deploy_role}"),
            Call("sts:AssumeRole", "{bootstrap_file_publishing_role}"),
        ),
        "0 (per deploy)",
        "constructs/github_oidc.py",
    ),
    Path(
        GITHUB,
        "a pull request's job gets the diff role",
        Route("none"),
        (
            Call(
                "sts:AssumeRoleWithWebIdentity",
                "{ci_diff_role}",
                {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": "{pull_request_subject}",
                },
            ),
        ),
        "0 (per pull request)",
        "constructs/github_oidc.py",
    ),
    Path(
        CI_DIFF,
        "reads its environment's own stacks and templates to diff",
        Route("none"),
        (
            Call("cloudformation:DescribeStacks", "{own_stack}"),
            Call("cloudformation:GetTemplate", "{own_stack}"),
        ),
        "0 (per pull request)",
        "constructs/github_oidc.py, docs/pull-request-diffs.md",
    ),
    Path(
        CI_DIFF,
        "assumes the CDK lookup role (ReadOnlyAccess: logs, task definitions, function code)",
        Route("none"),
        (Call("sts:AssumeRole", "{bootstrap_lookup_role}"),),
        "never",
        "docs/pull-request-diffs.md: a pull request runs its own code",
        expect=REFUSED_BY_IAM,
    ),
    Path(
        CI_DIFF,
        "reads a stack that is not its environment's (the bootstrap stack)",
        Route("none"),
        (Call("cloudformation:GetTemplate", "{bootstrap_stack}"),),
        "never",
        "constructs/github_oidc.py: <Stage>-* stacks only",
        expect=REFUSED_BY_IAM,
    ),
    Path(
        GITHUB,
        "a pull request's job gets the deploy role",
        Route("none"),
        (
            Call(
                "sts:AssumeRoleWithWebIdentity",
                "{ci_deploy_role}",
                {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": "{pull_request_subject}",
                },
            ),
        ),
        "never",
        "constructs/github_oidc.py",
        expect=REFUSED_BY_IAM,
    ),
    Path(
        CI_DIFF,
        "assumes the CDK deploy role",
        Route("none"),
        (Call("sts:AssumeRole", "{bootstrap_deploy_role}"),),
        "never",
        "constructs/github_oidc.py",
        expect=REFUSED_BY_IAM,
    ),
)

PATHS: tuple[Path, ...] = (
    CONTROL_PLANE_PATHS
    + AGENT_PATHS
    + FUNCTION_PATHS
    + LAMBDA_SERVICE_PATHS
    + AUDIT_AND_ALARM_PATHS
    + CI_PATHS
)
