"""Runs as their owner sees them: create, read, list and move between states.

Contract: a create puts the run only if its key is free (with its idempotency record).
`transition_run` is one conditional UpdateItem holding that the run exists, is the
caller's, is in one of `from_statuses` (and, for recovery, still has the deadline the
caller saw); a failed condition changes nothing and raises NotFound (absent or another
owner's) or Conflict (another state). An owner's run-now, reply and cancel carry a
history entry of the run's task, written in the same transaction (history.py).
Reads never write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key

from agentcron.errors import Conflict, NotFound
from agentcron.history import HistoryEntry
from agentcron.ids import scheduled_run_id, task_id_of_run
from agentcron.models import ACTIVE_STATUSES, Run, RunStatus
from agentcron.store import paging
from agentcron.store.dynamo import _ConditionFailed, storable, translated
from agentcron.store.idempotency import IdempotencyClaim
from agentcron.store.keys import epoch, run_key, shard_of
from agentcron.store.paging import Page, owner_page, query_page
from agentcron.store.tasks import TaskStore


class RunStore(TaskStore):
    @translated
    def create_run(
        self, run: Run, idempotency: IdempotencyClaim | None = None, *, history: HistoryEntry | None = None
    ) -> str:
        put = {
            "Put": {
                "TableName": self.table_name,
                "Item": self.run_item(run),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }
        writes = [put] if history is None else [put, self.history_put(history)]
        return self._write_with_idempotency(writes, idempotency, run.id)

    def run_put(self, run: Run) -> dict[str, Any]:
        """The transaction entry that writes a new run with another change (a chained run with
        its parent's outcome). No condition: its id is derived from that change, which is
        itself conditional, so the entry is written at most once."""
        return {"Put": {"TableName": self.table_name, "Item": self.run_item(run)}}

    @translated
    def get_run(self, owner: str, run_id: str) -> Run:
        task_id = task_id_of_run(run_id)
        if task_id is None:
            raise NotFound(f"run {run_id} not found")
        item = self._get(run_key(task_id, run_id))
        if item is None or item.get("owner") != owner:
            raise NotFound(f"run {run_id} not found")
        return Run.model_validate(item)

    @translated
    def list_task_runs(
        self, owner: str, task_id: str, *, limit: int, cursor: str | None, status: RunStatus | None
    ) -> Page[Run]:
        self.get_task(owner, task_id, include_deleted=True)
        partition = f"TASK#{task_id}"
        filters: list[ConditionBase] = [Attr("owner").eq(owner)]
        if status is not None:
            filters.append(Attr("status").eq(status.value))
        return query_page(
            self.table,
            index=None,
            key_condition=Key("PK").eq(partition) & Key("SK").begins_with("RUN#"),
            key_names=("PK", "SK"),
            expected={"PK": partition},
            within=lambda keys: keys["SK"].startswith("RUN#"),
            limit=limit,
            cursor=cursor,
            filters=filters,
            parse=Run.model_validate,
        )

    @translated
    def queued_run_times(self, task_id: str, lower: int, upper: int) -> list[int]:
        """The scheduled epochs in [lower, upper] of a task's QUEUED runs, ascending: the
        runs claimed ahead of their time (the caller has checked the task's owner). Run ids
        embed their epoch, so this is one range read of the task's partition; the range is
        a lookahead window, which holds at most the claims of one tick."""
        run_prefix = f"RUN#{scheduled_run_id(task_id, 0)[:-10]}"
        response = self.table.query(
            KeyConditionExpression=Key("PK").eq(f"TASK#{task_id}")
            # "~" sorts after the suffix of manual run ids, so runs of `upper` itself are in.
            & Key("SK").between(f"{run_prefix}{max(lower, 0):010d}", f"{run_prefix}{upper:010d}~"),
            FilterExpression=Attr("status").eq(RunStatus.QUEUED.value),
            ProjectionExpression="scheduled_for",
            Limit=paging.READ_BUDGET_ITEMS,
        )
        return sorted({epoch(datetime.fromisoformat(str(item["scheduled_for"]))) for item in response.get("Items", [])})

    @translated
    def list_owner_runs(
        self,
        owner: str,
        *,
        limit: int,
        cursor: str | None,
        status: RunStatus | None,
        since: datetime | None,
    ) -> Page[Run]:
        partition = f"OWNER#{owner}#RUNS"
        key_condition: ConditionBase = Key("GSI1PK").eq(partition)
        within: Callable[[Mapping[str, str]], bool] | None = None
        if since is not None:
            lowest = f"{max(epoch(since), 0):010d}"
            key_condition = key_condition & Key("GSI1SK").gte(lowest)
            within = lambda keys: keys["GSI1SK"] >= lowest  # noqa: E731
        filters: list[ConditionBase] = []
        if status is not None:
            filters.append(Attr("status").eq(status.value))
        return owner_page(self.table, partition, key_condition, limit, cursor, filters, Run.model_validate, within)

    @translated
    def transition_run(
        self,
        owner: str,
        run_id: str,
        *,
        from_statuses: Iterable[RunStatus],
        to_status: RunStatus,
        fields: Mapping[str, Any] | None = None,
        remove: Iterable[str] = (),
        active_until: int | None = None,
        expect_active_until: int | None = None,
        history: HistoryEntry | None = None,
        also: Sequence[dict[str, Any]] = (),
    ) -> Run:
        """Move a run between states with one conditional write; a run in any
        other state (or someone else's) is left untouched. Entering QUEUED or
        RUNNING puts the run in the recovery index until `active_until`;
        leaving them takes it out. With `history`, the entry is written in the
        same transaction (the owner's reply or cancel); so is `also` (an
        attempt's spend counters: counted if and only if its outcome is stored)."""
        task_id = task_id_of_run(run_id)
        if task_id is None:
            raise NotFound(f"run {run_id} not found")
        allowed = sorted(s.value for s in from_statuses)
        names = {"#status": "status", "#owner": "owner"}
        values: dict[str, Any] = {":owner": owner, ":to": to_status.value}
        placeholders = []
        for index, status in enumerate(allowed):
            values[f":from{index}"] = status
            placeholders.append(f":from{index}")
        sets = ["#status = :to"]
        for index, (field, value) in enumerate((fields or {}).items()):
            names[f"#f{index}"] = field
            values[f":v{index}"] = storable(value)
            sets.append(f"#f{index} = :v{index}")
        removes = [f"#r{index}" for index, _ in enumerate(remove)]
        names.update({f"#r{index}": field for index, field in enumerate(remove)})
        names["#ashard"], names["#auntil"] = "active_shard", "active_until"
        if to_status in ACTIVE_STATUSES:
            if active_until is None:
                raise ValueError("a run entering QUEUED or RUNNING needs active_until")
            values[":ashard"], values[":auntil"] = shard_of(task_id, self.due_shards), active_until
            sets += ["#ashard = :ashard", "#auntil = :auntil"]
        else:
            removes += ["#ashard", "#auntil"]
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        condition = f"attribute_exists(PK) AND #owner = :owner AND #status IN ({', '.join(placeholders)})"
        if expect_active_until is not None:
            # Recovery: only if nobody touched the run since we looked.
            values[":seen_until"] = expect_active_until
            condition += " AND #auntil = :seen_until"
        key = run_key(task_id, run_id)
        try:
            if history is None and not also:
                return Run.model_validate(self._update(key, expression, condition, names, values))
            update = {
                "Update": {
                    "TableName": self.table_name,
                    "Key": key,
                    "UpdateExpression": expression,
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            }
            self._write_recorded(update, history, also)
            # A transaction returns no item: read the run back (consistently).
            return Run.model_validate(self._get(key))
        except _ConditionFailed as failed:
            old = failed.old
            if old is None or old.get("owner") != owner:
                raise NotFound(f"run {run_id} not found") from failed
            raise Conflict(
                f"run {run_id} is {old.get('status')}; this needs it to be one of {', '.join(allowed)}"
            ) from failed
