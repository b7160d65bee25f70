"""The local moto server: DynamoDB serialised (so concurrency tests mean something),
everything else concurrent (so SQS long polls do not stall the stack)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from agentcron_local.motoserver import MotoHandle, PortInUseError, start_moto
from agentcron_local.resources import create_resources
from botocore.config import Config
from botocore.exceptions import ClientError

THREADS = 16
ROUNDS = 20


def client(service: str, endpoint: str) -> Any:
    # One client shared by all threads (boto3 clients are thread-safe), with a
    # pool big enough that the threads really are concurrent on the wire.
    return boto3.client(
        service,  # type: ignore[call-overload]  # the stubs type each service name separately
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(max_pool_connections=THREADS * 2, retries={"max_attempts": 1}),
    )


@pytest.fixture
def eager_thread_switches() -> Iterator[None]:
    """Make the GIL switch threads every microsecond instead of every 5 ms.

    moto runs in this process, so this interleaves its request threads inside
    a single DynamoDB operation: unlocked, the races then show up in most runs
    of 20 rounds instead of rarely.
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def race(
    ddb: Any, table: str, operation: str, rounds: int, *, stop_at_first_bad: bool = False
) -> list[tuple[int, list[str]]]:
    """``rounds`` rounds of THREADS contenders claiming one key; returns the rounds
    that did not have exactly one winner (with every loser told why)."""
    expected_loss = {
        "put_item": "ConditionalCheckFailedException",
        "claim_transaction": "TransactionCanceledException",
    }[operation]

    def claim(pk: str, contender: int, barrier: threading.Barrier) -> str:
        run = {"PK": {"S": pk}, "SK": {"S": "RUN#1"}, "winner": {"N": str(contender)}}
        barrier.wait()  # all contenders fire together
        try:
            if operation == "put_item":
                ddb.put_item(TableName=table, Item=run, ConditionExpression="attribute_not_exists(PK)")
            else:
                # The dispatcher's claim (DESIGN.md): move the task on, create the run.
                ddb.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": table,
                                "Key": {"PK": {"S": pk}, "SK": {"S": "TASK"}},
                                "UpdateExpression": "SET next_run_at = :next",
                                "ConditionExpression": "next_run_at = :seen",
                                "ExpressionAttributeValues": {":seen": {"N": "100"}, ":next": {"N": "200"}},
                            }
                        },
                        {
                            "Put": {
                                "TableName": table,
                                "Item": run,
                                "ConditionExpression": "attribute_not_exists(PK)",
                            }
                        },
                    ]
                )
        except ClientError as exc:
            return str(exc.response["Error"]["Code"])
        return "won"

    bad: list[tuple[int, list[str]]] = []
    with ThreadPoolExecutor(THREADS) as pool:
        for round_no in range(rounds):
            pk = f"TASK#{operation}-{round_no}"
            ddb.put_item(TableName=table, Item={"PK": {"S": pk}, "SK": {"S": "TASK"}, "next_run_at": {"N": "100"}})
            barrier = threading.Barrier(THREADS)
            outcomes = list(pool.map(lambda c, pk=pk, b=barrier: claim(pk, c, b), range(THREADS)))
            winners = [i for i, outcome in enumerate(outcomes) if outcome == "won"]
            stored = ddb.get_item(TableName=table, Key={"PK": {"S": pk}, "SK": {"S": "RUN#1"}}).get("Item")
            if (
                len(winners) != 1
                or {o for o in outcomes if o != "won"} != {expected_loss}
                or stored is None
                or stored["winner"]["N"] != str(winners[0])
            ):
                bad.append((round_no, outcomes))
                if stop_at_first_bad:
                    break
    return bad


@pytest.mark.usefixtures("eager_thread_switches")
@pytest.mark.parametrize("operation", ["put_item", "claim_transaction"])
def test_racing_conditional_writes_have_exactly_one_winner(
    moto_server: MotoHandle, aws_env: dict[str, str], operation: str
) -> None:
    ddb = client("dynamodb", moto_server.endpoint)
    locked_before = moto_server.middleware.locked_requests
    assert race(ddb, aws_env["TABLE_NAME"], operation, ROUNDS) == []
    # Every request went through the lock: the test exercised the lock, not luck.
    assert moto_server.middleware.locked_requests - locked_before >= ROUNDS * (THREADS + 2)


@pytest.mark.slow
@pytest.mark.usefixtures("eager_thread_switches")
def test_without_the_lock_the_race_has_several_winners(monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: proves the test above can fail (it did, before the lock)."""
    with start_moto(port=0, serialize_dynamodb=False) as unlocked:
        env = create_resources(unlocked.endpoint, prefix=f"t{uuid.uuid4().hex[:8]}")
        bad = race(
            client("dynamodb", unlocked.endpoint),
            env["TABLE_NAME"],
            "claim_transaction",
            60,
            stop_at_first_bad=True,
        )
    assert bad, "60 unlocked rounds had no double winner: the race test is too weak to prove anything"


def test_sqs_long_polls_are_not_blocked_by_dynamodb(moto_server: MotoHandle, aws_env: dict[str, str]) -> None:
    sqs = client("sqs", moto_server.endpoint)
    ddb = client("dynamodb", moto_server.endpoint)
    queue_url = aws_env["RUN_QUEUE_URL"]
    received: list[tuple[float, list[dict[str, Any]]]] = []

    def long_poll() -> None:
        messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=5).get("Messages", [])
        received.append((time.monotonic(), messages))

    pollers = [threading.Thread(target=long_poll) for _ in range(3)]
    for poller in pollers:
        poller.start()
    time.sleep(0.3)  # the polls are now waiting inside moto

    started = time.monotonic()
    for i in range(20):
        ddb.put_item(TableName=aws_env["TABLE_NAME"], Item={"PK": {"S": f"p{i}"}, "SK": {"S": "x"}})
    ddb_seconds = time.monotonic() - started
    assert ddb_seconds < 2.0, "DynamoDB calls waited behind the long polls"

    sent_at = time.monotonic()
    sqs.send_message(QueueUrl=queue_url, MessageBody="wake up")
    deadline = time.monotonic() + 3
    while not received and time.monotonic() < deadline:
        time.sleep(0.01)
    assert received, "no waiting long poll got the message"
    woke_at, messages = received[0]
    assert [m["Body"] for m in messages] == ["wake up"]
    assert woke_at - sent_at < 2.0, "the waiting long poll did not get the message promptly"
    # Release the other polls rather than wait out their 5 s.
    for i in range(len(pollers) - 1):
        sqs.send_message(QueueUrl=queue_url, MessageBody=f"release {i}")
    for poller in pollers:
        poller.join(10)
    assert len(received) == len(pollers)


def test_busy_port_raises_a_clear_error(moto_server: MotoHandle) -> None:
    with pytest.raises(PortInUseError) as info:
        start_moto(port=moto_server.port)
    assert str(info.value) == (
        f"port {moto_server.port} is in use: is another agentcron local stack running? stop it or pass --moto-port"
    )


def test_runs_as_a_process_and_stops_on_sigint() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentcron_local.motoserver", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("moto listening on http://127.0.0.1:"), line
        endpoint = line.split()[-1]
        ddb = client("dynamodb", endpoint)
        assert ddb.list_tables()["TableNames"] == []
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
