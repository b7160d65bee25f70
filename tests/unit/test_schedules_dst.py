"""The DST policy of cron-based schedules (agentcron.schedules.wallclock): Debian cron's
rule by default (wildcard jobs keep their cadence in real time, fixed-time jobs run
once per local time), `dst.repeated_hour` to choose, and what a preview says about it."""

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from agentcron.schedules import ScheduleAdapter, annotated_occurrences, next_occurrences
from agentcron.schedules.wallclock import is_wildcard_job
from pydantic import ValidationError

BERLIN = "Europe/Berlin"
# 2026-10-25: 03:00 CEST (+2) becomes 02:00 CET (+1) at 01:00Z, so 02:00-02:59 happens twice.
FALL_BACK = datetime(2026, 10, 25, 1, tzinfo=UTC)
# 2027-03-28: 02:00 CET (+1) becomes 03:00 CEST (+2) at 01:00Z, so 02:00-02:59 never happens.
SPRING_FORWARD = datetime(2027, 3, 28, 1, tzinfo=UTC)
QUARTER = timedelta(minutes=15)


def utc(day: int, month: int, hour: int, minute: int = 0, year: int | None = None) -> datetime:
    return datetime(year or (2026 if month == 10 else 2027), month, day, hour, minute, tzinfo=UTC)


def schedule(expression: str, repeated_hour: str | None = None, **extra: Any) -> Any:
    data: dict[str, Any] = {"type": "cron", "expression": expression, "timezone": BERLIN, **extra}
    if repeated_hour is not None:
        data["dst"] = {"repeated_hour": repeated_hour}
    return ScheduleAdapter.validate_python(data)


def between(found: list[datetime], start: datetime, stop: datetime) -> list[datetime]:
    return [at for at in found if start <= at < stop]


# ---- Debian's classification -----------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "wildcard"),
    [
        ("*/15 * * * *", True),
        ("30 * * * *", True),
        ("0 */2 * * *", True),
        ("*/5 2 * * *", True),  # '*' in the minute field is enough (MIN_STAR)
        ("* 2 * * *", True),
        ("30 2 * * *", False),
        ("0 8-17 * * *", False),  # a range is a list of fixed hours
        ("0 1,2,3 * * *", False),
        ("0 9 * * 1-5", False),
    ],
)
def test_a_job_is_a_wildcard_job_when_its_minute_or_hour_field_starts_with_a_star(
    expression: str, wildcard: bool
) -> None:
    assert is_wildcard_job(expression) is wildcard


# ---- the repeated hour (fall back) ---------------------------------------------------------


def test_a_quarter_hourly_job_keeps_its_cadence_in_real_time_through_the_repeated_hour() -> None:
    found = next_occurrences(schedule("*/15 * * * *"), FALL_BACK - 2 * timedelta(hours=1), 16)
    # 8 runs cover both passes of 02:00-02:45: 00:00-00:45Z (CEST) and 01:00-01:45Z (CET).
    both_passes = between(found, utc(25, 10, 0), utc(25, 10, 2))
    assert both_passes == [utc(25, 10, 0) + i * QUARTER for i in range(8)]
    assert all(b - a == QUARTER for a, b in itertools.pairwise(found))


def test_an_hourly_wildcard_job_runs_in_both_passes_of_the_repeated_hour() -> None:
    found = next_occurrences(schedule("30 * * * *"), utc(24, 10, 23), 4)
    assert found == [utc(24, 10, 23, 30), utc(25, 10, 0, 30), utc(25, 10, 1, 30), utc(25, 10, 2, 30)]
    hourly = ScheduleAdapter.validate_python({"type": "preset", "preset": "hourly", "timezone": BERLIN})
    # Debian counts @hourly among the wildcard jobs.
    assert next_occurrences(hourly, utc(24, 10, 23), 3) == [utc(25, 10, 0), utc(25, 10, 1), utc(25, 10, 2)]


def test_a_fixed_time_job_runs_once_in_the_repeated_hour() -> None:
    found = next_occurrences(schedule("30 2 * * *"), utc(24, 10, 0), 3)
    assert found == [utc(24, 10, 0, 30), utc(25, 10, 0, 30), utc(26, 10, 1, 30)]
    daily = ScheduleAdapter.validate_python({"type": "preset", "preset": "daily", "timezone": BERLIN})
    assert next_occurrences(daily, utc(24, 10, 0), 2) == [utc(24, 10, 22), utc(25, 10, 23)]


def test_both_runs_a_fixed_time_twice_and_once_runs_a_wildcard_job_once() -> None:
    twice = next_occurrences(schedule("30 2 * * *", "both"), utc(24, 10, 0), 4)
    assert twice == [utc(24, 10, 0, 30), utc(25, 10, 0, 30), utc(25, 10, 1, 30), utc(26, 10, 1, 30)]
    once = next_occurrences(schedule("*/15 * * * *", "once"), utc(25, 10, 0) - QUARTER, 8)
    # 02:00-02:45 CEST, then 03:00 CET: the second pass (01:00-01:45Z) does not run.
    assert once == [utc(25, 10, 0) + i * QUARTER for i in range(4)] + [utc(25, 10, 2) + i * QUARTER for i in range(4)]
    assert next_occurrences(schedule("30 2 * * *", "auto"), utc(24, 10, 0), 3) == next_occurrences(
        schedule("30 2 * * *"), utc(24, 10, 0), 3
    )


# ---- the skipped hour (spring forward) -----------------------------------------------------


def test_a_quarter_hourly_job_keeps_its_cadence_in_real_time_through_the_gap() -> None:
    for policy in (None, "once", "both"):
        found = next_occurrences(schedule("*/15 * * * *", policy), SPRING_FORWARD - timedelta(hours=1), 8)
        # 01:00-01:45 CET, then 03:00 CEST: never a gap in real time, never a doubled instant.
        assert found == [SPRING_FORWARD - timedelta(hours=1) + (i + 1) * QUARTER for i in range(8)], policy


def test_a_fixed_time_job_in_the_gap_runs_once_after_the_change() -> None:
    for policy in (None, "once", "both"):
        found = next_occurrences(schedule("30 2 * * *", policy), utc(27, 3, 0), 3)
        # 02:30 does not exist on the 28th: it runs at 03:30 CEST (01:30Z), once.
        assert found == [utc(27, 3, 1, 30), utc(28, 3, 1, 30), utc(29, 3, 0, 30)], policy


# ---- what a preview says -------------------------------------------------------------------


def test_the_preview_flags_each_occurrence_the_rule_touched() -> None:
    doubled = annotated_occurrences(schedule("30 2 * * *", "both"), utc(24, 10, 12), 3)
    assert [(at, change and change.change) for at, change in doubled] == [
        (utc(25, 10, 0, 30), "doubled"),
        (utc(25, 10, 1, 30), "doubled"),
        (utc(26, 10, 1, 30), None),
    ]
    first, second = doubled[0][1], doubled[1][1]
    assert first is not None and second is not None
    assert first.local_time == second.local_time == datetime(2026, 10, 25, 2, 30)
    assert "first" in first.note and "CEST" in first.note and "second" in second.note and "CET" in second.note

    [(at, once)] = annotated_occurrences(schedule("30 2 * * *"), utc(24, 10, 12), 1)
    assert at == utc(25, 10, 0, 30) and once is not None and once.change == "skipped"
    assert "twice" in once.note

    [(at, moved), (_, plain)] = annotated_occurrences(schedule("30 2 * * *"), utc(27, 3, 12), 2)
    assert at == utc(28, 3, 1, 30) and moved is not None and moved.change == "moved" and plain is None
    assert moved.local_time == datetime(2027, 3, 28, 2, 30) and "03:30 CEST" in moved.note

    quarters = annotated_occurrences(schedule("*/15 * * * *"), SPRING_FORWARD - QUARTER, 5)
    # 03:00-03:45 CEST also stand for the missing 02:00-02:45: they run once, and say so.
    assert [at for at, _ in quarters] == [SPRING_FORWARD + i * QUARTER for i in range(5)]
    assert [change and change.change for _, change in quarters] == ["skipped", "skipped", "skipped", "skipped", None]
    assert quarters[0][1] is not None and quarters[0][1].local_time == datetime(2027, 3, 28, 2, 0)


def test_occurrences_away_from_a_change_carry_no_flag() -> None:
    found = annotated_occurrences(schedule("*/15 * * * *"), utc(1, 6, 0), 20)
    assert [change for _, change in found] == [None] * 20


# ---- validation ----------------------------------------------------------------------------


def test_an_unknown_policy_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        schedule("30 2 * * *", "twice")
    [error] = caught.value.errors()
    assert error["loc"][-2:] == ("dst", "repeated_hour")
    with pytest.raises(ValidationError) as caught:
        schedule("30 2 * * *", dst={"repeated": "once"})
    assert caught.value.errors()[0]["loc"][-2:] == ("dst", "repeated")
