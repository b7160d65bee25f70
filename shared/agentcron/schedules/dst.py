"""The DST policy's vocabulary: the choice a cron-based schedule makes (``DstPolicy``)
and what the rule did to one occurrence (``DstChange``). The rule itself is in
wallclock.py, the one place occurrences of cron-based schedules are computed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RepeatedHour = Literal["auto", "once", "both"]
DstChangeKind = Literal["moved", "skipped", "doubled"]


class DstPolicy(BaseModel):
    """What a cron-based schedule does when the clocks change (the rule: wallclock.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    repeated_hour: RepeatedHour = Field(
        default="auto",
        description="A wall time that happens twice when the clocks go back: 'once' runs it at its first "
        "instant, 'both' at both, 'auto' (default) like Debian's cron: 'both' when the minute or hour field "
        "starts with '*' (the job keeps its cadence in real time), 'once' otherwise",
    )


# The `dst` field of every cron-based kind, documented once.
DST_FIELD_DESCRIPTION = (
    'What the schedule does when the clocks change; null is the default, {"repeated_hour": "auto"} '
    "(Debian cron's rule). A time the clocks skip always runs once, right after the change."
)


@dataclass(frozen=True)
class DstChange:
    """What the DST rule did to one occurrence: ``moved`` (its wall time did not exist,
    it runs later), ``skipped`` (a wall time the rule did not run on its own: the
    repeat of a time that happens twice, or a nonexistent time that coincides with
    this occurrence), ``doubled`` (one of the two runs of a time that happens twice)."""

    change: DstChangeKind
    local_time: datetime  # the wall time as the expression names it (naive)
    note: str
