"""Schedules from words (agentcron.schedules.words): each documented phrase, read at a
pinned `now`, gives the schedule JSON stated here; what it cannot read is refused with
suggestions that it can."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from agentcron.schedules import next_occurrences
from agentcron.schedules.words import MAX_WORDS_LENGTH, NotUnderstood, parse_words

# Tuesday 8 December 2026, 11:00 in Berlin.
NOW = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
BERLIN = "Europe/Berlin"


def cron(expression: str, timezone: str = BERLIN) -> dict[str, Any]:
    return {"type": "cron", "expression": expression, "timezone": timezone}


def once(at: str) -> dict[str, Any]:
    return {"type": "once", "at": at}


def interval(seconds: int) -> dict[str, Any]:
    return {"type": "interval", "every_seconds": seconds}


def preset(name: str, timezone: str = BERLIN) -> dict[str, Any]:
    return {"type": "preset", "preset": name, "timezone": timezone}


PHRASES: list[tuple[str, dict[str, Any]]] = [
    # intervals, from the task's creation
    ("every 15 minutes", interval(900)),
    ("every minute", interval(60)),
    ("every 2 hours", interval(7200)),
    ("Every three hours", interval(10_800)),
    ("every 3 days", interval(259_200)),
    ("every other day", interval(172_800)),
    ("every 2 weeks", interval(1_209_600)),
    # presets
    ("every hour", preset("hourly")),
    ("hourly", preset("hourly")),
    ("daily", preset("daily")),
    ("weekly", preset("weekly")),
    ("monthly", preset("monthly")),
    # days of the week
    ("every weekday at 9am", cron("0 9 * * 1-5")),
    ("weekdays at 8:30", cron("30 8 * * 1-5")),
    ("at 9am on weekdays", cron("0 9 * * 1-5")),
    ("every working day at 7:45 a.m.", cron("45 7 * * 1-5")),
    ("every weekend at 10am", cron("0 10 * * 6,0")),
    ("on weekends at noon", cron("0 12 * * 6,0")),
    ("every day at 9am", cron("0 9 * * *")),
    ("9am daily", cron("0 9 * * *")),
    ("every day at 9am and 5pm", cron("0 9,17 * * *")),
    ("every Monday and Thursday at 14:30", cron("30 14 * * 1,4")),
    ("mondays and thursdays at 9", cron("0 9 * * 1,4")),
    ("every mon, wed & fri at 8.15am", cron("15 8 * * 1,3,5")),
    ("monday to friday at 7am", cron("0 7 * * 1-5")),
    ("mon-fri at 7pm", cron("0 19 * * 1-5")),
    ("every friday", cron("0 9 * * 5")),
    ("every week at 10am", cron("0 10 * * 1")),
    ("every day at midnight", cron("0 0 * * *")),
    ("every day at noon", cron("0 12 * * *")),
    ("every night at 11", cron("0 23 * * *")),
    ("every evening", cron("0 19 * * *")),
    # days of the month
    ("the first day of the month", cron("0 9 1 * *")),
    ("on the 1st of every month at 6am", cron("0 6 1 * *")),
    ("every month on the 15th at noon", cron("0 12 15 * *")),
    ("the 15th of each month at midnight", cron("0 0 15 * *")),
    ("the last day of the month at 6pm", cron("0 18 L * *")),
    ("the first weekday of the month at 9am", cron("0 9 1W * *")),
    ("the first monday of the month at 9am", cron("0 9 * * 1#1")),
    ("the second tuesday of every month at 10:00", cron("0 10 * * 2#2")),
    ("the last friday of the month at 17:00", cron("0 17 * * L5")),
    ("monthly at 8am", cron("0 8 1 * *")),
    # once, from the pinned now
    ("tomorrow at 9am", once("2026-12-09T08:00:00Z")),
    ("tomorrow", once("2026-12-09T08:00:00Z")),
    ("tomorrow evening", once("2026-12-09T18:00:00Z")),
    ("tonight", once("2026-12-08T19:00:00Z")),
    ("tonight at 11", once("2026-12-08T22:00:00Z")),
    ("today at 5pm", once("2026-12-08T16:00:00Z")),
    ("in 20 minutes", once("2026-12-08T10:20:00Z")),
    ("in an hour", once("2026-12-08T11:00:00Z")),
    ("in half an hour", once("2026-12-08T10:30:00Z")),
    ("in 3 days at 9am", once("2026-12-11T08:00:00Z")),
    ("the day after tomorrow at noon", once("2026-12-10T11:00:00Z")),
    ("next Friday at 10:00", once("2026-12-11T09:00:00Z")),
    ("friday at 10", once("2026-12-11T09:00:00Z")),
    # today is Tuesday: 12:00 is still ahead, 10:00 has passed
    ("on tuesday at 12", once("2026-12-08T11:00:00Z")),
    ("on tuesday at 10", once("2026-12-15T09:00:00Z")),
    ("next tuesday at 12", once("2026-12-15T11:00:00Z")),
    ("December 25 at 8am", once("2026-12-25T07:00:00Z")),
    ("on the 3rd of january at 9am", once("2027-01-03T08:00:00Z")),
    ("2027-03-01 at 18:00", once("2027-03-01T17:00:00Z")),
    # a zone named in the text wins over the request's
    ("every day at 9am Tokyo time", cron("0 9 * * *", "Asia/Tokyo")),
    ("every weekday at 9am in Europe/Paris", cron("0 9 * * 1-5", "Europe/Paris")),
    ("every day at 9am PST", cron("0 9 * * *", "America/Los_Angeles")),
    ("every day at 9am in New York", cron("0 9 * * *", "America/New_York")),
    ("every weekday at 17:00 UTC", cron("0 17 * * 1-5", "UTC")),
    ("tomorrow at 9am Tokyo time", once("2026-12-09T00:00:00Z")),
]


@pytest.mark.parametrize(("text", "expected"), PHRASES, ids=[text for text, _ in PHRASES])
def test_a_phrase_reads_as_its_schedule(text: str, expected: dict[str, Any]) -> None:
    schedule = parse_words(text, BERLIN, NOW)
    assert schedule.model_dump(mode="json", exclude_none=True) == expected
    # Every schedule it gives can run from now on.
    assert next_occurrences(schedule, NOW, 1, anchor=NOW)


def test_there_are_at_least_forty_documented_phrases() -> None:
    assert len({text for text, _ in PHRASES}) >= 40


def test_the_first_occurrences_of_a_weekday_rule_are_local_nine_oclock() -> None:
    schedule = parse_words("every weekday at 9am", BERLIN, NOW)
    found = next_occurrences(schedule, NOW, 4)
    # Tuesday 11:00 is past 9am: Wednesday, Thursday, Friday, then Monday (08:00 UTC in winter).
    assert [t.isoformat() for t in found] == [
        "2026-12-09T08:00:00+00:00",
        "2026-12-10T08:00:00+00:00",
        "2026-12-11T08:00:00+00:00",
        "2026-12-14T08:00:00+00:00",
    ]


def test_in_hours_counts_elapsed_time_across_a_dst_change() -> None:
    # 01:30 CET on the spring-forward night (29 March 2026): two hours later is 04:30 CEST.
    before = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert parse_words("in 2 hours", BERLIN, before).model_dump(mode="json")["at"] == "2026-03-29T02:30:00Z"


def test_a_once_time_inside_a_dst_gap_runs_after_the_gap() -> None:
    # 02:30 does not exist in Berlin on 29 March 2026; like cron schedules, it runs at 03:30 CEST.
    evening = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert parse_words("tomorrow at 2:30am", BERLIN, evening).model_dump(mode="json")["at"] == "2026-03-29T01:30:00Z"


def test_a_date_without_a_year_that_has_passed_is_next_year() -> None:
    assert parse_words("march 1 at 9am", BERLIN, NOW).model_dump(mode="json")["at"] == "2027-03-01T08:00:00Z"


def test_the_request_zone_is_used_when_the_text_names_none() -> None:
    assert parse_words("every day at 9am", "Asia/Kolkata", NOW).model_dump(mode="json", exclude_none=True) == cron(
        "0 9 * * *", "Asia/Kolkata"
    )


REFUSALS: list[tuple[str, str, str]] = [
    # (text, part of the reason, a suggestion it must offer)
    ("at 9am", "does not say which days", "every day at 9am"),
    ("9:30", "does not say which days", "tomorrow at 9:30"),
    ("banana", "not a schedule", "every day at 9am"),
    ("every 30 seconds", "shortest interval", "every minute"),
    ("every 2 days at 9am", "no time of day", "every 2 days"),
    ("today at 9am", "already passed", "tomorrow at 9am"),
    ("the last weekday of the month at 9am", "first weekday", "the last friday of the month at 9am"),
    ("every day at 9am CST", "more than one time zone", "every day at 9am in America/Chicago"),
    ("every day at 9am in Europe/Parise", "unknown time zone", "every day at 9am in Europe/Paris"),
    ("every day at 25:00", "not a time of day", "every day at 9am"),
    ("every day at 9am and 5:30pm", "share their minutes", "every day at 9am"),
    ("every fridya at 9am", "not a schedule", "every weekday at 9am"),
    ("february 30 at 9am", "not a date", "december 24 at 9am"),
    ("every day at 9am Tokyo time in Europe/Paris", "more than one time zone", "every day at 9am"),
    ("", "say when", "every day at 9am"),
]


@pytest.mark.parametrize(("text", "reason", "suggestion"), REFUSALS, ids=[text or "empty" for text, *_ in REFUSALS])
def test_what_it_cannot_read_is_refused_with_phrases_it_can(text: str, reason: str, suggestion: str) -> None:
    with pytest.raises(NotUnderstood) as refused:
        parse_words(text, BERLIN, NOW)
    assert reason in refused.value.reason
    assert suggestion in refused.value.suggestions
    assert 1 <= len(refused.value.suggestions) <= 5
    for phrase in refused.value.suggestions:
        parse_words(phrase, BERLIN, NOW)  # each one reads


@pytest.mark.parametrize(
    "text",
    [
        "in 999999 weeks",
        "in 999999 days at 9am",
        "december 31 9999 at 9am",
        "every 999999 weeks",
        "at 99",
        "every 0 minutes",
        "the 0th of every month",
        "the 32nd of every month",
        "every every every",
        "in europe/",
        "9am pst pdt",
        "x" * MAX_WORDS_LENGTH,
        "every day at 9am " * 11,
        "mon to to fri",
        "at at at 9",
    ],
)
def test_odd_input_is_refused_never_an_error(text: str) -> None:
    with pytest.raises(NotUnderstood):
        parse_words(text, BERLIN, NOW)


def test_an_unknown_request_zone_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        parse_words("every day at 9am", "Mars/Olympus", NOW)
