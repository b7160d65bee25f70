"""The runner end to end below HTTP: the API handler queues a run, the real run
queue delivers it, the real runner handler executes it with the real anthropic
SDK against the fake model, and the outcome is read back through the API.

See test_runner_harness.py for how the queue is driven.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from agentcron import bootstrap
from agentcron.artifacts import Transcripts
from agentcron.bootstrap.runner import root as runner_root
from agentcron.models import Run
from agentcron.store import run_key, task_key
from agentcron_local.gateway import LambdaContext

from tests.integration.test_runner_harness import EventTap, Runner
from tests.support_dispatch import moto_sqs_clock_ahead

# The harness's fixtures (runner, fake_model, event_tap).
pytest_plugins = ["tests.integration.test_runner_harness"]


def details(events: list[dict[str, Any]], run_id: str) -> list[tuple[str, dict[str, Any]]]:
    return [(e["detail-type"], e["detail"]) for e in events if e["detail"]["run_id"] == run_id]


def set_task_fields(runner: Runner, task_id: str, **values: Any) -> None:
    """Write task attributes the runner owns (running marker, counters) as another runner would."""
    names = {f"#k{i}": name for i, name in enumerate(values)}
    runner.store.table.update_item(
        Key=task_key(task_id),
        UpdateExpression="SET " + ", ".join(f"#k{i} = :v{i}" for i in range(len(values))),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":v{i}": value for i, value in enumerate(values.values())},
    )


# ---- a run and what it leaves behind -------------------------------------------------------


def test_a_run_stores_output_usage_transcript_and_an_event(runner: Runner, event_tap: EventTap) -> None:
    task = runner.create_task("Summarise the incidents for {{team}}", variables={"team": "platform"})
    queued = runner.run_now(task["id"], {"team": "sre"})

    run = runner.pump(queued["id"])

    assert run["status"] == "SUCCEEDED"
    assert run["attempt"] == 1
    # The run's variables override the task's defaults.
    assert run["prompt"] == "Summarise the incidents for sre"
    assert run["output"] == "Done: Summarise the incidents for sre"
    assert run["error"] is None and run["question"] is None
    usage = run["usage"]
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["cache_creation_input_tokens"] > 0, "the static system block is marked for caching"
    assert run["model"] == task["agent"]["model"]
    # The default model (claude-sonnet-5): $3 input, $15 output, $3.75 cache write, $0.30 cache read per million.
    micro_usd = 3 * usage["input_tokens"] + 15 * usage["output_tokens"]
    micro_usd += 3.75 * usage["cache_creation_input_tokens"] + 0.3 * usage["cache_read_input_tokens"]
    cost = run["cost_estimate"]
    assert (cost["priced_as"], cost["note"]) == ("claude-sonnet-5", None)
    assert cost["usd"] == pytest.approx(micro_usd / 1e6, abs=1e-6), "rounded to a millionth of a dollar"
    assert run["duration_ms"] > 0
    assert datetime.fromisoformat(run["finished_at"]) >= datetime.fromisoformat(run["started_at"])

    stored = runner.store.get_run("alice", run["id"])
    assert stored.transcript_key == f"transcripts/{task['id']}/{run['id']}.json"
    assert run["_links"]["transcript"]["href"] == f"/v1/runs/{run['id']}/transcript"
    body = boto3.client("s3").get_object(Bucket=runner.env["ARTIFACTS_BUCKET"], Key=stored.transcript_key)["Body"]
    transcript = json.loads(body.read())
    assert transcript["messages"][0] == {"role": "user", "content": "Summarise the incidents for sre"}
    assert transcript["messages"][-1]["content"] == [{"type": "text", "text": run["output"]}]
    assert transcript["usage"] == usage

    [(detail_type, detail)] = details(event_tap.events(), run["id"])
    assert detail_type == "Run Succeeded"
    assert detail["status"] == "SUCCEEDED" and detail["output"] == run["output"] and detail["usage"] == usage
    assert detail["task_id"] == task["id"] and detail["owner"] == "alice"

    assert runner.get_task(task["id"])["last_run"]["id"] == run["id"]
    assert runner.get_task(task["id"])["last_run"]["status"] == "SUCCEEDED"
    assert runner.queue_depth() == 0, "the message was deleted once the run was done"


def test_a_missing_template_variable_fails_at_once_without_calling_the_model(
    runner: Runner, event_tap: EventTap
) -> None:
    queued = runner.start("Report for {{team}} in {{region}}", variables={"team": "sre"})

    run = runner.pump(queued["id"])

    assert run["status"] == "FAILED"
    assert run["attempt"] == 1, "a template error is permanent: no retry"
    assert run["error"]["type"] == "template_error"
    assert "{{region}}" in run["error"]["message"] and "{{team}}" not in run["error"]["message"]
    assert runner.model_requests(run["id"]) == []
    assert runner.queue_depth() == 0
    [(detail_type, detail)] = details(event_tap.events(), run["id"])
    assert detail_type == "Run Failed" and detail["error"]["type"] == "template_error"


def test_the_system_prompt_has_the_time_in_the_tasks_zone_and_the_last_runs(runner: Runner) -> None:
    # A yearly cron far from now, so nothing is scheduled during the test; its zone is what matters.
    schedule = {"type": "cron", "expression": "0 9 1 1 *", "timezone": "Asia/Tokyo"}
    task = runner.create_task("{{step}}", schedule=schedule, description="Watches the build.")
    first = runner.pump(runner.run_now(task["id"], {"step": "first run"})["id"])
    second = runner.pump(runner.run_now(task["id"], {"step": "second run"})["id"])
    assert (first["output"], second["output"]) == ("Done: first run", "Done: second run")

    [request_1] = runner.model_requests(first["id"])
    [request_2] = runner.model_requests(second["id"])
    static, dynamic = request_2["system"]
    # The static block is the cacheable prefix: marked, and the same for every run of the task.
    assert static["cache_control"] == {"type": "ephemeral"}
    assert static == request_1["system"][0]
    assert "Watches the build." in static["text"] and "The current time" not in static["text"]
    assert "cache_control" not in dynamic
    stamp = re.search(r"The current time is (\S+) \(Asia/Tokyo\)\.", dynamic["text"])
    assert stamp is not None, dynamic["text"]
    now = datetime.fromisoformat(stamp[1])
    assert now.utcoffset() == timedelta(hours=9)
    assert abs(now - datetime.now(UTC)) < timedelta(minutes=1)
    # Memory across runs: the second run is told how the first went; the first had nothing to be told.
    assert "Summaries of this task's most recent runs" not in request_1["system"][1]["text"]
    assert "SUCCEEDED: Done: first run" in dynamic["text"]
    assert "+09:00 SUCCEEDED" in dynamic["text"], "past runs are dated in the task's zone too"


# ---- human in the loop -----------------------------------------------------------------------


def test_ask_user_waits_for_the_reply_and_resumes_the_same_conversation(runner: Runner, event_tap: EventTap) -> None:
    queued = runner.start("Deploy the release\nask: Which region?", agent={"tools": ["ask_user"]})

    waiting = runner.pump(queued["id"])

    assert waiting["status"] == "WAITING_INPUT"
    assert waiting["question"] == "Which region?"
    assert waiting["finished_at"] is None
    assert set(waiting["_links"]) >= {"reply", "cancel"}
    [(detail_type, detail)] = details(event_tap.events(), queued["id"])
    assert detail_type == "Run Waiting For Input" and detail["question"] == "Which region?"
    assert runner.queue_depth() == 0, "nothing runs while the owner thinks"

    reply = runner.api.post(f"/v1/runs/{queued['id']}/reply", {"reply": "eu-west-1"})
    assert reply.status == 202, reply.text
    done = runner.pump(queued["id"], until=frozenset({"SUCCEEDED", "FAILED"}))

    assert done["status"] == "SUCCEEDED"
    assert done["output"] == "Answer received: eu-west-1"
    assert done["question"] is None
    assert done["attempt"] == 1
    assert done["usage"]["input_tokens"] > waiting["usage"]["input_tokens"], "usage adds up across the pause"
    first, resumed = runner.model_requests(queued["id"])
    # The same conversation, continued: the question's tool_use answered by the reply.
    [ask] = [block for block in resumed["messages"][1]["content"] if block["type"] == "tool_use"]
    assert ask["name"] == "ask_user" and ask["input"] == {"question": "Which region?"}
    assert resumed["messages"][0] == first["messages"][0]
    [answer] = resumed["messages"][2]["content"]
    assert answer["type"] == "tool_result" and answer["tool_use_id"] == ask["id"]
    assert answer["content"] == "eu-west-1"
    # A conversation with history is cached up to its newest message.
    assert answer["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in first["messages"][0]
    assert done["usage"]["cache_read_input_tokens"] > 0
    [(detail_type, _)] = details(event_tap.events(), queued["id"])
    assert detail_type == "Run Succeeded"


def test_a_queued_run_that_is_cancelled_is_not_run(runner: Runner) -> None:
    queued = runner.start("never runs")
    cancelled = runner.api.post(f"/v1/runs/{queued['id']}/cancel")
    assert cancelled.status == 200, cancelled.text

    assert runner.drain() == 1, "the message is still delivered"

    run = runner.get_run(queued["id"])
    assert run["status"] == "CANCELLED" and run["reason"] == "cancelled by the owner"
    assert run["started_at"] is None and run["attempt"] == 0
    assert runner.model_requests(queued["id"]) == []
    assert runner.queue_depth() == 0


@pytest.mark.parametrize(
    ("action", "reason"),
    [("disable", "not run: the task is paused"), ("delete", "not run: the task was deleted")],
)
def test_a_scheduled_run_of_a_paused_or_deleted_task_is_cancelled(runner: Runner, action: str, reason: str) -> None:
    task = runner.create_task("never runs")
    queued = {"id": runner.scheduled(task["id"])}
    response = (
        runner.api.post(f"/v1/tasks/{task['id']}/disable", {"reason": "holiday"})
        if action == "disable"
        else runner.api.delete(f"/v1/tasks/{task['id']}")
    )
    assert response.status in (200, 204), response.text

    run = runner.pump(queued["id"])

    assert run["status"] == "CANCELLED" and run["reason"] == reason
    assert run["finished_at"] is not None and run["attempt"] == 0
    assert runner.model_requests(queued["id"]) == []


# ---- failures ------------------------------------------------------------------------------


def test_transient_model_errors_are_retried_by_the_queue_with_backoff(runner: Runner) -> None:
    queued = runner.start("flaky model\nfail: 529 x2")
    started = time.monotonic()

    run = runner.pump(queued["id"], until=frozenset({"SUCCEEDED", "FAILED"}))

    assert run["status"] == "SUCCEEDED"
    assert run["attempt"] == 3
    assert run["output"] == "Done: flaky model"
    assert run["error"] is None, "the retries' error is not the outcome"
    assert run["reason"].startswith("attempt 2 failed (overloaded_error); retrying in"), "why it took 3 attempts"
    assert len(runner.model_requests(queued["id"])) == 3
    # Two waits of at least RETRY_BASE_SECONDS each, spent in the queue (visibility timeout).
    assert time.monotonic() - started >= 2
    assert run["usage"]["output_tokens"] > 0


def test_a_run_waiting_for_its_retry_keeps_the_model_with_its_usage(runner: Runner) -> None:
    queued = runner.start("flaky model\nfail: 529 x1", agent={"model": "claude-haiku-4-5"})
    runner.poll()

    run = runner.get_run(queued["id"])
    assert (run["status"], run["attempt"]) == ("QUEUED", 1)
    assert run["model"] == "claude-haiku-4-5" and run["usage"] is not None
    assert run["cost_estimate"] == {"usd": 0.0, "priced_as": "claude-haiku-4-5", "note": None}, "the 529 used no tokens"


def test_transient_errors_end_failed_after_max_attempts(runner: Runner, event_tap: EventTap) -> None:
    queued = runner.start("broken model\nfail: 500 x9")

    run = runner.pump(queued["id"], until=frozenset({"SUCCEEDED", "FAILED"}))

    assert run["status"] == "FAILED"
    assert run["attempt"] == 3
    assert run["error"] == {
        "type": "api_error",
        "message": "HTTP 500: Internal server error (gave up after 3 attempts)",
    }
    assert run["output"] is None
    assert len(runner.model_requests(queued["id"])) == 3
    assert runner.queue_depth() == 0
    [(detail_type, detail)] = details(event_tap.events(), queued["id"])
    assert detail_type == "Run Failed" and detail["error"] == run["error"]


def test_a_permanent_model_error_fails_at_once(runner: Runner) -> None:
    queued = runner.start("bad request\nfail: 400 x1")

    run = runner.pump(queued["id"])

    assert run["status"] == "FAILED" and run["attempt"] == 1
    assert run["error"]["type"] == "invalid_request_error"
    assert run["error"]["message"].startswith("HTTP 400: ")
    assert len(runner.model_requests(queued["id"])) == 1


def test_a_run_cut_by_the_lambdas_time_left_is_timed_out(runner: Runner, event_tap: EventTap) -> None:
    queued = runner.start("slow model\nsleep: 8")
    [message] = runner.sqs.receive_message(QueueUrl=runner.env["RUN_QUEUE_URL"], WaitTimeSeconds=1)["Messages"]
    event = {"Records": [runner.poller._record(message)]}
    started = time.monotonic()

    # 17 s left in the invocation: the runner keeps 15 s to store the outcome, so the agent gets 2 s.
    result = runner.handler(event, LambdaContext(function_name="runner", timeout_seconds=17))

    assert result == {"batchItemFailures": []}
    assert time.monotonic() - started < 6, "the run stopped at its deadline, not when the model answered"
    run = runner.get_run(queued["id"])
    assert run["status"] == "TIMED_OUT"
    assert run["error"]["type"] == "timeout"
    assert "the runner's time left, 2s" in run["error"]["message"]
    [(detail_type, _)] = details(event_tap.events(), queued["id"])
    assert detail_type == "Run Failed"


def test_a_missing_api_key_fails_the_run_with_what_to_do(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    bootstrap.reset()
    queued = runner.start("no key")

    run = runner.pump(queued["id"])

    assert run["status"] == "FAILED" and run["attempt"] == 1
    assert run["error"]["type"] == "configuration_error"
    assert "ANTHROPIC_SECRET_ARN" in run["error"]["message"]
    assert runner.store.get_task_by_id(run["task_id"]).running_run_id is None  # type: ignore[union-attr]


def test_an_unexpected_error_mid_run_fails_it_instead_of_leaving_it_running(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    class UnwritableTranscripts(Transcripts):
        def save(self, *args: Any, **kwargs: Any) -> str:
            raise RuntimeError("disk on fire")

    runner_root.override(transcripts=UnwritableTranscripts(runner.env["ARTIFACTS_BUCKET"]))
    queued = runner.start("unlucky")

    run = runner.pump(queued["id"])

    assert run["status"] == "FAILED" and run["attempt"] == 1
    assert run["error"] == {"type": "internal_error", "message": "RuntimeError: disk on fire"}
    assert runner.store.get_task_by_id(run["task_id"]).running_run_id is None  # type: ignore[union-attr]
    assert runner.queue_depth() == 0


def test_consecutive_failures_auto_pause_the_task(runner: Runner, event_tap: EventTap) -> None:
    task = runner.create_task("{{step}}", policies={"auto_pause_after_failures": 2})
    runs = []
    for step in ("fail: 401 x1", "works", "fail: 401 x1", "fail: 401 x1"):
        assert runner.get_task(task["id"])["enabled"], "paused too early"
        runs.append(runner.pump(runner.run_now(task["id"], {"step": step})["id"]))

    assert [run["status"] for run in runs] == ["FAILED", "SUCCEEDED", "FAILED", "FAILED"], "a success resets the streak"
    assert runs[0]["error"]["type"] == "authentication_error"
    paused = runner.get_task(task["id"])
    assert paused["enabled"] is False
    assert paused["paused_reason"] == f"auto-paused after 2 consecutive failed runs (last: {runs[-1]['id']})"
    assert paused["next_run_at"] is None
    assert "enable" in paused["_links"] and "disable" not in paused["_links"], "links follow the state"
    # Its owner hears of it where they listen for runs, once, after the failure that caused it.
    events = [(e["detail-type"], e["detail"]) for e in event_tap.events()]
    assert [t for t, _ in events].count("Task Auto-Paused") == 1
    assert events[-1] == (
        "Task Auto-Paused",
        {
            "task_id": task["id"],
            "owner": "alice",
            "name": task["name"],
            "reason": paused["paused_reason"],
            "consecutive_failures": 2,
            "last_run_id": runs[-1]["id"],
            "last_error": runs[-1]["error"],
        },
    )
    assert events[-2][0] == "Run Failed" and events[-2][1]["run_id"] == runs[-1]["id"]

    # Resuming clears the streak: one more failure does not pause it again.
    resumed = runner.api.post(f"/v1/tasks/{task['id']}/enable", {})
    assert resumed.status == 200 and resumed.json["enabled"] and resumed.json["paused_reason"] is None
    again = runner.pump(runner.run_now(task["id"], {"step": "fail: 401 x1"})["id"])
    assert again["status"] == "FAILED"
    assert runner.get_task(task["id"])["enabled"] is True
    assert "Task Auto-Paused" not in [e["detail-type"] for e in event_tap.events()]


# ---- duplicates and overlap ----------------------------------------------------------------


def test_a_duplicate_message_executes_the_run_once(runner: Runner) -> None:
    queued = runner.start("exactly once")
    duplicate = json.dumps({"run_id": queued["id"], "task_id": queued["task_id"], "owner": "alice"})
    runner.send_message(duplicate)

    assert runner.drain() == 2
    runner.send_message(duplicate)  # and a late one, after the run ended
    assert runner.drain() == 1

    run = runner.get_run(queued["id"])
    assert run["status"] == "SUCCEEDED" and run["attempt"] == 1
    assert len(runner.model_requests(queued["id"])) == 1
    assert runner.queue_depth() == 0


def test_overlap_skip_skips_a_run_while_another_holds_the_task(runner: Runner) -> None:
    task = runner.create_task("one at a time")
    holder = f"run_{task['id'].removeprefix('task_')}_0000000001"
    until = int(time.time()) + 300
    set_task_fields(runner, task["id"], running_run_id=holder, running_until=until)

    run = runner.pump(runner.scheduled(task["id"]))

    assert run["status"] == "SKIPPED"
    assert run["reason"] == f"skipped: run {holder} was still running (overlap: skip)"
    assert runner.model_requests(run["id"]) == []
    # The holder's marker is left alone.
    assert runner.store.get_task_by_id(task["id"]).running_run_id == holder  # type: ignore[union-attr]

    # A marker whose lease ran out holds nothing (its runner died): the next run goes ahead.
    set_task_fields(runner, task["id"], running_until=int(time.time()) - 1)
    assert runner.pump(runner.scheduled(task["id"]))["status"] == "SUCCEEDED"


def test_overlap_allow_runs_beside_another_run(runner: Runner) -> None:
    task = runner.create_task("in parallel", policies={"overlap": "allow"})
    set_task_fields(runner, task["id"], running_run_id="run_other", running_until=int(time.time()) + 300)

    run = runner.pump(runner.run_now(task["id"])["id"])

    assert run["status"] == "SUCCEEDED" and run["output"] == "Done: in parallel"


def test_overlap_buffer_one_holds_one_run_and_starts_it_when_the_holder_ends(runner: Runner) -> None:
    task = runner.create_task("{{step}}", policies={"overlap": "buffer_one"})
    runner.poller.workers = 2
    runner.poller.start()
    try:
        holder = runner.run_now(task["id"], {"step": "sleep: 2"})
        runner_deadline = time.monotonic() + 10
        while runner.get_run(holder["id"])["status"] != "RUNNING":
            assert time.monotonic() < runner_deadline
            time.sleep(0.1)
        buffered = {"id": runner.scheduled(task["id"], {"step": "buffered"})}
        while runner.store.get_task_by_id(task["id"]).buffered_run_id != buffered["id"]:  # type: ignore[union-attr]
            assert time.monotonic() < runner_deadline
            time.sleep(0.1)
        third = {"id": runner.scheduled(task["id"], {"step": "third"})}
        wait_for = frozenset({"SUCCEEDED", "SKIPPED", "FAILED"})
        skipped = runner.wait(third["id"], wait_for)
        first = runner.wait(holder["id"], wait_for)
        second = runner.wait(buffered["id"], wait_for)
    finally:
        runner.poller.stop()

    assert skipped["status"] == "SKIPPED"
    assert skipped["reason"] == (
        f"skipped: run {holder['id']} is running and another run is already waiting (overlap: buffer_one)"
    )
    assert first["status"] == "SUCCEEDED" and second["status"] == "SUCCEEDED"
    assert second["output"] == "Done: buffered"
    first_end, second_start = datetime.fromisoformat(first["finished_at"]), datetime.fromisoformat(second["started_at"])
    assert second_start >= first_end, "never beside the holder"
    # Woken by the holder's end, not by its message reappearing at the holder's lease (~6 minutes).
    assert second_start - first_end <= timedelta(seconds=3)
    assert runner.store.get_task_by_id(task["id"]).buffered_run_id is None  # type: ignore[union-attr]


@pytest.mark.parametrize("how", ["cancelled by the owner", "task paused"])
def test_a_buffered_run_that_never_starts_gives_up_its_place(runner: Runner, how: str) -> None:
    task = runner.create_task("{{step}}", policies={"overlap": "buffer_one"})
    # Another run holds the task (as a runner mid-run would) for the next ten minutes.
    set_task_fields(runner, task["id"], running_run_id="run_holder", running_until=int(time.time()) + 600)
    buffered = {"id": runner.scheduled(task["id"], {"step": "buffered"})}
    runner.poll()
    assert runner.store.get_task_by_id(task["id"]).buffered_run_id == buffered["id"]  # type: ignore[union-attr]

    if how == "cancelled by the owner":
        assert runner.api.post(f"/v1/runs/{buffered['id']}/cancel", {}).status == 200
    else:
        assert runner.api.post(f"/v1/tasks/{task['id']}/disable", {}).status == 200
        with moto_sqs_clock_ahead(601):  # its message comes back at the holder's lease
            assert runner.pump(buffered["id"])["status"] == "CANCELLED"
        assert runner.api.post(f"/v1/tasks/{task['id']}/enable", {}).status == 200
    assert runner.store.get_task_by_id(task["id"]).buffered_run_id is None  # type: ignore[union-attr]

    # The next overlapping run is buffered, not skipped as if a run were still waiting.
    later = {"id": runner.scheduled(task["id"], {"step": "later"})}
    runner.poll()
    assert runner.get_run(later["id"])["status"] == "QUEUED"
    assert runner.store.get_task_by_id(task["id"]).buffered_run_id == later["id"]  # type: ignore[union-attr]


# ---- tools -----------------------------------------------------------------------------------


def test_a_tool_not_on_the_allow_list_is_never_executed(runner: Runner) -> None:
    task = runner.create_task("remember: colour=blue", agent={"tools": ["recall"]})

    run = runner.pump(runner.run_now(task["id"])["id"])

    assert run["status"] == "SUCCEEDED"
    assert run["output"] == "Tool remember is not available to this task"
    [request] = runner.model_requests(run["id"])
    assert [tool["name"] for tool in request["tools"]] == ["recall"]
    assert runner.store.recall(task["id"], "colour") is None, "no memory item was written"
    assert "ask_user" not in request["system"][0]["text"], "the prompt does not invite a refused call"


def test_memory_is_kept_across_runs_of_the_same_task(runner: Runner) -> None:
    tools = {"tools": ["remember", "recall"]}
    task = runner.create_task("{{step}}", agent=tools)
    other = runner.create_task("recall: colour", agent=tools)

    first = runner.pump(runner.run_now(task["id"], {"step": "remember: colour=blue"})["id"])
    second = runner.pump(runner.run_now(task["id"], {"step": "recall: colour"})["id"])
    elsewhere = runner.pump(runner.run_now(other["id"])["id"])

    assert first["output"] == "Remembered colour=blue: Stored colour=blue"
    assert second["output"] == "Recalled colour: colour=blue"
    assert elsewhere["output"] == "Recalled colour: Nothing is stored under colour", "memory is per task"
    assert runner.store.recall(task["id"], "colour") == "blue"


def test_schedule_followup_creates_a_bounded_one_time_task_for_the_same_owner(runner: Runner) -> None:
    task = runner.create_task(
        "{{step}}", agent={"tools": ["schedule_followup", "recall"]}, policies={"timeout_seconds": 120}
    )
    before = datetime.now(UTC).replace(microsecond=0)

    run = runner.pump(runner.run_now(task["id"], {"step": "followup: 120 check the deploy again"})["id"])

    match = re.fullmatch(r"Follow-up scheduled: Scheduled follow-up task (task_\w+) for (\S+)", run["output"])
    assert match is not None, run["output"]
    followup = runner.get_task(match[1])
    at = datetime.fromisoformat(followup["schedule"]["at"])
    assert before + timedelta(seconds=120) <= at <= datetime.now(UTC) + timedelta(seconds=120)
    assert followup["schedule"]["type"] == "once"
    assert followup["prompt"] == "check the deploy again"
    assert followup["tags"] == ["followup"]
    assert followup["enabled"] is True
    assert followup["agent"]["tools"] == ["recall"], "a follow-up cannot schedule follow-ups of its own"
    assert followup["policies"]["timeout_seconds"] == 120
    # It is alice's, and only alice's.
    assert runner.api.get(f"/v1/tasks/{match[1]}", user="bob").status == 404
    assert runner.api.get("/v1/tasks", user="bob").json["items"] == []
    # Claimed already (due within the tick), so it starts on time.
    [followup_run] = runner.api.get(f"/v1/tasks/{match[1]}/runs").json["items"]
    assert followup_run["status"] == "QUEUED"

    # Bounded: out-of-range delays are refused, and a task has a fixed number of follow-ups.
    too_soon = runner.pump(runner.run_now(task["id"], {"step": "followup: 5 right now"})["id"])
    assert too_soon["output"] == "schedule_followup failed: delay_seconds must be between 60 and 604800"
    set_task_fields(runner, task["id"], followups_created=10)
    used_up = runner.pump(runner.run_now(task["id"], {"step": "followup: 300 once more"})["id"])
    assert used_up["output"] == "schedule_followup failed: this task has used all its 10 follow-ups"
    assert len(runner.api.get("/v1/tasks").json["items"]) == 2


def test_a_finished_run_leaves_the_recovery_index(runner: Runner) -> None:
    queued = runner.start("round trip")
    runner.pump(queued["id"])
    item = runner.store.table.get_item(Key=run_key(queued["task_id"], queued["id"]))["Item"]
    assert Run.model_validate(item).status == "SUCCEEDED"
    assert "active_until" not in item and "active_shard" not in item, "a finished run leaves the recovery index"
