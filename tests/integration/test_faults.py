"""Faults: DynamoDB throttling, injected, during claims and run updates; SQS
deliveries out of order and repeated; a model endpoint out of reach.

The fault is injected below our code, where boto3 turns an API call into a
request (``BaseClient._make_api_call``): the store, the dispatcher and the
runner see exactly the ``ClientError`` DynamoDB raises once botocore's own
retries are used up, and the rest of the call path (moto's server, the
queue, the SDK against the fake model) is real. Each test states what must
hold afterwards: no run lost, none executed twice, none stuck, and the run's
history explains what happened.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from agentcron import bootstrap
from agentcron.ids import scheduled_run_id
from agentcron.models import RunStatus
from agentcron.schedules import from_epoch, to_epoch
from agentcron.store import DUE_INDEX, Store, shard_of
from boto3.dynamodb.conditions import AttributeBase, ConditionBase
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.integration.test_runner_harness import Runner
from tests.support_dispatch import (
    Clock,
    Journal,
    make_task,
    moto_sqs_clock_ahead,
    new_dispatcher,
    queue_depth,
    race,
    task_runs,
    total,
)

pytest_plugins = ["tests.integration.test_runner_harness"]

T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
E = to_epoch(T)
TICK = 300

THROTTLED = "ProvisionedThroughputExceededException"
# functions/runner/app.py: how long a message that failed before its run started stays hidden.
UNEXPECTED_ERROR_RETRY_SECONDS = 30


@dataclass
class Rule:
    operation: str
    matches: Callable[[dict[str, Any]], bool]
    # How many matching calls fail; None: every one, until the rule is removed.
    times: int | None
    # Fail only every n-th matching call (1: each one), to throttle part of a workload.
    every: int = 1
    seen: int = 0
    failed: int = 0


@dataclass
class Throttle:
    """DynamoDB calls that fail as throttled, by rule; counts what it refused."""

    rules: list[Rule] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self,
        operation: str,
        matches: Callable[[dict[str, Any]], bool] = lambda _params: True,
        *,
        times: int | None = None,
        every: int = 1,
    ) -> Rule:
        rule = Rule(operation, matches, times, every)
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def refuses(self, service: str, operation: str, params: dict[str, Any]) -> bool:
        if service != "dynamodb":
            return False
        with self.lock:
            for rule in self.rules:
                if rule.operation != operation or not rule.matches(params):
                    continue
                if rule.times is not None and rule.failed >= rule.times:
                    continue
                rule.seen += 1
                if rule.seen % rule.every:
                    continue
                rule.failed += 1
                return True
        return False


@pytest.fixture
def throttle(monkeypatch: pytest.MonkeyPatch) -> Iterator[Throttle]:
    faults = Throttle()
    real = BaseClient._make_api_call

    def call(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        if faults.refuses(self.meta.service_model.service_name, operation_name, api_params):
            raise ClientError(
                {
                    "Error": {"Code": THROTTLED, "Message": "injected: the request rate is too high"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                operation_name,
            )
        return real(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", call)
    yield faults
    faults.clear()


def mentions(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda params: text in json.dumps(params, default=str)


# ---- the dispatcher's claims ---------------------------------------------------------------


def once_tasks(store: Store, count: int) -> dict[str, str]:
    """`count` one-time tasks due at E+60; their run ids by task id."""
    runs = {}
    for _ in range(count):
        task = make_task({"type": "once", "at": from_epoch(E + 60).isoformat()}, now=T)
        store.create_task(task)
        runs[task.id] = scheduled_run_id(task.id, E + 60)
    return runs


def test_claims_throttled_for_a_whole_tick_are_half_written_nowhere_and_claimed_once_by_the_next(
    aws_env: dict[str, str], store: Store, throttle: Throttle
) -> None:
    runs = once_tasks(store, 12)
    clock, journal = Clock(T), Journal()
    claim_writes = throttle.add("TransactWriteItems")

    throttled = new_dispatcher(aws_env, clock, journal, name="d1").tick()

    assert throttled.claimed == [] and throttled.errors == 12 and claim_writes.failed == 12
    for task_id in runs:
        assert task_runs(aws_env["TABLE_NAME"], task_id) == [], "no run item without its claim"
        task = store.get_task_by_id(task_id)
        assert task is not None and task.next_run_at == E + 60 and task.runs_scheduled == 0, "still due"
    assert journal.sent == [] and queue_depth(aws_env["RUN_QUEUE_URL"])["delayed"] == 0

    throttle.clear()
    clock.advance(TICK)  # the next tick, five minutes later: the runs are late now, not lost
    recovered = new_dispatcher(aws_env, clock, journal, name="d2").tick()

    assert sorted(r.id for r in recovered.claimed) == sorted(runs.values())
    assert Counter(journal.run_ids()) == Counter(dict.fromkeys(runs.values(), 1))
    for task_id, run_id in runs.items():
        [run] = task_runs(aws_env["TABLE_NAME"], task_id)
        assert run.id == run_id and run.status == RunStatus.QUEUED


def test_racing_dispatchers_under_intermittent_throttling_claim_every_occurrence_exactly_once(
    aws_env: dict[str, str], store: Store, throttle: Throttle
) -> None:
    runs = once_tasks(store, 24)
    clock, journal = Clock(T), Journal()
    dispatchers = [new_dispatcher(aws_env, clock, journal, name=f"d{i}") for i in range(4)]
    # Every third claim write and every fifth task re-read is refused, in all four dispatchers.
    throttle.add("TransactWriteItems", every=3)
    throttle.add("GetItem", every=5)

    first = total(race(dispatchers))
    # A tick that arrives early (a retried or doubled rule invocation), inside the runs'
    # queued grace: it claims what the throttling left and re-sends nothing.
    clock.advance(90)
    second = total(race(dispatchers))

    assert first.errors > 0 and second.resent == [], "the throttling hit some claims"
    claimed = [r.id for r in first.claimed + second.claimed]
    assert Counter(claimed) == Counter(dict.fromkeys(runs.values(), 1)), "each claimed once, none lost"
    assert Counter(journal.run_ids()) == Counter(dict.fromkeys(runs.values(), 1)), "each sent once"
    for task_id in runs:
        assert len(task_runs(aws_env["TABLE_NAME"], task_id)) == 1


def test_a_transaction_cancelled_for_throttling_is_retried_not_taken_as_a_lost_claim(
    aws_env: dict[str, str], store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DynamoDB may cancel a transaction with a ThrottlingError reason: that is not
    another dispatcher's win (ClaimLost), and the claim goes through on a retry."""
    runs = once_tasks(store, 3)
    cancelled = 0
    real = BaseClient._make_api_call

    def call(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        nonlocal cancelled
        if operation_name == "TransactWriteItems" and cancelled < 2:
            cancelled += 1
            reasons = [{"Code": "ThrottlingError", "Message": "throughput exceeds the current capacity"}] + [
                {"Code": "None"}
            ] * (len(api_params["TransactItems"]) - 1)
            raise self.exceptions.TransactionCanceledException(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                    "CancellationReasons": reasons,
                },
                operation_name,
            )
        return real(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", call)
    clock, journal = Clock(T), Journal()
    report = new_dispatcher(aws_env, clock, journal, name="d").tick()

    assert cancelled == 2
    assert report.errors == 0 and report.lost == 0
    assert sorted(r.id for r in report.claimed) == sorted(runs.values())


def condition_values(condition: Any) -> Iterator[Any]:
    """The values a boto3 condition compares with (it is built into an expression later, inside the call)."""
    for value in condition.get_expression()["values"]:
        if isinstance(value, ConditionBase):
            yield from condition_values(value)
        elif not isinstance(value, AttributeBase):
            yield value


def querying(index: str, shard: str) -> Callable[[dict[str, Any]], bool]:
    """A Query of `index` for one shard (the value its key condition names)."""
    return lambda params: (
        params.get("IndexName") == index and shard in condition_values(params["KeyConditionExpression"])
    )


def test_a_shard_whose_due_query_is_throttled_does_not_stop_the_tick(
    aws_env: dict[str, str], store: Store, throttle: Throttle
) -> None:
    runs = once_tasks(store, 12)
    shards = int(aws_env["DUE_SHARDS"])
    on_shard = {task_id: shard_of(task_id, shards) for task_id in runs}
    throttled_shard = on_shard[next(iter(runs))]
    spared = {runs[t] for t, shard in on_shard.items() if shard != throttled_shard}
    assert spared and len(spared) < len(runs), "tasks on the throttled shard and on others"
    throttle.add("Query", querying(DUE_INDEX, throttled_shard))
    clock, journal = Clock(T), Journal()

    first = new_dispatcher(aws_env, clock, journal, name="d1").tick()

    assert first.errors == 1, "the failed query is counted, and the tick still reports"
    assert {r.id for r in first.claimed} == spared
    throttle.clear()
    clock.advance(60)
    second = new_dispatcher(aws_env, clock, journal, name="d2").tick()
    assert {r.id for r in second.claimed} == set(runs.values()) - spared
    assert Counter(journal.run_ids()) == Counter(dict.fromkeys(runs.values(), 1))


def test_a_throttled_recovery_write_leaves_the_run_for_the_next_tick_and_recovers_the_rest(
    aws_env: dict[str, str], store: Store, throttle: Throttle
) -> None:
    runs = once_tasks(store, 2)
    clock, journal = Clock(T), Journal()
    # Claimed, but their messages lost (a queue that refuses everything).
    lost = new_dispatcher(aws_env, clock, journal, name="lost", queue_url=aws_env["RUN_QUEUE_URL"] + "-gone").tick()
    assert sorted(lost.unsent) == sorted(runs.values())
    first_run = sorted(runs.values())[0]
    throttle.add("UpdateItem", mentions(first_run), times=1)

    clock.set(T + timedelta(seconds=200))  # both past their grace (E+60+120)
    first = new_dispatcher(aws_env, clock, journal, name="d1").tick()

    assert first.errors == 1 and first.resent == [r for r in sorted(runs.values()) if r != first_run]
    clock.advance(60)
    second = new_dispatcher(aws_env, clock, journal, name="d2").tick()
    assert second.resent == [first_run] and second.errors == 0
    assert Counter(journal.run_ids()) == Counter(dict.fromkeys(runs.values(), 1))


# ---- the runner's run updates ----------------------------------------------------------------


def test_a_throttled_start_leaves_the_run_queued_and_it_runs_once_when_the_table_recovers(
    runner: Runner, throttle: Throttle
) -> None:
    queued = runner.start("started after throttling")
    # The start is the transaction moving the run to RUNNING with the task's running marker.
    start = throttle.add("TransactWriteItems", mentions("RUNNING"))

    runner.poll()  # the message comes back after a short backoff
    assert start.failed >= 1
    held = runner.get_run(queued["id"])
    assert held["status"] == "QUEUED" and held["attempt"] in (0, 1)
    assert runner.model_requests(queued["id"]) == []

    throttle.clear()
    with moto_sqs_clock_ahead(UNEXPECTED_ERROR_RETRY_SECONDS + 1):  # the message's short backoff, not waited out
        run = runner.pump(queued["id"], timeout=30)

    assert run["status"] == "SUCCEEDED"
    assert len(runner.model_requests(queued["id"])) == 1, "executed once"
    assert runner.queue_depth() == 0


def test_a_throttled_outcome_write_is_recovered_after_the_lease_and_the_history_says_so(
    runner: Runner, throttle: Throttle
) -> None:
    """The model answered, but the table refuses every write of the outcome (an outage
    longer than botocore's retries). The run must not stay RUNNING: once its lease is
    over, recovery queues it again and attempt 2 finishes it. The model is asked twice:
    the answer of attempt 1 was never stored (at-least-once under a table outage,
    written down in the README's guarantees)."""
    queued = runner.start("answered but not stored")
    outcome = throttle.add("UpdateItem", mentions("SUCCEEDED"))
    outcome_in_transaction = throttle.add("TransactWriteItems", mentions("SUCCEEDED"))

    runner.poll()
    assert outcome.failed + outcome_in_transaction.failed >= 1
    stuck = runner.get_run(queued["id"])
    assert stuck["status"] == "RUNNING" and stuck["attempt"] == 1
    with moto_sqs_clock_ahead(UNEXPECTED_ERROR_RETRY_SECONDS + 1):
        assert runner.drain() == 1  # the redelivered message finds the run RUNNING and is dropped
    assert runner.get_run(queued["id"])["status"] == "RUNNING"

    throttle.clear()
    run_item = runner.store.get_run_by_id(queued["id"])
    assert run_item is not None and run_item.active_until is not None
    after_lease = from_epoch(run_item.active_until) + timedelta(seconds=1)
    recovery = new_dispatcher(runner.env, Clock(after_lease))
    assert recovery.tick().resent == [queued["id"]]
    run = runner.pump(queued["id"], until=frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT"}), timeout=30)

    assert run["status"] == "SUCCEEDED" and run["attempt"] == 2
    assert run["reason"] == "attempt 1 lost its runner (lease expired); retrying", run["reason"]
    assert len(runner.model_requests(queued["id"])) == 2
    task = runner.store.get_task_by_id(queued["task_id"])
    assert task is not None and task.running_run_id is None, "the task's running marker is released"
    assert runner.queue_depth() == 0


# ---- deliveries out of order -------------------------------------------------------------------


def test_messages_delivered_out_of_order_and_again_later_run_each_run_once(runner: Runner) -> None:
    """SQS standard queues reorder and repeat: the later run's message first, then the
    earlier one's, then both again after the runs finished."""
    task = runner.create_task("in any order")
    first = runner.run_now(task["id"])
    second = runner.run_now(task["id"])
    received = runner.sqs.receive_message(
        QueueUrl=runner.env["RUN_QUEUE_URL"], MaxNumberOfMessages=10, WaitTimeSeconds=1
    )["Messages"]
    by_run = {json.loads(m["Body"])["run_id"]: m for m in received}
    assert set(by_run) == {first["id"], second["id"]}

    for run_id in (second["id"], first["id"], second["id"], first["id"]):
        result = runner.invoke({"Records": [runner.poller._record(by_run[run_id])]})
        assert result == {"batchItemFailures": []}
    for message in received:  # as the event source mapping deletes what succeeded
        runner.sqs.delete_message(QueueUrl=runner.env["RUN_QUEUE_URL"], ReceiptHandle=message["ReceiptHandle"])

    for run in (first, second):
        done = runner.get_run(run["id"])
        assert done["status"] == "SUCCEEDED" and done["attempt"] == 1
        assert len(runner.model_requests(run["id"])) == 1
    assert runner.queue_depth() == 0


# ---- the model out of reach ------------------------------------------------------------------


def test_a_model_endpoint_that_refuses_connections_is_retried_then_fails_with_the_reason(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{closed_port}")
    bootstrap.reset()
    queued = runner.start("nobody answers", policies={"max_attempts": 2})

    with moto_sqs_clock_ahead(120):  # the backoff between the attempts, not waited out
        run = runner.pump(queued["id"], until=frozenset({"SUCCEEDED", "FAILED"}), timeout=60)

    assert run["status"] == "FAILED" and run["attempt"] == 2
    assert run["error"] == {
        "type": "connection_error",
        "message": "could not reach the model: Connection error. (gave up after 2 attempts)",
    }
    assert runner.queue_depth() == 0
