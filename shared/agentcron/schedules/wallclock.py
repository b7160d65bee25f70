"""Cron expressions evaluated in a zone's wall-clock time, with the package's DST
policy (every cron-based kind shares it: cron, preset and EventBridge ``cron(...)``).

The policy follows Debian's cron, whose man page (cron(8), "Daylight Saving Time
and other time changes") says:

    "If the time has moved forwards, those jobs which would have run in the time
    that was skipped will be run soon after the change. Conversely, if the time
    has moved backwards by less than 3 hours, those jobs that fall into the
    repeated time will not be re-run.

    Only jobs that run at a particular time (not specified as @hourly, nor with
    '*' in the hour or minute specifier) are affected. Jobs which are specified
    with wildcards are run based on the new time immediately."

Debian's code tells the two apart by the first character of the minute and hour
fields (its ``MIN_STAR``/``HR_STAR`` flags), so ``*/15 * * * *``, ``30 * * * *``
and ``0 */2 * * *`` are wildcard jobs, ``0 9 * * *`` and ``0 8-17 * * *`` are
fixed-time jobs, and so is each of our presets except ``hourly`` ("@hourly").

* **Repeated hour** (``dst.repeated_hour``): ``once`` runs a wall time that happens
  twice at its first instant (PEP 495 ``fold=0``); ``both`` runs it at both
  instants; ``auto`` (the default) is Debian's rule: ``both`` for wildcard jobs, so
  ``*/15`` keeps its 15-minute cadence in real time through the repeated hour,
  ``once`` for fixed-time jobs, so "the 02:30 job" runs once that night.
* **Skipped hour** (a spring-forward gap): a wall time that does not exist runs
  once, at the instant it maps to with the offset in force before the gap (PEP 495
  ``fold=0``): 02:30 on the Berlin spring day runs at 03:30 CEST. Debian runs such
  jobs "soon after the change" (03:00); we keep each skipped time its own instant
  because a run's id is derived from its instant, so several skipped times (02:00,
  02:15, 02:30) would otherwise merge into one run. When the shifted instant
  coincides with another occurrence it is yielded once: for wildcard jobs such as
  ``*/15`` that is exactly "run based on the new time immediately", the cadence
  in real time is kept.

Every occurrence the rule touched carries a ``DstChange`` saying what it did, so
a preview can show it; the dispatcher only takes the instants.
"""

from __future__ import annotations

import heapq
import itertools
from abc import abstractmethod
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, croniter

from agentcron.schedules.base import ONE_SECOND, ZonedKind, from_epoch, to_epoch, zone
from agentcron.schedules.dst import DstChange, DstPolicy

# Larger than any UTC offset ever used (about +-15:56 in historical LMT) and than
# any gap (Pacific/Apia skipped a whole day in 2011), so instants and wall times
# can be bounded against each other with it.
_OFFSET_SLACK: Final = timedelta(hours=26)
_GAP_PROBE_STEP: Final = timedelta(minutes=30)


def is_wildcard_job(expression: str) -> bool:
    """Debian's ``MIN_STAR | HR_STAR``: the minute or the hour field starts with '*'."""
    minute, hour = expression.split()[:2]
    return minute.startswith("*") or hour.startswith("*")


def repeats_in_fold(expression: str, policy: DstPolicy | None) -> bool:
    chosen = "auto" if policy is None else policy.repeated_hour
    return chosen == "both" or (chosen == "auto" and is_wildcard_job(expression))


def zoned_occurrences(
    expression: str, tz: ZoneInfo, lower: int, upper: int, count: int, *, repeat: bool = False
) -> list[tuple[int, DstChange | None]]:
    """Up to `count` ascending (epoch, change) in [lower, upper]: the expression's wall
    times in `tz` under the DST policy; `repeat` runs a repeated wall time twice."""
    lower_dt = from_epoch(lower)
    # Only gap times and second instants break the monotonic wall -> instant
    # mapping: a gap time that lands at or after `lower` can have a wall time
    # before lower's own, and so can the second instant of a repeated time when
    # the clocks go back shortly after `lower`. Starting the wall-clock scan from
    # the smallest offset in force within a day either side covers the widest
    # change there ever was.
    probes = int(_OFFSET_SLACK / _GAP_PROBE_STEP) + 1
    smallest_offset = min(_utc_offset(lower_dt + i * _GAP_PROBE_STEP, tz) for i in range(-probes, probes + 1))
    wall_start = lower_dt + smallest_offset
    wall_stop = from_epoch(upper) + _OFFSET_SLACK

    # croniter runs on a UTC clock, so it only ever does calendar arithmetic on
    # wall times; the zone is applied below. Six fields and more carry a year,
    # whose matches can be far apart.
    years = 300 if len(expression.split()) > 5 else None
    walls = croniter(expression, wall_start - ONE_SECOND, max_years_between_matches=years)
    found: list[int] = []
    changes: dict[int, DstChange] = {}
    # Instants that come later than their wall time's place in the scan (shifted
    # gap times, second instants) wait here until the scan has passed every
    # existing time that maps before them. The sequence number breaks ties, so the
    # heap never compares two changes.
    waiting: list[tuple[int, int, DstChange]] = []
    sequence = itertools.count()

    def emit(epoch: int, change: DstChange | None) -> None:
        if not lower <= epoch <= upper:
            return
        if found and epoch == found[-1]:
            # Two sources, one instant (a shifted time landing on a listed one): run once, say why.
            if change is not None and epoch not in changes:
                changes[epoch] = change
            return
        if (not found or epoch > found[-1]) and len(found) < count:
            found.append(epoch)
            if change is not None:
                changes[epoch] = change

    def flush(until: int, *, existing: bool = True) -> None:
        """Emit what waits up to `until`; `existing`: `until` is an occurrence of its own."""
        while waiting and waiting[0][0] <= until:
            epoch, _, change = heapq.heappop(waiting)
            if existing and epoch == until:
                # Coincides with an existing occurrence: that one runs, carrying the note.
                emit(epoch, _as_skipped(change, tz, epoch))
            else:
                emit(epoch, change)

    while len(found) < count:
        try:
            wall_utc = walls.get_next(datetime)
        except (CroniterBadDateError, OverflowError, ValueError):
            break
        if wall_utc > wall_stop:
            break
        wall = wall_utc.replace(tzinfo=None)
        first = wall.replace(tzinfo=tz)  # fold=0: first instant of a fold, pre-gap offset in a gap
        epoch = to_epoch(first)
        if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall:
            heapq.heappush(waiting, (epoch, next(sequence), _moved(wall, first, tz)))
            continue
        second = wall.replace(tzinfo=tz, fold=1)
        change: DstChange | None = None
        if second.utcoffset() != first.utcoffset():
            if repeat:
                heapq.heappush(waiting, (to_epoch(second), next(sequence), _doubled(wall, second, "second")))
                change = _doubled(wall, first, "first")
            else:
                change = _once(wall, first, second)
        flush(epoch)
        if epoch > upper:
            break
        emit(epoch, changes.get(epoch) or change)
    flush(upper, existing=False)
    return [(epoch, changes.get(epoch)) for epoch in found]


def _clock(moment: datetime) -> str:
    return f"{moment:%H:%M} {moment.tzname()}"


def _moved(wall: datetime, first: datetime, tz: ZoneInfo) -> DstChange:
    actual = first.astimezone(UTC).astimezone(tz)  # same zone: astimezone alone would keep the gap time
    return DstChange(
        "moved",
        wall,
        f"{wall:%H:%M} does not exist on {wall:%Y-%m-%d} (the clocks go forward): runs at {_clock(actual)}",
    )


def _as_skipped(change: DstChange, tz: ZoneInfo, epoch: int) -> DstChange:
    if change.change != "moved":
        return change
    actual = from_epoch(epoch).astimezone(tz)
    wall = change.local_time
    return DstChange(
        "skipped",
        wall,
        f"{wall:%H:%M} does not exist on {wall:%Y-%m-%d} (the clocks go forward): "
        f"it would run at {_clock(actual)}, which this run already is",
    )


def _doubled(wall: datetime, instant: datetime, which: str) -> DstChange:
    return DstChange(
        "doubled",
        wall,
        f"{wall:%H:%M} happens twice on {wall:%Y-%m-%d} (the clocks go back): this is the {which}, {_clock(instant)}",
    )


def _once(wall: datetime, first: datetime, second: datetime) -> DstChange:
    return DstChange(
        "skipped",
        wall,
        f"{wall:%H:%M} happens twice on {wall:%Y-%m-%d} (the clocks go back): runs at the first, "
        f"{_clock(first)}, not again at {_clock(second)}",
    )


def _utc_offset(instant: datetime, tz: ZoneInfo) -> timedelta:
    offset = instant.astimezone(tz).utcoffset()
    assert offset is not None  # ZoneInfo always has an offset for an aware instant
    return offset


class WallClockKind(ZonedKind):
    """A kind whose occurrences are a cron expression's wall times in its zone, under
    its DST policy: the one computation the dispatcher and the preview share."""

    if TYPE_CHECKING:
        dst: DstPolicy | None

    @abstractmethod
    def wall_expression(self) -> str:
        """The croniter expression (5 fields, or 7 with seconds and year) of the wall times."""

    def occurrences(
        self, lower: int, upper: int, count: int, anchor: datetime | None
    ) -> list[tuple[int, DstChange | None]]:
        expression = self.wall_expression()
        repeat = repeats_in_fold(expression, self.dst)
        return zoned_occurrences(expression, zone(self.timezone), lower, upper, count, repeat=repeat)

    def epochs(self, lower: int, upper: int, count: int, anchor: datetime | None) -> list[int]:
        return [epoch for epoch, _ in self.occurrences(lower, upper, count, anchor)]
