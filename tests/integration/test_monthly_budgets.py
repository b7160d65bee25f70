"""Monthly budgets (issue 16): a task's `policies.monthly_budget_usd` and the operator's
account cap, end to end through the real API and runner handlers, the SDK, the fake
model's `usage:` directive, the event bus and, for the new month, the real Dispatcher.

Each answer below costs $0.45 at Sonnet's list prices (100k input at $3/M, 10k output
at $15/M)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from agentcron import bootstrap
from agentcron.monthly_budgets import month_of, next_month_start
from agentcron.schedules import to_epoch

from tests.integration.test_runner_harness import FINAL, EventTap, Runner
from tests.support_dispatch import Clock, new_dispatcher

pytest_plugins = ["tests.integration.test_runner_harness"]

ONE_ANSWER = "usage: 100000 10000"
THREE_STEPS = "usage: 100000 10000\nremember: a=1\nremember: b=2\nremember: c=3"
SONNET = {"model": "claude-sonnet-5", "tools": ["remember"]}


def run_once(runner: Runner, task_id: str, *, user: str = "alice") -> dict[str, Any]:
    return runner.pump(runner.run_now(task_id, user=user)["id"], until=FINAL, user=user)


def this_month(runner: Runner, task_id: str) -> dict[str, Any]:
    response = runner.api.get(f"/v1/tasks/{task_id}/stats")
    assert response.status == 200, response.text
    month: dict[str, Any] = response.json["this_month"]
    return month


def history_actions(runner: Runner, task_id: str) -> list[str]:
    response = runner.api.get(f"/v1/tasks/{task_id}/history")
    assert response.status == 200, response.text
    return [entry["action"] for entry in response.json["items"]]


def budget_events(tap: EventTap, detail_type: str) -> list[dict[str, Any]]:
    return [event["detail"] for event in tap.events() if event["detail-type"] == detail_type]


def test_the_run_that_spends_the_month_stops_mid_loop_and_pauses_the_task(runner: Runner, event_tap: EventTap) -> None:
    task = runner.create_task(THREE_STEPS, agent=SONNET, policies={"monthly_budget_usd": 1})
    done = run_once(runner, task["id"])
    # $0.45, $0.90, then a third answer while $0.10 was left: the fourth request is never sent.
    assert done["status"] == "FAILED" and done["error"]["type"] == "budget_exceeded", done
    assert "of the $1 left of the task's monthly budget ($1 for" in done["error"]["message"]
    assert len(runner.model_requests(done["id"])) == 3

    paused = runner.get_task(task["id"])
    resumes = next_month_start(datetime.now(UTC))
    assert paused["enabled"] is False and "monthly budget" in paused["paused_reason"]
    assert paused["budget_paused_until"] == resumes.isoformat().replace("+00:00", "Z")
    assert paused["next_run_at"] is None, "the resume time is not shown as a run"
    month = this_month(runner, task["id"])
    assert month["month"] == month_of(datetime.now(UTC))
    assert (month["spent_usd"], month["left_usd"], month["runs_priced"]) == (1.35, 0.0, 1)
    assert history_actions(runner, task["id"])[0] == "budget_paused"
    [event] = budget_events(event_tap, "Task Budget Paused")
    assert event["task_id"] == task["id"] and event["spent_usd"] == 1.35 and event["budget_usd"] == 1.0

    # Resuming while the month is spent would only skip the next run: refused, saying what to do.
    refused = runner.api.post(f"/v1/tasks/{task['id']}/enable", {})
    assert refused.status == 409 and "raise policies.monthly_budget_usd" in refused.json["detail"]
    # The owner's own run on the paused task is skipped too, and costs nothing.
    skipped = run_once(runner, task["id"])
    assert skipped["status"] == "SKIPPED" and "monthly budget" in skipped["reason"]
    assert runner.model_requests(skipped["id"]) == []


def test_raising_the_budget_resumes_the_task_in_the_same_edit(runner: Runner) -> None:
    task = runner.create_task(ONE_ANSWER, agent=SONNET, policies={"monthly_budget_usd": 0.4})
    assert run_once(runner, task["id"])["status"] == "SUCCEEDED"  # $0.45 of $0.40: the month is spent
    assert runner.get_task(task["id"])["enabled"] is False

    policies = {**runner.get_task(task["id"])["policies"], "monthly_budget_usd": 2}
    response = runner.api.patch(f"/v1/tasks/{task['id']}", {"policies": policies})
    assert response.status == 200, response.text
    assert response.json["enabled"] is True and response.json["paused_reason"] is None
    assert response.json["budget_paused_until"] is None
    [edit, *_] = runner.api.get(f"/v1/tasks/{task['id']}/history").json["items"]
    assert edit["action"] == "updated"
    assert {c["field"]: (c["before"], c["after"]) for c in edit["changes"]}["enabled"] == (False, True)
    again = run_once(runner, task["id"])
    assert again["status"] == "SUCCEEDED"
    assert this_month(runner, task["id"])["spent_usd"] == 0.9

    # A raise that still leaves the month spent does not resume it.
    assert run_once(runner, task["id"])["status"] == "SUCCEEDED"  # $1.35
    assert run_once(runner, task["id"])["status"] == "SUCCEEDED"  # $1.80
    assert run_once(runner, task["id"])["status"] == "SUCCEEDED"  # $2.25: paused
    policies["monthly_budget_usd"] = 2.2
    assert runner.api.patch(f"/v1/tasks/{task['id']}", {"policies": policies}).json["enabled"] is False


def test_the_new_month_resumes_the_task_at_the_dispatchers_first_tick(runner: Runner) -> None:
    task = runner.create_task(
        ONE_ANSWER,
        agent=SONNET,
        policies={"monthly_budget_usd": 0.1},
        schedule={"type": "cron", "expression": "0 9 * * *"},
    )
    assert run_once(runner, task["id"])["status"] == "SUCCEEDED"
    until = runner.get_task(task["id"])["budget_paused_until"]
    assert until is not None

    start = next_month_start(datetime.now(UTC))
    early = new_dispatcher(runner.env, Clock(start - timedelta(minutes=10)))
    early.tick()
    assert runner.get_task(task["id"])["enabled"] is False, "not before the month turns"

    clock = Clock(start + timedelta(seconds=30))
    new_dispatcher(runner.env, clock).tick()
    resumed = runner.get_task(task["id"])
    assert resumed["enabled"] is True and resumed["paused_reason"] is None
    assert resumed["next_run_at"] == (start + timedelta(hours=9)).isoformat().replace("+00:00", "Z")
    entry = runner.api.get(f"/v1/tasks/{task['id']}/history").json["items"][0]
    assert (entry["action"], entry["actor"], entry["via"]) == ("enabled", "agentcron", "runner")
    assert month_of(start) in entry["reason"]
    # A second dispatcher at the same moment finds nothing to resume (the write is conditional).
    new_dispatcher(runner.env, clock, name="other").tick()
    actions = history_actions(runner, task["id"])
    assert actions.count("enabled") == 1


def test_an_unpriced_model_counts_as_unknown_never_as_free(runner: Runner) -> None:
    refused = runner.create_task("hello", agent={"model": "claude-next-preview"}, policies={"monthly_budget_usd": 5})
    done = run_once(runner, refused["id"])
    assert done["status"] == "FAILED" and done["error"]["type"] == "budget_unpriced"
    assert "monthly budget" in done["error"]["message"] and runner.model_requests(done["id"]) == []

    allowed = runner.create_task(
        "hello",
        agent={"model": "claude-next-preview"},
        policies={"monthly_budget_usd": 5, "unpriced_model": "allow"},
    )
    assert run_once(runner, allowed["id"])["status"] == "SUCCEEDED"
    month = this_month(runner, allowed["id"])
    assert (month["spent_usd"], month["runs_priced"], month["runs_unpriced"]) == (0.0, 0, 1)


def test_a_duplicate_message_never_counts_a_run_twice(runner: Runner) -> None:
    task = runner.create_task(ONE_ANSWER, agent=SONNET, policies={"monthly_budget_usd": 10})
    run = runner.run_now(task["id"])
    message = f'{{"run_id": "{run["id"]}", "task_id": "{task["id"]}", "owner": "alice"}}'
    runner.send_message(message)
    runner.send_message(message)
    runner.drain()
    assert runner.get_run(run["id"])["status"] == "SUCCEEDED"
    month = this_month(runner, task["id"])
    assert (month["spent_usd"], month["runs_priced"]) == (0.45, 1)


@pytest.fixture
def account_cap(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> str:
    """The operator's cap of $1 per owner and month; a fresh owner (the counter is theirs)."""
    monkeypatch.setenv("ACCOUNT_MONTHLY_BUDGET_USD", "1")
    bootstrap.reset()  # the runner reads its settings again, as a new container would
    return f"capped-{uuid.uuid4().hex[:8]}"


def test_the_account_cap_stops_runs_of_every_task_and_pauses_none(
    runner: Runner, event_tap: EventTap, account_cap: str
) -> None:
    owner = account_cap
    first = runner.create_task(THREE_STEPS, agent=SONNET, user=owner)
    other = runner.create_task(ONE_ANSWER, agent=SONNET, user=owner)
    done = run_once(runner, first["id"], user=owner)
    assert done["status"] == "FAILED" and done["error"]["type"] == "budget_exceeded"
    assert "your account's monthly budget ($1 for" in done["error"]["message"]
    [event] = budget_events(event_tap, "Account Budget Reached")
    assert event["owner"] == owner and event["spent_usd"] == 1.35 and event["budget_usd"] == 1.0

    skipped = run_once(runner, other["id"], user=owner)
    assert skipped["status"] == "SKIPPED" and "your account's monthly budget" in skipped["reason"]
    assert runner.get_task(other["id"], user=owner)["enabled"] is True, "the operator's cap pauses no task"
    assert budget_events(event_tap, "Account Budget Reached") == [], "said once"

    # Another owner is not held to this one's month.
    assert run_once(runner, runner.create_task(ONE_ANSWER, agent=SONNET)["id"])["status"] == "SUCCEEDED"


def test_the_account_cap_refuses_unpriced_models_whatever_the_task_says(runner: Runner, account_cap: str) -> None:
    task = runner.create_task(
        "hello", agent={"model": "claude-next-preview"}, policies={"unpriced_model": "allow"}, user=account_cap
    )
    done = run_once(runner, task["id"], user=account_cap)
    assert done["status"] == "FAILED" and done["error"]["type"] == "budget_unpriced"
    assert "ask the operator" in done["error"]["message"]


def test_the_month_counter_expires_with_the_table_ttl(runner: Runner) -> None:
    task = runner.create_task(ONE_ANSWER, agent=SONNET, policies={"monthly_budget_usd": 10})
    run_once(runner, task["id"])
    month = month_of(datetime.now(UTC))
    item = runner.store.table.get_item(Key={"PK": f"TASK#{task['id']}", "SK": f"SPEND#{month}"})["Item"]
    assert int(item["expires_at"]) > to_epoch(datetime.now(UTC) + timedelta(days=365))
