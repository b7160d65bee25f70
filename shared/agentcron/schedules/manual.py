"""``manual``: no occurrences; the task runs only when asked to."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from agentcron.schedules.base import ScheduleKind


class ManualSchedule(ScheduleKind):
    type: Literal["manual"]
    start_at: datetime | None = None
    end_at: datetime | None = None

    def epochs(self, lower: int, upper: int, count: int, anchor: datetime | None) -> list[int]:
        return []

    def summary(self) -> str:
        return "Only when run manually"
