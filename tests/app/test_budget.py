"""Each environment's AWS Budgets budget (Alerts stack): its limit follows the estimate written
in settings (tests/test_cost.py checks that figure against `make cost`), and it tells the alarm
topic, which admits AWS Budgets of this account, at the forecast and actual thresholds."""

from __future__ import annotations

import math

import pytest

from config import EnvironmentConfig, load_environments
from tests.environments import STAGES, THROWAWAY, config_of, name_of
from tests.synth import Synthesized, shipped_context
from tests.templates import ending, only, ref

SHIPPED = {env.stage_name: env for env in load_environments(shipped_context().get)}


def built_from(stage: str) -> EnvironmentConfig:
    """The settings the synth holding ``stage`` was built from: whether an environment shares its
    account depends on which environments that synth had (the shipped one has no throwaway)."""
    return config_of(stage) if name_of(stage) in THROWAWAY else SHIPPED[stage]


@pytest.mark.parametrize("stage", STAGES)
def test_budget_limit_and_notifications_follow_settings(synthesized: Synthesized, stage: str) -> None:
    config = built_from(stage)
    settings = config.budget
    topic_id, _ = ending(synthesized, f"{stage}/Alerts", "/Alarms/Topic/Resource", "AWS::SNS::Topic")
    _, budget = only(synthesized, f"{stage}/Alerts", "AWS::Budgets::Budget")
    props = budget["Properties"]
    data = props["Budget"]
    assert data["BudgetName"] == f"outpost-{name_of(stage)}"
    assert data["BudgetType"] == "COST"
    assert data["TimeUnit"] == "MONTHLY"
    limit = math.ceil(settings.monthly_estimate_usd * settings.limit_percent / 100)
    assert data["BudgetLimit"] == {"Amount": limit, "Unit": "USD"}
    # Alone in its account the budget counts the account; sharing it, only its own tag.
    if config.shares_account:
        assert data["CostFilters"] == {"TagKeyValue": [f"user:Environment${name_of(stage)}"]}
    else:
        assert "CostFilters" not in data
    notifications = {n["Notification"]["NotificationType"]: n for n in props["NotificationsWithSubscribers"]}
    assert set(notifications) == {"FORECASTED", "ACTUAL"}
    for kind, percent in (("FORECASTED", settings.forecast_percent), ("ACTUAL", settings.actual_percent)):
        notification = notifications[kind]["Notification"]
        assert notification["ComparisonOperator"] == "GREATER_THAN"
        assert notification["Threshold"] == percent
        assert notification["ThresholdType"] == "PERCENTAGE"
        assert notifications[kind]["Subscribers"] == [
            {"SubscriptionType": "SNS", "Address": ref(topic_id)},
            *({"SubscriptionType": "EMAIL", "Address": email} for email in settings.emails),
        ]


@pytest.mark.parametrize("stage", STAGES)
def test_budgets_may_publish_to_the_encrypted_topic(synthesized: Synthesized, stage: str) -> None:
    """AWS Budgets needs sns:Publish in the topic policy and the key's use in its key policy."""
    path = f"{stage}/Alerts"
    (policy,) = synthesized.resources(path, "AWS::SNS::TopicPolicy").values()
    (publish,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "AllowBudgetsOfThisAccount"
    ]
    assert publish["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert publish["Action"] == "sns:Publish"
    assert set(publish["Condition"]) == {"StringEquals", "ArnLike"}
    _, key = ending(synthesized, path, "/Alarms/TopicKey/Resource", "AWS::KMS::Key")
    (use,) = [
        s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid") == "AllowBudgetsOfThisAccount"
    ]
    assert use["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert use["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
