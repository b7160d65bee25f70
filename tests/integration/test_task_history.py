"""A task's history (issue 16) through the real API handler against moto's server:
every change is recorded once, with who, when and how, in the change's own
transaction; the owner pages it newest first, nobody else sees it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agentcron.store import Store, task_key
from agentcron_local.gateway import LambdaContext, load_function_handler
from boto3.dynamodb.conditions import Key

from tests.integration.conftest import ApiClient, cron_task
from tests.integration.test_conversations import Chat, directive
from tests.integration.test_runner_harness import Runner

pytest_plugins = ["tests.integration.test_runner_harness"]

CLI = {"X-Agentcron-Client": "cli"}
WEB = {"X-Agentcron-Client": "web"}


def create(api: ApiClient, user: str = "alice", headers: dict[str, str] | None = None, **fields: Any) -> dict:
    response = api.post("/v1/tasks", cron_task(**fields), user=user, headers=headers)
    assert response.status == 201, response.text
    task: dict[str, Any] = response.json
    return task


def history(api: ApiClient, task_id: str, user: str = "alice", query: str = "") -> list[dict[str, Any]]:
    response = api.get(f"/v1/tasks/{task_id}/history{query}", user=user)
    assert response.status == 200, response.text
    items: list[dict[str, Any]] = response.json["items"]
    return items


def stored_entries(store: Store, task_id: str) -> list[dict[str, Any]]:
    response = store.table.query(
        KeyConditionExpression=Key("PK").eq(task_key(task_id)["PK"]) & Key("SK").begins_with("HIST#")
    )
    return response["Items"]


def test_an_edit_records_each_changed_field_before_and_after(api: ApiClient) -> None:
    task = create(api, name="Morning incidents", tags=["ops"])
    edited = api.patch(
        f"/v1/tasks/{task['id']}",
        {"name": "Evening incidents", "tags": ["ops", "sre"], "prompt": task["prompt"]},
        headers={"If-Match": '"1"'},
    )
    assert edited.status == 200, edited.text

    latest, created = history(api, task["id"])
    assert latest["action"] == "updated" and latest["actor"] == "alice" and latest["via"] == "api"
    # The prompt was sent unchanged: only what differs is an entry's change.
    assert latest["changes"] == [
        {"field": "name", "before": "Morning incidents", "after": "Evening incidents"},
        {"field": "tags", "before": ["ops"], "after": ["ops", "sre"]},
    ]
    assert datetime.fromisoformat(latest["at"]) >= datetime.fromisoformat(created["at"])
    assert latest["_links"] == {"task": {"href": f"/v1/tasks/{task['id']}", "method": "GET"}}
    assert created["action"] == "created"
    assert {"field": "name", "before": None, "after": "Morning incidents"} in created["changes"]


def test_every_kind_of_change_is_one_entry_with_how_it_was_made(api: ApiClient) -> None:
    task = create(api, headers=CLI, schedule={"type": "manual"})
    path = f"/v1/tasks/{task['id']}"
    assert api.post(f"{path}/disable", {"reason": "holiday"}, headers=WEB).status == 200
    assert api.post(f"{path}/enable", headers=CLI).status == 200
    run = api.post(f"{path}/runs", {"variables": {}}, headers=CLI)
    assert run.status == 202, run.text
    assert api.post(f"/v1/runs/{run.json['id']}/cancel").status == 200
    assert api.patch(path, {"description": "now described"}, headers=WEB).status == 200
    assert api.delete(path, headers=CLI).status == 204

    entries = history(api, task["id"])
    assert [(e["action"], e["via"]) for e in entries] == [
        ("deleted", "cli"),
        ("updated", "web"),
        ("run_cancelled", "api"),
        ("run_requested", "cli"),
        ("enabled", "cli"),
        ("disabled", "web"),
        ("created", "cli"),
    ], "newest first, each change once"
    assert {e["actor"] for e in entries} == {"alice"}
    by_action = {e["action"]: e for e in entries}
    assert by_action["disabled"]["reason"] == "holiday"
    assert by_action["disabled"]["changes"] == [
        {"field": "enabled", "before": True, "after": False},
        {"field": "paused_reason", "before": None, "after": "holiday"},
    ]
    assert by_action["enabled"]["changes"] == [
        {"field": "enabled", "before": False, "after": True},
        {"field": "paused_reason", "before": "holiday", "after": None},
    ]
    for action in ("run_requested", "run_cancelled"):
        assert by_action[action]["run_id"] == run.json["id"]
        assert by_action[action]["_links"]["run"] == {"href": f"/v1/runs/{run.json['id']}", "method": "GET"}
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)


def test_a_replayed_create_or_run_now_records_nothing_more(api: ApiClient) -> None:
    key = {"Idempotency-Key": "create-once"}
    task = create(api, headers=key)
    assert api.post("/v1/tasks", cron_task(), headers=key).headers["idempotent-replayed"] == "true"
    run_key = {"Idempotency-Key": "run-once"}
    assert api.post(f"/v1/tasks/{task['id']}/runs", {}, headers=run_key).status == 202
    assert api.post(f"/v1/tasks/{task['id']}/runs", {}, headers=run_key).headers["idempotent-replayed"] == "true"
    assert [e["action"] for e in history(api, task["id"])] == ["run_requested", "created"]


def test_a_refused_change_writes_no_history(api: ApiClient, store: Store) -> None:
    task = create(api)
    path = f"/v1/tasks/{task['id']}"
    assert api.patch(path, {"name": "first"}, headers={"If-Match": '"1"'}).status == 200
    stale = api.patch(path, {"name": "second"}, headers={"If-Match": '"1"'})
    assert stale.status == 412, stale.text
    assert api.delete(path, headers={"If-Match": '"1"'}).status == 412
    assert api.patch(path, {"name": "bob's"}, user="bob").status == 404
    assert [e["action"] for e in history(api, task["id"])] == ["updated", "created"]
    assert len(stored_entries(store, task["id"])) == 2, "no entry of a refused change, even unlisted"
    assert api.get(path).json["name"] == "first"


def test_a_webhook_url_is_recorded_without_its_query(api: ApiClient) -> None:
    task = create(api, notify={"webhook_url": "https://hooks.example.com/in?token=s3cret&team=ops"})
    edited = api.patch(
        f"/v1/tasks/{task['id']}", {"notify": {"webhook_url": "https://user:pw@hooks.example.com/v2?key=t0ken"}}
    )
    assert edited.status == 200, edited.text
    updated, created = history(api, task["id"])
    [change] = updated["changes"]
    assert change["field"] == "notify"
    assert change["before"]["webhook_url"] == "https://hooks.example.com/in?token=***&team=***"
    assert change["after"]["webhook_url"] == "https://hooks.example.com/v2?key=***"
    [given] = [c for c in created["changes"] if c["field"] == "notify"]
    assert given["after"]["webhook_url"] == "https://hooks.example.com/in?token=***&team=***"
    text = str(history(api, task["id"]))
    for secret in ("s3cret", "t0ken", "user:pw", task["webhook_secret"]):
        assert secret not in text
    assert "webhook_secret" not in text


def test_history_pages_newest_first_without_gaps(api: ApiClient) -> None:
    task = create(api)
    for index in range(12):
        assert api.patch(f"/v1/tasks/{task['id']}", {"description": f"edit {index}"}).status == 200
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = "?limit=5" + (f"&cursor={cursor}" if cursor else "")
        response = api.get(f"/v1/tasks/{task['id']}/history{query}")
        assert response.status == 200, response.text
        assert len(response.json["items"]) <= 5
        seen += response.json["items"]
        pages += 1
        cursor = response.json["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 13
    assert [e["changes"][0]["after"] for e in seen[:12]] == [f"edit {i}" for i in reversed(range(12))]
    assert seen[-1]["action"] == "created"

    other = create(api)
    first = api.get(f"/v1/tasks/{task['id']}/history?limit=5").json["next_cursor"]
    foreign = api.get(f"/v1/tasks/{other['id']}/history?cursor={first}")
    assert foreign.status == 400, "a cursor of another task's history is refused"


def test_only_the_owner_reads_the_history_and_after_a_delete_too(api: ApiClient) -> None:
    task = create(api)
    path = f"/v1/tasks/{task['id']}/history"
    assert api.get(path, user="bob").status == 404
    assert api.get("/v1/tasks/task_01AAAAAAAAAAAAAAAAAAAAAAAA/history").status == 404
    assert api.delete(f"/v1/tasks/{task['id']}").status == 204
    assert api.get(f"/v1/tasks/{task['id']}").status == 410
    assert [e["action"] for e in history(api, task["id"])] == ["deleted", "created"]
    assert api.get(path, user="bob").status == 404


def test_entries_expire_after_the_retention(api: ApiClient, store: Store, aws_env: dict[str, str]) -> None:
    task = create(api)
    [item] = stored_entries(store, task["id"])
    days = int(aws_env["HISTORY_RETENTION_DAYS"])
    assert days == 365, "the template's default reaches the functions"
    at = datetime.fromisoformat(str(item["at"]))
    assert int(item["expires_at"]) == int(at.timestamp()) + days * 86_400


def test_a_console_event_run_is_recorded_as_such(api: ApiClient) -> None:
    task = create(api, schedule={"type": "manual"})
    dispatcher = load_function_handler("dispatcher")
    result = dispatcher({"detail": {"task_id": task["id"], "owner": "alice"}}, LambdaContext())
    assert result["status"] == "queued", result
    latest = history(api, task["id"])[0]
    assert (latest["action"], latest["via"], latest["actor"], latest["run_id"]) == (
        "run_requested",
        "console_event",
        "alice",
        result["run_id"],
    )


# ---- changes made by the runner, replies and the chat assistant (the real runner and fake model) ----


def test_the_runners_auto_pause_is_recorded_as_agentcrons_own(runner: Runner) -> None:
    task = runner.create_task("{{step}}", policies={"auto_pause_after_failures": 2})
    runs = [runner.pump(runner.run_now(task["id"], {"step": "fail: 401 x1"})["id"]) for _ in range(2)]
    assert runner.get_task(task["id"])["enabled"] is False
    paused, *_ = history(runner.api, task["id"])
    assert (paused["action"], paused["actor"], paused["via"]) == ("auto_paused", "agentcron", "runner")
    assert paused["reason"] == f"auto-paused after 2 consecutive failed runs (last: {runs[-1]['id']})"
    assert paused["changes"] == [{"field": "enabled", "before": True, "after": False}]
    actions = [e["action"] for e in history(runner.api, task["id"])]
    assert actions == ["auto_paused", "run_requested", "run_requested", "created"], "paused once"


def test_a_reply_is_recorded_against_the_runs_task(runner: Runner) -> None:
    task = runner.create_task("Deploy\nask: Which region?", agent={"tools": ["ask_user"]})
    queued = runner.run_now(task["id"])
    assert runner.pump(queued["id"])["status"] == "WAITING_INPUT"
    replied = runner.api.post(f"/v1/runs/{queued['id']}/reply", {"reply": "eu-west-1"}, headers=CLI)
    assert replied.status == 202, replied.text
    latest = history(runner.api, task["id"])[0]
    assert (latest["action"], latest["via"], latest["run_id"]) == ("replied", "cli", queued["id"])
    assert "eu-west-1" not in str(latest), "the answer stays on the run"


def test_the_chat_assistants_changes_are_recorded_as_the_conversations(runner: Runner) -> None:
    chat = Chat(runner)
    body = {"name": "Chatty", "prompt": "Say hi", "schedule": {"type": "manual"}}
    assert chat.say(directive("create_task", body))["status"] == "SUCCEEDED"
    task_id = chat.get()["task_ids"][0]
    turn = chat.say(directive("update_task", {"task_id": task_id, "changes": {"name": "Chattier"}}))
    assert turn["status"] == "SUCCEEDED"
    chat.say(directive("pause_task", {"task_id": task_id}))
    chat.say(directive("resume_task", {"task_id": task_id}))
    chat.say(directive("run_task_now", {"task_id": task_id}))

    entries = history(runner.api, task_id)
    assert [(e["action"], e["via"], e["actor"]) for e in entries] == [
        ("run_requested", "conversation", "alice"),
        ("enabled", "conversation", "alice"),
        ("disabled", "conversation", "alice"),
        ("updated", "conversation", "alice"),
        ("created", "conversation", "alice"),
    ]
    assert entries[3]["changes"] == [{"field": "name", "before": "Chatty", "after": "Chattier"}]
    assert entries[2]["reason"] == "paused from a conversation"
