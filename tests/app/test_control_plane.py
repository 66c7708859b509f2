"""The control plane: task definition, environment, service, scaling, bootstrap mode."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from config import AGENTS, load_environments
from config.api import CONTROL_PLANE_PORT, HEALTH_CHECK_PATH
from config.guardduty import guardduty_share
from permissions.control_plane_policies import POLICIES
from stacks.stage import OutpostStage
from tests.environments import STAGES, config_of, of_kind, stages_of_kind
from tests.service_templates import (
    AGENT_SECRETS,
    ENV_NAMES,
    GITHUB_APP_KEY,
    SECRET_LIKE,
    WORKSPACES_MOUNT,
    container,
    image_uri,
    logical_id,
    props,
    workspaces_volume,
)
from tests.settings import set_path
from tests.synth import Synthesized, shipped_context
from tests.templates import arn_of, at, data_ref, from_data, output_of, ref, region, settings
from tools.review.flows import Rule, rules


@pytest.mark.parametrize("stage", STAGES)
def test_control_plane_task_definition(synthesized: Synthesized, stage: str) -> None:
    wanted = settings(stage)["service"]["control_plane"]
    definition = props(synthesized, stage, "ControlPlane/TaskDefinition/Resource")
    assert definition["Family"] == f"outpost-{ENV_NAMES[stage]}-control-plane"
    assert definition["RuntimePlatform"] == {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}
    assert (definition["Cpu"], definition["Memory"]) == (str(wanted["cpu"]), str(wanted["memory"]))
    assert from_data(synthesized, stage, definition["Volumes"]) == [
        {"Name": "tmp"},
        workspaces_volume(synthesized, stage),
    ]
    box = container(synthesized, stage, "ControlPlane")
    # The task's memory, less GuardDuty's agent's where it joins the task.
    sidecar = guardduty_share(config_of(stage).audit.guardduty_agent, wanted["cpu"], wanted["memory"])
    assert box["Memory"] == wanted["memory"] - sidecar
    assert box["User"] == "1001"
    assert box["ReadonlyRootFilesystem"] is True
    assert box["MountPoints"] == [
        {"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"},
        WORKSPACES_MOUNT,
    ]
    assert box["PortMappings"] == [{"ContainerPort": CONTROL_PLANE_PORT, "Protocol": "tcp"}]
    assert box["Image"] == image_uri(stage, "control-plane", wanted["image_tag"])
    assert box["HealthCheck"]["Command"][-1].startswith(
        f"wget -q -O /dev/null http://127.0.0.1:{CONTROL_PLANE_PORT}{HEALTH_CHECK_PATH}"
    )
    assert box["LogConfiguration"]["Options"]["awslogs-group"] == ref(
        logical_id(synthesized, stage, "ControlPlane/Logs/Resource")
    )
    # It reads the GitHub App's key itself when it mints a token (its ARN is in the environment).
    assert "Secrets" not in box


@pytest.mark.parametrize("stage", STAGES)
def test_control_plane_environment(synthesized: Synthesized, stage: str) -> None:
    wanted = settings(stage)["service"]
    environment = {
        e["Name"]: from_data(synthesized, stage, e["Value"])
        for e in container(synthesized, stage, "ControlPlane")["Environment"]
    }
    cluster = logical_id(synthesized, stage, "Cluster/Resource")
    expected: dict[str, Any] = {
        "NODE_ENV": "production",
        "PORT": str(CONTROL_PLANE_PORT),
        "AWS_REGION": region(stage),
        "OUTPOST_ENVIRONMENT": ENV_NAMES[stage],
        "OUTPOST_CLUSTER_ARN": arn_of(cluster),
        "OUTPOST_AGENT_CAPACITY_PROVIDER": "FARGATE_SPOT" if wanted["agents_use_spot"] else "FARGATE",
        "OUTPOST_AGENT_PLATFORM_VERSION": wanted["agent_platform_version"],
        "OUTPOST_AGENT_CONTAINER_NAME": "agent",
        "OUTPOST_WORKER_TASK_TIMEOUT_SECONDS": str(wanted["control_plane"]["worker_task_timeout_seconds"]),
        "OUTPOST_AGENTS": ",".join(AGENTS),
        "OUTPOST_WARM_POOL_SIZE": str(wanted["control_plane"]["warm_pool_size"]),
        "OUTPOST_ARTIFACTS_BUCKET": data_ref(synthesized, stage, "Artifacts/Bucket/Resource"),
        "OUTPOST_EVENT_BUS_NAME": data_ref(synthesized, stage, "Events/Bus/Resource"),
        "OUTPOST_EFS_FILE_SYSTEM_ID": data_ref(synthesized, stage, "Workspaces/FileSystem/Resource"),
        "OUTPOST_EFS_ACCESS_POINT_ID": data_ref(
            synthesized, stage, "Workspaces/FileSystem/Workspaces/Resource"
        ),
        "OUTPOST_WORKSPACES_PATH": "/mnt/workspaces",
        # Leased slots (docs/data.md): the pool's settings and where the slots' roots are mounted.
        "OUTPOST_SLOT_POOL_SIZE": str(wanted["slots"]["pool_size"]),
        "OUTPOST_SLOT_REGISTRATIONS_PER_MINUTE": str(wanted["slots"]["registrations_per_minute"]),
        "OUTPOST_SLOT_FALLBACK_ACCESS_POINTS": str(wanted["slots"]["fallback_access_points"]),
        "OUTPOST_SLOTS_PATH": "/mnt/workspaces/.slots",
        "OUTPOST_GITHUB_API_URL": "https://api.github.com",
        "OUTPOST_GITHUB_APP_ID": str(wanted["control_plane"]["github_app_id"]),
        "OUTPOST_GITHUB_APP_INSTALLATION_ID": str(wanted["control_plane"]["github_app_installation_id"]),
        "OUTPOST_GITHUB_APP_PRIVATE_KEY_SECRET_ARN": data_ref(synthesized, stage, GITHUB_APP_KEY),
        "OUTPOST_GITHUB_TOKEN_PERMISSIONS": '{"contents": "write", "pull_requests": "write"}',
        "OUTPOST_GITHUB_TOKEN_PATH": ".outpost/github-token",
        "OUTPOST_TABLE_DISPATCHES": data_ref(synthesized, stage, "Tables/Dispatches/Resource"),
        "OUTPOST_TABLE_IDEMPOTENCY": data_ref(synthesized, stage, "Tables/Idempotency/Resource"),
        "OUTPOST_TABLE_WORKSPACES": data_ref(synthesized, stage, "Tables/Workspaces/Resource"),
        "OUTPOST_TABLE_WARM_POOL": data_ref(synthesized, stage, "Tables/WarmPool/Resource"),
        "OUTPOST_TABLE_API_KEYS": data_ref(synthesized, stage, "Tables/ApiKeys/Resource"),
        "OUTPOST_TABLE_SLOT_LEASES": data_ref(synthesized, stage, "Tables/SlotLeases/Resource"),
    }
    for agent in AGENTS:
        task = agent.capitalize()
        expected[f"OUTPOST_TASK_DEF_{agent.upper()}"] = ref(
            logical_id(synthesized, stage, f"{task}/TaskDefinition/Resource")
        )
        expected[f"OUTPOST_LOG_GROUP_{agent.upper()}"] = ref(
            logical_id(synthesized, stage, f"{task}/Logs/Resource")
        )
        expected[f"OUTPOST_DISPATCH_FAMILY_{agent.upper()}"] = f"outpost-{ENV_NAMES[stage]}-{agent}-dispatch"
        expected[f"OUTPOST_SLOT_FAMILY_{agent.upper()}"] = f"outpost-{ENV_NAMES[stage]}-{agent}-slot"
    subnets = environment.pop("OUTPOST_WORKER_SUBNETS")
    group = environment.pop("OUTPOST_WORKER_SECURITY_GROUP")
    assert environment == expected
    zones = len(settings(stage)["network"]["availability_zones"])
    separator, parts = subnets["Fn::Join"]
    assert separator == ","
    for index, part in enumerate(parts, start=1):
        assert output_of(part).startswith(f"PublishOutputRefNetworkVpcPrivateSubnet{index}Subnet")
    assert len(parts) == zones
    assert output_of(group).startswith("PublishOutputFnGetAttNetworkPolicyAgents")


@pytest.mark.parametrize("stage", STAGES)
def test_no_credential_in_plain_environment_variables(synthesized: Synthesized, stage: str) -> None:
    """A variable named like a credential is allowed only when it holds a reference to a Data
    stack resource: a secret's ARN (``..._SECRET_ARN``) or a table's name (``OUTPOST_TABLE_API_KEYS``:
    the table of API-key hashes); or one of these exact literals: the placeholder in an agent
    CLI's key variable (the credential proxy replaces it), where the dispatch's GitHub token is
    written and what it may do (docs/credentials.md)."""
    allowed = {"_SECRET_ARN": "AWS::SecretsManager::Secret", "OUTPOST_TABLE_": "AWS::DynamoDB::Table"}
    literals = {
        **{variable: "outpost-credential-proxy" for _, variable in AGENT_SECRETS.values()},
        "OUTPOST_GITHUB_TOKEN_FILE": "/mnt/workspaces/.outpost/github-token",
        "OUTPOST_GITHUB_TOKEN_PATH": ".outpost/github-token",
        "OUTPOST_GITHUB_TOKEN_PERMISSIONS": '{"contents": "write", "pull_requests": "write"}',
    }
    resources = synthesized.template(f"{stage}/Data")["Resources"]
    for definition in synthesized.resources(f"{stage}/Service", "AWS::ECS::TaskDefinition").values():
        for box in definition["Properties"]["ContainerDefinitions"]:
            for variable in box.get("Environment", []):
                name = variable["Name"]
                if not SECRET_LIKE.search(name):
                    continue
                if name in literals:
                    assert variable["Value"] == literals[name], (box["Name"], name)
                    continue
                kinds = [k for marker, k in allowed.items() if marker in name]
                assert len(kinds) == 1, (box["Name"], name)
                kind = kinds[0]
                value = from_data(synthesized, stage, variable["Value"])
                assert resources[value["Data"]["Ref"]]["Type"] == kind, (box["Name"], name)


@pytest.mark.parametrize("stage", STAGES)
def test_control_plane_service(synthesized: Synthesized, stage: str) -> None:
    wanted = settings(stage)["service"]["control_plane"]
    svc_id, svc = at(synthesized, f"{stage}/Service", "ControlPlane/Service/Service")
    p = svc["Properties"]
    deployments = p["DeploymentConfiguration"]
    assert deployments["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert (deployments["MinimumHealthyPercent"], deployments["MaximumPercent"]) == (100, 200)
    # The count is autoscaling's (tests/app/test_releases.py), between min_tasks and max_tasks.
    assert "DesiredCount" not in p
    assert wanted["min_tasks"] >= 1
    assert p["CapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE", "Weight": 1}]
    assert p["AvailabilityZoneRebalancing"] == "ENABLED"
    assert p["PlatformVersion"] == "LATEST"
    assert p["EnableExecuteCommand"] is False
    network = p["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    [group] = network["SecurityGroups"]
    assert output_of(group).startswith("PublishOutputFnGetAttNetworkPolicyControlPlane")
    zones = settings(stage)["network"]["availability_zones"]
    # One private subnet per zone: ECS spreads the tasks over the zones.
    assert len(network["Subnets"]) == len(zones)
    assert all("PrivateSubnet" in output_of(s) for s in network["Subnets"])
    # Tasks start once their permissions exist and FARGATE is associated with the cluster.
    assert {
        *(logical_id(synthesized, stage, f"ControlPlane/{policy}/Resource") for policy in POLICIES),
        logical_id(synthesized, stage, "Cluster/Cluster"),
    } <= set(svc["DependsOn"])
    assert svc_id


@pytest.mark.parametrize("stage", STAGES)
def test_control_plane_scales_on_cpu_within_bounds(synthesized: Synthesized, stage: str) -> None:
    wanted = settings(stage)["service"]["control_plane"]
    target_id, target = at(synthesized, f"{stage}/Service", "ControlPlane/Service/TaskCount/Target/Resource")
    assert (target["Properties"]["MinCapacity"], target["Properties"]["MaxCapacity"]) == (
        wanted["min_tasks"],
        wanted["max_tasks"],
    )
    policy = props(synthesized, stage, "ControlPlane/Service/TaskCount/Target/CpuScaling/Resource")
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["ScalingTargetId"] == ref(target_id)
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == wanted["cpu_target_percent"]
    assert tracking["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
    }
    assert tracking["ScaleInCooldown"] == wanted["scale_in_cooldown_seconds"]
    assert tracking["ScaleOutCooldown"] == wanted["scale_out_cooldown_seconds"]


@pytest.mark.parametrize("stage", stages_of_kind("production"))
def test_production_runs_at_least_two_tasks(synthesized: Synthesized, stage: str) -> None:
    target = props(synthesized, stage, "ControlPlane/Service/TaskCount/Target/Resource")
    assert target["MinCapacity"] >= 2
    assert len(settings(stage)["network"]["availability_zones"]) >= 2


def test_bootstrap_mode_starts_no_task_and_request_scaling_plugs_in(synthesized: Synthesized) -> None:
    """First deploy into an empty registry: the service exists with 0 tasks, nothing to pull.

    Also proves that the front door's target group drives a request-count scaling policy
    and that registering the service as a target added no security-group rule.
    """
    context = shipped_context()
    name = of_kind("development")
    set_path(context["outpost"]["environments"][name], "service.control_plane.bootstrap", True)
    context["aws:cdk:enable-path-metadata"] = True  # security groups are named by construct path
    app = cdk.App(context=context)
    [config] = load_environments(app.node.try_get_context, only=name)
    stage = OutpostStage(app, config=config)
    stack = stage.service

    template = Template.from_stack(stack)
    # Registering the service as a target added no rule to the control plane's group: the
    # network policy's one rule (load balancer -> the container port) is all there is, in either stack.
    network_rules = rules([Template.from_stack(stage.network).to_json(), template.to_json()])
    assert [r for r in network_rules if r.group == "ControlPlane" and r.direction == "ingress"] == [
        Rule(
            "ControlPlane",
            "ingress",
            "LoadBalancer",
            "tcp",
            CONTROL_PLANE_PORT,
            CONTROL_PLANE_PORT,
            "Load balancer forwards API requests to the control-plane container port",
        )
    ]
    assert template.find_resources("AWS::EC2::SecurityGroupIngress") == {}

    template.has_resource_properties("AWS::ECS::Service", {"DesiredCount": 0})
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 0, "MaxCapacity": 0}
    )
    # The deploy after it (bootstrap: false) drops DesiredCount, which CloudFormation then omits
    # from the update (the service stays at 0), and raises the scalable target's floor, which
    # lifts the running count to min_tasks ("If it's below the minimum capacity ...
    # Application Auto Scaling adjusts the capacity", RegisterScalableTarget).
    shipped = config.stage_name
    after = props(synthesized, shipped, "ControlPlane/Service/Service")
    floor = props(synthesized, shipped, "ControlPlane/Service/TaskCount/Target/Resource")["MinCapacity"]
    assert "DesiredCount" not in after
    assert floor == settings(shipped)["service"]["control_plane"]["min_tasks"] >= 1
    policies = template.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy")
    metrics = {
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
            "PredefinedMetricType"
        ]: p["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        for p in policies.values()
    }
    assert set(metrics) == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
    assert (
        metrics["ALBRequestCountPerTarget"]["TargetValue"] == config.service.control_plane.requests_per_target
    )
