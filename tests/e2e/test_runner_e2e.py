"""Issue #4's "done when", through a local stack started in-process with its
default services: the fake model (the real anthropic SDK talks to it over
HTTP), the dispatcher ticker and the queue poller running the real runner.
Everything is driven over the HTTP API with dev tokens; the fake model's
request log and the run queue are only looked at (and the queue fed a
duplicate) from outside.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from agentcron_local import tokens
from agentcron_local.fake_model import FakeModel
from agentcron_local.services import ModelService
from agentcron_local.stack import LocalStack, StackOptions

FINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED", "SKIPPED"})


@dataclass
class Local:
    stack: LocalStack
    model: FakeModel
    auth: dict[str, str]

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, self.stack.api_url + path, json=body, headers=self.auth, timeout=10)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.text else None

    def task(self, prompt: str, **fields: Any) -> dict[str, Any]:
        body = {"name": "e2e", "prompt": prompt, "schedule": {"type": "manual"}, **fields}
        task: dict[str, Any] = self.call("POST", "/v1/tasks", body)
        return task

    def run_now(self, task_id: str, variables: dict[str, str] | None = None) -> dict[str, Any]:
        run: dict[str, Any] = self.call("POST", f"/v1/tasks/{task_id}/runs", {"variables": variables or {}})
        return run

    def start(self, prompt: str, **fields: Any) -> dict[str, Any]:
        return self.run_now(self.task(prompt, **fields)["id"])

    def wait(self, run_id: str, until: frozenset[str] = FINAL, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run: dict[str, Any] = self.call("GET", f"/v1/runs/{run_id}")
            if run["status"] in until:
                return run
            assert time.monotonic() < deadline, f"run {run_id} still {run['status']} after {timeout}s"
            time.sleep(0.2)

    def model_requests(self, run_id: str) -> list[dict[str, Any]]:
        return [r for r in self.model.requests if (r.get("metadata") or {}).get("user_id") == run_id]


def queue_depth(sqs: Any, queue_url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    with pytest.MonkeyPatch.context() as env:
        # The fake model, whatever the developer's shell holds; and backoff in seconds, not tens.
        for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_SECRET_ARN"):
            env.delenv(name, raising=False)
        env.setenv("RETRY_BASE_SECONDS", "1")
        state: Path = tmp_path_factory.mktemp("runner-e2e") / "state"
        options = StackOptions(port=0, moto_port=0, state_dir=state, access_log=False, persist=False)
        with LocalStack(options, out=io.StringIO()) as stack:
            [model] = [s.model for s in stack.services if isinstance(s, ModelService) and s.model is not None]
            running = Local(stack, model, {"Authorization": f"Bearer {tokens.issue_token('alice')}"})
            # A warm runner, as a busy deployment has: "on time" below is about scheduling, not cold starts.
            assert running.wait(running.start("warm up")["id"])["status"] == "SUCCEEDED"
            yield running


def test_a_scheduled_task_runs_on_time_and_its_run_shows_output_and_usage(local: Local) -> None:
    due = (datetime.now(UTC) + timedelta(seconds=4)).replace(microsecond=0)
    task = local.task("Morning summary\nof the open incidents", schedule={"type": "once", "at": due.isoformat()})
    [queued] = local.call("GET", f"/v1/tasks/{task['id']}/runs")["items"]
    assert queued["status"] == "QUEUED" and datetime.fromisoformat(queued["scheduled_for"]) == due

    run = local.wait(queued["id"])

    assert run["status"] == "SUCCEEDED"
    assert run["trigger"] == "schedule"
    assert run["output"] == "Done: Morning summary"
    lateness = datetime.fromisoformat(run["started_at"]) - due
    assert timedelta(0) <= lateness <= timedelta(seconds=3), f"started {lateness} after its time"
    assert run["usage"]["input_tokens"] > 0 and run["usage"]["output_tokens"] > 0
    assert run["duration_ms"] > 0
    transcript = local.call("GET", f"/v1/runs/{run['id']}/transcript")
    assert transcript["messages"][-1]["content"][0]["text"] == "Done: Morning summary"


def test_ask_waits_for_input_and_the_reply_finishes_the_run(local: Local) -> None:
    queued = local.start("ask: Ship it on Friday?", agent={"tools": ["ask_user"]})

    waiting = local.wait(queued["id"], FINAL | {"WAITING_INPUT"})
    assert waiting["status"] == "WAITING_INPUT" and waiting["question"] == "Ship it on Friday?"
    local.call("POST", f"/v1/runs/{queued['id']}/reply", {"reply": "yes, after lunch"})
    done = local.wait(queued["id"])

    assert done["status"] == "SUCCEEDED"
    assert done["output"] == "Answer received: yes, after lunch"
    assert len(local.model_requests(queued["id"])) == 2


def test_retries_failures_and_timeouts(local: Local) -> None:
    # Started together: the poller's two workers interleave them, as concurrent Lambdas would.
    slow = local.start("sleep: 15", policies={"timeout_seconds": 10})
    flaky = local.start("flaky\nfail: 529 x2")
    broken = local.start("broken\nfail: 500 x9")

    recovered, failed, timed_out = local.wait(flaky["id"]), local.wait(broken["id"]), local.wait(slow["id"])

    assert (recovered["status"], recovered["attempt"], recovered["output"]) == ("SUCCEEDED", 3, "Done: flaky")
    assert (failed["status"], failed["attempt"]) == ("FAILED", 3)
    assert failed["error"] == {
        "type": "api_error",
        "message": "HTTP 500: Internal server error (gave up after 3 attempts)",
    }
    assert timed_out["status"] == "TIMED_OUT"
    assert timed_out["error"]["type"] == "timeout" and "(timeout 10s)" in timed_out["error"]["message"]
    assert 10_000 <= timed_out["duration_ms"] < 13_000
    assert [len(local.model_requests(r["id"])) for r in (flaky, broken, slow)] == [3, 3, 1]


def test_a_duplicate_sqs_message_executes_the_run_once(local: Local) -> None:
    queued = local.start("exactly once")
    # The same message again at once: both workers may hold one each, at the same time.
    sqs = boto3.client("sqs", endpoint_url=local.stack.moto_endpoint, region_name="us-east-1")
    body = json.dumps({"run_id": queued["id"], "task_id": queued["task_id"], "owner": "alice"})
    sqs.send_message(QueueUrl=local.stack.env["RUN_QUEUE_URL"], MessageBody=body)

    run = local.wait(queued["id"])
    deadline = time.monotonic() + 10
    while queue_depth(sqs, local.stack.env["RUN_QUEUE_URL"]) > 0:  # both messages handled and deleted
        assert time.monotonic() < deadline, "a message was left in the queue"
        time.sleep(0.2)

    assert run["status"] == "SUCCEEDED" and run["attempt"] == 1
    assert len(local.model_requests(queued["id"])) == 1


def test_a_tool_not_on_the_allow_list_is_never_executed(local: Local) -> None:
    task = local.task("{{step}}", agent={"tools": ["recall"]})

    refused = local.wait(local.run_now(task["id"], {"step": "remember: colour=blue"})["id"])
    recalled = local.wait(local.run_now(task["id"], {"step": "recall: colour"})["id"])

    assert refused["status"] == "SUCCEEDED"
    assert refused["output"] == "Tool remember is not available to this task"
    assert recalled["output"] == "Recalled colour: Nothing is stored under colour", "nothing was remembered"
