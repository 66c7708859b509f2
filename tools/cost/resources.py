"""Every resource type a template may hold: priced by a line item, or free with the reason why.

A type in neither list stops the estimate (``cost.estimate.check_coverage``): a new kind of
resource must be priced, or declared free with its reason, before the estimate counts again.
Nothing is ever counted as zero by omission.
"""

from __future__ import annotations

from tools.cost import compute, network_items, services

PRICED_TYPES: frozenset[str] = frozenset(
    network_items.PRICED_TYPES + compute.PRICED_TYPES + services.PRICED_TYPES
)

_VPC = "part of the VPC, which has no charge of its own"
_IAM = "IAM has no charge"
_POLICY = "a resource policy has no charge"
_DEPLOY_TIME = "a CloudFormation custom resource: its function runs at deploy time only"
_SCALING = "Application Auto Scaling has no charge of its own"
_BALANCER = "part of the load balancer (hours and LCUs)"
_EFS = "EFS charges for storage and throughput only"
_LOGGED = "its records are CloudWatch Logs ingestion, counted in logs_ingested_gb"

NO_CHARGE: dict[str, str] = {
    "AWS::EC2::VPC": _VPC,
    "AWS::EC2::Subnet": _VPC,
    "AWS::EC2::RouteTable": _VPC,
    "AWS::EC2::Route": _VPC,
    "AWS::EC2::SubnetRouteTableAssociation": _VPC,
    "AWS::EC2::InternetGateway": _VPC,
    "AWS::EC2::VPCGatewayAttachment": _VPC,
    "AWS::EC2::SecurityGroup": _VPC,
    "AWS::EC2::SecurityGroupIngress": _VPC,
    "AWS::EC2::SecurityGroupEgress": _VPC,
    "AWS::EC2::FlowLog": _LOGGED,
    "AWS::EC2::GatewayRouteTableAssociation": _VPC,
    "AWS::NetworkFirewall::RuleGroup": "part of the firewall, counted under Network Firewall",
    "AWS::NetworkFirewall::FirewallPolicy": "part of the firewall, counted under Network Firewall",
    "AWS::NetworkFirewall::LoggingConfiguration": _LOGGED,
    "AWS::Route53Resolver::FirewallRuleGroup": "DNS Firewall charges per query and per listed name, counted "
    "under DNS firewall",
    "AWS::IAM::Role": _IAM,
    "AWS::IAM::ManagedPolicy": _IAM,
    "AWS::IAM::Policy": _IAM,
    "AWS::IAM::OIDCProvider": _IAM,
    "AWS::S3::BucketPolicy": _POLICY,
    "AWS::SQS::QueuePolicy": _POLICY,
    "AWS::SNS::TopicPolicy": _POLICY,
    "AWS::Logs::ResourcePolicy": _POLICY,
    "AWS::ApplicationAutoScaling::ScalableTarget": _SCALING,
    "AWS::ApplicationAutoScaling::ScalingPolicy": _SCALING,
    "AWS::ECS::ClusterCapacityProviderAssociations": "ECS has no charge of its own; its tasks are counted",
    "AWS::ElasticLoadBalancingV2::Listener": _BALANCER,
    "AWS::ElasticLoadBalancingV2::TargetGroup": _BALANCER,
    "AWS::EFS::AccessPoint": _EFS,
    "AWS::EFS::MountTarget": _EFS,
    "AWS::Events::Rule": "rules over AWS events and schedules have no charge; what they invoke is counted",
    "AWS::Lambda::Permission": "part of a function, counted under Lambda",
    "AWS::Lambda::EventInvokeConfig": "part of a function, counted under Lambda",
    "AWS::WAFv2::WebACLAssociation": "part of the web ACL, counted under WAF",
    "AWS::WAFv2::LoggingConfiguration": _LOGGED,
    "AWS::SNS::Topic": "alarm notifications only: a few a month, within the million publishes SNS gives free",
    "AWS::SNS::Subscription": "alarm e-mails only: a few a month, within the 1,000 e-mails SNS gives free",
    "AWS::SQS::Queue": "dead letters only: within the million requests SQS gives free",
    "AWS::Budgets::Budget": "budgets without actions have no charge (AWS Budgets pricing: "
    "https://aws.amazon.com/aws-cost-management/aws-budgets/pricing/)",
    "Custom::VpcRestrictDefaultSG": _DEPLOY_TIME,
    "Custom::S3AutoDeleteObjects": _DEPLOY_TIME,
}

assert not PRICED_TYPES & set(NO_CHARGE), PRICED_TYPES & set(NO_CHARGE)
