"""Runs, schedule preview, tools and meta routes through the real handler."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
from agentcron.models import RunStatus
from agentcron.store import Store

from tests.integration.conftest import ApiClient, cron_task


def receive_all(queue_url: str) -> list[dict]:
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_run_now_queues_a_run(api: ApiClient, aws_env: dict[str, str]) -> None:
    task = api.post("/v1/tasks", cron_task()).json
    response = api.post(f"/v1/tasks/{task['id']}/runs", {"variables": {"team": "billing"}})
    assert response.status == 202, response.text
    run = response.json
    assert run["status"] == "QUEUED" and run["trigger"] == "manual" and run["attempt"] == 0
    assert run["task_id"] == task["id"] and run["variables"] == {"team": "billing"}
    assert response.headers["location"] == f"/v1/runs/{run['id']}"
    assert set(run["_links"]) == {"self", "task", "cancel"}
    assert receive_all(aws_env["RUN_QUEUE_URL"]) == [{"run_id": run["id"], "task_id": task["id"], "owner": "alice"}]
    assert api.get(run["_links"]["self"]["href"]).json["id"] == run["id"]
    assert api.get(run["_links"]["task"]["href"]).status == 200
    assert [r["id"] for r in api.get(f"/v1/tasks/{task['id']}/runs").json["items"]] == [run["id"]]
    assert [r["id"] for r in api.get("/v1/runs").json["items"]] == [run["id"]]


def test_run_now_is_idempotent(api: ApiClient, aws_env: dict[str, str]) -> None:
    task = api.post("/v1/tasks", cron_task()).json
    headers = {"idempotency-key": "run-once"}
    first = api.post(f"/v1/tasks/{task['id']}/runs", headers=headers)
    again = api.post(f"/v1/tasks/{task['id']}/runs", headers=headers)
    assert first.status == again.status == 202
    assert first.json["id"] == again.json["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len(receive_all(aws_env["RUN_QUEUE_URL"])) == 1, "a replay sends nothing"
    assert len(api.get(f"/v1/tasks/{task['id']}/runs").json["items"]) == 1


def test_run_now_rejects_bad_variables(api: ApiClient) -> None:
    task = api.post("/v1/tasks", cron_task()).json
    response = api.post(f"/v1/tasks/{task['id']}/runs", {"variables": {"team": ["a"]}})
    assert response.status == 422
    assert response.json["errors"][0]["field"].startswith("body.variables")
    assert api.get(f"/v1/tasks/{task['id']}/runs").json["items"] == []


def test_runs_of_other_owner_are_not_found(api: ApiClient) -> None:
    task = api.post("/v1/tasks", cron_task()).json
    run = api.post(f"/v1/tasks/{task['id']}/runs").json
    assert api.get(f"/v1/runs/{run['id']}", user="bob").status == 404
    assert api.post(f"/v1/runs/{run['id']}/cancel", user="bob").status == 404
    assert api.post(f"/v1/runs/{run['id']}/reply", {"reply": "hi"}, user="bob").status == 404
    assert api.get("/v1/runs", user="bob").json["items"] == []
    assert api.get(f"/v1/runs/{run['id']}").json["status"] == "QUEUED"


def test_unknown_run_ids_are_404(api: ApiClient) -> None:
    for run_id in ("run_x", "run_01JD0000000000000000000000_1800000000", "r" * 90):
        assert api.get(f"/v1/runs/{run_id}").status == 404


def test_cancel_a_queued_run(api: ApiClient) -> None:
    task = api.post("/v1/tasks", cron_task()).json
    run = api.post(f"/v1/tasks/{task['id']}/runs").json
    cancelled = api.post(f"/v1/runs/{run['id']}/cancel")
    assert cancelled.status == 200
    assert cancelled.json["status"] == "CANCELLED" and cancelled.json["finished_at"]
    assert "cancel" not in cancelled.json["_links"]
    again = api.post(f"/v1/runs/{run['id']}/cancel")
    assert again.status == 409
    assert "CANCELLED" in again.json["detail"]


def test_reply_requires_a_waiting_run(api: ApiClient, store: Store, aws_env: dict[str, str]) -> None:
    task = api.post("/v1/tasks", cron_task()).json
    run = api.post(f"/v1/tasks/{task['id']}/runs").json
    receive_all(aws_env["RUN_QUEUE_URL"])
    assert api.post(f"/v1/runs/{run['id']}/reply", {"reply": "yes"}).status == 409

    # The runner (a later issue) parks a run this way when the agent asks a question.
    store.transition_run(
        "alice",
        run["id"],
        from_statuses={RunStatus.QUEUED},
        to_status=RunStatus.WAITING_INPUT,
        fields={"question": "Which region?"},
    )
    waiting = api.get(f"/v1/runs/{run['id']}").json
    assert waiting["question"] == "Which region?" and "reply" in waiting["_links"]
    assert api.post(f"/v1/runs/{run['id']}/reply", {}).status == 422
    replied = api.post(f"/v1/runs/{run['id']}/reply", {"reply": "eu-west-1"})
    assert replied.status == 202 and replied.json["status"] == "QUEUED"
    assert [m["run_id"] for m in receive_all(aws_env["RUN_QUEUE_URL"])] == [run["id"]]
    item = store.table.get_item(Key={"PK": f"TASK#{task['id']}", "SK": f"RUN#{run['id']}"})["Item"]
    assert item["reply"] == "eu-west-1" and "active_shard" in item


def test_runs_filters(api: ApiClient) -> None:
    task = api.post("/v1/tasks", cron_task()).json
    first = api.post(f"/v1/tasks/{task['id']}/runs").json
    second = api.post(f"/v1/tasks/{task['id']}/runs").json
    api.post(f"/v1/runs/{first['id']}/cancel")
    queued = api.get("/v1/runs?status=QUEUED").json["items"]
    assert [r["id"] for r in queued] == [second["id"]]
    cancelled = api.get(f"/v1/tasks/{task['id']}/runs?status=CANCELLED").json["items"]
    assert [r["id"] for r in cancelled] == [first["id"]]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert api.get(f"/v1/runs?since={future}").json["items"] == []
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert len(api.get(f"/v1/runs?since={past}").json["items"]) == 2


def test_schedule_preview(api: ApiClient) -> None:
    response = api.post(
        "/v1/schedules/preview",
        {
            "schedule": {"type": "cron", "expression": "30 2 * * *", "timezone": "Europe/Berlin"},
            "count": 3,
            "after": "2026-03-28T00:00:00Z",
        },
    )
    assert response.status == 200, response.text
    preview = response.json
    assert "02:30" in preview["description"] and "Europe/Berlin" in preview["description"]
    # 29 March 2026 has no 02:30 in Berlin: it runs once, at the shifted instant 03:30 CEST.
    assert [datetime.fromisoformat(t) for t in preview["occurrences"]] == [
        datetime(2026, 3, 28, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),
    ]


def test_schedule_preview_rejects_bad_schedule(api: ApiClient) -> None:
    response = api.post("/v1/schedules/preview", {"schedule": {"type": "cron", "expression": "* * *"}})
    assert response.status == 422
    assert "body.schedule.expression" in [e["field"] for e in response.json["errors"]]
    assert api.post("/v1/schedules/preview", {"schedule": {"type": "manual"}, "count": 500}).status == 422


def test_tools_catalog(api: ApiClient) -> None:
    tools = api.get("/v1/tools").json["items"]
    assert {t["name"] for t in tools} == {
        "ask_user",
        "web_fetch",
        "remember",
        "recall",
        "schedule_followup",
        "web_search",
        "code_execution",
    }
    assert all("description" in t and "input_schema" in t for t in tools)


def test_health_needs_no_token(api: ApiClient) -> None:
    response = api.get("/v1/health", user=None)
    assert response.status == 200 and response.json["status"] == "ok"


def test_openapi_document_lists_every_route(api: ApiClient) -> None:
    response = api.get("/v1/openapi.json", user=None)
    assert response.status == 200
    document = response.json
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path, method in [
        ("/v1/tasks", "post"),
        ("/v1/tasks", "get"),
        ("/v1/tasks/due", "get"),
        ("/v1/tasks/{task_id}", "patch"),
        ("/v1/tasks/{task_id}", "delete"),
        ("/v1/tasks/{task_id}/enable", "post"),
        ("/v1/tasks/{task_id}/disable", "post"),
        ("/v1/tasks/{task_id}/runs", "post"),
        ("/v1/tasks/{task_id}/stats", "get"),
        ("/v1/runs", "get"),
        ("/v1/runs/{run_id}", "get"),
        ("/v1/runs/{run_id}/reply", "post"),
        ("/v1/runs/{run_id}/cancel", "post"),
        ("/v1/schedules/preview", "post"),
        ("/v1/tools", "get"),
        ("/v1/health", "get"),
    ]:
        assert method in paths[path], (path, method)
    assert "bearer" in document["components"]["securitySchemes"]


def test_swagger_ui_is_served(api: ApiClient) -> None:
    response = api.get("/v1/docs", user=None)
    assert response.status == 200
    assert "text/html" in response.headers["content-type"]
    assert "swagger" in response.text.lower()
