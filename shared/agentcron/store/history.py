"""A task's history entries: written with the change they record, read newest first.

Layout: an entry lives in its task's partition, ``TASK#<id>`` / ``HIST#<hist id>``
(the id is a ULID, so the sort key orders entries by when they were written), with
``expires_at`` set from the store's retention (the template's HistoryRetentionDays):
the table's TTL removes it then.

Contract: `_write_recorded` writes a change (its first transaction entry, carrying
the change's condition) and its history entry in one TransactWriteItems, all or
nothing: a failed condition writes neither and raises `_ConditionFailed` with the
item as it was; a transient clash (another transaction on the task) is retried a few
times, then leaves as StoreUnavailable. `task_history` reads only, and only the
history of a task the caller owns (deleted or not): anything else is NotFound.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any, Final, cast

from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import TypeDeserializer

from agentcron.history import HistoryEntry
from agentcron.store.base import StoreBase
from agentcron.store.dynamo import _ConditionFailed, plain, storable, translated
from agentcron.store.keys import epoch, history_key
from agentcron.store.paging import Page, query_page

_TRANSACT_ATTEMPTS: Final = 4
HISTORY_PREFIX: Final = "HIST#"


class HistoryStore(StoreBase):
    def history_put(self, entry: HistoryEntry) -> dict[str, Any]:
        """The transaction entry that writes `entry` (its id is new: no condition needed)."""
        item: dict[str, Any] = storable(entry.model_dump(mode="json", exclude_none=True))
        item.update(history_key(entry.task_id, entry.id))
        item["expires_at"] = epoch(entry.at) + self.history_retention_days * 86_400
        return {"Put": {"TableName": self.table_name, "Item": item}}

    def _write_recorded(
        self, change: dict[str, Any], entry: HistoryEntry | None, also: Sequence[dict[str, Any]] = ()
    ) -> None:
        """Write `change` (one transaction entry, Update or Put, whose condition is the
        change's) together with its history entry (if any) and `also` (unconditional
        entries that must be written with it: a run's spend counters)."""
        entries = [change, *([] if entry is None else [self.history_put(entry)]), *also]
        operation, request = next(iter(change.items()))
        if operation == "Update":
            request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        for attempt in range(_TRANSACT_ATTEMPTS):
            try:
                self._client.transact_write_items(TransactItems=entries)  # type: ignore[arg-type]
                return
            except self._client.exceptions.TransactionCanceledException as error:
                reasons = error.response.get("CancellationReasons", [])
                if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                    raise _ConditionFailed(self._refused_item(dict(reasons[0]), request["Key"])) from error
                # TransactionConflict / throttling: a transient clash, not a decision.
                if attempt + 1 == _TRANSACT_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0, 0.05 * 2**attempt))

    def _refused_item(self, reason: dict[str, Any], key: dict[str, str]) -> dict[str, Any] | None:
        old = reason.get("Item")
        if old is None:
            return self._get(key)
        # Cancellation reasons are not deserialised by the resource layer: wire format.
        deserializer = TypeDeserializer()
        return cast("dict[str, Any]", plain({k: deserializer.deserialize(v) for k, v in old.items()}))

    @translated
    def task_history(self, owner: str, task_id: str, *, limit: int, cursor: str | None) -> Page[HistoryEntry]:
        """The task's history, newest first: its owner's to read, after it was deleted too."""
        self._owned_task_item(owner, task_id)
        partition = f"TASK#{task_id}"
        return query_page(
            self.table,
            index=None,
            key_condition=Key("PK").eq(partition) & Key("SK").begins_with(HISTORY_PREFIX),
            key_names=("PK", "SK"),
            expected={"PK": partition},
            within=lambda keys: keys["SK"].startswith(HISTORY_PREFIX),
            limit=limit,
            cursor=cursor,
            filters=[],
            parse=HistoryEntry.model_validate,
        )
