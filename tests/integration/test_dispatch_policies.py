"""The real Dispatcher against moto's server: misfire policies after an outage,
max_runs, tasks changed under a dispatcher's feet, the API's near-term claim,
a crash between claim and send, and runners that died mid-run.

Time is an injected clock (Clock), except where the API is involved: the API
handler uses the real clock, so those tests pin the dispatcher's clock to the
instant the API used (the task's created_at)."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from agentcron.dispatch import LOOKAHEAD_MARGIN_SECONDS, Dispatcher
from agentcron.history import Actor
from agentcron.ids import scheduled_run_id
from agentcron.models import Run, RunStatus, TaskPatch
from agentcron.queue import RunMessage, RunQueue
from agentcron.schedules import ScheduleAdapter, from_epoch, next_run_epoch, to_epoch
from agentcron.service import Service
from agentcron.store import QUEUED_GRACE_SECONDS, Store, shard_of

from tests.integration.conftest import ApiClient
from tests.support_dispatch import (
    Clock,
    Journal,
    RecordingRunQueue,
    drain_queue,
    make_task,
    new_dispatcher,
    queue_depth,
    queued_run,
    race,
    receive_now,
    run_item,
    task_item,
    task_runs,
    total,
)

T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
E = to_epoch(T)
TICK = 300
HORIZON = TICK + LOOKAHEAD_MARGIN_SECONDS  # 360
OUTAGE = 2 * 3600


def minute_task(store: Store, *, first: int = E, **kwargs: Any) -> Any:
    """A 1-minute interval task (phase on the minute), stored with next_run_at=first."""
    task = make_task(
        {"type": "interval", "every_seconds": 60},
        now=from_epoch(first),
        created_at=T - timedelta(days=1),
        next_run_at=first,
        **kwargs,
    )
    store.create_task(task)
    return task


def epochs(runs: list[Run], status: RunStatus | None = None) -> list[int]:
    return sorted(to_epoch(r.scheduled_for) for r in runs if status is None or r.status == status)


# ---- misfire policies after a 2-hour outage --------------------------------------
# A 1-minute task last claimed up to E; the dispatchers were down for 2 hours.
# Tick at now = E+7200: late limit E+6900; misfired [E, E+6900) = 115 occurrences;
# inside the grace and the horizon: E+6900 .. E+7560 = 12 occurrences, run as usual.

ON_TIME_AFTER = [E + 6900 + 60 * k for k in range(12)]
POLICY_CASES = {
    "skip": ([], (E, 115)),
    "run_once": ([E], (E + 60, 114)),
    "catch_up": ([E + 60 * k for k in range(10)], (E + 600, 105)),
}


@pytest.mark.parametrize("policy", list(POLICY_CASES))
def test_misfire_policy_after_an_outage(policy: str, aws_env: dict[str, str], store: Store, api: ApiClient) -> None:
    task = minute_task(store, policies={"misfire": policy, "catch_up_max": 10})
    clock, journal = Clock(T + timedelta(seconds=OUTAGE)), Journal()
    report = new_dispatcher(aws_env, clock, journal).tick()

    caught_up, (missed_at, missed_count) = POLICY_CASES[policy]
    runs = task_runs(aws_env["TABLE_NAME"], task.id)
    assert epochs(runs, RunStatus.QUEUED) == caught_up + ON_TIME_AFTER
    assert epochs(runs, RunStatus.MISSED) == [missed_at]
    assert len(runs) == len(caught_up) + 12 + 1
    missed = next(r for r in runs if r.status == RunStatus.MISSED)
    assert missed.id == scheduled_run_id(task.id, missed_at)
    assert missed.reason == (
        f"{missed_count} occurrence(s) from {from_epoch(missed_at).isoformat()} missed their start "
        f"by more than 300s (misfire policy: {policy})"
    )
    assert missed.finished_at == clock.now and missed.active_until is None
    assert {r.id for r in report.claimed} == {r.id for r in runs if r.status == RunStatus.QUEUED}
    assert [r.id for r in report.missed] == [missed.id]
    assert report.lost == 0
    item = task_item(aws_env["TABLE_NAME"], task.id)
    assert item is not None
    assert item["next_run_at"] == E + 7620
    assert item["runs_scheduled"] == len(caught_up) + 12
    # Every queued run's message went out; the stale ones with no delay.
    first_sends = {s.run_id: s.delay for s in journal.sent}
    for run in runs:
        if run.status == RunStatus.QUEUED:
            assert first_sends[run.id] == max(0, to_epoch(run.scheduled_for) - clock.epoch)
    assert all(s.run_id != missed.id for s in journal.sent), "a MISSED row is never queued"

    # The history, through the API.
    listed = api.get(f"/v1/tasks/{task.id}/runs?status=MISSED")
    assert listed.status == 200, listed.text
    [row] = listed.json["items"]
    assert row["id"] == missed.id and row["status"] == "MISSED" and row["trigger"] == "schedule"
    assert datetime.fromisoformat(row["scheduled_for"]) == from_epoch(missed_at)
    assert row["reason"] == missed.reason
    everything = api.get(f"/v1/tasks/{task.id}/runs?limit=100").json["items"]
    assert Counter(r["status"] for r in everything) == Counter({"QUEUED": len(caught_up) + 12, "MISSED": 1})
    # Newest first: by scheduled time, so the MISSED row sits where its occurrence was.
    assert [datetime.fromisoformat(r["scheduled_for"]) for r in everything] == sorted(
        (datetime.fromisoformat(r["scheduled_for"]) for r in everything), reverse=True
    )


def test_a_late_claim_is_sent_once_not_resent_by_the_same_ticks_recovery(aws_env: dict[str, str], store: Store) -> None:
    task = minute_task(store, policies={"misfire": "catch_up", "catch_up_max": 10})
    clock, journal = Clock(T + timedelta(seconds=OUTAGE)), Journal()
    report = new_dispatcher(aws_env, clock, journal).tick()
    runs = task_runs(aws_env["TABLE_NAME"], task.id)
    assert len([r for r in runs if r.status == RunStatus.QUEUED]) == 22
    assert report.resent == []
    assert Counter(journal.run_ids()) == Counter({r.id: 1 for r in runs if r.status == RunStatus.QUEUED})
    for run in runs:
        if run.status == RunStatus.QUEUED:
            assert run.active_until is not None and run.active_until > clock.epoch


def test_eight_dispatchers_after_an_outage_write_one_missed_row(aws_env: dict[str, str], store: Store) -> None:
    tasks = {policy: minute_task(store, policies={"misfire": policy}) for policy in POLICY_CASES}
    clock, journal = Clock(T + timedelta(seconds=OUTAGE)), Journal()
    reports = race([new_dispatcher(aws_env, clock, journal, name=f"d{i}") for i in range(8)])
    merged = total(reports)
    for policy, task in tasks.items():
        caught_up, (missed_at, _) = POLICY_CASES[policy]
        runs = task_runs(aws_env["TABLE_NAME"], task.id)
        assert epochs(runs, RunStatus.QUEUED) == caught_up + ON_TIME_AFTER
        assert epochs(runs, RunStatus.MISSED) == [missed_at]
    claimed = [r.id for r in merged.claimed]
    assert len(claimed) == len(set(claimed)) == sum(len(POLICY_CASES[p][0]) + 12 for p in POLICY_CASES)
    assert len(merged.missed) == 3
    assert merged.lost > 0


# ---- max_runs ------------------------------------------------------------------------


def test_max_runs_ends_the_schedule(aws_env: dict[str, str], store: Store, api: ApiClient) -> None:
    task = minute_task(store, policies={"max_runs": 3})
    clock, journal = Clock(T), Journal()
    dispatcher = new_dispatcher(aws_env, clock, journal)
    report = dispatcher.tick()
    assert [r.id for r in report.claimed] == [scheduled_run_id(task.id, E + 60 * k) for k in range(3)]
    item = task_item(aws_env["TABLE_NAME"], task.id)
    assert item is not None
    assert "next_run_at" not in item and "due_shard" not in item
    assert item["runs_scheduled"] == 3 and item["enabled"] is True
    assert api.get(f"/v1/tasks/{task.id}").json["next_run_at"] is None

    assert sorted(journal.run_ids()) == sorted(r.id for r in report.claimed)

    for later in (T + timedelta(minutes=5), T + timedelta(hours=3)):
        clock.set(later)
        again = dispatcher.tick()
        assert again.claimed == [] and again.missed == [] and again.lost == 0
    assert epochs(task_runs(aws_env["TABLE_NAME"], task.id)) == [E, E + 60, E + 120]
    # (No runner runs here: later ticks only re-send those three, as recovery.)
    assert set(journal.run_ids()) == {r.id for r in report.claimed}


# ---- the task changes between the due query and the claim ----------------------------


def due_snapshot(store: Store, dispatcher: Dispatcher, task_id: str, now: datetime) -> Any:
    shard = shard_of(task_id, dispatcher.shards)
    [due] = [t for t in store.due_tasks(shard, dispatcher.horizon(now)) if t.id == task_id]
    return due


def test_task_disabled_after_the_due_query_is_not_claimed(
    aws_env: dict[str, str], store: Store, api: ApiClient
) -> None:
    task = minute_task(store)
    clock, journal = Clock(T), Journal()
    dispatcher = new_dispatcher(aws_env, clock, journal)
    stale = due_snapshot(store, dispatcher, task.id, T)
    assert stale.next_run_at == E and stale.enabled

    disabled = api.post(f"/v1/tasks/{task.id}/disable", {"reason": "maintenance"})
    assert disabled.status == 200, disabled.text
    report = dispatcher.claim_task(stale, T)

    assert report.lost == 1 and report.claimed == [] and report.missed == []
    assert task_runs(aws_env["TABLE_NAME"], task.id) == []
    assert journal.sent == [] and queue_depth(aws_env["RUN_QUEUE_URL"]) == {"visible": 0, "delayed": 0, "in_flight": 0}
    item = task_item(aws_env["TABLE_NAME"], task.id)
    assert item is not None
    assert item["enabled"] is False and item["paused_reason"] == "maintenance"
    assert "due_shard" not in item and "next_run_at" not in item
    assert dispatcher.tick().claimed == []


def test_task_deleted_after_the_due_query_is_not_claimed(aws_env: dict[str, str], store: Store, api: ApiClient) -> None:
    task = minute_task(store)
    clock, journal = Clock(T), Journal()
    dispatcher = new_dispatcher(aws_env, clock, journal)
    stale = due_snapshot(store, dispatcher, task.id, T)
    assert api.delete(f"/v1/tasks/{task.id}").status == 204
    report = dispatcher.claim_task(stale, T)
    assert report.lost == 1 and report.claimed == []
    assert task_runs(aws_env["TABLE_NAME"], task.id) == [] and journal.sent == []


def edit_schedule(store: Store, task: Any, schedule: dict[str, Any], now: datetime) -> Any:
    """What Service.update_task writes for a schedule change (without its near-term claim)."""
    new = ScheduleAdapter.validate_python(schedule)
    current = store.get_task(task.owner, task.id)
    return store.update_task(
        task.owner,
        task.id,
        {"schedule": new.model_dump(mode="json")},
        expected_version=current.version,
        now=now,
        next_run_at=next_run_epoch(new, now=now, anchor=current.created_at),
    )


def test_task_edited_after_the_due_query_is_claimed_on_its_new_schedule(aws_env: dict[str, str], store: Store) -> None:
    task = minute_task(store)
    clock, journal = Clock(T), Journal()
    dispatcher = new_dispatcher(aws_env, clock, journal)
    stale = due_snapshot(store, dispatcher, task.id, T)
    # Every 90 s from E+45: the old next run (E) is no occurrence of it.
    edited = edit_schedule(
        store, task, {"type": "interval", "every_seconds": 90, "start_at": from_epoch(E + 45).isoformat()}, T
    )
    assert edited.next_run_at == E + 45

    report = dispatcher.claim_task(stale, T)
    assert report.lost == 1
    new_schedule = [E + 45, E + 135, E + 225, E + 315]  # up to the horizon E+360
    assert [to_epoch(r.scheduled_for) for r in report.claimed] == new_schedule
    assert epochs(task_runs(aws_env["TABLE_NAME"], task.id)) == new_schedule
    assert sorted(journal.run_ids()) == sorted(scheduled_run_id(task.id, e) for e in new_schedule)
    item = task_item(aws_env["TABLE_NAME"], task.id)
    assert item is not None and item["next_run_at"] == E + 405


def test_task_edited_to_a_schedule_sharing_its_next_run_is_claimed_on_the_new_schedule(
    aws_env: dict[str, str], store: Store
) -> None:
    # Every minute -> every 5 minutes, 100 s before E (a 5-minute boundary): the
    # new schedule's first occurrence is E too, so next_run_at does not change.
    now = T - timedelta(seconds=100)
    task = minute_task(store)
    clock, journal = Clock(now), Journal()
    dispatcher = new_dispatcher(aws_env, clock, journal)
    stale = due_snapshot(store, dispatcher, task.id, now)
    edited = edit_schedule(store, task, {"type": "cron", "expression": "*/5 * * * *"}, now)
    assert edited.next_run_at == E == stale.next_run_at

    dispatcher.claim_task(stale, now)
    # Horizon: E-100+360 = E+260. On */5 only E is inside it; the next is E+300.
    assert epochs(task_runs(aws_env["TABLE_NAME"], task.id)) == [E]
    item = task_item(aws_env["TABLE_NAME"], task.id)
    assert item is not None and item["next_run_at"] == E + 300


# ---- the API's near-term claim -----------------------------------------------------------


def test_api_create_of_a_task_due_in_seconds_queues_its_run_with_the_delay(
    aws_env: dict[str, str], api: ApiClient
) -> None:
    queue_url = aws_env["RUN_QUEUE_URL"]
    due = int(time.time()) + 6
    created = api.post(
        "/v1/tasks",
        {"name": "soon", "prompt": "hello", "schedule": {"type": "once", "at": from_epoch(due).isoformat()}},
    )
    answered = time.time()
    assert created.status == 201, created.text
    task = created.json
    assert answered < due - 2, "the API took too long for this test to see the delay"
    # Claimed by the API itself: the run exists now, and the task shows it as its next run.
    [run] = task_runs(aws_env["TABLE_NAME"], task["id"])
    assert (run.id, run.status, to_epoch(run.scheduled_for)) == (
        scheduled_run_id(task["id"], due),
        RunStatus.QUEUED,
        due,
    )
    assert datetime.fromisoformat(task["next_run_at"]) == from_epoch(due)

    # Sent with DelaySeconds = due - now: in the queue, not receivable yet ...
    assert receive_now(queue_url) == []
    assert queue_depth(queue_url) == {"visible": 0, "delayed": 1, "in_flight": 0}
    # ... until its second comes.
    got = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=12)
    received_at = time.time()
    bodies = [json.loads(m["Body"]) for m in got.get("Messages", [])]
    assert bodies == [{"run_id": run.id, "task_id": task["id"], "owner": "alice"}]
    assert due - 1.5 <= received_at <= due + 4, (received_at, due)

    # The next dispatcher tick finds nothing left to claim.
    clock, journal = Clock(datetime.now(UTC).replace(microsecond=0)), Journal()
    report = new_dispatcher(aws_env, clock, journal).tick()
    assert report.claimed == [] and report.lost == 0 and journal.sent == []
    assert len(task_runs(aws_env["TABLE_NAME"], task["id"])) == 1
    assert queue_depth(queue_url) == {"visible": 0, "delayed": 0, "in_flight": 1}


def test_api_near_term_claim_and_the_following_ticks_never_duplicate(aws_env: dict[str, str], api: ApiClient) -> None:
    queue_url = aws_env["RUN_QUEUE_URL"]
    start = int(time.time()) + 20
    created = api.post(
        "/v1/tasks",
        {
            "name": "every minute from 20 s from now",
            "prompt": "hello",
            "schedule": {"type": "interval", "every_seconds": 60, "start_at": from_epoch(start).isoformat()},
        },
    )
    assert created.status == 201, created.text
    task = created.json
    api_now = to_epoch(datetime.fromisoformat(task["created_at"]))
    # The API claimed every occurrence up to its horizon (now + tick + margin),
    # through the dispatcher's own code: start, start+60, ..., start+300.
    claimed = [start + 60 * k for k in range(6)]
    assert claimed[-1] <= api_now + HORIZON < claimed[-1] + 60
    runs = task_runs(aws_env["TABLE_NAME"], task["id"])
    assert epochs(runs) == claimed and {r.status for r in runs} == {RunStatus.QUEUED}
    # The task shows its next run (the first claimed one); the store's next unclaimed one is start+360.
    assert datetime.fromisoformat(task["next_run_at"]) == from_epoch(start)
    stored = task_item(aws_env["TABLE_NAME"], task["id"])
    assert stored is not None and int(stored["next_run_at"]) == start + 360
    assert queue_depth(queue_url)["delayed"] == 6

    # A tick at the API's instant: nothing; 5 minutes later: only what lies
    # past the API's horizon (start+360 .. start+600 <= api_now + 300 + 360).
    clock, journal = Clock(from_epoch(api_now)), Journal()
    dispatcher = new_dispatcher(aws_env, clock, journal)
    first = dispatcher.tick()
    assert first.claimed == [] and first.lost == 0 and journal.sent == []
    clock.set(from_epoch(api_now + TICK))
    second = dispatcher.tick()
    later = [start + 60 * k for k in range(6, 11)]
    assert [to_epoch(r.scheduled_for) for r in second.claimed] == later
    assert second.lost == 0
    # No runner here: the API's runs already past their QUEUED grace at that
    # tick are re-sent by recovery (once each), which is not a new claim.
    overdue = {scheduled_run_id(task["id"], e) for e in claimed if e + QUEUED_GRACE_SECONDS <= api_now + TICK}
    assert len(overdue) == 3 and Counter(second.resent) == Counter(dict.fromkeys(overdue, 1))
    runs = task_runs(aws_env["TABLE_NAME"], task["id"])
    assert epochs(runs) == claimed + later and len({r.id for r in runs}) == 11
    messages = Counter(body["run_id"] for body in drain_queue(queue_url))
    assert messages == Counter({r.id: 2 if r.id in overdue else 1 for r in runs})


def test_api_create_of_a_task_due_later_claims_nothing(aws_env: dict[str, str], api: ApiClient) -> None:
    start = int(time.time()) + 3600
    created = api.post(
        "/v1/tasks",
        {"name": "later", "prompt": "x", "schedule": {"type": "once", "at": from_epoch(start).isoformat()}},
    )
    assert created.status == 201
    assert task_runs(aws_env["TABLE_NAME"], created.json["id"]) == []
    assert queue_depth(aws_env["RUN_QUEUE_URL"]) == {"visible": 0, "delayed": 0, "in_flight": 0}
    assert datetime.fromisoformat(created.json["next_run_at"]) == from_epoch(start)


# ---- a crash between claim and send ----------------------------------------------------------


def test_a_run_whose_message_was_lost_is_resent_once_after_its_grace(aws_env: dict[str, str], store: Store) -> None:
    once = make_task({"type": "once", "at": from_epoch(E + 10).isoformat()}, now=T)
    slow = make_task({"type": "interval", "every_seconds": 600, "start_at": from_epoch(E + 30).isoformat()}, now=T)
    for task in (once, slow):
        store.create_task(task)
    owners = {scheduled_run_id(once.id, E + 10): once.id, scheduled_run_id(slow.id, E + 30): slow.id}
    lost_runs = {scheduled_run_id(once.id, E + 10): E + 10, scheduled_run_id(slow.id, E + 30): E + 30}

    # The first dispatcher claims, then its sends fail (a queue that is not there).
    clock, journal = Clock(T), Journal()
    broken = new_dispatcher(aws_env, clock, journal, queue_url=aws_env["RUN_QUEUE_URL"] + "-gone")
    crashed = broken.tick()
    assert sorted(r.id for r in crashed.claimed) == sorted(lost_runs)
    assert sorted(s.run_id for s in journal.refused) == sorted(lost_runs) and journal.sent == []
    for run_id, epoch in lost_runs.items():
        item = run_item(aws_env["TABLE_NAME"], owners[run_id], run_id)
        assert item is not None and item["status"] == "QUEUED"
        assert item["active_until"] == epoch + QUEUED_GRACE_SECONDS
    assert queue_depth(aws_env["RUN_QUEUE_URL"]) == {"visible": 0, "delayed": 0, "in_flight": 0}

    # Before the grace ends, nothing is re-sent.
    clock.set(T + timedelta(seconds=100))
    healthy = [new_dispatcher(aws_env, clock, journal, name=f"d{i}") for i in range(4)]
    assert total(race(healthy)).resent == []
    assert journal.sent == []

    # After it, four dispatchers race; each lost message is re-sent exactly once.
    clock.set(T + timedelta(seconds=150))  # both deadlines (E+130, E+150) have passed
    merged = total(race(healthy))
    assert Counter(merged.resent) == Counter(dict.fromkeys(lost_runs, 1))
    assert merged.claimed == []
    assert Counter(journal.run_ids()) == Counter(dict.fromkeys(lost_runs, 1))
    assert all(s.delay == 0 for s in journal.sent)
    assert Counter(b["run_id"] for b in receive_now(aws_env["RUN_QUEUE_URL"])) == Counter(dict.fromkeys(lost_runs, 1))
    for run_id in lost_runs:
        run = store.get_run_by_id(run_id)
        assert run is not None and run.status == RunStatus.QUEUED
        assert run.active_until == clock.epoch + QUEUED_GRACE_SECONDS

    # The next tick, inside the new grace, leaves them alone.
    clock.set(T + timedelta(seconds=200))
    assert total(race(healthy)).resent == []
    assert len(journal.sent) == 2


# ---- runners that died mid-run ----------------------------------------------------------------


def running_run(store: Store, task: Any, epoch: int, *, attempt: int, lease_until: int) -> Run:
    run = queued_run(store, task, epoch)
    return store.transition_run(
        task.owner,
        run.id,
        from_statuses={RunStatus.QUEUED},
        to_status=RunStatus.RUNNING,
        fields={"attempt": attempt, "started_at": from_epoch(epoch).isoformat()},
        active_until=lease_until,
    )


def test_running_runs_past_their_lease_are_requeued_or_timed_out(aws_env: dict[str, str], store: Store) -> None:
    task = make_task({"type": "manual"}, now=T - timedelta(days=1), policies={"max_attempts": 3})
    store.create_task(task)
    retry = running_run(store, task, E - 1000, attempt=1, lease_until=E - 100)
    last = running_run(store, task, E - 900, attempt=3, lease_until=E - 50)
    alive = running_run(store, task, E - 800, attempt=1, lease_until=E + 100)

    clock, journal = Clock(T), Journal()
    merged = total(race([new_dispatcher(aws_env, clock, journal, name=f"d{i}") for i in range(4)]))
    assert Counter(merged.resent) == Counter({retry.id: 1})
    assert Counter(merged.timed_out) == Counter({last.id: 1})
    assert merged.claimed == []

    requeued = store.get_run_by_id(retry.id)
    assert requeued is not None
    assert requeued.status == RunStatus.QUEUED and requeued.attempt == 1
    assert requeued.reason == "attempt 1 lost its runner (lease expired); retrying"
    assert requeued.active_until == E + QUEUED_GRACE_SECONDS

    timed_out = store.get_run_by_id(last.id)
    assert timed_out is not None
    assert timed_out.status == RunStatus.TIMED_OUT and timed_out.finished_at == T
    assert timed_out.error is not None
    assert (timed_out.error.type, timed_out.error.message) == (
        "lease_expired",
        "the runner stopped responding on attempt 3 of 3",
    )
    raw = run_item(aws_env["TABLE_NAME"], task.id, last.id)
    assert raw is not None and "active_until" not in raw and "active_shard" not in raw

    untouched = store.get_run_by_id(alive.id)
    assert untouched is not None
    assert untouched.status == RunStatus.RUNNING and untouched.active_until == E + 100

    # One message, for the retry, receivable at once.
    assert [(s.run_id, s.delay) for s in journal.sent] == [(retry.id, 0)]
    assert receive_now(aws_env["RUN_QUEUE_URL"]) == [{"run_id": retry.id, "task_id": task.id, "owner": task.owner}]

    # The TIMED_OUT run is final; the requeued one is not due again until its grace ends.
    clock.set(T + timedelta(seconds=60))
    again = total(race([new_dispatcher(aws_env, clock, journal, name=f"e{i}") for i in range(4)]))
    assert again.resent == [] and again.timed_out == []


def test_a_queue_that_refuses_reports_the_run_ids_instead_of_raising(aws_env: dict[str, str]) -> None:
    # What lets a claim survive a failed send: the run stays QUEUED for recovery.
    queue = RunQueue(aws_env["RUN_QUEUE_URL"] + "-gone")
    batch = [(RunMessage(run_id=f"r{i}", task_id="t", owner="o"), 5) for i in range(12)]
    assert queue.send_batch(batch) == [f"r{i}" for i in range(12)]


# ---- an occurrence that was already claimed comes back as next_run_at ---------------------
# The dispatcher claims up to 6 minutes ahead. If the task is paused and resumed,
# or its schedule edited, inside that window, the service recomputes next_run_at
# from "now" and may land on an occurrence whose run already exists.


def service_at(aws_env: dict[str, str], clock: Clock, journal: Journal) -> Service:
    dispatcher = new_dispatcher(aws_env, clock, journal, name="api")
    return Service(
        store=Store(aws_env["TABLE_NAME"], due_shards=int(aws_env["DUE_SHARDS"])),
        queue=dispatcher.queue,
        clock=clock,
        tick_seconds=TICK,
        dispatcher=dispatcher,
    )


def resume_after_pause(svc: Service, task: Any, clock: Clock) -> None:
    clock.advance(10)
    svc.disable_task(Actor(task.owner), task.id, "a short pause")
    clock.advance(10)
    svc.enable_task(Actor(task.owner), task.id)


def edit_to_every_five_minutes(svc: Service, task: Any, clock: Clock) -> None:
    clock.advance(20)
    svc.update_task(
        Actor(task.owner),
        task.id,
        TaskPatch(schedule=ScheduleAdapter.validate_python({"type": "cron", "expression": "*/5 * * * *"})),
        None,
    )


@pytest.mark.parametrize("change", [resume_after_pause, edit_to_every_five_minutes], ids=["pause-resume", "edit"])
@pytest.mark.timeout(600)
def test_a_change_inside_the_lookahead_window_does_not_wedge_the_task(
    change: Any, aws_env: dict[str, str], store: Store
) -> None:
    task = minute_task(store)
    clock, journal = Clock(T), Journal()
    svc = service_at(aws_env, clock, journal)
    dispatcher = new_dispatcher(aws_env, clock, journal)
    first = dispatcher.tick()
    assert [to_epoch(r.scheduled_for) for r in first.claimed] == [E + 60 * k for k in range(7)]  # E .. E+360

    change(svc, task, clock)  # at T+20: its next occurrence (E+60 or E+300) is already claimed
    current = store.get_task(task.owner, task.id)
    assert current.enabled and current.next_run_at is not None

    clock.set(T + timedelta(seconds=TICK))
    later = dispatcher.tick()
    # Next tick (horizon E+660): the schedule goes on past what was claimed already.
    assert later.lost == 0
    after = store.get_task(task.owner, task.id)
    assert after.next_run_at is not None and after.next_run_at > E + TICK + HORIZON
    runs = epochs(task_runs(aws_env["TABLE_NAME"], task.id))
    assert len(runs) == len(set(runs)) and max(runs) > E + 360


# ---- a transient transaction conflict on one task ---------------------------------------------


def conflicting_store(aws_env: dict[str, str], victim_id: str) -> Store:
    """A Store whose claims on one task always meet DynamoDB's TransactionConflict
    (another transaction on the same item), as under heavy contention on AWS."""
    store = Store(aws_env["TABLE_NAME"], due_shards=int(aws_env["DUE_SHARDS"]))
    client = store._client
    real = client.transact_write_items

    def transact_write_items(**kwargs: Any) -> Any:
        items = kwargs["TransactItems"]
        if items[0].get("Update", {}).get("Key", {}).get("PK") == f"TASK#{victim_id}":
            reasons: list[Any] = [{"Code": "TransactionConflict"}] + [{"Code": "None"}] * (len(items) - 1)
            raise client.exceptions.TransactionCanceledException(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                    "CancellationReasons": reasons,
                },
                "TransactWriteItems",
            )
        return real(**kwargs)

    client.transact_write_items = transact_write_items  # type: ignore[method-assign]
    return store


def two_tasks_in_one_shard(shards: int) -> tuple[Any, Any]:
    tasks: dict[str, Any] = {}
    while True:
        task = make_task(
            {"type": "interval", "every_seconds": 600}, now=T, created_at=T - timedelta(days=1), next_run_at=E
        )
        shard = shard_of(task.id, shards)
        if shard in tasks:
            return tasks[shard], task
        tasks[shard] = task


def test_a_persistently_conflicting_task_does_not_stop_the_rest_of_its_shard(
    aws_env: dict[str, str], store: Store
) -> None:
    shards = int(aws_env["DUE_SHARDS"])
    victim, other = two_tasks_in_one_shard(shards)
    for task in (victim, other):
        store.create_task(task)
    clock, journal = Clock(T), Journal()
    dispatcher = Dispatcher(
        lambda: conflicting_store(aws_env, victim.id),
        RecordingRunQueue(aws_env["RUN_QUEUE_URL"], journal, clock=clock),
        shards=shards,
        tick_seconds=TICK,
        clock=clock,
    )
    report = dispatcher.tick()  # raises today
    assert [r.id for r in report.claimed] == [scheduled_run_id(other.id, E)]
    assert epochs(task_runs(aws_env["TABLE_NAME"], other.id)) == [E]
    assert task_runs(aws_env["TABLE_NAME"], victim.id) == []


def test_a_run_still_queued_after_its_resend_is_resent_less_and_less_often(
    aws_env: dict[str, str], store: Store
) -> None:
    """Behind a backlog a QUEUED run's message is waiting, not lost: re-sending it every
    tick would add a message per waiting run per tick. The gaps double (120, 240, 480 s)."""
    once = make_task({"type": "once", "at": from_epoch(E + 10).isoformat()}, now=T)
    store.create_task(once)
    run_id = scheduled_run_id(once.id, E + 10)
    clock, journal = Clock(T), Journal()
    dispatcher = new_dispatcher(aws_env, clock, journal)
    dispatcher.tick()  # claimed and sent; nobody consumes the queue
    resent_at = []
    for minute in range(1, 21):  # a tick a minute for twenty minutes
        clock.set(T + timedelta(minutes=minute))
        if dispatcher.tick().resent == [run_id]:
            resent_at.append(minute * 60)

    # Due at E+10 with a grace of 120 s: first re-sent at the tick of E+180, then
    # 120, 240 and 480 s after each re-send (rounded up to the next tick).
    assert resent_at == [180, 300, 540, 1020]
    assert Counter(journal.run_ids()) == Counter({run_id: 5})
    run = store.get_run_by_id(run_id)
    assert run is not None and run.status == RunStatus.QUEUED and run.resends == 4
