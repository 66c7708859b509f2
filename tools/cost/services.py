"""Line items of storage, data, audit, security and monitoring."""

from __future__ import annotations

from tools.cost.prices import CostError
from tools.cost.usage import LineItem, Usage, count, money

DAYS_PER_MONTH = 730 / 24
EVENT_KB = 1  # an archived event is about a kilobyte


def workspaces(usage: Usage) -> list[LineItem]:
    file_systems = usage.resources("AWS::EFS::FileSystem")
    if not file_systems:
        return []
    a = usage.assumptions
    gb, standard = a.workspaces_gb, usage.usd("efs_standard_gb_month")
    items = [
        LineItem(
            "EFS storage (workspaces)",
            gb * standard,
            f"{gb} GB x {money(standard)}/GB-month "
            "(all Standard: files moved to Infrequent Access cost less)",
            usage.setting("workspaces_gb"),
        )
    ]
    backed_up = [f for f in file_systems if f.properties.get("BackupPolicy", {}).get("Status") == "ENABLED"]
    if backed_up:
        # Automatic backups keep daily copies for 35 days in the default vault; after the first,
        # each is incremental, so the vault holds about one copy of the data (warm storage).
        backup = usage.usd("backup_efs_warm_gb_month")
        items.append(
            LineItem(
                "AWS Backup of the workspaces (EFS)",
                gb * len(backed_up) * backup,
                f"{gb} GB x {money(backup)}/GB-month of warm backup storage (automatic backups on; "
                "incremental copies, about one full copy kept)",
                usage.setting("workspaces_gb"),
            )
        )
    for fs in file_systems:
        mode = fs.properties.get("ThroughputMode", "bursting")
        if mode == "provisioned":
            raise CostError(f"{fs.name}: provisioned throughput is not priced")
        if mode == "elastic":
            read = usage.dispatches * a.workspace_mb_read_per_dispatch / 1024
            written = usage.dispatches * a.workspace_mb_written_per_dispatch / 1024
            r, w = usage.usd("efs_elastic_read_gb"), usage.usd("efs_elastic_write_gb")
            items.append(
                LineItem(
                    "EFS elastic throughput",
                    read * r + written * w,
                    f"{count(read)} GB read x {money(r)} + {count(written)} GB written x {money(w)}",
                    usage.setting(
                        "dispatches_per_month",
                        "workspace_mb_read_per_dispatch",
                        "workspace_mb_written_per_dispatch",
                    ),
                )
            )
    return items


def tables(usage: Usage) -> list[LineItem]:
    found = usage.resources("AWS::DynamoDB::Table")
    if not found:
        return []
    for table in found:
        if table.properties.get("BillingMode") != "PAY_PER_REQUEST":
            raise CostError(f"{table.name}: only on-demand (PAY_PER_REQUEST) tables are priced")
    a = usage.assumptions
    writes = usage.dispatches * a.dynamodb_writes_per_dispatch / 1e6
    reads = a.requests_per_month * a.dynamodb_reads_per_request / 1e6
    w, r = usage.usd("dynamodb_write_million"), usage.usd("dynamodb_read_million")
    pitr = any(
        t.properties.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")
        for t in found
    )
    per_gb = usage.usd("dynamodb_storage_gb_month") + (usage.usd("dynamodb_pitr_gb_month") if pitr else 0)
    return [
        LineItem(
            "DynamoDB requests (on demand)",
            writes * w + reads * r,
            f"{count(writes)} M writes x {money(w)} + {count(reads)} M reads x {money(r)}",
            usage.setting(
                "dispatches_per_month",
                "dynamodb_writes_per_dispatch",
                "requests_per_month",
                "dynamodb_reads_per_request",
            ),
        ),
        LineItem(
            "DynamoDB storage" + (" and point-in-time recovery" if pitr else ""),
            a.dynamodb_gb * per_gb,
            f"{a.dynamodb_gb} GB x {money(per_gb)}/GB-month in {len(found)} tables",
            usage.setting("dynamodb_gb"),
        ),
    ]


def s3_object_requests(usage: Usage) -> float:
    a = usage.assumptions
    return usage.dispatches * (a.s3_writes_per_dispatch + a.s3_reads_per_dispatch)


def trails(usage: Usage) -> list[LineItem]:
    items = []
    for trail in usage.resources("AWS::CloudTrail::Trail"):
        selectors = trail.properties.get("AdvancedEventSelectors", [])
        s3_data = any(
            {"Field": "eventCategory", "Equals": ["Data"]} in s.get("FieldSelectors", [])
            and any(f.get("Equals") == ["AWS::S3::Object"] for f in s.get("FieldSelectors", []))
            for s in selectors
        )
        if trail.properties.get("EventSelectors"):
            raise CostError(f"{trail.name}: basic event selectors are not priced (advanced ones are)")
        if s3_data:
            events = s3_object_requests(usage)
            price = usage.usd("cloudtrail_data_events_100k")
            items.append(
                LineItem(
                    "CloudTrail S3 data events",
                    events / 1e5 * price,
                    f"{count(events)} object requests x {money(price)}/100,000",
                    usage.setting("dispatches_per_month", "s3_writes_per_dispatch", "s3_reads_per_dispatch"),
                )
            )
        if usage.paid_management_copy:
            events = usage.assumptions.management_events_per_month
            price = usage.usd("cloudtrail_management_copy_100k")
            items.append(
                LineItem(
                    "CloudTrail management events (second trail of the account)",
                    events / 1e5 * price,
                    f"{count(events)} events x {money(price)}/100,000",
                    usage.setting("management_events_per_month"),
                )
            )
    return items


def keys_and_secrets(usage: Usage) -> list[LineItem]:
    items = []
    keys = len(usage.resources("AWS::KMS::Key"))
    if keys:
        price = usage.usd("kms_key_month")
        items.append(
            LineItem("KMS keys", keys * price, f"{keys} keys x {money(price)}/month (requests not counted)")
        )
    secrets = len(usage.resources("AWS::SecretsManager::Secret"))
    if secrets:
        # Each agent task reads the secrets of its container definition once, at start.
        per_task = max(
            (
                len(c.get("Secrets", []))
                for d in usage.resources("AWS::ECS::TaskDefinition")
                for c in d.properties.get("ContainerDefinitions", [])
            ),
            default=0,
        )
        calls = usage.dispatches * per_task
        month, api = usage.usd("secret_month"), usage.usd("secrets_api_10k")
        items.append(
            LineItem(
                "Secrets Manager",
                secrets * month + calls / 1e4 * api,
                f"{secrets} secrets x {money(month)} + {count(calls)} reads ({per_task} a dispatch) "
                f"x {money(api)}/10,000",
                usage.setting("dispatches_per_month"),
            )
        )
    return items


def monitoring(usage: Usage) -> list[LineItem]:
    a = usage.assumptions
    items = []
    if usage.resources("AWS::Logs::LogGroup"):
        ingest, store = usage.usd("logs_ingest_gb"), usage.usd("logs_storage_gb_month")
        months = usage.env.service.log_retention_days / DAYS_PER_MONTH
        items += [
            LineItem(
                "CloudWatch Logs ingested",
                a.logs_ingested_gb * ingest,
                f"{a.logs_ingested_gb} GB x {money(ingest)}/GB (tasks, flow logs, trail, WAF, functions)",
                usage.setting("logs_ingested_gb"),
            ),
            LineItem(
                "CloudWatch Logs stored",
                a.logs_ingested_gb * months * store,
                f"{a.logs_ingested_gb} GB x {months:.3g} months kept (service.log_retention_days) x "
                f"{money(store)}/GB-month, uncompressed (an upper bound)",
                usage.setting("logs_ingested_gb"),
            ),
        ]
    alarms = usage.resources("AWS::CloudWatch::Alarm")
    if alarms:
        metrics = sum(
            sum(1 for m in alarm.properties.get("Metrics", []) if "MetricStat" in m) or 1 for alarm in alarms
        )
        price = usage.usd("alarm_metric_month")
        items.append(
            LineItem(
                "CloudWatch alarms",
                metrics * price,
                f"{len(alarms)} alarms, {metrics} metrics x {money(price)}",
            )
        )
    filters = len(usage.resources("AWS::Logs::MetricFilter"))
    if filters:
        price = usage.usd("custom_metric_month")
        items.append(
            LineItem(
                "CloudWatch custom metrics (metric filters: the CIS alarms, stuck slot leases)",
                filters * price,
                f"{filters} metric filters, one metric each x {money(price)}/month",
            )
        )
    dashboards = len(usage.resources("AWS::CloudWatch::Dashboard"))
    if dashboards:
        price = usage.usd("dashboard_month")
        items.append(LineItem("CloudWatch dashboards", dashboards * price, f"{dashboards} x {money(price)}"))
    return items


def storage(usage: Usage) -> list[LineItem]:
    a = usage.assumptions
    items = []
    if usage.resources("AWS::S3::Bucket"):
        months = usage.env.data.artifacts_expiration_days / DAYS_PER_MONTH
        gb = usage.dispatches * a.artifacts_mb_per_dispatch / 1024 * months
        gb_month, put, get = usage.usd("s3_standard_gb_month"), usage.usd("s3_put_1k"), usage.usd("s3_get_1k")
        writes, reads = (
            usage.dispatches * a.s3_writes_per_dispatch,
            usage.dispatches * a.s3_reads_per_dispatch,
        )
        items.append(
            LineItem(
                "S3 (artifacts)",
                gb * gb_month + writes / 1e3 * put + reads / 1e3 * get,
                f"{count(gb)} GB kept {months:.3g} months x {money(gb_month)} + {count(writes)} writes + "
                f"{count(reads)} reads (log buckets not counted)",
                usage.setting(
                    "dispatches_per_month",
                    "artifacts_mb_per_dispatch",
                    "s3_writes_per_dispatch",
                    "s3_reads_per_dispatch",
                ),
            )
        )
    if usage.resources("AWS::ECR::Repository"):
        price = usage.usd("ecr_storage_gb_month")
        items.append(
            LineItem(
                "ECR images",
                a.image_storage_gb * price,
                f"{a.image_storage_gb} GB x {money(price)}/GB-month",
                usage.setting("image_storage_gb"),
            )
        )
    return items


def events(usage: Usage) -> list[LineItem]:
    if not usage.resources("AWS::Events::EventBus"):
        return []
    published = usage.dispatches * usage.assumptions.events_per_dispatch
    price = usage.usd("eventbridge_events_million")
    usd = published / 1e6 * price
    basis = f"{count(published)} events x {money(price)}/M"
    if usage.resources("AWS::Events::Archive"):
        gb = published * EVENT_KB / 1024**2
        usd += gb * usage.usd("eventbridge_archive_gb")
        basis += f" + {count(gb)} GB archived"
    return [LineItem("EventBridge", usd, basis, usage.setting("dispatches_per_month", "events_per_dispatch"))]


def threat_detection(usage: Usage) -> list[LineItem]:
    """GuardDuty: the management events it analyses, Runtime Monitoring of the Fargate tasks
    (the agents' dispatches and warm pool, the control plane) and the flow and DNS logs."""
    detectors = usage.resources("AWS::GuardDuty::Detector")
    if not detectors:
        return []
    a = usage.assumptions
    events = a.management_events_per_month / 1e6
    per_million = usage.usd("guardduty_management_events_million")
    vcpu_hours = 0.0
    for definition in usage.resources("AWS::ECS::TaskDefinition"):
        props = definition.properties
        vcpu = int(props.get("Cpu", 0)) / 1024
        family = str(props.get("Family", ""))
        services = [
            s
            for s in usage.resources("AWS::ECS::Service")
            if usage.resource(s.stack, s.properties["TaskDefinition"]).logical_id == definition.logical_id
        ]
        if services:
            tasks = int(services[0].properties.get("DesiredCount", usage.env.service.control_plane.min_tasks))
            vcpu_hours += tasks * vcpu * usage.hours
        else:
            agent = family.rsplit("-", 1)[-1]
            share = dict(a.agent_mix_percent).get(agent, 0) / 100
            pool = usage.env.service.control_plane.warm_pool_size
            task_hours = a.dispatches_per_month * a.minutes_per_dispatch / 60 * share
            vcpu_hours += vcpu * (task_hours + pool * usage.hours)
    vcpus = vcpu_hours / usage.hours
    per_vcpu = usage.usd("guardduty_fargate_vcpu_month")
    s3_events = s3_object_requests(usage) / 1e6
    per_s3_million = usage.usd("guardduty_s3_events_million")
    logs = usage.prices.price(usage.env.region, "guardduty_flow_and_dns_logs_gb")
    return [
        LineItem(
            "GuardDuty (management events, Fargate runtime monitoring, S3 protection)",
            events * per_million + vcpus * per_vcpu + s3_events * per_s3_million,
            f"{count(events)} M management events x {money(per_million)}/M + {count(vcpus)} vCPUs on "
            f"average x {money(per_vcpu)}/vCPU-month (dispatches, warm pool, control plane) + "
            f"{count(s3_events)} M S3 object requests x {money(per_s3_million)}/M",
            usage.setting(
                "management_events_per_month",
                "dispatches_per_month",
                "minutes_per_dispatch",
                "s3_writes_per_dispatch",
                "s3_reads_per_dispatch",
            ),
        ),
        LineItem("GuardDuty (VPC flow and DNS logs)", None, logs.note),
    ]


ITEMS = (workspaces, tables, trails, keys_and_secrets, monitoring, storage, events, threat_detection)
PRICED_TYPES = (
    "AWS::EFS::FileSystem",
    "AWS::DynamoDB::Table",
    "AWS::CloudTrail::Trail",
    "AWS::KMS::Key",
    "AWS::SecretsManager::Secret",
    "AWS::Logs::LogGroup",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::Logs::MetricFilter",
    "AWS::GuardDuty::Detector",
    "AWS::S3::Bucket",
    "AWS::ECR::Repository",
    "AWS::Events::EventBus",
    "AWS::Events::Archive",
)
