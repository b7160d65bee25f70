"""``aws``: an EventBridge Scheduler expression — ``cron(...)``, ``rate(...)`` or
``at(...)`` — in a time zone, kept as the user wrote it.

Semantics are EventBridge Scheduler's ("Schedule types in EventBridge Scheduler" and
the EventBridge "Cron expressions reference"), evaluated with this package's own
machinery rather than a parallel engine:

* ``cron(minutes hours day-of-month month day-of-week year)``: six fields; one of
  day-of-month and day-of-week must be ``?``; day-of-week is 1-7 = SUN-SAT (classic
  cron's 0-6), ``L`` alone there is Saturday ("the last day of the week"), ``6L`` the
  last Friday of the month and ``2#1`` the first Monday; ``N/step`` starts at N;
  day-of-month takes ``L`` and ``15W``; years are 1970-2099 (EventBridge's 2199 is
  past croniter's range). Translated field by field to the classic expression and
  run by wallclock.py like any cron, with the same DST policy (``dst``). One
  deliberate difference: EventBridge skips a cron time that falls into a
  spring-forward gap; here it runs once after the change, as every cron-based
  schedule does (the design's "a skipped local time is not silently lost").
* ``rate(value unit)``: unit ``minute|minutes|hour|hours|day|days``, singular exactly
  when the value is 1; elapsed time from start_at or, without one, from the task's
  creation (EventBridge: "begins invoking the target immediately"), so a day is 24
  hours whatever the clocks do: the interval kind's arithmetic.
* ``at(yyyy-mm-ddThh:mm:ss)``: once, at that wall time in the schedule's zone (a
  time the clocks skip runs at the instant the pre-change offset names, a repeated
  one at its first instant, as for cron).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Final, Literal

from croniter import CroniterBadDateError, CroniterError, croniter
from pydantic import Field, ValidationInfo, field_validator

from agentcron.schedules.base import EPOCH, MAX_EPOCH, MAX_TIMEZONE_LENGTH, bounds_text, iso, to_epoch, zone
from agentcron.schedules.cron import MAX_EXPRESSION_LENGTH, check_field, cron_text
from agentcron.schedules.dst import DST_FIELD_DESCRIPTION, DstChange, DstPolicy
from agentcron.schedules.interval import MAX_INTERVAL_SECONDS, interval_epochs, interval_text
from agentcron.schedules.once import once_epochs, once_in_the_past
from agentcron.schedules.wallclock import WallClockKind, zoned_occurrences

_FORM: Final = re.compile(r"(?P<form>cron|rate|at)\((?P<body>[^()]*)\)")
_RATE: Final = re.compile(r"(?P<value>[0-9]+) (?P<unit>minutes?|hours?|days?)")
_AT: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")
_UNIT_SECONDS: Final = {"minute": 60, "hour": 3_600, "day": 86_400}
# Croniter's year field ends here; EventBridge's goes on to 2199.
_LAST_YEAR: Final = 2099
# A wall time this far inside the epoch range stays inside it at any UTC offset.
_FIRST_AT: Final = datetime(1970, 1, 2)
_LAST_AT: Final = datetime(2286, 11, 19)

_MONTHS: Final = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS: Final = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    specials: str  # the wildcards the reference table allows besides digits
    names: tuple[str, ...] = ()  # names for low, low+1, ...


# The reference's table: field, values, wildcards.
_FIELDS: Final = (
    _Field("minutes", 0, 59, ",-*/"),
    _Field("hours", 0, 23, ",-*/"),
    _Field("day-of-month", 1, 31, ",-*?/LW"),
    _Field("month", 1, 12, ",-*/", _MONTHS),
    _Field("day-of-week", 1, 7, ",-*?L#", _DAYS),
    _Field("year", 1970, 2199, ",-*/"),
)
_DOM, _DOW, _YEAR = 2, 4, 5
_ITEM: Final = re.compile(r"(?P<base>[^/]+)(?:/(?P<step>[0-9]+))?")


@dataclass(frozen=True)
class _Cron:
    classic: str  # the five classic fields croniter and cron_descriptor read
    year: str  # EventBridge's year field, "*" for any

    @property
    def wall_expression(self) -> str:
        # croniter's seven-field form is "minute hour dom month dow second year".
        return self.classic if self.year == "*" else f"{self.classic} 0 {self.year}"


@dataclass(frozen=True)
class _Rate:
    seconds: int


@dataclass(frozen=True)
class _At:
    wall: datetime  # naive, in the schedule's zone


def _value(token: str, spec: _Field) -> int:
    """A number or a name of `spec`, checked against its range."""
    if token.isdigit():
        value = int(token)
    elif token.upper() in spec.names:
        value = spec.low + spec.names.index(token.upper())
    else:
        raise ValueError(f"{spec.name} field: '{token}' is not a value")
    if not spec.low <= value <= spec.high:
        raise ValueError(f"{spec.name} field: {token} is out of range {spec.low}-{spec.high}")
    return value


def _classic_number(value: int, index: int) -> int:
    # EventBridge's day-of-week is 1-7 = SUN-SAT; classic cron's 0-6.
    return value - 1 if index == _DOW else value


def _translate_item(item: str, index: int) -> str:
    spec = _FIELDS[index]
    upper = item.upper()
    if index == _DOM and upper == "LW":
        raise ValueError("day-of-month field: 'LW' (the last weekday) is not supported; use L or e.g. 28W")
    if index == _DOM and (upper == "L" or re.fullmatch(r"[0-9]+W", upper)):
        if upper == "L":
            return "L"
        return f"{_value(upper[:-1], spec)}W"
    if index == _DOW and upper == "L":
        return "6"  # "the last day of the week": Saturday
    if index == _DOW and upper.endswith("L"):
        return f"L{_classic_number(_value(upper[:-1], spec), index)}"
    if index == _DOW and "#" in upper:
        weekday, _, nth = upper.partition("#")
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise ValueError(f"day-of-week field: '{item}': the week after # must be 1-5")
        return f"{_classic_number(_value(weekday, spec), index)}#{nth}"
    match = _ITEM.fullmatch(item)
    if match is None:
        raise ValueError(f"{spec.name} field: '{item}' is not valid")
    base, step = match.group("base"), match.group("step")
    if step is not None and int(step) < 1:
        raise ValueError(f"{spec.name} field: '{item}': the step must be at least 1")
    suffix = "" if step is None else f"/{int(step)}"
    if base in {"*", "?"}:
        return "*" + suffix
    bounds = [_value(token, spec) for token in base.split("-", 1)]
    if len(bounds) == 2 and bounds[0] > bounds[1]:
        raise ValueError(f"{spec.name} field: range {base} runs backwards (its start is after its end)")
    if index == _YEAR and bounds[-1] > _LAST_YEAR:
        raise ValueError(f"year field: years after {_LAST_YEAR} are not supported")
    classic = [_classic_number(value, index) for value in bounds]
    if step is not None and len(classic) == 1:
        # EventBridge's "0/15" starts at 0 and repeats to the field's end.
        classic.append(_classic_number(_LAST_YEAR if index == _YEAR else spec.high, index))
        if classic[0] == _classic_number(spec.low, index):
            return "*" + suffix  # the same, and what Debian's rule reads as a wildcard job
    return "-".join(map(str, classic)) + suffix


def _translate_field(field: str, index: int) -> str:
    spec = _FIELDS[index]
    allowed = set(spec.specials) | set("0123456789") | {c for name in spec.names for c in name}
    unknown = sorted({c for c in field.upper() if c not in allowed})
    if unknown:
        raise ValueError(f"{spec.name} field '{field}': '{unknown[0]}' is not allowed here")
    items = field.split(",")
    if index == _DOW and "#" in field and len(items) > 1:
        raise ValueError("day-of-week field: with '#' it holds a single expression (e.g. 3#2)")
    if "?" in field and field != "?":
        raise ValueError(f"{spec.name} field '{field}': '?' stands alone")
    if any(not item for item in items):
        raise ValueError(f"{spec.name} field '{field}' has an empty list entry")
    return ",".join(_translate_item(item, index) for item in items)


def _parse_cron(body: str) -> _Cron:
    fields = body.split()
    if len(fields) != 6:
        raise ValueError(
            f"cron() takes 6 fields (minutes hours day-of-month month day-of-week year), got {len(fields)}"
        )
    if (fields[_DOM] == "?") == (fields[_DOW] == "?"):
        raise ValueError("exactly one of day-of-month and day-of-week must be '?', e.g. cron(0 9 ? * MON-FRI *)")
    translated = [_translate_field(field, index) for index, field in enumerate(fields)]
    for index in range(5):
        # The classic checks (croniter's reading of L, W and #), naming the field as EventBridge does.
        try:
            translated[index] = check_field(translated[index], index)
        except ValueError:
            raise ValueError(f"{_FIELDS[index].name} field '{fields[index]}' is not valid") from None
    parsed = _Cron(" ".join(translated[:5]), translated[_YEAR])
    try:
        croniter(parsed.wall_expression, EPOCH, max_years_between_matches=_LAST_YEAR - 1970).get_next(datetime)
    except CroniterBadDateError:
        raise ValueError(f"cron({body}) never matches a real date (e.g. February 30)") from None
    except (CroniterError, ValueError, KeyError, IndexError):
        raise ValueError(f"cron({body}) is not a valid expression") from None
    return parsed


def _parse_rate(body: str) -> _Rate:
    match = _RATE.fullmatch(body)
    if match is None:
        raise ValueError("rate() takes a value and a unit, e.g. rate(5 minutes), rate(1 hour), rate(7 days)")
    value, unit = int(match.group("value")), match.group("unit")
    if value < 1:
        raise ValueError("rate() needs a positive value")
    if (value == 1) != (not unit.endswith("s")):
        fix = unit.rstrip("s") if value == 1 else unit + "s"
        raise ValueError(f"rate({body}): with {'1' if value == 1 else value} the unit is '{fix}'")
    seconds = value * _UNIT_SECONDS[unit.rstrip("s")]
    if seconds > MAX_INTERVAL_SECONDS:
        raise ValueError(f"rate({body}) is longer than {MAX_INTERVAL_SECONDS // 86_400} days")
    return _Rate(seconds)


def _parse_at(body: str) -> _At:
    if _AT.fullmatch(body) is None:
        raise ValueError("at() takes a local date and time, e.g. at(2027-01-01T09:00:00)")
    try:
        wall = datetime.fromisoformat(body)
    except ValueError:
        raise ValueError(f"at({body}) is not a real date and time") from None
    if not _FIRST_AT <= wall <= _LAST_AT:
        raise ValueError(f"at({body}) must be between {_FIRST_AT:%Y-%m-%d} and {_LAST_AT:%Y-%m-%d}")
    return _At(wall)


# Validated on every read of a task, like cron expressions; only results are cached.
@lru_cache(maxsize=1024)
def parse_expression(expression: str) -> _Cron | _Rate | _At:
    match = _FORM.fullmatch(expression)
    if match is None:
        raise ValueError("must be cron(...), rate(...) or at(...), e.g. cron(0 9 ? * MON-FRI *) or rate(5 minutes)")
    form, body = match.group("form"), match.group("body")
    if form == "cron":
        return _parse_cron(body)
    if form == "rate":
        return _parse_rate(body)
    return _parse_at(body)


class AwsSchedule(WallClockKind):
    type: Literal["aws"]
    expression: str = Field(
        max_length=MAX_EXPRESSION_LENGTH,
        description="An EventBridge Scheduler expression: cron(minutes hours day-of-month month day-of-week "
        "year), rate(value unit) or at(yyyy-mm-ddThh:mm:ss), evaluated in `timezone`",
        examples=["cron(0 9 ? * MON-FRI *)", "rate(5 minutes)", "at(2027-01-01T09:00:00)"],
    )
    timezone: str = Field(default="UTC", max_length=MAX_TIMEZONE_LENGTH)
    dst: DstPolicy | None = Field(default=None, description=DST_FIELD_DESCRIPTION + " For cron(...) only.")
    start_at: datetime | None = None
    end_at: datetime | None = None

    @field_validator("expression", mode="after")
    @classmethod
    def _expression(cls, value: str) -> str:
        parse_expression(value)
        return value  # kept as written: EventBridge users recognise their own expression

    @field_validator("dst", mode="after")
    @classmethod
    def _dst_for_cron_only(cls, value: DstPolicy | None, info: ValidationInfo) -> DstPolicy | None:
        expression = info.data.get("expression")
        if value is not None and expression is not None and not isinstance(parse_expression(expression), _Cron):
            raise ValueError("applies to cron(...) expressions only; rate(...) and at(...) are not wall-clock times")
        return value

    def _form(self) -> _Cron | _Rate | _At:
        return parse_expression(self.expression)

    def _at_instant(self, at: _At) -> datetime:
        return at.wall.replace(tzinfo=zone(self.timezone))  # fold=0, as cron wall times

    def wall_expression(self) -> str:
        parsed = self._form()
        if not isinstance(parsed, _Cron):
            raise TypeError("only a cron(...) expression has wall times")
        return parsed.wall_expression

    def occurrences(
        self, lower: int, upper: int, count: int, anchor: datetime | None
    ) -> list[tuple[int, DstChange | None]]:
        parsed = self._form()
        if isinstance(parsed, _Cron):
            return super().occurrences(lower, upper, count, anchor)
        if isinstance(parsed, _Rate):
            epochs = interval_epochs(parsed.seconds, self.start_at, anchor, lower, upper, count)
        else:
            epochs = once_epochs(self._at_instant(parsed), lower, upper, count)
        return [(epoch, None) for epoch in epochs]

    def summary(self) -> str:
        parsed = self._form()
        if isinstance(parsed, _Rate):
            return interval_text(parsed.seconds, self.start_at)
        if isinstance(parsed, _At):
            return f"Once at {parsed.wall:%Y-%m-%d %H:%M:%S} {self.timezone} ({iso(self._at_instant(parsed))})"
        years = "" if parsed.year == "*" else f", in {parsed.year}"
        return f"{cron_text(parsed.classic)}{years} ({self.timezone})"

    def describe(self) -> str:
        # A rate's start_at is its anchor, already said once in the summary.
        start_at = None if isinstance(self._form(), _Rate) else self.start_at
        return self.summary() + bounds_text(start_at, self.end_at)

    def refusal(self, now: datetime) -> tuple[str, str] | None:
        parsed = self._form()
        if isinstance(parsed, _At):
            why = once_in_the_past(self._at_instant(parsed), now)
            return None if why is None else ("expression", why)
        if isinstance(parsed, _Cron) and parsed.year != "*":
            tz = zone(self.timezone)
            if not zoned_occurrences(parsed.wall_expression, tz, to_epoch(now), MAX_EPOCH, 1):
                return "expression", f"its year field ({parsed.year}) has no time left after {iso(now)}"
        return None
