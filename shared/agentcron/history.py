"""A task's history: every change to it, with who made it, when and through what.

An entry is written in the same DynamoDB transaction as the change it records
(agentcron.store.history), so a change without its entry cannot exist. This module
is the domain half: who acted (`Actor`), what an entry holds, and what an edit's
before/after may show. History outlives the values it records (kept for the
template's HistoryRetentionDays), so a value that may carry a credential is masked
before it is recorded: a webhook URL keeps its scheme, host and path, never its
query or user info, where tokens travel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, Field

from agentcron.ids import new_history_id
from agentcron.models import StoredModel

# Who a change by agentcron itself is recorded as (the runner's auto-pause, a budget's pause).
SYSTEM_PRINCIPAL: Final = "agentcron"
MASKED: Final = "***"


class Via(StrEnum):
    """How a change reached agentcron."""

    API = "api"  # a plain API call (the default)
    CLI = "cli"  # the agentcron CLI (X-Agentcron-Client: cli)
    WEB = "web"  # the web app (X-Agentcron-Client: web)
    CONVERSATION = "conversation"  # the chat assistant's tools, for the conversation's owner
    CONSOLE_EVENT = "console_event"  # a "run task X" EventBridge event (the console, Scheduler)
    RUNNER = "runner"  # agentcron itself while running the task (auto-pause, budget pause)


class HistoryAction(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    ENABLED = "enabled"
    DISABLED = "disabled"
    DELETED = "deleted"
    RUN_REQUESTED = "run_requested"
    REPLIED = "replied"
    RUN_CANCELLED = "run_cancelled"
    AUTO_PAUSED = "auto_paused"
    BUDGET_PAUSED = "budget_paused"
    TRIGGER_CREATED = "trigger_created"
    TRIGGER_ROTATED = "trigger_rotated"
    TRIGGER_DELETED = "trigger_deleted"


@dataclass(frozen=True)
class Actor:
    """Who asks the Service for a change, and through what: the owner acting for
    themselves (an API caller's `sub`, a conversation's owner, a console event's owner)."""

    owner: str
    via: Via = Via.API


class FieldChange(BaseModel):
    field: str = Field(description="The task field that changed (a top-level field: `notify`, `schedule`...)")
    before: Any = Field(default=None, description="Its value before the change (null: it was not set)")
    after: Any = Field(default=None, description="Its value after the change (null: it was cleared)")


class HistoryEntry(StoredModel):
    id: str = Field(description="hist_<ULID>: entries sort by when they were written")
    task_id: str
    action: HistoryAction
    at: datetime
    actor: str = Field(description=f"Who made the change: the owner, or {SYSTEM_PRINCIPAL!r} for agentcron itself")
    via: Via
    changes: list[FieldChange] = Field(default_factory=list)
    run_id: str | None = None
    reason: str | None = None


def masked_value(field: str, value: Any) -> Any:
    """`value` of task field `field` as history may keep it (the webhook URL masked)."""
    if field == "notify" and isinstance(value, Mapping) and isinstance(value.get("webhook_url"), str):
        return {**value, "webhook_url": masked_url(value["webhook_url"])}
    return value


def masked_url(url: str) -> str:
    """A URL without what may be a credential: user info and the query's values."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    query = "&".join(f"{pair.split('=', 1)[0]}={MASKED}" for pair in parts.query.split("&") if pair)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def field_changes(before: Mapping[str, Any], after: Mapping[str, Any], fields: Iterable[str]) -> list[FieldChange]:
    """The fields whose JSON values differ between two states, masked; sorted by name."""
    return [
        FieldChange(field=name, before=masked_value(name, before.get(name)), after=masked_value(name, after.get(name)))
        for name in sorted(set(fields))
        if before.get(name) != after.get(name)
    ]


def new_entry(
    task_id: str,
    action: HistoryAction,
    *,
    at: datetime,
    actor: Actor | None = None,
    changes: list[FieldChange] | None = None,
    run_id: str | None = None,
    reason: str | None = None,
) -> HistoryEntry:
    """An entry for `actor`'s change (None: agentcron's own, through the runner)."""
    return HistoryEntry(
        id=new_history_id(),
        task_id=task_id,
        action=action,
        at=at,
        actor=actor.owner if actor is not None else SYSTEM_PRINCIPAL,
        via=actor.via if actor is not None else Via.RUNNER,
        changes=changes or [],
        run_id=run_id,
        reason=reason,
    )
