"""Property tests for agentcron.schedules (hypothesis)."""

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from agentcron.schedules import (
    MAX_INTERVAL_SECONDS,
    MIN_INTERVAL_SECONDS,
    PRESET_EXPRESSIONS,
    CronSchedule,
    IntervalSchedule,
    PresetSchedule,
    Schedule,
    ScheduleAdapter,
    describe,
    next_occurrence,
    next_occurrences,
    to_epoch,
)
from croniter import croniter
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

SETTINGS = settings(max_examples=150, deadline=None)
# The zone tests brute-force every wall-clock minute of a window, so fewer examples.
ZONE_SETTINGS = settings(max_examples=100, deadline=None)
MINUTE = timedelta(minutes=1)
HORIZON = timedelta(hours=4)
# More than the largest gap or fold among ZONES (one hour).
WALL_MARGIN = timedelta(hours=2)

# Zones with every kind of change: none, +1h, -1h ("negative DST" in Dublin),
# 30 minutes (Lord Howe), odd offsets (Chatham +12:45), southern hemisphere,
# and Casablanca's Ramadan switches.
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Europe/Dublin",
    "Pacific/Chatham",
    "America/Santiago",
    "Africa/Casablanca",
    "Asia/Kolkata",
]


def parse(data: dict[str, Any]) -> Schedule:
    return ScheduleAdapter.validate_python(data)


def utc_offset(instant: datetime, zone: ZoneInfo) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


@cache
def offset_changes(zone_name: str, *, forward_only: bool = False) -> tuple[datetime, ...]:
    """Hours (UTC) in 2025-2026 during which the zone's offset changes (or only increases)."""
    zone = ZoneInfo(zone_name)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    hours = [start + timedelta(hours=h) for h in range(2 * 365 * 24)]
    offsets = [utc_offset(hour, zone) for hour in hours]
    return tuple(
        hours[i]
        for i in range(len(hours) - 1)
        if offsets[i + 1] > offsets[i] or (not forward_only and offsets[i + 1] != offsets[i])
    )


whole_seconds = st.integers(
    min_value=to_epoch(datetime(2024, 1, 1, tzinfo=UTC)), max_value=to_epoch(datetime(2028, 1, 1, tzinfo=UTC))
).map(lambda s: datetime.fromtimestamp(s, UTC))


@st.composite
def near_a_change(draw: st.DrawFn, zone_name: str) -> datetime:
    """An instant in the hours around one of the zone's offset changes (or anywhere, for fixed zones)."""
    changes = offset_changes(zone_name)
    if not changes or (draw(st.booleans()) and draw(st.booleans())):
        return draw(whole_seconds)
    change = draw(st.sampled_from(changes))
    return change + timedelta(seconds=draw(st.integers(-7 * 3600, 3600)))


# ---- structured cron expressions with an independent matcher ----------------------


@dataclass(frozen=True)
class Cron:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: '*'
    months: frozenset[int]
    weekdays: frozenset[int] | None  # cron numbering, Sunday = 0; None: '*'

    def matches(self, wall: datetime) -> bool:
        if wall.minute not in self.minutes or wall.hour not in self.hours or wall.month not in self.months:
            return False
        day_ok = self.days is None or wall.day in self.days
        weekday_ok = self.weekdays is None or (wall.weekday() + 1) % 7 in self.weekdays
        if self.days is not None and self.weekdays is not None:
            return day_ok or weekday_ok  # cron's rule when both day fields are restricted
        return day_ok and weekday_ok

    def can_match(self) -> bool:
        """False for day/month combinations no calendar has, such as February 30."""
        if self.days is None or self.weekdays is not None:
            return True
        longest = {2: 29, 4: 30, 6: 30, 9: 30, 11: 30}
        return any(day <= longest.get(month, 31) for day in self.days for month in self.months)


@st.composite
def cron_field(draw: st.DrawFn, low: int, high: int, *, steps: bool, star: bool = True) -> tuple[str, frozenset[int]]:
    kinds = ["list", "range"] + (["step"] if steps else []) + (["star"] if star else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "star":
        return "*", frozenset(range(low, high + 1))
    if kind == "step":
        step = draw(st.integers(2, high - low))
        return f"*/{step}", frozenset(range(low, high + 1, step))
    if kind == "range":
        a = draw(st.integers(low, high))
        b = draw(st.integers(a, min(high, a + 5)))
        return f"{a}-{b}", frozenset(range(a, b + 1))
    values = sorted(draw(st.sets(st.integers(low, high), min_size=1, max_size=4)))
    return ",".join(map(str, values)), frozenset(values)


@st.composite
def crons(draw: st.DrawFn) -> Cron:
    minute, minutes = draw(cron_field(0, 59, steps=True, star=False))
    if draw(st.integers(0, 9)) == 0:
        minute, minutes = "*", frozenset(range(60))
    hour, hours = draw(cron_field(0, 23, steps=True))
    # Day fields are '*' or explicit, so "restricted" is unambiguous for the OR rule.
    day, days = draw(st.one_of(st.just(("*", None)), cron_field(1, 31, steps=False, star=False)))
    month, months = draw(st.one_of(st.just(("*", frozenset(range(1, 13)))), cron_field(1, 12, steps=False, star=False)))
    weekday, weekdays = draw(st.one_of(st.just(("*", None)), cron_field(0, 7, steps=False, star=False)))
    if weekdays is not None:
        weekdays = frozenset(d % 7 for d in weekdays)
    if day == "*" and weekday == "*" and draw(st.booleans()):
        day, days = "*", None
    spec = Cron(f"{minute} {hour} {day} {month} {weekday}", minutes, hours, days, months, weekdays)
    assume(spec.can_match())
    return spec


def wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def first_instant(wall_time: datetime, zone: ZoneInfo) -> datetime:
    return wall_time.replace(tzinfo=zone, fold=0).astimezone(UTC)


def exists(wall_time: datetime, zone: ZoneInfo) -> bool:
    return wall(first_instant(wall_time, zone), zone) == wall_time


def oracle(spec: Cron, zone: ZoneInfo, after: datetime, until: datetime, *, repeat: bool = False) -> list[datetime]:
    """Brute force over every wall-clock minute: each matching local time at its fold=0
    instant, and with `repeat` a repeated one (one that exists twice) at its fold=1 instant too."""
    start = wall(after, zone).replace(second=0) - WALL_MARGIN
    stop = wall(until, zone) + WALL_MARGIN
    found: set[datetime] = set()
    minute = start
    while minute <= stop:
        if spec.matches(minute):
            instants = {first_instant(minute, zone)}
            second = minute.replace(tzinfo=zone, fold=1).astimezone(UTC)
            # fold=1 names a second instant only for a repeated time: for a time in a spring gap
            # it is the post-change offset's reading, an instant before the gap (not a repeat).
            if repeat and wall(second, zone) == minute:
                instants.add(second)
            found.update(instant for instant in instants if after < instant <= until)
        minute += MINUTE
    return sorted(found)


def assert_well_formed(found: list[datetime], after: datetime, schedule: Schedule) -> None:
    assert all(d.tzinfo is UTC and d.microsecond == 0 for d in found)
    assert all(a < b for a, b in itertools.pairwise(found))
    assert all(d > after for d in found)
    if schedule.start_at is not None:
        assert all(d >= schedule.start_at for d in found)
    if schedule.end_at is not None:
        assert all(d <= schedule.end_at for d in found)


# ---- cron ------------------------------------------------------------------------------


@SETTINGS
@given(spec=crons(), after=whole_seconds, count=st.integers(1, 25))
def test_cron_in_utc_is_croniters_sequence(spec: Cron, after: datetime, count: int) -> None:
    schedule = parse({"type": "cron", "expression": spec.expression})
    assert isinstance(schedule, CronSchedule)
    found = next_occurrences(schedule, after, count)
    reference = croniter(schedule.expression, after)
    assert found == [reference.get_next(datetime) for _ in range(count)]
    assert all(spec.matches(d.replace(tzinfo=None)) for d in found)


@ZONE_SETTINGS
@given(data=st.data(), spec=crons(), zone_name=st.sampled_from(ZONES), policy=st.sampled_from(["auto", "once", "both"]))
def test_cron_in_a_zone_is_every_matching_wall_time_once(
    data: st.DataObject, spec: Cron, zone_name: str, policy: str
) -> None:
    zone = ZoneInfo(zone_name)
    after = data.draw(near_a_change(zone_name))
    schedule = parse(
        {"type": "cron", "expression": spec.expression, "timezone": zone_name, "dst": {"repeated_hour": policy}}
    )
    # Debian's rule: a wildcard job (minute or hour field starting with '*') runs a repeated time twice.
    wildcard = spec.expression.split()[0].startswith("*") or spec.expression.split()[1].startswith("*")
    repeat = policy == "both" or (policy == "auto" and wildcard)
    expected = oracle(spec, zone, after, after + HORIZON, repeat=repeat)
    found = next_occurrences(schedule, after, len(expected) + 1)
    assert found[: len(expected)] == expected
    assert len(found) == len(expected) or found[-1] > after + HORIZON


@ZONE_SETTINGS
@given(data=st.data(), spec=crons(), zone_name=st.sampled_from(ZONES), count=st.integers(1, 40))
def test_cron_wall_times_match_and_never_repeat(data: st.DataObject, spec: Cron, zone_name: str, count: int) -> None:
    zone = ZoneInfo(zone_name)
    after = data.draw(near_a_change(zone_name))
    once = {"repeated_hour": "once"}  # the policy under which no wall time repeats
    schedule = parse({"type": "cron", "expression": spec.expression, "timezone": zone_name, "dst": once})
    found = next_occurrences(schedule, after, count)
    assert_well_formed(found, after, schedule)
    walls = [wall(d, zone) for d in found]
    assert len(set(walls)) == len(walls)
    for instant, local in zip(found, walls, strict=True):
        if spec.matches(local):
            assert instant == first_instant(local, zone)  # the first of a repeated time
            continue
        # Otherwise it must be a nonexistent matching wall time, moved forward by its gap.
        sources = {local - gap for gap in (timedelta(minutes=m) for m in range(15, 181, 15))}
        assert any(
            spec.matches(source) and not exists(source, zone) and first_instant(source, zone) == instant
            for source in sources
        ), (instant, local)


@ZONE_SETTINGS
@given(
    data=st.data(),
    minutes=cron_field(0, 59, steps=True),
    hours=st.sampled_from(["gap", "gap+next", "all"]),
    zone_name=st.sampled_from(["Australia/Lord_Howe", "Europe/Berlin", "America/New_York", "Pacific/Chatham"]),
)
def test_cron_just_before_and_inside_a_spring_forward_gap(
    data: st.DataObject, minutes: tuple[str, frozenset[int]], hours: str, zone_name: str
) -> None:
    # Aimed at the two hard cases: with Lord Howe's 30-minute gap shifted times
    # interleave with real ones, and an `after` inside a gap must still find the
    # shifted times behind it (only visible when the hour after the gap does not
    # also match, hence the "gap" hour choice).
    zone = ZoneInfo(zone_name)
    change_hour = data.draw(st.sampled_from(offset_changes(zone_name, forward_only=True)))
    gap_hour = (change_hour + timedelta(hours=1) + utc_offset(change_hour, zone)).hour
    hour_set = {
        "gap": frozenset({gap_hour}),
        "gap+next": frozenset({gap_hour, (gap_hour + 1) % 24}),
        "all": frozenset(range(24)),
    }[hours]
    hour_field = "*" if hours == "all" else ",".join(map(str, sorted(hour_set)))
    spec = Cron(f"{minutes[0]} {hour_field} * * *", minutes[1], hour_set, None, frozenset(range(1, 13)), None)
    after = change_hour + timedelta(seconds=data.draw(st.integers(0, 2 * 3600)))
    schedule = parse({"type": "cron", "expression": spec.expression, "timezone": zone_name})
    until = after + timedelta(hours=3)
    expected = oracle(spec, zone, after, until)
    found = next_occurrences(schedule, after, len(expected) + 1)
    assert found[: len(expected)] == expected
    assert len(found) == len(expected) + 1
    assert found[-1] > until


@SETTINGS
@given(data=st.data(), zone_name=st.sampled_from(ZONES), preset=st.sampled_from(sorted(PRESET_EXPRESSIONS)))
def test_presets_equal_their_cron_expressions(data: st.DataObject, zone_name: str, preset: str) -> None:
    after = data.draw(near_a_change(zone_name))
    as_preset = parse({"type": "preset", "preset": preset, "timezone": zone_name})
    as_cron = parse({"type": "cron", "expression": PRESET_EXPRESSIONS[preset], "timezone": zone_name})
    found = next_occurrences(as_preset, after, 5)
    assert len(found) == 5
    assert found == next_occurrences(as_cron, after, 5)


# ---- interval ------------------------------------------------------------------------------


@SETTINGS
@given(
    every=st.integers(MIN_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS // 10),
    origin=whole_seconds,
    after=whole_seconds,
    use_start=st.booleans(),
    end_after=st.one_of(st.none(), st.integers(1, 400 * 86_400)),
    count=st.integers(1, 50),
)
def test_interval_occurrences_are_anchor_plus_multiples(
    every: int, origin: datetime, after: datetime, use_start: bool, end_after: int | None, count: int
) -> None:
    data: dict[str, Any] = {"type": "interval", "every_seconds": every}
    if use_start:
        data["start_at"] = origin
    if end_after is not None:
        data["end_at"] = origin + timedelta(seconds=end_after)
    schedule = parse(data)
    found = next_occurrences(schedule, after, count, anchor=None if use_start else origin)
    assert_well_formed(found, after, schedule)
    base = to_epoch(origin)
    steps = [(to_epoch(d) - base) / every for d in found]
    assert all(k == int(k) and k >= 0 for k in steps)
    assert all(b - a == 1 for a, b in itertools.pairwise(steps))
    if found:
        # Nothing was skipped before the first one.
        previous = found[0] - timedelta(seconds=every)
        assert previous <= after or previous < origin
    if len(found) < count:
        # Stopped early only because the next candidate is past end_at.
        if found:
            candidate = to_epoch(found[-1]) + every
        else:
            candidate = base + max(0, -((base - to_epoch(after) - 1) // every)) * every
        assert schedule.end_at is not None
        assert candidate > to_epoch(schedule.end_at)


# ---- every type -----------------------------------------------------------------------------


def bounds() -> st.SearchStrategy[dict[str, datetime]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, datetime]:
        out: dict[str, datetime] = {}
        if draw(st.booleans()):
            out["start_at"] = draw(whole_seconds)
        if draw(st.booleans()):
            base = out.get("start_at", draw(whole_seconds))
            out["end_at"] = base + timedelta(seconds=draw(st.integers(1, 60 * 86_400)))
        return out

    return build()


schedules = st.one_of(
    st.builds(
        lambda spec, zone, b: parse({"type": "cron", "expression": spec.expression, "timezone": zone, **b}),
        crons(),
        st.sampled_from(ZONES),
        bounds(),
    ),
    st.builds(
        lambda every, b: parse({"type": "interval", "every_seconds": every, **b}),
        st.integers(MIN_INTERVAL_SECONDS, 30 * 86_400),
        bounds(),
    ),
    st.builds(lambda at, b: parse({"type": "once", "at": at, **b}), whole_seconds, bounds()),
    st.builds(
        lambda preset, zone, b: parse({"type": "preset", "preset": preset, "timezone": zone, **b}),
        st.sampled_from(sorted(PRESET_EXPRESSIONS)),
        st.sampled_from(ZONES),
        bounds(),
    ),
    st.builds(lambda b: parse({"type": "manual", **b}), bounds()),
)


@SETTINGS
@given(schedule=schedules, after=whole_seconds, anchor=whole_seconds, count=st.integers(1, 30))
def test_occurrences_are_increasing_bounded_and_resumable(
    schedule: Schedule, after: datetime, anchor: datetime, count: int
) -> None:
    found = next_occurrences(schedule, after, count, anchor=anchor)
    assert_well_formed(found, after, schedule)
    assert len(found) <= count
    assert next_occurrence(schedule, after, anchor=anchor) == (found[0] if found else None)
    # The dispatcher resumes from the occurrence it just ran; that must give the rest.
    if found:
        assert next_occurrences(schedule, found[0], count - 1, anchor=anchor) == found[1:]


@SETTINGS
@given(schedule=schedules)
def test_json_round_trip_and_description(schedule: Schedule) -> None:
    dumped = ScheduleAdapter.dump_python(schedule, mode="json")
    assert ScheduleAdapter.validate_json(ScheduleAdapter.dump_json(schedule)) == schedule
    assert parse(dumped) == schedule
    text = describe(schedule)
    assert text
    if isinstance(schedule, CronSchedule | PresetSchedule):
        assert f"({schedule.timezone})" in text
    if isinstance(schedule, IntervalSchedule):
        assert text.startswith("Every ")


# ---- fuzzed expressions ---------------------------------------------------------------------

TOKENS = st.text(alphabet="0123456789*/,-LW#?HRjanmofriJANMON", min_size=0, max_size=6)


@SETTINGS
@given(fields=st.lists(TOKENS, min_size=4, max_size=6), after=whole_seconds)
def test_any_expression_is_accepted_cleanly_or_rejected_with_a_message(fields: list[str], after: datetime) -> None:
    expression = " ".join(fields)
    try:
        schedule = parse({"type": "cron", "expression": expression})
    except ValidationError as error:
        [detail] = error.errors()
        assert detail["loc"] == ("cron", "expression")
        assert detail["msg"]
        return
    assert isinstance(schedule, CronSchedule)
    # Whatever we accept, croniter agrees with, occurrence for occurrence.
    reference = croniter(schedule.expression, after)
    assert next_occurrences(schedule, after, 3) == [reference.get_next(datetime) for _ in range(3)]
    assert describe(schedule).endswith("(UTC)")
