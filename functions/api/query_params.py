"""Query parameters the API reads as more than a plain value: `since` (a duration
back from now or an instant) and the refusal of parameters a route does not take."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Final

from agentcron.errors import FieldError, InvalidRequest

# What the CLI's --since takes too: a whole number and one unit.
_DURATION: Final = re.compile(r"^(\d{1,7})([smhdw])$")
_UNIT: Final = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# A pattern for the OpenAPI document: an RFC 3339 instant with an offset, or a duration. What
# no pattern can say (the 31st of a 30-day month) is still a 422 from parse_since.
SINCE_PATTERN: Final = (
    r"^([1-9]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?"
    r"(Z|[+-]([01]\d|2[0-3]):[0-5]\d)|\d{1,7}[smhdw])$"
)


def parse_since(value: str | None, *, now: datetime) -> datetime | None:
    """`1h`, `30m`, `7d` (that long before `now`) or an ISO 8601 instant with an offset."""
    if value is None:
        return None
    duration = _DURATION.match(value)
    if duration is not None:
        back = timedelta(**{_UNIT[duration[2]]: int(duration[1])})
        # Longer ago than 1970 lists everything (and must not underflow datetime).
        return _EPOCH if back >= now - _EPOCH else now - back
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(
            "since is neither a duration nor an ISO 8601 instant",
            [FieldError("query.since", "expected a duration such as 1h, 30m or 7d, or e.g. 2026-12-01T09:00:00Z")],
        ) from None
    if instant.tzinfo is None:
        raise InvalidRequest("since needs an offset", [FieldError("query.since", "must carry a UTC offset")])
    return instant


def refuse_unknown(given: Iterable[str], known: Iterable[str]) -> None:
    """A parameter the route does not take is a 422 naming it: ignored, a misspelt
    filter (`?stauts=FAILED`) would silently answer the whole listing."""
    allowed = set(known)
    unknown = sorted(name for name in set(given) if name not in allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        raise InvalidRequest(
            f"unknown query parameter(s) {', '.join(unknown)}; this route takes: {takes}",
            [FieldError(f"query.{name}", "unknown query parameter") for name in unknown],
        )
