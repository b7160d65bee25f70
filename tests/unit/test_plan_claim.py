"""plan_claim: what claiming a task's next occurrence writes, under its policies.

Pure: no AWS, no clock but the `now` passed in. Every count below is exact
and derived by hand (or by an independent brute-force oracle for the cron
cases), not by calling the schedule engine the code under test uses.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from agentcron.dispatch import MAX_MISSED_COUNTED, ClaimPlan, plan_claim
from agentcron.ids import scheduled_run_id
from agentcron.models import Run, RunStatus, Task, Trigger
from agentcron.schedules import from_epoch, to_epoch

from tests.support_dispatch import make_task

# Tuesday 2026-12-01 09:00:00Z: on a minute, 5-minute and hour boundary.
T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
E = to_epoch(T)
OUTAGE = 2 * 3600
GRACE = 300  # Policies' default misfire_grace_seconds


def interval_task(every: int = 60, *, first: int = E, **kwargs: Any) -> Task:
    """An interval task whose occurrences are first + k*every (anchored at
    creation time `first - every*60`, so the phase is exactly `first`)."""
    created = from_epoch(first - every * 60)
    schedule: dict[str, Any] = {"type": "interval", "every_seconds": every}
    schedule.update(kwargs.pop("schedule_extra", {}))
    return make_task(schedule, now=T, created_at=created, next_run_at=first, **kwargs)


def cron_task(expression: str, timezone: str = "UTC", *, first: int = E, **kwargs: Any) -> Task:
    return make_task(
        {"type": "cron", "expression": expression, "timezone": timezone},
        now=T,
        created_at=T - timedelta(days=3),
        next_run_at=first,
        **kwargs,
    )


def at(epoch: int) -> datetime:
    return from_epoch(epoch)


def iso(epoch: int) -> str:
    return from_epoch(epoch).isoformat()


def statuses(plan: ClaimPlan) -> list[tuple[RunStatus, int]]:
    return [(run.status, to_epoch(run.scheduled_for)) for run in plan.runs]


def missed_reason(count: int, first: int, policy: str, *, grace: int = GRACE, at_least: bool = False) -> str:
    return (
        f"{'at least ' if at_least else ''}{count} occurrence(s) from {iso(first)} "
        f"missed their start by more than {grace}s (misfire policy: {policy})"
    )


def assert_run_shape(run: Run, task: Task, now: datetime) -> None:
    epoch = to_epoch(run.scheduled_for)
    assert run.id == scheduled_run_id(task.id, epoch)
    assert run.task_id == task.id and run.owner == task.owner
    assert run.trigger == Trigger.SCHEDULE
    assert run.created_at == now
    assert run.attempt == 0 and run.started_at is None and run.active_until is None
    if run.status == RunStatus.QUEUED:
        assert run.finished_at is None and run.reason is None
    else:
        assert run.status == RunStatus.MISSED
        assert run.finished_at == now and run.reason


def brute_force_cron_minutes(start: int, stop: int, zone: str, minute_step: int) -> list[int]:
    """Instants in [start, stop) whose local minute is a multiple of `minute_step`
    (a `*/step * * * *` cron), found by walking every minute: an oracle that
    shares nothing with the schedule engine."""
    tz = ZoneInfo(zone)
    found = []
    for epoch in range(start - start % 60, stop, 60):
        if epoch >= start and from_epoch(epoch).astimezone(tz).minute % minute_step == 0:
            found.append(epoch)
    return found


# ---- on time ---------------------------------------------------------------


def test_on_time_occurrence_is_one_queued_run_and_the_next_occurrence() -> None:
    task = interval_task(60)
    plan = plan_claim(task, T)
    assert plan.seen_next_run_at == E
    assert plan.new_next_run_at == E + 60
    assert statuses(plan) == [(RunStatus.QUEUED, E)]
    assert plan.queued == plan.runs
    assert_run_shape(plan.runs[0], task, T)


def test_lookahead_claim_of_a_future_occurrence_is_on_time() -> None:
    # The dispatcher claims up to now + tick + margin: an occurrence 6 minutes ahead.
    task = interval_task(120, first=E + 360)
    now = T
    plan = plan_claim(task, now)
    assert statuses(plan) == [(RunStatus.QUEUED, E + 360)]
    assert plan.new_next_run_at == E + 480
    assert_run_shape(plan.runs[0], task, now)


def test_on_time_cron_in_a_zone_moves_to_its_next_local_occurrence() -> None:
    # */7 in Asia/Kathmandu (+05:45): 09:00Z is 14:45 local (45 % 7 != 0); the
    # first */7 local minute after 14:45 is 14:49 = 09:04Z, then 14:56 = 09:11Z.
    first = E + 4 * 60
    task = cron_task("*/7 * * * *", "Asia/Kathmandu", first=first)
    plan = plan_claim(task, T)
    assert statuses(plan) == [(RunStatus.QUEUED, first)]
    assert plan.new_next_run_at == E + 11 * 60
    # ... and across the local hour boundary: 14:56 -> 15:00 (4 minutes, not 7).
    plan = plan_claim(task.model_copy(update={"next_run_at": E + 11 * 60}), T)
    assert plan.new_next_run_at == E + 15 * 60


def test_plan_claim_does_not_mutate_the_task() -> None:
    task = interval_task(60, policies={"misfire": "catch_up", "max_runs": 3})
    before = task.model_dump()
    plan_claim(task, T + timedelta(seconds=OUTAGE))
    assert task.model_dump() == before


# ---- the grace boundary ------------------------------------------------------


@pytest.mark.parametrize("policy", ["skip", "run_once", "catch_up"])
def test_exactly_grace_late_is_still_on_time(policy: str) -> None:
    task = interval_task(60, policies={"misfire": policy})
    plan = plan_claim(task, T + timedelta(seconds=GRACE))
    assert statuses(plan) == [(RunStatus.QUEUED, E)]
    assert plan.new_next_run_at == E + 60


def test_one_second_past_grace_is_a_misfire() -> None:
    task = interval_task(60, policies={"misfire": "skip"})
    now = T + timedelta(seconds=GRACE + 1)
    plan = plan_claim(task, now)
    assert statuses(plan) == [(RunStatus.MISSED, E)]
    assert plan.runs[0].reason == missed_reason(1, E, "skip")
    assert plan.queued == []
    # E+60 is only 241 s late: inside the grace, it is the next to claim.
    assert plan.new_next_run_at == E + 60
    assert_run_shape(plan.runs[0], task, now)


@pytest.mark.parametrize(
    ("grace", "late", "misfire"), [(0, 0, False), (0, 1, True), (3600, 3600, False), (3600, 3601, True)]
)
def test_custom_grace(grace: int, late: int, misfire: bool) -> None:
    task = interval_task(600, policies={"misfire": "skip", "misfire_grace_seconds": grace})
    plan = plan_claim(task, T + timedelta(seconds=late))
    expected = RunStatus.MISSED if misfire else RunStatus.QUEUED
    assert statuses(plan) == [(expected, E)]
    if misfire:
        assert plan.runs[0].reason == missed_reason(1, E, "skip", grace=grace)
    assert plan.new_next_run_at == E + 600


# ---- a two-hour outage of a 1-minute interval task -----------------------------
# Occurrences E, E+60, ...; now = E+7200; late limit = now - 300 = E+6900.
# Misfired: [E, E+6900) = E + 60*k for k in 0..114 -> 115 occurrences.
# Still inside the grace: E+6900 .. E+7200 (the next claims, on time).


def test_outage_skip_one_missed_row_counting_every_occurrence() -> None:
    task = interval_task(60, policies={"misfire": "skip"})
    now = T + timedelta(seconds=OUTAGE)
    plan = plan_claim(task, now)
    assert plan.queued == []
    assert statuses(plan) == [(RunStatus.MISSED, E)]
    assert plan.runs[0].reason == missed_reason(115, E, "skip")
    assert plan.new_next_run_at == E + 6900
    assert_run_shape(plan.runs[0], task, now)


def test_outage_run_once_runs_the_first_missed_and_records_the_rest() -> None:
    task = interval_task(60, policies={"misfire": "run_once"})
    now = T + timedelta(seconds=OUTAGE)
    plan = plan_claim(task, now)
    assert statuses(plan) == [(RunStatus.QUEUED, E), (RunStatus.MISSED, E + 60)]
    assert plan.runs[1].reason == missed_reason(114, E + 60, "run_once")
    assert [r.id for r in plan.queued] == [scheduled_run_id(task.id, E)]
    assert plan.new_next_run_at == E + 6900
    for run in plan.runs:
        assert_run_shape(run, task, now)


def test_outage_catch_up_is_bounded_by_catch_up_max() -> None:
    task = interval_task(60, policies={"misfire": "catch_up", "catch_up_max": 10})
    now = T + timedelta(seconds=OUTAGE)
    plan = plan_claim(task, now)
    assert statuses(plan) == [(RunStatus.QUEUED, E + 60 * k) for k in range(10)] + [(RunStatus.MISSED, E + 600)]
    assert plan.runs[-1].reason == missed_reason(105, E + 600, "catch_up")
    assert plan.new_next_run_at == E + 6900


def test_outage_catch_up_at_its_maximum_bound() -> None:
    task = interval_task(60, policies={"misfire": "catch_up", "catch_up_max": 100})
    plan = plan_claim(task, T + timedelta(seconds=OUTAGE))
    assert len(plan.queued) == 100
    assert [to_epoch(r.scheduled_for) for r in plan.queued] == [E + 60 * k for k in range(100)]
    assert statuses(plan)[-1] == (RunStatus.MISSED, E + 6000)
    assert plan.runs[-1].reason == missed_reason(15, E + 6000, "catch_up")


def test_catch_up_with_fewer_misses_than_its_bound_runs_them_all_and_records_nothing() -> None:
    task = interval_task(60, policies={"misfire": "catch_up", "catch_up_max": 10})
    # late limit = E+180: misfired E, E+60, E+120.
    plan = plan_claim(task, T + timedelta(seconds=GRACE + 180))
    assert statuses(plan) == [(RunStatus.QUEUED, E), (RunStatus.QUEUED, E + 60), (RunStatus.QUEUED, E + 120)]
    assert plan.new_next_run_at == E + 180


def test_run_once_with_a_single_misfire_writes_no_missed_row() -> None:
    task = interval_task(60, policies={"misfire": "run_once"})
    plan = plan_claim(task, T + timedelta(seconds=GRACE + 1))  # late limit E+1: only E misfired
    assert statuses(plan) == [(RunStatus.QUEUED, E)]
    assert plan.new_next_run_at == E + 60


# ---- a two-hour outage of a */5 cron task ---------------------------------------
# Occurrences every 300 s from E; misfired: [E, E+6900) -> E + 300*k, k in 0..22 -> 23.


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kathmandu", "America/St_Johns"])
def test_outage_of_a_five_minute_cron(zone: str) -> None:
    # Every offset in use is a whole number of 15 minutes, so */5 local is */5 UTC.
    assert brute_force_cron_minutes(E, E + 6900, zone, 5) == [E + 300 * k for k in range(23)]
    now = T + timedelta(seconds=OUTAGE)

    skip = plan_claim(cron_task("*/5 * * * *", zone, policies={"misfire": "skip"}), now)
    assert statuses(skip) == [(RunStatus.MISSED, E)]
    assert skip.runs[0].reason == missed_reason(23, E, "skip")
    assert skip.new_next_run_at == E + 6900

    once = plan_claim(cron_task("*/5 * * * *", zone, policies={"misfire": "run_once"}), now)
    assert statuses(once) == [(RunStatus.QUEUED, E), (RunStatus.MISSED, E + 300)]
    assert once.runs[1].reason == missed_reason(22, E + 300, "run_once")
    assert once.new_next_run_at == E + 6900

    catch = plan_claim(cron_task("*/5 * * * *", zone, policies={"misfire": "catch_up", "catch_up_max": 10}), now)
    assert statuses(catch) == [(RunStatus.QUEUED, E + 300 * k) for k in range(10)] + [(RunStatus.MISSED, E + 3000)]
    assert catch.runs[-1].reason == missed_reason(13, E + 3000, "catch_up")
    assert catch.new_next_run_at == E + 6900


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kathmandu", "Pacific/Chatham"])
def test_outage_of_a_seven_minute_cron_matches_a_brute_force_count(zone: str) -> None:
    # */7 restarts at every local hour (…, :49, :56, :00), so its count depends
    # on the zone's offset; the oracle walks the minutes itself.
    now_epoch = E + OUTAGE
    occurrences = brute_force_cron_minutes(E, now_epoch + 3600, zone, 7)
    first = occurrences[0]
    task = cron_task("*/7 * * * *", zone, first=first, policies={"misfire": "run_once"})
    plan = plan_claim(task, from_epoch(now_epoch))
    misfired = [t for t in occurrences if t < now_epoch - GRACE]
    assert 17 <= len(misfired) <= 19
    assert statuses(plan) == [(RunStatus.QUEUED, misfired[0]), (RunStatus.MISSED, misfired[1])]
    assert plan.runs[1].reason == missed_reason(len(misfired) - 1, misfired[1], "run_once")
    assert plan.new_next_run_at == next(t for t in occurrences if t >= now_epoch - GRACE)


# ---- very long outages --------------------------------------------------------------


def test_counting_misses_is_capped_and_says_at_least() -> None:
    task = interval_task(60, policies={"misfire": "skip"})
    now = T + timedelta(days=30)
    plan = plan_claim(task, now)
    assert statuses(plan) == [(RunStatus.MISSED, E)]
    assert plan.runs[0].reason == missed_reason(MAX_MISSED_COUNTED, E, "skip", at_least=True)
    # The cap bounds the counting, never where the schedule resumes.
    assert plan.new_next_run_at == to_epoch(now) - GRACE


def test_just_under_the_cap_is_an_exact_count() -> None:
    # 9,999 misfired occurrences: late limit = E + 9999*60.
    task = interval_task(60, policies={"misfire": "skip"})
    now_epoch = E + 9999 * 60 + GRACE
    plan = plan_claim(task, from_epoch(now_epoch))
    assert plan.runs[0].reason == missed_reason(9999, E, "skip")
    assert plan.new_next_run_at == E + 9999 * 60


# ---- max_runs ------------------------------------------------------------------------


def test_max_runs_last_allowed_run_ends_the_schedule() -> None:
    task = interval_task(60, policies={"max_runs": 3}, runs_scheduled=2)
    plan = plan_claim(task, T)
    assert statuses(plan) == [(RunStatus.QUEUED, E)]
    assert plan.new_next_run_at is None


def test_max_runs_not_yet_reached_keeps_the_schedule() -> None:
    task = interval_task(60, policies={"max_runs": 3}, runs_scheduled=1)
    plan = plan_claim(task, T)
    assert statuses(plan) == [(RunStatus.QUEUED, E)]
    assert plan.new_next_run_at == E + 60


def test_max_runs_already_reached_queues_nothing_and_ends() -> None:
    # e.g. max_runs lowered by an edit below what already ran.
    task = interval_task(60, policies={"max_runs": 2}, runs_scheduled=5)
    plan = plan_claim(task, T)
    assert plan.runs == []
    assert plan.new_next_run_at is None


def test_max_runs_drops_the_surplus_of_a_catch_up() -> None:
    task = interval_task(60, policies={"misfire": "catch_up", "catch_up_max": 10, "max_runs": 3})
    plan = plan_claim(task, T + timedelta(seconds=OUTAGE))
    assert [to_epoch(r.scheduled_for) for r in plan.queued] == [E, E + 60, E + 120]
    assert plan.new_next_run_at is None


def test_max_runs_ending_the_schedule_reports_no_occurrence_after_the_end_as_missed() -> None:
    task = interval_task(60, policies={"misfire": "catch_up", "catch_up_max": 10, "max_runs": 3})
    plan = plan_claim(task, T + timedelta(seconds=OUTAGE))
    assert plan.new_next_run_at is None
    # The schedule's life was 3 runs, all queued: nothing of it was missed.
    assert [run.status for run in plan.runs] == [RunStatus.QUEUED] * 3


def test_max_runs_counts_only_queued_runs_not_missed_rows() -> None:
    # skip: nothing runs, so the budget of 1 run is untouched and the schedule goes on.
    task = interval_task(60, policies={"misfire": "skip", "max_runs": 1})
    plan = plan_claim(task, T + timedelta(seconds=OUTAGE))
    assert statuses(plan) == [(RunStatus.MISSED, E)]
    assert plan.new_next_run_at == E + 6900


# ---- once schedules ---------------------------------------------------------------


def once_task(**kwargs: Any) -> Task:
    return make_task({"type": "once", "at": T.isoformat()}, now=T - timedelta(hours=1), **kwargs)


def test_once_on_time_runs_and_ends() -> None:
    task = once_task()
    assert task.next_run_at == E
    plan = plan_claim(task, T - timedelta(seconds=100))
    assert statuses(plan) == [(RunStatus.QUEUED, E)]
    assert plan.new_next_run_at is None


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("skip", [(RunStatus.MISSED, E)]), ("run_once", [(RunStatus.QUEUED, E)]), ("catch_up", [(RunStatus.QUEUED, E)])],
)
def test_once_after_an_outage(policy: str, expected: list[tuple[RunStatus, int]]) -> None:
    plan = plan_claim(once_task(policies={"misfire": policy}), T + timedelta(seconds=OUTAGE))
    assert statuses(plan) == expected
    if policy == "skip":
        assert plan.runs[0].reason == missed_reason(1, E, "skip")
    assert plan.new_next_run_at is None


# ---- start/end bounds -------------------------------------------------------------------


def test_end_at_ends_the_schedule_at_its_last_occurrence() -> None:
    extra = {"end_at": at(E + 120).isoformat()}  # inclusive: E, E+60, E+120
    task = interval_task(60, schedule_extra=extra)
    assert plan_claim(task, T).new_next_run_at == E + 60
    last = plan_claim(task.model_copy(update={"next_run_at": E + 120}), T)
    assert statuses(last) == [(RunStatus.QUEUED, E + 120)]
    assert last.new_next_run_at is None


@pytest.mark.parametrize(
    ("policy", "expected", "reason"),
    [
        ("skip", [(RunStatus.MISSED, E)], (11, E)),
        ("run_once", [(RunStatus.QUEUED, E), (RunStatus.MISSED, E + 60)], (10, E + 60)),
        ("catch_up", [(RunStatus.QUEUED, E + 60 * k) for k in range(10)] + [(RunStatus.MISSED, E + 600)], (1, E + 600)),
    ],
)
def test_an_outage_past_end_at_counts_only_occurrences_inside_the_bounds(
    policy: str, expected: list[tuple[RunStatus, int]], reason: tuple[int, int]
) -> None:
    # end_at = E+600: 11 occurrences in all (E .. E+600), all misfired by the outage.
    task = interval_task(60, schedule_extra={"end_at": at(E + 600).isoformat()}, policies={"misfire": policy})
    plan = plan_claim(task, T + timedelta(seconds=OUTAGE))
    assert statuses(plan) == expected
    assert plan.runs[-1].reason == missed_reason(*reason, policy)
    assert plan.new_next_run_at is None


def test_start_at_anchors_interval_occurrences() -> None:
    start = E + 45
    task = make_task(
        {"type": "interval", "every_seconds": 90, "start_at": at(start).isoformat()},
        now=T,
        created_at=T - timedelta(days=1),
    )
    assert task.next_run_at == start
    plan = plan_claim(task, T)
    assert statuses(plan) == [(RunStatus.QUEUED, start)]
    assert plan.new_next_run_at == start + 90
