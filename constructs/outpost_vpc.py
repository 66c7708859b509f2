"""The environment's VPC: public and private tiers, NAT, flow logs, endpoints and their policies."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam

from compliance.acknowledgements import acknowledge
from compliance.scanners import accept_cdk_provider
from config.names import pascal
from config.network import NetworkConfig
from constructs import Construct
from constructs.log_encryption import LogsKey
from permissions import endpoints

PUBLIC = "Public"
PRIVATE = "Private"


class OutpostVpc(Construct):
    """A VPC over explicit availability zones, so synth needs no AWS lookups.

    Public subnets hold only the load balancer and the NAT gateways and never give out
    public addresses; everything else runs in the private subnets. Every flow (accepted and
    rejected) is logged to an encrypted log group that expires.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: NetworkConfig,
        logs_key: LogsKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.vpc_cidr),
            availability_zones=list(config.availability_zones),
            nat_gateways=config.nat_gateways,
            subnet_configuration=_tiers(config),
            restrict_default_security_group=True,
            enable_dns_hostnames=True,
            enable_dns_support=True,
        )
        self._flow_logs(config, logs_key)
        self._explain()
        private = [ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)]
        # Both gateway endpoints: this account's principals on this account's resources only
        # (permissions/endpoints.py), and S3 also ECR's image layers.
        s3 = self.vpc.add_gateway_endpoint(
            "S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=private
        )
        dynamodb = self.vpc.add_gateway_endpoint(
            "DynamoDbEndpoint", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets=private
        )
        for endpoint in (s3, dynamodb):
            endpoint.add_to_policy(endpoints.this_account_only(self, resources_too=True))
        s3.add_to_policy(endpoints.ecr_image_layers(self))

    def _flow_logs(self, config: NetworkConfig, logs_key: LogsKey) -> None:
        """Every flow, accepted and rejected, to ``flow_log_group`` (``flow_log``)."""
        self.flow_log_group = logs_key.log_group(
            "FlowLogs", scope=self, retention_days=config.flow_log_retention_days
        )
        self.flow_log = self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                self.flow_log_group, self._flow_log_role()
            ),
            traffic_type=ec2.FlowLogTrafficType.ALL,
            max_aggregation_interval=ec2.FlowLogMaxAggregationInterval.ONE_MINUTE,
        )

    def _explain(self) -> None:
        """The subnets' findings, and CDK's provider that empties the default security group."""
        for subnet in [*self.vpc.public_subnets, *self.vpc.private_subnets]:
            acknowledge(
                subnet,
                "Zones are explicit settings so that synth needs no AWS lookup; the settings "
                "check rejects any zone outside the environment's region.",
                "CloudFormation-Validate::W3010",
            )
        # The public subnets' default routes lead to the egress firewall, not to the internet
        # gateway (constructs/egress_firewall.py): only the firewall's own subnets route there.
        accept_cdk_provider(
            self,
            "Custom::VpcRestrictDefaultSGCustomResourceProvider",
            purpose="CDK's handler that removes every rule of the VPC's default security group; its "
            "role may only revoke rules of this VPC's default group.",
        )

    @property
    def nat_gateway_ids(self) -> list[str]:
        """The ids of the NAT gateways (one per public subnet that holds one)."""
        gateways = (subnet.node.try_find_child("NATGateway") for subnet in self.vpc.public_subnets)
        return [gateway.ref for gateway in gateways if isinstance(gateway, ec2.CfnNatGateway)]

    def _flow_log_role(self) -> iam.IRole:
        """The flow-log delivery role, its permissions in a managed policy, not inline.

        The role is handed to the flow log without policy updates, so CDK cannot append an
        inline default policy; the managed policy grants exactly what delivery needs on
        this one log group, and the trust is limited to flow logs of this account.
        """
        stack = Stack.of(self)
        role = iam.Role(
            self,
            "FlowLogRole",
            assumed_by=iam.ServicePrincipal("vpc-flow-logs.amazonaws.com").with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="ec2", resource="vpc-flow-log", resource_name="*"
                        )
                    },
                }
            ),
            description="Delivers VPC flow logs to their encrypted log group",
        )
        iam.ManagedPolicy(
            self,
            "FlowLogDelivery",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    resources=[self.flow_log_group.log_group_arn],
                )
            ],
        )
        return role.without_policy_updates()

    def add_interface_endpoints(
        self, services: tuple[str, ...], *, security_group: ec2.ISecurityGroup
    ) -> dict[str, ec2.InterfaceVpcEndpoint]:
        """One private-DNS interface endpoint per service name (``ecr.dkr``, ``logs``, ...), for
        this account's principals only where the service takes an endpoint policy."""
        made = {}
        for name in services:
            made[name] = self.vpc.add_interface_endpoint(
                f"{pascal(name)}Endpoint",
                service=ec2.InterfaceVpcEndpointAwsService(name),
                private_dns_enabled=True,
                security_groups=[security_group],
                open=False,
                subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            )
            if name in endpoints.POLICY_TAKING_INTERFACE_ENDPOINTS:
                made[name].add_to_policy(endpoints.this_account_only(self, resources_too=False))
        return made


def _tiers(config: NetworkConfig) -> list[ec2.SubnetConfiguration]:
    """The public and private tiers, larger blocks first, so every subnet starts on a boundary of
    its own size."""
    tiers = [
        (
            config.public_subnet_mask,
            ec2.SubnetConfiguration(
                name=PUBLIC,
                subnet_type=ec2.SubnetType.PUBLIC,
                cidr_mask=config.public_subnet_mask,
                map_public_ip_on_launch=False,
            ),
        ),
        (
            config.private_subnet_mask,
            ec2.SubnetConfiguration(
                name=PRIVATE,
                subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS,
                cidr_mask=config.private_subnet_mask,
            ),
        ),
    ]
    return [tier for _, tier in sorted(tiers, key=lambda pair: pair[0])]
