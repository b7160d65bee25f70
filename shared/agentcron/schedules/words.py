"""Schedules from words: "every weekday at 9am" becomes a cron schedule.

Pure: no I/O and no clock of its own. ``parse_words(text, timezone, now)`` returns
one of the existing kinds (cron, interval, once, preset) or raises ``NotUnderstood``
with phrases it does understand, built from the pieces of what was typed (its time
of day, its weekday) and each checked by parsing it.

How a phrase is read: the zone it names ("in Europe/Paris", "Tokyo time", "9am PST")
and its times of day ("9am", "17:30", "noon", "at 9") are taken out first; what is
left, less filler words ("at", "please"), must then be exactly one of the forms that
``_read`` tries in turn: a repeating day rule (cron), a repeating interval, a named
preset, or one day (once). A phrase that leaves any word unexplained is refused rather
than guessed at: a scheduler that silently misreads "every weekday at 9am" as "today at
9am" (as parsedatetime does) or "friday at 10" as a date in October (dateparser) runs at
the wrong time. Those libraries were measured and not used for that reason (and
dateparser's size: about 8 MB with regex and pytz, 250 ms to import).

Choices a reader needs to know:

* A day named without a time means 09:00 ("every Monday", "tomorrow"); the words
  "hourly", "daily", "weekly", "monthly" alone are the presets of those names (00:00).
* "every N minutes/hours/days/weeks" is an interval counted from the task's creation;
  "every hour" alone is the hourly preset (on the hour).
* Relative phrases ("tomorrow", "in 20 minutes", "next Friday") are once schedules
  computed from `now` in the zone. "next Friday" is the first Friday after today
  (a week from today when today is Friday); "Friday" or "on Friday" is the next
  Friday whose time is still ahead, today included.
* A zone in the text wins over the `timezone` argument. US abbreviations map to the
  city's zone ("9am PST" is 09:00 Los Angeles wall time, all year); abbreviations
  that name several zones (CST, IST, BST) are refused with the zones they may mean.
* A once time that has passed is refused, with the next day's time suggested.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Final

from pydantic import ValidationError

from agentcron.schedules.base import MAX_TIMEZONE_LENGTH, MAX_WORDS_LENGTH, _zone_names, normalise_instant, zone
from agentcron.schedules.cron import CronSchedule
from agentcron.schedules.interval import MAX_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS, IntervalSchedule
from agentcron.schedules.once import OnceSchedule
from agentcron.schedules.preset import PresetSchedule

MAX_SUGGESTIONS: Final = 5
DEFAULT_TIME: Final = time(9, 0)

WordsSchedule = CronSchedule | IntervalSchedule | OnceSchedule | PresetSchedule


class NotUnderstood(ValueError):
    """The text is not a schedule this module can read; `suggestions` are phrases it can."""

    def __init__(self, reason: str, suggestions: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.suggestions = tuple(suggestions)


# ---- vocabulary ----------------------------------------------------------------

_DAYS: Final = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
# Every spelling of a weekday (full, plural, abbreviated) -> its cron number (0 = Sunday).
_DAY_WORDS: Final[dict[str, int]] = {"tues": 2, "weds": 3, "thur": 4, "thurs": 4}
for _number, _name in enumerate(_DAYS):
    _DAY_WORDS.update({_name: _number, _name + "s": _number, _name[:3]: _number})
_DAY: Final = "(?:" + "|".join(sorted(_DAY_WORDS, key=len, reverse=True)) + ")"

_MONTHS: Final = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH_WORDS: Final[dict[str, int]] = {name: i for i, name in enumerate(_MONTHS, 1)} | {
    name[:3]: i for i, name in enumerate(_MONTHS, 1)
}
_MONTH_WORDS["sept"] = 9
_MONTH: Final = "(?:" + "|".join(sorted(_MONTH_WORDS, key=len, reverse=True)) + ")"

_NUMBER_WORDS: Final[dict[str, int]] = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty-five": 45,
    "other": 2,
}
_COUNT_WORDS: Final = r"\d{1,6}|" + "|".join(sorted(map(re.escape, _NUMBER_WORDS), key=len, reverse=True))
_UNIT_SECONDS: Final[dict[str, int]] = {"second": 1, "minute": 60, "hour": 3_600, "day": 86_400, "week": 604_800}
_UNIT_WORDS: Final = r"seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?"
_UNIT: Final = rf"(?P<unit>{_UNIT_WORDS})"

_ORDINALS: Final[dict[str, int]] = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "1st": 1,
    "2nd": 2,
    "3rd": 3,
    "4th": 4,
    "5th": 5,
    "last": -1,
}
_ORDINAL: Final = r"(?P<ord>first|second|third|fourth|fifth|last|\d{1,2}(?:st|nd|rd|th)?)"

# Parts of a day: the time they mean alone, and that "at 8" within them is p.m.
_DAY_PARTS: Final[dict[str, tuple[time, bool]]] = {
    "morning": (time(9, 0), False),
    "afternoon": (time(15, 0), True),
    "evening": (time(19, 0), True),
    "night": (time(21, 0), True),
}

# Abbreviations that name one zone's wall clock; standard and daylight forms alike.
_ABBREVIATIONS: Final[dict[str, str]] = {
    "utc": "UTC",
    "gmt": "UTC",
    "z": "UTC",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "pt": "America/Los_Angeles",
    "mst": "America/Denver",
    "mdt": "America/Denver",
    "est": "America/New_York",
    "edt": "America/New_York",
    "et": "America/New_York",
    "cet": "Europe/Berlin",
    "cest": "Europe/Berlin",
    "jst": "Asia/Tokyo",
    "aest": "Australia/Sydney",
    "aedt": "Australia/Sydney",
}
# Abbreviations that several places use: refused, naming the zones they may mean.
_AMBIGUOUS: Final[dict[str, tuple[str, ...]]] = {
    "cst": ("America/Chicago", "Asia/Shanghai"),
    "cdt": ("America/Chicago",),
    "ct": ("America/Chicago",),
    "ist": ("Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"),
    "bst": ("Europe/London", "Asia/Dhaka"),
}
_CITY_REGIONS: Final = frozenset(
    {"Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific"}
)
_DROPPED: Final = frozenset({"at", "@", "please"})
_DANGLING: Final = frozenset({"and", "on", "the"})


@cache
def _zones_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in _zone_names()}


@cache
def _zones_by_city() -> dict[str, str]:
    """ "tokyo" -> Asia/Tokyo, "new york" -> America/New_York; a city two zones share is left out."""
    found: dict[str, set[str]] = {}
    for name in _zone_names():
        parts = name.split("/")
        if len(parts) >= 2 and parts[0] in _CITY_REGIONS:
            found.setdefault(parts[-1].replace("_", " ").lower(), set()).add(name)
    return {city: next(iter(names)) for city, names in found.items() if len(names) == 1}


# ---- the parsed pieces ------------------------------------------------------------


@dataclass(frozen=True)
class _Clock:
    """A time of day as typed: `bare` when it had neither am/pm nor minutes ("at 8")."""

    hour: int
    minute: int
    bare: bool = False
    spelled: str = ""

    def as_time(self, evening: bool) -> time:
        hour = self.hour + 12 if evening and self.bare and 1 <= self.hour < 12 else self.hour
        return time(hour, self.minute)


@dataclass(frozen=True)
class _Phrase:
    """The text once its zone and times of day are taken out."""

    rest: str
    zone_name: str
    clocks: tuple[_Clock, ...]


_TIME_RE: Final = re.compile(
    r"(?<![\w:])(?:"
    r"(?P<noon>noon|midday)|(?P<midnight>midnight)"
    r"|(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ampm>am|pm)\b"
    r"|(?P<h24>\d{1,2}):(?P<m24>\d{2})(?![\w:])"
    r"|(?<=at\s)(?P<hbare>\d{1,2})(?![\w:])(?!\s*(?:" + _UNIT_WORDS + r")\b)"
    r")"
)


def _clock(match: re.Match[str]) -> _Clock:
    spelled = match.group(0)
    if match.group("noon"):
        return _Clock(12, 0, spelled="noon")
    if match.group("midnight"):
        return _Clock(0, 0, spelled="midnight")
    if match.group("ampm"):
        hour, minute = int(match.group("h")), int(match.group("m") or 0)
        if not 1 <= hour <= 12 or minute > 59:
            raise NotUnderstood(f"'{spelled}' is not a time of day")
        hour = hour % 12 + (12 if match.group("ampm") == "pm" else 0)
        return _Clock(hour, minute, spelled=spelled.replace(" ", ""))
    if match.group("h24"):
        hour, minute = int(match.group("h24")), int(match.group("m24"))
        if hour > 23 or minute > 59:
            raise NotUnderstood(f"'{spelled}' is not a time of day")
        return _Clock(hour, minute, spelled=spelled)
    hour = int(match.group("hbare"))
    if hour > 23:
        raise NotUnderstood(f"'{spelled}' is not a time of day")
    return _Clock(hour, 0, bare=True, spelled=spelled)


def _normalise(text: str) -> str:
    lowered = text.lower()
    lowered = re.sub(r"\ba\.m\.?", "am", lowered)
    lowered = re.sub(r"\bp\.m\.?", "pm", lowered)
    lowered = re.sub(r"(\d)\.(\d\d)(?!\d)", r"\1:\2", lowered)  # 9.30 is 9:30
    lowered = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1\2", lowered)
    lowered = re.sub(r"[.,;!?()\"']", " ", lowered)
    lowered = re.sub(r"\s*&\s*", " and ", lowered)
    return " ".join(lowered.split())


def _swap(match: re.Match[str], replacement: str) -> str:
    """The matched text with the match replaced: a suggestion that names a zone instead."""
    return " ".join((match.string[: match.start()] + replacement + match.string[match.end() :]).split())


def _take_zone(text: str, default: str) -> tuple[str, str]:
    """The text less the zone it names, and that zone (else `default`)."""
    found: list[tuple[str, str]] = []  # (zone, what was typed)
    by_name = _zones_by_lower_name()

    def iana(match: re.Match[str]) -> str:
        typed = match.group("zone")
        name = by_name.get(typed)
        if name is None:
            close = difflib.get_close_matches(typed, list(by_name), n=3, cutoff=0.6)
            raise NotUnderstood(f"unknown time zone '{typed}'", [_swap(match, f" in {by_name[c]} ") for c in close])
        found.append((name, typed))
        return " "

    text = re.sub(
        r"(?:\bin\s+)?(?P<zone>\b(?:africa|america|antarctica|arctic|asia|atlantic|australia|brazil|canada|chile|etc"
        r"|europe|indian|mexico|pacific|us)(?:/[a-z0-9_+\-]+)+)(?:\s+time\b)?",
        iana,
        text,
    )

    def abbreviation(match: re.Match[str]) -> str:
        typed = match.group("abbr")
        if typed in _AMBIGUOUS:
            raise NotUnderstood(
                f"'{typed.upper()}' names more than one time zone; name the zone instead",
                [_swap(match, f"{match.group('before')} in {name}") for name in _AMBIGUOUS[typed]],
            )
        found.append((_ABBREVIATIONS[typed], typed))
        return f"{match.group('before')} "

    abbreviations = "|".join(sorted([*_ABBREVIATIONS, *_AMBIGUOUS], key=len, reverse=True))
    # Only right after a time ("9am PST", "17:00 utc") or after "in": "et" or "z" elsewhere is a word.
    text = re.sub(
        r"(?P<before>(?:\d(?:am|pm)?|noon|midnight|\bin))\s+(?P<abbr>" + abbreviations + r")\b",
        abbreviation,
        text,
    )

    def universal(match: re.Match[str]) -> str:
        found.append(("UTC", match.group(0)))
        return " "

    text = re.sub(r"\b(?:in\s+)?(?:utc|gmt)\b", universal, text)

    cities = _zones_by_city()

    def city(match: re.Match[str]) -> str:
        words = match.group("city").split()
        # The longest tail of the words before "time" that is a city: "at 9am new york time".
        for start in range(max(0, len(words) - 3), len(words)):
            name = cities.get(" ".join(words[start:]))
            if name is not None:
                found.append((name, " ".join(words[start:])))
                return " ".join(words[:start]) + " "
        return match.group(0)

    text = re.sub(r"(?P<city>[a-z ]+?)\s+time\b", city, text)

    def in_city(match: re.Match[str]) -> str:
        words = match.group("city").split()
        for end in range(min(3, len(words)), 0, -1):
            name = cities.get(" ".join(words[:end]))
            if name is not None:
                found.append((name, " ".join(words[:end])))
                return " " + " ".join(words[end:]) + " "
        return match.group(0)

    text = re.sub(r"\bin\s+(?P<city>[a-z][a-z ]*)", in_city, text)
    zones = {name for name, _ in found}
    if len(zones) > 1:
        raise NotUnderstood(f"more than one time zone named: {', '.join(sorted(zones))}")
    return " ".join(text.split()), (found[0][0] if found else default)


def _take_clocks(text: str) -> tuple[str, tuple[_Clock, ...]]:
    clocks: list[_Clock] = []

    def take(match: re.Match[str]) -> str:
        clocks.append(_clock(match))
        return " "

    return " ".join(_TIME_RE.sub(take, text).split()), tuple(clocks)


def _phrase(text: str, default_zone: str) -> _Phrase:
    normal = _normalise(text)
    rest, zone_name = _take_zone(normal, default_zone)
    rest, clocks = _take_clocks(rest)
    # What the times leave behind: their "at", and a dangling "and" ("at 9am and 5pm" -> "and").
    words = [word for word in rest.split() if word not in _DROPPED]
    while words and words[-1] in _DANGLING:
        words.pop()
    return _Phrase(rest=" ".join(words), zone_name=zone_name, clocks=clocks)


# ---- what the rest of the phrase may be ----------------------------------------------


@dataclass(frozen=True)
class _Context:
    phrase: _Phrase
    now: datetime  # aware, in the phrase's zone

    @property
    def clocks(self) -> tuple[_Clock, ...]:
        return self.phrase.clocks

    @property
    def zone_name(self) -> str:
        return self.phrase.zone_name


def _single_time(context: _Context, default: time = DEFAULT_TIME, evening: bool = False) -> time:
    if not context.clocks:
        return default
    if len(context.clocks) > 1:
        raise NotUnderstood("a single day takes one time", [f"every day at {c.spelled}" for c in context.clocks])
    return context.clocks[0].as_time(evening)


def _cron_times(context: _Context, evening: bool = False) -> tuple[str, str]:
    """The minute and hour fields of the phrase's times (several times must share their minute)."""
    times = sorted({clock.as_time(evening) for clock in context.clocks}) or [DEFAULT_TIME]
    minutes = {t.minute for t in times}
    if len(minutes) > 1:
        raise NotUnderstood(
            "several times of day must share their minutes (one cron schedule holds them)",
            [f"every day at {clock.spelled}" for clock in context.clocks],
        )
    return str(minutes.pop()), ",".join(str(t.hour) for t in times)


def _cron(context: _Context, day_of_month: str, day_of_week: str, evening: bool = False) -> CronSchedule:
    minute, hour = _cron_times(context, evening)
    expression = f"{minute} {hour} {day_of_month} * {day_of_week}"
    return CronSchedule(type="cron", expression=expression, timezone=context.zone_name)


def _once(context: _Context, day: date, at: time, *, roll_year: bool = False) -> OnceSchedule:
    local = datetime.combine(day, at, tzinfo=zone(context.zone_name))
    if roll_year and local < context.now:
        local = _replace_year(local, local.year + 1)
    if local < context.now.replace(microsecond=0):
        later = f"tomorrow at {at.strftime('%H:%M')}"
        raise NotUnderstood(f"{local.strftime('%Y-%m-%d %H:%M')} has already passed ({context.zone_name})", [later])
    return OnceSchedule(type="once", at=normalise_instant(local.astimezone(UTC)))


def _replace_year(moment: datetime, year: int) -> datetime:
    try:
        return moment.replace(year=year)
    except ValueError:  # 29 February
        return moment.replace(year=year, day=28)


def _day_numbers(text: str) -> list[int]:
    """Weekday numbers of a list ("monday, wednesday and friday") with ranges ("mon to fri")."""
    numbers: set[int] = set()
    previous: int | None = None
    ranging = False
    for token in re.findall(rf"{_DAY}|-|\bto\b|\bthrough\b|\bthru\b|\buntil\b", text):
        if token not in _DAY_WORDS:
            ranging = previous is not None
            continue
        number = _DAY_WORDS[token]
        if ranging and previous is not None:
            span = range(previous, number + 1) if previous <= number else [*range(previous, 7), *range(number + 1)]
            numbers.update(span)
        numbers.add(number)
        previous, ranging = number, False
    return sorted(numbers)


def _day_field(numbers: Iterable[int]) -> str:
    found = sorted(set(numbers))
    if found == [1, 2, 3, 4, 5]:
        return "1-5"
    if found == [0, 6]:
        return "6,0"  # read as "Saturday and Sunday"
    if found == list(range(7)):
        return "*"
    return ",".join(map(str, found))


_DAY_LIST: Final = rf"{_DAY}(?:\s*(?:-|to|through|thru|until|/|and)?\s*{_DAY})*"
_EVERY: Final = r"(?:every|each|on|every single)"
_DAILY: Final = re.compile(
    r"(?:every|each) ?(?:single )?day|everyday|daily|every day of the week"
    r"|(?:every|each) (?P<part>morning|afternoon|evening|night)|nightly"
)
_WEEKDAYS: Final = re.compile(rf"(?:{_EVERY} )?(?:week ?days?|work ?days?|working days?|business days?)")
_WEEKENDS: Final = re.compile(rf"(?:{_EVERY} )?(?:the )?weekends?(?: days?)?")
_DAY_SET: Final = re.compile(rf"(?P<every>{_EVERY} )?(?P<days>{_DAY_LIST})")
_WHAT: Final = rf"(?: (?P<what>day|week ?day|working day|business day|{_DAY}))?"
# "the first monday of the month", "every month on the 15th", "monthly on the last day".
_MONTHLY: Final = (
    re.compile(rf"(?:on )?(?:the )?{_ORDINAL}{_WHAT} (?:day )?(?:of|in) (?:every|each|the|a) month"),
    re.compile(rf"(?:every|each) month on the {_ORDINAL}{_WHAT}"),
    re.compile(rf"monthly on the {_ORDINAL}{_WHAT}"),
)
_INTERVAL: Final = re.compile(rf"(?:every|each) (?:(?P<count>{_COUNT_WORDS}) ?)?{_UNIT}")
_PRESETS: Final[dict[str, str]] = {"hourly": "hourly", "daily": "daily", "weekly": "weekly", "monthly": "monthly"}
_IN: Final = re.compile(rf"in (?P<n>{_COUNT_WORDS}) ?{_UNIT}|in half an hour|in an? (?P<aunit>minute|hour|day|week)")
_ONE_DAY: Final = re.compile(
    r"(?:once )?(?:(?P<today>today)|(?P<tonight>tonight)|this (?P<this_part>morning|afternoon|evening)"
    r"|(?P<tomorrow>tomorrow)(?: (?P<tomorrow_part>morning|afternoon|evening|night))?"
    r"|(?P<after>(?:the )?day after tomorrow))"
)
_NEXT_DAY: Final = re.compile(rf"(?:once )?(?:(?P<which>next|this|coming|this coming|on) )?(?P<day>{_DAY})")
_DATE: Final = re.compile(
    rf"(?:once )?(?:on )?(?:"
    rf"(?P<iso>\d{{4}}-\d{{2}}-\d{{2}})"
    rf"|(?P<month1>{_MONTH}) (?:the )?(?P<day1>\d{{1,2}})(?:st|nd|rd|th)?(?: (?P<year1>\d{{4}}))?"
    rf"|(?:the )?(?P<day2>\d{{1,2}})(?:st|nd|rd|th)? (?:of )?(?P<month2>{_MONTH})(?: (?P<year2>\d{{4}}))?)"
)


def _count(word: str | None) -> int:
    if word is None:
        return 1
    return int(word) if word.isdigit() else _NUMBER_WORDS[word]


def _unit(word: str) -> str:
    for unit in _UNIT_SECONDS:
        if word.startswith(unit[:3]) or (unit == "hour" and word.startswith("hr")):
            return unit
    raise NotUnderstood(f"unknown unit '{word}'")  # pragma: no cover - the pattern lists the units


def _read(context: _Context) -> WordsSchedule:
    rest = context.phrase.rest
    if not rest:
        if context.clocks:
            raise NotUnderstood("a time of day alone does not say which days")
        raise NotUnderstood("say when: a day, a time or an interval")

    if rest in _PRESETS and not context.clocks:
        return PresetSchedule(type="preset", preset=_PRESETS[rest], timezone=context.zone_name)
    if rest in ("every hour", "each hour") and not context.clocks:
        return PresetSchedule(type="preset", preset="hourly", timezone=context.zone_name)
    if rest in ("every week", "each week", "weekly"):
        return _cron(context, "*", "1")

    if match := _DAILY.fullmatch(rest):
        part = match.group("part") or ("night" if rest == "nightly" else None)
        if part is None:
            return _cron(context, "*", "*")
        default, evening = _DAY_PARTS[part]
        if not context.clocks:
            return CronSchedule(
                type="cron", expression=f"{default.minute} {default.hour} * * *", timezone=context.zone_name
            )
        return _cron(context, "*", "*", evening)
    if _WEEKDAYS.fullmatch(rest):
        return _cron(context, "*", "1-5")
    if _WEEKENDS.fullmatch(rest):
        return _cron(context, "*", "6,0")
    if rest in ("every month", "each month", "monthly"):
        return _cron(context, "1", "*")
    for pattern in _MONTHLY:
        if match := pattern.fullmatch(rest):
            return _monthly(context, match.group("ord"), (match.group("what") or "day").replace(" ", ""))
    if match := _INTERVAL.fullmatch(rest):
        return _interval(context, match)
    if match := _IN.fullmatch(rest):
        return _in(context, match)
    if match := _ONE_DAY.fullmatch(rest):
        return _one_day(context, match)
    if match := _DATE.fullmatch(rest):
        return _date(context, match)
    if match := _DAY_SET.fullmatch(rest):
        days = _day_numbers(match.group("days"))
        plural = any(name.endswith("s") and name[:-1] in _DAY_WORDS for name in match.group("days").split())
        if match.group("every") in ("every ", "each ", "every single ") or plural or len(days) > 1:
            return _cron(context, "*", _day_field(days))
    if match := _NEXT_DAY.fullmatch(rest):
        return _next_day(context, _DAY_WORDS[match.group("day")], strictly_after_today=match.group("which") == "next")
    raise NotUnderstood(f"'{rest}' is not a schedule I can read")


def _monthly(context: _Context, ordinal: str, what: str) -> CronSchedule:
    at = context.clocks[0].spelled if context.clocks else "9am"
    ordinal_number = _ORDINALS.get(ordinal)
    if ordinal_number is None:
        number = int(re.sub(r"\D", "", ordinal))
        if what != "day" or not 1 <= number <= 31:
            raise NotUnderstood(f"'{ordinal}' is not a day of the month", [f"the 1st of every month at {at}"])
        return _cron(context, str(number), "*")
    if what == "day":
        return _cron(context, "L" if ordinal_number == -1 else str(ordinal_number), "*")
    if what in ("weekday", "workingday", "businessday"):
        if ordinal_number != 1:
            # Cron's W only finds the weekday nearest a given date; croniter has no LW.
            raise NotUnderstood(
                "only the first weekday of the month can be said as a schedule",
                [f"the last day of the month at {at}", f"the last friday of the month at {at}"],
            )
        return _cron(context, "1W", "*")
    day = _DAY_WORDS[what]
    return _cron(context, "*", f"L{day}" if ordinal_number == -1 else f"{day}#{ordinal_number}")


def _interval(context: _Context, match: re.Match[str]) -> IntervalSchedule | CronSchedule | PresetSchedule:
    unit = _unit(match.group("unit"))
    amount = _count(match.group("count"))
    seconds = amount * _UNIT_SECONDS[unit]
    if unit in ("day", "week") and match.group("count") is None:
        return _cron(context, "*", "*" if unit == "day" else "1")
    if context.clocks:
        raise NotUnderstood(
            "an interval counts from the task's creation, so it takes no time of day",
            [
                f"every {amount} {unit}s" if amount != 1 else f"every {unit}",
                f"every day at {context.clocks[0].spelled}",
            ],
        )
    if seconds < MIN_INTERVAL_SECONDS:
        raise NotUnderstood("the shortest interval is a minute", ["every minute"])
    if seconds > MAX_INTERVAL_SECONDS:
        raise NotUnderstood("the longest interval is 366 days", ["every 366 days", "monthly"])
    return IntervalSchedule(type="interval", every_seconds=seconds)


def _in(context: _Context, match: re.Match[str]) -> OnceSchedule:
    if match.group(0) == "in half an hour":
        delta = timedelta(minutes=30)
        unit = "minute"
    else:
        word = match.group("unit") or match.group("aunit")
        unit = _unit(word)
        amount = _count(match.group("n")) if match.group("unit") else 1
        delta = timedelta(seconds=amount * _UNIT_SECONDS[unit])
    if context.clocks:
        if unit not in ("day", "week"):
            raise NotUnderstood("'in …' minutes or hours takes no time of day", [match.group(0)])
        # Days on the calendar: "in 3 days at 9am" is 09:00 local, three dates on.
        return _once(context, context.now.date() + delta, _single_time(context))
    # Elapsed time, in UTC: aware arithmetic in a zone would add wall-clock hours across DST.
    return OnceSchedule(type="once", at=normalise_instant(context.now.astimezone(UTC) + delta))


def _one_day(context: _Context, match: re.Match[str]) -> OnceSchedule:
    today = context.now.date()
    if match.group("today"):
        return _once(context, today, _single_time(context))
    if match.group("tonight"):
        return _once(context, today, _single_time(context, time(20, 0), evening=True))
    if part := match.group("this_part"):
        default, evening = _DAY_PARTS[part]
        return _once(context, today, _single_time(context, default, evening))
    if match.group("tomorrow"):
        default, evening = _DAY_PARTS.get(match.group("tomorrow_part") or "", (DEFAULT_TIME, False))
        return _once(context, today + timedelta(days=1), _single_time(context, default, evening))
    return _once(context, today + timedelta(days=2), _single_time(context))


def _date(context: _Context, match: re.Match[str]) -> OnceSchedule:
    at = _single_time(context)
    try:
        if match.group("iso"):
            day = date.fromisoformat(match.group("iso"))
            return _once(context, day, at)
        month = _MONTH_WORDS[match.group("month1") or match.group("month2")]
        number = int(match.group("day1") or match.group("day2"))
        year_text = match.group("year1") or match.group("year2")
        day = date(int(year_text) if year_text else context.now.year, month, number)
    except ValueError:
        raise NotUnderstood(f"'{match.group(0)}' is not a date", ["december 24 at 9am"]) from None
    return _once(context, day, at, roll_year=year_text is None)


def _next_day(context: _Context, weekday: int, *, strictly_after_today: bool) -> OnceSchedule:
    today = context.now.date()
    at = _single_time(context)
    # date.weekday(): Monday 0; cron: Sunday 0.
    ahead = (weekday - (today.weekday() + 1) % 7) % 7
    if strictly_after_today and ahead == 0:
        ahead = 7
    day = today + timedelta(days=ahead)
    local = datetime.combine(day, at, tzinfo=zone(context.zone_name))
    if local < context.now:
        day += timedelta(days=7)
    return _once(context, day, at)


# ---- suggestions ------------------------------------------------------------------

_EXAMPLES: Final = (
    "every weekday at 9am",
    "every day at 9am",
    "every monday and thursday at 9am",
    "every weekend at 10am",
    "every 15 minutes",
    "every hour",
    "every 2 hours",
    "the first day of the month at 9am",
    "the last day of the month at 9am",
    "the first monday of the month at 9am",
    "tomorrow at 9am",
    "tonight at 8pm",
    "in 20 minutes",
    "next friday at 9am",
    "every day at noon",
    "daily",
    "weekly",
    "monthly",
)


def _suggestions(typed: str, timezone: str, now: datetime, first: Sequence[str]) -> list[str]:
    """Phrases close to `typed` that parse, best first: `first` (the reason's own), then
    the examples rewritten with the typed time of day and weekday, ranked by likeness."""
    at = "9am"
    day = "monday"
    try:
        _, clocks = _take_clocks(typed)
        if clocks:
            at = clocks[0].spelled if not clocks[0].bare else f"{clocks[0].hour}:00"
    except NotUnderstood:
        pass
    if named := re.search(rf"\b{_DAY}\b", typed):
        day = _DAYS[_DAY_WORDS[named.group(0)]]
    candidates = [example.replace("9am", at).replace("monday", day).replace("friday", day) for example in _EXAMPLES]
    ranked = sorted(candidates, key=lambda c: -difflib.SequenceMatcher(None, typed, c).ratio())
    chosen: list[str] = []
    for candidate in [*first, *ranked]:
        if candidate in chosen or len(chosen) >= MAX_SUGGESTIONS:
            continue
        try:
            _parse(candidate, timezone, now)
        except NotUnderstood:
            continue
        chosen.append(candidate)
    return chosen


# ---- the entry point ------------------------------------------------------------------


def _parse(text: str, timezone: str, now: datetime) -> WordsSchedule:
    phrase = _phrase(text, timezone)
    context = _Context(phrase=phrase, now=now.astimezone(zone(phrase.zone_name)))
    try:
        return _read(context)
    except NotUnderstood:
        raise
    except ValidationError as exc:
        # A piece that reads but makes no valid schedule (e.g. 30 February as a cron day).
        reason = str(exc.errors()[0].get("msg", "not a valid schedule")).removeprefix("Value error, ")
        raise NotUnderstood(reason) from None
    except (ValueError, OverflowError):
        # Calendar arithmetic past the instants a schedule can hold (year 2286 and later).
        raise NotUnderstood("that is too far ahead") from None


def parse_words(text: str, timezone: str, now: datetime) -> WordsSchedule:
    """The schedule `text` says, read in `timezone` unless the text names a zone; relative
    phrases count from `now` (aware). Raises NotUnderstood with suggestions."""
    if len(text) > MAX_WORDS_LENGTH:
        raise NotUnderstood(f"say it in at most {MAX_WORDS_LENGTH} characters")
    if len(timezone) > MAX_TIMEZONE_LENGTH:
        raise NotUnderstood(f"unknown time zone '{timezone[:MAX_TIMEZONE_LENGTH]}…'")
    zone(timezone)  # the caller's zone is checked first: a ValueError, as schedules raise
    try:
        return _parse(text, timezone, now)
    except NotUnderstood as exc:
        typed = _normalise(text)
        raise NotUnderstood(exc.reason, _suggestions(typed, timezone, now, exc.suggestions)) from None


__all__ = ["MAX_WORDS_LENGTH", "NotUnderstood", "WordsSchedule", "parse_words"]
