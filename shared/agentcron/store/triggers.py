"""A task's webhook triggers, and their per-minute delivery counters.

Layout: a trigger lives in its task's partition, ``TASK#<id>`` / ``TRIGGER#<trigger id>``
(the trigger id carries the task's ULID, so the public route finds it with one GetItem);
a minute's counter beside it, ``TRIGGER#<trigger id>#MIN#<epoch minute>``, removed by the
table's TTL soon after.

Contract: `put_trigger`, `rotate_trigger` and `delete_trigger` are each one transaction
with the task's history entry, and only while the task is its owner's and undeleted
(rotate and delete: only while the trigger exists): else NotFound, nothing written.
`take_delivery_slot` is one conditional ADD: False, and nothing counted, once the minute
holds `limit` deliveries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from agentcron.errors import NotFound
from agentcron.history import HistoryEntry
from agentcron.ids import task_id_of_trigger
from agentcron.models import Run, WebhookTrigger
from agentcron.store.dynamo import _ConditionFailed, is_condition_failure, plain, storable, translated
from agentcron.store.history import HistoryStore
from agentcron.store.keys import epoch, task_key

TRIGGER_PREFIX: Final = "TRIGGER#"
_COUNTER_KEPT_SECONDS: Final = 180


def trigger_key(task_id: str, trigger_id: str) -> dict[str, str]:
    return {"PK": f"TASK#{task_id}", "SK": f"{TRIGGER_PREFIX}{trigger_id}"}


class TriggerStore(HistoryStore):
    def _task_condition(self, owner: str) -> dict[str, Any]:
        """The task's own entry in a trigger change's transaction: it must be the owner's, undeleted."""
        return {
            "ConditionExpression": "attribute_exists(PK) AND #owner = :owner AND attribute_not_exists(deleted_at)"
            " AND attribute_not_exists(kind)",
            "ExpressionAttributeNames": {"#owner": "owner"},
            "ExpressionAttributeValues": {":owner": owner},
        }

    def _write_with_task(
        self, owner: str, task_id: str, change: dict[str, Any], history: HistoryEntry, what: str
    ) -> None:
        check = {
            "ConditionCheck": {"TableName": self.table_name, "Key": task_key(task_id), **self._task_condition(owner)}
        }
        try:
            self._write_recorded(check, history, [change])
        except _ConditionFailed:
            raise NotFound(f"task {task_id} not found") from None
        except self._client.exceptions.TransactionCanceledException as error:
            codes = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in codes:
                raise NotFound(what) from None
            raise

    @translated
    def put_trigger(self, trigger: WebhookTrigger, history: HistoryEntry) -> None:
        item = storable(trigger.model_dump(mode="json", exclude_none=True))
        item.update(trigger_key(trigger.task_id, trigger.id))
        put = {"Put": {"TableName": self.table_name, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}}
        self._write_with_task(trigger.owner, trigger.task_id, put, history, f"trigger {trigger.id} exists")

    @translated
    def list_triggers(self, task_id: str) -> list[WebhookTrigger]:
        response = self.table.query(
            KeyConditionExpression=Key("PK").eq(f"TASK#{task_id}") & Key("SK").begins_with(TRIGGER_PREFIX),
            ConsistentRead=True,
        )
        # (The minute counters share the prefix: only the triggers themselves have an id.)
        return [WebhookTrigger.model_validate(plain(item)) for item in response.get("Items", []) if "id" in item]

    @translated
    def get_trigger(self, trigger_id: str) -> WebhookTrigger | None:
        task_id = task_id_of_trigger(trigger_id)
        item = None if task_id is None else self._get(trigger_key(task_id, trigger_id))
        return None if item is None else WebhookTrigger.model_validate(item)

    @translated
    def rotate_trigger(self, owner: str, trigger_id: str, secret: str, now: datetime, history: HistoryEntry) -> None:
        task_id = task_id_of_trigger(trigger_id) or ""
        update = {
            "Update": {
                "TableName": self.table_name,
                "Key": trigger_key(task_id, trigger_id),
                "UpdateExpression": "SET secret = :secret, rotated_at = :now",
                "ConditionExpression": "attribute_exists(PK) AND #owner = :owner",
                "ExpressionAttributeNames": {"#owner": "owner"},
                "ExpressionAttributeValues": {":secret": secret, ":now": now.isoformat(), ":owner": owner},
            }
        }
        self._write_with_task(owner, task_id, update, history, f"trigger {trigger_id} not found")

    @translated
    def delete_trigger(self, owner: str, trigger_id: str, history: HistoryEntry) -> None:
        task_id = task_id_of_trigger(trigger_id) or ""
        delete = {
            "Delete": {
                "TableName": self.table_name,
                "Key": trigger_key(task_id, trigger_id),
                "ConditionExpression": "attribute_exists(PK) AND #owner = :owner",
                "ExpressionAttributeNames": {"#owner": "owner"},
                "ExpressionAttributeValues": {":owner": owner},
            }
        }
        self._write_with_task(owner, task_id, delete, history, f"trigger {trigger_id} not found")

    @translated
    def put_delivered_run(self, run: Run) -> bool:
        """The run a delivery starts, if no run has its id yet; False (nothing written) when
        the same delivery started it first."""
        try:
            self.table.put_item(Item=self.run_item(run), ConditionExpression="attribute_not_exists(PK)")
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    @translated
    def take_delivery_slot(self, trigger: WebhookTrigger, now: datetime, limit: int) -> bool:
        """Count one delivery in the current minute, unless the minute is full."""
        minute = epoch(now) // 60 * 60
        key = {"PK": f"TASK#{trigger.task_id}", "SK": f"{TRIGGER_PREFIX}{trigger.id}#MIN#{minute}"}
        return self._update_if(
            Key=key,
            UpdateExpression="ADD deliveries :one SET expires_at = :expires",
            ConditionExpression="attribute_not_exists(deliveries) OR deliveries < :limit",
            ExpressionAttributeValues={":one": 1, ":limit": limit, ":expires": minute + _COUNTER_KEPT_SECONDS},
        )
