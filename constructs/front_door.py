"""The public front door: an internet-facing ALB behind AWS WAF that lets only the API's paths in.

Callers reach the control plane only through this load balancer. It listens with TLS 1.3
(HTTPS on 443, port 80 only redirects) wherever a certificate is configured; a development
environment without one serves plain HTTP on 80. Every request passes the web ACL first
(IP reputation, a per-IP rate limit, the common and known-bad-inputs rule sets); then the
listener forwards only the API's paths to the control plane and answers anything else with
a fixed JSON 404, so nothing unknown reaches a task.

The construct adds no security-group rule: the load balancer uses the group the Network
stack's ``NetworkPolicy`` made, which already allows 443/80 from the internet and the
control plane's port to it (listeners are created with ``open=False``).
"""

from __future__ import annotations

import json

from aws_cdk import CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2

from compliance.acknowledgements import acknowledge, control_tower, in_packs
from compliance.scanners import skip_checkov
from config.api import PUBLIC_ROUTES
from config.ingress import IngressConfig
from config.names import resource_name
from constructs import Construct
from constructs.buckets import AccessLogBucket
from constructs.log_encryption import LogsKey
from constructs.network_policy import NetworkPolicy
from constructs.web_acl import WebAcl

# The compliance packs with the ELBv2ACMCertificateRequired rule (NIST 800-53 rev 4 has none).
PACKS_WITH_ACM_RULE = ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")

PACKS_WITH_DELETION_PROTECTION_RULE = ("HIPAA.Security", "NIST.800.53.R4", "NIST.800.53.R5")

HTTPS_PORT = 443
HTTP_PORT = 80

# TLS 1.3 only, with hybrid post-quantum key exchange (ML-KEM) where the client offers it and
# classical ECDHE where it does not: every TLS 1.3 client can connect, none can downgrade
# to TLS 1.2. (ELBSecurityPolicy-TLS13-1-3-PQ-2025-09.)
SSL_POLICY = elbv2.SslPolicy.TLS13_13_PQ


NOT_FOUND_BODY = json.dumps({"error": "not found"}, separators=(",", ":"))


class FrontDoor(Construct):
    """Public ALB, its listeners, access logs and web ACL; ``route_to`` attaches the service.

    Attributes: ``load_balancer``, ``listener`` (the one that serves: HTTPS 443, or HTTP 80
    without a certificate), ``redirect_listener`` (HTTP 80 -> 443, or ``None``),
    ``access_logs`` (the log bucket), ``web_acl``, ``waf_log_group``, ``url`` and, after
    ``route_to``, ``target_group``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: IngressConfig,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        logs_key: LogsKey,
        env_name: str,
        production: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self._vpc = vpc
        self._target_group: elbv2.ApplicationTargetGroup | None = None

        # Request logs are security evidence: kept when the stack goes, in every
        # environment, and expired by the bucket's lifecycle rule.
        self.access_logs = AccessLogBucket(
            self,
            "AccessLogs",
            expiration_days=config.access_log_retention_days,
            removal_policy=RemovalPolicy.RETAIN,
        ).bucket

        self.load_balancer = self._load_balancer(config, vpc, security_group, production)
        self._listeners(config)
        self.waf_log_group = logs_key.log_group(
            "WafLogs",
            scope=self,
            retention_days=config.waf_log_retention_days,
            log_group_name=f"aws-waf-logs-{resource_name(env_name)}",
        )
        self.web_acl = WebAcl(
            self,
            "WebAcl",
            env_name=env_name,
            rate_limit=config.rate_limit_per_5_minutes,
            credential_rate_limit=config.rate_limit_per_credential_per_5_minutes,
            protects=self.load_balancer,
            log_group=self.waf_log_group,
        )

        self._outputs(config)

    def _load_balancer(
        self, config: IngressConfig, vpc: ec2.IVpc, security_group: ec2.ISecurityGroup, production: bool
    ) -> elbv2.ApplicationLoadBalancer:
        """Internet-facing, in the public subnets, logging every request to ``access_logs``."""
        load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            # Routing to a target would otherwise add a second "load balancer -> target"
            # egress rule beside the network policy's own, which EC2 refuses as a duplicate.
            security_group=NetworkPolicy.without_rules(self, "SecurityGroup", security_group),
            ip_address_type=elbv2.IpAddressType.IPV4,
            deletion_protection=production,
            idle_timeout=Duration.seconds(config.idle_timeout_seconds),
            http2_enabled=True,
            drop_invalid_header_fields=True,
            desync_mitigation_mode=elbv2.DesyncMitigationMode.STRICTEST,
            waf_fail_open=False,
        )
        load_balancer.log_access_logs(self.access_logs, prefix="alb")
        if not production:
            acknowledge(
                load_balancer,
                "Development load balancer: deletion protection would block tearing the environment "
                "down; production sets it (deletion_protection=True) and dev holds no data of its own.",
                *in_packs("ELBDeletionProtectionEnabled", PACKS_WITH_DELETION_PROTECTION_RULE),
                control_tower("elbv2_deletion_protection_enabled_check"),
            )
        return load_balancer

    def _listeners(self, config: IngressConfig) -> None:
        """``listener`` (HTTPS 443 with a certificate, else HTTP 80) answering a fixed 404 until
        ``route_to``; with a certificate, ``redirect_listener`` (80 -> 443)."""
        not_found = elbv2.ListenerAction.fixed_response(
            404, content_type="application/json", message_body=NOT_FOUND_BODY
        )
        self.redirect_listener: elbv2.ApplicationListener | None = None
        if config.certificate_arn is not None:
            self.listener = self.load_balancer.add_listener(
                "Https",
                port=HTTPS_PORT,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_arn(config.certificate_arn)],
                ssl_policy=SSL_POLICY,
                open=False,
                default_action=not_found,
            )
            self.redirect_listener = self.load_balancer.add_listener(
                "HttpRedirect",
                port=HTTP_PORT,
                protocol=elbv2.ApplicationProtocol.HTTP,
                open=False,
                default_action=elbv2.ListenerAction.redirect(
                    protocol="HTTPS", port=str(HTTPS_PORT), permanent=True
                ),
            )
            acknowledge(
                self.redirect_listener,
                "Port 80 only answers 301 to https:// on 443 and forwards nothing: no certificate can "
                "apply to plain HTTP; the HTTPS listener uses the ACM certificate with a TLS 1.3 policy.",
                *in_packs("ELBv2ACMCertificateRequired", PACKS_WITH_ACM_RULE),
            )
        else:
            self.listener = self.load_balancer.add_listener(
                "Http",
                port=HTTP_PORT,
                protocol=elbv2.ApplicationProtocol.HTTP,
                open=False,
                default_action=not_found,
            )
            acknowledge(
                self.listener,
                "Plain HTTP only in a development environment without a certificate (the settings "
                "check makes a certificate mandatory in production, where port 80 only redirects).",
                *in_packs("ALBHttpToHttpsRedirection"),
                *in_packs("ELBv2ACMCertificateRequired", PACKS_WITH_ACM_RULE),
                control_tower("alb_http_to_https_redirection_check"),
            )
            for check_id in ("CKV_AWS_2", "CKV_AWS_103"):  # HTTPS listener, TLS 1.2 or later
                skip_checkov(
                    self.listener,
                    check_id,
                    "Plain HTTP only in a development environment without a certificate: the settings "
                    "check makes a certificate mandatory in production, where port 80 only redirects.",
                )

    def _outputs(self, config: IngressConfig) -> None:
        """``url`` and the outputs an operator needs: the API's URL and the DNS name to point at."""
        scheme = "https" if config.https else "http"
        self.url = f"{scheme}://{config.domain_name or self.load_balancer.load_balancer_dns_name}"
        CfnOutput(
            self,
            "ApiUrl",
            key="ApiUrl",
            value=self.url,
            description="Base URL of the Outpost API (curl <ApiUrl>/health)",
        )
        CfnOutput(
            self,
            "LoadBalancerDnsName",
            key="LoadBalancerDnsName",
            value=self.load_balancer.load_balancer_dns_name,
            description="Point the API's domain name (CNAME or alias record) at this name",
        )

    @property
    def target_group(self) -> elbv2.ApplicationTargetGroup:
        """The control plane's target group (``route_to`` makes it)."""
        if self._target_group is None:
            raise RuntimeError("FrontDoor.route_to() has not been called")
        return self._target_group

    def route_to(
        self,
        service: ecs.FargateService,
        *,
        port: int,
        health_check_path: str,
        container_name: str | None = None,
    ) -> elbv2.ApplicationTargetGroup:
        """Forward the API's routes (``config.api.PUBLIC_ROUTES``: methods and exact paths) on
        the serving listener to ``service``; anything else gets the listener's fixed 404.

        The target group registers the tasks by IP on ``port`` of ``container_name`` (the
        task definition's default container when not given) and checks ``health_check_path``,
        which must answer 200 whenever the process is up (``config.api.HEALTH_CHECK_PATH``).

        ``service`` must run in the NetworkPolicy's control-plane group, given to it as an
        immutable import (as ``ControlPlane`` does), and ``port`` must be the port that policy
        opens from the load balancer. The load balancer's group is an immutable import too, so
        CDK adds no rule for the registration on either side: the policy's own rules are the
        whole story (tests/test_deployability.py fails on any group or rule outside the
        Network stack).
        """
        if self._target_group is not None:
            raise RuntimeError("FrontDoor.route_to() attaches one service; it was called before")
        container = container_name or _default_container(service)
        target_group = elbv2.ApplicationTargetGroup(
            self,
            "ApiTargets",
            vpc=self._vpc,
            port=port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            deregistration_delay=Duration.seconds(30),
            health_check=elbv2.HealthCheck(
                path=health_check_path,
                protocol=elbv2.Protocol.HTTP,
                healthy_http_codes="200",
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
            targets=[service.load_balancer_target(container_name=container, container_port=port)],
        )
        for route in PUBLIC_ROUTES:
            self.listener.add_target_groups(
                f"Route{route.priority}",
                priority=route.priority,
                conditions=[
                    elbv2.ListenerCondition.http_request_methods(list(route.methods)),
                    elbv2.ListenerCondition.path_patterns(list(route.paths)),
                ],
                target_groups=[target_group],
            )
        self._target_group = target_group
        return target_group


def _default_container(service: ecs.FargateService) -> str:
    container = service.task_definition.default_container
    if container is None:
        raise ValueError("the service's task definition has no container to route to")
    return container.container_name
