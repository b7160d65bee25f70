"""DISPATCH_LOOKAHEAD=off: the dispatcher claims only what is due already (a plain
cron poller, what bench.lateness compares the lookahead with), in the tick and in
the API's near-term claim alike. Against moto's server, through the real handlers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from agentcron import bootstrap
from agentcron.config import InvalidSetting
from agentcron.dispatch import LOOKAHEAD_MARGIN_SECONDS
from agentcron.ids import scheduled_run_id
from agentcron.schedules import from_epoch, to_epoch
from agentcron.store import Store
from agentcron_local.gateway import LambdaContext, load_function_handler

from tests.integration.conftest import ApiClient
from tests.support_dispatch import Clock, Journal, make_task, new_dispatcher, queue_depth, task_runs

T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
E = to_epoch(T)
TICK = 300


def once_at(store: Store, epoch: int) -> Any:
    task = make_task(
        {"type": "once", "at": from_epoch(epoch).isoformat()}, now=T, created_at=from_epoch(E - 3600), next_run_at=epoch
    )
    store.create_task(task)
    return task


def test_the_horizon_is_now_without_lookahead(aws_env: dict[str, str]) -> None:
    clock, journal = Clock(T), Journal()
    assert new_dispatcher(aws_env, clock, journal, lookahead=False).horizon(T) == E
    assert new_dispatcher(aws_env, clock, journal, lookahead=True).horizon(T) == E + TICK + LOOKAHEAD_MARGIN_SECONDS


def test_without_lookahead_a_tick_claims_only_what_is_due(aws_env: dict[str, str], store: Store) -> None:
    overdue, due_now, soon = once_at(store, E - 30), once_at(store, E), once_at(store, E + 1)
    clock, journal = Clock(T), Journal()
    plain = new_dispatcher(aws_env, clock, journal, lookahead=False)

    report = plain.tick()
    assert sorted(r.id for r in report.claimed) == sorted(
        [scheduled_run_id(overdue.id, E - 30), scheduled_run_id(due_now.id, E)]
    )
    assert task_runs(aws_env["TABLE_NAME"], soon.id) == []
    # Due already, so sent with no delay.
    assert sorted((s.run_id, s.delay) for s in journal.sent) == sorted((r.id, 0) for r in report.claimed)

    clock.advance(1)
    assert [r.id for r in plain.tick().claimed] == [scheduled_run_id(soon.id, E + 1)]


def test_dispatch_lookahead_off_reaches_the_tick_handler(
    aws_env: dict[str, str], store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPATCH_LOOKAHEAD", "off")
    bootstrap.reset()
    now = int(time.time())
    due, ahead = (
        make_task({"type": "once", "at": from_epoch(at).isoformat()}, now=from_epoch(now - 60), next_run_at=at)
        for at in (now - 5, now + 60)
    )
    for task in (due, ahead):
        store.create_task(task)

    result = load_function_handler("dispatcher")(
        {"source": "aws.events", "detail-type": "Scheduled Event"}, LambdaContext()
    )
    assert result["claimed"] == 1
    assert [r.id for r in task_runs(aws_env["TABLE_NAME"], due.id)] == [scheduled_run_id(due.id, now - 5)]
    assert task_runs(aws_env["TABLE_NAME"], ahead.id) == [], "with lookahead on, this one would be claimed now"


def test_dispatch_lookahead_off_reaches_the_apis_near_term_claim(
    aws_env: dict[str, str], api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPATCH_LOOKAHEAD", "off")
    bootstrap.reset()
    due = int(time.time()) + 30
    created = api.post(
        "/v1/tasks", {"name": "soon", "prompt": "hi", "schedule": {"type": "once", "at": from_epoch(due).isoformat()}}
    )
    assert created.status == 201, created.text
    # Left for the tick that finds it due, as a cron poller would.
    assert task_runs(aws_env["TABLE_NAME"], created.json["id"]) == []
    assert queue_depth(aws_env["RUN_QUEUE_URL"]) == {"visible": 0, "delayed": 0, "in_flight": 0}
    assert datetime.fromisoformat(created.json["next_run_at"]) == from_epoch(due)


@pytest.fixture
def dispatcher_handler(aws_env: dict[str, str]) -> Iterator[Any]:
    bootstrap.reset()
    yield load_function_handler("dispatcher")
    bootstrap.reset()


def test_a_bad_dispatch_lookahead_fails_the_invocation_naming_the_variable(
    dispatcher_handler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPATCH_LOOKAHEAD", "sometimes")
    with pytest.raises(InvalidSetting, match=r"DISPATCH_LOOKAHEAD='sometimes' is not a switch"):
        dispatcher_handler({"source": "aws.events", "detail-type": "Scheduled Event"}, LambdaContext())
