"""Bad input: a clear problem+json 4xx naming the field, nothing written, never a 5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.conftest import ApiClient, cron_task


def fields_of(response: Any) -> list[str]:
    return [error["field"] for error in response.json.get("errors", [])]


@pytest.mark.parametrize(
    ("body", "field", "message_part"),
    [
        ({k: v for k, v in cron_task().items() if k != "prompt"}, "body.prompt", "required"),
        (cron_task(name=""), "body.name", "at least 1"),
        (cron_task(name="n" * 10_000), "body.name", "at most 200"),
        (cron_task(prompt="p" * 60_000), "body.prompt", "at most"),
        (cron_task(prompt=42), "body.prompt", "string"),
        (cron_task(enabled="maybe"), "body.enabled", "boolean"),
        (cron_task(colour="blue"), "body.colour", "unknown field"),
        (cron_task(schedule={"type": "cron", "expression": "every day"}), "body.schedule.expression", ""),
        (
            cron_task(schedule={"type": "cron", "expression": "0 9 * * *", "timezone": "Mars/Olympus"}),
            "body.schedule.timezone",
            "Mars/Olympus",
        ),
        (cron_task(schedule={"type": "interval", "every_seconds": 5}), "body.schedule.every_seconds", "60"),
        (cron_task(schedule={"type": "once", "at": "2026-12-01T09:00:00"}), "body.schedule.at", "offset"),
        (cron_task(schedule={"type": "fortnightly"}), "body.schedule", ""),
        (cron_task(agent={"tools": ["ask_user", "launch_missiles"]}), "body.agent.tools", "launch_missiles"),
        (cron_task(agent={"max_turns": 0}), "body.agent.max_turns", ""),
        (cron_task(policies={"overlap": "sometimes"}), "body.policies.overlap", ""),
        (cron_task(variables={"bad name": "x"}), "body.variables.bad name", "pattern"),
        (cron_task(variables={f"v{i}": "x" for i in range(60)}), "body.variables", "at most 50"),
        (cron_task(tags=["ok", "not ok"]), "body.tags.1", ""),
        (cron_task(notify={"webhook_url": "http://example.com/hook"}), "body.notify.webhook_url", "https"),
    ],
)
def test_create_rejects_bad_fields(api: ApiClient, body: dict, field: str, message_part: str) -> None:
    response = api.post("/v1/tasks", body)
    assert response.status == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json
    assert problem["status"] == 422 and problem["title"] == "Unprocessable Content"
    assert field in fields_of(response), (field, problem)
    message = next(e["message"] for e in problem["errors"] if e["field"] == field)
    assert message and message_part.lower() in message.lower(), message
    assert api.get("/v1/tasks").json["items"] == [], "nothing is written"


@pytest.mark.parametrize(
    "raw",
    ["{", "not json", "[]", "null", "123", '"string"', '{"name": "\\ud800"}', "{}" * 1000, "\x00\x01"],
)
def test_malformed_json_is_a_4xx(api: ApiClient, raw: str) -> None:
    response = api.request("POST", "/v1/tasks", raw_body=raw)
    assert 400 <= response.status < 500, (raw, response.status, response.text)
    assert response.headers["content-type"] == "application/problem+json"


def test_oversized_body_is_413(api: ApiClient) -> None:
    response = api.request("POST", "/v1/tasks", raw_body=json.dumps(cron_task(prompt="x" * 300_000)))
    assert response.status == 413
    assert "KiB" in response.json["detail"]


MUTATING_ROUTES = [
    ("POST", "/v1/tasks"),
    ("PATCH", "/v1/tasks/{task}"),
    ("POST", "/v1/tasks/{task}/disable"),
    ("POST", "/v1/tasks/{task}/runs"),
    ("POST", "/v1/runs/{run}/reply"),
    ("POST", "/v1/schedules/preview"),
    ("POST", "/v1/schedules/parse"),
]
HOSTILE_BODIES: list[Any] = [
    None,
    "",
    "{",
    [],
    {"variables": "x"},
    {"variables": {"a": 1}},
    {"reason": ["x"]},
    {"reply": 5},
    {"schedule": None},
    {"schedule": {"type": "cron", "expression": "0 0 31 2 *"}},
    {"schedule": {"type": "interval", "every_seconds": 10**30}},
    {"schedule": {"type": "once", "at": "9999-99-99"}},
    {"name": "\u0000" * 10},
    {"x" * 1000: "y" * 100_000},
    {"count": -1},
    {"text": "every " * 40},
    {"text": 9},
    {"text": "daily", "timezone": "../../etc/passwd"},
    {"deeply": [[[[[[[[[[[[[[[[[[[[{}]]]]]]]]]]]]]]]]]]]]},
]


@pytest.mark.parametrize(("method", "path"), MUTATING_ROUTES)
def test_no_route_answers_5xx_to_hostile_bodies(api: ApiClient, method: str, path: str) -> None:
    task = api.post("/v1/tasks", cron_task()).json
    run = api.post(f"/v1/tasks/{task['id']}/runs").json
    concrete = path.format(task=task["id"], run=run["id"])
    for body in HOSTILE_BODIES:
        raw = body if isinstance(body, str) else json.dumps(body)
        response = api.request(method, concrete, raw_body=raw)
        assert response.status < 500, (method, concrete, body, response.text)
    after = api.get(f"/v1/tasks/{task['id']}").json
    assert after["name"] == task["name"] and after["prompt"] == task["prompt"]


@pytest.mark.parametrize(
    "query",
    [
        "limit=-5",
        "limit=1000000000000000000000",
        "status=EXPLODED",
        "since=yesterday",
        "since=2026-01-01T00:00:00",
        "cursor=%00%01",
        "enabled=perhaps",
    ],
)
def test_bad_query_parameters_are_4xx(api: ApiClient, query: str) -> None:
    for path in ("/v1/runs", "/v1/tasks"):
        response = api.get(f"{path}?{query}")
        assert 400 <= response.status < 500 or response.status == 200, (path, query, response.text)
        assert response.status < 500


def test_no_identity_is_401(api: ApiClient) -> None:
    response = api.get("/v1/tasks", user=None)
    assert response.status == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_unknown_route_is_a_problem_404(api: ApiClient) -> None:
    response = api.get("/v1/nothing-here")
    assert response.status == 404
    assert response.json["detail"] == "no route for GET /v1/nothing-here"
