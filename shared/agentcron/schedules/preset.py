"""``preset``: a named everyday cadence (hourly, daily, weekly, monthly) in a time zone."""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

from pydantic import Field

from agentcron.schedules.base import MAX_TIMEZONE_LENGTH
from agentcron.schedules.dst import DST_FIELD_DESCRIPTION, DstPolicy
from agentcron.schedules.wallclock import WallClockKind

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


class PresetSchedule(WallClockKind):
    type: Literal["preset"]
    preset: PresetName
    timezone: str = Field(default="UTC", max_length=MAX_TIMEZONE_LENGTH)
    dst: DstPolicy | None = Field(default=None, description=DST_FIELD_DESCRIPTION)
    start_at: datetime | None = None
    end_at: datetime | None = None

    def wall_expression(self) -> str:
        return PRESET_EXPRESSIONS[self.preset]

    def summary(self) -> str:
        return f"{_PRESET_DESCRIPTIONS[self.preset]} ({self.timezone})"
