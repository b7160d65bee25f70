"""Exactly-once scheduling under contention: 500 tasks, 8 dispatchers racing.

Against moto's server (DynamoDB serialised, see NOTES.md; without that lock a
concurrency test proves nothing), 500 tasks with mixed schedules are stored
with the state the service would give them, then 8 Dispatcher instances, each
with its own stores and its own RunQueue on the same queue, tick together at
every step of an injected clock. Afterwards, from the table (each task's
partition, no Scan) and from the queue (every message received), the test
proves:

- no duplicate: one run per (task, scheduled_for), and each run's message
  sent and received exactly as often as the design says (once, plus one
  re-send by recovery for a run left QUEUED past its grace);
- nothing lost: each enabled task's runs are exactly the schedule engine's
  occurrences from its first next_run_at up to the last horizon (cut at
  max_runs), and its next_run_at is the first occurrence after that horizon;
- nothing extra: disabled and manual tasks have no runs, no misfire rows.

Cost: moto's TransactWriteItems deep-copies the whole table once per item of
each call (~3-5/s at 600 items on the 2-core build machines), and every
losing dispatcher pays for its failed transaction too (~6 losses per claim
here). So the ticks are short (tick_seconds=20: the same code path with a
smaller lookahead window) and most of the 500 tasks are the daily/hourly/
weekly bulk of a real table, due after the window: about 100 claims,
~750 transactions, 4-10 minutes depending on the machine's load. moto's
instance tracking would keep every one of those table copies alive (tens of
GB), hence moto_dynamodb_untracked().
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from agentcron.dispatch import LOOKAHEAD_MARGIN_SECONDS, Dispatcher, TickReport, resend_grace
from agentcron.ids import scheduled_run_id
from agentcron.models import Run, RunStatus, Task, Trigger
from agentcron.schedules import from_epoch, next_occurrences, to_epoch
from agentcron.store import QUEUED_GRACE_SECONDS, Store, shard_of

from tests.support_dispatch import (
    Clock,
    Journal,
    RecordingRunQueue,
    drain_queue,
    expected_occurrences,
    following,
    make_task,
    moto_dynamodb_untracked,
    queue_depth,
    race,
    task_item,
    task_runs,
)

TASKS = 500
DISPATCHERS = 8
# How many tasks have a due occurrence in the window is what costs (see the
# module docstring): about 110 claims here, ~750 TransactWriteItems with the losers'.
# Scaled to keep CI within its budget; CONCURRENCY_SCALE=4 (make test-long) restores the full mix.
SCALE = int(os.environ.get("CONCURRENCY_SCALE", "1"))
INTERVALS = 8 * SCALE
SLOW = 300
TICK_SECONDS = 20
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a minute (and 5-minute) boundary
# Three quick ticks claim ahead; the fourth comes after the QUEUED grace of the
# runs due at T0, so recovery (with 8 dispatchers racing on it) is exercised too.
TICKS = [T0 + timedelta(seconds=s) for s in (0, 20, 40, 120)]
FINAL_HORIZON = to_epoch(TICKS[-1]) + TICK_SECONDS + LOOKAHEAD_MARGIN_SECONDS
OWNERS = [f"user{n}" for n in range(7)]
ZONES_FOR_7 = ["UTC", "Asia/Kathmandu", "Asia/Kolkata", "Pacific/Chatham", "America/Los_Angeles"]


@dataclass
class Planted:
    task: Task
    kind: str


def population(rng: random.Random) -> list[Planted]:
    """500 tasks as the service would have stored them at T0."""
    planted: list[Planted] = []

    def add(kind: str, schedule: dict[str, Any], **kwargs: Any) -> None:
        created = kwargs.pop("created_at", T0 - timedelta(seconds=rng.randint(60, 3 * 86_400)))
        task = make_task(schedule, now=T0, created_at=created, owner=rng.choice(OWNERS), **kwargs)
        planted.append(Planted(task, kind))

    # Recurring intervals of 60-600 s with random phases (anchored at creation
    # time, or at a start_at inside or just past the window).
    for n in range(INTERVALS):
        every = rng.choice([60, 90, 120, 180, 240, 300, 420, 600])
        schedule: dict[str, Any] = {"type": "interval", "every_seconds": every}
        if n % 8 == 0:
            schedule["start_at"] = (T0 + timedelta(seconds=rng.randint(0, 300))).isoformat()
        add("interval", schedule)
    # Cron: every minute, */5 and */7, in zones with odd offsets.
    for zone in ["Asia/Kolkata", "America/St_Johns"]:
        add("cron", {"type": "cron", "expression": "* * * * *", "timezone": zone})
    for n in range(2 * SCALE):
        zone = ["UTC", "Asia/Kathmandu", "Australia/Adelaide", "America/New_York", "Europe/Berlin"][n % 5]
        add("cron", {"type": "cron", "expression": "*/5 * * * *", "timezone": zone})
    for n in range(4 * SCALE):
        add("cron", {"type": "cron", "expression": "*/7 * * * *", "timezone": ZONES_FOR_7[n % len(ZONES_FOR_7)]})
    # Once: on and around the edges of every tick's horizon, and beyond.
    once_offsets = [0, 1, 79, 80, 81, 99, 100, 101, 119, 120, 121, 199, 200, 201, 3600]
    for n in range(20):
        offset = once_offsets[n] if n < len(once_offsets) else rng.randint(0, 1800)
        add("once", {"type": "once", "at": (T0 + timedelta(seconds=offset)).isoformat()})
    # max_runs: budgets smaller and larger than what the window holds, some partly used.
    for n in range(4):
        budget = 1 + n % 4
        add(
            "max_runs",
            {"type": "interval", "every_seconds": 60} if n % 2 else {"type": "cron", "expression": "* * * * *"},
            policies={"max_runs": budget},
            runs_scheduled=n % budget,
        )
    # end_at inside or just past the window.
    for n in range(4):
        end = T0 + timedelta(seconds=30 + 50 * n)
        add("end_at", {"type": "interval", "every_seconds": [60, 90][n % 2], "end_at": end.isoformat()})
    # The bulk of a real table: daily, weekday, hourly and weekly jobs, due
    # after the window (they must not be claimed early, nor disturbed).
    slow: list[dict[str, Any]] = [
        {"type": "cron", "expression": "0 9 * * 1-5", "timezone": "Europe/Berlin"},
        {"type": "cron", "expression": "30 * * * *", "timezone": "UTC"},
        {"type": "cron", "expression": "15 6 * * *", "timezone": "America/New_York"},
        {"type": "preset", "preset": "daily", "timezone": "Asia/Tokyo"},
        {"type": "preset", "preset": "hourly", "timezone": "Asia/Kolkata"},
        {"type": "preset", "preset": "weekly", "timezone": "Europe/London"},
        # Every 4 hours, phased at T0+30min: never inside the window.
        {"type": "interval", "every_seconds": 14_400, "start_at": (T0 - timedelta(minutes=210)).isoformat()},
    ]
    for n in range(SLOW):
        add("slow", slow[n % len(slow)])
    # Disabled (every schedule type) and manual: never claimed.
    kinds: list[dict[str, Any]] = [
        {"type": "interval", "every_seconds": 60},
        {"type": "cron", "expression": "* * * * *"},
        {"type": "once", "at": (T0 + timedelta(seconds=30)).isoformat()},
        {"type": "preset", "preset": "hourly"},
    ]
    for n in range(40):
        add("disabled", kinds[n % len(kinds)], enabled=False)
    for _ in range(TASKS - len(planted)):
        add("manual", {"type": "manual"})
    assert len(planted) == TASKS
    rng.shuffle(planted)
    return planted


def claim_tick_of(epoch: int) -> int:
    """Index of the tick whose horizon first covers `epoch`."""
    for index, tick in enumerate(TICKS):
        if epoch <= to_epoch(tick) + TICK_SECONDS + LOOKAHEAD_MARGIN_SECONDS:
            return index
    raise AssertionError(f"{epoch} is past every horizon")


def expected_sends(scheduled: int) -> tuple[int, int]:
    """(how many times the run's message is sent, its final recovery deadline):
    once when claimed, then once more at every later tick that finds it QUEUED
    past its deadline (no runner runs here, so every run stays QUEUED), each re-send
    waiting twice as long as the one before (resend_grace)."""
    claimed_at = claim_tick_of(scheduled)
    deadline = scheduled + QUEUED_GRACE_SECONDS
    sends = 1
    for tick in TICKS[claimed_at + 1 :]:
        if deadline <= to_epoch(tick):
            deadline = to_epoch(tick) + resend_grace(sends - 1)
            sends += 1
    return sends, deadline


@pytest.mark.timeout(900)
def test_eight_dispatchers_racing_over_500_tasks_claim_each_occurrence_exactly_once(
    aws_env: dict[str, str],
) -> None:
    with moto_dynamodb_untracked():
        _race_and_verify(aws_env)


def _race_and_verify(aws_env: dict[str, str]) -> None:
    started = time.monotonic()
    table = aws_env["TABLE_NAME"]
    shards = int(aws_env["DUE_SHARDS"])
    queue_url = aws_env["RUN_QUEUE_URL"]
    store = Store(table, due_shards=shards)

    planted = population(random.Random(20261201))
    for entry in planted:
        store.create_task(entry.task)
    seeded = time.monotonic()

    clock = Clock(TICKS[0])
    journal = Journal()
    dispatchers = [
        Dispatcher(
            lambda: Store(table, due_shards=shards),
            RecordingRunQueue(queue_url, journal, name=f"d{i}", clock=clock),
            shards=shards,
            tick_seconds=TICK_SECONDS,
            clock=clock,
        )
        for i in range(DISPATCHERS)
    ]
    per_tick: list[list[TickReport]] = []
    tick_walls: list[float] = []
    for tick in TICKS:
        clock.set(tick)
        before = time.monotonic()
        per_tick.append(race(dispatchers))
        tick_walls.append(time.monotonic() - before)
    raced = time.monotonic()

    # ---- the table: each task's partition ----------------------------------
    reader = store.table
    runs_of: dict[str, list[Run]] = {}
    where: dict[str, tuple[Task, int]] = {}  # run id -> (task, scheduled epoch)
    problems: list[str] = []
    claims_by_kind: Counter[str] = Counter()
    expected_total = 0
    for entry in planted:
        task = entry.task
        runs = runs_of[task.id] = task_runs(table, task.id, table=reader)
        scheduled = sorted(to_epoch(run.scheduled_for) for run in runs)
        claims_by_kind[entry.kind] += len(runs)
        duplicates = sorted(epoch for epoch, count in Counter(scheduled).items() if count > 1)
        if duplicates:
            problems.append(f"{entry.kind} {task.id}: duplicate runs for {duplicates}")
        expected = expected_occurrences(task, task.next_run_at, FINAL_HORIZON) if task.enabled else []
        expected_total += len(expected)
        if scheduled != expected:
            problems.append(
                f"{entry.kind} {task.id} {task.schedule.model_dump(mode='json')}: "
                f"runs at {scheduled}, expected {expected}"
            )
        for run in runs:
            epoch = to_epoch(run.scheduled_for)
            where[run.id] = (task, epoch)
            shape = (run.id, run.status, run.trigger, run.owner, run.attempt)
            if shape != (scheduled_run_id(task.id, epoch), RunStatus.QUEUED, Trigger.SCHEDULE, task.owner, 0):
                problems.append(f"{task.id}: run {shape}")

        # next_run_at: the first occurrence after the last horizon, or none
        # (the schedule ended, or max_runs was reached).
        item = task_item(table, task.id, table=reader)
        assert item is not None
        budget = task.policies.max_runs
        if not expected:
            want_next = task.next_run_at
        elif budget is not None and task.runs_scheduled + len(expected) >= budget:
            want_next = None
        else:
            want_next = following(task, expected[-1])
        if want_next is not None:
            # Cross-check the oracle: the engine's first occurrence after the horizon.
            after = next_occurrences(task.schedule, from_epoch(FINAL_HORIZON), 1, anchor=task.created_at)
            assert [want_next] == [to_epoch(t) for t in after], task.id
        if item.get("next_run_at") != want_next:
            problems.append(f"{entry.kind} {task.id}: next_run_at {item.get('next_run_at')}, expected {want_next}")
        # The sparse due attributes exist exactly while there is a next run.
        if ("due_shard" in item) != (want_next is not None) or (
            want_next is not None and item["due_shard"] != shard_of(task.id, shards)
        ):
            problems.append(f"{entry.kind} {task.id}: due_shard {item.get('due_shard')} with next {want_next}")
        if item.get("runs_scheduled", 0) != task.runs_scheduled + len(expected):
            problems.append(f"{entry.kind} {task.id}: runs_scheduled {item.get('runs_scheduled')}")
    assert problems == [], "\n".join(problems[:40])
    assert claims_by_kind["disabled"] == claims_by_kind["manual"] == claims_by_kind["slow"] == 0
    assert len(where) == expected_total >= 40, "the population should give the dispatchers real work"

    # ---- what the dispatchers reported --------------------------------------------
    reports = [report for tick_reports in per_tick for report in tick_reports]
    claimed_ids = [run.id for report in reports for run in report.claimed]
    assert len(claimed_ids) == len(set(claimed_ids)), "a run was claimed by two dispatchers"
    assert set(claimed_ids) == set(where)
    assert sum(len(report.missed) for report in reports) == 0
    assert sum(len(report.timed_out) for report in reports) == 0
    lost = sum(report.lost for report in reports)
    winners = sum(1 for d in range(DISPATCHERS) if any(tick_reports[d].claimed for tick_reports in per_tick))
    assert lost > 0, "the dispatchers never collided: this run proved nothing about races"
    assert winners >= 2, "only one dispatcher ever won: no real race"

    # Recovery (last tick): a run QUEUED past its grace is re-sent by exactly one dispatcher.
    expectations = {run_id: expected_sends(epoch) for run_id, (_, epoch) in where.items()}
    resent = Counter(run_id for report in reports for run_id in report.resent)
    assert resent == Counter({run_id: sends - 1 for run_id, (sends, _) in expectations.items() if sends > 1})
    assert sum(resent.values()) > 0, "the clock should carry some runs past their grace"
    for task_id, runs in runs_of.items():
        for run in runs:
            assert run.active_until == expectations[run.id][1], (task_id, run.id)

    # ---- the queue ---------------------------------------------------------------
    assert journal.refused == []
    sent = Counter(journal.run_ids())
    assert sent == Counter({run_id: sends for run_id, (sends, _) in expectations.items()})
    for message in journal.sent:
        task, epoch = where[message.run_id]
        assert (message.task_id, message.owner) == (task.id, task.owner)
        assert message.at is not None and message.delay == max(0, epoch - message.at)
    depth = queue_depth(queue_url)
    assert sum(depth.values()) == len(journal.sent)
    received = drain_queue(queue_url)
    assert Counter(body["run_id"] for body in received) == sent
    for body in received:
        task, _ = where[body["run_id"]]
        assert body == {"run_id": body["run_id"], "task_id": task.id, "owner": task.owner}
    finished = time.monotonic()

    summary = {
        "tasks": TASKS,
        "kinds": dict(Counter(entry.kind for entry in planted)),
        "runs": len(where),
        "messages": len(journal.sent),
        "resent": sum(resent.values()),
        "claims_lost": lost,
        "winning_dispatchers": winners,
        "seed_s": round(seeded - started, 1),
        "tick_walls_s": [round(w, 1) for w in tick_walls],
        "verify_s": round(finished - raced, 1),
        "total_s": round(finished - started, 1),
    }
    print(f"\ndispatch concurrency: {summary}")
