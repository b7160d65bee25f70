"""Cron expressions evaluated in a zone's wall-clock time, with the package's DST
policy (cron and preset schedules share it)."""

from __future__ import annotations

import heapq
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, croniter

from agentcron.schedules.base import ONE_SECOND, from_epoch, to_epoch

# Larger than any UTC offset ever used (about +-15:56 in historical LMT) and than
# any gap (Pacific/Apia skipped a whole day in 2011), so instants and wall times
# can be bounded against each other with it.
_OFFSET_SLACK: Final = timedelta(hours=26)
_GAP_PROBE_STEP: Final = timedelta(minutes=30)


def cron_epochs(expression: str, zone: ZoneInfo, lower: int, upper: int, count: int) -> list[int]:
    lower_dt = from_epoch(lower)
    # Wall times from a spring-forward gap map to instants after the gap, so one
    # that lands at or after `lower` can have a wall time before lower's own wall
    # time. Starting the wall-clock scan from the smallest offset in force
    # during the preceding day covers the widest gap there ever was.
    probes = int(_OFFSET_SLACK / _GAP_PROBE_STEP) + 1
    smallest_offset = min(_utc_offset(lower_dt - i * _GAP_PROBE_STEP, zone) for i in range(probes))
    wall_start = lower_dt + smallest_offset
    wall_stop = from_epoch(upper) + _OFFSET_SLACK

    # croniter runs on a UTC clock, so it only ever does calendar arithmetic on
    # wall times; the zone is applied below.
    walls = croniter(expression, wall_start - ONE_SECOND)
    found: list[int] = []
    # Shifted gap instants wait here until the wall-time scan has passed every
    # existing time that maps before them (the scan is in wall order, and only
    # gap times break the monotonic wall -> instant mapping).
    shifted: list[int] = []

    def emit(epoch: int) -> None:
        if lower <= epoch <= upper and (not found or epoch > found[-1]) and len(found) < count:
            found.append(epoch)

    while len(found) < count:
        try:
            wall_utc = walls.get_next(datetime)
        except (CroniterBadDateError, OverflowError, ValueError):
            break
        if wall_utc > wall_stop:
            break
        wall = wall_utc.replace(tzinfo=None)
        local = wall.replace(tzinfo=zone)  # fold=0: first instant of a fold, pre-gap offset in a gap
        epoch = to_epoch(local)
        if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
            heapq.heappush(shifted, epoch)
            continue
        while shifted and shifted[0] <= epoch:
            waiting = heapq.heappop(shifted)
            if waiting < epoch:  # equal means the shifted time coincides with this one: run it once
                emit(waiting)
        if epoch > upper:
            break
        emit(epoch)
    while shifted and len(found) < count:
        emit(heapq.heappop(shifted))
    return found


def _utc_offset(instant: datetime, zone: ZoneInfo) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None  # ZoneInfo always has an offset for an aware instant
    return offset
