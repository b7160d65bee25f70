"""What a report says, in one place for every format: the run's details as text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agentcron.models import Run, RunError, Task, Usage
from agentcron.pricing import PRICES_AS_OF, estimate_cost, round_usd


@dataclass(frozen=True)
class ReportContent:
    title: str
    task_id: str
    run_id: str
    status: str
    scheduled_for: datetime
    finished_at: datetime | None
    model: str | None
    usage: Usage | None
    cost_usd: float | None
    cost_note: str | None
    output: str | None
    result: dict[str, Any] | None
    error: RunError | None
    # The task asked for a structured result (output_schema): JSON reports carry `result`.
    structured: bool

    @classmethod
    def of(cls, task: Task, run: Run) -> ReportContent:
        estimate = estimate_cost(run.usage, run.model)
        cost = None if estimate is None or estimate.usd is None else round_usd(estimate.usd)
        note = None if estimate is None else estimate.note
        return cls(
            title=task.name,
            task_id=task.id,
            run_id=run.id,
            status=run.status.value,
            scheduled_for=run.scheduled_for,
            finished_at=run.finished_at,
            model=run.model,
            usage=run.usage,
            cost_usd=cost,
            cost_note=note,
            output=run.output,
            result=run.result,
            error=run.error,
            structured=task.output_schema is not None,
        )

    def details(self) -> list[tuple[str, str]]:
        """The run's details as (label, text) rows, in the order every format shows them."""
        usage = self.usage or Usage()
        tokens = f"{usage.input_tokens} input, {usage.output_tokens} output"
        if usage.cache_creation_input_tokens or usage.cache_read_input_tokens:
            tokens += f", {usage.cache_creation_input_tokens} cache write, {usage.cache_read_input_tokens} cache read"
        return [
            ("Task", self.task_id),
            ("Run", self.run_id),
            ("Status", self.status),
            ("Scheduled for", self.scheduled_for.isoformat()),
            ("Finished at", self.finished_at.isoformat() if self.finished_at else "-"),
            ("Model", self.model or "-"),
            ("Usage", tokens if self.usage else "-"),
            ("Estimated cost", self.cost_text()),
        ]

    def cost_text(self) -> str:
        if self.cost_usd is not None:
            return f"${self.cost_usd:.6f} (model tokens at list prices as of {PRICES_AS_OF})"
        return self.cost_note or "-"

    def answer(self) -> str:
        """The final answer as Markdown text (the model's own), or what stands in for it."""
        if self.output:
            return self.output
        if self.result is not None:
            import json

            return "```json\n" + json.dumps(self.result, indent=2, ensure_ascii=False) + "\n```"
        return "_The run gave no answer._"

    def error_text(self) -> str | None:
        return None if self.error is None else f"{self.error.type}: {self.error.message}"
