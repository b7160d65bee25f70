"""Store.record_outcome against moto's server: the running marker is released only
by the run that holds it, the last run and the failure streak are stored either
way, and the usual case (the run holds the marker) is one UpdateItem, not two:
every write of a task item also rewrites its index entries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from agentcron.ids import scheduled_run_id
from agentcron.models import Run, RunStatus, Task, Trigger
from agentcron.schedules import to_epoch
from agentcron.store import Store

from tests.support_dispatch import make_task, task_item

T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class UpdateItemCount:
    def __init__(self, store: Store) -> None:
        self.calls = 0
        store.table.meta.client.meta.events.register("before-call.dynamodb.UpdateItem", self._count)

    def _count(self, **_: Any) -> None:
        self.calls += 1


def ended_run(task: Task, status: RunStatus = RunStatus.FAILED) -> Run:
    return Run(
        id=scheduled_run_id(task.id, to_epoch(T)),
        task_id=task.id,
        owner=task.owner,
        status=status,
        trigger=Trigger.SCHEDULE,
        scheduled_for=T,
        created_at=T,
        finished_at=T,
    )


def stored_task(store: Store, **fields: Any) -> Task:
    task = make_task({"type": "manual"}, now=T)
    store.create_task(task)
    if fields:
        store.table.update_item(
            Key={"PK": f"TASK#{task.id}", "SK": "TASK"},
            UpdateExpression="SET " + ", ".join(f"{name} = :{name}" for name in fields),
            ExpressionAttributeValues={f":{name}": value for name, value in fields.items()},
        )
    return task


@pytest.mark.parametrize(("failed", "streak"), [(True, 3), (False, 0), (None, 2)])
def test_the_run_holding_the_marker_releases_it_and_records_its_outcome_in_one_write(
    aws_env: dict[str, str], store: Store, failed: bool | None, streak: int
) -> None:
    task = stored_task(store, consecutive_failures=2)
    run = ended_run(task)
    store.table.update_item(
        Key={"PK": f"TASK#{task.id}", "SK": "TASK"},
        UpdateExpression="SET running_run_id = :run, running_until = :until",
        ExpressionAttributeValues={":run": run.id, ":until": to_epoch(T) + 300},
    )
    writes = UpdateItemCount(store)

    updated = store.record_outcome(run, failed=failed)

    assert writes.calls == 1
    assert updated is not None and updated.running_run_id is None and updated.consecutive_failures == streak
    item = task_item(aws_env["TABLE_NAME"], task.id)
    assert item is not None and "running_run_id" not in item and "running_until" not in item
    assert item["last_run"] == {
        "id": run.id,
        "status": "FAILED",
        "scheduled_for": T.isoformat(),
        "finished_at": T.isoformat(),
    }


def test_another_runs_marker_is_left_alone_and_the_outcome_still_recorded(
    aws_env: dict[str, str], store: Store
) -> None:
    task = stored_task(store, running_run_id="run_other", running_until=to_epoch(T) + 300)
    run = ended_run(task, RunStatus.SUCCEEDED)
    writes = UpdateItemCount(store)

    updated = store.record_outcome(run, failed=False)

    assert writes.calls == 2
    assert updated is not None and updated.running_run_id == "run_other" and updated.consecutive_failures == 0
    item = task_item(aws_env["TABLE_NAME"], task.id)
    assert item is not None and item["running_until"] == to_epoch(T) + 300 and item["last_run"]["id"] == run.id


def test_a_task_without_a_marker_records_the_outcome(store: Store) -> None:
    task = stored_task(store)
    updated = store.record_outcome(ended_run(task), failed=True)
    assert updated is not None and updated.consecutive_failures == 1 and updated.running_run_id is None


def test_an_outcome_for_a_task_that_is_gone_is_none(store: Store) -> None:
    task = make_task({"type": "manual"}, now=T)  # never stored
    assert store.record_outcome(ended_run(task), failed=True) is None
    assert store.get_task_by_id(task.id) is None, "nothing was created for it"
