"""The schedule kinds: one module each behind one interface, their names derived once."""

from datetime import UTC, datetime

from agentcron.schedules import SCHEDULE_KINDS, OnceSchedule, ScheduleAdapter, ScheduleKind, next_occurrences
from problems import field_errors_from_pydantic


def test_the_kind_names_come_from_the_schedule_union() -> None:
    assert SCHEDULE_KINDS == ("cron", "interval", "once", "preset", "manual", "aws")
    examples = {
        "cron": {"expression": "0 9 * * *"},
        "interval": {"every_seconds": 60, "start_at": "2030-01-01T00:00:00Z"},
        "once": {"at": "2030-01-01T00:00:00Z"},
        "preset": {"preset": "daily"},
        "manual": {},
        "aws": {"expression": "cron(0 9 ? * MON-FRI *)"},
    }
    for kind in SCHEDULE_KINDS:
        schedule = ScheduleAdapter.validate_python({"type": kind, **examples[kind]})
        assert isinstance(schedule, ScheduleKind) and schedule.type == kind
        assert schedule.describe()


def test_a_union_branch_never_shows_in_a_field_name() -> None:
    for kind in SCHEDULE_KINDS:
        [error] = field_errors_from_pydantic([{"loc": ("body", "schedule", kind, "timezone"), "msg": "bad"}])
        assert error.loc == "body.schedule.timezone"


def test_a_sub_second_end_is_rounded_down_and_a_start_up() -> None:
    schedule = ScheduleAdapter.validate_python(
        {
            "type": "interval",
            "every_seconds": 60,
            "start_at": "2030-01-01T00:00:00.5Z",
            "end_at": "2030-01-01T00:02:01.9Z",
        }
    )
    found = next_occurrences(schedule, datetime(2029, 12, 31, tzinfo=UTC), 10)
    assert [t.isoformat() for t in found] == [
        "2030-01-01T00:00:01+00:00",
        "2030-01-01T00:01:01+00:00",
        "2030-01-01T00:02:01+00:00",
    ]


def test_only_a_once_schedule_in_the_past_is_refused_for_a_task() -> None:
    now = datetime(2030, 1, 1, 12, tzinfo=UTC)
    past = OnceSchedule(type="once", at=datetime(2030, 1, 1, 11, 59, 59, tzinfo=UTC))
    refusal = past.refusal(now)
    assert refusal is not None and refusal[0] == "at"
    assert OnceSchedule(type="once", at=now).refusal(now) is None, "due this very second still runs"
    later = ScheduleAdapter.validate_python({"type": "cron", "expression": "* * * * *"})
    assert later.refusal(now) is None
