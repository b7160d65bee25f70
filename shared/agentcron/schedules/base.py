"""What every schedule kind shares: epoch arithmetic, instant and zone validation,
and the ``ScheduleKind`` interface each kind implements (its own module holds its
validation, its occurrences and its description)."""

from __future__ import annotations

import importlib.resources
import re
from abc import abstractmethod
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, Final, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

if TYPE_CHECKING:
    from agentcron.schedules.dst import DstChange

MAX_TIMEZONE_LENGTH: Final = 64
# The longest schedule said in words (schedules/words.py) that is read.
MAX_WORDS_LENGTH: Final = 200
# Upper bound on one next_occurrences call, so a request cannot ask for an
# unbounded amount of croniter work.
MAX_COUNT: Final = 1000
# Ten decimal digits of epoch seconds (2286-11-20T17:46:39Z), see the package docstring.
MAX_EPOCH: Final = 9_999_999_999

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
ONE_SECOND: Final = timedelta(seconds=1)


# ---- epoch helpers ------------------------------------------------------------


def to_epoch(dt: datetime) -> int:
    """Whole epoch seconds of an aware datetime (sub-second parts are floored)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("naive datetime: an instant needs a UTC offset")
    # Timedelta floor division is exact, unlike float timestamp().
    return (dt - EPOCH) // ONE_SECOND


def from_epoch(seconds: int) -> datetime:
    """The UTC-aware datetime of whole epoch seconds."""
    return EPOCH + timedelta(seconds=seconds)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- field validation ---------------------------------------------------------


def normalise_instant(value: datetime, *, round_up: bool = False) -> datetime:
    """The instant in UTC, in whole seconds: the stored schedule is exactly what gets
    evaluated. Sub-seconds are dropped, or with `round_up` rounded up to the next
    second (a start bound, so no occurrence falls before the instant asked for)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            "must include a UTC offset, e.g. 2026-12-01T09:00:00Z or 2026-12-01T10:00:00+01:00; "
            "a naive date-time is ambiguous"
        )
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"must be between {iso(EPOCH)} and {iso(from_epoch(MAX_EPOCH))}") from None
    whole = utc.replace(microsecond=0)
    if round_up and whole != utc:
        whole = from_epoch(to_epoch(whole) + 1)
    if not 0 <= to_epoch(whole) <= MAX_EPOCH:
        raise ValueError(f"must be between {iso(EPOCH)} and {iso(from_epoch(MAX_EPOCH))}")
    return whole


_NUMBER: Final = re.compile(r"\s*[+-]?[0-9]+(?:\.[0-9]*)?\s*")


def reject_numbers(value: Any) -> Any:
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


def zone(key: str) -> ZoneInfo:
    if key not in _zone_names():
        raise ValueError(f"unknown time zone '{key}'")
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{key}'") from None


# ---- the interface ------------------------------------------------------------------


class ScheduleKind(BaseModel):
    """One kind of schedule (pydantic's metaclass is an ABCMeta, so the abstract
    methods are enforced). A kind's module declares its JSON shape (its own
    ``type`` literal, and ``start_at``/``end_at`` like every kind), checks its
    fields, and answers two questions: which instants it runs at, and how to say
    so in one line. The package's ``next_occurrences`` applies the bounds, so a
    kind never has to."""

    # Frozen: a schedule is a value; changing one means validating a new one.
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Declared by each kind (after its `type`, so the JSON reads in that order).
    if TYPE_CHECKING:
        start_at: datetime | None
        end_at: datetime | None

    @field_validator("start_at", "end_at", "at", mode="before", check_fields=False)
    @classmethod
    def _instant_input(cls, value: Any) -> Any:
        return reject_numbers(value)

    @field_validator("end_at", "at", mode="after", check_fields=False)
    @classmethod
    def _instant(cls, value: datetime | None) -> datetime | None:
        return None if value is None else normalise_instant(value)

    @field_validator("start_at", mode="after", check_fields=False)
    @classmethod
    def _start(cls, value: datetime | None) -> datetime | None:
        # Rounded up where end_at and at are rounded down: bounds only ever narrow,
        # so a start of 12:00:00.456 never yields 12:00:00.
        return None if value is None else normalise_instant(value, round_up=True)

    @model_validator(mode="after")
    def _bounds_ordered(self) -> Self:
        if self.start_at is not None and self.end_at is not None and self.end_at <= self.start_at:
            raise ValueError("end_at must be after start_at")
        return self

    @abstractmethod
    def epochs(self, lower: int, upper: int, count: int, anchor: datetime | None) -> list[int]:
        """Up to `count` ascending epoch seconds in [lower, upper] (0 <= lower <= upper),
        ignoring start_at/end_at other than as an origin. `anchor`: the task's creation
        time, the origin of kinds that need one."""

    def occurrences(
        self, lower: int, upper: int, count: int, anchor: datetime | None
    ) -> list[tuple[int, DstChange | None]]:
        """``epochs``, each with what the DST rule did to it (None: nothing). Only
        kinds evaluated in wall-clock time have anything to say."""
        return [(epoch, None) for epoch in self.epochs(lower, upper, count, anchor)]

    @abstractmethod
    def summary(self) -> str:
        """The one-line description, without the bounds."""

    def describe(self) -> str:
        """A one-line human description, e.g. "At 09:00, Monday through Friday (Europe/Berlin)"."""
        return self.summary() + bounds_text(self.start_at, self.end_at)

    def refusal(self, now: datetime) -> tuple[str, str] | None:
        """(field, why) when a task created or edited at `now` with this schedule could
        never run because of that field; None otherwise. A preview may still show it."""
        return None


def bounds_text(start_at: datetime | None, end_at: datetime | None) -> str:
    if start_at is not None and end_at is not None:
        return f", from {iso(start_at)} until {iso(end_at)}"
    if start_at is not None:
        return f", from {iso(start_at)}"
    if end_at is not None:
        return f", until {iso(end_at)}"
    return ""


class ZonedKind(ScheduleKind):
    """A kind evaluated in a time zone's wall-clock time (cron, preset)."""

    if TYPE_CHECKING:
        timezone: str

    @field_validator("timezone", mode="after", check_fields=False)
    @classmethod
    def _timezone(cls, value: str) -> str:
        zone(value)
        return value
