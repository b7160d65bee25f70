"""Every log line the runner writes while it works on a run names the run, its
task and its owner, so an operator can follow one run (or one owner) through
CloudWatch Logs Insights with a single filter; and the metrics a run emits (EMF
on stdout, as Lambda hands them to CloudWatch) are the ones the dashboard and
alarms read."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from agentcron.observability import logger

from tests.integration.test_runner_harness import Runner
from tests.support_dispatch import moto_sqs_clock_ahead

pytest_plugins = ["tests.integration.test_runner_harness"]


def log_lines(text: str) -> list[dict[str, Any]]:
    """The application's JSON log records (not EMF metric blobs, not other output)."""
    records = []
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if "_aws" not in record and record.get("service") == "agentcron":
            records.append(record)
    return records


@pytest.fixture
def app_log() -> Iterator[io.StringIO]:
    """The application logger's lines, formatted as it formats them for CloudWatch."""
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    yield sink
    logger.removeHandler(handler)


def test_every_line_of_a_run_names_its_run_task_and_owner(runner: Runner, app_log: io.StringIO) -> None:
    # A run that logs a fair amount: a tool refused by web_fetch, a transient model
    # error and its retry, then the answer.
    queued = runner.start(
        "fetch: http://169.254.169.254/latest/meta-data\nfail: 529 x1", agent={"tools": ["web_fetch"]}
    )
    app_log.truncate(0)

    with moto_sqs_clock_ahead(120):
        run = runner.pump(queued["id"], until=frozenset({"SUCCEEDED", "FAILED"}), timeout=30)

    records = log_lines(app_log.getvalue())
    assert run["status"] == "SUCCEEDED" and run["attempt"] == 2
    identity = {"run_id": queued["id"], "task_id": queued["task_id"], "owner": "alice"}
    unnamed = [r for r in records if {k: r.get(k) for k in identity} != identity]
    assert unnamed == []
    attempts = ["run started", "run handed back to the queue", "run started", "run settled"]
    assert [r["message"] for r in records] == attempts
    settled = records[-1]
    assert settled["status"] == "SUCCEEDED" and settled["attempt"] == 2 and settled["output_tokens"] > 0
    assert "function_request_id" in settled, "the Lambda context is on every line too"


def emf_metrics(text: str) -> dict[str, list[float]]:
    """The metric values of every EMF blob in `text`, by name (namespace agentcron, service dimension)."""
    values: dict[str, list[float]] = {}
    for line in text.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "agentcron" and directive["Dimensions"] == [["service"]]
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                values.setdefault(metric["Name"], []).extend(value if isinstance(value, list) else [value])
    return values


def test_a_run_emits_its_outcome_lateness_duration_and_tokens(
    runner: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    queued = runner.start("measured")
    capsys.readouterr()

    run = runner.pump(queued["id"])

    emitted = emf_metrics(capsys.readouterr().out)
    usage = run["usage"]
    assert run["status"] == "SUCCEEDED"
    assert emitted["RunsStarted"] == [1.0] and emitted["RunsSucceeded"] == [1.0]
    assert len(emitted["StartLateness"]) == 1 and 0 <= emitted["StartLateness"][0] <= 5
    assert emitted["RunDuration"] == [float(run["duration_ms"])]
    assert emitted["InputTokens"] == [float(usage["input_tokens"])]
    assert emitted["OutputTokens"] == [float(usage["output_tokens"])]
    assert emitted["CacheWriteTokens"] == [float(usage["cache_creation_input_tokens"])]
    assert emitted["CacheReadTokens"] == [float(usage["cache_read_input_tokens"])]
