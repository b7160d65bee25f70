"""The tasks API through the real handler against moto's server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.integration.conftest import ApiClient, cron_task


def create(api: ApiClient, user: str = "alice", **overrides: object) -> dict:
    response = api.post("/v1/tasks", cron_task(**overrides), user=user)
    assert response.status == 201, response.text
    return response.json


def test_create_returns_the_task_with_links_and_next_run(api: ApiClient) -> None:
    response = api.post("/v1/tasks", cron_task())
    assert response.status == 201
    task = response.json
    assert task["id"].startswith("task_")
    assert response.headers["location"] == f"/v1/tasks/{task['id']}"
    assert response.headers["etag"] == '"1"'
    assert task["version"] == 1 and task["enabled"] is True and task["paused_reason"] is None
    assert task["policies"]["overlap"] == "skip" and task["policies"]["max_attempts"] == 3
    assert task["agent"]["max_turns"] == 10
    next_run = datetime.fromisoformat(task["next_run_at"])
    # 09:00 in Berlin is 07:00 or 08:00 UTC, on a weekday.
    assert next_run.hour in (7, 8) and next_run.minute == 0 and next_run.weekday() < 5
    assert next_run > datetime.now(UTC)
    assert "owner" not in task
    for link in task["_links"].values():
        assert link["href"].startswith(f"/v1/tasks/{task['id']}")
    fetched = api.get(task["_links"]["self"]["href"])
    assert fetched.status == 200 and fetched.json["id"] == task["id"]


def test_get_shows_upcoming_runs_and_etag(api: ApiClient) -> None:
    task = create(api)
    response = api.get(f"/v1/tasks/{task['id']}")
    assert response.status == 200
    assert response.headers["etag"] == '"1"'
    upcoming = [datetime.fromisoformat(t) for t in response.json["next_runs"]]
    assert len(upcoming) == 5
    assert upcoming == sorted(upcoming) and upcoming[0] == datetime.fromisoformat(task["next_run_at"])


def test_other_owners_task_is_not_found_and_unchanged(api: ApiClient) -> None:
    task = create(api, user="alice")
    path = f"/v1/tasks/{task['id']}"
    assert api.get(path, user="bob").status == 404
    assert api.patch(path, {"name": "mine now"}, user="bob").status == 404
    assert api.delete(path, user="bob").status == 404
    assert api.post(f"{path}/disable", user="bob").status == 404
    assert api.post(f"{path}/enable", user="bob").status == 404
    assert api.post(f"{path}/runs", user="bob").status == 404
    assert api.get(f"{path}/runs", user="bob").status == 404
    assert api.get(f"{path}/stats", user="bob").status == 404
    assert api.get("/v1/tasks", user="bob").json["items"] == []
    after = api.get(path).json
    assert after["name"] == task["name"] and after["version"] == 1 and after["enabled"] is True


@pytest.mark.parametrize("task_id", ["task_nope", "x" * 64, "task_01JD0000000000000000000000", "%2e%2e"])
def test_unknown_task_is_a_problem_404(api: ApiClient, task_id: str) -> None:
    response = api.get(f"/v1/tasks/{task_id}")
    assert response.status == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json["status"] == 404 and response.json["title"] == "Not Found"


def test_list_is_newest_first_and_pages_with_a_cursor(api: ApiClient) -> None:
    ids = [create(api, name=f"task {i}")["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        path = "/v1/tasks?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(path).json
        seen += [t["id"] for t in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    assert pages == 3


def test_list_filters(api: ApiClient) -> None:
    cron = create(api, tags=["ops", "daily"])
    interval = create(api, schedule={"type": "interval", "every_seconds": 3600}, tags=["billing"])
    paused = create(api, enabled=False, schedule={"type": "manual"}, tags=["misc"])

    def ids(query: str) -> list[str]:
        response = api.get(f"/v1/tasks?{query}")
        assert response.status == 200, response.text
        return [t["id"] for t in response.json["items"]]

    assert ids("tag=ops") == [cron["id"]]
    assert ids("schedule_type=interval") == [interval["id"]]
    assert ids("enabled=false") == [paused["id"]]
    assert set(ids("enabled=true")) == {cron["id"], interval["id"]}
    assert api.get("/v1/tasks?schedule_type=weekly").status == 422
    assert api.get("/v1/tasks?limit=0").status == 422
    assert api.get("/v1/tasks?limit=abc").status == 422


@pytest.mark.parametrize("cursor", ["garbage!", "eyJQSyI6IlgifQ", "e30", "a" * 3000])
def test_forged_cursor_is_a_400(api: ApiClient, cursor: str) -> None:
    create(api)
    response = api.get(f"/v1/tasks?cursor={cursor}")
    assert response.status in (400, 422)
    assert response.headers["content-type"] == "application/problem+json"


def test_another_owners_cursor_is_refused(api: ApiClient) -> None:
    for i in range(3):
        create(api, name=f"a{i}")
    cursor = api.get("/v1/tasks?limit=1").json["next_cursor"]
    assert cursor
    response = api.get(f"/v1/tasks?cursor={cursor}", user="bob")
    assert response.status == 400


def test_patch_updates_fields_and_bumps_version(api: ApiClient) -> None:
    task = create(api)
    response = api.patch(
        f"/v1/tasks/{task['id']}",
        {"name": "Evening", "schedule": {"type": "cron", "expression": "0 18 * * *", "timezone": "UTC"}},
        headers={"if-match": '"1"'},
    )
    assert response.status == 200, response.text
    updated = response.json
    assert updated["name"] == "Evening" and updated["version"] == 2
    assert response.headers["etag"] == '"2"'
    assert datetime.fromisoformat(updated["next_run_at"]).hour == 18
    assert updated["prompt"] == task["prompt"], "fields not in the patch stay"
    assert api.get(f"/v1/tasks/{task['id']}").json["version"] == 2


def test_patch_with_stale_version_is_412_and_changes_nothing(api: ApiClient) -> None:
    task = create(api)
    assert api.patch(f"/v1/tasks/{task['id']}", {"name": "first"}).status == 200
    stale = api.patch(f"/v1/tasks/{task['id']}", {"name": "second"}, headers={"if-match": '"1"'})
    assert stale.status == 412
    assert "version 2" in stale.json["detail"]
    assert api.get(f"/v1/tasks/{task['id']}").json["name"] == "first"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"name": None}, "body.name"),
        ({"prompt": ""}, "body.prompt"),
        ({"enabled": False}, "body.enabled"),
        ({"schedule": {"type": "cron", "expression": "61 * * * *"}}, "body.schedule.expression"),
        ({"agent": {"tools": ["rm_rf"]}}, "body.agent.tools"),
        ({"colour": "blue"}, "body.colour"),
    ],
)
def test_bad_patch_is_422_naming_the_field(api: ApiClient, patch: dict, field: str) -> None:
    task = create(api)
    response = api.patch(f"/v1/tasks/{task['id']}", patch)
    assert response.status == 422, response.text
    fields = [e["field"] for e in response.json["errors"]]
    assert field in fields, fields
    assert all(e["message"] for e in response.json["errors"])
    assert api.get(f"/v1/tasks/{task['id']}").json["version"] == 1


def test_bad_if_match_is_422(api: ApiClient) -> None:
    task = create(api)
    response = api.patch(f"/v1/tasks/{task['id']}", {"name": "x"}, headers={"if-match": "banana"})
    assert response.status == 422
    assert response.json["errors"][0]["field"] == "header.if-match"


def test_delete_is_soft(api: ApiClient) -> None:
    task = create(api)
    run = api.post(f"/v1/tasks/{task['id']}/runs").json
    assert api.delete(f"/v1/tasks/{task['id']}").status == 204
    gone = api.get(f"/v1/tasks/{task['id']}")
    assert gone.status == 410 and gone.headers["content-type"] == "application/problem+json"
    assert gone.json["detail"] == f"task {task['id']} was deleted (its runs stay readable)"
    # Only its owner learns it existed: to anyone else it is as absent as an id never used.
    to_bob = api.get(f"/v1/tasks/{task['id']}", user="bob")
    assert (to_bob.status, to_bob.json["detail"]) == (404, f"task {task['id']} not found")
    assert api.get("/v1/tasks").json["items"] == []
    assert api.delete(f"/v1/tasks/{task['id']}").status == 410
    assert api.delete(f"/v1/tasks/{task['id']}", user="bob").status == 404
    assert api.get(f"/v1/runs/{run['id']}").status == 200, "runs stay readable"
    assert [r["id"] for r in api.get(f"/v1/tasks/{task['id']}/runs").json["items"]] == [run["id"]]


def test_delete_with_stale_if_match_is_412(api: ApiClient) -> None:
    task = create(api)
    api.patch(f"/v1/tasks/{task['id']}", {"name": "v2"})
    assert api.delete(f"/v1/tasks/{task['id']}", headers={"if-match": '"1"'}).status == 412
    assert api.get(f"/v1/tasks/{task['id']}").status == 200


def test_disable_and_enable(api: ApiClient, store) -> None:
    task = create(api)
    disabled = api.post(f"/v1/tasks/{task['id']}/disable", {"reason": "holiday"})
    assert disabled.status == 200
    assert disabled.json["enabled"] is False and disabled.json["paused_reason"] == "holiday"
    assert disabled.json["next_run_at"] is None
    item = store.table.get_item(Key={"PK": f"TASK#{task['id']}", "SK": "TASK"})["Item"]
    assert "due_shard" not in item and "next_run_at" not in item, "a paused task leaves the due index"
    assert set(disabled.json["_links"]) == {"self", "runs", "run_now", "stats", "history", "enable"}, (
        "paused: enable, not disable"
    )

    enabled = api.post(f"/v1/tasks/{task['id']}/enable")
    assert enabled.status == 200
    assert enabled.json["enabled"] is True and enabled.json["paused_reason"] is None
    assert set(enabled.json["_links"]) == {"self", "runs", "run_now", "stats", "history", "disable"}
    assert enabled.json["next_run_at"] == task["next_run_at"]
    item = store.table.get_item(Key={"PK": f"TASK#{task['id']}", "SK": "TASK"})["Item"]
    assert item["due_shard"] in {str(i) for i in range(int(store.due_shards))}
    assert int(item["next_run_at"]) == int(datetime.fromisoformat(task["next_run_at"]).timestamp())


def test_disable_without_body_uses_a_default_reason(api: ApiClient) -> None:
    task = create(api)
    response = api.post(f"/v1/tasks/{task['id']}/disable")
    assert response.status == 200 and response.json["paused_reason"] == "paused by the owner"


def test_created_disabled_and_manual_tasks_are_not_due(api: ApiClient, store) -> None:
    for body in (cron_task(enabled=False), cron_task(schedule={"type": "manual"})):
        task = api.post("/v1/tasks", body).json
        item = store.table.get_item(Key={"PK": f"TASK#{task['id']}", "SK": "TASK"})["Item"]
        assert "due_shard" not in item and task["next_run_at"] is None


def test_due_lists_tasks_starting_within_the_window(api: ApiClient) -> None:
    soon = datetime.fromtimestamp(datetime.now(UTC).timestamp() + 60, UTC).isoformat()
    claimed = create(api, schedule={"type": "once", "at": soon})
    shown = datetime.fromisoformat(claimed["next_run_at"])
    assert shown == datetime.fromisoformat(soon).replace(microsecond=0), "claimed at once by the API: its run shows"
    in_two_hours = datetime.fromtimestamp(datetime.now(UTC).timestamp() + 7200, UTC).isoformat()
    later = create(api, schedule={"type": "once", "at": in_two_hours})
    assert [t["id"] for t in api.get("/v1/tasks/due").json["items"]] == [claimed["id"]]
    ids = {t["id"] for t in api.get("/v1/tasks/due?within=10800").json["items"]}
    assert ids == {claimed["id"], later["id"]}
    assert api.get("/v1/tasks/due", user="bob").json["items"] == []
    assert api.get("/v1/tasks/due?within=-1").status == 422


def test_idempotent_create(api: ApiClient) -> None:
    headers = {"idempotency-key": "create-1"}
    first = api.post("/v1/tasks", cron_task(), headers=headers)
    again = api.post("/v1/tasks", cron_task(), headers=headers)
    assert first.status == again.status == 201
    assert again.json["id"] == first.json["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len(api.get("/v1/tasks").json["items"]) == 1

    different = api.post("/v1/tasks", cron_task(name="other"), headers=headers)
    assert different.status == 422
    assert "Idempotency-Key" in different.json["detail"]

    # Keys are per owner: bob's identical key is his own.
    bobs = api.post("/v1/tasks", cron_task(), headers=headers, user="bob")
    assert bobs.status == 201 and bobs.json["id"] != first.json["id"]


def test_bad_idempotency_key_is_422(api: ApiClient) -> None:
    response = api.post("/v1/tasks", cron_task(), headers={"idempotency-key": "k" * 300})
    assert response.status == 422
    assert api.get("/v1/tasks").json["items"] == []


def store_run(store, task_id: str, index: int, status: str, **fields: object) -> str:
    """A run of `task_id` as the runner leaves it, scheduled `index` minutes after a fixed time; returns its id."""
    from agentcron.ids import scheduled_run_id
    from agentcron.models import Run, Trigger

    epoch = 1_800_000_000 + index * 60
    when = datetime.fromtimestamp(epoch, UTC)
    run_id = scheduled_run_id(task_id, epoch)
    store.create_run(
        Run.model_validate(
            {
                "id": run_id,
                "task_id": task_id,
                "owner": "alice",
                "status": status,
                "trigger": Trigger.SCHEDULE,
                "scheduled_for": when,
                "created_at": when,
                **fields,
            }
        )
    )
    return run_id


def test_stats_of_known_runs(api: ApiClient, store) -> None:
    task = create(api)
    outcomes = [
        ("SUCCEEDED", 1000),
        ("SUCCEEDED", 2000),
        ("SUCCEEDED", 3000),
        ("FAILED", 4000),
        ("TIMED_OUT", 300000),
        ("SKIPPED", None),
    ]
    for index, (status, duration) in enumerate(outcomes):
        store_run(
            store,
            task["id"],
            index,
            status,
            duration_ms=duration,
            usage={"input_tokens": 100, "output_tokens": 10} if duration else None,
            error={"type": "overloaded", "message": "529"} if status == "FAILED" else None,
        )
    stats = api.get(f"/v1/tasks/{task['id']}/stats").json
    assert stats["window"] == 6
    assert stats["counts"] == {"SUCCEEDED": 3, "FAILED": 1, "TIMED_OUT": 1, "SKIPPED": 1}
    assert stats["success_rate"] == 0.6
    assert stats["duration_ms_p50"] == 3000
    assert stats["duration_ms_p95"] == 300000
    assert stats["input_tokens_total"] == 500 and stats["output_tokens_total"] == 50
    assert [f["status"] for f in stats["last_failures"]] == ["TIMED_OUT", "FAILED"]
    assert stats["last_failures"][1]["error"] == {"type": "overloaded", "message": "529"}


def test_stats_and_runs_estimate_the_cost_of_known_usage(api: ApiClient, store) -> None:
    task = create(api)
    sonnet = store_run(
        store,
        task["id"],
        0,
        "SUCCEEDED",
        model="claude-sonnet-4-5-20250929",
        # $3 / $15 / $3.75 / $0.30 per million: 0.003 + 0.0075 + 0.0075 + 0.003 = $0.021
        usage={
            "input_tokens": 1000,
            "output_tokens": 500,
            "cache_creation_input_tokens": 2000,
            "cache_read_input_tokens": 10000,
        },
    )
    # $1 / $5 per million: 0.002 + 0.002 = $0.004
    store_run(
        store, task["id"], 1, "SUCCEEDED", model="claude-haiku-4-5", usage={"input_tokens": 2000, "output_tokens": 400}
    )
    unknown = store_run(store, task["id"], 2, "FAILED", model="claude-made-up-9", usage={"input_tokens": 100})
    skipped = store_run(store, task["id"], 3, "SKIPPED")
    store_run(store, task["id"], 4, "QUEUED", usage={"input_tokens": 50})  # an older runner did not record the model

    stats = api.get(f"/v1/tasks/{task['id']}/stats").json
    assert stats["cache_creation_input_tokens_total"] == 2000 and stats["cache_read_input_tokens_total"] == 10000
    cost = stats["cost_estimate"]
    assert "excludes AWS costs" in cost.pop("basis")
    assert cost == {
        "total_usd": 0.025,
        "mean_per_run_usd": 0.0125,
        "runs_priced": 2,
        "runs_unpriced": 2,
        "pricing": {
            "claude-sonnet-4-5-20250929": "claude-sonnet-4-5",
            "claude-haiku-4-5": "claude-haiku-4-5",
            "claude-made-up-9": None,
        },
    }

    assert api.get(f"/v1/runs/{sonnet}").json["cost_estimate"] == {
        "usd": 0.021,
        "priced_as": "claude-sonnet-4-5",
        "note": None,
    }
    assert api.get(f"/v1/runs/{unknown}").json["cost_estimate"] == {
        "usd": None,
        "priced_as": None,
        "note": "unknown model claude-made-up-9: no published price in agentcron's table",
    }
    assert api.get(f"/v1/runs/{skipped}").json["cost_estimate"] is None
    listed = api.get(f"/v1/tasks/{task['id']}/runs").json["items"]
    assert {r["id"]: (r["cost_estimate"] or {}).get("usd") for r in listed}[sonnet] == 0.021


def test_stats_of_a_task_without_runs_have_no_cost(api: ApiClient) -> None:
    task = create(api)
    cost = api.get(f"/v1/tasks/{task['id']}/stats").json["cost_estimate"]
    del cost["basis"]
    assert cost == {"total_usd": None, "mean_per_run_usd": None, "runs_priced": 0, "runs_unpriced": 0, "pricing": {}}


def test_webhook_secret_is_shown_once(api: ApiClient, store) -> None:
    hook = {"webhook_url": "https://hooks.example.com/agentcron"}
    created = api.post("/v1/tasks", cron_task(notify=hook)).json
    secret = created["webhook_secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert api.get(f"/v1/tasks/{created['id']}").json["webhook_secret"] is None
    assert api.patch(f"/v1/tasks/{created['id']}", {"name": "x"}).json["webhook_secret"] is None
    assert api.get("/v1/tasks").json["items"][0]["webhook_secret"] is None
    item = store.table.get_item(Key={"PK": f"TASK#{created['id']}", "SK": "TASK"})["Item"]
    assert item["webhook_secret"] == secret

    plain = api.post("/v1/tasks", cron_task()).json
    assert plain["webhook_secret"] is None
    patched = api.patch(f"/v1/tasks/{plain['id']}", {"notify": hook}).json
    assert patched["webhook_secret"].startswith("whsec_")
    again = api.patch(f"/v1/tasks/{plain['id']}", {"notify": hook}).json
    assert again["webhook_secret"] == patched["webhook_secret"], "a secret, once made, stays"
