"""After a restart of the local stack, every active run is recovered by the
dispatcher's own recovery (not a copy of it): the queue and the runners died
with the stack, so nothing waits for a grace or a lease to pass."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from agentcron.models import RunStatus
from agentcron.schedules import to_epoch
from agentcron.store import Store
from agentcron_local.persistence import recover_after_restart

from tests.integration.test_dispatch_policies import running_run
from tests.support_dispatch import Clock, Journal, make_task, new_dispatcher, queued_run

T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
E = to_epoch(T)


def test_a_restart_resends_queued_runs_and_requeues_running_ones_at_once(aws_env: dict[str, str], store: Store) -> None:
    task = make_task({"type": "manual"}, now=T - timedelta(days=1), policies={"max_attempts": 3})
    store.create_task(task)
    # None of these is overdue: a tick's recovery would leave them all alone.
    waiting = queued_run(store, task, E + 30)
    cut_off = running_run(store, task, E - 60, attempt=1, lease_until=E + 600)
    last_try = running_run(store, task, E - 50, attempt=3, lease_until=E + 600)
    journal = Journal()

    report = recover_after_restart(new_dispatcher(aws_env, Clock(T), journal))

    assert Counter(report.resent) == Counter({waiting.id: 1, cut_off.id: 1})
    assert report.timed_out == [last_try.id], "out of attempts: TIMED_OUT, as the dispatcher does on AWS"
    requeued = store.get_run_by_id(cut_off.id)
    assert requeued is not None and requeued.status == RunStatus.QUEUED
    assert requeued.reason == "attempt 1 was cut off by a restart of the local stack; retrying"
    finished = store.get_run_by_id(last_try.id)
    assert finished is not None and finished.status == RunStatus.TIMED_OUT
    # The queued run keeps its delay; the cut-off one goes at once.
    assert sorted((s.run_id, s.delay) for s in journal.sent) == sorted([(waiting.id, 30), (cut_off.id, 0)])
