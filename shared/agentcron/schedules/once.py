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
        at = to_epoch(self.at)
        return [at] if count and lower <= at <= upper else []

    def summary(self) -> str:
        return f"Once at {iso(self.at)}"

    def refusal(self, now: datetime) -> tuple[str, str] | None:
        # Due this very second still runs (the task's first run is "at or after now").
        if self.at < now.replace(microsecond=0):
            return "at", f"{iso(self.at)} is in the past (now {iso(now)}); a once task would never run"
        return None
