"""Tasks: create, read, list, edit and soft-delete, always for one owner.

Contract: a create puts the task only if its key is free (with its idempotency record,
see idempotency.py). An update is one conditional update holding that the task
exists, is the caller's, is not deleted and (with If-Match) is at the expected version;
it bumps ``version``. A failed condition changes nothing and raises NotFound (absent or
another owner's), Gone (deleted) or PreconditionFailed (another version). Fields other
writers own (run counters, last_run) are never overwritten wholesale. Each change is
written in one transaction with its history entry (history.py): neither without the
other. (The Service always gives one; only tests seeding items write without.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from boto3.dynamodb.conditions import Attr, ConditionBase, Key

from agentcron.errors import Gone, NotFound, PreconditionFailed
from agentcron.history import HistoryEntry
from agentcron.models import Task
from agentcron.store.dynamo import _ConditionFailed, storable, translated
from agentcron.store.history import HistoryStore
from agentcron.store.idempotency import IdempotencyClaim, IdempotentWrites
from agentcron.store.keys import shard_of, task_key
from agentcron.store.paging import Page, owner_page


class Keep:
    """Marker: leave the due attributes as they are."""


KEEP: Final = Keep()


class TaskStore(IdempotentWrites, HistoryStore):
    @translated
    def create_task(
        self, task: Task, idempotency: IdempotencyClaim | None = None, *, history: HistoryEntry | None = None
    ) -> str:
        """Write a new task (and its history entry and idempotency record, atomically).
        Returns the id of the task that the request stands for: a replay with
        the same key and body returns the earlier task's id (and writes nothing)."""
        put = {
            "Put": {
                "TableName": self.table_name,
                "Item": self.task_item(task),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }
        writes = [put] if history is None else [put, self.history_put(history)]
        return self._write_with_idempotency(writes, idempotency, task.id)

    @translated
    def get_task(self, owner: str, task_id: str, *, include_deleted: bool = False) -> Task:
        item = self._owned_task_item(owner, task_id)
        if item.get("deleted_at") and not include_deleted:
            raise Gone(f"task {task_id} was deleted (its runs stay readable)")
        return Task.model_validate(item)

    @translated
    def list_tasks(
        self,
        owner: str,
        *,
        limit: int,
        cursor: str | None = None,
        enabled: bool | None = None,
        tag: str | None = None,
        schedule_type: str | None = None,
    ) -> Page[Task]:
        partition = f"OWNER#{owner}#TASKS"
        filters: list[ConditionBase] = []
        if enabled is not None:
            filters.append(Attr("enabled").eq(enabled))
        if tag is not None:
            filters.append(Attr("tags").contains(tag))
        if schedule_type is not None:
            filters.append(Attr("schedule.type").eq(schedule_type))
        return owner_page(
            self.table, partition, Key("GSI1PK").eq(partition), limit, cursor, filters, Task.model_validate
        )

    @translated
    def update_task(
        self,
        owner: str,
        task_id: str,
        changes: Mapping[str, Any],
        *,
        expected_version: int | None,
        now: datetime,
        next_run_at: int | Keep | None = KEEP,
        remove: Iterable[str] = (),
        history: HistoryEntry | None = None,
    ) -> Task:
        """Apply `changes` (already validated model values, JSON-dumped) as one
        conditional update, bumping `version`, with its history entry. Fields other
        writers own (run counters, last_run) are never overwritten wholesale.
        Returns the task as it is after the change."""
        names: dict[str, str] = {"#owner": "owner", "#version": "version", "#updated": "updated_at"}
        values: dict[str, Any] = {":owner": owner, ":one": 1, ":updated": now.isoformat()}
        sets = ["#version = #version + :one", "#updated = :updated"]
        removes: list[str] = []
        for index, (field, value) in enumerate(changes.items()):
            names[f"#f{index}"] = field
            if value is None:
                removes.append(f"#f{index}")
            else:
                values[f":v{index}"] = storable(value)
                sets.append(f"#f{index} = :v{index}")
        for index, field in enumerate(remove):
            names[f"#r{index}"] = field
            removes.append(f"#r{index}")
        if not isinstance(next_run_at, Keep):
            names["#next"], names["#shard"] = "next_run_at", "due_shard"
            if next_run_at is None:
                removes += ["#next", "#shard"]
            else:
                values[":next"], values[":shard"] = next_run_at, shard_of(task_id, self.due_shards)
                sets += ["#next = :next", "#shard = :shard"]
        condition = (
            "attribute_exists(PK) AND #owner = :owner AND attribute_not_exists(deleted_at)"
            " AND attribute_not_exists(kind)"
        )
        if expected_version is not None:
            values[":expected"] = expected_version
            condition += " AND #version = :expected"
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        update = {
            "Update": {
                "TableName": self.table_name,
                "Key": task_key(task_id),
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }
        try:
            self._write_recorded(update, history)
        except _ConditionFailed as failed:
            self._raise_task_condition(failed.old, owner, task_id, expected_version)
            raise
        # A transaction returns no item: read the task back (consistently) to answer it.
        written = self._get(task_key(task_id))
        if written is None:  # pragma: no cover - tasks are soft-deleted, never removed
            raise NotFound(f"task {task_id} not found")
        return Task.model_validate(written)

    @translated
    def delete_task(
        self,
        owner: str,
        task_id: str,
        *,
        expected_version: int | None,
        now: datetime,
        history: HistoryEntry | None = None,
    ) -> None:
        """Soft delete: the task leaves listings and the due set; its runs and history stay."""
        self.update_task(
            owner,
            task_id,
            {"enabled": False, "deleted_at": now.isoformat()},
            expected_version=expected_version,
            now=now,
            next_run_at=None,
            remove=("GSI1PK", "GSI1SK"),
            history=history,
        )

    @staticmethod
    def _raise_task_condition(
        old: Mapping[str, Any] | None, owner: str, task_id: str, expected_version: int | None
    ) -> None:
        if old is None or old.get("owner") != owner or old.get("kind") is not None:
            raise NotFound(f"task {task_id} not found")
        if old.get("deleted_at"):
            raise Gone(f"task {task_id} was deleted")
        if expected_version is not None and int(old.get("version", 0)) != expected_version:
            raise PreconditionFailed(
                f"task {task_id} is at version {old.get('version')}, not {expected_version}; GET it again and retry"
            )
