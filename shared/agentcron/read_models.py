"""What the service's read-only queries answer, as plain domain values: a
schedule's preview and a task's run statistics. The API turns them into views
(functions/api/views.py); nothing here knows how they are shown."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from agentcron.models import Run, RunError, RunStatus
from agentcron.monthly_budgets import MonthSpend
from agentcron.pricing import estimate_cost, price_entry
from agentcron.schedules import DstChange, Schedule


@dataclass(frozen=True)
class Preview:
    description: str
    occurrences: list[datetime]
    # The occurrences the DST rule moved, skipped or doubled, each with its instant.
    dst_changes: list[tuple[datetime, DstChange]] = field(default_factory=list)


@dataclass(frozen=True)
class WordsPreview:
    """A schedule read from words, and its preview."""

    schedule: Schedule
    preview: Preview


@dataclass(frozen=True)
class CostTotals:
    """Exact sums: rounding is the view's business, once, at the end."""

    total_usd: Decimal | None
    mean_per_run_usd: Decimal | None
    runs_priced: int
    runs_unpriced: int
    pricing: dict[str, str | None]


@dataclass(frozen=True)
class MonthBudget:
    """A task's monthly budget and what its month has spent (agentcron.monthly_budgets)."""

    budget_usd: Decimal
    spend: MonthSpend
    paused_until: datetime | None


@dataclass(frozen=True)
class Failure:
    run_id: str
    scheduled_for: datetime
    status: RunStatus
    error: RunError | None


@dataclass(frozen=True)
class RunStatistics:
    task_id: str
    window: int
    counts: dict[str, int]
    success_rate: float | None
    duration_ms_p50: int | None
    duration_ms_p95: int | None
    input_tokens_total: int
    output_tokens_total: int
    cache_creation_input_tokens_total: int
    cache_read_input_tokens_total: int
    cost: CostTotals
    last_failures: list[Failure] = field(default_factory=list)
    this_month: MonthBudget | None = None


def run_statistics(task_id: str, runs: list[Run]) -> RunStatistics:
    """Figures over `runs` (the most recent first)."""
    counts = Counter(run.status.value for run in runs)
    decided = counts["SUCCEEDED"] + counts["FAILED"] + counts["TIMED_OUT"]
    durations = sorted(run.duration_ms for run in runs if run.duration_ms is not None)
    failures = [run for run in runs if run.status in (RunStatus.FAILED, RunStatus.TIMED_OUT)][:5]
    return RunStatistics(
        task_id=task_id,
        window=len(runs),
        counts=dict(counts),
        success_rate=round(counts["SUCCEEDED"] / decided, 4) if decided else None,
        duration_ms_p50=_percentile(durations, 50),
        duration_ms_p95=_percentile(durations, 95),
        input_tokens_total=sum(run.usage.input_tokens for run in runs if run.usage),
        output_tokens_total=sum(run.usage.output_tokens for run in runs if run.usage),
        cache_creation_input_tokens_total=sum(run.usage.cache_creation_input_tokens for run in runs if run.usage),
        cache_read_input_tokens_total=sum(run.usage.cache_read_input_tokens for run in runs if run.usage),
        cost=_cost_totals(runs),
        last_failures=[Failure(r.id, r.scheduled_for, r.status, r.error) for r in failures],
    )


def _cost_totals(runs: list[Run]) -> CostTotals:
    """Summed from the exact per-run estimates."""
    estimates = [estimate for run in runs if (estimate := estimate_cost(run.usage, run.model)) is not None]
    priced = [estimate.usd for estimate in estimates if estimate.usd is not None]
    total = sum(priced, Decimal(0))
    return CostTotals(
        total_usd=total if priced else None,
        mean_per_run_usd=total / len(priced) if priced else None,
        runs_priced=len(priced),
        runs_unpriced=len(estimates) - len(priced),
        pricing={run.model: price_entry(run.model) for run in runs if run.usage is not None and run.model},
    )


def _percentile(sorted_values: list[int], percentile: int) -> int | None:
    """Nearest-rank percentile: an actual observed duration, never interpolated."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(percentile / 100 * len(sorted_values)))
    return sorted_values[rank - 1]
