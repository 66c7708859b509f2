"""The front door's AWS WAF web ACL: every request to the public API passes it first.

IP reputation (10), rate limits answering 429 per source address (20) and per API credential
(21: the ``X-API-Key`` header, 22: the ``Authorization`` header), the common rule set (30, its
rules on the request body only counting) and known bad inputs (40); every request it sees is logged to an
encrypted ``aws-waf-logs-*`` log group with the credentials headers redacted.

Why per credential: every API request arrives from one upstream address (the MCP server), so a
per-IP limit can only be a ceiling for the whole platform (it sits above the load model's 10x
peak); what keeps one user (or one leaked key) from starving the others is a limit per
credential. A rate-based rule with a custom aggregation key on a header counts each distinct
value of that header separately and does not count a request that lacks it
(https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-aggregation-options.html),
hence one rule per header the API accepts; a request carrying both is counted by both.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2

from config.names import resource_name
from constructs import Construct

TOO_MANY_REQUESTS_BODY = json.dumps({"error": "too many requests"}, separators=(",", ":"))

# The AWS managed rule groups, by priority. The rate limit sits between IP reputation and
# the (costlier) inspection rule sets.
MANAGED_RULE_GROUPS: tuple[tuple[int, str], ...] = (
    (10, "AWSManagedRulesAmazonIpReputationList"),
    (30, "AWSManagedRulesCommonRuleSet"),
    (40, "AWSManagedRulesKnownBadInputsRuleSet"),
)
RATE_LIMIT_PRIORITY = 20
RATE_LIMIT_RULE = "RateLimitPerIp"
# Evaluation window: one of 60, 120, 300, 600 s (API_RateBasedStatement); 300 s is the unit of the
# load model and of the 5xx alarms.
RATE_LIMIT_WINDOW_SECONDS = 300
# The API's credential headers (shared reference: ``X-API-Key`` or ``Authorization: Bearer``), by
# rule: (priority, rule name, header name as WAF matches it, lower case).
CREDENTIAL_RATE_LIMITS: tuple[tuple[int, str, str], ...] = (
    (21, "RateLimitPerApiKey", "x-api-key"),
    (22, "RateLimitPerBearer", "authorization"),
)
# Rules of the common rule set that only count (AWS WAF developer guide, "Core rule set (CRS)
# managed rule group": https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html).
# A dispatch's body is a prompt and code for a coding agent: longer than SizeRestrictions_BODY's
# 8 KB, and, for any web or systems repository, full of what the other body rules look for
# (`<script>` and `onerror=`, `../` paths, URLs, the instance metadata address). Blocking them
# would refuse ordinary dispatches with a 403 the client cannot fix. What the body becomes is
# data for an agent whose task runs contained (egress allow-list, no credentials of its own);
# the control plane stores it and opens no path or URL from it. The rules still run, label and
# count (their metrics and the WAF log show every match); the rules on the URI, query string,
# headers and cookies still block.
COMMON_RULES_COUNTED = (
    "SizeRestrictions_BODY",
    "CrossSiteScripting_BODY",
    "GenericLFI_BODY",
    "GenericRFI_BODY",
    "EC2MetaDataSSRF_BODY",
)
# Never written to the WAF logs: the API's credentials.
REDACTED_HEADERS = ("authorization", "x-api-key", "cookie")


class WebAcl(wafv2.CfnWebACL):
    """The web ACL (a ``CfnWebACL``: WAF has no L2), associated with ``protects`` and logging to
    ``log_group``.

    Its association (``<id>Association``), its logging configuration (``<id>Logging``) and the
    log group's delivery policy (``<log group id>Delivery``) are made beside it in ``scope``,
    not under it: they were the front door's children before this class existed, and one more
    path segment would change their logical ids (a replacement of each on the next deploy).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        rate_limit: int,
        credential_rate_limit: int,
        protects: elbv2.IApplicationLoadBalancer,
        log_group: logs.ILogGroup,
    ) -> None:
        def visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True,
                metric_name=resource_name(env_name, metric),
                sampled_requests_enabled=True,
            )

        rules = _rules(rate_limit, credential_rate_limit, visibility)
        web_acl_visibility = visibility("web-acl")
        super().__init__(
            scope,
            construct_id,
            scope="REGIONAL",
            description=f"Outpost {env_name}: filters every request to the public API",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            custom_response_bodies={
                "TooManyRequests": wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON", content=TOO_MANY_REQUESTS_BODY
                )
            },
            rules=rules,
            visibility_config=web_acl_visibility,
        )
        # Its CloudWatch dimensions (AWS WAF developer guide, "AWS WAF metrics and dimensions":
        # https://docs.aws.amazon.com/waf/latest/developerguide/waf-metrics.html), from the very
        # properties given to CloudFormation above, so a rule added there is watched too:
        # ``WebACL``, and per rule (its name, its ``Rule`` dimension).
        self.metric_name: str = _metric_name(web_acl_visibility)
        self.rule_metrics: tuple[tuple[str, str], ...] = tuple(
            (rule.name, _metric_name(rule.visibility_config)) for rule in rules
        )
        wafv2.CfnWebACLAssociation(
            scope,
            f"{construct_id}Association",
            resource_arn=protects.load_balancer_arn,
            web_acl_arn=self.attr_arn,
        )
        self._log_to(scope, f"{construct_id}Logging", log_group)

    def _log_to(self, scope: Construct, construct_id: str, log_group: logs.ILogGroup) -> None:
        """Every request the web ACL sees, to the encrypted ``aws-waf-logs-*`` group.

        The log group's own resource policy lets the log delivery service write to this one
        group, so WAF does not grow the account-wide ``AWSWAF-LOGS`` policy (10 per account,
        5,120 characters). Credentials headers are redacted before delivery.
        """
        stack = Stack.of(scope)
        # WAF wants the log group's ARN without the ``:*`` that ``log_group_arn`` ends with.
        log_group_arn = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=log_group.log_group_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        delivery = logs.ResourcePolicy(
            scope,
            f"{log_group.node.id}Delivery",
            policy_statements=[
                iam.PolicyStatement(
                    sid="WafLogDelivery",
                    principals=[iam.ServicePrincipal("delivery.logs.amazonaws.com")],
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[f"{log_group_arn}:log-stream:*"],
                    conditions={
                        "StringEquals": {"aws:SourceAccount": stack.account},
                        "ArnLike": {
                            "aws:SourceArn": stack.format_arn(
                                service="logs", resource="*", arn_format=ArnFormat.NO_RESOURCE_NAME
                            )
                        },
                    },
                )
            ],
        )
        logging = wafv2.CfnLoggingConfiguration(
            scope,
            construct_id,
            resource_arn=self.attr_arn,
            log_destination_configs=[log_group_arn],
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": header})
                for header in REDACTED_HEADERS
            ],
        )
        # The log group itself is ordered by the reference above (its ARN).
        logging.node.add_dependency(delivery)


def _metric_name(config: object) -> str:
    if not isinstance(config, wafv2.CfnWebACL.VisibilityConfigProperty):
        raise TypeError("a web ACL's visibility config must be a VisibilityConfigProperty")
    return config.metric_name


def _rules(
    rate_limit: int,
    credential_rate_limit: int,
    visibility: Callable[[str], wafv2.CfnWebACL.VisibilityConfigProperty],
) -> list[wafv2.CfnWebACL.RuleProperty]:
    """The managed rule groups and the rate limits, in priority order."""
    rules = [_managed_rule_group(priority, group, visibility) for priority, group in MANAGED_RULE_GROUPS]
    rules.append(
        _rate_limit(
            RATE_LIMIT_PRIORITY,
            RATE_LIMIT_RULE,
            wafv2.CfnWebACL.RateBasedStatementProperty(
                aggregate_key_type="IP", limit=rate_limit, evaluation_window_sec=RATE_LIMIT_WINDOW_SECONDS
            ),
            visibility,
        )
    )
    for priority, name, header in CREDENTIAL_RATE_LIMITS:
        key = wafv2.CfnWebACL.RateBasedStatementCustomKeyProperty(
            header=wafv2.CfnWebACL.RateLimitHeaderProperty(
                name=header,
                text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
            )
        )
        statement = wafv2.CfnWebACL.RateBasedStatementProperty(
            aggregate_key_type="CUSTOM_KEYS",
            custom_keys=[key],
            limit=credential_rate_limit,
            evaluation_window_sec=RATE_LIMIT_WINDOW_SECONDS,
        )
        rules.append(_rate_limit(priority, name, statement, visibility))
    return sorted(rules, key=_priority)


def _managed_rule_group(
    priority: int, group: str, visibility: Callable[[str], wafv2.CfnWebACL.VisibilityConfigProperty]
) -> wafv2.CfnWebACL.RuleProperty:
    """An AWS managed rule group, its actions as AWS sets them (``COMMON_RULES_COUNTED`` only count)."""
    counted = [
        wafv2.CfnWebACL.RuleActionOverrideProperty(
            name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
        )
        for rule in COMMON_RULES_COUNTED
    ]
    return wafv2.CfnWebACL.RuleProperty(
        name=f"AWS-{group}",
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS",
                name=group,
                rule_action_overrides=counted if group == "AWSManagedRulesCommonRuleSet" else None,
            )
        ),
        visibility_config=visibility(group),
    )


def _rate_limit(
    priority: int,
    name: str,
    statement: wafv2.CfnWebACL.RateBasedStatementProperty,
    visibility: Callable[[str], wafv2.CfnWebACL.VisibilityConfigProperty],
) -> wafv2.CfnWebACL.RuleProperty:
    """A rate-based rule: past its limit in its window, a JSON 429."""
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        action=wafv2.CfnWebACL.RuleActionProperty(
            block=wafv2.CfnWebACL.BlockActionProperty(
                custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                    response_code=429, custom_response_body_key="TooManyRequests"
                )
            )
        ),
        statement=wafv2.CfnWebACL.StatementProperty(rate_based_statement=statement),
        visibility_config=visibility(name),
    )


def _priority(rule: wafv2.CfnWebACL.RuleProperty) -> int:
    return int(rule.priority)
