"""Runs the owner asks for (run-now, a reply) and the links that offer them.

A manual run goes ahead on a paused task and is never silently SKIPPED: the
overlap policy refuses it at once (409 naming the run in the way) or it runs,
waiting its turn when a run took the task in between. A run of a deleted task
offers no reply and refuses one. Through the real runner, queue and API against
the fake model (real anthropic SDK over HTTP); see test_runner_harness.py.
"""

from __future__ import annotations

import time

import pytest

from tests.integration.test_runner_flows import set_task_fields
from tests.integration.test_runner_harness import Runner
from tests.support_dispatch import moto_sqs_clock_ahead

pytest_plugins = ["tests.integration.test_runner_harness"]

CRON = {"type": "cron", "expression": "0 9 * * *", "timezone": "UTC"}


def wait_for_status(runner: Runner, run_id: str, status: str) -> None:
    deadline = time.monotonic() + 10
    while runner.get_run(run_id)["status"] != status:
        assert time.monotonic() < deadline, f"run {run_id} never became {status}"
        time.sleep(0.1)


# ---- run-now on a paused task ------------------------------------------------------------------


def test_run_now_of_a_paused_task_runs_and_leaves_it_paused_on_its_schedule(runner: Runner) -> None:
    task = runner.create_task("on demand", schedule=CRON)
    paused = runner.api.post(f"/v1/tasks/{task['id']}/disable", {"reason": "holiday"}).json

    response = runner.api.post(f"/v1/tasks/{task['id']}/runs", {})
    assert response.status == 202, response.text
    run = runner.pump(response.json["id"])

    assert run["status"] == "SUCCEEDED" and run["output"] == "Done: on demand"
    after = runner.get_task(task["id"])
    assert (after["enabled"], after["paused_reason"], after["next_run_at"]) == (False, "holiday", None)
    assert after["version"] == paused["version"], "the task itself is unchanged"
    assert after["last_run"]["id"] == run["id"]
    item = runner.store.table.get_item(Key={"PK": f"TASK#{task['id']}", "SK": "TASK"})["Item"]
    assert "due_shard" not in item and "next_run_at" not in item, "still out of the due index"
    # Resumed, it goes on from its schedule as if the manual run had not happened.
    assert runner.api.post(f"/v1/tasks/{task['id']}/enable").json["next_run_at"] == task["next_run_at"]


def test_a_queued_manual_run_still_runs_when_the_task_is_paused_before_it_starts(runner: Runner) -> None:
    task = runner.create_task("asked for")
    queued = runner.run_now(task["id"])
    assert runner.api.post(f"/v1/tasks/{task['id']}/disable", {}).status == 200

    assert runner.pump(queued["id"])["status"] == "SUCCEEDED"


# ---- overlap: refused at once, or run ----------------------------------------------------------


def test_run_now_while_a_run_holds_a_skip_task_is_a_409_naming_it(runner: Runner) -> None:
    task = runner.create_task("{{step}}")
    runner.poller.start()
    try:
        holder = runner.scheduled(task["id"], {"step": "sleep: 2"})
        wait_for_status(runner, holder, "RUNNING")
        shown = runner.get_task(task["id"])
        refused = runner.api.post(f"/v1/tasks/{task['id']}/runs", {"variables": {"step": "now"}})
        runner.wait(holder)
    finally:
        runner.poller.stop()

    assert refused.status == 409 and refused.headers["content-type"] == "application/problem+json"
    assert refused.json["detail"] == (
        f"task {task['id']} is running {holder} and its overlap policy is skip; run it again when that ends"
    )
    assert "run_now" not in shown["_links"], "the link is offered only when it would succeed"
    assert [r["id"] for r in runner.api.get(f"/v1/tasks/{task['id']}/runs").json["items"]] == [holder]
    # Once the holder ended, the same request runs.
    assert "run_now" in runner.get_task(task["id"])["_links"]
    assert runner.pump(runner.run_now(task["id"], {"step": "now"})["id"])["status"] == "SUCCEEDED"


def test_run_now_of_a_buffer_one_task_waits_its_turn_or_is_a_409_when_one_already_waits(runner: Runner) -> None:
    task = runner.create_task("{{step}}", policies={"overlap": "buffer_one"})
    set_task_fields(runner, task["id"], running_run_id="run_holder", running_until=int(time.time()) + 300)

    accepted = runner.run_now(task["id"], {"step": "mine"})
    runner.poll()
    assert runner.store.get_task_by_id(task["id"]).buffered_run_id == accepted["id"]  # type: ignore[union-attr]
    refused = runner.api.post(f"/v1/tasks/{task['id']}/runs", {})

    assert refused.status == 409
    assert refused.json["detail"] == (
        f"task {task['id']} is running run_holder and {accepted['id']} is already waiting (overlap: buffer_one); "
        "run it again when one of them ends"
    )
    # The holder ends; the waiting manual run starts (its message back at the holder's lease).
    set_task_fields(runner, task["id"], running_until=int(time.time()) - 1)
    with moto_sqs_clock_ahead(301):
        assert runner.pump(accepted["id"])["status"] == "SUCCEEDED"


@pytest.mark.parametrize("overlap", ["skip", "buffer_one"])
def test_a_manual_run_overtaken_before_it_starts_waits_instead_of_being_skipped(runner: Runner, overlap: str) -> None:
    task = runner.create_task("asked for", policies={"overlap": overlap})
    accepted = runner.run_now(task["id"])
    # Between the request and its start, another run takes the task (as a runner would).
    set_task_fields(runner, task["id"], running_run_id="run_other", running_until=int(time.time()) + 300)

    runner.poll()

    waiting = runner.get_run(accepted["id"])
    assert (waiting["status"], waiting["attempt"]) == ("QUEUED", 0), "never SKIPPED"
    assert runner.model_requests(accepted["id"]) == []
    assert runner.store.get_task_by_id(task["id"]).buffered_run_id == accepted["id"]  # type: ignore[union-attr]
    set_task_fields(runner, task["id"], running_until=int(time.time()) - 1)
    with moto_sqs_clock_ahead(301):
        done = runner.pump(accepted["id"])
    assert done["status"] == "SUCCEEDED"
    assert runner.store.get_task_by_id(task["id"]).buffered_run_id is None  # type: ignore[union-attr]


# ---- replies and links of a deleted task -------------------------------------------------------


def test_a_waiting_run_of_a_deleted_task_offers_no_reply_and_refuses_one(runner: Runner) -> None:
    task = runner.create_task("Deploy\nask: Which region?", agent={"tools": ["ask_user"]})
    queued = runner.run_now(task["id"])
    assert runner.pump(queued["id"])["status"] == "WAITING_INPUT"
    assert runner.api.delete(f"/v1/tasks/{task['id']}").status == 204

    run = runner.get_run(queued["id"])
    assert set(run["_links"]) == {"self", "task", "cancel", "transcript"}, "no reply"
    for listing in ("/v1/runs", f"/v1/tasks/{task['id']}/runs"):
        [listed] = [r for r in runner.api.get(listing).json["items"] if r["id"] == run["id"]]
        assert listed["_links"] == run["_links"], listing
    gone = runner.api.get(run["_links"]["task"]["href"])
    assert gone.status == 410 and gone.json["title"] == "Gone", "the task link says what became of it"

    refused = runner.api.post(f"/v1/runs/{run['id']}/reply", {"reply": "eu-west-1"})
    assert refused.status == 409 and refused.headers["content-type"] == "application/problem+json"
    assert refused.json["detail"] == (
        f"run {run['id']} cannot be resumed: its task {task['id']} was deleted; cancel it instead"
    )
    assert runner.get_run(run["id"])["status"] == "WAITING_INPUT" and runner.queue_depth() == 0
    cancelled = runner.api.post(run["_links"]["cancel"]["href"], {})
    assert cancelled.status == 200 and cancelled.json["status"] == "CANCELLED"


def test_a_waiting_run_of_a_paused_task_offers_reply_and_the_reply_runs(runner: Runner) -> None:
    task = runner.create_task("Deploy\nask: Which region?", agent={"tools": ["ask_user"]})
    queued = runner.run_now(task["id"])
    assert runner.pump(queued["id"])["status"] == "WAITING_INPUT"
    assert runner.api.post(f"/v1/tasks/{task['id']}/disable", {}).status == 200

    waiting = runner.get_run(queued["id"])
    assert set(waiting["_links"]) == {"self", "task", "cancel", "reply", "transcript"}
    assert runner.api.post(waiting["_links"]["reply"]["href"], {"reply": "eu-west-1"}).status == 202
    done = runner.pump(queued["id"])

    assert done["status"] == "SUCCEEDED" and done["output"] == "Answer received: eu-west-1"
    assert runner.get_task(task["id"])["enabled"] is False


def test_a_deleted_task_offers_no_actions(runner: Runner) -> None:
    body = {"name": "replayed", "prompt": "p", "schedule": {"type": "manual"}}
    key = {"idempotency-key": "create-once"}
    created = runner.api.post("/v1/tasks", body, headers=key)
    assert runner.api.delete(f"/v1/tasks/{created.json['id']}").status == 204

    replayed = runner.api.post("/v1/tasks", body, headers=key)

    assert replayed.json["id"] == created.json["id"] and replayed.json["_links"] == {}
