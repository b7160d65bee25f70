"""``once``: a single instant."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from agentcron.schedules.base import ScheduleKind, iso, to_epoch


class OnceSchedule(ScheduleKind):
    type: Literal["once"]
    # Named to the second it falls in (sub-seconds dropped), as every stored instant.
    at: datetime
    start_at: datetime | None = None
    end_at: datetime | None = None

    def epochs(self, lower: int, upper: int, count: int, anchor: datetime | None) -> list[int]:
        return once_epochs(self.at, lower, upper, count)

    def summary(self) -> str:
        return f"Once at {iso(self.at)}"

    def refusal(self, now: datetime) -> tuple[str, str] | None:
        why = once_in_the_past(self.at, now)
        return None if why is None else ("at", why)


def once_epochs(at: datetime, lower: int, upper: int, count: int) -> list[int]:
    epoch = to_epoch(at)
    return [epoch] if count and lower <= epoch <= upper else []


def once_in_the_past(at: datetime, now: datetime) -> str | None:
    """Why a task that runs once at `at` would never run, if it would not."""
    # Due this very second still runs (the task's first run is "at or after now").
    if at < now.replace(microsecond=0):
        return f"{iso(at)} is in the past (now {iso(now)}); a once task would never run"
    return None
