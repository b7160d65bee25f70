"""Claims (dispatcher side, across owners): due and overdue reads, claim commits, re-sends.

Contract: `commit_claim` is one transaction: the task's next run advances only if it
is still the one seen, the task still enabled, undeleted and at the planned version,
and each run is put only if it does not exist. Any failed condition writes nothing:
ClaimLost when the task changed or another dispatcher won (re-read, do not retry
blindly), RunsAlreadyExist when only some runs existed (claim without them). A
transient cancellation (conflict, throttling) is retried a few times, then is
StoreUnavailable. `bump_active_deadline` writes once per seen deadline: False, and
nothing changed, for every dispatcher but the first.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

from boto3.dynamodb.conditions import ConditionBase, Key

from agentcron.ids import task_id_of_run
from agentcron.models import Run, Task
from agentcron.store.base import StoreBase
from agentcron.store.dynamo import plain, translated, translated_iter
from agentcron.store.keys import ACTIVE_INDEX, DUE_INDEX, run_key, task_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

_TRANSACT_ATTEMPTS: Final = 4


class ClaimLost(Exception):
    """A claim's condition failed: another dispatcher won or the task changed.
    `codes` are the transaction's cancellation reasons, one per item."""

    def __init__(self, codes: list[str | None]) -> None:
        super().__init__(f"claim lost: {codes}")
        self.codes = codes


class RunsAlreadyExist(Exception):
    """The task was as seen, but some of the runs were claimed before (e.g.
    ahead of a pause and resume): those occurrences are taken already."""

    def __init__(self, run_ids: list[str]) -> None:
        super().__init__(f"runs exist already: {run_ids}")
        self.run_ids = run_ids


def transact(client: DynamoDBClient, items: list[dict[str, Any]]) -> None:
    """One TransactWriteItems; a failed condition is ClaimLost, a transient clash is retried."""
    for attempt in range(_TRANSACT_ATTEMPTS):
        try:
            client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
            return
        except client.exceptions.TransactionCanceledException as error:
            codes = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in codes:
                raise ClaimLost(codes) from error
            # TransactionConflict / throttling: a transient clash, not a decision.
            if attempt + 1 == _TRANSACT_ATTEMPTS:
                raise
            time.sleep(random.uniform(0, 0.05 * 2**attempt))


class ClaimStore(StoreBase):
    @translated
    def get_task_by_id(self, task_id: str) -> Task | None:
        """Internal read for the dispatcher and runner, which act for every owner."""
        item = self._get(task_key(task_id))
        return None if item is None else Task.model_validate(item)

    @translated
    def get_run_by_id(self, run_id: str) -> Run | None:
        task_id = task_id_of_run(run_id)
        item = None if task_id is None else self._get(run_key(task_id, run_id))
        return None if item is None else Run.model_validate(item)

    @translated_iter
    def due_tasks(self, shard: str, upto: int, *, page_size: int = 200) -> Iterator[Task]:
        """Tasks of one due shard whose next run is at or before `upto`, oldest first."""
        yield from self._query_all(
            DUE_INDEX, Key("due_shard").eq(shard) & Key("next_run_at").lte(upto), page_size, Task
        )

    @translated_iter
    def overdue_active_runs(self, shard: str, upto: int, *, page_size: int = 200) -> Iterator[Run]:
        """QUEUED/RUNNING runs of one shard whose deadline passed (for recovery)."""
        yield from self._query_all(
            ACTIVE_INDEX, Key("active_shard").eq(shard) & Key("active_until").lte(upto), page_size, Run
        )

    def _query_all[M: (Task, Run)](
        self, index: str, condition: ConditionBase, page_size: int, model: type[M]
    ) -> Iterator[M]:
        kwargs: dict[str, Any] = {"IndexName": index, "KeyConditionExpression": condition, "Limit": page_size}
        while True:
            response = self.table.query(**kwargs)
            for item in response.get("Items", []):
                yield model.model_validate(plain(item))
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    @translated
    def commit_claim(
        self, task: Task, *, seen_next_run_at: int, new_next_run_at: int | None, runs: list[Run], queued: int
    ) -> None:
        """One transaction: advance the task's next run (only if it is still
        `seen_next_run_at`, the task still enabled and at the version the plan
        was made from) and put the runs (only if no such run exists).

        Raises ClaimLost when someone else got there first or the task changed
        (the caller re-reads instead of retrying blindly), RunsAlreadyExist when
        only some runs were there already (the caller claims without them).
        The version check matters: an edit may leave next_run_at unchanged
        while changing the schedule a stale plan would follow."""
        names = {"#next": "next_run_at", "#enabled": "enabled", "#count": "runs_scheduled", "#version": "version"}
        values: dict[str, Any] = {
            ":seen": seen_next_run_at,
            ":true": True,
            ":queued": queued,
            ":version": task.version,
        }
        if new_next_run_at is None:
            names["#shard"] = "due_shard"
            update = "ADD #count :queued REMOVE #next, #shard"
        else:
            values[":next"] = new_next_run_at
            update = "SET #next = :next ADD #count :queued"
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": task_key(task.id),
                    "UpdateExpression": update,
                    "ConditionExpression": "#next = :seen AND #enabled = :true AND #version = :version"
                    " AND attribute_not_exists(deleted_at)",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            }
        ]
        items += [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": self.run_item(run),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
            for run in runs
        ]
        try:
            transact(self._client, items)
        except ClaimLost as lost:
            task_held = lost.codes[:1] in ([None], ["None"])
            taken = [
                run.id for run, code in zip(runs, lost.codes[1:], strict=False) if code == "ConditionalCheckFailed"
            ]
            if task_held and taken:
                raise RunsAlreadyExist(taken) from lost
            raise

    @translated
    def bump_active_deadline(self, run: Run, *, seen_until: int, new_until: int) -> bool:
        """Push a QUEUED run's recovery deadline forward and count the re-send, once:
        when several dispatchers recover the same run, exactly one wins."""
        return self._update_if(
            Key=run_key(run.task_id, run.id),
            UpdateExpression="SET active_until = :new, resends = if_not_exists(resends, :zero) + :one",
            ConditionExpression="active_until = :seen AND #status = :status",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":new": new_until,
                ":seen": seen_until,
                ":status": run.status.value,
                ":zero": 0,
                ":one": 1,
            },
        )
