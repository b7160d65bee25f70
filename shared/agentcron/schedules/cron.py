"""``cron``: a classic five-field expression in a time zone.

Dialect: names (``jan``, ``mon``), lists, ranges and steps; day-of-month and
day-of-week both restricted means either matches (Vixie cron); croniter's ``L``,
``W`` and ``#`` extensions are accepted. Rejected: seconds/year fields, ``@``
macros (presets cover them), hashed ``H`` and random ``R`` values, backwards
ranges, expressions that never match (Feb 30). An equal range such as ``5-5`` is
stored as ``5`` (see ``check_field``)."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Final, Literal

from cron_descriptor import ExpressionDescriptor, Options
from croniter import CroniterBadDateError, CroniterError, croniter
from pydantic import Field, field_validator

from agentcron.schedules.base import EPOCH, MAX_TIMEZONE_LENGTH
from agentcron.schedules.dst import DST_FIELD_DESCRIPTION, DstPolicy
from agentcron.schedules.wallclock import WallClockKind

MAX_EXPRESSION_LENGTH: Final = 100

_FIELD_NAMES: Final = ("minute", "hour", "day-of-month", "month", "day-of-week")
_FIELD_RANGES: Final = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_MONTH_NAMES: Final = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}
_DAY_NAMES: Final = {name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_FIELD_ALIASES: Final[tuple[dict[str, int], ...]] = ({}, {}, {}, _MONTH_NAMES, _DAY_NAMES)
_ITEM: Final = re.compile(r"(?P<base>[^/]+)(?:/(?P<step>.*))?")
_DIGITS: Final = re.compile(r"[0-9]+")


def _field_value(token: str, index: int) -> int | None:
    """The number a plain value or alias stands for; None for anything croniter must judge (L, 15W, 5#3)."""
    if _DIGITS.fullmatch(token):
        return int(token)
    return _FIELD_ALIASES[index].get(token.lower())


def check_field(field: str, index: int) -> str:
    """The field, checked and normalised; raises ValueError naming the field."""
    name = _FIELD_NAMES[index]
    low, high = _FIELD_RANGES[index]
    items: list[str] = []
    for item in field.split(","):
        if not item:
            raise ValueError(f"{name} field '{field}' has an empty list entry")
        match = _ITEM.fullmatch(item)
        if match is None:
            raise ValueError(f"{name} field '{field}' is not valid")
        base, step = match.group("base"), match.group("step")
        if step is not None and (not _DIGITS.fullmatch(step) or int(step) < 1):
            raise ValueError(f"{name} field '{field}': step '{step}' must be a whole number of at least 1")
        if base.upper() in {"H", "R"} or base.upper().startswith(("H(", "R(")):
            raise ValueError(f"{name} field '{field}': hashed (H) and random (R) values are not supported")
        items.append(item)
        if base in {"*", "?"}:
            continue
        bounds = base.split("-", 1)
        values = [_field_value(token, index) for token in bounds]
        for token, value in zip(bounds, values, strict=True):
            if value is not None and not low <= value <= high:
                shown = f"'{field}'" if field == token else f"'{field}': {token}"
                raise ValueError(f"{name} field {shown} is out of range {low}-{high}")
        if len(values) == 2 and values[0] is not None and values[1] is not None:
            if values[0] > values[1]:
                raise ValueError(f"{name} field '{field}': range {base} runs backwards (its start is after its end)")
            if values[0] == values[1]:
                # croniter reads an equal range ("5-5", "mon-mon") as the whole
                # field; in standard cron it is that one value, so store it as such.
                items[-1] = bounds[0]
    normalised = ",".join(items)
    # Whatever the checks above let through (L, W, #) is judged by croniter,
    # one field at a time so the message can name the field.
    probe = ["*"] * 5
    probe[index] = normalised
    try:
        croniter(" ".join(probe), EPOCH)
    except (CroniterError, ValueError, KeyError, IndexError):
        raise ValueError(f"{name} field '{field}' is not valid") from None
    return normalised


# Pure, and a cron schedule is validated each time a task is read (the dispatcher reads
# every due task): ~1 ms of croniter per read, for a handful of distinct expressions.
# Only results are cached; an invalid expression raises again each time.
@lru_cache(maxsize=1024)
def _check_expression(expression: str) -> str:
    fields = expression.split()
    if len(fields) == 1 and fields[0].startswith("@"):
        raise ValueError(
            f"'{fields[0]}' is not supported; use 5 fields (minute hour day-of-month month day-of-week) "
            "or a preset schedule"
        )
    if len(fields) != 5:
        raise ValueError(
            f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}; "
            "seconds and year fields are not supported"
        )
    normalised = " ".join(check_field(field, index) for index, field in enumerate(fields))
    try:
        croniter(normalised, EPOCH).get_next(datetime)
    except CroniterBadDateError:
        raise ValueError(f"'{normalised}' never matches a real date (e.g. February 30)") from None
    except (CroniterError, ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"'{normalised}' is not a valid cron expression: {exc}") from None
    return normalised


def cron_text(expression: str) -> str:
    options = Options()
    # Pinned rather than left to the library default, which has changed between releases.
    options.use_24hour_time_format = True
    try:
        return str(ExpressionDescriptor(expression, options).get_description())
    except Exception:  # a description must never make a valid schedule unusable
        return f"Cron '{expression}'"


class CronSchedule(WallClockKind):
    type: Literal["cron"]
    expression: str = Field(max_length=MAX_EXPRESSION_LENGTH)
    timezone: str = Field(default="UTC", max_length=MAX_TIMEZONE_LENGTH)
    dst: DstPolicy | None = Field(default=None, description=DST_FIELD_DESCRIPTION)
    start_at: datetime | None = None
    end_at: datetime | None = None

    @field_validator("expression", mode="after")
    @classmethod
    def _expression(cls, value: str) -> str:
        return _check_expression(value)

    def wall_expression(self) -> str:
        return self.expression

    def summary(self) -> str:
        return f"{cron_text(self.expression)} ({self.timezone})"
