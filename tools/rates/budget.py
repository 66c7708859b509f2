"""The rate budget: every AWS API call the platform makes per dispatch, against its documented quota.

One typed table, read by ``python -m tools.rates`` (the table in docs/capacity.md), by its test
(which recomputes that table and fails when a row of the chosen design passes ``HEADROOM``), and
by whoever needs calls per dispatch (the runtime call paths join on ``Call.action``).

A rate is ``per_dispatch`` x the load model's dispatches per second, plus ``per_active`` x the
dispatches running at once (calls a running task makes on its own, such as log delivery), plus
``fixed`` (background calls that do not follow the load: the janitor, the slot pool's growth).
Rates are compared with the quota's **sustained** (refill) rate: a token bucket's burst only
buys seconds. Each quota names the AWS page that documents it; ``assumed`` marks a figure the
stored copy of that page did not show, set to the most conservative bucket of the same page.

Two designs of the dispatch's workspace are budgeted (docs/capacity.md, "The rate budget"):

* ``PER_DISPATCH``: what docs/data.md described until issue 20: one access point and one
  task-definition revision created and deleted per dispatch. Three task-definition-modify calls
  per dispatch against ECS's bucket of 1 a second: 56 % of it at 1x, 556 % at 10x. It does not
  fit.
* ``LEASED_SLOTS``: a pool of pre-registered revisions, each mounting a pre-created access
  point, leased per dispatch (no task-definition or access-point call on the dispatch path;
  the pool grows at a paced ``POOL_GROWTH_PER_SECOND``). It fits at 10x with headroom. The
  templates hold it (docs/data.md, "Leased slots"): the control plane's ``SlotPoolPolicy``, the
  ``slot_leases`` table, the ``service.slots`` settings; tests/tools/test_rates.py checks that every
  control-plane action of this design is one its policies allow, that the pool-growth pace is
  production's ``registrations_per_minute`` and that production's pool is ``slots_needed()``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from config.load_model import LoadModel

# A row of the chosen design may use at most this share of its quota's sustained rate at 10x
# (deploys, retries, the CI roles and other workloads in the account share every bucket).
HEADROOM = 0.5
# At or above this share a row is reported as close to its quota.
CLOSE = 0.25
GROWTH = 10

ECS_THROTTLING = "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html"
FARGATE_THROTTLING = "https://docs.aws.amazon.com/AmazonECS/latest/userguide/throttling.html"
EFS_ACCESS_POINTS = "https://docs.aws.amazon.com/efs/latest/ug/create-access-point.html"
ECR_THROTTLING = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/common-errors.html"
ECR_QUOTAS = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html"
SECRETS_QUOTAS = "https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html"
STS_QUOTAS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"
DYNAMODB_QUOTAS = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html"
EVENTBRIDGE_QUOTAS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html"
LOGS_QUOTAS = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html"
LAMBDA_QUOTAS = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"


@dataclass(frozen=True)
class Quota:
    name: str
    # Calls per second the bucket refills (the sustained rate), per account and Region.
    per_second: float
    source: str
    # The bucket's size (the burst), where the page gives one.
    burst: int | None = None
    # The stored copy of the page did not show this figure: set to the page's strictest bucket.
    assumed: bool = False
    # "/s" for a rate; "" for a count of things at once (Lambda's concurrency).
    unit: str = "/s"


@dataclass(frozen=True)
class Call:
    action: str
    caller: str
    quota: Quota
    per_dispatch: float = 0.0
    # Calls per second per dispatch running (made while the task runs).
    per_active: float = 0.0
    # Calls per second whatever the load.
    fixed: float = 0.0


@dataclass(frozen=True)
class Count:
    """A standing number of resources against a count quota (not a rate)."""

    name: str
    limit: int
    source: str
    # Held per dispatch running, and fixed.
    per_active: float = 0.0
    fixed: int = 0


TD_MODIFY = Quota(
    "ECS task definition modify (RegisterTaskDefinition, DeregisterTaskDefinition, DeleteTaskDefinitions)",
    1,
    ECS_THROTTLING,
    burst=20,
)
TD_READ = Quota("ECS task definition read (DescribeTaskDefinition)", 20, ECS_THROTTLING, burst=50)
CLUSTER_READ = Quota("ECS cluster resource read (DescribeTasks, ListTasks)", 20, ECS_THROTTLING, burst=100)
RUN_TASK = Quota("ECS RunTask (Fargate)", 20, FARGATE_THROTTLING, burst=100)
TASK_MODIFY = Quota("ECS StopTask, TagResource", 1, ECS_THROTTLING, assumed=True)
ECR_TOKEN = Quota("ECR GetAuthorizationToken", 20, ECR_THROTTLING, burst=200)
ECR_IMAGE = Quota("ECR BatchGetImage", 2_000, ECR_QUOTAS)
ECR_LAYER = Quota("ECR GetDownloadUrlForLayer", 3_000, ECR_QUOTAS)
SECRETS = Quota("Secrets Manager GetSecretValue + DescribeSecret", 10_000, SECRETS_QUOTAS)
STS = Quota("STS requests (AssumeRole for task sessions)", 600, STS_QUOTAS)
DYNAMODB_READS = Quota("DynamoDB read request units per table", 40_000, DYNAMODB_QUOTAS)
DYNAMODB_WRITES = Quota("DynamoDB write request units per table", 40_000, DYNAMODB_QUOTAS)
LEASE_WRITES = Quota("DynamoDB write request units per table (slot_leases)", 40_000, DYNAMODB_QUOTAS)
PUT_EVENTS = Quota("EventBridge PutEvents (us-east-1)", 10_000, EVENTBRIDGE_QUOTAS)
CREATE_LOG_STREAM = Quota("CloudWatch Logs CreateLogStream", 50, LOGS_QUOTAS)
PUT_LOG_EVENTS = Quota("CloudWatch Logs PutLogEvents", 5_000, LOGS_QUOTAS)
LAMBDA_CONCURRENCY = Quota(
    "Lambda concurrent executions (callback, collector)", 1_000, LAMBDA_QUOTAS, unit=" at once"
)

# Containers of an agent task that pull an image and write a log stream (the agent, and a
# credential-injecting sidecar if issue 21 adds one: counted, to be safe).
CONTAINERS_PER_TASK = 2
# Layers per image pulled (the agent images are built FROM one base image).
LAYERS_PER_IMAGE = 12
# The awslogs driver sends a stream's buffered events about every 5 s.
LOG_FLUSHES_PER_SECOND = 1 / 5
# The slot pool grows ahead of demand at most this fast (RegisterTaskDefinition, CreateAccessPoint):
# production's service.slots.registrations_per_minute (12) / 60, which tests/tools/test_rates.py checks.
POOL_GROWTH_PER_SECOND = 0.2
# The janitor's background calls: ListTasks and DescribeTasks pages every 5 minutes.
JANITOR_CALLS_PER_SECOND = 24 / 300
# Seconds of Lambda per dispatch: the callback (~1 s) and the collector (~10 s for a few MiB).
LAMBDA_SECONDS_PER_DISPATCH = 11.0

_MODEL = LoadModel()
_POLLS = _MODEL.per_dispatch()["status"]


def _common() -> list[Call]:
    """Calls both designs make per dispatch."""
    images = CONTAINERS_PER_TASK
    return [
        Call("ecs:RunTask", "control plane", RUN_TASK, per_dispatch=1),
        Call("ecs:DescribeTasks", "control plane (confirm start), janitor", CLUSTER_READ, per_dispatch=1),
        Call("ecs:ListTasks", "janitor", CLUSTER_READ, fixed=JANITOR_CALLS_PER_SECOND),
        Call("ecs:StopTask", "control plane (cancel, timeout), janitor", TASK_MODIFY, per_dispatch=0.1),
        Call("ecr:GetAuthorizationToken", "ECS for the execution role", ECR_TOKEN, per_dispatch=images),
        Call("ecr:BatchGetImage", "ECS for the execution role", ECR_IMAGE, per_dispatch=images),
        Call(
            "ecr:GetDownloadUrlForLayer",
            "ECS for the execution role",
            ECR_LAYER,
            per_dispatch=images * LAYERS_PER_IMAGE,
        ),
        Call(
            "secretsmanager:GetSecretValue",
            "ECS for the execution role (provider key, GitHub token)",
            SECRETS,
            per_dispatch=2,
        ),
        Call("sts:AssumeRole", "ECS (task and execution role sessions)", STS, per_dispatch=2),
        Call(
            "dynamodb:GetItem/Query",
            "control plane (status polls, artifacts), callback, collector",
            DYNAMODB_READS,
            per_dispatch=_POLLS + 1 + 2 + 1 + 2,
        ),
        Call(
            "dynamodb:PutItem/UpdateItem",
            "control plane (dispatch, idempotency, workspace, status), callback",
            DYNAMODB_WRITES,
            per_dispatch=5,
        ),
        Call("events:PutEvents", "control plane (cost events)", PUT_EVENTS, per_dispatch=3),
        Call(
            "logs:CreateLogStream", "ECS awslogs driver", CREATE_LOG_STREAM, per_dispatch=CONTAINERS_PER_TASK
        ),
        Call(
            "logs:PutLogEvents",
            "ECS awslogs driver",
            PUT_LOG_EVENTS,
            per_active=CONTAINERS_PER_TASK * LOG_FLUSHES_PER_SECOND,
        ),
        Call(
            "lambda:Invoke (concurrency)",
            "EventBridge (task stopped)",
            LAMBDA_CONCURRENCY,
            per_dispatch=LAMBDA_SECONDS_PER_DISPATCH,
        ),
    ]


PER_DISPATCH: tuple[Call, ...] = (
    *_common(),
    Call("ecs:DescribeTaskDefinition", "control plane", TD_READ, per_dispatch=1),
    Call(
        "ecs:RegisterTaskDefinition + DeregisterTaskDefinition + DeleteTaskDefinitions",
        "control plane, janitor",
        TD_MODIFY,
        per_dispatch=3,
    ),
)


def slots_needed(model: LoadModel = _MODEL, *, growth: int = GROWTH) -> int:
    """Pool slots for the peak at ``growth``x: the concurrent dispatches plus three standard
    deviations (Poisson arrivals), rounded up to a hundred."""
    concurrent = model.scaled(growth).concurrent_dispatches
    return int(math.ceil((concurrent + 3 * math.sqrt(concurrent)) / 100) * 100)


def lease_attempts(model: LoadModel = _MODEL, *, growth: int = GROWTH) -> float:
    """Conditional writes per lease when the control plane probes slots at random: 1 / (1 - u)
    at the mean utilization u of the pool at the ``growth``x peak (each failed condition costs a
    write unit too)."""
    utilization = model.scaled(growth).concurrent_dispatches / slots_needed(model, growth=growth)
    return 1 / (1 - utilization)


LEASED_SLOTS: tuple[Call, ...] = (
    *_common(),
    Call(
        "dynamodb:PutItem/UpdateItem/DeleteItem",
        "control plane (lease, return), janitor (release)",
        LEASE_WRITES,
        # Lease attempts at the 10x peak's utilization (the worst), and the return's delete (a
        # janitor's release replaces a return only when the control plane died).
        per_dispatch=lease_attempts() + 1,
    ),
    Call(
        "dynamodb:Query",
        "janitor (leases by state, one page per run)",
        DYNAMODB_READS,
        fixed=1 / 300,
    ),
    Call(
        "ecs:RegisterTaskDefinition (pool growth only)",
        "control plane",
        TD_MODIFY,
        fixed=POOL_GROWTH_PER_SECOND,
    ),
)
DESIGNS: dict[str, tuple[Call, ...]] = {"per-dispatch revision": PER_DISPATCH, "leased slots": LEASED_SLOTS}
CHOSEN = "leased slots"

ACCESS_POINTS_PER_FILE_SYSTEM = 10_000
# Per-dispatch access points the control plane may hold when every slot is leased: production's
# service.slots.fallback_access_points (tests/tools/test_rates.py checks it against the template).
FALLBACK_ACCESS_POINTS = 1_000
# Dispatches that ran to the worker timeout (3,600 s) instead of the mean: the worst standing count.
WORST_CASE_SECONDS = 3_600


@dataclass(frozen=True)
class Row:
    quota: Quota
    actions: tuple[str, ...]
    at_1x: float
    at_10x: float

    @property
    def share_10x(self) -> float:
        return self.at_10x / self.quota.per_second

    @property
    def share_1x(self) -> float:
        return self.at_1x / self.quota.per_second


def rate(call: Call, model: LoadModel) -> float:
    return (
        call.per_dispatch * model.dispatch_rate + call.per_active * model.concurrent_dispatches + call.fixed
    )


def budget(calls: Sequence[Call], model: LoadModel = _MODEL) -> list[Row]:
    """One row per quota: the summed rate of its calls at 1x and at ``GROWTH``x."""
    rows: dict[str, Row] = {}
    for call in calls:
        before = rows.get(call.quota.name, Row(call.quota, (), 0.0, 0.0))
        rows[call.quota.name] = Row(
            call.quota,
            (*before.actions, call.action),
            before.at_1x + rate(call, model),
            before.at_10x + rate(call, model.scaled(GROWTH)),
        )
    return list(rows.values())


def over_headroom(rows: Sequence[Row]) -> list[Row]:
    return [row for row in rows if row.share_10x > HEADROOM]


def access_points(design: str, model: LoadModel = _MODEL, *, growth: int = GROWTH) -> tuple[int, int]:
    """Standing access points at the peak: (typical, worst case), against 10,000 per file system.
    The worst case of per-dispatch access points: every dispatch runs to the worker timeout; of
    leased slots: the pool plus every per-dispatch fallback access point it may add."""
    scaled = model.scaled(growth)
    if design == CHOSEN:
        slots = slots_needed(model, growth=growth)
        return slots, slots + FALLBACK_ACCESS_POINTS
    return scaled.concurrent_dispatches, math.ceil(scaled.dispatch_rate * WORST_CASE_SECONDS)


def _number(value: float) -> str:
    return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"


def _verdict(share: float) -> str:
    if share > HEADROOM:
        return "**over**"
    return "close" if share >= CLOSE else "ok"


def render(design: str = CHOSEN, model: LoadModel = _MODEL) -> str:
    """The markdown table of docs/capacity.md for ``design``."""
    lines = [
        f"| quota (sustained per second) | calls | 1x ({model.dispatch_rate:.3f} dispatches/s) | "
        f"{GROWTH}x ({model.scaled(GROWTH).dispatch_rate:.2f}/s) | share at {GROWTH}x | |",
        "|---|---|---|---|---|---|",
    ]
    for row in budget(DESIGNS[design], model):
        quota = row.quota
        burst = f", burst {quota.burst:,}" if quota.burst else ""
        assumed = " (assumed)" if quota.assumed else ""
        unit = quota.unit
        lines.append(
            f"| [{quota.name}]({quota.source}): {_number(quota.per_second)}{unit}{burst}{assumed} | "
            f"{'; '.join(row.actions)} | {_number(row.at_1x)}{unit} | {_number(row.at_10x)}{unit} | "
            f"{row.share_10x:.1%} | {_verdict(row.share_10x)} |"
        )
    typical_1x, worst_1x = access_points(design, model, growth=1)
    typical, worst = access_points(design, model)
    lines.append(
        f"| [EFS access points per file system]({EFS_ACCESS_POINTS}): {ACCESS_POINTS_PER_FILE_SYSTEM:,} "
        f"(a count) | standing | {typical_1x:,} (worst {worst_1x:,}) | {typical:,} (worst {worst:,}) | "
        f"{worst / ACCESS_POINTS_PER_FILE_SYSTEM:.1%} | {_verdict(worst / ACCESS_POINTS_PER_FILE_SYSTEM)} |"
    )
    return "\n".join(lines)


BEGIN = "<!-- rates:{design}:begin (python -m tools.rates writes this table) -->"
END = "<!-- rates:{design}:end -->"
