"""Unit tests for agentcron.schedules: validation, occurrences, DST handling, descriptions."""

import calendar
import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from agentcron.schedules import (
    MAX_COUNT,
    MAX_EPOCH,
    MAX_INTERVAL_SECONDS,
    CronSchedule,
    IntervalSchedule,
    ManualSchedule,
    OnceSchedule,
    PresetSchedule,
    Schedule,
    ScheduleAdapter,
    describe,
    from_epoch,
    next_occurrence,
    next_occurrences,
    to_epoch,
)
from croniter import croniter
from pydantic import ValidationError

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def parse(data: dict[str, Any]) -> Schedule:
    return ScheduleAdapter.validate_python(data)


def error_of(data: dict[str, Any]) -> tuple[tuple[str | int, ...], str]:
    """The single validation error of `data` as (loc, message)."""
    with pytest.raises(ValidationError) as caught:
        parse(data)
    errors = caught.value.errors()
    assert len(errors) == 1, errors
    return errors[0]["loc"], errors[0]["msg"]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def cron(expression: str, timezone: str = "UTC", **extra: Any) -> Schedule:
    return parse({"type": "cron", "expression": expression, "timezone": timezone, **extra})


# ---- DST transitions, looked up from the tz database rather than hard-coded ----------


@dataclass(frozen=True)
class Transition:
    instant: datetime  # first UTC instant with the new offset
    before: timedelta
    after: timedelta

    def local_day(self) -> date:
        return (self.instant + self.before).date()


def _offset(instant: datetime, zone: ZoneInfo) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


@cache
def transitions(zone_name: str, year: int) -> list[Transition]:
    zone = ZoneInfo(zone_name)
    found: list[Transition] = []
    probe = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    while probe < end:
        nxt = probe + HOUR
        if _offset(nxt, zone) != _offset(probe, zone):
            low, high = probe, nxt  # offset(low) is old, offset(high) is new
            while high - low > timedelta(seconds=1):
                mid = low + (high - low) / 2
                if _offset(mid, zone) == _offset(probe, zone):
                    low = mid
                else:
                    high = mid
            found.append(Transition(high, _offset(probe, zone), _offset(high, zone)))
        probe = nxt
    return found


def spring_forward(zone_name: str, year: int = 2026) -> Transition:
    [transition] = [t for t in transitions(zone_name, year) if t.after > t.before]
    return transition


def fall_back(zone_name: str, year: int = 2026) -> Transition:
    [transition] = [t for t in transitions(zone_name, year) if t.after < t.before]
    return transition


def nth_sunday(year: int, month: int, n: int) -> date:
    sundays = [week[calendar.SUNDAY] for week in calendar.monthcalendar(year, month) if week[calendar.SUNDAY]]
    return date(year, month, sundays[n])


def test_transition_lookup_agrees_with_the_published_rules() -> None:
    # EU: last Sunday of March / October; US: second Sunday of March / first of
    # November; Lord Howe: first Sunday of October / April.
    assert spring_forward("Europe/Berlin").local_day() == nth_sunday(2026, 3, -1)
    assert fall_back("Europe/Berlin").local_day() == nth_sunday(2026, 10, -1)
    assert spring_forward("America/New_York").local_day() == nth_sunday(2026, 3, 1)
    assert fall_back("America/New_York").local_day() == nth_sunday(2026, 11, 0)
    assert spring_forward("Australia/Lord_Howe").local_day() == nth_sunday(2026, 10, 0)
    assert fall_back("Australia/Lord_Howe").local_day() == nth_sunday(2026, 4, 0)
    lord_howe = spring_forward("Australia/Lord_Howe")
    assert lord_howe.after - lord_howe.before == timedelta(minutes=30)


def at_utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


# ---- validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ({"type": "cron", "expression": "0 9 * * 1-5", "timezone": "Europe/Berlin"}, CronSchedule),
        ({"type": "interval", "every_seconds": 14400, "start_at": "2026-12-01T09:00:00Z"}, IntervalSchedule),
        ({"type": "once", "at": "2026-12-01T09:00:00+01:00"}, OnceSchedule),
        ({"type": "preset", "preset": "daily", "timezone": "UTC"}, PresetSchedule),
        ({"type": "manual"}, ManualSchedule),
    ],
)
def test_design_examples_parse_to_their_type_and_round_trip(data: dict[str, Any], kind: type) -> None:
    schedule = parse(data)
    assert type(schedule) is kind
    dumped = ScheduleAdapter.dump_python(schedule, mode="json")
    assert dumped["type"] == data["type"]
    assert parse(dumped) == schedule


def test_datetimes_are_normalised_to_whole_utc_seconds() -> None:
    schedule = parse(
        {
            "type": "once",
            "at": "2026-12-01T09:00:00.987654+01:00",
            "start_at": "2026-11-30T20:00:00-05:00",
            "end_at": "2026-12-02T00:00:00+14:00",
        }
    )
    assert isinstance(schedule, OnceSchedule)
    assert schedule.at == utc(2026, 12, 1, 8, 0, 0)
    assert schedule.at.tzinfo is UTC
    assert schedule.start_at == utc(2026, 12, 1, 1, 0, 0)
    assert schedule.end_at == utc(2026, 12, 1, 10, 0, 0)
    assert ScheduleAdapter.dump_python(schedule, mode="json")["at"] == "2026-12-01T08:00:00Z"


def test_cron_expression_whitespace_is_normalised_and_defaults_apply() -> None:
    schedule = parse({"type": "cron", "expression": "  0\t9 *  * 1-5 "})
    assert isinstance(schedule, CronSchedule)
    assert schedule.expression == "0 9 * * 1-5"
    assert schedule.timezone == "UTC"
    assert schedule.start_at is None
    assert schedule.end_at is None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 * * * *", "minute field '61' is out of range 0-59"),
        ("0,61 * * * *", "minute field '0,61': 61 is out of range 0-59"),
        ("0 24 * * *", "hour field '24' is out of range 0-23"),
        ("0 0 0 * *", "day-of-month field '0' is out of range 1-31"),
        ("0 0 32 * *", "day-of-month field '32' is out of range 1-31"),
        ("0 0 * 13 *", "month field '13' is out of range 1-12"),
        ("0 0 * * 8", "day-of-week field '8' is out of range 0-7"),
        ("0 0 * * 1-9", "day-of-week field '1-9': 9 is out of range 0-7"),
        ("*/0 * * * *", "minute field '*/0': step '0' must be a whole number of at least 1"),
        ("*/x * * * *", "minute field '*/x': step 'x' must be a whole number of at least 1"),
        ("30-10 * * * *", "minute field '30-10': range 30-10 runs backwards"),
        ("0 0 * * fri-mon", "day-of-week field 'fri-mon': range fri-mon runs backwards"),
        ("1,,2 * * * *", "minute field '1,,2' has an empty list entry"),
        ("a * * * *", "minute field 'a' is not valid"),
        ("0 0 * * 5L", "day-of-week field '5L' is not valid"),
        ("0 0 * foo *", "month field 'foo' is not valid"),
        ("H * * * *", "minute field 'H': hashed (H) and random (R) values are not supported"),
        ("0 R * * *", "hour field 'R': hashed (H) and random (R) values are not supported"),
        ("0 0 30 2 *", "'0 0 30 2 *' never matches a real date"),
        ("0 0 31 4,6 *", "'0 0 31 4,6 *' never matches a real date"),
        ("", "expected 5 fields (minute hour day-of-month month day-of-week), got 0"),
        ("* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4"),
        ("0 * * * * *", "got 6; seconds and year fields are not supported"),
        ("0 0 * * * * 2026", "got 7; seconds and year fields are not supported"),
        ("@reboot", "'@reboot' is not supported"),
        ("@daily", "'@daily' is not supported; use 5 fields"),
    ],
)
def test_invalid_cron_expressions_say_what_is_wrong(expression: str, message: str) -> None:
    loc, msg = error_of({"type": "cron", "expression": expression})
    assert loc == ("cron", "expression")
    assert message in msg


@pytest.mark.parametrize(
    "expression",
    [
        "0 9 * * 1-5",
        "*/15 * * * *",
        "0 0 L * *",
        "0 0 * * 5#3",
        "0 0 1W * *",
        "0 0 * JAN,jul MON-FRI",
        "5 4 * * 7",
    ],
)
def test_valid_cron_expressions_are_accepted(expression: str) -> None:
    schedule = cron(expression)
    assert isinstance(schedule, CronSchedule)
    assert schedule.expression == expression


def test_overlong_strings_are_clean_validation_errors() -> None:
    loc, msg = error_of({"type": "cron", "expression": "0 " * 5000})
    assert loc == ("cron", "expression")
    assert "at most 100 characters" in msg
    loc, msg = error_of({"type": "cron", "expression": "0 0 * * *", "timezone": "A/" * 100})
    assert loc == ("cron", "timezone")
    assert "at most 64 characters" in msg


@pytest.mark.parametrize("zone", ["Mars/Olympus", "localtime", "posixrules", "Factory", "../etc/passwd", ""])
def test_unknown_time_zones_are_rejected(zone: str) -> None:
    for data in (
        {"type": "cron", "expression": "0 0 * * *", "timezone": zone},
        {"type": "preset", "preset": "daily", "timezone": zone},
    ):
        loc, msg = error_of(data)
        assert loc[-1] == "timezone"
        assert msg == f"Value error, unknown time zone '{zone}'"


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Etc/GMT+5"])
def test_known_time_zones_are_accepted(zone: str) -> None:
    schedule = parse({"type": "preset", "preset": "daily", "timezone": zone})
    assert isinstance(schedule, PresetSchedule)
    assert schedule.timezone == zone


@pytest.mark.parametrize(
    "data",
    [
        {"type": "once", "at": "2026-12-01T09:00:00"},
        {"type": "once", "at": datetime(2026, 12, 1, 9)},
        {"type": "manual", "start_at": "2026-12-01T09:00:00"},
        {"type": "interval", "every_seconds": 60, "end_at": "2026-12-01T09:00:00"},
        {"type": "cron", "expression": "0 0 * * *", "start_at": "2026-12-01"},
    ],
)
def test_naive_datetimes_are_rejected(data: dict[str, Any]) -> None:
    _, msg = error_of(data)
    assert "must include a UTC offset" in msg


@pytest.mark.parametrize("value", [1_700_000_000, 1.7e9, True, "1700000000", " 1700000000.5 "])
def test_numeric_datetimes_are_rejected(value: object) -> None:
    _, msg = error_of({"type": "once", "at": value})
    assert "not a number" in msg


@pytest.mark.parametrize("value", ["1969-12-31T23:59:59Z", "2286-11-20T17:46:40Z", "9999-12-31T23:59:59-12:00"])
def test_datetimes_outside_ten_digit_epochs_are_rejected(value: str) -> None:
    _, msg = error_of({"type": "once", "at": value})
    assert "must be between 1970-01-01T00:00:00Z and 2286-11-20T17:46:39Z" in msg


@pytest.mark.parametrize(
    ("every", "fragment"),
    [
        (59, "greater than or equal to 60"),
        (0, "greater than or equal to 60"),
        (-60, "greater than or equal to 60"),
        (MAX_INTERVAL_SECONDS + 1, f"less than or equal to {MAX_INTERVAL_SECONDS}"),
        ("3600", "valid integer"),
        (3600.0, "valid integer"),
        (True, "valid integer"),
    ],
)
def test_interval_bounds_and_type(every: object, fragment: str) -> None:
    loc, msg = error_of({"type": "interval", "every_seconds": every})
    assert loc == ("interval", "every_seconds")
    assert fragment in msg


def test_interval_limits_are_inclusive() -> None:
    low = parse({"type": "interval", "every_seconds": 60})
    high = parse({"type": "interval", "every_seconds": MAX_INTERVAL_SECONDS})
    assert isinstance(low, IntervalSchedule)
    assert isinstance(high, IntervalSchedule)
    assert (low.every_seconds, high.every_seconds) == (60, 366 * 86_400)


@pytest.mark.parametrize("end", ["2026-01-01T00:00:00Z", "2025-12-31T23:00:00Z", "2026-01-01T01:00:00+01:00"])
def test_end_must_be_after_start(end: str) -> None:
    _, msg = error_of({"type": "manual", "start_at": "2026-01-01T00:00:00Z", "end_at": end})
    assert "end_at must be after start_at" in msg


@pytest.mark.parametrize(
    ("data", "loc", "fragment"),
    [
        ({"type": "cron", "expression": "0 0 * * *", "tz": "UTC"}, ("cron", "tz"), "Extra inputs"),
        ({"type": "manual", "at": "2026-01-01T00:00:00Z"}, ("manual", "at"), "Extra inputs"),
        (
            {"type": "once", "at": "2026-01-01T00:00:00Z", "every_seconds": 60},
            ("once", "every_seconds"),
            "Extra",
        ),
        ({"type": "weekly"}, (), "does not match any of the expected tags"),
        ({"expression": "0 0 * * *"}, (), "Unable to extract tag using discriminator 'type'"),
        ({"type": "cron"}, ("cron", "expression"), "Field required"),
        ({"type": "cron", "expression": 5}, ("cron", "expression"), "valid string"),
        ({"type": "once"}, ("once", "at"), "Field required"),
        ({"type": "once", "at": "tomorrow"}, ("once", "at"), "valid datetime"),
        (
            {"type": "preset", "preset": "yearly"},
            ("preset", "preset"),
            "'hourly', 'daily', 'weekly' or 'monthly'",
        ),
    ],
)
def test_shape_errors(data: dict[str, Any], loc: tuple[str, ...], fragment: str) -> None:
    got_loc, msg = error_of(data)
    assert got_loc == loc
    assert fragment in msg


def test_schedules_are_immutable_values() -> None:
    schedule = cron("0 9 * * *")
    assert isinstance(schedule, CronSchedule)
    with pytest.raises(ValidationError, match="frozen"):
        schedule.timezone = "Europe/Berlin"  # type: ignore[misc]
    assert schedule == cron("0  9 * * *")
    assert hash(schedule) == hash(cron("0 9 * * *"))


# ---- epoch helpers -------------------------------------------------------------------


def test_epoch_helpers() -> None:
    assert to_epoch(utc(1970, 1, 1)) == 0
    assert to_epoch(utc(2026, 12, 1, 9)) == 1_796_115_600
    assert to_epoch(datetime(2026, 12, 1, 10, tzinfo=ZoneInfo("Europe/Berlin"))) == 1_796_115_600
    assert to_epoch(utc(2026, 12, 1, 9, 0, 0, 999_999)) == 1_796_115_600
    assert to_epoch(datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC)) == -1
    assert from_epoch(1_796_115_600) == utc(2026, 12, 1, 9)
    assert from_epoch(1_796_115_600).tzinfo is UTC
    assert from_epoch(MAX_EPOCH) == utc(2286, 11, 20, 17, 46, 39)
    with pytest.raises(ValueError, match="naive"):
        to_epoch(datetime(2026, 1, 1))


# ---- occurrences: every type ----------------------------------------------------------


def test_once_in_the_future_occurs_once() -> None:
    schedule = parse({"type": "once", "at": "2026-12-01T09:00:00+01:00"})
    assert next_occurrences(schedule, utc(2026, 1, 1), 5) == [utc(2026, 12, 1, 8)]
    assert next_occurrence(schedule, utc(2026, 12, 1, 7, 59, 59)) == utc(2026, 12, 1, 8)


def test_once_in_the_past_or_now_never_occurs() -> None:
    schedule = parse({"type": "once", "at": "2026-12-01T08:00:00Z"})
    assert next_occurrences(schedule, utc(2026, 12, 1, 8), 5) == []
    assert next_occurrences(schedule, utc(2027, 1, 1), 5) == []
    assert next_occurrence(schedule, utc(2026, 12, 1, 8, 0, 0, 1)) is None


def test_once_outside_its_bounds_never_occurs() -> None:
    early = parse({"type": "once", "at": "2026-12-01T08:00:00Z", "start_at": "2026-12-01T08:00:01Z"})
    late = parse({"type": "once", "at": "2026-12-01T08:00:00Z", "end_at": "2026-12-01T07:59:59Z"})
    inclusive = parse(
        {
            "type": "once",
            "at": "2026-12-01T08:00:00Z",
            "start_at": "2026-12-01T08:00:00Z",
            "end_at": "2026-12-01T09:00:00Z",
        }
    )
    assert next_occurrences(early, utc(2026, 1, 1), 1) == []
    assert next_occurrences(late, utc(2026, 1, 1), 1) == []
    assert next_occurrences(inclusive, utc(2026, 1, 1), 1) == [utc(2026, 12, 1, 8)]


def test_manual_never_occurs() -> None:
    schedule = parse({"type": "manual"})
    assert next_occurrences(schedule, utc(2026, 1, 1), MAX_COUNT) == []
    assert next_occurrence(schedule, utc(1970, 1, 1)) is None


def test_interval_from_start_at() -> None:
    schedule = parse({"type": "interval", "every_seconds": 14400, "start_at": "2026-12-01T09:00:00Z"})
    start = utc(2026, 12, 1, 9)
    assert next_occurrences(schedule, utc(2026, 1, 1), 3) == [start, start + 4 * HOUR, start + 8 * HOUR]
    # `after` is exclusive: exactly on an occurrence gives the one after it.
    assert next_occurrence(schedule, start) == start + 4 * HOUR
    assert next_occurrence(schedule, start - timedelta(microseconds=1)) == start
    assert next_occurrence(schedule, start + 4 * HOUR - timedelta(seconds=1)) == start + 4 * HOUR
    # start_at wins over the anchor.
    assert next_occurrence(schedule, utc(2026, 1, 1), anchor=utc(2026, 1, 1, 0, 7)) == start


def test_interval_far_from_its_anchor_is_arithmetic() -> None:
    schedule = parse({"type": "interval", "every_seconds": 60, "start_at": "1970-01-01T00:00:00Z"})
    after = utc(2286, 1, 1, 0, 0, 30)
    found = next_occurrences(schedule, after, MAX_COUNT)
    assert len(found) == MAX_COUNT
    assert found[0] == utc(2286, 1, 1, 0, 1)
    assert found[-1] == utc(2286, 1, 1, 0, 1) + (MAX_COUNT - 1) * MINUTE


def test_interval_without_start_uses_the_anchor() -> None:
    schedule = parse({"type": "interval", "every_seconds": 90})
    anchor = utc(2026, 5, 1, 12, 0, 0)
    assert next_occurrences(schedule, anchor - timedelta(seconds=1), 3, anchor=anchor) == [
        anchor,
        anchor + timedelta(seconds=90),
        anchor + timedelta(seconds=180),
    ]
    assert next_occurrence(schedule, anchor + timedelta(seconds=100), anchor=anchor) == anchor + timedelta(seconds=180)
    # Sub-second parts of the anchor are dropped like every other instant.
    assert next_occurrence(schedule, anchor, anchor=anchor + timedelta(milliseconds=700)) == anchor + timedelta(
        seconds=90
    )
    with pytest.raises(ValueError, match="needs an anchor"):
        next_occurrences(schedule, anchor, 1)


def test_interval_end_is_inclusive() -> None:
    schedule = parse(
        {
            "type": "interval",
            "every_seconds": 3600,
            "start_at": "2026-01-01T00:00:00Z",
            "end_at": "2026-01-01T03:00:00Z",
        }
    )
    assert next_occurrences(schedule, utc(2025, 1, 1), 10) == [utc(2026, 1, 1, h) for h in range(4)]
    assert next_occurrences(schedule, utc(2026, 1, 1, 3), 10) == []


def test_cron_in_utc_matches_croniter() -> None:
    schedule = cron("0 9 * * 1-5")
    after = utc(2026, 12, 4, 10)  # a Friday
    assert next_occurrences(schedule, after, 3) == [
        utc(2026, 12, 7, 9),
        utc(2026, 12, 8, 9),
        utc(2026, 12, 9, 9),
    ]
    reference = croniter("0 9 * * 1-5", after)
    assert next_occurrences(schedule, after, 20) == [reference.get_next(datetime) for _ in range(20)]


def test_cron_in_a_zone_outside_dst_changes() -> None:
    schedule = cron("0 9 * * 1-5", "Europe/Berlin")
    # CET (+01:00) in December, CEST (+02:00) in July.
    assert next_occurrence(schedule, utc(2026, 12, 4, 9)) == utc(2026, 12, 7, 8)
    assert next_occurrence(schedule, utc(2026, 7, 3, 8)) == utc(2026, 7, 6, 7)
    assert next_occurrence(cron("30 9 * * *", "Asia/Kolkata"), utc(2026, 1, 1)) == utc(2026, 1, 1, 4)


def test_cron_special_day_fields() -> None:
    assert next_occurrences(cron("0 0 L * *"), utc(2026, 1, 1), 3) == [
        utc(2026, 1, 31),
        utc(2026, 2, 28),
        utc(2026, 3, 31),
    ]
    assert next_occurrence(cron("0 0 * * 5#3"), utc(2026, 1, 1)) == utc(2026, 1, 16)
    # Standard cron: day-of-month and day-of-week both restricted means either matches.
    assert next_occurrences(cron("0 0 13 * 5"), utc(2026, 2, 1), 3) == [
        utc(2026, 2, 6),
        utc(2026, 2, 13),
        utc(2026, 2, 20),
    ]
    assert next_occurrences(cron("0 0 29 2 *"), utc(2026, 1, 1), 2) == [utc(2028, 2, 29), utc(2032, 2, 29)]


@pytest.mark.parametrize(
    ("preset", "after", "expected"),
    [
        ("hourly", datetime(2026, 7, 1, 9, 0), [datetime(2026, 7, 1, h) for h in (10, 11, 12)]),
        ("daily", datetime(2026, 7, 1, 9, 0), [datetime(2026, 7, d) for d in (2, 3, 4)]),
        ("weekly", datetime(2026, 7, 1, 9, 0), [datetime(2026, 7, d) for d in (6, 13, 20)]),
        ("monthly", datetime(2026, 7, 1, 0, 0), [datetime(2026, m, 1) for m in (8, 9, 10)]),
    ],
)
@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York"])
def test_presets_fire_at_local_midnight_or_the_hour(
    preset: str, after: datetime, expected: list[datetime], zone: str
) -> None:
    tz = ZoneInfo(zone)
    schedule = parse({"type": "preset", "preset": preset, "timezone": zone})
    found = next_occurrences(schedule, after.replace(tzinfo=tz), 3)
    assert found == [e.replace(tzinfo=tz).astimezone(UTC) for e in expected]
    assert all(d.tzinfo is UTC for d in found)
    if preset == "weekly":
        assert {d.astimezone(tz).weekday() for d in found} == {calendar.MONDAY}


def test_cron_bounds_are_inclusive() -> None:
    schedule = cron("0 * * * *", start_at="2026-01-01T02:00:00Z", end_at="2026-01-01T05:00:00Z")
    assert next_occurrences(schedule, utc(2025, 1, 1), 10) == [utc(2026, 1, 1, h) for h in (2, 3, 4, 5)]
    assert next_occurrences(schedule, utc(2026, 1, 1, 4, 30), 10) == [utc(2026, 1, 1, 5)]
    assert next_occurrences(schedule, utc(2026, 1, 1, 5), 10) == []


def test_cron_stops_at_the_last_ten_digit_epoch() -> None:
    found = next_occurrences(cron("46 17 * * *"), utc(2286, 11, 18), 10)
    assert found == [utc(2286, 11, 18, 17, 46), utc(2286, 11, 19, 17, 46), utc(2286, 11, 20, 17, 46)]
    assert next_occurrences(cron("* * * * *"), from_epoch(MAX_EPOCH), 1) == []
    assert next_occurrences(cron("* * * * *"), utc(9000, 1, 1), 1) == []


def test_count_limits() -> None:
    schedule = cron("*/5 * * * *")
    after = utc(2026, 1, 1)
    assert next_occurrences(schedule, after, 0) == []
    assert len(next_occurrences(schedule, after, 7)) == 7
    found = next_occurrences(schedule, after, MAX_COUNT)
    assert len(found) == MAX_COUNT
    assert found[-1] == after + MAX_COUNT * 5 * MINUTE
    for bad in (-1, MAX_COUNT + 1):
        with pytest.raises(ValueError, match=f"count must be between 0 and {MAX_COUNT}"):
            next_occurrences(schedule, after, bad)


def test_fewer_than_count_when_bounds_end() -> None:
    schedule = cron("0 0 * * *", end_at="2026-01-03T00:00:00Z")
    assert next_occurrences(schedule, utc(2026, 1, 1), 100) == [utc(2026, 1, 2), utc(2026, 1, 3)]


def test_after_must_be_aware() -> None:
    with pytest.raises(ValueError, match="naive"):
        next_occurrences(cron("0 0 * * *"), datetime(2026, 1, 1), 1)


def test_occurrences_are_utc_whole_seconds_after_a_fractional_after() -> None:
    after = datetime(2026, 1, 1, 12, 0, 0, 500_000, tzinfo=ZoneInfo("Europe/Berlin"))
    found = next_occurrences(cron("* * * * *"), after, 2)
    assert found == [utc(2026, 1, 1, 11, 1), utc(2026, 1, 1, 11, 2)]
    assert all(d.tzinfo is UTC and d.microsecond == 0 for d in found)


# ---- DST ---------------------------------------------------------------------------------

# Wall-clock time of the change, per zone and direction (the tz rules, checked by
# test_transition_lookup_agrees_with_the_published_rules and the asserts below).
DST_ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]
# The fall-back tests below pin the "once" policy on wildcard jobs: it was the only
# behaviour before the policy became a choice, and "auto" (Debian's rule) now runs
# wildcard jobs at both instants of a repeated time (tested further down).
ONCE = {"repeated_hour": "once"}


def test_berlin_spring_forward() -> None:
    t = spring_forward("Europe/Berlin")
    day = t.local_day()
    assert (t.before, t.after) == (HOUR, 2 * HOUR)
    assert t.instant == at_utc(day, 1)  # 02:00 CET becomes 03:00 CEST
    daily = cron("30 2 * * *", "Europe/Berlin")
    # 02:30 does not exist that day: it runs once at 03:30 CEST (01:30Z), and on the
    # neighbouring days at 02:30 of their own offset.
    assert next_occurrences(daily, at_utc(day, 0) - timedelta(days=1), 3) == [
        at_utc(day - timedelta(days=1), 1, 30),
        at_utc(day, 1, 30),
        at_utc(day + timedelta(days=1), 0, 30),
    ]
    hourly = parse({"type": "preset", "preset": "hourly", "timezone": "Europe/Berlin"})
    # 01:00 CET, then 02:00 (nonexistent -> 03:00 CEST) and 03:00 CEST coincide: once.
    assert next_occurrences(hourly, at_utc(day, 0) - MINUTE, 4) == [at_utc(day, h) for h in (0, 1, 2, 3)]
    quarter = cron("*/15 * * * *", "Europe/Berlin")
    assert next_occurrences(quarter, at_utc(day, 0, 30) - MINUTE, 8) == [
        at_utc(day, 0, 30) + i * timedelta(minutes=15) for i in range(8)
    ]


def test_berlin_fall_back() -> None:
    t = fall_back("Europe/Berlin")
    day = t.local_day()
    assert (t.before, t.after) == (2 * HOUR, HOUR)
    assert t.instant == at_utc(day, 1)  # 03:00 CEST becomes 02:00 CET
    daily = cron("30 2 * * *", "Europe/Berlin")
    # 02:30 happens twice: it runs at the first, 02:30 CEST = 00:30Z.
    assert next_occurrences(daily, at_utc(day, 0) - timedelta(days=1), 3) == [
        at_utc(day - timedelta(days=1), 0, 30),
        at_utc(day, 0, 30),
        at_utc(day + timedelta(days=1), 1, 30),
    ]
    hourly = cron("0 * * * *", "Europe/Berlin", dst=ONCE)
    # 01:00 CEST, 02:00 CEST, (02:00 CET skipped: same wall time), 03:00 CET.
    assert next_occurrences(hourly, at_utc(day, 0) - 2 * HOUR, 4) == [
        at_utc(day - timedelta(days=1), 23),  # 01:00 CEST
        at_utc(day, 0),  # 02:00 CEST
        at_utc(day, 2),  # 03:00 CET
        at_utc(day, 3),
    ]
    half = cron("*/30 * * * *", "Europe/Berlin", dst=ONCE)
    assert next_occurrences(half, at_utc(day, 0) - MINUTE, 4) == [
        at_utc(day, 0, 0),  # 02:00 CEST
        at_utc(day, 0, 30),  # 02:30 CEST
        at_utc(day, 2, 0),  # 03:00 CET
        at_utc(day, 2, 30),  # 03:30 CET
    ]
    quarter = cron("*/15 * * * *", "Europe/Berlin", dst=ONCE)
    assert next_occurrences(quarter, at_utc(day, 0, 30) - MINUTE, 4) == [
        at_utc(day, 0, 30),  # 02:30 CEST
        at_utc(day, 0, 45),  # 02:45 CEST
        at_utc(day, 2, 0),  # 03:00 CET
        at_utc(day, 2, 15),
    ]


def test_new_york_spring_forward() -> None:
    t = spring_forward("America/New_York")
    day = t.local_day()
    assert (t.before, t.after) == (-5 * HOUR, -4 * HOUR)
    assert t.instant == at_utc(day, 7)  # 02:00 EST becomes 03:00 EDT
    daily = cron("30 2 * * *", "America/New_York")
    assert next_occurrences(daily, at_utc(day, 0) - timedelta(days=1), 3) == [
        at_utc(day - timedelta(days=1), 7, 30),
        at_utc(day, 7, 30),  # 03:30 EDT, shifted from the missing 02:30
        at_utc(day + timedelta(days=1), 6, 30),
    ]
    hourly = cron("0 * * * *", "America/New_York")
    assert next_occurrences(hourly, at_utc(day, 6) - MINUTE, 3) == [at_utc(day, h) for h in (6, 7, 8)]
    quarter = cron("*/15 * * * *", "America/New_York")
    assert next_occurrences(quarter, at_utc(day, 6, 30) - MINUTE, 6) == [
        at_utc(day, 6, 30) + i * timedelta(minutes=15) for i in range(6)
    ]


def test_new_york_fall_back() -> None:
    t = fall_back("America/New_York")
    day = t.local_day()
    assert (t.before, t.after) == (-4 * HOUR, -5 * HOUR)
    assert t.instant == at_utc(day, 6)  # 02:00 EDT becomes 01:00 EST
    # In New York the repeated hour is 01:00-02:00, so 01:30 is the ambiguous time.
    daily = cron("30 1 * * *", "America/New_York")
    assert next_occurrences(daily, at_utc(day, 0), 2) == [
        at_utc(day, 5, 30),  # 01:30 EDT, the first one
        at_utc(day + timedelta(days=1), 6, 30),
    ]
    later = cron("30 2 * * *", "America/New_York")
    assert next_occurrence(later, at_utc(day, 0)) == at_utc(day, 7, 30)  # 02:30 EST, unambiguous
    hourly = cron("0 * * * *", "America/New_York", dst=ONCE)
    assert next_occurrences(hourly, at_utc(day, 4) - MINUTE, 4) == [
        at_utc(day, 4),  # 00:00 EDT
        at_utc(day, 5),  # 01:00 EDT
        at_utc(day, 7),  # 02:00 EST (01:00 EST is a repeat of 01:00)
        at_utc(day, 8),
    ]
    quarter = cron("*/15 * * * *", "America/New_York", dst=ONCE)
    assert next_occurrences(quarter, at_utc(day, 5, 30) - MINUTE, 4) == [
        at_utc(day, 5, 30),
        at_utc(day, 5, 45),
        at_utc(day, 7, 0),
        at_utc(day, 7, 15),
    ]


def test_lord_howe_spring_forward_by_half_an_hour() -> None:
    t = spring_forward("Australia/Lord_Howe")
    day = t.local_day()
    assert (t.before, t.after) == (timedelta(hours=10, minutes=30), 11 * HOUR)
    # 02:00 LHST (+10:30) becomes 02:30 LHDT (+11): 15:30Z the previous UTC day.
    assert t.instant == at_utc(day, 15, 30) - timedelta(days=1)
    eve = day - timedelta(days=1)
    missing = cron("15 2 * * *", "Australia/Lord_Howe")
    assert next_occurrences(missing, at_utc(eve, 0) - timedelta(days=1), 3) == [
        at_utc(eve - timedelta(days=1), 15, 45),
        at_utc(eve, 15, 45),  # 02:45 LHDT, shifted from the missing 02:15
        at_utc(day, 15, 15),
    ]
    existing = cron("30 2 * * *", "Australia/Lord_Howe")  # the first wall time after the gap
    assert next_occurrence(existing, at_utc(eve, 0)) == at_utc(eve, 15, 30)
    hourly = cron("0 * * * *", "Australia/Lord_Howe")
    assert next_occurrences(hourly, at_utc(eve, 14) - MINUTE, 4) == [
        at_utc(eve, 14, 30),  # 01:00 LHST
        at_utc(eve, 15, 30),  # 02:00 shifted to 02:30 LHDT
        at_utc(eve, 16, 0),  # 03:00 LHDT
        at_utc(eve, 17, 0),
    ]
    quarter = cron("*/15 * * * *", "Australia/Lord_Howe")
    assert next_occurrences(quarter, at_utc(eve, 15) - MINUTE, 5) == [
        at_utc(eve, 15, 0),  # 01:30 LHST
        at_utc(eve, 15, 15),  # 01:45 LHST
        at_utc(eve, 15, 30),  # 02:00 -> 02:30 LHDT, which is also its own slot: once
        at_utc(eve, 15, 45),  # 02:15 -> 02:45 LHDT, likewise
        at_utc(eve, 16, 0),  # 03:00 LHDT
    ]
    # With a 30-minute gap, shifted times interleave with real ones and must be sorted.
    twenty = cron("*/20 2 * * *", "Australia/Lord_Howe")
    assert next_occurrences(twenty, at_utc(eve, 0), 3) == [
        at_utc(eve, 15, 30),  # 02:00 -> 02:30 LHDT
        at_utc(eve, 15, 40),  # 02:40 LHDT
        at_utc(eve, 15, 50),  # 02:20 -> 02:50 LHDT
    ]


def test_lord_howe_fall_back_by_half_an_hour() -> None:
    t = fall_back("Australia/Lord_Howe")
    day = t.local_day()
    assert (t.before, t.after) == (11 * HOUR, timedelta(hours=10, minutes=30))
    eve = day - timedelta(days=1)
    # 02:00 LHDT (+11) becomes 01:30 LHST (+10:30): 15:00Z the previous UTC day.
    assert t.instant == at_utc(eve, 15)
    daily = cron("45 1 * * *", "Australia/Lord_Howe")
    assert next_occurrences(daily, at_utc(eve, 0) - timedelta(days=1), 3) == [
        at_utc(eve - timedelta(days=1), 14, 45),
        at_utc(eve, 14, 45),  # 01:45 LHDT, the first one
        at_utc(day, 15, 15),
    ]
    later = cron("30 2 * * *", "Australia/Lord_Howe")
    assert next_occurrence(later, at_utc(eve, 0)) == at_utc(eve, 16, 0)
    quarter = cron("*/15 * * * *", "Australia/Lord_Howe", dst=ONCE)
    assert next_occurrences(quarter, at_utc(eve, 14, 30) - MINUTE, 5) == [
        at_utc(eve, 14, 30),  # 01:30 LHDT
        at_utc(eve, 14, 45),  # 01:45 LHDT
        at_utc(eve, 15, 30),  # 02:00 LHST (the repeated 01:30 and 01:45 are skipped)
        at_utc(eve, 15, 45),
        at_utc(eve, 16, 0),
    ]
    hourly = cron("0 * * * *", "Australia/Lord_Howe", dst=ONCE)
    assert next_occurrences(hourly, at_utc(eve, 14) - MINUTE, 3) == [
        at_utc(eve, 14, 0),  # 01:00 LHDT
        at_utc(eve, 15, 30),  # 02:00 LHST
        at_utc(eve, 16, 30),
    ]


@pytest.mark.parametrize("zone", DST_ZONES)
@pytest.mark.parametrize("direction", [spring_forward, fall_back])
def test_every_wall_time_runs_exactly_once_across_transitions(zone: str, direction: Any) -> None:
    t = direction(zone)
    tz = ZoneInfo(zone)
    found = next_occurrences(cron("*/5 * * * *", zone, dst=ONCE), t.instant - 6 * HOUR, 160)
    window = [d for d in found if d < t.instant + 6 * HOUR]
    walls = [d.astimezone(tz).replace(tzinfo=None) for d in window]
    assert len(set(walls)) == len(walls)
    assert window == sorted(set(window))
    if direction is spring_forward:
        # Nothing is lost: real time advances in steps of five minutes throughout.
        assert all(b - a == 5 * MINUTE for a, b in itertools.pairwise(window))
    else:
        # The repeated span is skipped once, in one step of (fold + 5 minutes).
        steps = [b - a for a, b in itertools.pairwise(window)]
        assert sorted(set(steps)) == [5 * MINUTE, 5 * MINUTE + (t.before - t.after)]
        assert steps.count(5 * MINUTE + (t.before - t.after)) == 1


def test_a_shifted_time_landing_on_a_listed_time_runs_once() -> None:
    t = spring_forward("Europe/Berlin")
    day = t.local_day()
    # 02:30 is shifted to 03:30 CEST, which the expression also lists.
    schedule = cron("30 2,3 * * *", "Europe/Berlin")
    assert next_occurrences(schedule, at_utc(day, 0), 2) == [
        at_utc(day, 1, 30),
        at_utc(day + timedelta(days=1), 0, 30),
    ]


def test_a_whole_skipped_day_is_not_lost_or_doubled() -> None:
    # Samoa moved across the date line: 2011-12-30 never happened in Pacific/Apia.
    schedule = cron("0 12 * * *", "Pacific/Apia")
    assert next_occurrences(schedule, utc(2011, 12, 28), 4) == [
        utc(2011, 12, 28, 22),  # 12:00 on the 28th (-10:00)
        utc(2011, 12, 29, 22),  # 12:00 on the 29th (-10:00)
        utc(2011, 12, 30, 22),  # 12:00 on the 31st (+14:00); the 30th's shifts onto it
        utc(2011, 12, 31, 22),  # 12:00 on 2012-01-01
    ]


def test_after_inside_a_gap_still_finds_the_shifted_occurrence() -> None:
    t = spring_forward("Australia/Lord_Howe")
    schedule = cron("*/20 2 * * *", "Australia/Lord_Howe")
    # 02:20 LHST maps to 02:50 LHDT = t.instant + 20 minutes; asking just before it
    # has to look back at wall times earlier than the wall time of `after`.
    assert next_occurrence(schedule, t.instant + 15 * MINUTE) == t.instant + 20 * MINUTE


# ---- describe ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"type": "cron", "expression": "0 9 * * 1-5", "timezone": "Europe/Berlin"},
            "At 09:00, Monday through Friday (Europe/Berlin)",
        ),
        ({"type": "cron", "expression": "*/15 * * * *"}, "Every 15 minutes (UTC)"),
        ({"type": "cron", "expression": "0 0 L * *"}, "At 00:00, on the last day of the month (UTC)"),
        (
            {"type": "interval", "every_seconds": 14400, "start_at": "2026-12-01T09:00:00Z"},
            "Every 4 hours starting 2026-12-01T09:00:00Z",
        ),
        ({"type": "interval", "every_seconds": 60}, "Every minute starting when the task is created"),
        ({"type": "interval", "every_seconds": 5400}, "Every 90 minutes starting when the task is created"),
        ({"type": "interval", "every_seconds": 86400}, "Every day starting when the task is created"),
        ({"type": "interval", "every_seconds": 1_209_600}, "Every 2 weeks starting when the task is created"),
        ({"type": "interval", "every_seconds": 3601}, "Every 3601 seconds starting when the task is created"),
        (
            {
                "type": "interval",
                "every_seconds": 7200,
                "start_at": "2026-12-01T09:00:00Z",
                "end_at": "2027-01-01T00:00:00+01:00",
            },
            "Every 2 hours starting 2026-12-01T09:00:00Z, until 2026-12-31T23:00:00Z",
        ),
        ({"type": "once", "at": "2026-12-01T09:00:00+01:00"}, "Once at 2026-12-01T08:00:00Z"),
        ({"type": "preset", "preset": "hourly"}, "Every hour, at minute 0 (UTC)"),
        ({"type": "preset", "preset": "daily", "timezone": "Asia/Tokyo"}, "Every day at 00:00 (Asia/Tokyo)"),
        ({"type": "preset", "preset": "weekly"}, "Every Monday at 00:00 (UTC)"),
        ({"type": "preset", "preset": "monthly"}, "On the 1st of every month at 00:00 (UTC)"),
        ({"type": "manual"}, "Only when run manually"),
        (
            {"type": "cron", "expression": "0 9 * * *", "start_at": "2026-01-01T00:00:00Z"},
            "At 09:00 (UTC), from 2026-01-01T00:00:00Z",
        ),
        (
            {"type": "preset", "preset": "daily", "end_at": "2026-02-01T00:00:00Z"},
            "Every day at 00:00 (UTC), until 2026-02-01T00:00:00Z",
        ),
        (
            {
                "type": "cron",
                "expression": "0 9 * * *",
                "start_at": "2026-01-01T00:00:00Z",
                "end_at": "2026-02-01T00:00:00Z",
            },
            "At 09:00 (UTC), from 2026-01-01T00:00:00Z until 2026-02-01T00:00:00Z",
        ),
    ],
)
def test_describe(data: dict[str, Any], expected: str) -> None:
    assert describe(parse(data)) == expected
