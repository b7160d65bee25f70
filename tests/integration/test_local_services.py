"""The local stand-ins for AWS plumbing: the queue poller settles messages as
Lambda's SQS event source mapping does; the ticker invokes the real
dispatcher handler with the sample scheduled event."""

from __future__ import annotations

import json
from typing import Any

import boto3
from agentcron import bootstrap
from agentcron_local.services import DispatcherTicker, QueuePoller, runner_event_source

from tests.integration.conftest import ApiClient, cron_task


class Handler:
    def __init__(self, fail: bool = False, raise_error: bool = False) -> None:
        self.fail = fail
        self.raise_error = raise_error
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        if self.raise_error:
            raise RuntimeError("runner crashed")
        failures = [{"itemIdentifier": r["messageId"]} for r in event["Records"]] if self.fail else []
        return {"batchItemFailures": failures}


def fast_visibility(queue_url: str) -> Any:
    sqs = boto3.client("sqs")
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": "1"})
    return sqs


def test_poller_sends_sqs_batch_events_and_deletes_what_succeeded(aws_env: dict[str, str]) -> None:
    queue_url = aws_env["RUN_QUEUE_URL"]
    sqs = fast_visibility(queue_url)
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"run_id": "r1", "task_id": "t", "owner": "o"}))
    handler = Handler()
    poller = QueuePoller(queue_url=queue_url, handler=handler, batch_size=10)
    assert poller.poll_once(sqs) == 1
    record = handler.events[0]["Records"][0]
    assert record["eventSource"] == "aws:sqs" and json.loads(record["body"])["run_id"] == "r1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["eventSourceARN"].endswith(":" + queue_url.rsplit("/", 1)[-1])
    assert poller.poll_once(sqs) == 0, "a success is deleted, never redelivered"


def test_poller_leaves_failures_and_crashes_for_redelivery(aws_env: dict[str, str]) -> None:
    queue_url = aws_env["RUN_QUEUE_URL"]
    sqs = fast_visibility(queue_url)
    sqs.send_message(QueueUrl=queue_url, MessageBody="{}")
    poller = QueuePoller(queue_url=queue_url, handler=Handler(fail=True), batch_size=10, wait_seconds=3)
    assert poller.poll_once(sqs) == 1
    poller.handler = Handler(raise_error=True)
    assert poller.poll_once(sqs) == 1, "a reported failure comes back after the visibility timeout"
    succeeding = Handler()
    poller.handler = succeeding
    assert poller.poll_once(sqs) == 1, "a crashed batch comes back too"
    assert succeeding.events[0]["Records"][0]["attributes"]["ApproximateReceiveCount"] == "3"
    assert poller.poll_once(sqs) == 0


def test_poller_batch_size_comes_from_the_template() -> None:
    batch_size, _ = runner_event_source()
    assert 1 <= batch_size <= 10


def test_ticker_invokes_the_real_dispatcher(api: ApiClient, aws_env: dict[str, str]) -> None:
    task = api.post("/v1/tasks", cron_task(schedule={"type": "interval", "every_seconds": 60})).json
    bootstrap.reset()
    ticker = DispatcherTicker(tick_seconds=300)
    result = ticker.tick()
    assert result["status"] == "ticked" and ticker.ticks == 1
    # The API already claimed this task's runs inside the horizon: the tick finds nothing new.
    assert result["claimed"] == 0
    runs = api.get(f"/v1/tasks/{task['id']}/runs?limit=100").json["items"]
    assert len(runs) == 7  # now, +60 ... +360 s: one tick of 300 s plus the 60 s margin
