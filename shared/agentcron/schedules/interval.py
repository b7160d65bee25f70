"""``interval``: every N seconds from start_at (or from the task's creation)."""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

from pydantic import Field

from agentcron.schedules.base import ScheduleKind, bounds_text, iso, to_epoch

MIN_INTERVAL_SECONDS: Final = 60
MAX_INTERVAL_SECONDS: Final = 366 * 86_400


def duration_text(seconds: int) -> str:
    for unit, size in (("week", 604_800), ("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds % size == 0:
            amount = seconds // size
            return unit if amount == 1 else f"{amount} {unit}s"
    return f"{seconds} seconds"


class IntervalSchedule(ScheduleKind):
    type: Literal["interval"]
    # Strict: a JSON float or string here is a client bug, not something to coerce.
    every_seconds: int = Field(strict=True, ge=MIN_INTERVAL_SECONDS, le=MAX_INTERVAL_SECONDS)
    start_at: datetime | None = None
    end_at: datetime | None = None

    def epochs(self, lower: int, upper: int, count: int, anchor: datetime | None) -> list[int]:
        return interval_epochs(self.every_seconds, self.start_at, anchor, lower, upper, count)

    def summary(self) -> str:
        return interval_text(self.every_seconds, self.start_at)

    def describe(self) -> str:
        return self.summary() + bounds_text(None, self.end_at)


def interval_epochs(
    every: int, start_at: datetime | None, anchor: datetime | None, lower: int, upper: int, count: int
) -> list[int]:
    """Every `every` seconds from start_at, or without one from `anchor` (the task's creation)."""
    origin = start_at if start_at is not None else anchor
    if origin is None:
        raise ValueError("an interval schedule without start_at needs an anchor (the task's creation time)")
    base = to_epoch(origin)
    # First k >= 0 with base + k*every >= lower; a range slice keeps it O(1).
    k = max(0, -((base - lower) // every))
    return list(range(base + k * every, upper + 1, every)[:count])


def interval_text(every: int, start_at: datetime | None) -> str:
    # start_at is the anchor here, so it is said once, as the start.
    starting = iso(start_at) if start_at is not None else "when the task is created"
    return f"Every {duration_text(every)} starting {starting}"
