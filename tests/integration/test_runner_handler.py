"""The runner's Lambda entry point as the SQS event source mapping sees it:
the sample event, partial batch failures, visibility timeouts, the DLQ."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from agentcron.bootstrap.runner import root as runner_root
from agentcron.models import Run, RunStatus, Task, Trigger
from agentcron.schedules import ManualSchedule
from agentcron.store import Store
from botocore.exceptions import ClientError

from tests.infrastructure import iam
from tests.integration.test_runner_harness import Runner

# The harness's fixtures (runner, fake_model, event_tap).
pytest_plugins = ["tests.integration.test_runner_harness"]

SAMPLE_EVENT = Path(__file__).resolve().parents[2] / "events" / "runner-sqs-batch.json"


def test_the_sample_sqs_event_runs_its_run(runner: Runner) -> None:
    event = json.loads(SAMPLE_EVENT.read_text(encoding="utf-8"))
    [record] = event["Records"]
    message = json.loads(record["body"])
    now = datetime.now(UTC).replace(microsecond=0)
    # The run the sample names, as the dispatcher would have claimed it.
    runner.store.create_task(
        Task(
            id=message["task_id"],
            owner=message["owner"],
            name="sample",
            prompt="Hello from the sample event",
            schedule=ManualSchedule(type="manual"),
            created_at=now,
            updated_at=now,
        )
    )
    runner.store.create_run(
        Run(
            id=message["run_id"],
            task_id=message["task_id"],
            owner=message["owner"],
            status=RunStatus.QUEUED,
            trigger=Trigger.SCHEDULE,
            scheduled_for=datetime.fromtimestamp(int(message["run_id"].rsplit("_", 1)[1]), UTC),
            created_at=now,
        )
    )

    assert runner.invoke(event) == {"batchItemFailures": []}

    run = runner.store.get_run(message["owner"], message["run_id"])
    assert run.status == RunStatus.SUCCEEDED
    assert run.output == "Done: Hello from the sample event"
    assert len(runner.model_requests(run.id)) == 1
    # The same event again (a duplicate delivery) changes nothing.
    assert runner.invoke(event) == {"batchItemFailures": []}
    assert runner.store.get_run(message["owner"], message["run_id"]).finished_at == run.finished_at
    assert len(runner.model_requests(run.id)) == 1


def test_a_message_naming_no_run_is_dropped(runner: Runner) -> None:
    runner.send_message(
        json.dumps({"run_id": "run_01KQ0000000000000000000000_1795338000", "task_id": "t", "owner": "o"})
    )

    assert runner.poll() == 1
    assert runner.queue_depth() == 0, "nothing to retry: it is deleted"


def test_an_unparseable_message_fails_the_batch_and_reaches_the_dlq(runner: Runner) -> None:
    results: list[dict[str, Any]] = []
    real = runner.handler

    def recording(event: dict[str, Any], context: Any) -> Any:
        result = real(event, context)
        results.append(result)
        return result

    runner.poller.handler = recording
    runner.send_message("this is not a run message")
    [sent] = runner.sqs.receive_message(QueueUrl=runner.env["RUN_QUEUE_URL"], VisibilityTimeout=0)["Messages"]
    started = time.monotonic()

    max_receives = int(iam.parameter_default(iam.load_sam_template(), "MaxReceiveCount"))
    receives = 0
    while runner.poll():
        receives += 1
        assert receives <= max_receives

    # Reported as this record's failure (not a crash of the whole invocation) ...
    assert results[0] == {"batchItemFailures": [{"itemIdentifier": sent["MessageId"]}]}
    # ... made visible again at once (visibility 0), so maxReceiveCount comes quickly, not after hours:
    # one receive above, then the runner's, up to the template's MaxReceiveCount.
    assert receives == max_receives - 1
    assert time.monotonic() - started < 10
    dead = runner.sqs.receive_message(QueueUrl=runner.env["RUN_DLQ_URL"], WaitTimeSeconds=1)["Messages"]
    assert [message["Body"] for message in dead] == ["this is not a run message"]


def test_a_retry_hides_the_message_for_the_backoff_and_reports_only_its_record(runner: Runner) -> None:
    queued = runner.start("flaky\nfail: 529 x1")
    [message] = runner.sqs.receive_message(QueueUrl=runner.env["RUN_QUEUE_URL"], WaitTimeSeconds=1)["Messages"]

    result = runner.invoke({"Records": [runner.poller._record(message)]})

    assert result == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    retrying = runner.store.get_run("alice", queued["id"])
    assert retrying.status == RunStatus.QUEUED and retrying.attempt == 1
    assert retrying.error is not None and retrying.error.type == "overloaded_error"
    assert retrying.reason is not None and retrying.reason.startswith(
        "attempt 1 failed (overloaded_error); retrying in"
    )
    # Hidden for the backoff (the queue's own visibility timeout is half an hour) ...
    hidden = runner.sqs.receive_message(QueueUrl=runner.env["RUN_QUEUE_URL"], WaitTimeSeconds=0)
    assert hidden.get("Messages", []) == []
    # ... then back, the same message, for attempt 2.
    again = runner.sqs.receive_message(
        QueueUrl=runner.env["RUN_QUEUE_URL"], WaitTimeSeconds=5, AttributeNames=["ApproximateReceiveCount"]
    )["Messages"]
    assert [m["MessageId"] for m in again] == [message["MessageId"]]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert runner.invoke({"Records": [runner.poller._record(again[0])]}) == {"batchItemFailures": []}
    done = runner.get_run(queued["id"])
    assert done["status"] == "SUCCEEDED" and done["attempt"] == 2


def test_an_error_before_the_run_starts_retries_the_message_soon(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = runner.start("throttled")
    [message] = runner.sqs.receive_message(QueueUrl=runner.env["RUN_QUEUE_URL"], WaitTimeSeconds=1)["Messages"]
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetItem")

    class ThrottledStore(Store):
        def get_run_by_id(self, run_id: str) -> Run | None:
            raise throttled

    runner_root.override(store=ThrottledStore(runner.env["TABLE_NAME"], due_shards=int(runner.env["DUE_SHARDS"])))

    result = runner.invoke({"Records": [runner.poller._record(message)]})

    assert result == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    attributes = runner.sqs.get_queue_attributes(
        QueueUrl=runner.env["RUN_QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1", "kept, hidden for a short while"
    assert runner.store.get_run("alice", queued["id"]).status == RunStatus.QUEUED
