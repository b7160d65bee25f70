"""Schedules: the validated JSON shapes, their occurrences and a human description.

Occurrence rules that every caller relies on:

* Occurrences are UTC-aware, whole-second instants, strictly increasing, strictly
  after the ``after`` argument and inside ``[start_at, end_at]`` (both inclusive).
* Instants are limited to epoch seconds 0..9_999_999_999 because run ids and the
  ``ByOwner`` sort key store the scheduled epoch as exactly 10 digits.
* Cron and preset schedules are evaluated in local wall-clock time and converted
  with zoneinfo here, not by croniter: croniter's own DST handling has a history
  of skipped and doubled runs, and running it on a fixed-offset clock reduces it
  to a pure calendar matcher we can trust.

DST policy (the design says "a skipped local time is not run twice nor silently
lost, a repeated hour runs once"):

* A wall time inside a spring-forward gap runs once, at the instant it maps to
  with the offset in force before the gap (PEP 495 ``fold=0``), i.e. shifted
  forward by the gap length: 02:30 on the Berlin spring day runs at 03:30 CEST.
  When that shifted instant coincides with another occurrence it is yielded once.
* In a fall-back fold every local wall-clock time runs once, at its first
  (``fold=0``) instant.  This also applies to sub-hourly crons: ``*/30 * * * *``
  in Berlin on the fall-back night yields 02:00 and 02:30 (first pass) and then
  03:00, not the second 02:00/02:30.  Keeping the elapsed-time cadence instead
  would run "the 02:30 job" twice, which is exactly what users of a wall-clock
  schedule do not expect.

Cron dialect: the classic five fields with names (``jan``, ``mon``), lists,
ranges and steps; day-of-month and day-of-week both restricted means either
matches (Vixie cron); croniter's ``L``, ``W`` and ``#`` extensions are accepted.
Rejected: seconds/year fields, ``@`` macros (presets cover them), hashed ``H``
and random ``R`` values, backwards ranges, expressions that never match (Feb 30).
An equal range such as ``5-5`` is stored as ``5`` (see ``_check_field``).
"""

import heapq
import importlib.resources
import re
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Annotated, Any, Final, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cron_descriptor import ExpressionDescriptor, Options
from croniter import CroniterBadDateError, CroniterError, croniter
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

__all__ = [
    "MAX_COUNT",
    "MAX_EPOCH",
    "MAX_EXPRESSION_LENGTH",
    "MAX_INTERVAL_SECONDS",
    "MAX_TIMEZONE_LENGTH",
    "MIN_INTERVAL_SECONDS",
    "PRESET_EXPRESSIONS",
    "CronSchedule",
    "IntervalSchedule",
    "ManualSchedule",
    "OnceSchedule",
    "PresetSchedule",
    "Schedule",
    "ScheduleAdapter",
    "describe",
    "from_epoch",
    "next_occurrence",
    "next_occurrences",
    "to_epoch",
]

MIN_INTERVAL_SECONDS: Final = 60
MAX_INTERVAL_SECONDS: Final = 366 * 86_400
MAX_EXPRESSION_LENGTH: Final = 100
MAX_TIMEZONE_LENGTH: Final = 64
# Upper bound on one next_occurrences call, so a request cannot ask for an
# unbounded amount of croniter work.
MAX_COUNT: Final = 1000
# Ten decimal digits of epoch seconds (2286-11-20T17:46:39Z), see module docstring.
MAX_EPOCH: Final = 9_999_999_999

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_SECOND: Final = timedelta(seconds=1)
# Larger than any UTC offset ever used (about +-15:56 in historical LMT) and than
# any gap (Pacific/Apia skipped a whole day in 2011), so instants and wall times
# can be bounded against each other with it.
_OFFSET_SLACK: Final = timedelta(hours=26)
_GAP_PROBE_STEP: Final = timedelta(minutes=30)

PresetName = Literal["hourly", "daily", "weekly", "monthly"]
PRESET_EXPRESSIONS: Final[dict[str, str]] = {
    "hourly": "0 * * * *",
    "daily": "0 0 * * *",
    "weekly": "0 0 * * 1",
    "monthly": "0 0 1 * *",
}
_PRESET_DESCRIPTIONS: Final[dict[str, str]] = {
    "hourly": "Every hour, at minute 0",
    "daily": "Every day at 00:00",
    "weekly": "Every Monday at 00:00",
    "monthly": "On the 1st of every month at 00:00",
}


# ---- epoch helpers ------------------------------------------------------------


def to_epoch(dt: datetime) -> int:
    """Whole epoch seconds of an aware datetime (sub-second parts are floored)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("naive datetime: an instant needs a UTC offset")
    # Timedelta floor division is exact, unlike float timestamp().
    return (dt - _EPOCH) // _ONE_SECOND


def from_epoch(seconds: int) -> datetime:
    """The UTC-aware datetime of whole epoch seconds."""
    return _EPOCH + timedelta(seconds=seconds)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- field validation ---------------------------------------------------------


def _normalise_instant(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            "must include a UTC offset, e.g. 2026-12-01T09:00:00Z or 2026-12-01T10:00:00+01:00; "
            "a naive date-time is ambiguous"
        )
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"must be between {_iso(_EPOCH)} and {_iso(from_epoch(MAX_EPOCH))}") from None
    # Truncated so the stored schedule is exactly what gets evaluated.
    utc = utc.replace(microsecond=0)
    if not 0 <= to_epoch(utc) <= MAX_EPOCH:
        raise ValueError(f"must be between {_iso(_EPOCH)} and {_iso(from_epoch(MAX_EPOCH))}")
    return utc


_NUMBER: Final = re.compile(r"\s*[+-]?[0-9]+(?:\.[0-9]*)?\s*")


def _reject_numbers(value: Any) -> Any:
    # Pydantic would read numbers (and numeric strings) as epoch seconds or
    # milliseconds depending on their size; an ISO 8601 string (or a datetime
    # from Python) is unambiguous.
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("must be an ISO 8601 date-time string with a UTC offset, not a number")
    return value


@cache
def _zone_names() -> frozenset[str]:
    # The tzdata package is what the Lambda layer ships, so validating against
    # its list gives the same answer everywhere (the system zoneinfo directory
    # also holds non-zones such as "localtime" and "posixrules").
    try:
        text = importlib.resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - tzdata is a dependency
        import zoneinfo

        return frozenset(zoneinfo.available_timezones())
    return frozenset(text.split()) - {"Factory"}


def _zone(key: str) -> ZoneInfo:
    if key not in _zone_names():
        raise ValueError(f"unknown time zone '{key}'")
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{key}'") from None


_FIELD_NAMES: Final = ("minute", "hour", "day-of-month", "month", "day-of-week")
_FIELD_RANGES: Final = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_MONTH_NAMES: Final = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}
_DAY_NAMES: Final = {name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_FIELD_ALIASES: Final[tuple[dict[str, int], ...]] = ({}, {}, {}, _MONTH_NAMES, _DAY_NAMES)
_ITEM: Final = re.compile(r"(?P<base>[^/]+)(?:/(?P<step>.*))?")
_DIGITS: Final = re.compile(r"[0-9]+")


def _field_value(token: str, index: int) -> int | None:
    """The number a plain value or alias stands for; None for anything croniter must judge (L, 15W, 5#3)."""
    if _DIGITS.fullmatch(token):
        return int(token)
    return _FIELD_ALIASES[index].get(token.lower())


def _check_field(field: str, index: int) -> str:
    """The field, checked and normalised; raises ValueError naming the field."""
    name = _FIELD_NAMES[index]
    low, high = _FIELD_RANGES[index]
    items: list[str] = []
    for item in field.split(","):
        if not item:
            raise ValueError(f"{name} field '{field}' has an empty list entry")
        match = _ITEM.fullmatch(item)
        if match is None:
            raise ValueError(f"{name} field '{field}' is not valid")
        base, step = match.group("base"), match.group("step")
        if step is not None and (not _DIGITS.fullmatch(step) or int(step) < 1):
            raise ValueError(f"{name} field '{field}': step '{step}' must be a whole number of at least 1")
        if base.upper() in {"H", "R"} or base.upper().startswith(("H(", "R(")):
            raise ValueError(f"{name} field '{field}': hashed (H) and random (R) values are not supported")
        items.append(item)
        if base in {"*", "?"}:
            continue
        bounds = base.split("-", 1)
        values = [_field_value(token, index) for token in bounds]
        for token, value in zip(bounds, values, strict=True):
            if value is not None and not low <= value <= high:
                shown = f"'{field}'" if field == token else f"'{field}': {token}"
                raise ValueError(f"{name} field {shown} is out of range {low}-{high}")
        if len(values) == 2 and values[0] is not None and values[1] is not None:
            if values[0] > values[1]:
                raise ValueError(f"{name} field '{field}': range {base} runs backwards (its start is after its end)")
            if values[0] == values[1]:
                # croniter reads an equal range ("5-5", "mon-mon") as the whole
                # field; in standard cron it is that one value, so store it as such.
                items[-1] = bounds[0]
    normalised = ",".join(items)
    # Whatever the checks above let through (L, W, #) is judged by croniter,
    # one field at a time so the message can name the field.
    probe = ["*"] * 5
    probe[index] = normalised
    try:
        croniter(" ".join(probe), _EPOCH)
    except (CroniterError, ValueError, KeyError, IndexError):
        raise ValueError(f"{name} field '{field}' is not valid") from None
    return normalised


# Pure, and a cron schedule is validated each time a task is read (the dispatcher reads
# every due task): ~1 ms of croniter per read, for a handful of distinct expressions.
# Only results are cached; an invalid expression raises again each time.
@lru_cache(maxsize=1024)
def _check_expression(expression: str) -> str:
    fields = expression.split()
    if len(fields) == 1 and fields[0].startswith("@"):
        raise ValueError(
            f"'{fields[0]}' is not supported; use 5 fields (minute hour day-of-month month day-of-week) "
            "or a preset schedule"
        )
    if len(fields) != 5:
        raise ValueError(
            f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}; "
            "seconds and year fields are not supported"
        )
    normalised = " ".join(_check_field(field, index) for index, field in enumerate(fields))
    try:
        croniter(normalised, _EPOCH).get_next(datetime)
    except CroniterBadDateError:
        raise ValueError(f"'{normalised}' never matches a real date (e.g. February 30)") from None
    except (CroniterError, ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"'{normalised}' is not a valid cron expression: {exc}") from None
    return normalised


# ---- models -----------------------------------------------------------------------


class _ScheduleBase(BaseModel):
    # Frozen: a schedule is a value; changing one means validating a new one.
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("start_at", "end_at", "at", mode="before", check_fields=False)
    @classmethod
    def _instant_input(cls, value: Any) -> Any:
        return _reject_numbers(value)

    @field_validator("start_at", "end_at", "at", mode="after", check_fields=False)
    @classmethod
    def _instant(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _normalise_instant(value)

    @field_validator("timezone", mode="after", check_fields=False)
    @classmethod
    def _timezone(cls, value: str) -> str:
        _zone(value)
        return value

    @model_validator(mode="after")
    def _bounds_ordered(self) -> Self:
        start: datetime | None = getattr(self, "start_at", None)
        end: datetime | None = getattr(self, "end_at", None)
        if start is not None and end is not None and end <= start:
            raise ValueError("end_at must be after start_at")
        return self


# Every variant carries start_at/end_at (the design lets any schedule have them),
# so code can read schedule.start_at on the union without narrowing first.
class CronSchedule(_ScheduleBase):
    type: Literal["cron"]
    expression: str = Field(max_length=MAX_EXPRESSION_LENGTH)
    timezone: str = Field(default="UTC", max_length=MAX_TIMEZONE_LENGTH)
    start_at: datetime | None = None
    end_at: datetime | None = None

    @field_validator("expression", mode="after")
    @classmethod
    def _expression(cls, value: str) -> str:
        return _check_expression(value)


class IntervalSchedule(_ScheduleBase):
    type: Literal["interval"]
    # Strict: a JSON float or string here is a client bug, not something to coerce.
    every_seconds: int = Field(strict=True, ge=MIN_INTERVAL_SECONDS, le=MAX_INTERVAL_SECONDS)
    start_at: datetime | None = None
    end_at: datetime | None = None


class OnceSchedule(_ScheduleBase):
    type: Literal["once"]
    at: datetime
    start_at: datetime | None = None
    end_at: datetime | None = None


class PresetSchedule(_ScheduleBase):
    type: Literal["preset"]
    preset: PresetName
    timezone: str = Field(default="UTC", max_length=MAX_TIMEZONE_LENGTH)
    start_at: datetime | None = None
    end_at: datetime | None = None


class ManualSchedule(_ScheduleBase):
    type: Literal["manual"]
    start_at: datetime | None = None
    end_at: datetime | None = None


Schedule = Annotated[
    CronSchedule | IntervalSchedule | OnceSchedule | PresetSchedule | ManualSchedule,
    Field(discriminator="type"),
]
ScheduleAdapter: TypeAdapter[Schedule] = TypeAdapter(Schedule)


# ---- occurrences ------------------------------------------------------------------


def next_occurrence(schedule: Schedule, after: datetime, *, anchor: datetime | None = None) -> datetime | None:
    """The first occurrence strictly after `after`, or None when there is none."""
    found = next_occurrences(schedule, after, 1, anchor=anchor)
    return found[0] if found else None


def next_occurrences(
    schedule: Schedule, after: datetime, count: int, *, anchor: datetime | None = None
) -> list[datetime]:
    """Up to `count` occurrences strictly after `after`, ascending, within the schedule's bounds.

    `anchor` is the origin of an interval schedule without start_at (the task's
    creation time); other schedule types ignore it.
    """
    if isinstance(count, bool) or not 0 <= count <= MAX_COUNT:
        raise ValueError(f"count must be between 0 and {MAX_COUNT}")
    # Occurrences are whole seconds, so "strictly after" means from the next whole second.
    lower = to_epoch(after) + 1
    upper = MAX_EPOCH
    if schedule.start_at is not None:
        lower = max(lower, to_epoch(schedule.start_at))
    if schedule.end_at is not None:
        upper = min(upper, to_epoch(schedule.end_at))
    lower = max(lower, 0)
    if count == 0 or lower > upper:
        return []

    epochs: list[int]
    match schedule:
        case ManualSchedule():
            epochs = []
        case OnceSchedule(at=at):
            epochs = [to_epoch(at)] if lower <= to_epoch(at) <= upper else []
        case IntervalSchedule():
            epochs = _interval_epochs(schedule, anchor, lower, upper, count)
        case CronSchedule(expression=expression, timezone=tz):
            epochs = _cron_epochs(expression, _zone(tz), lower, upper, count)
        case PresetSchedule(preset=preset, timezone=tz):
            epochs = _cron_epochs(PRESET_EXPRESSIONS[preset], _zone(tz), lower, upper, count)
    return [from_epoch(epoch) for epoch in epochs]


def _interval_epochs(
    schedule: IntervalSchedule, anchor: datetime | None, lower: int, upper: int, count: int
) -> list[int]:
    origin = schedule.start_at if schedule.start_at is not None else anchor
    if origin is None:
        raise ValueError("an interval schedule without start_at needs an anchor (the task's creation time)")
    base = to_epoch(origin)
    every = schedule.every_seconds
    # First k >= 0 with base + k*every >= lower; a range slice keeps it O(1).
    k = max(0, -((base - lower) // every))
    return list(range(base + k * every, upper + 1, every)[:count])


def _cron_epochs(expression: str, zone: ZoneInfo, lower: int, upper: int, count: int) -> list[int]:
    lower_dt = from_epoch(lower)
    # Wall times from a spring-forward gap map to instants after the gap, so one
    # that lands at or after `lower` can have a wall time before lower's own wall
    # time. Starting the wall-clock scan from the smallest offset in force
    # during the preceding day covers the widest gap there ever was.
    probes = int(_OFFSET_SLACK / _GAP_PROBE_STEP) + 1
    smallest_offset = min(_utc_offset(lower_dt - i * _GAP_PROBE_STEP, zone) for i in range(probes))
    wall_start = lower_dt + smallest_offset
    wall_stop = from_epoch(upper) + _OFFSET_SLACK

    # croniter runs on a UTC clock, so it only ever does calendar arithmetic on
    # wall times; the zone is applied below.
    walls = croniter(expression, wall_start - _ONE_SECOND)
    found: list[int] = []
    # Shifted gap instants wait here until the wall-time scan has passed every
    # existing time that maps before them (the scan is in wall order, and only
    # gap times break the monotonic wall -> instant mapping).
    shifted: list[int] = []

    def emit(epoch: int) -> None:
        if lower <= epoch <= upper and (not found or epoch > found[-1]) and len(found) < count:
            found.append(epoch)

    while len(found) < count:
        try:
            wall_utc = walls.get_next(datetime)
        except (CroniterBadDateError, OverflowError, ValueError):
            break
        if wall_utc > wall_stop:
            break
        wall = wall_utc.replace(tzinfo=None)
        local = wall.replace(tzinfo=zone)  # fold=0: first instant of a fold, pre-gap offset in a gap
        epoch = to_epoch(local)
        if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
            heapq.heappush(shifted, epoch)
            continue
        while shifted and shifted[0] <= epoch:
            waiting = heapq.heappop(shifted)
            if waiting < epoch:  # equal means the shifted time coincides with this one: run it once
                emit(waiting)
        if epoch > upper:
            break
        emit(epoch)
    while shifted and len(found) < count:
        emit(heapq.heappop(shifted))
    return found


def _utc_offset(instant: datetime, zone: ZoneInfo) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None  # ZoneInfo always has an offset for an aware instant
    return offset


# ---- description -------------------------------------------------------------------


def _duration(seconds: int) -> str:
    for unit, size in (("week", 604_800), ("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds % size == 0:
            amount = seconds // size
            return unit if amount == 1 else f"{amount} {unit}s"
    return f"{seconds} seconds"


def _cron_text(expression: str) -> str:
    options = Options()
    # Pinned rather than left to the library default, which has changed between releases.
    options.use_24hour_time_format = True
    try:
        return str(ExpressionDescriptor(expression, options).get_description())
    except Exception:  # a description must never make a valid schedule unusable
        return f"Cron '{expression}'"


def _bounds_text(start_at: datetime | None, end_at: datetime | None) -> str:
    if start_at is not None and end_at is not None:
        return f", from {_iso(start_at)} until {_iso(end_at)}"
    if start_at is not None:
        return f", from {_iso(start_at)}"
    if end_at is not None:
        return f", until {_iso(end_at)}"
    return ""


def describe(schedule: Schedule) -> str:
    """A one-line human description, e.g. "At 09:00, Monday through Friday (Europe/Berlin)"."""
    match schedule:
        case CronSchedule(expression=expression, timezone=tz):
            text = f"{_cron_text(expression)} ({tz})"
        case PresetSchedule(preset=preset, timezone=tz):
            text = f"{_PRESET_DESCRIPTIONS[preset]} ({tz})"
        case OnceSchedule(at=at):
            text = f"Once at {_iso(at)}"
        case IntervalSchedule(every_seconds=every, start_at=start_at, end_at=end_at):
            # start_at is the anchor here, so it is said once, as the start.
            starting = _iso(start_at) if start_at is not None else "when the task is created"
            return f"Every {_duration(every)} starting {starting}{_bounds_text(None, end_at)}"
        case ManualSchedule():
            text = "Only when run manually"
    return text + _bounds_text(schedule.start_at, schedule.end_at)
