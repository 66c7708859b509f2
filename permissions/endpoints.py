"""What may pass the VPC's endpoints: the data perimeter at the edge of the network.

A VPC endpoint's policy bounds every request that goes through it, whoever signs it ("Control
access to VPC endpoints using endpoint policies",
https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html). Without one, a
hijacked agent holding another account's keys (or a URL another account presigned) could write
the checkout to that account's bucket, table or registry through our endpoints, which never pass
the egress firewall. Here:

* **identity perimeter**, every endpoint that takes a policy: only principals of this account
  (``aws:PrincipalAccount``); another account's keys and its presigned URLs are refused;
* **resource perimeter**, the S3 and DynamoDB gateway endpoints: only this account's buckets
  and tables (``aws:ResourceAccount``), plus, for S3, the one AWS-owned bucket ECR serves image
  layers from, by URLs ECR presigns ("Minimum Amazon S3 bucket permissions for Amazon ECR",
  https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html#ecr-minimum-s3-perms).
  Interface endpoints keep no resource perimeter: the GuardDuty agent's image is in an AWS
  account's registry (docs/audit.md).

Changing an endpoint's policy updates it in place (``PolicyDocument`` of
``AWS::EC2::VPCEndpoint``: "Update requires: No interruption"). ``make paths`` checks every
call that crosses an endpoint against its policy, and that the attacker's own calls do not pass.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam

from constructs import IConstruct

# Interface endpoints whose service takes an endpoint policy (each service's "VPC endpoint
# policy" page); ECS ("...isn't currently supported", ECS developer guide, "Amazon ECS
# interface VPC endpoints") and the rest of config/network.py's list keep the default, full
# access, and say so in docs/egress.md.
POLICY_TAKING_INTERFACE_ENDPOINTS = frozenset({"ecr.api", "ecr.dkr", "logs", "secretsmanager", "sts", "kms"})


def this_account_only(scope: IConstruct, *, resources_too: bool) -> iam.PolicyStatement:
    """Anything, signed by a principal of ``scope``'s account; with ``resources_too``, only on a
    resource of that account as well."""
    account = Stack.of(scope).account
    condition = {"aws:PrincipalAccount": account}
    if resources_too:
        condition["aws:ResourceAccount"] = account
    return iam.PolicyStatement(
        sid="ThisAccountsPrincipalsOnThisAccountsResources" if resources_too else "ThisAccountsPrincipals",
        principals=[iam.AnyPrincipal()],
        actions=["*"],
        resources=["*"],
        conditions={"StringEquals": condition},
    )


def ecr_image_layers(scope: IConstruct) -> iam.PolicyStatement:
    """Image layers from the bucket ECR keeps them in, in ``scope``'s Region: ECR presigns the
    URLs, so the signer is ECR's account, not ours; reads of that one bucket only."""
    stack = Stack.of(scope)
    return iam.PolicyStatement(
        sid="EcrImageLayers",
        principals=[iam.AnyPrincipal()],
        actions=["s3:GetObject"],
        resources=[f"arn:{stack.partition}:s3:::prod-{stack.region}-starport-layer-bucket/*"],
    )
