"""Monthly budgets: what a task (`policies.monthly_budget_usd`) and an owner (the
operator's AccountMonthlyBudgetUsd) may spend on model tokens in a calendar month,
estimated at the dated price table (agentcron.pricing). Months are UTC months, as
Anthropic bills them.

The domain half (no I/O): months, a month's spend, and what a month's budgets leave
for one attempt. The runner's half is agentcron.spend_control; the counters are
agentcron.store.spend. How the parts fit:

- each attempt's spend is added in the same transaction as the attempt's outcome, so
  a redelivered message never counts an attempt twice and a crash never counts one
  whose outcome was not stored;
- a task whose month is spent pauses itself (history BUDGET_PAUSED, a `Task Budget
  Paused` event) and resumes at the dispatcher's first tick of the next month, or at
  once when its owner raises the budget above what the month has spent;
- the account cap is the operator's ceiling, not a task setting: it pauses no task
  (its owner did not choose it, and it lifts by itself on the 1st); the owner's runs
  are SKIPPED while it is spent, and the attempt that crosses it publishes `Account
  Budget Reached` once;
- inside a run, what is left of either month bounds the tool loop the way
  `max_cost_usd` does (agentcron.budgets), so no run overshoots by more than its last
  model answer.

A model without a known price has an unknown cost, never $0: such an attempt is
counted in `runs_unpriced`. Under a task's budget the task's `unpriced_model` decides
(refuse, the default, or allow unchecked); the account cap always refuses them, since
a user's setting must not lift the operator's ceiling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from agentcron.pricing import usd_text

Unpriced = Literal["refuse", "allow"]


def month_of(at: datetime) -> str:
    """The UTC calendar month `at` falls in, as YYYY-MM."""
    return at.astimezone(UTC).strftime("%Y-%m")


def next_month_start(at: datetime) -> datetime:
    """Midnight UTC on the 1st of the month after `at`'s."""
    moment = at.astimezone(UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


@dataclass(frozen=True)
class MonthSpend:
    """What a task's (or an owner's) runs spent in one month, counted per attempt."""

    month: str
    usd: Decimal = Decimal(0)
    runs_priced: int = 0
    runs_unpriced: int = 0


@dataclass(frozen=True)
class MonthlyLimit:
    """One month's budget, as it stands when an attempt starts."""

    scope: Literal["task", "account"]
    budget_usd: Decimal
    spend: MonthSpend
    unpriced: Unpriced

    @property
    def left_usd(self) -> Decimal:
        return max(Decimal(0), self.budget_usd - self.spend.usd)

    @property
    def spent(self) -> bool:
        return self.spend.usd >= self.budget_usd

    def describe(self) -> str:
        owner = "the task's" if self.scope == "task" else "your account's"
        source = "policies.monthly_budget_usd" if self.scope == "task" else "set by the operator"
        return f"{owner} monthly budget (${usd_text(self.budget_usd)} for {self.spend.month}, {source})"

    def reached_reason(self) -> str:
        return f"{self.describe()} is spent: ${usd_text(self.spend.usd)} so far"


def task_limit(budget_usd: float | None, unpriced: Unpriced, spend: MonthSpend) -> MonthlyLimit | None:
    if budget_usd is None:
        return None
    return MonthlyLimit("task", Decimal(str(budget_usd)), spend, unpriced)


def account_limit(cap_usd: Decimal | None, spend: MonthSpend | None) -> MonthlyLimit | None:
    if cap_usd is None or spend is None:
        return None
    return MonthlyLimit("account", cap_usd, spend, "refuse")


def crossed(limit: MonthlyLimit, added_usd: Decimal, total: MonthSpend) -> bool:
    """Whether the attempt that added `added_usd`, making `total`, is the one that reached
    the budget (each attempt is counted once, so exactly one attempt crosses it)."""
    return total.usd >= limit.budget_usd > total.usd - added_usd
