"""How a tick hands its runs to SQS: the messages of many claims share
SendMessageBatch requests (ten entries each), every DelaySeconds is counted from
the moment its batch is sent, and an entry SQS refuses leaves its run QUEUED for
recovery while the rest of its batch goes out. Against moto's server; SQS's own
answers (a refused entry is a real per-entry failure from moto), no stand-ins."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from agentcron.ids import scheduled_run_id
from agentcron.models import RunStatus, Task
from agentcron.schedules import from_epoch, to_epoch
from agentcron.store import QUEUED_GRACE_SECONDS, Store, shard_of

from tests.support_dispatch import Clock, Journal, RecordingRunQueue, drain_queue, make_task, new_dispatcher, run_item

T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
E = to_epoch(T)
FIRST_DUE = E + 100


class SteppingClock(Clock):
    """Every read moves time forward by `step` seconds: a slow tick, made visible."""

    def __init__(self, now: datetime, step: int) -> None:
        super().__init__(now)
        self.step = step
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            read = self.now
            self.now = read + timedelta(seconds=self.step)
            return read


class SendMessageBatchLog:
    """The SendMessageBatch requests a botocore client really makes (entries per request)."""

    def __init__(self, client: Any) -> None:
        self.entries: list[int] = []
        client.meta.events.register("before-parameter-build.sqs.SendMessageBatch", self._record)

    def _record(self, params: Any, **_: Any) -> None:
        self.entries.append(len(params["Entries"]))


def tasks_in_one_shard(store: Store, count: int) -> list[Task]:
    """`count` once-tasks of one due shard, due a second apart from FIRST_DUE (inside the horizon)."""
    tasks: list[Task] = []
    while len(tasks) < count:
        due = FIRST_DUE + len(tasks)
        task = make_task({"type": "once", "at": from_epoch(due).isoformat()}, now=T, created_at=T - timedelta(hours=1))
        if shard_of(task.id, store.due_shards) == "0":
            store.create_task(task)
            tasks.append(task)
    return tasks


def test_claims_share_send_message_batch_requests_and_each_delay_counts_from_its_send(
    aws_env: dict[str, str], store: Store
) -> None:
    tasks = tasks_in_one_shard(store, 23)
    journal = Journal()
    queue = RecordingRunQueue(aws_env["RUN_QUEUE_URL"], journal)
    requests = SendMessageBatchLog(queue.client)
    clock = SteppingClock(T, step=7)  # the tick reads T; each send reads 7 s more than the last
    report = new_dispatcher(aws_env, clock, queue=queue, send_hold_seconds=3600).tick()

    assert len(report.claimed) == 23 and report.unsent == []
    assert requests.entries == [10, 10, 3], "23 claims, three requests (one send per claim before)"
    expected_ids = [scheduled_run_id(t.id, FIRST_DUE + k) for k, t in enumerate(tasks)]
    assert [s.run_id for s in journal.sent] == expected_ids, "claimed oldest first, sent in claim order"
    sent_at = [E + 7] * 10 + [E + 14] * 10 + [E + 21] * 3
    assert [s.delay for s in journal.sent] == [FIRST_DUE + k - sent_at[k] for k in range(23)]
    assert Counter(body["run_id"] for body in drain_queue(aws_env["RUN_QUEUE_URL"])) == Counter(expected_ids)


def test_a_claimed_run_waits_at_most_the_hold_time_for_company(aws_env: dict[str, str], store: Store) -> None:
    tasks_in_one_shard(store, 3)
    journal = Journal()
    queue = RecordingRunQueue(aws_env["RUN_QUEUE_URL"], journal)
    requests = SendMessageBatchLog(queue.client)
    report = new_dispatcher(aws_env, Clock(T), queue=queue, send_hold_seconds=0).tick()
    assert len(report.claimed) == 3
    assert requests.entries == [1, 1, 1]


def test_an_entry_sqs_refuses_stays_queued_for_recovery_and_its_batch_goes_out(
    aws_env: dict[str, str], store: Store
) -> None:
    tasks = tasks_in_one_shard(store, 12)
    victim = scheduled_run_id(tasks[0].id, FIRST_DUE)  # the first due: alone past its grace below
    journal = Journal()
    queue = RecordingRunQueue(aws_env["RUN_QUEUE_URL"], journal)
    requests = SendMessageBatchLog(queue.client)

    def refuse_the_victim(params: Any, **_: Any) -> None:
        # An entry SQS itself refuses (DelaySeconds over 900): a real per-entry failure.
        for entry in params["Entries"]:
            if victim in entry["MessageBody"]:
                entry["DelaySeconds"] = 901

    queue.client.meta.events.register("before-parameter-build.sqs.SendMessageBatch", refuse_the_victim)
    clock = Clock(T)
    dispatcher = new_dispatcher(aws_env, clock, queue=queue, send_hold_seconds=3600)
    report = dispatcher.tick()

    assert len(report.claimed) == 12 and report.unsent == [victim]
    assert requests.entries == [10, 2]
    assert [s.run_id for s in journal.refused] == [victim]
    others = [scheduled_run_id(t.id, FIRST_DUE + k) for k, t in enumerate(tasks) if k != 0]
    assert Counter(b["run_id"] for b in drain_queue(aws_env["RUN_QUEUE_URL"])) == Counter(others)
    item = run_item(aws_env["TABLE_NAME"], tasks[0].id, victim)
    assert item is not None and item["status"] == RunStatus.QUEUED.value
    assert item["active_until"] == FIRST_DUE + QUEUED_GRACE_SECONDS

    # Recovery, once the run's grace has passed, sends it exactly once.
    queue.client.meta.events.unregister("before-parameter-build.sqs.SendMessageBatch", refuse_the_victim)
    clock.set(from_epoch(FIRST_DUE + QUEUED_GRACE_SECONDS))
    again = dispatcher.tick()
    assert again.claimed == [] and again.resent == [victim] and again.unsent == []
    assert [b["run_id"] for b in drain_queue(aws_env["RUN_QUEUE_URL"])] == [victim]
    assert dispatcher.tick().resent == [], "within its new grace it is left alone"
