"""The only module that talks to DynamoDB.

Key layout (docs/architecture.md): a task and its runs and memory share the
partition ``TASK#<id>``; the ``ByOwner`` index lists an owner's tasks and runs
newest first; the sparse ``Due`` index holds only enabled, undeleted tasks that
have a next occurrence, and this module is the one place that keeps those
attributes consistent with ``enabled``/``deleted_at``/the schedule.

Every read by id checks the owner and answers NotFound for someone else's
item, so callers cannot forget isolation. Nothing here uses Scan.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, cast

import boto3
from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config
from botocore.exceptions import ClientError

from agentcron.errors import BadRequest, Conflict, Gone, IdempotencyKeyReused, NotFound, PreconditionFailed
from agentcron.ids import scheduled_run_id, task_id_of_run
from agentcron.models import ACTIVE_STATUSES, Run, RunStatus, Task

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

BY_OWNER_INDEX: Final = "ByOwner"
DUE_INDEX: Final = "Due"
ACTIVE_INDEX: Final = "Active"
IDEMPOTENCY_TTL_SECONDS: Final = 24 * 3600
# How long a QUEUED run may wait past its scheduled time before recovery looks at it.
QUEUED_GRACE_SECONDS: Final = 120
# The most one listing request reads: queries, and items evaluated by them (each
# query also stops at DynamoDB's 1 MB), whatever its filters match.
_MAX_QUERY_ROUNDS: Final = 10
_READ_BUDGET_ITEMS: Final = 2000
_TRANSACT_ATTEMPTS: Final = 4
# Throttling is retried with backoff and jitter by botocore itself.
_RETRIES: Final = Config(retries={"mode": "standard", "max_attempts": 6})


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


class _ConditionFailed(Exception):
    def __init__(self, old: dict[str, Any] | None) -> None:
        super().__init__("condition failed")
        self.old = old


class Keep:
    """Marker: leave the due attributes as they are."""


KEEP: Final = Keep()


@dataclass(frozen=True)
class Page[T]:
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class IdempotencyClaim:
    """What a create/run-now request asks to be remembered under its key."""

    owner: str
    key: str
    request_hash: str
    resource_id: str


def shard_of(task_id: str, shards: int) -> str:
    digest = hashlib.sha256(task_id.encode()).digest()
    return str(int.from_bytes(digest[:4], "big") % shards)


def request_hash(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _epoch(value: datetime) -> int:
    return int(value.timestamp())


def task_key(task_id: str) -> dict[str, str]:
    return {"PK": f"TASK#{task_id}", "SK": "TASK"}


def run_key(task_id: str, run_id: str) -> dict[str, str]:
    return {"PK": f"TASK#{task_id}", "SK": f"RUN#{run_id}"}


def _idem_key(owner: str, key: str) -> dict[str, str]:
    # The owner's length first: owner and key may both contain "#", and "a#b"+"c" must not
    # meet "a"+"b#c" (another owner's record).
    return {"PK": f"IDEM#{len(owner)}#{owner}#{key}", "SK": "IDEM"}


def _encode_cursor(keys: Mapping[str, Any]) -> str:
    raw = json.dumps({k: str(v) for k, v in keys.items()}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(
    cursor: str,
    expected: Mapping[str, str],
    key_names: Iterable[str],
    within: Callable[[Mapping[str, str]], bool] | None = None,
) -> dict[str, str]:
    """Decode a cursor and prove it belongs to this very listing: a cursor
    forged or copied from another owner's listing is a 400, never a 500 and
    never a way into someone else's partition."""
    invalid = BadRequest("cursor is not valid for this listing; start again without it")
    if len(cursor) > 2048:
        raise invalid
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise invalid from exc
    names = set(key_names)
    if (
        not isinstance(decoded, dict)
        or set(decoded) != names
        or not all(isinstance(v, str) and 0 < len(v) <= 600 for v in decoded.values())
        or any(decoded.get(k) != v for k, v in expected.items())
        # DynamoDB refuses a start key outside the query's key condition (a 500 otherwise).
        or (within is not None and not within(decoded))
    ):
        raise invalid
    return decoded


def _is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class Store:
    def __init__(
        self,
        table_name: str,
        *,
        due_shards: int,
        table: Table | None = None,
        session: boto3.session.Session | None = None,
    ) -> None:
        # A boto3 resource is not thread-safe, so a Store is used by one thread at a time
        # (the dispatcher lends its shard threads one each). `session`: a warm session to
        # build the resource from (agentcron.bootstrap's; the caller serialises its use), else
        # a fresh one, which costs ~100 ms of CPU to load the service's models.
        if table is None:
            maker = session if session is not None else boto3.session.Session()
            table = maker.resource("dynamodb", config=_RETRIES).Table(table_name)
        self.table: Table = table
        self.table_name = table_name
        self.due_shards = due_shards
        self._client = self.table.meta.client

    # ---- item shapes -------------------------------------------------

    def task_item(self, task: Task) -> dict[str, Any]:
        item: dict[str, Any] = task.model_dump(mode="json", exclude_none=True)
        item.update(task_key(task.id))
        if task.deleted_at is None:
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
        item["GSI1PK"] = f"OWNER#{run.owner}#RUNS"
        item["GSI1SK"] = f"{_epoch(run.scheduled_for):010d}#{run.id}"
        if run.status in ACTIVE_STATUSES:
            item["active_shard"] = shard_of(run.task_id, self.due_shards)
            if run.active_until is None:
                # From when it was queued, not when it was due: a run claimed late
                # (a misfire) is not overdue the moment it exists.
                queued_at = max(_epoch(run.scheduled_for), _epoch(run.created_at))
                item["active_until"] = queued_at + QUEUED_GRACE_SECONDS
        else:
            item.pop("active_until", None)
        return item

    # ---- tasks -------------------------------------------------------

    def create_task(self, task: Task, idempotency: IdempotencyClaim | None = None) -> str:
        """Write a new task (and its idempotency record, atomically).
        Returns the id of the task that the request stands for: a replay with
        the same key and body returns the earlier task's id."""
        put = {
            "Put": {
                "TableName": self.table_name,
                "Item": self.task_item(task),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }
        return self._write_with_idempotency(put, idempotency, task.id)

    def get_task(self, owner: str, task_id: str, *, include_deleted: bool = False) -> Task:
        item = self._get(task_key(task_id))
        if item is None or item.get("owner") != owner:
            raise NotFound(f"task {task_id} not found")
        if item.get("deleted_at") and not include_deleted:
            raise Gone(f"task {task_id} was deleted (its runs stay readable)")
        return Task.model_validate(item)

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
        return self._owner_page(partition, Key("GSI1PK").eq(partition), limit, cursor, filters, Task.model_validate)

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
    ) -> Task:
        """Apply `changes` (already validated model values, JSON-dumped) as one
        conditional UpdateItem, bumping `version`. Fields other writers own
        (run counters, last_run) are never overwritten wholesale."""
        names: dict[str, str] = {"#owner": "owner", "#version": "version", "#updated": "updated_at"}
        values: dict[str, Any] = {":owner": owner, ":one": 1, ":updated": now.isoformat()}
        sets = ["#version = #version + :one", "#updated = :updated"]
        removes: list[str] = []
        for index, (field, value) in enumerate(changes.items()):
            names[f"#f{index}"] = field
            if value is None:
                removes.append(f"#f{index}")
            else:
                values[f":v{index}"] = value
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
        condition = "attribute_exists(PK) AND #owner = :owner AND attribute_not_exists(deleted_at)"
        if expected_version is not None:
            values[":expected"] = expected_version
            condition += " AND #version = :expected"
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            return Task.model_validate(self._update(task_key(task_id), expression, condition, names, values))
        except _ConditionFailed as failed:
            self._raise_task_condition(failed.old, owner, task_id, expected_version)
            raise

    def delete_task(self, owner: str, task_id: str, *, expected_version: int | None, now: datetime) -> None:
        """Soft delete: the task leaves listings and the due set; its runs stay."""
        self.update_task(
            owner,
            task_id,
            {"enabled": False, "deleted_at": now.isoformat()},
            expected_version=expected_version,
            now=now,
            next_run_at=None,
            remove=("GSI1PK", "GSI1SK"),
        )

    @staticmethod
    def _raise_task_condition(
        old: Mapping[str, Any] | None, owner: str, task_id: str, expected_version: int | None
    ) -> None:
        if old is None or old.get("owner") != owner:
            raise NotFound(f"task {task_id} not found")
        if old.get("deleted_at"):
            raise Gone(f"task {task_id} was deleted")
        if expected_version is not None and int(old.get("version", 0)) != expected_version:
            raise PreconditionFailed(
                f"task {task_id} is at version {old.get('version')}, not {expected_version}; GET it again and retry"
            )

    # ---- runs --------------------------------------------------------

    def create_run(self, run: Run, idempotency: IdempotencyClaim | None = None) -> str:
        put = {
            "Put": {
                "TableName": self.table_name,
                "Item": self.run_item(run),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }
        return self._write_with_idempotency(put, idempotency, run.id)

    def get_run(self, owner: str, run_id: str) -> Run:
        task_id = task_id_of_run(run_id)
        if task_id is None:
            raise NotFound(f"run {run_id} not found")
        item = self._get(run_key(task_id, run_id))
        if item is None or item.get("owner") != owner:
            raise NotFound(f"run {run_id} not found")
        return Run.model_validate(item)

    def list_task_runs(
        self, owner: str, task_id: str, *, limit: int, cursor: str | None, status: RunStatus | None
    ) -> Page[Run]:
        self.get_task(owner, task_id, include_deleted=True)
        partition = f"TASK#{task_id}"
        filters: list[ConditionBase] = [Attr("owner").eq(owner)]
        if status is not None:
            filters.append(Attr("status").eq(status.value))
        return self._query_page(
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
            Limit=_READ_BUDGET_ITEMS,
        )
        return sorted(
            {_epoch(datetime.fromisoformat(str(item["scheduled_for"]))) for item in response.get("Items", [])}
        )

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
            lowest = f"{max(_epoch(since), 0):010d}"
            key_condition = key_condition & Key("GSI1SK").gte(lowest)
            within = lambda keys: keys["GSI1SK"] >= lowest  # noqa: E731
        filters: list[ConditionBase] = []
        if status is not None:
            filters.append(Attr("status").eq(status.value))
        return self._owner_page(partition, key_condition, limit, cursor, filters, Run.model_validate, within)

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
    ) -> Run:
        """Move a run between states with one conditional write; a run in any
        other state (or someone else's) is left untouched. Entering QUEUED or
        RUNNING puts the run in the recovery index until `active_until`;
        leaving them takes it out."""
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
            values[f":v{index}"] = value
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
        try:
            return Run.model_validate(self._update(run_key(task_id, run_id), expression, condition, names, values))
        except _ConditionFailed as failed:
            old = failed.old
            if old is None or old.get("owner") != owner:
                raise NotFound(f"run {run_id} not found") from failed
            raise Conflict(
                f"run {run_id} is {old.get('status')}; this needs it to be one of {', '.join(allowed)}"
            ) from failed

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
            if not _is_condition_failure(error):
                raise
            raise _ConditionFailed(self._old_item(error, key)) from error
        return cast("dict[str, Any]", _plain(result["Attributes"]))

    def _old_item(self, error: ClientError, key: dict[str, str]) -> dict[str, Any] | None:
        """The item that failed a condition: from the error when DynamoDB
        returns it (ReturnValuesOnConditionCheckFailure), else read back."""
        old = cast("dict[str, Any] | None", error.response.get("Item"))
        if old is None:
            return self._get(key)
        # The resource layer does not deserialise error bodies: this is wire format.
        deserializer = TypeDeserializer()
        return cast("dict[str, Any]", _plain({k: deserializer.deserialize(v) for k, v in old.items()}))

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        item = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
        return None if item is None else _plain(item)

    # ---- scheduling (dispatcher side; these work across owners) -------

    def get_task_by_id(self, task_id: str) -> Task | None:
        """Internal read for the dispatcher and runner, which act for every owner."""
        item = self._get(task_key(task_id))
        return None if item is None else Task.model_validate(item)

    def get_run_by_id(self, run_id: str) -> Run | None:
        task_id = task_id_of_run(run_id)
        item = None if task_id is None else self._get(run_key(task_id, run_id))
        return None if item is None else Run.model_validate(item)

    def due_tasks(self, shard: str, upto: int, *, page_size: int = 200) -> Iterator[Task]:
        """Tasks of one due shard whose next run is at or before `upto`, oldest first."""
        yield from self._query_all(
            DUE_INDEX, Key("due_shard").eq(shard) & Key("next_run_at").lte(upto), page_size, Task
        )

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
                yield model.model_validate(_plain(item))
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

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
            self._transact(items)
        except ClaimLost as lost:
            task_held = lost.codes[:1] in ([None], ["None"])
            taken = [
                run.id for run, code in zip(runs, lost.codes[1:], strict=False) if code == "ConditionalCheckFailed"
            ]
            if task_held and taken:
                raise RunsAlreadyExist(taken) from lost
            raise

    # ---- execution (runner side) -------------------------------------

    def start_run(self, task: Task, run: Run, *, now: datetime, lease_until: int, exclusive: bool) -> Run:
        """QUEUED → RUNNING and the task's running marker, in one transaction.
        `exclusive` (overlap skip / buffer_one) also requires that no other run
        holds an unexpired marker. ClaimLost means the run was started by a
        duplicate message, or the marker changed: re-read and decide again."""
        now_epoch = _epoch(now)
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
        self._transact(
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
            ]
        )
        return run.model_copy(
            update={
                "status": RunStatus.RUNNING,
                "attempt": run.attempt + 1,
                "started_at": now,
                "active_until": lease_until,
            }
        )

    def buffer_run(self, task_id: str, run_id: str) -> bool:
        """Hold `run_id` as the task's one buffered run (overlap buffer_one); False if another holds it."""
        return self._update_if(
            Key=task_key(task_id),
            UpdateExpression="SET buffered_run_id = :run",
            ConditionExpression="attribute_not_exists(buffered_run_id) OR buffered_run_id = :run",
            ExpressionAttributeValues={":run": run_id},
        )

    def release_buffered(self, task_id: str, run_id: str) -> bool:
        """A buffered run that will never start (cancelled) gives up its place: held
        on, it would make every later overlapping run SKIPPED instead of buffered."""
        return self._update_if(
            Key=task_key(task_id),
            UpdateExpression="REMOVE buffered_run_id",
            ConditionExpression="buffered_run_id = :run",
            ExpressionAttributeValues={":run": run_id},
        )

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
            if not _is_condition_failure(error):
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
                if _is_condition_failure(again):
                    return None
                raise
        return Task.model_validate(_plain(result["Attributes"]))

    def auto_pause(self, task_id: str, reason: str, now: datetime) -> bool:
        """Pause a task that keeps failing (once: only if still enabled)."""
        return self._update_if(
            Key=task_key(task_id),
            UpdateExpression="SET enabled = :false, paused_reason = :reason, updated_at = :now,"
            " version = version + :one REMOVE next_run_at, due_shard",
            ConditionExpression="enabled = :true AND attribute_not_exists(deleted_at)",
            ExpressionAttributeValues={
                ":false": False,
                ":true": True,
                ":reason": reason,
                ":now": now.isoformat(),
                ":one": 1,
            },
        )

    def count_followups(self, task_id: str, limit: int) -> bool:
        """Take one of the task's `limit` follow-ups; False when they are used up."""
        return self._update_if(
            Key=task_key(task_id),
            UpdateExpression="SET followups_created = if_not_exists(followups_created, :zero) + :one",
            ConditionExpression="attribute_not_exists(followups_created) OR followups_created < :limit",
            ExpressionAttributeValues={":zero": 0, ":one": 1, ":limit": limit},
        )

    # ---- memory (per task) ---------------------------------------------

    def remember(self, task_id: str, key: str, value: str, *, now: datetime, max_keys: int) -> bool:
        """Store a memory value; False when the task already holds `max_keys` other keys."""
        existing = self._get({"PK": f"TASK#{task_id}", "SK": f"MEM#{key}"})
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

    def recall(self, task_id: str, key: str) -> str | None:
        item = self._get({"PK": f"TASK#{task_id}", "SK": f"MEM#{key}"})
        return None if item is None else str(item["value"])

    def _transact(self, items: list[dict[str, Any]]) -> None:
        for attempt in range(_TRANSACT_ATTEMPTS):
            try:
                self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
                return
            except self._client.exceptions.TransactionCanceledException as error:
                codes = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
                if "ConditionalCheckFailed" in codes:
                    raise ClaimLost(codes) from error
                # TransactionConflict / throttling: a transient clash, not a decision.
                if attempt + 1 == _TRANSACT_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0, 0.05 * 2**attempt))

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

    def _update_if(self, **update: Any) -> bool:
        """One conditional UpdateItem: True when it was written, False when its
        condition did not hold (someone else acted first, or nothing to do)."""
        try:
            self.table.update_item(**update)
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    # ---- idempotency -------------------------------------------------

    def _write_with_idempotency(
        self, put: dict[str, Any], idempotency: IdempotencyClaim | None, resource_id: str
    ) -> str:
        if idempotency is None:
            self._client.put_item(**put["Put"])
            return resource_id
        record = {
            **_idem_key(idempotency.owner, idempotency.key),
            "request_hash": idempotency.request_hash,
            "resource_id": resource_id,
            "expires_at": _now_epoch() + IDEMPOTENCY_TTL_SECONDS,
        }
        try:
            self._client.transact_write_items(
                TransactItems=[
                    put,  # type: ignore[list-item]
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": record,  # type: ignore[typeddict-item]
                            # An expired record (TTL deletes lazily) no longer binds the key.
                            "ConditionExpression": "attribute_not_exists(PK) OR expires_at < :now",
                            "ExpressionAttributeValues": {":now": _now_epoch()},
                        }
                    },
                ]
            )
        except self._client.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons", [])
            codes = [reason.get("Code") for reason in reasons]
            if len(codes) == 2 and codes[1] == "ConditionalCheckFailed":
                return self._replay(idempotency)
            raise
        return resource_id

    def _replay(self, claim: IdempotencyClaim) -> str:
        item = self._get(_idem_key(claim.owner, claim.key))
        if item is None:  # expired between the write and this read: treat as a conflict to retry
            raise IdempotencyKeyReused("Idempotency-Key is being reused concurrently; retry the request")
        if item.get("request_hash") != claim.request_hash:
            raise IdempotencyKeyReused("Idempotency-Key was already used with a different request; use a new key")
        return str(item["resource_id"])

    # ---- paging ------------------------------------------------------

    def _owner_page[T](
        self,
        partition: str,
        key_condition: ConditionBase,
        limit: int,
        cursor: str | None,
        filters: list[ConditionBase],
        parse: Callable[[dict[str, Any]], T],
        within: Callable[[Mapping[str, str]], bool] | None = None,
    ) -> Page[T]:
        """A page of one owner's partition of the ByOwner index."""
        return self._query_page(
            index=BY_OWNER_INDEX,
            key_condition=key_condition,
            key_names=("PK", "SK", "GSI1PK", "GSI1SK"),
            expected={"GSI1PK": partition},
            within=within,
            limit=limit,
            cursor=cursor,
            filters=filters,
            parse=parse,
        )

    def _query_page[T](
        self,
        *,
        index: str | None,
        key_condition: ConditionBase,
        key_names: tuple[str, ...],
        expected: Mapping[str, str],
        limit: int,
        cursor: str | None,
        filters: list[ConditionBase],
        parse: Callable[[dict[str, Any]], T],
        within: Callable[[Mapping[str, str]], bool] | None = None,
    ) -> Page[T]:
        """Newest-first page of up to `limit` matching items.

        DynamoDB applies `Limit` before the filter, so a filtered query can read a
        stretch of non-matching items and return none of them. This keeps reading
        (each round twice the last, within the budget) until the page holds
        `limit` matches or the key range is done, but never reads more than
        _READ_BUDGET_ITEMS items or _MAX_QUERY_ROUNDS queries for one request.
        When the budget runs out first, the page holds what matched so far and a
        cursor where reading stopped: an empty page with a cursor happens only
        when a whole budget of items held no match (the caller follows the
        cursor; every request stays bounded). A full page's cursor is built from
        its last item, not from DynamoDB's LastEvaluatedKey, so no matching item
        is ever skipped."""
        kwargs: dict[str, Any] = {"KeyConditionExpression": key_condition, "ScanIndexForward": False}
        if index is not None:
            kwargs["IndexName"] = index
        if filters:
            combined = filters[0]
            for extra in filters[1:]:
                combined = combined & extra
            kwargs["FilterExpression"] = combined
        if cursor is not None:
            kwargs["ExclusiveStartKey"] = _decode_cursor(cursor, expected, key_names, within)
        items: list[dict[str, Any]] = []
        last_key: dict[str, Any] | None = None
        budget = _READ_BUDGET_ITEMS
        for round_ in range(_MAX_QUERY_ROUNDS):
            # The first round reads exactly a page; a filtered listing then reads twice as much
            # each round (a sparse filter reaches the budget in ten rounds, a dense one stops early).
            kwargs["Limit"] = max(1, min(budget, limit * 2**round_))
            response = self.table.query(**kwargs)
            items.extend(response.get("Items", []))
            budget -= response.get("ScannedCount", 0)
            last_key = response.get("LastEvaluatedKey")
            if len(items) >= limit or last_key is None or budget <= 0:
                break
            kwargs["ExclusiveStartKey"] = last_key
        if len(items) > limit or (len(items) == limit and last_key is not None):
            items = items[:limit]
            next_cursor: str | None = _encode_cursor({k: items[-1][k] for k in key_names})
        elif last_key is not None:
            next_cursor = _encode_cursor({k: last_key[k] for k in key_names})
        else:
            next_cursor = None
        return Page(items=[parse(_plain(item)) for item in items], next_cursor=next_cursor)


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the models want int/float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _now_epoch() -> int:
    return int(time.time())
