"""EventBridge expressions and the DST policy through the real API handler: a task keeps
the expression as written, a bad one is a 422 naming body.schedule.expression, and a
preview flags the occurrences the DST rule moved, skipped or doubled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.conftest import ApiClient, cron_task

WEEKDAYS_AT_9_BERLIN = {"type": "aws", "expression": "cron(0 9 ? * MON-FRI *)", "timezone": "Europe/Berlin"}


def test_a_task_with_an_eventbridge_cron_keeps_it_and_runs_on_it(api: ApiClient) -> None:
    created = api.post("/v1/tasks", cron_task(schedule=WEEKDAYS_AT_9_BERLIN))
    assert created.status == 201, created.text
    task = created.json
    assert task["schedule"]["expression"] == "cron(0 9 ? * MON-FRI *)"
    next_run = datetime.fromisoformat(task["next_run_at"])
    assert next_run.weekday() < 5 and next_run.astimezone(UTC).hour in (7, 8), "09:00 in Berlin"
    listed = api.get("/v1/tasks?schedule_type=aws").json["items"]
    assert [t["id"] for t in listed] == [task["id"]]


@pytest.mark.parametrize(
    ("expression", "message_part"),
    [
        ("cron(0 9 * * 1-5)", "6 fields"),
        ("cron(0 9 * * * *)", "'?'"),
        ("rate(1 minutes)", "'minute'"),
        ("at(tomorrow)", "at() takes a local date and time"),
        ("every weekday", "cron(...), rate(...) or at(...)"),
    ],
)
def test_a_bad_expression_is_a_422_naming_the_expression(api: ApiClient, expression: str, message_part: str) -> None:
    response = api.post("/v1/tasks", cron_task(schedule={"type": "aws", "expression": expression}))
    assert response.status == 422, response.text
    [error] = response.json["errors"]
    assert error["field"] == "body.schedule.expression" and message_part in error["message"], error
    preview = api.post("/v1/schedules/preview", {"schedule": {"type": "aws", "expression": expression}})
    assert preview.status == 422 and preview.json["errors"][0]["field"] == "body.schedule.expression"


def test_an_at_in_the_past_is_refused_for_a_task_but_previewed(api: ApiClient) -> None:
    past = (datetime.now(UTC) - timedelta(days=1)).strftime("at(%Y-%m-%dT%H:%M:%S)")
    schedule = {"type": "aws", "expression": past}
    response = api.post("/v1/tasks", cron_task(schedule=schedule))
    assert response.status == 422 and [e["field"] for e in response.json["errors"]] == ["body.schedule.expression"]
    preview = api.post("/v1/schedules/preview", {"schedule": schedule})
    assert preview.status == 200 and preview.json["occurrences"] == []


def test_a_rate_previews_from_its_start(api: ApiClient) -> None:
    schedule = {"type": "aws", "expression": "rate(7 days)", "start_at": "2027-01-04T08:00:00Z"}
    preview = api.post("/v1/schedules/preview", {"schedule": schedule, "count": 2, "after": "2027-01-01T00:00:00Z"})
    assert preview.status == 200, preview.text
    assert preview.json["description"] == "Every week starting 2027-01-04T08:00:00Z"
    assert [datetime.fromisoformat(t) for t in preview.json["occurrences"]] == [
        datetime(2027, 1, 4, 8, tzinfo=UTC),
        datetime(2027, 1, 11, 8, tzinfo=UTC),
    ]
    assert preview.json["dst_changes"] == []


def test_the_preview_flags_what_the_dst_rule_did(api: ApiClient) -> None:
    daily = {"type": "cron", "expression": "30 2 * * *", "timezone": "Europe/Berlin"}
    # 2026-10-25: 02:30 happens twice; with "both" it runs at both instants.
    doubled = api.post(
        "/v1/schedules/preview",
        {"schedule": {**daily, "dst": {"repeated_hour": "both"}}, "count": 3, "after": "2026-10-24T12:00:00Z"},
    ).json
    assert doubled["occurrences"][:2] == ["2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"]
    assert [(c["at"], c["change"], c["local_time"]) for c in doubled["dst_changes"]] == [
        ("2026-10-25T00:30:00Z", "doubled", "2026-10-25T02:30"),
        ("2026-10-25T01:30:00Z", "doubled", "2026-10-25T02:30"),
    ]
    # 2027-03-28: 02:30 does not exist; it runs once, after the change, at 03:30 CEST.
    moved = api.post("/v1/schedules/preview", {"schedule": daily, "count": 2, "after": "2027-03-27T12:00:00Z"}).json
    assert moved["occurrences"] == ["2027-03-28T01:30:00Z", "2027-03-29T00:30:00Z"]
    [change] = moved["dst_changes"]
    assert change["at"] == "2027-03-28T01:30:00Z" and change["change"] == "moved" and "03:30 CEST" in change["note"]
    # A quarter-hourly job keeps its cadence through the repeated hour: 8 runs in 02:00-02:59 twice over.
    quarter = {"type": "aws", "expression": "cron(0/15 * * * ? *)", "timezone": "Europe/Berlin"}
    found = api.post("/v1/schedules/preview", {"schedule": quarter, "count": 8, "after": "2026-10-24T23:59:00Z"}).json
    assert found["occurrences"] == [f"2026-10-25T0{h}:{m:02d}:00Z" for h in (0, 1) for m in (0, 15, 30, 45)]
    assert {c["change"] for c in found["dst_changes"]} == {"doubled"} and len(found["dst_changes"]) == 8


def test_an_unknown_dst_policy_is_a_422_naming_it(api: ApiClient) -> None:
    schedule = {"type": "cron", "expression": "30 2 * * *", "dst": {"repeated_hour": "sometimes"}}
    response = api.post("/v1/tasks", cron_task(schedule=schedule))
    assert response.status == 422, response.text
    assert [e["field"] for e in response.json["errors"]] == ["body.schedule.dst.repeated_hour"]
