"""The ``aws`` kind: EventBridge Scheduler's cron(...), rate(...) and at(...) expressions,
checked against the examples of EventBridge's documentation ("Cron expressions
reference", "Schedule types in EventBridge Scheduler") with their documented meaning."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from agentcron.schedules import (
    AwsSchedule,
    ScheduleAdapter,
    annotated_occurrences,
    describe,
    from_epoch,
    next_occurrences,
    to_epoch,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

# A Tuesday, so weekday examples start mid-week.
AFTER = datetime(2026, 12, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def aws(expression: str, timezone: str = "UTC", **extra: Any) -> AwsSchedule:
    schedule = ScheduleAdapter.validate_python({"type": "aws", "expression": expression, "timezone": timezone, **extra})
    assert isinstance(schedule, AwsSchedule)
    return schedule


def walls(schedule: AwsSchedule, count: int, after: datetime = AFTER) -> list[datetime]:
    zone = ZoneInfo(schedule.timezone)
    return [at.astimezone(zone).replace(tzinfo=None) for at in next_occurrences(schedule, after, count, anchor=after)]


def local(day: int, hour: int, minute: int = 0, month: int = 12, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute)


# ---- the documented cron examples -------------------------------------------------------

# (expression, its documented meaning, the first wall times after 2026-12-01 00:00 that meaning gives)
DOCUMENTED_CRONS = [
    ("cron(0 10 * * ? *)", "10:00 every day", [local(1, 10), local(2, 10), local(3, 10)]),
    ("cron(15 12 * * ? *)", "12:15 every day", [local(1, 12, 15), local(2, 12, 15), local(3, 12, 15)]),
    (
        "cron(0 18 ? * MON-FRI *)",
        "18:00 every Monday through Friday",
        [local(1, 18), local(2, 18), local(3, 18), local(4, 18), local(7, 18)],
    ),
    ("cron(0 8 1 * ? *)", "08:00 on the first day of every month", [local(1, 8), local(1, 8, month=1, year=2027)]),
    ("cron(0/15 * * * ? *)", "every 15 minutes", [local(1, 0, 15), local(1, 0, 30), local(1, 0, 45), local(1, 1)]),
    (
        "cron(0/10 * ? * MON-FRI *)",
        "every 10 minutes Monday through Friday",
        [local(1, 0, 10), local(1, 0, 20), local(1, 0, 30)],
    ),
    (
        "cron(0/5 8-17 ? * MON-FRI *)",
        "every 5 minutes Monday through Friday between 08:00 and 17:55",
        [local(1, 8), local(1, 8, 5), local(1, 8, 10)],
    ),
    ("cron(0 9 ? * 2#1 *)", "09:00 on the first Monday of each month", [local(7, 9), local(4, 9, month=1, year=2027)]),
    # The wildcard reference's own examples.
    (
        "cron(1/10 * * * ? *)",
        "every tenth minute from the first minute of the hour (11th, 21st, 31st, ...)",
        [local(1, 0, 1), local(1, 0, 11), local(1, 0, 21), local(1, 0, 31)],
    ),
    (
        "cron(0 9 ? * 3#2 *)",
        "09:00 on the second Tuesday of the month",
        [local(8, 9), local(12, 9, month=1, year=2027)],
    ),
    ("cron(0 9 L * ? *)", "09:00 on the last day of the month", [local(31, 9), local(31, 9, month=1, year=2027)]),
    ("cron(0 9 ? * L *)", "09:00 on the last day of the week (Saturday)", [local(5, 9), local(12, 9)]),
    ("cron(0 9 ? * 6L *)", "09:00 on the last Friday of the month", [local(25, 9), local(29, 9, month=1, year=2027)]),
    # 3 January 2027 is a Sunday: the weekday closest to it is Monday the 4th.
    ("cron(0 9 3W * ? *)", "09:00 on the weekday closest to the third", [local(3, 9), local(4, 9, month=1, year=2027)]),
    (
        "cron(0 10,15 * JAN,FEB,MAR ? *)",
        "10:00 and 15:00 in January, February and March",
        [local(1, 10, month=1, year=2027), local(1, 15, month=1, year=2027)],
    ),
    ("cron(0 9 1-15 * ? 2027)", "09:00 on days 1 through 15, in 2027 only", [local(1, 9, month=1, year=2027)]),
]


@pytest.mark.parametrize(("expression", "meaning", "expected"), DOCUMENTED_CRONS, ids=[c[0] for c in DOCUMENTED_CRONS])
def test_documented_cron_examples_mean_what_the_documentation_says(
    expression: str, meaning: str, expected: list[datetime]
) -> None:
    schedule = aws(expression)
    assert walls(schedule, len(expected)) == expected, meaning
    assert schedule.expression == expression, "the task keeps what the user wrote"


def test_day_of_week_counts_from_sunday_as_one() -> None:
    # 1 = SUN, 2 = MON, ... 7 = SAT, unlike classic cron's 0-6.
    for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1):
        by_number = walls(aws(f"cron(0 9 ? * {number} *)"), 2)
        assert by_number == walls(aws(f"cron(0 9 ? * {name} *)"), 2)
        assert all(d.strftime("%a").upper() == name for d in by_number)
    assert walls(aws("cron(0 9 ? * 2-6 *)"), 10) == walls(aws("cron(0 9 ? * MON-FRI *)"), 10)


def test_the_schedule_is_evaluated_in_its_time_zone() -> None:
    berlin = aws("cron(0 9 ? * MON-FRI *)", "Europe/Berlin")
    assert next_occurrences(berlin, AFTER, 1) == [datetime(2026, 12, 1, 8, tzinfo=UTC)]  # 09:00 CET
    summer = next_occurrences(berlin, datetime(2027, 7, 1, tzinfo=UTC), 1)
    assert summer == [datetime(2027, 7, 1, 7, tzinfo=UTC)]  # 09:00 CEST


# ---- rate and at -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "seconds", "described"),
    [
        ("rate(5 minutes)", 300, "Every 5 minutes"),
        ("rate(1 minute)", 60, "Every minute"),
        ("rate(1 hour)", 3_600, "Every hour"),
        ("rate(12 hours)", 43_200, "Every 12 hours"),
        ("rate(1 day)", 86_400, "Every day"),
        ("rate(7 days)", 604_800, "Every week"),
    ],
)
def test_a_rate_runs_every_so_long_from_its_start(expression: str, seconds: int, described: str) -> None:
    start = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    schedule = aws(expression, "Europe/Berlin", start_at=start.isoformat())
    assert next_occurrences(schedule, start - MINUTE, 3) == [start + i * timedelta(seconds=seconds) for i in range(3)]
    # Without a start it begins when the task is created (EventBridge: "immediately").
    created = datetime(2026, 12, 2, 7, 1, 2, tzinfo=UTC)
    anchored = aws(expression)
    assert next_occurrences(anchored, created - MINUTE, 2, anchor=created) == [
        created,
        created + timedelta(seconds=seconds),
    ]
    assert describe(anchored) == f"{described} starting when the task is created"


def test_a_day_of_rate_is_24_hours_whatever_the_clocks_do() -> None:
    start = datetime(2027, 3, 27, 8, tzinfo=UTC)  # 09:00 CET, the day before the clocks go forward
    found = next_occurrences(aws("rate(1 day)", "Europe/Berlin", start_at=start.isoformat()), start - MINUTE, 2)
    assert found == [start, start + timedelta(hours=24)]  # 10:00 CEST on the 28th


def test_at_runs_once_at_that_wall_time_in_the_zone() -> None:
    schedule = aws("at(2027-01-01T09:00:00)", "Europe/Berlin")
    assert next_occurrences(schedule, AFTER, 3) == [datetime(2027, 1, 1, 8, tzinfo=UTC)]
    assert describe(schedule) == "Once at 2027-01-01 09:00:00 Europe/Berlin (2027-01-01T08:00:00Z)"
    assert aws("at(2027-01-01T09:00:00)").refusal(datetime(2027, 1, 2, tzinfo=UTC)) is not None
    assert schedule.refusal(AFTER) is None
    # A wall time the clocks skip runs at the instant the offset before the change names (03:30 CEST).
    gap = aws("at(2027-03-28T02:30:00)", "Europe/Berlin")
    assert next_occurrences(gap, AFTER, 1) == [datetime(2027, 3, 28, 1, 30, tzinfo=UTC)]


# ---- DST, described --------------------------------------------------------------------------


def test_an_aws_cron_follows_the_dst_policy_of_every_cron() -> None:
    fall_back = datetime(2026, 10, 25, tzinfo=UTC)
    quarter = aws("cron(0/15 * * * ? *)", "Europe/Berlin")  # a wildcard job: both passes of 02:xx
    assert (
        len([d for d in next_occurrences(quarter, fall_back - MINUTE, 12) if d < fall_back + 2 * timedelta(hours=1)])
        == 8
    )
    daily = aws("cron(30 2 * * ? *)", "Europe/Berlin")
    assert next_occurrences(daily, fall_back - MINUTE, 1) == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]
    both = aws("cron(30 2 * * ? *)", "Europe/Berlin", dst={"repeated_hour": "both"})
    found = annotated_occurrences(both, fall_back - MINUTE, 2)
    assert [(at, change and change.change) for at, change in found] == [
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "doubled"),
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "doubled"),
    ]


def test_descriptions_say_the_meaning_and_the_zone() -> None:
    assert describe(aws("cron(0 9 ? * MON-FRI *)", "Europe/Berlin")) == (
        "At 09:00, Monday through Friday (Europe/Berlin)"
    )
    assert describe(aws("cron(0 9 ? * 2#1 *)")) == "At 09:00, on the first Monday of the month (UTC)"
    assert describe(aws("cron(0 10 * * ? 2030)")) == "At 10:00, in 2030 (UTC)"


# ---- refused, with a message naming what is wrong ------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 9 * * 1-5", "must be cron(...), rate(...) or at(...)"),
        ("cron(0 9 * * 1-5)", "6 fields"),
        ("cron(0 9 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 9 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 9 ? * 0 *)", "day-of-week field: 0 is out of range 1-7"),
        ("cron(0 9 ? * 8 *)", "out of range 1-7"),
        ("cron(60 9 * * ? *)", "minutes field: 60 is out of range 0-59"),
        ("cron(0 24 * * ? *)", "hours field: 24 is out of range 0-23"),
        ("cron(0 9 32 * ? *)", "day-of-month field: 32 is out of range 1-31"),
        ("cron(0 9 * 13 ? *)", "month field: 13 is out of range 1-12"),
        ("cron(0 9 * * ? 1969)", "year field: 1969 is out of range 1970-2199"),
        ("cron(0 9 * * ? 2150)", "years after 2099 are not supported"),
        ("cron(0 9 ? * 2/2 *)", "day-of-week field '2/2': '/' is not allowed here"),
        ("cron(0 9 W * ? *)", "day-of-month field: 'W' is not a value"),
        ("cron(*/0 9 * * ? *)", "the step must be at least 1"),
        ("cron(0 9 ? * 3#1,6#3 *)", "with '#' it holds a single expression"),
        ("cron(0 9 ? * 2#6 *)", "the week after # must be 1-5"),
        ("cron(0 9 30 FEB ? *)", "never matches a real date"),
        ("cron(0 17-9 * * ? *)", "runs backwards"),
        ("cron(0 9 LW * ? *)", "'LW' (the last weekday) is not supported"),
        ("cron(0 9 ? * FOO *)", "day-of-week field: 'FOO' is not a value"),
        ("cron(0 9 ? * X *)", "day-of-week field 'X': 'X' is not allowed here"),
        ("rate(5)", "rate() takes a value and a unit"),
        ("rate(5 weeks)", "rate() takes a value and a unit"),
        ("rate(0 minutes)", "positive value"),
        ("rate(1 minutes)", "with 1 the unit is 'minute'"),
        ("rate(5 minute)", "with 5 the unit is 'minutes'"),
        ("rate(30 seconds)", "rate() takes a value and a unit"),
        ("rate(400 days)", "longer than 366 days"),
        ("at(2027-01-01 09:00:00)", "at() takes a local date and time"),
        ("at(2027-02-30T09:00:00)", "is not a real date and time"),
        ("at(2027-01-01T09:00:00Z)", "at() takes a local date and time"),
        ("at(2300-01-01T09:00:00)", "must be between"),
    ],
)
def test_a_bad_expression_is_refused_naming_the_expression(expression: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        aws(expression)
    [error] = caught.value.errors()
    assert error["loc"] == ("aws", "expression"), error
    assert message in error["msg"], error["msg"]


def test_dst_goes_with_cron_expressions_only() -> None:
    with pytest.raises(ValidationError) as caught:
        aws("rate(5 minutes)", dst={"repeated_hour": "both"})
    [error] = caught.value.errors()
    assert error["loc"] == ("aws", "dst") and "cron(...) expressions only" in error["msg"]


def test_a_cron_whose_years_are_over_is_refused_for_a_task() -> None:
    past = aws("cron(0 9 * * ? 2020)")
    refusal = past.refusal(AFTER)
    assert refusal is not None and refusal[0] == "expression" and "2020" in refusal[1]
    assert aws("cron(0 9 * * ? 2020-2030)").refusal(AFTER) is None


# ---- the translation, against classic cron -------------------------------------------------


def _field(values: set[int]) -> str:
    return ",".join(map(str, sorted(values)))


@settings(max_examples=120, deadline=None)
@given(
    minutes=st.sets(st.integers(0, 59), min_size=1, max_size=4),
    hours=st.one_of(st.none(), st.sets(st.integers(0, 23), min_size=1, max_size=3)),
    days=st.one_of(st.none(), st.sets(st.integers(1, 31), min_size=1, max_size=3)),
    weekdays=st.sets(st.integers(0, 6), min_size=1, max_size=3),
    months=st.one_of(st.none(), st.sets(st.integers(1, 12), min_size=1, max_size=3)),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]),
    after=st.integers(to_epoch(datetime(2025, 1, 1, tzinfo=UTC)), to_epoch(datetime(2028, 1, 1, tzinfo=UTC))),
)
def test_an_aws_cron_runs_when_its_classic_cron_does(
    minutes: set[int],
    hours: set[int] | None,
    days: set[int] | None,
    weekdays: set[int],
    months: set[int] | None,
    zone: str,
    after: int,
) -> None:
    hour = "*" if hours is None else _field(hours)
    month = "*" if months is None else _field(months)
    # EventBridge takes either days of the month or days of the week, the other being '?'.
    if days is not None:
        classic_days, aws_days = f"{_field(days)} {month} *", f"{_field(days)} {month} ?"
    else:
        classic_days, aws_days = f"* {month} {_field(weekdays)}", f"? {month} {_field({d + 1 for d in weekdays})}"
    expression = f"cron({_field(minutes)} {hour} {aws_days} *)"
    try:
        classic = ScheduleAdapter.validate_python(
            {"type": "cron", "expression": f"{_field(minutes)} {hour} {classic_days}", "timezone": zone}
        )
    except ValidationError:  # a day that never comes (31 in April): refused both ways
        with pytest.raises(ValidationError, match="never matches"):
            aws(expression, zone)
        return
    start = from_epoch(after)
    assert next_occurrences(aws(expression, zone), start, 10) == next_occurrences(classic, start, 10), expression
