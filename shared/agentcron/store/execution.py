"""Execution (runner side): start, buffer, outcome, auto-pause, follow-ups.

Contract: `start_run` is one transaction: QUEUED → RUNNING only if the run is still
QUEUED, and the task's running marker set (with `exclusive`, only if no other run holds
an unexpired one); a failed condition writes nothing and raises ClaimLost. `buffer_run`,
`release_buffered` and `count_followups` are single conditional writes: False, and
nothing changed, when their condition does not hold; `auto_pause` is the same write in
one transaction with the task's history entry (history.py), both or neither. `record_outcome` never
fails on a condition: it releases the marker when this run holds it, else stores the
outcome alone, and answers None (nothing written) when the task is gone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from agentcron.history import FieldChange, HistoryAction, new_entry
from agentcron.models import Run, RunStatus, Task
from agentcron.store.claims import transact
from agentcron.store.dynamo import _ConditionFailed, is_condition_failure, plain, translated
from agentcron.store.history import HistoryStore
from agentcron.store.keys import epoch, run_key, shard_of, task_key


class ExecutionStore(HistoryStore):
    @translated
    def start_run(self, task: Task, run: Run, *, now: datetime, lease_until: int, exclusive: bool) -> Run:
        """QUEUED → RUNNING and the task's running marker, in one transaction.
        `exclusive` (overlap skip / buffer_one) also requires that no other run
        holds an unexpired marker. ClaimLost means the run was started by a
        duplicate message, or the marker changed: re-read and decide again."""
        now_epoch = epoch(now)
        task_names = {"#running": "running_run_id", "#until": "running_until"}
        task_values: dict[str, Any] = {":run": run.id, ":lease": lease_until}
        task_update = "SET #running = :run, #until = :lease"
        task_condition = "attribute_exists(PK)"
        if exclusive:
            task_values[":now"] = now_epoch
            task_condition += " AND (attribute_not_exists(#running) OR #until < :now OR #running = :run)"
        if task.buffered_run_id == run.id:
            task_names["#buffered"] = "buffered_run_id"
            task_update += " REMOVE #buffered"
        started_at = now.isoformat()
        transact(
            self._client,
            [
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": task_key(task.id),
                        "UpdateExpression": task_update,
                        "ConditionExpression": task_condition,
                        "ExpressionAttributeNames": task_names,
                        "ExpressionAttributeValues": task_values,
                    }
                },
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": run_key(run.task_id, run.id),
                        # Started: its message arrived, so the re-send backoff starts over.
                        "UpdateExpression": "SET #status = :running, attempt = attempt + :one, started_at = :started,"
                        " active_until = :lease, active_shard = :shard REMOVE resends",
                        "ConditionExpression": "#status = :queued",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":running": RunStatus.RUNNING.value,
                            ":queued": RunStatus.QUEUED.value,
                            ":one": 1,
                            ":started": started_at,
                            ":lease": lease_until,
                            ":shard": shard_of(run.task_id, self.due_shards),
                        },
                    }
                },
            ],
        )
        return run.model_copy(
            update={
                "status": RunStatus.RUNNING,
                "attempt": run.attempt + 1,
                "started_at": now,
                "active_until": lease_until,
            }
        )

    @translated
    def buffer_run(self, task_id: str, run_id: str) -> bool:
        """Hold `run_id` as the task's one buffered run (overlap buffer_one); False if another holds it."""
        return self._update_if(
            Key=task_key(task_id),
            UpdateExpression="SET buffered_run_id = :run",
            ConditionExpression="attribute_not_exists(buffered_run_id) OR buffered_run_id = :run",
            ExpressionAttributeValues={":run": run_id},
        )

    @translated
    def release_buffered(self, task_id: str, run_id: str) -> bool:
        """A buffered run that will never start (cancelled) gives up its place: held
        on, it would make every later overlapping run SKIPPED instead of buffered."""
        return self._update_if(
            Key=task_key(task_id),
            UpdateExpression="REMOVE buffered_run_id",
            ConditionExpression="buffered_run_id = :run",
            ExpressionAttributeValues={":run": run_id},
        )

    @translated
    def record_outcome(self, run: Run, *, failed: bool | None) -> Task | None:
        """After a run leaves RUNNING: release the task's running marker (if
        this run holds it), store the last-run summary and the failure streak
        (`failed` None: neither success nor failure, e.g. waiting for input).
        Returns the task as it is now; None when it is gone.

        One write when the run holds the marker (the usual case); when another
        run holds it (overlap `allow`) or nobody does, a second write stores
        the outcome alone. Every write of the task also rewrites its index
        entries, so the usual case must not pay for two."""
        summary = {
            "id": run.id,
            "status": run.status.value,
            "scheduled_for": run.scheduled_for.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        }
        values: dict[str, Any] = {":summary": summary}
        update = "SET last_run = :summary"
        if failed is True:
            values[":one"], values[":zero"] = 1, 0
            update += ", consecutive_failures = if_not_exists(consecutive_failures, :zero) + :one"
        elif failed is False:
            values[":zero"] = 0
            update += ", consecutive_failures = :zero"
        try:
            result = self.table.update_item(
                Key=task_key(run.task_id),
                UpdateExpression=f"{update} REMOVE running_run_id, running_until",
                ConditionExpression="running_run_id = :run",
                ExpressionAttributeValues={**values, ":run": run.id},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            try:
                result = self.table.update_item(
                    Key=task_key(run.task_id),
                    UpdateExpression=update,
                    ConditionExpression="attribute_exists(PK)",
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                )
            except ClientError as again:
                if is_condition_failure(again):
                    return None
                raise
        return Task.model_validate(plain(result["Attributes"]))

    @translated
    def auto_pause(self, task_id: str, reason: str, now: datetime) -> bool:
        """Pause a task that keeps failing (once: only if still enabled), recorded in its
        history as agentcron's own change."""
        return self._pause_by_agentcron(task_id, HistoryAction.AUTO_PAUSED, reason, now)

    def _pause_by_agentcron(
        self, task_id: str, action: HistoryAction, reason: str, now: datetime, *, resume_at: int | None = None
    ) -> bool:
        """Pause the task if still enabled, with its history entry, in one transaction; False
        (nothing written) when it was paused or deleted already. `resume_at`: the epoch
        second the dispatcher resumes it, kept as its next run so the Due index finds it."""
        values: dict[str, Any] = {
            ":false": False,
            ":true": True,
            ":reason": reason,
            ":now": now.isoformat(),
            ":one": 1,
        }
        update = "SET enabled = :false, paused_reason = :reason, updated_at = :now, version = version + :one"
        if resume_at is None:
            update += " REMOVE next_run_at, due_shard"
        else:
            values[":resume"], values[":shard"] = resume_at, shard_of(task_id, self.due_shards)
            update += ", budget_paused_until = :resume, next_run_at = :resume, due_shard = :shard"
        pause = {
            "Update": {
                "TableName": self.table_name,
                "Key": task_key(task_id),
                "UpdateExpression": update,
                "ConditionExpression": "enabled = :true AND attribute_not_exists(deleted_at)",
                "ExpressionAttributeValues": values,
            }
        }
        entry = new_entry(
            task_id,
            action,
            at=now,
            changes=[FieldChange(field="enabled", before=True, after=False)],
            reason=reason,
        )
        try:
            self._write_recorded(pause, entry)
        except _ConditionFailed:
            return False
        return True

    @translated
    def count_followups(self, task_id: str, limit: int) -> bool:
        """Take one of the task's `limit` follow-ups; False when they are used up."""
        return self._update_if(
            Key=task_key(task_id),
            UpdateExpression="SET followups_created = if_not_exists(followups_created, :zero) + :one",
            ConditionExpression="attribute_not_exists(followups_created) OR followups_created < :limit",
            ExpressionAttributeValues={":zero": 0, ":one": 1, ":limit": limit},
        )
