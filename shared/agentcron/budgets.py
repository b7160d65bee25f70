"""What a run may spend on the model: `policies.max_cost_usd`, and what is left of the
task's and the account's month (agentcron.monthly_budgets), at the dated price table.

The tool loop asks before each model request whether the run may go on. A run whose
model has no known price cannot be held to a budget: its cost is unknown, never zero,
and each limit says what happens (`policies.unpriced_model`: `refuse`, the default, the
run fails before it calls the model; `allow`: it runs unchecked)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from agentcron.models import Policies, Usage
from agentcron.monthly_budgets import MonthlyLimit, Unpriced
from agentcron.pricing import estimate_cost, usd_text


@dataclass(frozen=True)
class BudgetStop:
    type: Literal["budget_exceeded", "budget_unpriced"]
    message: str


@dataclass(frozen=True)
class SpendLimit:
    """One bound on the run's cost: at most `max_usd` more than it had cost at `since_usd`."""

    max_usd: Decimal
    unpriced: Unpriced
    # "of the run's $0.8 budget (policies.max_cost_usd": how a stop names it.
    what: str
    since_usd: Decimal = Decimal(0)
    # What the owner can do about an unpriced model it refuses.
    unpriced_fix: str = "policies.unpriced_model is refuse; set it to allow to run it unchecked"


@dataclass(frozen=True)
class RunBudget:
    limits: tuple[SpendLimit, ...]

    def stop(self, usage: Usage, model: str) -> BudgetStop | None:
        """Why the run may not make another model request, or None when it may."""
        estimate = estimate_cost(usage, model)
        if estimate is None:
            return None
        if estimate.usd is None:
            refusing = next((limit for limit in self.limits if limit.unpriced == "refuse"), None)
            if refusing is None:
                return None
            return BudgetStop(
                "budget_unpriced",
                f"the model {model} has no known price, so {refusing.what}) cannot be kept ({refusing.unpriced_fix})",
            )
        for limit in self.limits:
            spent = estimate.usd - limit.since_usd
            if spent >= limit.max_usd:
                return BudgetStop(
                    "budget_exceeded",
                    f"stopped after spending ${usd_text(spent)} of {limit.what}, {estimate.priced_as} prices)",
                )
        return None


def run_budget(
    policies: Policies, monthly: Sequence[MonthlyLimit] = (), run_cost_usd: Decimal = Decimal(0)
) -> RunBudget | None:
    """The run's limits: its own, and what each month has left for this attempt (which
    starts at `run_cost_usd`, the run's earlier attempts being counted in the month)."""
    limits: list[SpendLimit] = []
    if policies.max_cost_usd is not None:
        limits.append(
            SpendLimit(
                Decimal(str(policies.max_cost_usd)),
                policies.unpriced_model,
                f"the run's ${usd_text(Decimal(str(policies.max_cost_usd)))} budget (policies.max_cost_usd",
            )
        )
    for month in monthly:
        what = f"the ${usd_text(month.left_usd)} left of {month.describe()[:-1]}"
        if month.scope == "account":
            fix = "the account's cap refuses models without a price; ask the operator to add its price"
            limits.append(SpendLimit(month.left_usd, month.unpriced, what, run_cost_usd, fix))
        else:
            limits.append(SpendLimit(month.left_usd, month.unpriced, what, run_cost_usd))
    return RunBudget(tuple(limits)) if limits else None
