"""Schedules: the validated JSON shapes, their occurrences and a human description.

One module per kind (cron, interval, once, preset, manual, aws = eventbridge.py), each a
``ScheduleKind`` (base.py) owning its validation, its occurrences and its
description; the ``Schedule`` union below is the one list of kinds, and
``SCHEDULE_KINDS`` (the names the API, problems and the CLI use) is derived from it.

Occurrence rules that every caller relies on:

* Occurrences are UTC-aware, whole-second instants, strictly increasing, strictly
  after the ``after`` argument and inside ``[start_at, end_at]`` (both inclusive).
* Bounds are rounded inward to whole seconds (``start_at`` up, ``end_at`` down), so a
  sub-second bound never lets an occurrence fall outside what was asked for; refusing
  them instead would break clients that send milliseconds (JavaScript's toISOString).
* Instants are limited to epoch seconds 0..9_999_999_999 because run ids and the
  ``ByOwner`` sort key store the scheduled epoch as exactly 10 digits.
* Cron and preset schedules are evaluated in local wall-clock time and converted
  with zoneinfo here, not by croniter: croniter's own DST handling has a history
  of skipped and doubled runs, and running it on a fixed-offset clock reduces it
  to a pure calendar matcher we can trust.

DST policy (the design says "a skipped local time is not run twice nor silently
lost"): explicit, per cron-based schedule (``dst.repeated_hour``), Debian cron's
rule by default, and written down with the man page it follows in wallclock.py,
the one place cron-based occurrences are computed. In short: a wall time inside a
spring-forward gap runs once, shifted forward by the gap (02:30 -> 03:30 CEST);
a wall time that happens twice runs once for fixed-time jobs (``30 2 * * *``) and
twice for wildcard jobs (``*/15 * * * *``), which keep their cadence in real time.
``annotated_occurrences`` says, per occurrence, what the rule did (for previews).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Final, get_args

from pydantic import AfterValidator, Field, TypeAdapter, WithJsonSchema

from agentcron.schedules.base import (
    MAX_COUNT,
    MAX_EPOCH,
    MAX_TIMEZONE_LENGTH,
    MAX_WORDS_LENGTH,
    ScheduleKind,
    from_epoch,
    to_epoch,
)
from agentcron.schedules.cron import MAX_EXPRESSION_LENGTH, CronSchedule
from agentcron.schedules.dst import DstChange, DstPolicy
from agentcron.schedules.eventbridge import AwsSchedule
from agentcron.schedules.interval import MAX_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS, IntervalSchedule
from agentcron.schedules.manual import ManualSchedule
from agentcron.schedules.once import OnceSchedule
from agentcron.schedules.preset import PRESET_EXPRESSIONS, PresetSchedule

__all__ = [
    "MAX_COUNT",
    "MAX_EPOCH",
    "MAX_EXPRESSION_LENGTH",
    "MAX_INTERVAL_SECONDS",
    "MAX_TIMEZONE_LENGTH",
    "MAX_WORDS_LENGTH",
    "MIN_INTERVAL_SECONDS",
    "PRESET_EXPRESSIONS",
    "SCHEDULE_KINDS",
    "AwsSchedule",
    "CronSchedule",
    "DstChange",
    "DstPolicy",
    "IntervalSchedule",
    "KindName",
    "ManualSchedule",
    "OnceSchedule",
    "PresetSchedule",
    "Schedule",
    "ScheduleAdapter",
    "ScheduleKind",
    "annotated_occurrences",
    "describe",
    "from_epoch",
    "next_occurrence",
    "next_occurrences",
    "next_run_epoch",
    "to_epoch",
]

# The one list of kinds: adding a kind is a module and a member here.
Schedule = Annotated[
    CronSchedule | IntervalSchedule | OnceSchedule | PresetSchedule | ManualSchedule | AwsSchedule,
    Field(discriminator="type"),
]
ScheduleAdapter: TypeAdapter[Schedule] = TypeAdapter(Schedule)

_KIND_CLASSES: Final[tuple[type[ScheduleKind], ...]] = get_args(get_args(Schedule)[0])
# Each kind's `type` literal, in the union's order.
SCHEDULE_KINDS: Final[tuple[str, ...]] = tuple(
    get_args(kind.model_fields["type"].annotation)[0] for kind in _KIND_CLASSES
)


def _known_kind(value: str) -> str:
    if value not in SCHEDULE_KINDS:
        raise ValueError(f"must be one of {', '.join(SCHEDULE_KINDS)}")
    return value


# A kind's name where one is accepted on its own (the task listing's schedule_type filter).
KindName = Annotated[str, AfterValidator(_known_kind), WithJsonSchema({"type": "string", "enum": list(SCHEDULE_KINDS)})]


def next_occurrence(schedule: Schedule, after: datetime, *, anchor: datetime | None = None) -> datetime | None:
    """The first occurrence strictly after `after`, or None when there is none."""
    found = next_occurrences(schedule, after, 1, anchor=anchor)
    return found[0] if found else None


def next_run_epoch(schedule: Schedule, *, now: datetime, anchor: datetime) -> int | None:
    """The first occurrence at or after `now` (a once-task due this very second still runs)."""
    occurrence = next_occurrence(schedule, now - timedelta(seconds=1), anchor=anchor)
    return None if occurrence is None else to_epoch(occurrence)


def next_occurrences(
    schedule: Schedule, after: datetime, count: int, *, anchor: datetime | None = None
) -> list[datetime]:
    """Up to `count` occurrences strictly after `after`, ascending, within the schedule's bounds.

    `anchor` is the origin of an interval schedule without start_at (the task's
    creation time); other schedule types ignore it.
    """
    window = _window(schedule, after, count)
    if window is None:
        return []
    return [from_epoch(epoch) for epoch in schedule.epochs(*window, count, anchor)]


def annotated_occurrences(
    schedule: Schedule, after: datetime, count: int, *, anchor: datetime | None = None
) -> list[tuple[datetime, DstChange | None]]:
    """``next_occurrences``, each with what the DST rule did to it (None: nothing)."""
    window = _window(schedule, after, count)
    if window is None:
        return []
    return [(from_epoch(epoch), change) for epoch, change in schedule.occurrences(*window, count, anchor)]


def _window(schedule: Schedule, after: datetime, count: int) -> tuple[int, int] | None:
    """[lower, upper] epochs to look in, or None when nothing can be found."""
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
        return None
    return lower, upper


def describe(schedule: Schedule) -> str:
    """A one-line human description, e.g. "At 09:00, Monday through Friday (Europe/Berlin)"."""
    return schedule.describe()
