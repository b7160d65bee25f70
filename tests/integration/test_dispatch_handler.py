"""functions/dispatcher/app.py with the sample events of events/, against moto.

The handler wires its store, queue and dispatcher once per container
(agentcron.bootstrap.dispatcher); every test starts from bootstrap.reset(), as a fresh
container on its own stack (aws_env) would. It runs on the real clock, so
tasks here are stored relative to time.time()."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentcron import bootstrap
from agentcron.ids import scheduled_run_id
from agentcron.models import RunStatus, Trigger
from agentcron.schedules import from_epoch, to_epoch
from agentcron.store import Store
from agentcron_local.gateway import LambdaContext, load_function_handler

from tests.support_dispatch import drain_queue, make_task, queue_depth, queued_run, receive_now, task_runs

EVENTS = Path(__file__).resolve().parents[2] / "events"


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


@pytest.fixture
def handler(aws_env: dict[str, str]) -> Iterator[Any]:
    bootstrap.reset()
    yield load_function_handler("dispatcher")
    bootstrap.reset()


def invoke(handler: Any, event: dict[str, Any]) -> dict[str, Any]:
    result = handler(event, LambdaContext())
    assert isinstance(result, dict)
    json.dumps(result)  # a Lambda result must serialise
    return result


def run_task_event(task_id: str, owner: str, **detail: Any) -> dict[str, Any]:
    event = load_event("dispatcher-run-task.json")
    event["detail"].update({"task_id": task_id, "owner": owner, **detail})
    return event


def empty(queue_url: str) -> bool:
    return queue_depth(queue_url) == {"visible": 0, "delayed": 0, "in_flight": 0}


def test_sample_events_are_what_the_handler_expects() -> None:
    tick = load_event("dispatcher-tick.json")
    assert (tick["source"], tick["detail-type"], tick["detail"]) == ("aws.events", "Scheduled Event", {})
    run_task = load_event("dispatcher-run-task.json")
    assert set(run_task["detail"]) == {"task_id", "owner", "variables"}


def test_tick_event_claims_what_is_due_before_the_next_tick(
    handler: Any, aws_env: dict[str, str], store: Store
) -> None:
    now = int(time.time())
    start = now + 30
    # Every 60 s from now+30: inside the horizon (now + 300 + 60) lie 6 occurrences.
    due = make_task(
        {"type": "interval", "every_seconds": 60, "start_at": from_epoch(start).isoformat()},
        now=from_epoch(now),
    )
    later = make_task({"type": "once", "at": from_epoch(now + 3600).isoformat()}, now=from_epoch(now))
    paused = make_task({"type": "interval", "every_seconds": 60}, now=from_epoch(now), enabled=False)
    for task in (due, later, paused):
        store.create_task(task)

    result = invoke(handler, load_event("dispatcher-tick.json"))
    expected = [start + 60 * k for k in range(6)]
    assert result == {
        "status": "ticked",
        "claimed": 6,
        "missed": 0,
        "lost": 0,
        "resent": 0,
        "timed_out": 0,
        "errors": 0,
        "unsent": 0,
        "shards_out_of_time": 0,
    }
    runs = task_runs(aws_env["TABLE_NAME"], due.id)
    assert [to_epoch(r.scheduled_for) for r in runs] == expected
    assert [r.id for r in runs] == [scheduled_run_id(due.id, e) for e in expected]
    assert {(r.status, r.trigger) for r in runs} == {(RunStatus.QUEUED, Trigger.SCHEDULE)}
    assert task_runs(aws_env["TABLE_NAME"], later.id) == [] and task_runs(aws_env["TABLE_NAME"], paused.id) == []
    assert store.get_task(due.owner, due.id).next_run_at == start + 360
    assert queue_depth(aws_env["RUN_QUEUE_URL"]) == {"visible": 0, "delayed": 6, "in_flight": 0}

    # A retried tick (EventBridge delivers at least once) adds nothing.
    again = invoke(handler, load_event("dispatcher-tick.json"))
    assert again["status"] == "ticked" and again["claimed"] == 0
    assert len(task_runs(aws_env["TABLE_NAME"], due.id)) == 6
    received = [body["run_id"] for body in drain_queue(aws_env["RUN_QUEUE_URL"])]
    assert sorted(received) == sorted(r.id for r in runs)


def test_run_task_event_queues_a_console_run(handler: Any, aws_env: dict[str, str], store: Store) -> None:
    task = make_task({"type": "manual"}, now=from_epoch(int(time.time())), owner="demo-owner")
    store.create_task(task)
    event = run_task_event(task.id, task.owner)
    result = invoke(handler, event)
    assert result["status"] == "queued"
    [run] = task_runs(aws_env["TABLE_NAME"], task.id)
    assert result == {"status": "queued", "run_id": run.id}
    assert run.status == RunStatus.QUEUED and run.trigger == Trigger.CONSOLE
    assert run.variables == {"team": "platform"}  # from the sample event
    assert run.owner == task.owner
    assert receive_now(aws_env["RUN_QUEUE_URL"]) == [{"run_id": run.id, "task_id": task.id, "owner": task.owner}]


def test_run_task_event_at_the_top_level_is_accepted(handler: Any, aws_env: dict[str, str], store: Store) -> None:
    task = make_task({"type": "manual"}, now=from_epoch(int(time.time())))
    store.create_task(task)
    result = invoke(handler, {"task_id": task.id, "owner": task.owner})
    assert result["status"] == "queued"
    [run] = task_runs(aws_env["TABLE_NAME"], task.id)
    assert run.id == result["run_id"] and run.variables == {}


@pytest.mark.parametrize(
    ("detail", "fields"),
    [
        ({"task_id": "task_x", "owner": ""}, {"owner"}),
        ({"task_id": 42, "owner": "demo"}, {"task_id"}),
        ({"task_id": "t" * 65, "owner": "demo"}, {"task_id"}),
        ({"task_id": "task_x"}, {"owner"}),
        ({"task_id": "task_x", "owner": "demo", "variables": {"bad name": "x"}}, {"variables.bad name.[key]"}),
        ({"task_id": "task_x", "owner": "demo", "variables": ["x"]}, {"variables"}),
    ],
)
def test_malformed_run_task_event_is_rejected(
    handler: Any, aws_env: dict[str, str], detail: dict[str, Any], fields: set[str]
) -> None:
    event = copy.deepcopy(load_event("dispatcher-run-task.json"))
    event["detail"] = detail
    result = invoke(handler, event)
    assert result["status"] == "rejected"
    assert set(result) == {"status", "errors"}
    named = {error.split(":", 1)[0] for error in result["errors"]}
    assert named == fields, result
    assert empty(aws_env["RUN_QUEUE_URL"])


def test_run_task_event_for_another_owners_task_is_refused(handler: Any, aws_env: dict[str, str], store: Store) -> None:
    task = make_task({"type": "manual"}, now=from_epoch(int(time.time())), owner="alice")
    store.create_task(task)
    result = invoke(handler, run_task_event(task.id, "mallory"))
    assert result == {"status": "refused", "reason": f"task {task.id} not found"}
    assert task_runs(aws_env["TABLE_NAME"], task.id) == []
    assert empty(aws_env["RUN_QUEUE_URL"])


def test_run_task_event_for_an_unknown_task_is_refused(handler: Any, aws_env: dict[str, str]) -> None:
    result = invoke(handler, run_task_event("task_01KQ0000000000000000000000", "demo"))
    assert result == {"status": "refused", "reason": "task task_01KQ0000000000000000000000 not found"}
    assert empty(aws_env["RUN_QUEUE_URL"])


def test_run_task_event_for_a_paused_task_is_refused(handler: Any, aws_env: dict[str, str], store: Store) -> None:
    task = make_task({"type": "interval", "every_seconds": 60}, now=from_epoch(int(time.time())), enabled=False)
    store.create_task(task)
    result = invoke(handler, run_task_event(task.id, task.owner))
    assert result["status"] == "refused"
    assert "paused" in result["reason"] and task.id in result["reason"]
    assert task_runs(aws_env["TABLE_NAME"], task.id) == []
    assert empty(aws_env["RUN_QUEUE_URL"])


def test_tick_recovers_a_queued_run_whose_message_was_lost(handler: Any, aws_env: dict[str, str], store: Store) -> None:
    # A claimed run, QUEUED for longer than its grace, whose message never left.
    now = int(time.time())
    task = make_task({"type": "manual"}, now=from_epoch(now - 3600))
    store.create_task(task)
    run = queued_run(store, task, now - 600)
    result = invoke(handler, load_event("dispatcher-tick.json"))
    assert result == {
        "status": "ticked",
        "claimed": 0,
        "missed": 0,
        "lost": 0,
        "resent": 1,
        "timed_out": 0,
        "errors": 0,
        "unsent": 0,
        "shards_out_of_time": 0,
    }
    assert receive_now(aws_env["RUN_QUEUE_URL"]) == [{"run_id": run.id, "task_id": task.id, "owner": task.owner}]
    again = invoke(handler, load_event("dispatcher-tick.json"))
    assert again["resent"] == 0
