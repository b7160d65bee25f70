"""A task's memory (remember/recall): plain key-value items in the task's partition.

Contract: `remember` puts the value unconditionally once the key exists or the task
holds fewer than `max_keys` keys; otherwise it writes nothing and answers False (the
count is read first, so two concurrent new keys may both land: the limit is a bound
on growth, not a transaction). `recall` never writes.
"""

from __future__ import annotations

from datetime import datetime

from boto3.dynamodb.conditions import Key

from agentcron.store.base import StoreBase
from agentcron.store.dynamo import translated
from agentcron.store.keys import memory_key


class MemoryStore(StoreBase):
    @translated
    def remember(self, task_id: str, key: str, value: str, *, now: datetime, max_keys: int) -> bool:
        """Store a memory value; False when the task already holds `max_keys` other keys."""
        existing = self._get(memory_key(task_id, key))
        if existing is None:
            count = self.table.query(
                KeyConditionExpression=Key("PK").eq(f"TASK#{task_id}") & Key("SK").begins_with("MEM#"),
                Select="COUNT",
            )["Count"]
            if count >= max_keys:
                return False
        self.table.put_item(
            Item={"PK": f"TASK#{task_id}", "SK": f"MEM#{key}", "value": value, "updated_at": now.isoformat()}
        )
        return True

    @translated
    def recall(self, task_id: str, key: str) -> str | None:
        item = self._get(memory_key(task_id, key))
        return None if item is None else str(item["value"])
