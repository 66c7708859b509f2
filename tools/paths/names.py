"""The values of the table's ``{placeholders}`` in one environment, read from its templates.

Most come from the control plane's task definition: its environment is the contract with the
control plane (``OUTPOST_TABLE_DISPATCHES``, ``OUTPOST_DISPATCH_FAMILY_<AGENT>``, ...), so a
path is checked against the names the control plane will really send, and an environment
variable that disagrees with a policy shows up as a refused path. The agents are those of
``OUTPOST_AGENTS``; each one's roles, image, log group and secrets come from its task
definition. Ids that exist only at run time (a dispatch, its task, its access point) are
realistic stand-ins in the services' formats.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from config.guardduty import agent_image
from tools.paths.model import Environment, ModelError

CONTROL_PLANE_SERVICE = "Service/ControlPlane/Service/Service"
DISPATCH = "d-0123456789"
OTHER_DISPATCH = "d-9876543210"
TASK_ID = "0123456789abcdef0123456789abcdef"
SERVICE_TASK_ID = "fedcba9876543210fedcba9876543210"
ACCESS_POINT_ID = "fsap-0123456789abcdef0"
# A slot of the leased-slot pool (docs/data.md, "Leased slots"): its access point and number.
SLOT_ACCESS_POINT_ID = "fsap-0abcdef0123456789"
SLOT = "17"
STACK_ID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
PROVIDER_HOST = "token.actions.githubusercontent.com"
# The functions of the table, by the prefix of their values (``{callback_log_stream}``).
FUNCTIONS = {
    "callback": "Data/TaskStateCallback/Function/Resource",
    "sweeper": "Data/WorkspaceSweeper/Function/Resource",
    "janitor": "Service/DispatchJanitor/Function/Resource",
    "collector": "Data/ArtifactsCollector/Function/Resource",
}
# The credential proxy beside each agent: the container that sets this variable (its listen
# address, which must be the task's loopback) holds the provider key; the agent reaches it there.
PROXY_LISTEN = "OUTPOST_PROXY_LISTEN"
PROXY_UPSTREAM = "OUTPOST_PROXY_UPSTREAM"


@dataclass
class Agent:
    name: str
    family: str
    task_definition: Mapping[str, Any]
    values: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)  # of every container
    proxy_secrets: list[str] = field(default_factory=list)  # of the credential proxy's container
    agent_environment: dict[str, str] = field(default_factory=dict)  # the agent container's
    proxy_environment: dict[str, str] = field(default_factory=dict)


class Contract(dict[str, str]):
    """The control plane's environment; a variable the table needs and it lacks is a ``ModelError``."""

    def __missing__(self, key: str) -> str:
        raise ModelError(f"the control plane's task definition sets no {key}")


def _env(container: Mapping[str, Any]) -> Contract:
    return Contract({str(e["Name"]): str(e["Value"]) for e in container.get("Environment", [])})


def _host(url: str) -> str:
    """``https://api.github.com/`` -> ``api.github.com``."""
    return url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]


def _secret_arn(value_from: str) -> str:
    """A container secret's ``ValueFrom``: the secret ARN, without a JSON key suffix."""
    parts = value_from.split(":")
    return ":".join(parts[:7])


class Names:
    """``values`` for every row, ``agents`` for rows of ``{agent}``, ``lists`` for ``each=``."""

    def __init__(self, env: Environment, *, repository: str) -> None:
        self.env = env
        region, account = env.region, env.account
        self.task_definitions = self._task_definitions()
        service = env.properties(CONTROL_PLANE_SERVICE)
        control_plane = self._definition(str(service["TaskDefinition"]))
        container = control_plane["ContainerDefinitions"][0]
        contract = _env(container)
        self.contract = contract
        cluster_arn = contract["OUTPOST_CLUSTER_ARN"]
        cluster = cluster_arn.rsplit("/", 1)[-1]
        file_system_id = contract["OUTPOST_EFS_FILE_SYSTEM_ID"]
        efs = f"arn:aws:elasticfilesystem:{region}:{account}"
        tables = {
            key.removeprefix("OUTPOST_TABLE_"): value
            for key, value in contract.items()
            if key.startswith("OUTPOST_TABLE_")
        }
        table = {k: f"arn:aws:dynamodb:{region}:{account}:table/{v}" for k, v in tables.items()}
        bucket = f"arn:aws:s3:::{contract['OUTPOST_ARTIFACTS_BUCKET']}"
        log_group = str(container["LogConfiguration"]["Options"]["awslogs-group"])
        self.values: dict[str, str] = {
            "region": region,
            "account": account,
            "cluster": cluster_arn,
            "cluster_container_instances": f"arn:aws:ecs:{region}:{account}:container-instance/{cluster}/*",
            "dispatch": DISPATCH,
            "dispatch_task": f"arn:aws:ecs:{region}:{account}:task/{cluster}/{TASK_ID}",
            "service_task": f"arn:aws:ecs:{region}:{account}:task/{cluster}/{SERVICE_TASK_ID}",
            "file_system": f"{efs}:file-system/{file_system_id}",
            "file_system_id": file_system_id,
            "shared_access_point": f"{efs}:access-point/{contract['OUTPOST_EFS_ACCESS_POINT_ID']}",
            "dispatch_access_point": f"{efs}:access-point/{ACCESS_POINT_ID}",
            "slot": SLOT,
            "slot_access_point": f"{efs}:access-point/{SLOT_ACCESS_POINT_ID}",
            "slot_leases_table": table["SLOT_LEASES"],
            "slot_leases_by_state": f"{table['SLOT_LEASES']}/index/by-state",
            "dispatches_table": table["DISPATCHES"],
            "dispatches_by_status": f"{table['DISPATCHES']}/index/by-status",
            "dispatches_by_task_arn": f"{table['DISPATCHES']}/index/by-task-arn",
            "idempotency_table": table["IDEMPOTENCY"],
            "api_keys_by_hash": f"{table['API_KEYS']}/index/by-key-hash",
            "artifacts_bucket": bucket,
            "artifact_object": f"{bucket}/{DISPATCH}/report.md",
            "other_artifact_object": f"{bucket}/{OTHER_DISPATCH}/report.md",
            # ECR serves image layers from this S3 bucket (ECR user guide, "Amazon ECR interface
            # VPC endpoints": the S3 gateway endpoint's policy must allow it).
            "ecr_layers": f"arn:aws:s3:::prod-{region}-starport-layer-bucket/*",
            "event_bus": f"arn:aws:events:{region}:{account}:event-bus/{contract['OUTPOST_EVENT_BUS_NAME']}",
            "data_key": self._key_of_table(tables["DISPATCHES"]),
            "control_plane_repository": _repository(container["Image"], region, account),
            "control_plane_log_stream": _stream(region, account, log_group, "control-plane"),
            "control_plane_task_role": str(control_plane["TaskRoleArn"]),
            "control_plane_execution_role": str(control_plane["ExecutionRoleArn"]),
            "callback_function": str(env.attribute(FUNCTIONS["callback"])),
            "task_stopped_rule": str(env.attribute("Data/TaskStateCallback/TaskStopped/Resource")),
            "dead_letters": str(env.attribute("Data/TaskStateCallback/DeadLetters/Resource")),
            "dead_letter_key": str(env.attribute("Data/TaskStateCallback/DeadLetterKey/Resource")),
            "sweeper_function": str(env.attribute(FUNCTIONS["sweeper"])),
            "sweep_rule": str(env.attribute("Data/WorkspaceSweeper/Daily/Resource")),
            "janitor_function": str(env.attribute(FUNCTIONS["janitor"])),
            "janitor_rule": str(env.attribute("Service/DispatchJanitor/Schedule/Resource")),
            "collector_function": str(env.attribute(FUNCTIONS["collector"])),
            "github_api_host": _host(contract["OUTPOST_GITHUB_API_URL"]),
            "load_balancer_host": str(env.attribute("Service/FrontDoor/LoadBalancer/Resource", "DNSName")),
        }
        for prefix, function in FUNCTIONS.items():
            self._function(prefix, function)
        self.agents = [self._agent(name) for name in contract["OUTPOST_AGENTS"].split(",")]
        github_app_key = [self._secret(contract["OUTPOST_GITHUB_APP_PRIVATE_KEY_SECRET_ARN"])]
        provider_keys = sorted({s for a in self.agents for s in a.secrets})
        self.lists: dict[str, list[dict[str, str]]] = {
            "github_app_key": github_app_key,
            "every_secret": github_app_key + [self._secret(s) for s in provider_keys],
        }
        self.lists["alarm"] = self._alarms()
        self.lists["guardduty_rule"] = self._guardduty()
        self.lists["guardduty_agent"] = self._guardduty_agent()
        self.lists["budget"] = self._budgets()
        self.lists["listener"] = [
            {"listener_port": str(self.env.properties(path)["Port"]), "listener_name": path}
            for path in sorted(self._resources_of("AWS::ElasticLoadBalancingV2::Listener"))
        ]
        self._trail()
        self._delivery(repository, contract["OUTPOST_ENVIRONMENT"])

    # --- the templates ------------------------------------------------------------------

    def _task_definitions(self) -> dict[str, Mapping[str, Any]]:
        found: dict[str, Mapping[str, Any]] = {}
        for path, located in self.env.by_path.items():
            if located.resource["Type"] == "AWS::ECS::TaskDefinition":
                properties = self.env.properties(path)
                found[str(properties["Family"])] = properties
        return found

    def _definition(self, arn_or_family: str) -> Mapping[str, Any]:
        family = arn_or_family.rsplit("/", 1)[-1].split(":", 1)[0]
        if family not in self.task_definitions:
            raise ModelError(f"{self.env.stage}: no task definition of family {family}")
        return self.task_definitions[family]

    def _resources_of(self, kind: str) -> Iterator[str]:
        return (p for p, located in self.env.by_path.items() if located.resource["Type"] == kind)

    def _key_of_table(self, table_name: str) -> str:
        for path in self._resources_of("AWS::DynamoDB::Table"):
            if str(self.env.attribute(path, "Ref")) == table_name:
                spec = self.env.properties(path).get("SSESpecification", {})
                return str(spec.get("KMSMasterKeyId", ""))
        raise ModelError(f"{self.env.stage}: no table {table_name}")

    def _secret(self, arn: str) -> dict[str, str]:
        for path in self._resources_of("AWS::SecretsManager::Secret"):
            if str(self.env.attribute(path, "Ref")) == arn:
                key = str(self.env.properties(path).get("KmsKeyId", "aws/secretsmanager"))
                return {"secret": arn, "secret_key": key}
        raise ModelError(f"{self.env.stage}: no secret {arn}")

    def _alarms(self) -> list[dict[str, str]]:
        """Every alarm and each topic it notifies (an alarm that notifies none: topic ``none``)."""
        topics = {
            str(self.env.attribute(p, "Ref")): str(self.env.properties(p).get("KmsMasterKeyId", ""))
            for p in self._resources_of("AWS::SNS::Topic")
        }
        found = []
        for path in sorted(self._resources_of("AWS::CloudWatch::Alarm")):
            actions = [str(a) for a in self.env.properties(path).get("AlarmActions", []) if ":sns:" in str(a)]
            for topic in actions or ["none"]:
                found.append(
                    {
                        "alarm": str(self.env.attribute(path)),
                        "alarm_name": path.removesuffix("/Resource"),
                        "alarm_topic": topic,
                        "alarm_topic_key": topics.get(topic, "none"),
                    }
                )
        return found

    def _trail(self) -> None:
        """The trail's bucket, key and log group, as the trail names them."""
        trails = list(self._resources_of("AWS::CloudTrail::Trail"))
        if not trails:
            return
        trail = self.env.properties(trails[0])
        region, account = self.env.region, self.env.account
        group = str(trail["CloudWatchLogsLogGroupArn"]).removesuffix(":*").split(":log-group:", 1)[-1]
        self.values.update(
            {
                "trail": str(self.env.attribute(trails[0])),
                "trail_object": f"arn:aws:s3:::{trail['S3BucketName']}/AWSLogs/{account}/CloudTrail/"
                f"{region}/2026/12/05/{account}_CloudTrail_{region}_20261205T0000Z_abc.json.gz",
                "trail_bucket": f"arn:aws:s3:::{trail['S3BucketName']}",
                "trail_key": str(trail["KMSKeyId"]),
                "trail_logs_role": str(trail["CloudWatchLogsRoleArn"]),
                "trail_log_stream": _stream(region, account, group, account),
            }
        )

    def _function(self, prefix: str, path: str) -> None:
        """What the Lambda service does with a function's role: its log stream, its dead letters."""
        properties = self.env.properties(path)
        region, account = self.env.region, self.env.account
        log_group = str(properties["LoggingConfig"]["LogGroup"])
        queue = str(properties["DeadLetterConfig"]["TargetArn"])
        self.values[f"{prefix}_log_stream"] = _stream(region, account, log_group, prefix)
        self.values[f"{prefix}_dead_letters"] = queue
        for path_of, located in self.env.by_path.items():
            if located.resource["Type"] == "AWS::SQS::Queue" and self.env.attribute(path_of) == queue:
                key = str(self.env.properties(path_of).get("KmsMasterKeyId", "alias/aws/sqs"))
                self.values[f"{prefix}_dead_letter_key"] = key

    def _agent(self, name: str) -> Agent:
        upper = name.upper()
        definition = self._definition(self.contract[f"OUTPOST_TASK_DEF_{upper}"])
        region, account = self.env.region, self.env.account
        containers = definition["ContainerDefinitions"]
        agent_container = self.contract["OUTPOST_AGENT_CONTAINER_NAME"]
        essential = next((c for c in containers if c["Name"] == agent_container), None)
        proxy = next((c for c in containers if PROXY_LISTEN in _env(c)), None)
        if essential is None or proxy is None:
            raise ModelError(
                f"{self.env.stage}: task definition {definition['Family']} has no container "
                f"{agent_container} or no credential proxy (a container setting {PROXY_LISTEN})"
            )
        log_group = str(essential["LogConfiguration"]["Options"]["awslogs-group"])
        dispatch_family = self.contract[f"OUTPOST_DISPATCH_FAMILY_{upper}"]
        slot_family = self.contract[f"OUTPOST_SLOT_FAMILY_{upper}"]
        streamed = self.contract[f"OUTPOST_LOG_GROUP_{upper}"]
        agent = Agent(name, str(definition["Family"]), definition)
        agent.values = {
            "agent": name,
            "Agent": name.capitalize(),
            "agent_task_role": str(definition["TaskRoleArn"]),
            "agent_execution_role": str(definition["ExecutionRoleArn"]),
            "agent_base_revision": f"arn:aws:ecs:{region}:{account}:task-definition/{definition['Family']}:3",
            "dispatch_revision": f"arn:aws:ecs:{region}:{account}:task-definition/{dispatch_family}:7",
            "slot_revision": f"arn:aws:ecs:{region}:{account}:task-definition/{slot_family}:{SLOT}",
            "agent_repository": _repository(essential["Image"], region, account),
            "proxy_repository": _repository(proxy["Image"], region, account),
            "provider_host": _host(_env(proxy)[PROXY_UPSTREAM]),
            # A dispatch revision is a copy of the base: the sizes and compatibilities it names.
            "agent_task_cpu": str(definition.get("Cpu", "")),
            "agent_task_memory": str(definition.get("Memory", "")),
            "agent_compatibilities": ",".join(str(c) for c in definition.get("RequiresCompatibilities", [])),
            "agent_log_stream": _stream(region, account, log_group, name),
            "agent_log_group": f"arn:aws:logs:{region}:{account}:log-group:{streamed}:*",
        }
        agent.secrets = sorted(
            {_secret_arn(str(s["ValueFrom"])) for c in containers for s in c.get("Secrets", [])}
        )
        agent.proxy_secrets = sorted({_secret_arn(str(s["ValueFrom"])) for s in proxy.get("Secrets", [])})
        agent.agent_environment = dict(_env(essential))
        agent.proxy_environment = dict(_env(proxy))
        return agent

    def agent_lists(self, agent: Agent) -> dict[str, list[dict[str, str]]]:
        others = sorted({s for a in self.agents if a is not agent for s in a.secrets} - set(agent.secrets))
        return {
            "proxy_secret": [self._secret(s) for s in agent.proxy_secrets],
            "other_agent_secret": [self._secret(s) for s in others],
            "github_app_key": self.lists["github_app_key"],
            "guardduty_agent": self.lists["guardduty_agent"],
        }

    def _guardduty(self) -> list[dict[str, str]]:
        """The rule that forwards GuardDuty findings, and each topic it publishes to (none in an
        environment without GuardDuty)."""
        return [
            {"rule": str(self.env.attribute(path)), "rule_name": path, **self._topic(str(target["Arn"]))}
            for path in sorted(self._resources_of("AWS::Events::Rule"))
            if "aws.guardduty" in (self.env.properties(path).get("EventPattern") or {}).get("source", [])
            for target in self.env.properties(path).get("Targets", [])
            if ":sns:" in str(target["Arn"])
        ]

    def _guardduty_agent(self) -> list[dict[str, str]]:
        """GuardDuty's Fargate agent repository of the region, where the environment has GuardDuty
        on: a detector of its own, or the findings rule of a detector it names (an environment that
        names one and owns no account alarms leaves no trace in its templates: no rows)."""
        detectors = list(self._resources_of("AWS::GuardDuty::Detector"))
        if not detectors and not self._guardduty():
            return []
        agent = agent_image(self.env.region)
        if agent is None:
            raise ModelError(f"{self.env.stage}: no GuardDuty agent repository pinned for {self.env.region}")
        return [
            {"guardduty_agent_repository": agent.repository_arn, "guardduty_agent_host": agent.registry_host}
        ]

    def _budgets(self) -> list[dict[str, str]]:
        """Each budget and each topic it notifies."""
        found = []
        for path in sorted(self._resources_of("AWS::Budgets::Budget")):
            properties = self.env.properties(path)
            name = str(properties["Budget"].get("BudgetName", path.rsplit("/", 1)[-1]))
            arn = f"arn:aws:budgets::{self.env.account}:budget/{name}"
            topics = {
                str(s["Address"])
                for n in properties.get("NotificationsWithSubscribers", [])
                for s in n["Subscribers"]
                if s["SubscriptionType"] == "SNS"
            }
            found += [{"budget": arn, "budget_name": path, **self._topic(t)} for t in sorted(topics)]
        return found

    def _topic(self, arn: str) -> dict[str, str]:
        for path in self._resources_of("AWS::SNS::Topic"):
            if str(self.env.attribute(path, "Ref")) == arn:
                key = str(self.env.properties(path).get("KmsMasterKeyId", "none"))
                return {"topic": arn, "topic_key": key}
        raise ModelError(f"{self.env.stage}: no topic {arn}")

    def _delivery(self, repository: str, environment: str) -> None:
        """The CI roles of this environment, when the Delivery stage deploys it."""
        prefix = f"Delivery/Account{self.env.account}"
        self.delivered = f"{prefix}/{self.env.stage}Deploy/Role/Resource" in self.env.by_path
        provider = f"{prefix}/GitHubOidcProvider/Resource"
        oidc = (
            str(self.env.attribute(provider, "Arn"))
            if provider in self.env.by_path
            else f"arn:aws:iam::{self.env.account}:oidc-provider/{PROVIDER_HOST}"
        )
        deploy_role = str(next(iter(self.env.resolvers.stacks.values())).deploy_role)

        def bootstrap(kind: str) -> str:
            return deploy_role.replace("-deploy-role-", f"-{kind}-role-")

        self.values.update(
            {
                "delivery": prefix,
                "Stage": self.env.stage,
                "oidc_provider": oidc,
                "environment_subject": f"repo:{repository}:environment:{environment}",
                "pull_request_subject": f"repo:{repository}:pull_request",
                "bootstrap_deploy_role": deploy_role,
                "bootstrap_file_publishing_role": deploy_role.replace(
                    "-deploy-role-", "-file-publishing-role-"
                ),
                "bootstrap_lookup_role": deploy_role.replace("-deploy-role-", "-lookup-role-"),
                "own_stack": f"arn:aws:cloudformation:{self.env.region}:{self.env.account}:stack/"
                f"{self.env.stage}-Service/{STACK_ID}",
                "bootstrap_stack": f"arn:aws:cloudformation:{self.env.region}:{self.env.account}:stack/"
                f"CDKToolkit/{STACK_ID}",
            }
        )
        if self.delivered:
            for kind in ("Deploy", "Diff"):
                self.values[f"ci_{kind.lower()}_role"] = str(
                    self.env.attribute(f"{prefix}/{self.env.stage}{kind}/Role/Resource")
                )


def _repository(image: str, region: str, account: str) -> str:
    """``<account>.dkr.ecr.<region>.amazonaws.com/outpost-prod/claude:1.2.3`` -> the repository ARN."""
    name = image.split("/", 1)[-1].split("@", 1)[0].rsplit(":", 1)[0]
    return f"arn:aws:ecr:{region}:{account}:repository/{name}"


def _stream(region: str, account: str, group: str, prefix: str) -> str:
    return f"arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:{prefix}/{prefix}/{TASK_ID}"
