"""``preset``: a named everyday cadence (hourly, daily, weekly, monthly) in a time zone."""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

from pydantic import Field

from agentcron.schedules.base import MAX_TIMEZONE_LENGTH, ZonedKind, zone
from agentcron.schedules.wallclock import cron_epochs

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


class PresetSchedule(ZonedKind):
    type: Literal["preset"]
    preset: PresetName
    timezone: str = Field(default="UTC", max_length=MAX_TIMEZONE_LENGTH)
    start_at: datetime | None = None
    end_at: datetime | None = None

    def epochs(self, lower: int, upper: int, count: int, anchor: datetime | None) -> list[int]:
        return cron_epochs(PRESET_EXPRESSIONS[self.preset], zone(self.timezone), lower, upper, count)

    def summary(self) -> str:
        return f"{_PRESET_DESCRIPTIONS[self.preset]} ({self.timezone})"
