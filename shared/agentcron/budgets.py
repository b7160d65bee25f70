"""What a run may spend on the model: `policies.max_cost_usd`, at the dated price table.

The tool loop asks before each model request whether the run may go on. A run whose
model has no known price cannot be held to a budget: its cost is unknown, never zero,
and `policies.unpriced_model` says what happens (`refuse`, the default: the run fails
before it calls the model; `allow`: it runs unchecked)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from agentcron.models import Policies, Usage
from agentcron.pricing import estimate_cost, round_usd


@dataclass(frozen=True)
class BudgetStop:
    type: Literal["budget_exceeded", "budget_unpriced"]
    message: str


@dataclass(frozen=True)
class RunBudget:
    max_usd: Decimal
    unpriced: Literal["refuse", "allow"]

    def stop(self, usage: Usage, model: str) -> BudgetStop | None:
        """Why the run may not make another model request, or None when it may."""
        estimate = estimate_cost(usage, model)
        if estimate is None:
            return None
        if estimate.usd is None:
            if self.unpriced == "allow":
                return None
            return BudgetStop(
                "budget_unpriced",
                f"the model {model} has no known price, so the run's ${self.max_usd} budget cannot be kept "
                "(policies.unpriced_model is refuse; set it to allow to run it unchecked)",
            )
        if estimate.usd >= self.max_usd:
            return BudgetStop(
                "budget_exceeded",
                f"stopped after spending ${round_usd(estimate.usd)} of the run's ${self.max_usd} budget "
                f"(policies.max_cost_usd, {estimate.priced_as} prices)",
            )
        return None


def run_budget(policies: Policies) -> RunBudget | None:
    if policies.max_cost_usd is None:
        return None
    return RunBudget(Decimal(str(policies.max_cost_usd)), policies.unpriced_model)
