"""notify.when (issue 16): which runs notify their owner, recorded on the run and carried
by a `Run Notified` event, through the real runner, SDK, fake model and event bus."""

from __future__ import annotations

from typing import Any

from tests.integration.test_runner_harness import FINAL, EventTap, Runner

pytest_plugins = ["tests.integration.test_runner_harness"]


def run_once(runner: Runner, task_id: str, **variables: str) -> dict[str, Any]:
    return runner.pump(runner.run_now(task_id, variables)["id"], until=FINAL)


def notified(tap: EventTap) -> list[dict[str, Any]]:
    return [event["detail"] for event in tap.events() if event["detail-type"] == "Run Notified"]


def test_on_change_notifies_only_when_the_result_differs(runner: Runner, event_tap: EventTap) -> None:
    task = runner.create_task("Price is {{price}}", variables={"price": "300"}, notify={"when": "on_change"})
    first, second = run_once(runner, task["id"]), run_once(runner, task["id"])
    third = run_once(runner, task["id"], price="289")
    assert (first["notified"], first["notify_reason"]) == (True, "the task's first result")
    assert second["notified"] is False and first["id"] in second["notify_reason"]
    assert third["notified"] is True and "differs" in third["notify_reason"]
    assert [d["run_id"] for d in notified(event_tap)] == [first["id"], third["id"]]


def test_agent_decides_notifies_with_the_agents_message_only_when_it_calls_notify_user(
    runner: Runner, event_tap: EventTap
) -> None:
    prompt = "Check the price\n{{call}}"
    call = 'tool: notify_user {"message": "The price dropped to $289", "importance": "high"}'
    task = runner.create_task(prompt, variables={"call": ""}, notify={"when": "agent_decides"})
    quiet = run_once(runner, task["id"])
    loud = run_once(runner, task["id"], call=call)
    assert quiet["status"] == "SUCCEEDED" and quiet["notified"] is False
    assert loud["notified"] is True and loud["notify_message"] == "[high] The price dropped to $289"
    [event] = notified(event_tap)
    assert event["run_id"] == loud["id"] and event["message"] == "[high] The price dropped to $289"
    # The tool is the runner's own: offered only under agent_decides.
    [request] = runner.model_requests(quiet["id"])
    assert "notify_user" in [tool["name"] for tool in request["tools"]]


def test_on_failure_notifies_failed_runs_only(runner: Runner, event_tap: EventTap) -> None:
    task = runner.create_task("{{mode}}", variables={"mode": "all good"}, notify={"when": "on_failure"})
    ok = run_once(runner, task["id"])
    failed = run_once(runner, task["id"], mode="fail: 400 x1")
    assert ok["notified"] is False and failed["status"] == "FAILED" and failed["notified"] is True
    assert [d["run_id"] for d in notified(event_tap)] == [failed["id"]]


def test_always_is_todays_behaviour_and_says_so(runner: Runner) -> None:
    task = runner.create_task("hello")
    done = run_once(runner, task["id"])
    assert done["notified"] is True and done["notify_reason"] == "notify.when is always"
    assert runner.get_task(task["id"])["notify"]["when"] == "always"
