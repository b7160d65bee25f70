"""Monthly budgets' domain (agentcron.monthly_budgets, agentcron.budgets): months, what a
month leaves for a run, which attempt crosses a budget, and what a stop says. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from agentcron.budgets import run_budget
from agentcron.models import Policies, Usage
from agentcron.monthly_budgets import MonthSpend, account_limit, crossed, month_of, next_month_start, task_limit

# 100k input + 10k output at Sonnet's list prices: $0.45.
ANSWER = Usage(input_tokens=100_000, output_tokens=10_000)


def usage_of(answers: int) -> Usage:
    return Usage(input_tokens=100_000 * answers, output_tokens=10_000 * answers)


@pytest.mark.parametrize(
    ("at", "month", "next_start"),
    [
        (datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), "2026-12", datetime(2027, 1, 1, tzinfo=UTC)),
        (datetime(2027, 1, 1, tzinfo=UTC), "2027-01", datetime(2027, 2, 1, tzinfo=UTC)),
        (datetime(2028, 2, 29, 12, tzinfo=UTC), "2028-02", datetime(2028, 3, 1, tzinfo=UTC)),
        # Months are UTC months: 00:30 on the 1st in Berlin is still the last day of the month in UTC.
        (datetime(2027, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), "2027-02", datetime(2027, 3, 1, tzinfo=UTC)),
    ],
)
def test_months_are_utc_calendar_months(at: datetime, month: str, next_start: datetime) -> None:
    assert month_of(at) == month
    assert next_month_start(at) == next_start


def test_only_the_attempt_that_reaches_the_budget_crosses_it() -> None:
    limit = task_limit(1.0, "refuse", MonthSpend("2026-12", Decimal("1.35"), 3))
    assert limit is not None and limit.spent and limit.left_usd == 0
    assert crossed(limit, Decimal("0.45"), limit.spend), "0.90 -> 1.35 crossed $1"
    assert not crossed(limit, Decimal("0.20"), limit.spend), "1.15 -> 1.35 was over already"
    assert task_limit(None, "refuse", limit.spend) is None
    assert account_limit(None, limit.spend) is None


def test_what_a_month_has_left_bounds_this_attempt_from_where_the_run_stood() -> None:
    month = task_limit(2.0, "refuse", MonthSpend("2026-12", Decimal("1.10")))
    assert month is not None
    # The run's earlier attempt ($0.45) is in the month already: this attempt may add $0.90 more.
    budget = run_budget(Policies(), [month], run_cost_usd=Decimal("0.45"))
    assert budget is not None
    assert budget.stop(usage_of(2), "claude-sonnet-5") is None  # $0.45 added
    stop = budget.stop(usage_of(3), "claude-sonnet-5")  # $0.90 added
    assert stop is not None and stop.type == "budget_exceeded"
    assert stop.message == (
        "stopped after spending $0.9 of the $0.9 left of the task's monthly budget "
        "($2 for 2026-12, policies.monthly_budget_usd, claude-sonnet-5 prices)"
    )


def test_the_tightest_limit_stops_the_run_and_says_which() -> None:
    account = account_limit(Decimal(100), MonthSpend("2026-12", Decimal("99.5")))
    assert account is not None
    budget = run_budget(Policies(max_cost_usd=5), [account])
    assert budget is not None
    stop = budget.stop(usage_of(2), "claude-sonnet-5")
    assert stop is not None and "your account's monthly budget ($100 for 2026-12, set by the operator" in stop.message
    assert run_budget(Policies()) is None


def test_an_unpriced_model_is_refused_by_any_limit_that_refuses_it() -> None:
    allowing = task_limit(5.0, "allow", MonthSpend("2026-12"))
    account = account_limit(Decimal(100), MonthSpend("2026-12"))
    assert allowing is not None and account is not None
    only_task = run_budget(Policies(unpriced_model="allow"), [allowing])
    assert only_task is not None and only_task.stop(ANSWER, "claude-next-preview") is None
    with_cap = run_budget(Policies(unpriced_model="allow"), [allowing, account])
    assert with_cap is not None
    stop = with_cap.stop(ANSWER, "claude-next-preview")
    assert stop is not None and stop.type == "budget_unpriced" and "ask the operator" in stop.message
