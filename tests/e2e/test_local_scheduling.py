"""Scheduling on the local stack: a run's message arrives at its second
although the dispatcher ticks only every 300 s (the API claims near-term runs
and SQS holds them with DelaySeconds)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from agentcron_local import tokens
from agentcron_local.services import DispatcherTicker, QueuePoller, poller_for, ticker_for
from agentcron_local.stack import LocalStack, StackOptions

DELIVERY_TOLERANCE_SECONDS = 2.0


class RecordingRunner:
    """Stands in for the runner (built by a later issue): records when each
    run's message was delivered."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[float, dict[str, Any]]] = []
        self.delivered = threading.Event()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            self.deliveries.append((time.time(), json.loads(record["body"])))
        self.delivered.set()
        return {"batchItemFailures": []}


@pytest.fixture
def local(tmp_path: Path) -> Iterator[tuple[LocalStack, RecordingRunner, list[DispatcherTicker]]]:
    runner = RecordingRunner()
    tickers: list[DispatcherTicker] = []

    def ticker(stack: LocalStack) -> DispatcherTicker:
        made = ticker_for(stack)
        tickers.append(made)
        return made

    def poller(stack: LocalStack) -> QueuePoller:
        made = poller_for(stack)
        made.handler = runner
        return made

    options = StackOptions(port=0, moto_port=0, state_dir=tmp_path / "state", access_log=False)
    with LocalStack(options, service_factories=[ticker, poller]) as stack:
        yield stack, runner, tickers


def test_run_message_arrives_at_its_time_although_the_tick_is_300s(local: Any) -> None:
    stack, runner, tickers = local
    assert tickers[0].tick_seconds == 300
    auth = {"Authorization": f"Bearer {tokens.issue_token('alice')}"}
    due = (datetime.now(UTC) + timedelta(seconds=20)).replace(microsecond=0)
    created = requests.post(
        f"{stack.api_url}/v1/tasks",
        json={"name": "soon", "prompt": "hello", "schedule": {"type": "once", "at": due.isoformat()}},
        headers=auth,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    task = created.json()
    runs = requests.get(f"{stack.api_url}/v1/tasks/{task['id']}/runs", headers=auth, timeout=10).json()["items"]
    assert [run["status"] for run in runs] == ["QUEUED"], "claimed by the API, not left for a tick 300 s away"

    assert runner.delivered.wait(timeout=40), "the run's message never arrived"
    delivered_at, body = runner.deliveries[0]
    assert body["run_id"] == runs[0]["id"]
    lateness = delivered_at - due.timestamp()
    assert -0.5 <= lateness <= DELIVERY_TOLERANCE_SECONDS, f"delivered {lateness:+.2f} s from its time"
    assert tickers[0].ticks == 1, "only the start-up tick happened"


def test_a_shorter_tick_shortens_the_functions_lookahead_too(tmp_path: Path) -> None:
    tickers: list[DispatcherTicker] = []

    def ticker(stack: LocalStack) -> DispatcherTicker:
        made = ticker_for(stack)
        tickers.append(made)
        return made

    options = StackOptions(
        port=0, moto_port=0, state_dir=tmp_path / "state", access_log=False, persist=False, tick_seconds=20
    )
    before = os.environ.get("TICK_SECONDS")
    with LocalStack(options, service_factories=[ticker]) as stack:
        assert tickers[0].tick_seconds == 20
        assert stack.env["TICK_SECONDS"] == os.environ["TICK_SECONDS"] == "20"
        auth = {"Authorization": f"Bearer {tokens.issue_token('alice')}"}
        now = datetime.now(UTC).replace(microsecond=0)
        claimed = {}
        for name, seconds in (("inside", 60), ("outside", 120)):
            # The API claims what falls before now + tick + 60 s: 80 s with this tick, 360 s with the template's.
            at = (now + timedelta(seconds=seconds)).isoformat()
            created = requests.post(
                f"{stack.api_url}/v1/tasks",
                json={"name": name, "prompt": "hello", "schedule": {"type": "once", "at": at}},
                headers=auth,
                timeout=10,
            )
            assert created.status_code == 201, created.text
            runs = requests.get(f"{stack.api_url}/v1/tasks/{created.json()['id']}/runs", headers=auth, timeout=10)
            claimed[name] = [run["status"] for run in runs.json()["items"]]
        assert claimed == {"inside": ["QUEUED"], "outside": []}
    assert os.environ.get("TICK_SECONDS") == before, "the stack leaves the environment as it found it"


def test_a_fractional_tick_gives_the_functions_whole_seconds(tmp_path: Path) -> None:
    options = StackOptions(
        port=0, moto_port=0, state_dir=tmp_path / "state", access_log=False, persist=False, tick_seconds=2.5
    )
    with LocalStack(options, service_factories=[]) as stack:
        assert stack.env["TICK_SECONDS"] == "3"
