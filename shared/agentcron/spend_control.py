"""The runner's half of monthly budgets (agentcron.monthly_budgets says how they work):
before a run starts, is its month spent; while it runs, what is left; when an attempt
ends, what it adds, written with its outcome; after, whether it reached a budget.

Nothing is read or written for a task without a monthly budget while the operator
sets no account cap: most runs pay nothing for this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from agentcron.models import Task, Usage
from agentcron.monthly_budgets import (
    MonthlyLimit,
    MonthSpend,
    account_limit,
    crossed,
    month_of,
    next_month_start,
    task_limit,
)
from agentcron.notifications import ACCOUNT_BUDGET_REACHED, TASK_BUDGET_PAUSED, RunEvents
from agentcron.observability import logger, metrics
from agentcron.pricing import estimate_cost, round_usd
from agentcron.schedules import to_epoch
from agentcron.store import Store
from agentcron.store.spend import owner_spend_key, task_spend_key


@dataclass(frozen=True)
class AttemptCharge:
    """What one attempt adds to its months: `usd` None when its model has no known price."""

    month: str
    usd: Decimal | None
    keys: list[dict[str, str]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)


NO_CHARGE = AttemptCharge(month="", usd=None)


@dataclass
class MonthlyBudgets:
    store: Store
    events: RunEvents
    clock: Callable[[], datetime]
    # The operator's cap per owner and month (the template's AccountMonthlyBudgetUsd); None: none.
    account_cap_usd: Decimal | None = None

    def applies(self, task: Task) -> bool:
        return task.policies.monthly_budget_usd is not None or self.account_cap_usd is not None

    # ---- before the run ---------------------------------------------------

    def limits(self, task: Task) -> list[MonthlyLimit]:
        """The month's budgets over this task, as they stand now."""
        if not self.applies(task):
            return []
        month = month_of(self.clock())
        found: list[MonthlyLimit] = []
        if task.policies.monthly_budget_usd is not None:
            spend = self.store.month_spend(task_spend_key(task.id, month), month)
            mine = task_limit(task.policies.monthly_budget_usd, task.policies.unpriced_model, spend)
            found += [mine] if mine is not None else []
        if self.account_cap_usd is not None:
            spend = self.store.month_spend(owner_spend_key(task.owner, month), month)
            account = account_limit(self.account_cap_usd, spend)
            found += [account] if account is not None else []
        return found

    def refusal(self, task: Task, limits: list[MonthlyLimit]) -> str | None:
        """Why the run may not start (a month is spent), or None. A task whose own budget
        is spent is paused here too: a run that finds it so was queued before the pause,
        or the owner lowered the budget below what the month has spent."""
        spent = next((limit for limit in limits if limit.spent), None)
        if spent is None:
            return None
        if spent.scope == "task":
            self._pause(task, spent)
        return spent.reached_reason()

    # ---- when an attempt ends -------------------------------------------------

    def charge(self, task: Task, usage: Usage, model: str) -> AttemptCharge:
        """What the attempt that used `usage` adds, and the writes that add it."""
        if not self.applies(task):
            return NO_CHARGE
        now = self.clock()
        month = month_of(now)
        estimate = estimate_cost(usage, model)
        usd = None if estimate is None else estimate.usd
        keys = []
        if task.policies.monthly_budget_usd is not None:
            keys.append(task_spend_key(task.id, month))
        if self.account_cap_usd is not None:
            keys.append(owner_spend_key(task.owner, month))
        updates = self.store.spend_updates(keys, usd, expires_at=self.store.spend_expiry(now))
        return AttemptCharge(month=month, usd=usd, keys=keys, updates=updates)

    def after(self, task: Task, charge: AttemptCharge) -> None:
        """The attempt's charge is stored: pause the task whose month it spent, and say
        once that the account's cap is reached. A failure here never fails the run (its
        outcome is stored): the next run's start decides again."""
        if not charge.keys or charge.usd is None:
            return
        try:
            for limit in self._limits_at(task, charge.month):
                if not limit.spent:
                    continue
                if limit.scope == "task":
                    self._pause(task, limit)
                elif crossed(limit, charge.usd, limit.spend):
                    self._account_reached(task, limit)
        except Exception:
            logger.exception("monthly budget not checked after the run; the next run's start checks it")

    def _limits_at(self, task: Task, month: str) -> list[MonthlyLimit]:
        if month != month_of(self.clock()):
            return []  # the month turned while the run ended: its budgets are over
        return self.limits(task)

    def _pause(self, task: Task, limit: MonthlyLimit) -> None:
        resume = next_month_start(self.clock())
        reason = f"paused: {limit.reached_reason()}; resumes {resume.date().isoformat()} or when the budget is raised"
        if not self.store.budget_pause(task.id, reason, self.clock(), to_epoch(resume)):
            return  # paused already (by another run, or its owner)
        logger.warning("task paused by its monthly budget", extra={"month": limit.spend.month})
        metrics.add_metric(name="TasksBudgetPaused", unit=MetricUnit.Count, value=1)
        self.events.publish_budget_event(
            TASK_BUDGET_PAUSED,
            task,
            {"reason": reason, **_figures(limit.spend, limit), "resumes_at": resume.isoformat()},
        )

    def _account_reached(self, task: Task, limit: MonthlyLimit) -> None:
        logger.warning("owner reached the account's monthly budget", extra={"month": limit.spend.month})
        metrics.add_metric(name="AccountBudgetsReached", unit=MetricUnit.Count, value=1)
        resume = next_month_start(self.clock())
        detail = {"reason": limit.reached_reason(), **_figures(limit.spend, limit), "resumes_at": resume.isoformat()}
        self.events.publish_budget_event(ACCOUNT_BUDGET_REACHED, task, detail)


def _figures(spend: MonthSpend, limit: MonthlyLimit) -> dict[str, Any]:
    return {
        "month": spend.month,
        "spent_usd": round_usd(spend.usd),
        "budget_usd": round_usd(limit.budget_usd),
        "runs_priced": spend.runs_priced,
        "runs_unpriced": spend.runs_unpriced,
    }
