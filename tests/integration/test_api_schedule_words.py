"""POST /v1/schedules/parse through the real API handler: words in, the schedule, its
description and next occurrences out; words it cannot read are a 422 with suggestions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from agentcron.bootstrap import api as api_root

from tests.integration.conftest import ApiClient

# Tuesday 8 December 2026, 11:00 in Berlin.
NOW = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)


@pytest.fixture
def pinned(api: ApiClient) -> ApiClient:
    """The API with its service's clock at NOW, as relative phrases are counted from it."""
    api_root.root().service.clock = lambda: NOW
    return api


def test_a_weekday_rule_comes_back_with_its_description_and_next_times(pinned: ApiClient) -> None:
    response = pinned.post(
        "/v1/schedules/parse", {"text": "every weekday at 9am", "timezone": "Europe/Berlin", "count": 3}
    )
    assert response.status == 200, response.text
    assert response.json == {
        "schedule": {
            "type": "cron",
            "expression": "0 9 * * 1-5",
            "timezone": "Europe/Berlin",
            "dst": None,
            "start_at": None,
            "end_at": None,
        },
        "description": "At 09:00, Monday through Friday (Europe/Berlin)",
        "occurrences": ["2026-12-09T08:00:00Z", "2026-12-10T08:00:00Z", "2026-12-11T08:00:00Z"],
        "dst_changes": [],
    }


def test_a_relative_phrase_is_a_once_schedule_from_the_service_clock(pinned: ApiClient) -> None:
    response = pinned.post("/v1/schedules/parse", {"text": "in 20 minutes", "timezone": "Europe/Berlin"})
    assert response.status == 200, response.text
    assert response.json["schedule"]["type"] == "once"
    assert response.json["schedule"]["at"] == "2026-12-08T10:20:00Z"
    assert response.json["occurrences"] == ["2026-12-08T10:20:00Z"]


def test_the_parsed_schedule_is_accepted_by_tasks(api: ApiClient) -> None:
    parsed = api.post("/v1/schedules/parse", {"text": "the last friday of the month at 17:00 Tokyo time"}).json
    created = api.post("/v1/tasks", {"name": "Month end", "prompt": "Close the books", "schedule": parsed["schedule"]})
    assert created.status == 201, created.text
    assert created.json["schedule"]["expression"] == "0 17 * * L5"
    assert created.json["schedule"]["timezone"] == "Asia/Tokyo"


def test_words_it_cannot_read_are_a_422_with_suggestions(pinned: ApiClient) -> None:
    response = pinned.post("/v1/schedules/parse", {"text": "at 9am", "timezone": "Europe/Berlin"})
    assert response.status == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json
    assert problem["errors"] == [{"field": "body.text", "message": "a time of day alone does not say which days"}]
    assert "every day at 9am" in problem["suggestions"]
    assert "tomorrow at 9am" in problem["suggestions"]
    for phrase in problem["suggestions"]:
        assert pinned.post("/v1/schedules/parse", {"text": phrase, "timezone": "Europe/Berlin"}).status == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": ""}, "body.text"),
        ({"text": "x" * 201}, "body.text"),
        ({"text": "daily", "timezone": "Mars/Olympus"}, "body.timezone"),
        ({"text": "daily", "count": 0}, "body.count"),
        ({"text": "daily", "extra": 1}, "body.extra"),
        ({}, "body.text"),
    ],
)
def test_a_bad_request_names_its_field(api: ApiClient, body: dict[str, object], field: str) -> None:
    response = api.post("/v1/schedules/parse", body)
    assert response.status == 422, response.text
    assert field in [error["field"] for error in response.json["errors"]]
    assert "suggestions" not in response.json
