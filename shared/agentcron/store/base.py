"""The one table a Store writes, the item shapes, and the conditional-write primitives.

Contract of the primitives: `_update` writes only when its condition holds and
returns the new item; a failed condition raises `_ConditionFailed` with the item as
it was and leaves it unchanged. `_update_if` answers True (written) or False (the
condition did not hold, nothing changed). The item shapes are the one place that
keeps the sparse index attributes (``due_shard``, ``active_shard``, ``GSI1*``)
consistent with ``enabled``/``deleted_at``/the schedule and the run's status.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from agentcron.errors import NotFound
from agentcron.models import ACTIVE_STATUSES, Run, Task
from agentcron.store.dynamo import RETRIES, _ConditionFailed, is_condition_failure, plain, storable
from agentcron.store.keys import HISTORY_RETENTION_DAYS, QUEUED_GRACE_SECONDS, epoch, run_key, shard_of, task_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class StoreBase:
    def __init__(
        self,
        table_name: str,
        *,
        due_shards: int,
        table: Table | None = None,
        session: boto3.session.Session | None = None,
        history_retention_days: int = HISTORY_RETENTION_DAYS,
    ) -> None:
        # A boto3 resource is not thread-safe, so a Store is used by one thread at a time
        # (the dispatcher lends its shard threads one each). `session`: a warm session to
        # build the resource from (agentcron.bootstrap's; the caller serialises its use), else
        # a fresh one, which costs ~100 ms of CPU to load the service's models.
        if table is None:
            maker = session if session is not None else boto3.session.Session()
            table = maker.resource("dynamodb", config=RETRIES).Table(table_name)
        self.table: Table = table
        self.table_name = table_name
        self.due_shards = due_shards
        # How long a task's history entries are kept (the template's HistoryRetentionDays).
        self.history_retention_days = history_retention_days
        self._client = self.table.meta.client

    # ---- item shapes -------------------------------------------------

    def task_item(self, task: Task) -> dict[str, Any]:
        item: dict[str, Any] = storable(task.model_dump(mode="json", exclude_none=True))
        item.update(task_key(task.id))
        # A conversation's chat task is never listed (agentcron.conversations).
        if task.deleted_at is None and task.kind is None:
            item["GSI1PK"] = f"OWNER#{task.owner}#TASKS"
            item["GSI1SK"] = task.id
        if task.next_run_at is not None and task.enabled and task.deleted_at is None:
            item["due_shard"] = shard_of(task.id, self.due_shards)
        else:
            item.pop("next_run_at", None)
        return item

    def run_item(self, run: Run) -> dict[str, Any]:
        item: dict[str, Any] = run.model_dump(mode="json", exclude_none=True)
        item.update(run_key(run.task_id, run.id))
        # Chat turns are the conversation's, read through its messages, not the owner's run listing.
        if run.conversation_id is None:
            item["GSI1PK"] = f"OWNER#{run.owner}#RUNS"
            item["GSI1SK"] = f"{epoch(run.scheduled_for):010d}#{run.id}"
        if run.status in ACTIVE_STATUSES:
            item["active_shard"] = shard_of(run.task_id, self.due_shards)
            if run.active_until is None:
                # From when it was queued, not when it was due: a run claimed late
                # (a misfire) is not overdue the moment it exists.
                queued_at = max(epoch(run.scheduled_for), epoch(run.created_at))
                item["active_until"] = queued_at + QUEUED_GRACE_SECONDS
        else:
            item.pop("active_until", None)
        return item

    # ---- primitives --------------------------------------------------

    def _owned_task_item(self, owner: str, task_id: str) -> dict[str, Any]:
        """The task item, if it is `owner`'s (deleted or not); else NotFound."""
        item = self._get(task_key(task_id))
        # A conversation's chat task is not a task its owner can read or edit.
        if item is None or item.get("owner") != owner or item.get("kind") is not None:
            raise NotFound(f"task {task_id} not found")
        return item

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        item = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
        return None if item is None else plain(item)

    def _update(
        self, key: dict[str, str], expression: str, condition: str, names: dict[str, str], values: dict[str, Any]
    ) -> dict[str, Any]:
        """A conditional UpdateItem returning the new item; a failed condition
        raises _ConditionFailed carrying the item as it was."""
        try:
            result = self.table.update_item(
                Key=key,
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            raise _ConditionFailed(self._old_item(error, key)) from error
        return cast("dict[str, Any]", plain(result["Attributes"]))

    def _old_item(self, error: ClientError, key: dict[str, str]) -> dict[str, Any] | None:
        """The item that failed a condition: from the error when DynamoDB
        returns it (ReturnValuesOnConditionCheckFailure), else read back."""
        old = cast("dict[str, Any] | None", error.response.get("Item"))
        if old is None:
            return self._get(key)
        # The resource layer does not deserialise error bodies: this is wire format.
        deserializer = TypeDeserializer()
        return cast("dict[str, Any]", plain({k: deserializer.deserialize(v) for k, v in old.items()}))

    def _update_if(self, **update: Any) -> bool:
        """One conditional UpdateItem: True when it was written, False when its
        condition did not hold (someone else acted first, or nothing to do)."""
        try:
            self.table.update_item(**update)
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True
