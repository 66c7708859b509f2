"""The four functions' calls (task-state callback, workspace sweeper, dispatch janitor, artifacts
collector), what invokes them, and what the Lambda service does with their roles."""

from __future__ import annotations

from tools.paths.terms import (
    A_DISPATCH_TASK,
    CALLBACK,
    COLLECTOR,
    CONTROL_PLANE,
    DISPATCH_AP_TAGS,
    DISPATCH_REVISION,
    DISPATCH_RUN,
    DISPATCH_TAG,
    EVENTS,
    IN_CLUSTER,
    JANITOR,
    MOUNT,
    REFUSED_BY_IAM,
    SLOT_AP,
    SWEEPER,
    TLS,
    VIA_DYNAMODB,
    VIA_S3,
    VIA_SQS,
    Call,
    Path,
    Route,
    secret_read,
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
        secret_read(),
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


LAMBDA_SERVICE_PATHS: tuple[Path, ...] = (
    *_run_by_lambda(CALLBACK, "callback"),
    *_run_by_lambda(SWEEPER, "sweeper"),
    *_run_by_lambda(JANITOR, "janitor"),
    *_run_by_lambda(COLLECTOR, "collector"),
)
