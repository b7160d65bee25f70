"""What GET /v1/tasks/{id}/history returns: one entry per change to the task.

An entry's before/after values are JSON as the task held them, with what may carry a
credential masked when it was recorded (agentcron.history); clients show them as text."""

from __future__ import annotations

from datetime import datetime

from agentcron.history import FieldChange, HistoryAction, HistoryEntry, Via
from pydantic import BaseModel, Field
from views import API_PREFIX, Link, View


class HistoryEntryView(View):
    id: str
    task_id: str
    action: HistoryAction = Field(description="What changed: the task (created, updated...) or one of its runs")
    at: datetime
    actor: str = Field(description="Who: the owner (the token's `sub`), or `agentcron` for its own changes")
    via: Via = Field(
        description="How: `api` (any caller), `cli` or `web` (the clients say so in X-Agentcron-Client), "
        "`conversation` (the chat assistant), `console_event` (a run-task event) or `runner` (agentcron "
        "while running the task: an auto-pause, an agent's follow-up)"
    )
    changes: list[FieldChange] = Field(
        description="The fields that changed, before and after (an update; create: the values given)"
    )
    run_id: str | None = Field(description="The run it concerns (run now, reply, cancel)")
    reason: str | None = Field(description="Why (a pause's reason)")
    links: dict[str, Link] = Field(alias="_links")


class HistoryPage(BaseModel):
    items: list[HistoryEntryView]
    next_cursor: str | None


def history_view(entry: HistoryEntry) -> HistoryEntryView:
    links = {"task": Link(href=f"{API_PREFIX}/tasks/{entry.task_id}")}
    if entry.run_id is not None:
        links["run"] = Link(href=f"{API_PREFIX}/runs/{entry.run_id}")
    return HistoryEntryView(
        id=entry.id,
        task_id=entry.task_id,
        action=entry.action,
        at=entry.at,
        actor=entry.actor,
        via=entry.via,
        changes=entry.changes,
        run_id=entry.run_id,
        reason=entry.reason,
        links=links,
    )
