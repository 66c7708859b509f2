"""Settings of the environment's AWS Budgets budget: the monthly estimate it follows, and who is told.

The estimate is ``make cost``'s figure for the environment, written here by hand: the estimate
reads the synthesized templates, so synth cannot compute it without reading its own output, and
the app wing does not import the post-synth tools. ``tests/app/test_budget.py`` fails when the
written figure and ``make cost``'s differ by more than ``ESTIMATE_TOLERANCE_PERCENT``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from config.errors import ConfigError
from config.monitoring import EMAIL_PATTERN
from config.reader import Section
from config.schema import Group, integer, strings

ESTIMATE_TOLERANCE_PERCENT = 10
# AWS Budgets: at most 10 e-mail subscribers (and one SNS topic) per notification
# (https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_CreateNotification.html).
MAX_EMAILS = 10

BUDGET = Group(
    "budget",
    "The environment's monthly cost budget (AWS Budgets): `make cost`'s estimate times a factor; "
    "notifications go to the operations topic (and to `emails`).",
    (
        integer(
            "monthly_estimate_usd",
            "`make cost`'s monthly total for this environment, in whole dollars",
            minimum=1,
            maximum=10_000_000,
            rules=(f"within {ESTIMATE_TOLERANCE_PERCENT} % of `make cost`'s figure (a test checks it)",),
        ),
        integer(
            "limit_percent",
            "the budget's limit, in percent of the estimate",
            default=120,
            minimum=100,
            maximum=1_000,
        ),
        integer(
            "forecast_percent",
            "notify when the month's forecast passes this percent of the limit",
            default=100,
            minimum=1,
            maximum=1_000,
        ),
        integer(
            "actual_percent",
            "notify when the month's actual cost passes this percent of the limit",
            default=80,
            minimum=1,
            maximum=1_000,
        ),
        strings(
            "emails",
            "e-mail addresses told besides the operations topic",
            default=[],
            rules=(f"at most {MAX_EMAILS}", "each an e-mail address"),
        ),
    ),
)


@dataclass(frozen=True)
class BudgetConfig:
    monthly_estimate_usd: int
    limit_percent: int = 120
    forecast_percent: int = 100
    actual_percent: int = 80
    emails: tuple[str, ...] = ()

    @property
    def limit_usd(self) -> int:
        """The budget's monthly limit, whole dollars rounded up."""
        return -(-self.monthly_estimate_usd * self.limit_percent // 100)


def parse_budget(section: Section) -> BudgetConfig:
    emails = section.strings("emails")
    if len(emails) > MAX_EMAILS:
        raise ConfigError(
            section.key("emails"), len(emails), f"AWS Budgets tells at most {MAX_EMAILS} addresses"
        )
    for email in emails:
        if not re.fullmatch(EMAIL_PATTERN, email):
            raise ConfigError(section.key("emails"), email, "must be an e-mail address")
    config = BudgetConfig(
        monthly_estimate_usd=section.integer("monthly_estimate_usd"),
        limit_percent=section.integer("limit_percent"),
        forecast_percent=section.integer("forecast_percent"),
        actual_percent=section.integer("actual_percent"),
        emails=emails,
    )
    section.done()
    return config
