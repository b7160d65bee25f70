"""Month spend counters, and the task pauses and resumes a monthly budget makes.

Layout: a task's month is ``TASK#<id>`` / ``SPEND#<YYYY-MM>`` (beside its runs); an
owner's month (counted only while the operator sets an account cap) is
``SPEND#OWNER#<owner>`` / ``MONTH#<YYYY-MM>``. Each holds `usd` (priced attempts'
estimated cost), `runs_priced`, `runs_unpriced` and `expires_at`, after which the
table's TTL removes it (a month's figure outlives the month by SPEND_KEPT_DAYS).

Contract: `spend_updates` only builds transaction entries (ADD creates the item and
its attributes on first use, so they need no condition); they are written with the
attempt's outcome (RunStore.transition_run's `also`), both or neither. `budget_pause`
is one transaction with its history entry, only while the task is enabled (False,
nothing written, otherwise); `budget_resume` is the same, only while the task is
still paused for the budget that paused it (None when someone else moved it first).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from agentcron.history import FieldChange, HistoryAction, new_entry
from agentcron.models import Task
from agentcron.monthly_budgets import MonthSpend
from agentcron.store.dynamo import _ConditionFailed, translated
from agentcron.store.execution import ExecutionStore
from agentcron.store.keys import epoch, shard_of, task_key

SPEND_KEPT_DAYS: Final = 400


def task_spend_key(task_id: str, month: str) -> dict[str, str]:
    return {"PK": f"TASK#{task_id}", "SK": f"SPEND#{month}"}


def owner_spend_key(owner: str, month: str) -> dict[str, str]:
    return {"PK": f"SPEND#OWNER#{owner}", "SK": f"MONTH#{month}"}


class SpendStore(ExecutionStore):
    def spend_updates(
        self, keys: list[dict[str, str]], usd: Decimal | None, *, expires_at: int
    ) -> list[dict[str, Any]]:
        """Transaction entries adding one attempt to each month counter in `keys`: its cost,
        or (`usd` None: the model has no known price) one more unpriced run."""
        values: dict[str, Any] = {":one": 1, ":expires": expires_at}
        if usd is None:
            expression = "ADD runs_unpriced :one SET expires_at = :expires"
        else:
            values[":usd"] = usd
            expression = "ADD usd :usd, runs_priced :one SET expires_at = :expires"
        return [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": key,
                    "UpdateExpression": expression,
                    "ExpressionAttributeValues": values,
                }
            }
            for key in keys
        ]

    @staticmethod
    def spend_expiry(now: datetime) -> int:
        return epoch(now) + SPEND_KEPT_DAYS * 86_400

    @translated
    def month_spend(self, key: dict[str, str], month: str) -> MonthSpend:
        """A month counter as it is now (read consistently: a budget decides on it)."""
        item = self._get(key) or {}
        return MonthSpend(
            month=month,
            usd=Decimal(str(item.get("usd", 0))),
            runs_priced=int(item.get("runs_priced", 0)),
            runs_unpriced=int(item.get("runs_unpriced", 0)),
        )

    @translated
    def budget_pause(self, task_id: str, reason: str, now: datetime, resume_at: int) -> bool:
        """Pause the task for its spent month (once), to be resumed at `resume_at`."""
        return self._pause_by_agentcron(task_id, HistoryAction.BUDGET_PAUSED, reason, now, resume_at=resume_at)

    @translated
    def budget_resume(self, task: Task, now: datetime, next_run_at: int | None, reason: str) -> Task | None:
        """Resume a task its monthly budget paused, as agentcron (its month renewed): only
        if it is still paused for that budget. Returns the task as it is now."""
        names = {"#next": "next_run_at", "#shard": "due_shard"}
        values: dict[str, Any] = {
            ":true": True,
            ":false": False,
            ":seen": task.budget_paused_until,
            ":now": now.isoformat(),
            ":one": 1,
            ":zero": 0,
        }
        update = "SET enabled = :true, updated_at = :now, version = version + :one, consecutive_failures = :zero"
        removes = ["paused_reason", "budget_paused_until"]
        if next_run_at is None:
            removes += ["#next", "#shard"]
        else:
            values[":next"], values[":shard"] = next_run_at, shard_of(task.id, self.due_shards)
            update += ", #next = :next, #shard = :shard"
        resume = {
            "Update": {
                "TableName": self.table_name,
                "Key": task_key(task.id),
                "UpdateExpression": f"{update} REMOVE {', '.join(removes)}",
                "ConditionExpression": "enabled = :false AND budget_paused_until = :seen"
                " AND attribute_not_exists(deleted_at)",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }
        entry = new_entry(
            task.id,
            HistoryAction.ENABLED,
            at=now,
            changes=[FieldChange(field="enabled", before=False, after=True)],
            reason=reason,
        )
        try:
            self._write_recorded(resume, entry)
        except _ConditionFailed:
            return None
        written = self._get(task_key(task.id))
        return None if written is None else Task.model_validate(written)
