"""What a tick builds: boto3 clients and Stores are made once per container and
reused across shards and ticks, never shared by two threads at once where boto3
says they must not be (sessions and resources). Against moto's server."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from agentcron import bootstrap
from agentcron.bootstrap.dispatcher import root as dispatcher_root
from agentcron.dispatch import Dispatcher, StorePool
from agentcron.schedules import to_epoch
from agentcron.store import Store

from tests.support_dispatch import Clock, Journal, RecordingRunQueue, make_task, task_runs

T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
E = to_epoch(T)


class CountingStores:
    """A store factory that builds real Stores and counts them."""

    def __init__(self, aws_env: dict[str, str]) -> None:
        self.table, self.shards = aws_env["TABLE_NAME"], int(aws_env["DUE_SHARDS"])
        self.built = 0
        self._lock = threading.Lock()

    def __call__(self) -> Store:
        with self._lock:
            self.built += 1
        return Store(self.table, due_shards=self.shards)


def test_a_dispatcher_builds_its_stores_once_across_shards_and_ticks(aws_env: dict[str, str], store: Store) -> None:
    tasks = [
        make_task({"type": "interval", "every_seconds": 600}, now=T, created_at=T - timedelta(days=1), next_run_at=E)
        for _ in range(8)
    ]
    for task in tasks:
        store.create_task(task)
    stores = CountingStores(aws_env)
    clock, journal = Clock(T), Journal()
    dispatcher = Dispatcher(
        stores,
        RecordingRunQueue(aws_env["RUN_QUEUE_URL"], journal, clock=clock),
        shards=stores.shards,
        tick_seconds=300,
        clock=clock,
    )
    assert stores.built == 0, "nothing is built before the first tick needs it"
    claimed = []
    for _ in range(3):
        claimed += dispatcher.tick().claimed
        clock.advance(600)
    claimed += dispatcher.claim_task(tasks[0].model_copy(update={"next_run_at": E + 1800}), clock.now).claimed
    # One Store per shard thread at most, for the dispatcher's whole life.
    assert 1 <= stores.built <= stores.shards
    assert len(claimed) == len({r.id for r in claimed}) == 8 * 3 + 1
    assert all(len(task_runs(aws_env["TABLE_NAME"], task.id)) >= 3 for task in tasks)


def test_a_pooled_store_is_never_lent_to_two_threads_at_once(aws_env: dict[str, str]) -> None:
    pool = StorePool(CountingStores(aws_env))
    holders: dict[int, int] = {}  # id(store) -> threads holding it now
    overlaps: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def borrow() -> None:
        start.wait(timeout=30)
        for _ in range(20):
            with pool.lease() as store:
                with lock:
                    holders[id(store)] = holders.get(id(store), 0) + 1
                    if holders[id(store)] > 1:
                        overlaps.append(id(store))
                time.sleep(0.001)
                with lock:
                    holders[id(store)] -= 1

    threads = [threading.Thread(target=borrow) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert overlaps == []
    assert len(holders) <= 12


def test_the_root_builds_stores_from_one_session_concurrently(aws_env: dict[str, str], store: Store) -> None:
    task = make_task({"type": "manual"}, now=T)
    store.create_task(task)
    bootstrap.reset()
    start = threading.Barrier(8)
    found: list[Any] = []
    errors: list[BaseException] = []

    def build_and_read() -> None:
        try:
            start.wait(timeout=30)
            found.append(dispatcher_root().new_store().get_task_by_id(task.id))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=build_and_read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert [t.id for t in found] == [task.id] * 8


def test_the_wired_queue_client_is_made_once(aws_env: dict[str, str]) -> None:
    bootstrap.reset()
    assert dispatcher_root().queue is dispatcher_root().queue
    assert dispatcher_root().dispatcher.queue is dispatcher_root().queue
    assert dispatcher_root().queue.client is dispatcher_root().queue.client
