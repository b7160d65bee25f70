"""A run keeps every attempt, and counts its messages and tool calls.

Through the real runner, queue and API against the fake model (real anthropic
SDK over HTTP); see test_runner_harness.py.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from agentcron.models import RunStatus
from agentcron.queue import RunQueue
from agentcron.schedules import from_epoch

from tests.integration.test_runner_harness import Runner
from tests.support_dispatch import Clock, new_dispatcher

pytest_plugins = ["tests.integration.test_runner_harness"]

NO_TOKENS = {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


def transcript_length(runner: Runner, run_id: str) -> int:
    response = runner.api.get(f"/v1/runs/{run_id}/transcript")
    assert response.status == 200, response.text
    return len(response.json["messages"])


def assert_timed_in_order(attempts: list[dict[str, Any]]) -> None:
    previous_end = None
    for attempt in attempts:
        started, finished = (
            datetime.fromisoformat(attempt["started_at"]),
            datetime.fromisoformat(attempt["finished_at"]),
        )
        assert started <= finished and attempt["duration_ms"] >= 0, attempt
        if previous_end is not None:
            assert started >= previous_end, "attempts never overlap"
        previous_end = finished


def test_a_retried_run_keeps_every_attempt_with_its_error_timing_and_usage(runner: Runner) -> None:
    queued = runner.start("flaky model\nfail: 500 x2")

    run = runner.pump(queued["id"], until=frozenset({"SUCCEEDED", "FAILED"}))

    assert run["status"] == "SUCCEEDED" and run["attempt"] == 3
    failed = {"type": "api_error", "message": "HTTP 500: Internal server error"}
    assert [(a["attempt"], a["status"], a["error"]) for a in run["attempts"]] == [
        (1, "FAILED", failed),
        (2, "FAILED", failed),
        (3, "SUCCEEDED", None),
    ]
    assert_timed_in_order(run["attempts"])
    assert run["attempts"][-1]["started_at"] == run["started_at"]
    assert run["attempts"][-1]["finished_at"] == run["finished_at"]
    # Each attempt's own tokens: the 500s used none, the last one all of the run's.
    assert [a["usage"] for a in run["attempts"][:2]] == [NO_TOKENS, NO_TOKENS]
    assert run["attempts"][-1]["usage"] == run["usage"] and run["usage"]["output_tokens"] > 0
    # Only the attempt that got an answer exchanged messages: the prompt and the answer.
    assert (run["total_messages"], run["total_tool_calls"]) == (2, 0)
    assert transcript_length(runner, run["id"]) == 2


def test_a_run_that_gives_up_keeps_each_failed_attempt(runner: Runner) -> None:
    queued = runner.start("broken model\nfail: 429 x1\nfail: 529 x9")

    run = runner.pump(queued["id"], until=frozenset({"SUCCEEDED", "FAILED"}))

    assert run["status"] == "FAILED"
    assert [(a["attempt"], a["status"], a["error"]["type"]) for a in run["attempts"]] == [
        (1, "FAILED", "rate_limit_error"),
        (2, "FAILED", "overloaded_error"),
        (3, "FAILED", "overloaded_error"),
    ]
    assert run["attempts"][-1]["error"] == run["error"], "the last attempt's error is the run's"
    assert run["attempts"][-1]["error"]["message"].endswith("(gave up after 3 attempts)")
    assert_timed_in_order(run["attempts"])
    assert (run["total_messages"], run["total_tool_calls"]) == (0, 0), "it never reached the model"


def test_tool_calls_and_messages_are_counted_over_a_conversation_resumed_by_a_reply(runner: Runner) -> None:
    queued = runner.start(
        "Deploy\nremember: region=asked\nask: Which region?", agent={"tools": ["ask_user", "remember"]}
    )

    waiting = runner.pump(queued["id"])

    assert waiting["status"] == "WAITING_INPUT"
    # prompt, remember call, its result, ask call: 4 messages, 2 tool calls.
    assert (waiting["total_messages"], waiting["total_tool_calls"]) == (4, 2)
    [asked] = waiting["attempts"]
    assert (asked["attempt"], asked["status"], asked["error"]) == (1, "WAITING_INPUT", None)
    assert asked["usage"] == waiting["usage"]

    assert runner.api.post(f"/v1/runs/{queued['id']}/reply", {"reply": "eu-west-1"}).status == 202
    done = runner.pump(queued["id"], until=frozenset({"SUCCEEDED", "FAILED"}))

    assert done["status"] == "SUCCEEDED"
    # The reply (a tool-result turn) and the answer: 2 more messages, no more calls.
    assert (done["total_messages"], done["total_tool_calls"]) == (6, 2)
    assert done["total_messages"] == transcript_length(runner, done["id"]), "the conversation as kept"
    assert [(a["attempt"], a["status"]) for a in done["attempts"]] == [(1, "WAITING_INPUT"), (1, "SUCCEEDED")]
    assert_timed_in_order(done["attempts"])
    resumed_usage = {k: done["usage"][k] - waiting["usage"][k] for k in NO_TOKENS}
    assert done["attempts"][1]["usage"] == resumed_usage, "the resumed attempt's own tokens"


def test_a_run_that_fails_before_the_model_keeps_its_one_attempt_and_counts_nothing(runner: Runner) -> None:
    queued = runner.start("needs {{missing}}")

    run = runner.pump(queued["id"])

    assert run["status"] == "FAILED"
    [only] = run["attempts"]
    assert (only["attempt"], only["status"], only["error"]["type"]) == (1, "FAILED", "template_error")
    assert only["usage"] == NO_TOKENS
    assert (run["total_messages"], run["total_tool_calls"]) == (0, 0)


def test_a_timed_out_attempt_is_kept_as_timed_out(runner: Runner) -> None:
    queued = runner.start("slow\nsleep: 30", policies={"timeout_seconds": 10})

    run = runner.pump(queued["id"], timeout=40)

    assert run["status"] == "TIMED_OUT"
    [only] = run["attempts"]
    assert (only["status"], only["error"]) == ("TIMED_OUT", run["error"])
    assert only["duration_ms"] >= 9_000


def test_an_attempt_whose_runner_died_is_kept_as_timed_out_and_the_retry_after_it(runner: Runner) -> None:
    queued = runner.start("survives")
    started = int(time.time()) - 400
    # Attempt 1 started and its runner died: RUNNING, its lease run out.
    runner.store.transition_run(
        "alice",
        queued["id"],
        from_statuses={RunStatus.QUEUED},
        to_status=RunStatus.RUNNING,
        fields={"attempt": 1, "started_at": from_epoch(started).isoformat()},
        active_until=started + 360,
    )
    runner.poll()  # the first message finds the run RUNNING and is dropped
    dispatcher = new_dispatcher(
        runner.env, Clock(datetime.now(UTC).replace(microsecond=0)), queue=RunQueue(runner.env["RUN_QUEUE_URL"])
    )
    assert dispatcher.tick().resent == [queued["id"]]

    run = runner.pump(queued["id"])

    assert run["status"] == "SUCCEEDED" and run["attempt"] == 2
    lost, retried = run["attempts"]
    assert (lost["attempt"], lost["status"], lost["usage"]) == (1, "TIMED_OUT", None), "its tokens are not known"
    assert lost["error"] == {"type": "lease_expired", "message": "the runner stopped responding on attempt 1 of 3"}
    assert lost["started_at"] == from_epoch(started).isoformat().replace("+00:00", "Z")
    assert (retried["attempt"], retried["status"]) == (2, "SUCCEEDED")
    assert_timed_in_order(run["attempts"])
