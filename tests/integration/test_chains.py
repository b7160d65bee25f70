"""Chains (issue 17): `on_success` / `on_failure` start the owner's next tasks with variables
from the finished run, once per run however often its message comes, even when the child's
message is lost; cycles and other owners' tasks are refused at write time. Through the real
API and runner handlers, the SDK and the fake model, and the real Dispatcher's recovery."""

from __future__ import annotations

import itertools
import json
import time
from datetime import timedelta
from typing import Any

from agentcron.models import MAX_CHAIN_DEPTH
from agentcron.schedules import from_epoch

from tests.integration.test_runner_harness import FINAL, Runner
from tests.support_dispatch import Clock, new_dispatcher

pytest_plugins = ["tests.integration.test_runner_harness"]


def child_of(runner: Runner, task_id: str, *, user: str = "alice") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = runner.api.get(f"/v1/tasks/{task_id}/runs", user=user).json["items"]
    return items


def test_a_successful_run_starts_its_on_success_task_with_the_runs_output(runner: Runner) -> None:
    report = runner.create_task("Report on {{summary}} (from {{parent}})")
    digest = runner.create_task(
        "Summarise the week",
        on_success=[{"task": report["id"], "variables": {"summary": "{{run.output}}", "parent": "{{run.id}}"}}],
        on_failure=[{"task": runner.create_task("never")["id"]}],
    )
    parent = runner.pump(runner.run_now(digest["id"])["id"], until=FINAL)
    assert parent["status"] == "SUCCEEDED"
    [child_id] = parent["children"]
    child = runner.pump(child_id, until=FINAL)
    assert child["status"] == "SUCCEEDED" and child["trigger"] == "chain"
    assert (child["task_id"], child["parent_run_id"], child["chain_depth"]) == (report["id"], parent["id"], 1)
    assert child["variables"] == {"summary": parent["output"], "parent": parent["id"]}
    assert child["_links"]["parent"]["href"] == f"/v1/runs/{parent['id']}"
    assert child["prompt"] == f"Report on {parent['output']} (from {parent['id']})"


def test_a_failed_run_starts_its_on_failure_task_with_its_structured_error(runner: Runner) -> None:
    alert = runner.create_task("Alert: {{what}}")
    flaky = runner.create_task(
        "fail: 400 x1",
        policies={"max_attempts": 1},
        on_success=[{"task": runner.create_task("never")["id"]}],
        on_failure=[{"task": alert["id"], "variables": {"what": "{{run.status}} {{run.task_id}}"}}],
    )
    failed = runner.pump(runner.run_now(flaky["id"])["id"], until=FINAL)
    assert failed["status"] == "FAILED"
    [child_id] = failed["children"]
    assert runner.pump(child_id, until=FINAL)["variables"] == {"what": f"FAILED {flaky['id']}"}


def test_a_redelivered_message_starts_each_child_once(runner: Runner) -> None:
    child = runner.create_task("child")
    parent = runner.create_task("parent", on_success=[{"task": child["id"]}])
    run = runner.run_now(parent["id"])
    message = json.dumps({"run_id": run["id"], "task_id": parent["id"], "owner": "alice"})
    for _ in range(3):
        runner.send_message(message)
    runner.drain()
    assert runner.get_run(run["id"])["status"] == "SUCCEEDED"
    assert len(child_of(runner, child["id"])) == 1


def test_a_child_whose_message_was_lost_is_sent_again_by_recovery(runner: Runner) -> None:
    child = runner.create_task("child")
    parent = runner.create_task("parent", on_success=[{"task": child["id"]}])
    run = runner.run_now(parent["id"])
    runner.poll()  # the parent runs and sends its child's message...
    assert runner.get_run(run["id"])["status"] == "SUCCEEDED"
    runner.sqs.purge_queue(QueueUrl=runner.env["RUN_QUEUE_URL"])  # ...which is lost
    [queued] = child_of(runner, child["id"])
    assert queued["status"] == "QUEUED"
    later = from_epoch(int(time.time())) + timedelta(minutes=5)
    assert queued["id"] in new_dispatcher(runner.env, Clock(later)).tick().resent
    assert runner.pump(queued["id"], until=FINAL)["status"] == "SUCCEEDED"


def test_chains_stop_at_their_depth(runner: Runner) -> None:
    tasks = [runner.create_task(f"step {n}") for n in range(MAX_CHAIN_DEPTH + 2)]
    for task, following in reversed(list(itertools.pairwise(tasks))):
        response = runner.api.patch(f"/v1/tasks/{task['id']}", {"on_success": [{"task": following["id"]}]})
        assert response.status == 200, response.text
    run = runner.pump(runner.run_now(tasks[0]["id"])["id"], until=FINAL)
    for _ in range(MAX_CHAIN_DEPTH):
        [child_id] = run["children"]
        run = runner.pump(child_id, until=FINAL)
    assert run["chain_depth"] == MAX_CHAIN_DEPTH and run["children"] == []
    assert f"{MAX_CHAIN_DEPTH} links deep" in run["reason"]
    assert child_of(runner, tasks[-1]["id"]) == []


def test_a_chain_names_only_the_owners_tasks_and_never_loops(runner: Runner) -> None:
    bobs = runner.create_task("bob's", user="bob")
    refused = runner.api.post(
        "/v1/tasks",
        {"name": "x", "prompt": "p", "schedule": {"type": "manual"}, "on_success": [{"task": bobs["id"]}]},
    )
    assert refused.status == 422
    assert [e["field"] for e in refused.json["errors"]] == ["body.on_success.0.task"]

    first = runner.create_task("first")
    second = runner.create_task("second", on_success=[{"task": first["id"]}])
    loop = runner.api.patch(f"/v1/tasks/{first['id']}", {"on_failure": [{"task": second["id"]}]})
    assert loop.status == 422 and loop.json["errors"][0]["field"] == "body.on_failure"
    assert f"{first['id']} -> {second['id']} -> {first['id']}" in loop.json["errors"][0]["message"]
    itself = runner.api.patch(f"/v1/tasks/{first['id']}", {"on_success": [{"task": first["id"]}]})
    assert itself.status == 422
    assert runner.get_task(first["id"])["on_failure"] == [] and runner.get_task(first["id"])["version"] == 1
