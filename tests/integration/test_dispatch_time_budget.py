"""The tick's time budget: when its invocation is about to run out of time, a tick
stops taking new work (claims, recoveries), sends what it claimed, reports which
shards it left unfinished, and the next tick takes the rest. Claims are
conditional, so what a tick did not reach is simply still due. Against moto's
server, through the Dispatcher and through the handler with a Lambda context."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from agentcron import bootstrap
from agentcron.dispatch import TIME_RESERVE_SECONDS
from agentcron.ids import scheduled_run_id
from agentcron.models import Task
from agentcron.observability import metrics
from agentcron.schedules import from_epoch, to_epoch
from agentcron.store import Store, shard_of
from agentcron_local.gateway import LambdaContext, load_function_handler

from tests.support_dispatch import (
    Clock,
    Journal,
    drain_queue,
    make_task,
    new_dispatcher,
    queued_run,
    task_item,
    task_runs,
)

T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
E = to_epoch(T)
PLENTY, LOW = 100.0, TIME_RESERVE_SECONDS - 1


class RunningOut:
    """`time_left` for a tick: plenty for the first `calls` questions, then low."""

    def __init__(self, calls: int) -> None:
        self.calls = calls
        self.asked = 0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self.asked += 1
            return PLENTY if self.asked <= self.calls else LOW


def once_tasks(store: Store, count: int, *, shard: str | None = None) -> list[Task]:
    """Once-tasks due a second apart from E+100 (inside the horizon), in any shard or in `shard`."""
    tasks: list[Task] = []
    while len(tasks) < count:
        due = E + 100 + len(tasks)
        task = make_task({"type": "once", "at": from_epoch(due).isoformat()}, now=T, created_at=T - timedelta(hours=1))
        if shard is None or shard_of(task.id, store.due_shards) == shard:
            store.create_task(task)
            tasks.append(task)
    return tasks


def test_a_tick_short_of_time_leaves_the_rest_due_for_the_next_tick(aws_env: dict[str, str], store: Store) -> None:
    tasks = once_tasks(store, 12)
    clock, journal = Clock(T), Journal()
    dispatcher = new_dispatcher(aws_env, clock, journal)

    first = dispatcher.tick(time_left=RunningOut(calls=5))
    assert len(first.claimed) == 5 and first.lost == 0
    left = [t for t in tasks if not task_runs(aws_env["TABLE_NAME"], t.id)]
    assert len(left) == 7
    # Every shard that still had due tasks says so; the others finished.
    assert first.shards_out_of_time == len({shard_of(t.id, store.due_shards) for t in left})
    # What it claimed was sent before it stopped; what it did not reach is untouched and still due.
    assert sorted(journal.run_ids()) == sorted(r.id for r in first.claimed)
    for task in left:
        item = task_item(aws_env["TABLE_NAME"], task.id)
        assert item is not None and item["next_run_at"] == task.next_run_at and "due_shard" in item

    second = dispatcher.tick()
    assert sorted(r.id for r in second.claimed) == sorted(
        scheduled_run_id(t.id, t.next_run_at) for t in left if t.next_run_at is not None
    )
    assert second.shards_out_of_time == 0
    every_run = [scheduled_run_id(t.id, t.next_run_at) for t in tasks if t.next_run_at is not None]
    assert Counter(b["run_id"] for b in drain_queue(aws_env["RUN_QUEUE_URL"])) == Counter(every_run)


def test_recovery_comes_first_and_a_shard_out_of_time_there_claims_nothing(
    aws_env: dict[str, str], store: Store
) -> None:
    manual = [t for t in (make_task({"type": "manual"}, now=T) for _ in range(40)) if shard_of(t.id, 4) == "0"][:2]
    assert len(manual) == 2 and store.due_shards == 4
    for task in manual:
        store.create_task(task)
    lost = [queued_run(store, task, E - 600) for task in manual]  # their messages were lost
    [due] = once_tasks(store, 1, shard="0")
    clock, journal = Clock(T), Journal()

    report = new_dispatcher(aws_env, clock, journal).tick(time_left=RunningOut(calls=1))
    assert len(report.resent) == 1 and report.resent[0] in {r.id for r in lost}
    assert report.claimed == [] and report.shards_out_of_time == 1
    assert journal.run_ids() == report.resent
    assert task_runs(aws_env["TABLE_NAME"], due.id) == []

    later = new_dispatcher(aws_env, clock, journal).tick()
    assert later.resent == [r.id for r in lost if r.id not in report.resent]
    assert [r.id for r in later.claimed] == [scheduled_run_id(due.id, E + 100)]


@pytest.fixture
def handler(aws_env: dict[str, str]) -> Iterator[Any]:
    bootstrap.reset()
    # Ticks called directly (other tests) add metrics that only a handler flushes.
    metrics.clear_metrics()
    yield load_function_handler("dispatcher")
    bootstrap.reset()


def emitted(out: str, metric: str) -> list[float]:
    """The values of one metric in the EMF documents the handler printed."""
    values: list[float] = []
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            values += json.loads(line).get(metric, [])
    return values


def test_the_handler_gives_the_tick_the_invocations_remaining_time(
    handler: Any, aws_env: dict[str, str], store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    now = int(time.time())
    tasks = [make_task({"type": "once", "at": from_epoch(now + 30).isoformat()}, now=from_epoch(now)) for _ in range(6)]
    for task in tasks:
        store.create_task(task)
    shards_with_work = len({shard_of(t.id, store.due_shards) for t in tasks})
    tick = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}

    short = handler(tick, LambdaContext(timeout_seconds=TIME_RESERVE_SECONDS - 5))
    assert short["status"] == "ticked" and short["claimed"] == 0
    assert short["shards_out_of_time"] == shards_with_work
    assert emitted(capsys.readouterr().out, "ShardsOutOfTime") == [shards_with_work]

    enough = handler(tick, LambdaContext(timeout_seconds=120))
    assert enough["claimed"] == 6 and enough["shards_out_of_time"] == 0
    assert emitted(capsys.readouterr().out, "ShardsOutOfTime") == [0]
