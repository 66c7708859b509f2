"""constructs/front_door.py: listeners, TLS, path rules, target group, ALB attributes, WAF, logs.

A throwaway app synthesized once for this module: per environment of the session (with a
certificate or without) the real Network stack, and a test stack holding a minimal Fargate
service behind a FrontDoor, with all six cdk-nag packs (tests/front_door_app.py). What a
test expects follows the environment's certificate, kind and settings, never its name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compliance.packs import unacknowledged_findings
from config.api import CONTROL_PLANE_PORT, HEALTH_CHECK_PATH
from tests.app.test_network_policy import POLICY, clients
from tests.environments import STAGES, is_production, name_of
from tests.front_door_app import Synth, synthesize_front_door
from tests.synth import Synthesized
from tests.templates import account, region, settings
from tools.review.flows import flows, rules


def https(stage: str) -> bool:
    return settings(stage)["ingress"].get("certificate_arn") is not None


HTTPS = [stage for stage in STAGES if https(stage)]
HTTP_ONLY = [stage for stage in STAGES if not https(stage)]

# The public routes: the seven operations the MCP tools call and the load balancer's check,
# by method and exact path (config/api.py; docs/service.md lists the same).
ROUTES = {
    10: (["GET", "HEAD"], [HEALTH_CHECK_PATH, "/health"]),
    20: (["POST"], ["/api/v2/jobs", "/api/v2/jobs/*/cancel"]),
    30: (["GET", "HEAD"], ["/api/v2/jobs/*", "/api/v2/workspaces", "/api/v2/artifacts/*"]),
    40: (["DELETE"], ["/api/v2/workspaces/*"]),
}


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize_front_door(Path(tmp_path_factory.mktemp("front-door")))


def listeners(synth: Synth, stage: str) -> dict[int, tuple[str, dict[str, Any]]]:
    found = synth.resources(stage, "AWS::ElasticLoadBalancingV2::Listener")
    return {r["Properties"]["Port"]: (k, r["Properties"]) for k, r in found.items()}


NOT_FOUND = {
    "Type": "fixed-response",
    "FixedResponseConfig": {
        "StatusCode": "404",
        "ContentType": "application/json",
        "MessageBody": '{"error":"not found"}',
    },
}


@pytest.mark.parametrize("stage", HTTPS)
def test_with_a_certificate_serves_tls13_and_404_by_default(synth: Synth, stage: str) -> None:
    listener = listeners(synth, stage)[443][1]
    assert listener["Protocol"] == "HTTPS"
    assert listener["Certificates"] == [{"CertificateArn": settings(stage)["ingress"]["certificate_arn"]}]
    assert listener["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09"
    assert listener["DefaultActions"] == [NOT_FOUND]


@pytest.mark.parametrize("stage", HTTPS)
def test_with_a_certificate_port_80_only_redirects_to_https(synth: Synth, stage: str) -> None:
    assert sorted(listeners(synth, stage)) == [80, 443]
    http = listeners(synth, stage)[80][1]
    assert http["Protocol"] == "HTTP"
    assert http["DefaultActions"] == [
        {
            "Type": "redirect",
            "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"},
        }
    ]
    # No rule hangs on the redirecting listener: nothing is served over plain HTTP.
    http_id = listeners(synth, stage)[80][0]
    for rule in synth.resources(stage, "AWS::ElasticLoadBalancingV2::ListenerRule").values():
        assert rule["Properties"]["ListenerArn"] != {"Ref": http_id}


@pytest.mark.parametrize("stage", HTTP_ONLY)
def test_without_certificate_serves_http_only(synth: Synth, stage: str) -> None:
    assert sorted(listeners(synth, stage)) == [80]
    http = listeners(synth, stage)[80][1]
    assert http["Protocol"] == "HTTP"
    assert "Certificates" not in http
    assert http["DefaultActions"] == [NOT_FOUND]


@pytest.mark.parametrize("stage", STAGES)
def test_only_the_api_paths_reach_the_service(synth: Synth, stage: str) -> None:
    listener_id = listeners(synth, stage)[443 if https(stage) else 80][0]
    target_group_id, _ = synth.one(stage, "AWS::ElasticLoadBalancingV2::TargetGroup")
    found = {}
    for rule in synth.resources(stage, "AWS::ElasticLoadBalancingV2::ListenerRule").values():
        props = rule["Properties"]
        assert props["ListenerArn"] == {"Ref": listener_id}
        assert props["Actions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": target_group_id}}]
        methods, paths = props["Conditions"]
        assert (methods["Field"], paths["Field"]) == ("http-request-method", "path-pattern")
        found[props["Priority"]] = (
            methods["HttpRequestMethodConfig"]["Values"],
            paths["PathPatternConfig"]["Values"],
        )
        # The ALB's limits: 3 values per condition, 5 per rule.
        assert max(len(v) for v in found[props["Priority"]]) <= 3
        assert sum(len(v) for v in found[props["Priority"]]) <= 5
    assert found == ROUTES


@pytest.mark.parametrize("stage", STAGES)
def test_target_group_checks_health_live_on_the_container_port(synth: Synth, stage: str) -> None:
    target_group_id, props = synth.one(stage, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert props["Port"] == CONTROL_PLANE_PORT
    assert props["Protocol"] == "HTTP"
    assert props["TargetType"] == "ip"
    assert props["HealthCheckPath"] == HEALTH_CHECK_PATH
    assert props["HealthCheckProtocol"] == "HTTP"
    assert props["Matcher"] == {"HttpCode": "200"}
    assert props["HealthCheckIntervalSeconds"] == 15
    assert props["HealthCheckTimeoutSeconds"] == 5
    assert {"Key": "deregistration_delay.timeout_seconds", "Value": "30"} in props["TargetGroupAttributes"]
    _, service = synth.one(stage, "AWS::ECS::Service")
    assert service["LoadBalancers"] == [
        {
            "ContainerName": "api",
            "ContainerPort": CONTROL_PLANE_PORT,
            "TargetGroupArn": {"Ref": target_group_id},
        }
    ]


def alb_attributes(synth: Synth, stage: str) -> dict[str, Any]:
    _, props = synth.one(stage, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    return {a["Key"]: a["Value"] for a in props["LoadBalancerAttributes"]}


@pytest.mark.parametrize("stage", STAGES)
def test_load_balancer_is_public_in_the_public_subnets_with_the_policy_group(
    synth: Synth, stage: str
) -> None:
    _, props = synth.one(stage, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert props["Scheme"] == "internet-facing"
    assert props["Type"] == "application"
    assert props["IpAddressType"] == "ipv4"
    (group,) = props["SecurityGroups"]
    assert "NetworkPolicyLoadBalancer" in json.dumps(group)
    assert len(props["Subnets"]) == len(settings(stage)["network"]["availability_zones"])
    assert all("PublicSubnet" in json.dumps(subnet) for subnet in props["Subnets"])


@pytest.mark.parametrize("stage", STAGES)
def test_load_balancer_attributes(synth: Synth, stage: str) -> None:
    attributes = alb_attributes(synth, stage)
    bucket_id, _ = synth.one(stage, "AWS::S3::Bucket")
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == {"Ref": bucket_id}
    assert attributes["access_logs.s3.prefix"] == "alb"
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["routing.http.desync_mitigation_mode"] == "strictest"
    assert attributes["routing.http2.enabled"] == "true"
    assert attributes["idle_timeout.timeout_seconds"] == str(
        settings(stage)["ingress"]["idle_timeout_seconds"]
    )
    assert attributes.get("waf.fail_open.enabled", "false") == "false"  # WAF down: refuse, not pass


@pytest.mark.parametrize("stage", STAGES)
def test_deletion_protection_in_production_only(synth: Synth, stage: str) -> None:
    protected = alb_attributes(synth, stage).get("deletion_protection.enabled", "false")
    assert protected == ("true" if is_production(stage) else "false")


@pytest.mark.parametrize("stage", STAGES)
def test_access_log_bucket_lets_only_elb_log_delivery_write(synth: Synth, stage: str) -> None:
    bucket_id, bucket = synth.one(stage, "AWS::S3::Bucket")
    (sse,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert sse["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}  # ELB logs need SSE-S3
    assert bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    expiry = bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"]
    assert expiry == settings(stage)["ingress"]["access_log_retention_days"]
    _, policy = synth.one(stage, "AWS::S3::BucketPolicy")
    assert policy["Bucket"] == {"Ref": bucket_id}
    statements = policy["PolicyDocument"]["Statement"]
    writers = [s for s in statements if s["Effect"] == "Allow" and "s3:PutObject" in json.dumps(s["Action"])]
    # us-east-1's Elastic Load Balancing account and the log delivery service, only under alb/.
    assert region(stage) == "us-east-1", "another region has another Elastic Load Balancing account"
    assert sorted(json.dumps(s["Principal"]) for s in writers) == [
        '{"AWS": "arn:aws:iam::127311923021:root"}',
        '{"Service": "delivery.logs.amazonaws.com"}',
    ]
    for statement in writers:
        assert statement["Action"] == "s3:PutObject"
        (_, suffix) = statement["Resource"]["Fn::Join"][1]
        assert suffix == f"/alb/AWSLogs/{account(stage)}/*"
    others = {
        json.dumps(s["Principal"])
        for s in statements
        if s["Effect"] == "Allow" and s not in writers and "delivery.logs" not in json.dumps(s["Principal"])
    }
    # Besides the writers, nobody: the logs are kept in every environment, so no
    # empty-on-delete handler may touch them either.
    assert others == set(), others
    denies = [s for s in statements if s["Effect"] == "Deny"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in [s["Condition"] for s in denies]


@pytest.mark.parametrize("stage", STAGES)
def test_access_logs_are_kept_when_the_stack_goes(synth: Synth, stage: str) -> None:
    """Request logs are security evidence: retained everywhere, expired by lifecycle."""
    (bucket,) = synth.resources(stage, "AWS::S3::Bucket").values()
    assert bucket["DeletionPolicy"] == "Retain"
    assert bucket["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize("stage", STAGES)
def test_web_acl_rules(synth: Synth, stage: str) -> None:
    limit = settings(stage)["ingress"]["rate_limit_per_5_minutes"]
    _, acl = synth.one(stage, "AWS::WAFv2::WebACL")
    assert acl["Scope"] == "REGIONAL"
    assert acl["DefaultAction"] == {"Allow": {}}
    assert acl["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True
    assert acl["VisibilityConfig"]["SampledRequestsEnabled"] is True
    by_name = {rule["Name"]: rule for rule in acl["Rules"]}
    assert [(r["Priority"], r["Name"]) for r in acl["Rules"]] == [
        (10, "AWS-AWSManagedRulesAmazonIpReputationList"),
        (20, "RateLimitPerIp"),
        (21, "RateLimitPerApiKey"),
        (22, "RateLimitPerBearer"),
        (30, "AWS-AWSManagedRulesCommonRuleSet"),
        (40, "AWS-AWSManagedRulesKnownBadInputsRuleSet"),
    ]
    for rule in acl["Rules"]:
        assert rule["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True
        assert rule["VisibilityConfig"]["SampledRequestsEnabled"] is True
        if rule["Name"].startswith("AWS-"):
            managed = rule["Statement"]["ManagedRuleGroupStatement"]
            assert managed["VendorName"] == "AWS"
            assert f"AWS-{managed['Name']}" == rule["Name"]
            assert rule["OverrideAction"] == {"None": {}}  # the groups block; nothing is count-only
    common = by_name["AWS-AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    # Only the rules on the body count: a dispatch's prompt and code would trip them. Every
    # other rule of the set (URI path, query string, headers, cookies) keeps blocking.
    assert common["RuleActionOverrides"] == [
        {"Name": rule, "ActionToUse": {"Count": {}}}
        for rule in (
            "SizeRestrictions_BODY",
            "CrossSiteScripting_BODY",
            "GenericLFI_BODY",
            "GenericRFI_BODY",
            "EC2MetaDataSSRF_BODY",
        )
    ]
    assert all(o["Name"].endswith("_BODY") for o in common["RuleActionOverrides"])
    rate = by_name["RateLimitPerIp"]
    assert rate["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "Limit": limit,
        "EvaluationWindowSec": 300,
    }
    per_credential = settings(stage)["ingress"]["rate_limit_per_credential_per_5_minutes"]
    for name, header in (("RateLimitPerApiKey", "x-api-key"), ("RateLimitPerBearer", "authorization")):
        # One aggregation instance per value of the API's credential header: a limit per key.
        assert by_name[name]["Statement"]["RateBasedStatement"] == {
            "AggregateKeyType": "CUSTOM_KEYS",
            "CustomKeys": [
                {"Header": {"Name": header, "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}
            ],
            "Limit": per_credential,
            "EvaluationWindowSec": 300,
        }
    assert per_credential < limit
    for name in ("RateLimitPerIp", "RateLimitPerApiKey", "RateLimitPerBearer"):
        assert by_name[name]["Action"] == {
            "Block": {"CustomResponse": {"ResponseCode": 429, "CustomResponseBodyKey": "TooManyRequests"}}
        }


@pytest.mark.parametrize("stage", STAGES)
def test_web_acl_guards_the_load_balancer(synth: Synth, stage: str) -> None:
    alb_id, _ = synth.one(stage, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    acl_id, _ = synth.one(stage, "AWS::WAFv2::WebACL")
    _, association = synth.one(stage, "AWS::WAFv2::WebACLAssociation")
    assert association == {"ResourceArn": {"Ref": alb_id}, "WebACLArn": {"Fn::GetAtt": [acl_id, "Arn"]}}


@pytest.mark.parametrize("stage", STAGES)
def test_waf_logs_go_to_an_encrypted_expiring_group_without_credentials(synth: Synth, stage: str) -> None:
    acl_id, _ = synth.one(stage, "AWS::WAFv2::WebACL")
    _, logging = synth.one(stage, "AWS::WAFv2::LoggingConfiguration")
    assert logging["ResourceArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    name = f"aws-waf-logs-outpost-{name_of(stage)}"
    ((group_id, group),) = [
        (k, g["Properties"])
        for k, g in synth.resources(stage, "AWS::Logs::LogGroup").items()
        if g["Properties"].get("LogGroupName") == name
    ]
    owner, where = account(stage), region(stage)
    # The log group's ARN without the ":*" CloudFormation's Arn attribute ends with.
    assert logging["LogDestinationConfigs"] == [
        {"Fn::Join": ["", [f"arn:aws:logs:{where}:{owner}:log-group:", {"Ref": group_id}]]}
    ]
    assert {f["SingleHeader"]["Name"] for f in logging["RedactedFields"]} == {
        "authorization",
        "x-api-key",
        "cookie",
    }
    assert "KmsKeyId" in group
    assert group["RetentionInDays"] == settings(stage)["ingress"]["waf_log_retention_days"]
    _, policy = synth.one(stage, "AWS::Logs::ResourcePolicy")
    # The policy document is a JSON string with the group's name spliced in: resolve it.
    parts = policy["PolicyDocument"]["Fn::Join"][1]
    document = json.loads("".join(name if isinstance(p, dict) else p for p in parts))
    (statement,) = document["Statement"]
    assert statement["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == f"arn:aws:logs:{where}:{owner}:log-group:{name}:log-stream:*"
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": owner},
        "ArnLike": {"aws:SourceArn": f"arn:aws:logs:{where}:{owner}:*"},
    }


@pytest.mark.parametrize("stage", STAGES)
def test_outputs_name_the_api_url_and_dns_name(synth: Synth, stage: str) -> None:
    """With a certificate, https:// and the domain; without one (then no domain), http:// and the DNS name."""
    outputs = synth.templates[f"{stage}/FrontDoorTest"]["Outputs"]
    alb_id, _ = synth.one(stage, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert outputs["LoadBalancerDnsName"]["Value"] == {"Fn::GetAtt": [alb_id, "DNSName"]}
    if https(stage):
        url = f"https://{settings(stage)['ingress']['domain_name']}"
        assert synth.urls[stage] == url
        assert outputs["ApiUrl"]["Value"] == url
    else:
        dns = {"Fn::GetAtt": [alb_id, "DNSName"]}
        assert outputs["ApiUrl"]["Value"] == {"Fn::Join": ["", ["http://", dns]]}


@pytest.mark.parametrize("stage", STAGES)
def test_front_door_adds_no_security_group_rule(synth: Synth, stage: str) -> None:
    """The network policy stays the one in the Network stack: the derived flows do not change."""
    stage_templates = [t for path, t in synth.templates.items() if path.startswith(f"{stage}/")]
    assert set(flows(rules(stage_templates))) == POLICY | clients(stage)
    for type_ in (
        "AWS::EC2::SecurityGroupIngress",
        "AWS::EC2::SecurityGroupEgress",
        "AWS::EC2::SecurityGroup",
    ):
        assert synth.resources(stage, type_) == {}


SECURITY_GROUP_TYPES = (
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
)


def group_rules(template: dict[str, Any]) -> dict[str, Any]:
    """Every security group and rule resource, without tags."""
    return {
        logical_id: {k: v for k, v in resource["Properties"].items() if k != "Tags"}
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] in SECURITY_GROUP_TYPES
    }


@pytest.mark.parametrize("stage", STAGES)
def test_network_stack_rules_are_untouched(synth: Synth, synthesized: Synthesized, stage: str) -> None:
    """Not even a duplicate rule lands in the Network stack: its groups are the app's own."""
    app_network = synthesized.template(f"{stage}/Network")
    assert group_rules(synth.templates[f"{stage}/Network"]) == group_rules(app_network)


def test_no_nag_findings(synth: Synth) -> None:
    assert unacknowledged_findings(synth.report) == []


def expected_acknowledgements(stage: str) -> set[tuple[str, str]]:
    """What a reviewer signs off on the front door: by certificate, kind and WAF log retention."""
    expected = set()
    if https(stage):
        expected.add(("ELBv2ACMCertificateRequired", "LoadBalancer/HttpRedirect/Resource"))
    else:
        expected |= {
            ("ALBHttpToHttpsRedirection", "LoadBalancer/Http/Resource"),
            ("ELBv2ACMCertificateRequired", "LoadBalancer/Http/Resource"),
            ("cfnguard::alb_http_to_https_redirection_check", "LoadBalancer/Http/Resource"),
        }
    if not is_production(stage):
        expected |= {
            ("ELBDeletionProtectionEnabled", "LoadBalancer/Resource"),
            ("cfnguard::elbv2_deletion_protection_enabled_check", "LoadBalancer/Resource"),
        }
        # AWS Control Tower (cfn-guard): WAF logs kept less than a year, development only.
        if settings(stage)["ingress"]["waf_log_retention_days"] < 365:
            expected.add(("cfnguard::cloudwatch_log_group_retention_period_check", "WafLogs/Resource"))
    return expected


def test_front_door_acknowledgements_are_the_expected_few(synth: Synth) -> None:
    """What a reviewer signs off: per stage, the rules acknowledged on the front door's constructs."""
    acknowledged: dict[str, set[tuple[str, str]]] = {stage: set() for stage in STAGES}
    for plugin in synth.report["pluginReports"]:
        for violation in plugin.get("suppressedViolations", []):
            for construct in violation["violatingConstructs"]:
                stage, path = construct["constructPath"].split("/", 1)
                if path.startswith("FrontDoorTest/FrontDoor/") and "/AccessLogs/" not in path:
                    name = violation["ruleName"]
                    rule = name.split("-", 1)[1] if "-" in name else f"cfnguard::{name}"
                    acknowledged[stage].add((rule, path.removeprefix("FrontDoorTest/FrontDoor/")))
    assert acknowledged == {stage: expected_acknowledgements(stage) for stage in STAGES}
    assert HTTPS, "the session holds an environment with a certificate"
    assert HTTP_ONLY, "the session holds an environment without a certificate"


def test_route_to_attaches_one_service_only(synth: Synth) -> None:
    front_door = synth.front_doors[HTTP_ONLY[0]]
    assert front_door.listener.node.path.endswith("FrontDoor/LoadBalancer/Http")
    assert front_door.redirect_listener is None
    assert synth.front_doors[HTTPS[0]].redirect_listener is not None
    with pytest.raises(RuntimeError, match="attaches one service"):
        front_door.route_to(
            synth.services[HTTP_ONLY[0]], port=CONTROL_PLANE_PORT, health_check_path=HEALTH_CHECK_PATH
        )


def test_the_documented_routes_are_the_routes() -> None:
    """docs/service.md's table of public routes is the contract the listener rules implement."""
    page = (Path(__file__).parents[2] / "docs" / "service.md").read_text()
    table = page.split("<!-- public routes -->", 2)[1]
    rows = [row.strip().split("|") for row in table.splitlines() if row.strip().startswith("| `")]
    documented = {
        (method, path)
        for row in rows
        for method in row[1].strip().strip("`").split("`, `")
        for path in row[2].strip().strip("`").split("`, `")
    }
    assert documented == {(m, p) for methods, paths in ROUTES.values() for m in methods for p in paths}
