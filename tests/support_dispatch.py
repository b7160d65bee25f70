"""Helpers shared by the dispatcher tests (unit and integration).

- ``make_task``: a stored-shape Task built the way the service builds one
  (``next_run_at`` from ``agentcron.schedules.next_run_epoch``), so tests can
  put hundreds of tasks with realistic state straight through ``Store.create_task``.
- ``expected_occurrences``: what the schedule engine says a task must run,
  from its first ``next_run_at`` up to a horizon (honouring ``max_runs``).
- ``task_runs`` / ``task_item``: read a task's runs by querying its own
  partition (consistent reads, no Scan), and the raw task item.
- ``Clock``: a settable clock to inject into Dispatcher instances.
- ``RecordingRunQueue``: the real RunQueue, plus a thread-safe journal of every
  message it actually handed to SQS (and of the ones SQS refused).
- ``drain_queue``: receive every message of a queue, including those still
  delayed, by moving moto's SQS clock forward (the moto server runs in this
  process, so its module globals are ours to patch for the duration).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from agentcron.dispatch import Dispatcher, TickReport
from agentcron.ids import scheduled_run_id
from agentcron.models import Policies, Run, RunStatus, Task, Trigger
from agentcron.queue import RunMessage, RunQueue
from agentcron.schedules import Schedule, ScheduleAdapter, from_epoch, next_occurrences, next_run_epoch, to_epoch
from agentcron.store import Store, _plain
from boto3.dynamodb.conditions import Key

_counter = 0
_counter_lock = threading.Lock()


class _Compute:
    """Marker: compute next_run_at as the service would."""


COMPUTE = _Compute()


def schedule_of(data: dict[str, Any] | Schedule) -> Schedule:
    return ScheduleAdapter.validate_python(data) if isinstance(data, dict) else data


def new_id(now_ms: int | None = None) -> str:
    """A fresh task id (ULIDs are random in their low bits, so no clash in a loop)."""
    from agentcron.ids import new_task_id

    return new_task_id(now_ms)


def make_task(
    schedule: dict[str, Any] | Schedule,
    *,
    now: datetime,
    created_at: datetime | None = None,
    owner: str = "alice",
    enabled: bool = True,
    policies: dict[str, Any] | None = None,
    runs_scheduled: int = 0,
    next_run_at: int | _Compute | None = COMPUTE,
    name: str | None = None,
) -> Task:
    """A task as the service would have stored it at `now`: `next_run_at` is the
    first occurrence at or after `now` (anchored at `created_at`), unless given."""
    global _counter
    with _counter_lock:
        _counter += 1
        number = _counter
    sched = schedule_of(schedule)
    created = created_at or now
    if isinstance(next_run_at, _Compute):
        computed = next_run_epoch(sched, now=now, anchor=created) if enabled else None
    else:
        computed = next_run_at
    return Task(
        id=new_id(),
        owner=owner,
        name=name or f"task {number}",
        prompt=f"Prompt of task {number}",
        schedule=sched,
        enabled=enabled,
        paused_reason=None if enabled else "created disabled",
        policies=Policies(**(policies or {})),
        next_run_at=computed,
        runs_scheduled=runs_scheduled,
        created_at=created,
        updated_at=created,
    )


def expected_occurrences(task: Task, first: int | None, horizon: int) -> list[int]:
    """Every occurrence the task must have been claimed for: `first` (its
    next_run_at when the test began) and each later one up to `horizon`
    inclusive, cut at `max_runs`."""
    if first is None or first > horizon:
        return []
    found = [first]
    cursor = from_epoch(first)
    while True:
        batch = [to_epoch(t) for t in next_occurrences(task.schedule, cursor, 1000, anchor=task.created_at)]
        inside = [t for t in batch if t <= horizon]
        found += inside
        if len(inside) < len(batch) or not batch:
            break
        cursor = from_epoch(batch[-1])
    if task.policies.max_runs is not None:
        found = found[: max(0, task.policies.max_runs - task.runs_scheduled)]
    return found


def following(task: Task, epoch: int) -> int | None:
    """The schedule's first occurrence strictly after `epoch`."""
    found = next_occurrences(task.schedule, from_epoch(epoch), 1, anchor=task.created_at)
    return to_epoch(found[0]) if found else None


# ---- reading the table ------------------------------------------------------


def _table(table_name: str) -> Any:
    return boto3.session.Session().resource("dynamodb").Table(table_name)


def task_runs(table_name: str, task_id: str, *, table: Any = None) -> list[Run]:
    """All run items of one task, by querying its partition (ordered by SK)."""
    tbl = table if table is not None else _table(table_name)
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": Key("PK").eq(f"TASK#{task_id}") & Key("SK").begins_with("RUN#"),
        "ConsistentRead": True,
    }
    runs: list[Run] = []
    while True:
        response = tbl.query(**kwargs)
        runs += [Run.model_validate(_plain(item)) for item in response.get("Items", [])]
        if "LastEvaluatedKey" not in response:
            return runs
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def raw_item(table_name: str, pk: str, sk: str, *, table: Any = None) -> dict[str, Any] | None:
    tbl = table if table is not None else _table(table_name)
    item = tbl.get_item(Key={"PK": pk, "SK": sk}, ConsistentRead=True).get("Item")
    return None if item is None else dict(_plain(item))


def task_item(table_name: str, task_id: str, *, table: Any = None) -> dict[str, Any] | None:
    return raw_item(table_name, f"TASK#{task_id}", "TASK", table=table)


def run_item(table_name: str, task_id: str, run_id: str, *, table: Any = None) -> dict[str, Any] | None:
    return raw_item(table_name, f"TASK#{task_id}", f"RUN#{run_id}", table=table)


# ---- clock and queue ----------------------------------------------------------


class Clock:
    """A settable clock: Dispatcher(clock=clock) reads it; the test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now

    def advance(self, seconds: int) -> datetime:
        self.now = self.now + timedelta(seconds=seconds)
        return self.now

    @property
    def epoch(self) -> int:
        return to_epoch(self.now)


@dataclass(frozen=True)
class Sent:
    run_id: str
    task_id: str
    owner: str
    delay: int
    at: int | None  # the injected clock's epoch when it was sent (None without a clock)
    sender: str


@dataclass
class Journal:
    sent: list[Sent] = field(default_factory=list)
    refused: list[Sent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run_ids(self) -> list[str]:
        return [s.run_id for s in self.sent]


class RecordingRunQueue(RunQueue):
    """The production RunQueue, journaling each message SQS accepted or refused."""

    def __init__(self, queue_url: str, journal: Journal, *, name: str = "queue", clock: Clock | None = None) -> None:
        super().__init__(queue_url)
        self.journal = journal
        self.name = name
        self.clock = clock

    def send_batch(self, messages: list[tuple[RunMessage, int]]) -> list[str]:
        failed = super().send_batch(messages)
        at = None if self.clock is None else self.clock.epoch
        failed_set = set(failed)
        entries = [Sent(m.run_id, m.task_id, m.owner, d, at, self.name) for m, d in messages]
        with self.journal.lock:
            self.journal.sent += [e for e in entries if e.run_id not in failed_set]
            self.journal.refused += [e for e in entries if e.run_id in failed_set]
        return failed


def queue_depth(queue_url: str) -> dict[str, int]:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesDelayed",
            "ApproximateNumberOfMessagesNotVisible",
        ],
    )["Attributes"]
    return {
        "visible": int(attributes["ApproximateNumberOfMessages"]),
        "delayed": int(attributes["ApproximateNumberOfMessagesDelayed"]),
        "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    }


def receive_now(queue_url: str) -> list[dict[str, Any]]:
    """Whatever is receivable right now (no long poll), bodies decoded."""
    sqs = boto3.client("sqs")
    bodies: list[dict[str, Any]] = []
    while True:
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = response.get("Messages", [])
        if not messages:
            return bodies
        bodies += [json.loads(m["Body"]) for m in messages]


@contextmanager
def moto_sqs_clock_ahead(seconds: int) -> Iterator[None]:
    """Move moto's SQS clock forward: delayed messages become receivable at
    once. Only SQS's view of time moves; DynamoDB and the app are untouched."""
    import moto.sqs.models as sqs_models

    original = sqs_models.unix_time_millis  # type: ignore[attr-defined]

    def ahead(dt: Any = None) -> float:
        # Only "now" moves; converting a given instant stays exact.
        return float(original(dt)) if dt is not None else float(original()) + seconds * 1000.0

    sqs_models.unix_time_millis = ahead  # type: ignore[attr-defined]
    try:
        yield
    finally:
        sqs_models.unix_time_millis = original  # type: ignore[attr-defined]


def drain_queue(queue_url: str, *, ahead_seconds: int = 3600) -> list[dict[str, Any]]:
    """Every message in the queue, delayed or not, each received once."""
    with moto_sqs_clock_ahead(ahead_seconds):
        return receive_now(queue_url)


def wait_until(epoch: float) -> None:
    remaining = epoch - time.time()
    if remaining > 0:
        time.sleep(remaining)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


class _Untracked(list[Any]):
    def append(self, item: Any) -> None:
        pass


@contextmanager
def moto_dynamodb_untracked() -> Iterator[None]:
    """Stop moto from keeping every DynamoDB model instance it ever built.

    moto's BaseModel.__new__ appends each instance to its class's
    `instances_tracked` list (only read by moto's dashboard), and its
    TransactWriteItems deep-copies the whole table for rollback, once per
    item of the call: every transaction leaks a full copy of the table
    (~6 MB at 500 tasks; a 2,000-transaction run grew the process to 22 GB
    and got it OOM-killed). Storage semantics are untouched by this."""
    from moto.core.model_instances import model_data

    classes = list(model_data.get("dynamodb", {}).values())
    originals = [(cls, cls.instances_tracked) for cls in classes]  # type: ignore[attr-defined]
    for cls in classes:
        cls.instances_tracked = _Untracked()  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for cls, tracked in originals:
            cls.instances_tracked = tracked  # type: ignore[attr-defined]


def race(dispatchers: list[Dispatcher]) -> list[TickReport]:
    """All dispatchers tick at once (released together by a barrier)."""
    barrier = threading.Barrier(len(dispatchers))
    reports: list[TickReport | None] = [None] * len(dispatchers)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            reports[index] = dispatchers[index].tick()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,), name=f"dispatcher-{i}") for i in range(len(dispatchers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=900)
    assert not any(thread.is_alive() for thread in threads), "a dispatcher never finished its tick"
    assert errors == []
    assert all(report is not None for report in reports)
    return [report for report in reports if report is not None]


def queued_run(store: Any, task: Task, scheduled: int) -> Run:
    """A run of `task` claimed for `scheduled` and stored QUEUED (its message not sent)."""
    run = Run(
        id=scheduled_run_id(task.id, scheduled),
        task_id=task.id,
        owner=task.owner,
        status=RunStatus.QUEUED,
        trigger=Trigger.SCHEDULE,
        scheduled_for=from_epoch(scheduled),
        created_at=from_epoch(scheduled - 60),
    )
    store.create_run(run)
    return run


def total(reports: list[TickReport]) -> TickReport:
    """Several dispatchers' (or ticks') reports as one."""
    merged = TickReport()
    for report in reports:
        merged.merge(report)
    return merged


def new_dispatcher(
    aws_env: dict[str, str],
    clock: Clock,
    journal: Journal | None = None,
    *,
    name: str = "d",
    queue_url: str | None = None,
    queue: RunQueue | None = None,
    tick_seconds: int = 300,
    **options: Any,
) -> Dispatcher:
    """A Dispatcher on the test's stack and clock. Its sends are recorded in `journal`
    (to `queue_url`, the stack's run queue by default) unless a `queue` is given;
    `options` go to Dispatcher (lookahead, send_hold_seconds)."""
    table, shards = aws_env["TABLE_NAME"], int(aws_env["DUE_SHARDS"])
    if queue is None:
        queue = RecordingRunQueue(queue_url or aws_env["RUN_QUEUE_URL"], journal or Journal(), name=name, clock=clock)
    return Dispatcher(
        lambda: Store(table, due_shards=shards),
        queue,
        shards=shards,
        tick_seconds=tick_seconds,
        clock=clock,
        **options,
    )
