"""What the runner tests share (no tests here): the real runner handler fed by
the real run queue, the real API handler, the fake model over HTTP through
the real anthropic SDK, all against the moto server.

A run is driven as Lambda's SQS event source mapping would drive it:
``Runner.pump`` receives from the run queue and invokes
``functions/runner/app.py`` with the SQS batch event (QueuePoller.poll_once),
settling the messages by the handler's batchItemFailures. A retried run's
message reappears when the runner's ChangeMessageVisibility says so, so
backoff is real (RETRY_BASE_SECONDS=1 keeps it short).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from agentcron import bootstrap
from agentcron.ids import scheduled_run_id
from agentcron.models import Run, RunStatus, Trigger
from agentcron.queue import RunMessage
from agentcron.schedules import from_epoch
from agentcron.store import Store
from agentcron_local.fake_model import FakeModel
from agentcron_local.gateway import Handler, lambda_context, load_function_handler
from agentcron_local.services import QueuePoller

from tests.integration.conftest import ApiClient

FINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED", "SKIPPED"})
SETTLED = FINAL | {"WAITING_INPUT"}


@pytest.fixture(scope="session")
def fake_model() -> Iterator[FakeModel]:
    with FakeModel() as model:
        yield model


@dataclass
class Runner:
    api: ApiClient
    store: Store
    env: dict[str, str]
    fake: FakeModel
    handler: Handler
    poller: QueuePoller
    sqs: Any
    last_due: int = 0

    # ---- through the API (as alice unless told) ----------------------------

    def create_task(self, prompt: str, *, user: str = "alice", **fields: Any) -> dict[str, Any]:
        body = {"name": "runner test", "prompt": prompt, "schedule": {"type": "manual"}, **fields}
        response = self.api.post("/v1/tasks", body, user=user)
        assert response.status == 201, response.text
        task: dict[str, Any] = response.json
        return task

    def run_now(self, task_id: str, variables: dict[str, str] | None = None, *, user: str = "alice") -> dict[str, Any]:
        response = self.api.post(f"/v1/tasks/{task_id}/runs", {"variables": variables or {}}, user=user)
        assert response.status == 202, response.text
        run: dict[str, Any] = response.json
        assert run["status"] == "QUEUED"
        return run

    def start(self, prompt: str, *, variables: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
        """A manual task with this prompt, and one run of it queued."""
        return self.run_now(self.create_task(prompt, **fields)["id"], variables)

    def scheduled(self, task_id: str, variables: dict[str, str] | None = None, *, user: str = "alice") -> str:
        """A run of the task's schedule, claimed and sent as the dispatcher does
        (each at its own second: the id is the occurrence's); returns its id."""
        due = max(int(time.time()), self.last_due + 1)
        self.last_due = due
        run = Run(
            id=scheduled_run_id(task_id, due),
            task_id=task_id,
            owner=user,
            status=RunStatus.QUEUED,
            trigger=Trigger.SCHEDULE,
            scheduled_for=from_epoch(due),
            created_at=from_epoch(due),
            variables=variables or {},
        )
        self.store.create_run(run)
        self.send_message(RunMessage(run_id=run.id, task_id=task_id, owner=user).model_dump_json())
        return run.id

    def get_run(self, run_id: str, *, user: str = "alice") -> dict[str, Any]:
        response = self.api.get(f"/v1/runs/{run_id}", user=user)
        assert response.status == 200, response.text
        run: dict[str, Any] = response.json
        return run

    def get_task(self, task_id: str, *, user: str = "alice") -> dict[str, Any]:
        response = self.api.get(f"/v1/tasks/{task_id}", user=user)
        assert response.status == 200, response.text
        task: dict[str, Any] = response.json
        return task

    # ---- the queue and the runner ------------------------------------------

    def poll(self) -> int:
        """One receive and one runner invocation, as the event source mapping does."""
        return self.poller.poll_once(self.sqs)

    def pump(
        self, run_id: str, until: frozenset[str] = SETTLED, timeout: float = 20, *, user: str = "alice"
    ) -> dict[str, Any]:
        """Feed the runner until the run reaches one of `until`; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.get_run(run_id, user=user)
            if run["status"] in until:
                return run
            assert time.monotonic() < deadline, f"run {run_id} still {run['status']} after {timeout}s: {run}"
            self.poll()

    def wait(self, run_id: str, until: frozenset[str] = SETTLED, timeout: float = 20) -> dict[str, Any]:
        """Wait, without polling the queue, until the run reaches one of `until` (a started poller feeds it)."""
        deadline = time.monotonic() + timeout
        while (run := self.get_run(run_id))["status"] not in until:
            assert time.monotonic() < deadline, f"run {run_id} still {run['status']} after {timeout}s: {run}"
            time.sleep(0.1)
        return run

    def drain(self) -> int:
        """Poll until the queue has nothing visible; returns how many messages arrived."""
        total = 0
        while (received := self.poll()) > 0:
            total += received
        return total

    def queue_depth(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.env["RUN_QUEUE_URL"],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def send_message(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.env["RUN_QUEUE_URL"], MessageBody=body)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.handler(event, lambda_context("runner"))
        return result

    # ---- what the model saw ------------------------------------------------

    def model_requests(self, run_id: str) -> list[dict[str, Any]]:
        """The Messages API requests the fake model got for this run (the runner sends the run id as user_id)."""
        return [r for r in self.fake.requests if (r.get("metadata") or {}).get("user_id") == run_id]


@pytest.fixture
def runner(
    api: ApiClient, store: Store, aws_env: dict[str, str], fake_model: FakeModel, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runner]:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_model.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key-" + uuid.uuid4().hex[:8])
    monkeypatch.delenv("ANTHROPIC_SECRET_ARN", raising=False)
    monkeypatch.setenv("RETRY_BASE_SECONDS", "1")
    bootstrap.reset()  # a new container: settings, clients and the executor come from this environment
    handler = load_function_handler("runner")
    poller = QueuePoller(queue_url=aws_env["RUN_QUEUE_URL"], handler=handler, batch_size=1, wait_seconds=1)
    yield Runner(api, store, aws_env, fake_model, handler, poller, boto3.client("sqs"))
    bootstrap.reset()


class EventTap:
    """A rule on the app's bus that forwards every agentcron event to a queue of the test's own."""

    def __init__(self, env: dict[str, str]) -> None:
        self.sqs = boto3.client("sqs")
        events = boto3.client("events")
        bus = env["EVENT_BUS_NAME"]
        self.queue_url = self.sqs.create_queue(QueueName=f"{bus}-tap")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(Name="tap", EventBusName=bus, EventPattern=json.dumps({"source": ["agentcron"]}))
        events.put_targets(Rule="tap", EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])

    def events(self) -> list[dict[str, Any]]:
        """Every event delivered so far (consumed)."""
        found: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def event_tap(aws_env: dict[str, str]) -> EventTap:
    return EventTap(aws_env)
