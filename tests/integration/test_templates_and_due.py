"""Templates and execute-due (issue 17) through the real API handler against moto's server,
and through the CLI against an in-process local stack."""

from __future__ import annotations

import json
import time
from typing import Any

import requests
from agentcron import webhook_signatures
from agentcron.schedules import from_epoch
from agentcron.store import Store
from agentcron_local.stack import LocalStack

from tests.integration.conftest import ApiClient
from tests.integration.test_cli import Agentcron, agentcron, stack  # noqa: F401 - the CLI's fixtures
from tests.support_dispatch import Clock, new_dispatcher

REFLECTION = {
    "daily-self-reflection",
    "weekly-goal-assessment",
    "memory-consolidation",
    "capability-exploration",
    "emotional-check-in",
}


def test_the_catalogue_holds_the_five_reflection_tasks_and_three_watchers(api: ApiClient) -> None:
    listed = api.get("/v1/templates")
    assert listed.status == 200
    ids = [template["id"] for template in listed.json["items"]]
    assert set(ids) >= REFLECTION and {"daily-digest", "website-change-watcher", "inbox-watcher"} <= set(ids)
    for template in listed.json["items"]:
        # Each one creates as it stands.
        created = api.post("/v1/tasks", {"template": template["id"]})
        assert created.status == 201, created.text
        assert created.json["template"] == template["id"] and created.json["name"] == template["name"]


def test_a_task_from_a_template_takes_the_requests_fields_over_the_templates(api: ApiClient) -> None:
    body = {
        "template": "daily-digest",
        "name": "Platform digest",
        "variables": {"sources": "https://status.example.com"},
        "agent": {"max_turns": 3},
        "schedule": {"type": "cron", "expression": "30 7 * * 1-5", "timezone": "Europe/Berlin"},
    }
    task = api.post("/v1/tasks", body).json
    assert task["name"] == "Platform digest" and task["template"] == "daily-digest"
    # agent merges key by key: the template's tools stay, max_turns is the request's.
    assert task["agent"]["tools"] == ["web_fetch", "remember", "recall"] and task["agent"]["max_turns"] == 3
    assert task["variables"] == {"sources": "https://status.example.com"}
    assert task["schedule"]["expression"] == "30 7 * * 1-5" and "{{sources}}" in task["prompt"]
    history = api.get(f"/v1/tasks/{task['id']}/history").json["items"]
    created = {change["field"]: change["after"] for change in history[-1]["changes"]}
    assert created["template"] == "daily-digest" and created["prompt"] == task["prompt"]


def test_an_unknown_template_is_a_422_naming_the_field(api: ApiClient) -> None:
    refused = api.post("/v1/tasks", {"template": "world-domination"})
    assert refused.status == 422
    fields = {error["field"]: error["message"] for error in refused.json["errors"]}
    assert "daily-digest" in fields["body.template"]
    # Without a template, the fields a template would give are required as always.
    bare = api.post("/v1/tasks", {"prompt": "hi"})
    assert bare.status == 422 and {"body.name", "body.schedule"} <= {e["field"] for e in bare.json["errors"]}


def overdue_task(api: ApiClient, store: Store, *, user: str = "alice", seconds_ago: int = 30) -> dict[str, Any]:
    """A task whose next occurrence is `seconds_ago` in the past and unclaimed (an external
    cron's situation: nothing ticked). Yearly, so nothing else of it falls due meanwhile."""
    yearly = {"type": "cron", "expression": "0 0 1 1 *", "timezone": "UTC"}
    task = api.post("/v1/tasks", {"name": "yearly", "prompt": "p", "schedule": yearly}, user=user).json
    due = int(time.time()) - seconds_ago
    store.table.update_item(
        Key={"PK": f"TASK#{task['id']}", "SK": "TASK"},
        UpdateExpression="SET next_run_at = :due",
        ExpressionAttributeValues={":due": due},
    )
    return {**task, "due": due}


def test_execute_due_starts_what_is_due_once_and_never_doubles_the_schedule(
    api: ApiClient, store: Store, aws_env: dict[str, str]
) -> None:
    task = overdue_task(api, store)
    bobs = overdue_task(api, store, user="bob")
    first = api.post("/v1/tasks/execute-due")
    assert first.status == 200, first.text
    [run] = first.json["started"]
    assert run["task_id"] == task["id"] and run["trigger"] == "schedule"
    assert run["scheduled_for"] == from_epoch(task["due"]).isoformat().replace("+00:00", "Z")
    # Asked again: the occurrence is claimed; it is on its way, not started twice.
    again = api.post("/v1/tasks/execute-due").json
    assert again["started"] == [] and [r["id"] for r in again["already_queued"]] == [run["id"]]
    # A dispatcher ticking now claims nothing more of it, and never Bob's through Alice's call.
    report = new_dispatcher(aws_env, Clock(from_epoch(int(time.time())))).tick()
    assert run["id"] not in {r.id for r in report.claimed}
    assert [r.task_id for r in report.claimed] == [bobs["id"]]
    runs = api.get(f"/v1/tasks/{task['id']}/runs").json["items"]
    assert [r["id"] for r in runs] == [run["id"]]


def test_the_cli_lists_templates_creates_from_one_and_executes_due(agentcron: Agentcron) -> None:  # noqa: F811
    listed = agentcron("templates", "list")
    assert listed.code == 0 and any(line.startswith("memory-consolidation") for line in listed.lines)
    created = agentcron("tasks", "create", "--template", "emotional-check-in", "--max-turns", "4", "--json")
    assert created.code == 0, created.err
    assert created.json["template"] == "emotional-check-in" and created.json["agent"]["max_turns"] == 4
    assert created.json["agent"]["tools"] == ["remember", "recall", "ask_user"]
    due = agentcron("tasks", "execute-due")
    assert due.code == 0 and due.lines[0].startswith("started ")
    assert agentcron("tasks", "execute-due", "--json").json.keys() == {"started", "already_queued"}


def test_the_cli_chains_a_task_to_another_with_a_variable(agentcron: Agentcron) -> None:  # noqa: F811
    child = agentcron("tasks", "create", "--name", "report", "--prompt", "Report {{summary}}", "--manual", "-q")
    assert child.code == 0, child.err
    child_id = child.out.strip()
    parent = agentcron(
        "tasks", "create", "--name", "digest", "--prompt", "p", "--manual",
        "--on-success", f"{child_id}:summary={{{{run.output}}}}", "--on-failure", child_id, "--json",
    )  # fmt: skip
    assert parent.code == 0, parent.err
    assert parent.json["on_success"] == [{"task": child_id, "variables": {"summary": "{{run.output}}"}}]
    assert parent.json["on_failure"] == [{"task": child_id, "variables": {}}]
    loop = agentcron("tasks", "update", child_id, "--on-success", parent.json["id"])
    assert loop.code != 0 and "loop" in loop.err


def test_the_cli_adds_lists_rotates_and_deletes_a_trigger(agentcron: Agentcron, stack: LocalStack) -> None:  # noqa: F811
    task_id = agentcron("tasks", "create", "--name", "hooked", "--prompt", "Order {{event.id}}", "--manual", "-q")
    task_id_text = task_id.out.strip()
    added = agentcron("triggers", "add", task_id_text, "--json")
    assert added.code == 0, added.err
    assert added.json["secret"].startswith("whsec_") and added.json["url"].endswith(added.json["id"])
    listed = agentcron("triggers", "list", task_id_text)
    assert listed.code == 0 and added.json["id"] in listed.out and "whsec_" not in listed.out
    # The local gateway, like API Gateway, lets a delivery in without a token: its signature is checked.
    body = json.dumps({"id": "A-1"})
    headers = webhook_signatures.signed_headers(added.json["secret"], "m-1", int(time.time()), body.encode())
    url = f"{stack.api_url}/v1/hooks/{added.json['id']}"
    posted = requests.post(url, data=body, headers={**headers, "content-type": "application/json"}, timeout=10)
    assert posted.status_code == 202, posted.text
    unsigned = requests.post(url, data=body, headers={"content-type": "application/json"}, timeout=10)
    assert unsigned.status_code == 401
    rotated = agentcron("triggers", "rotate", added.json["id"], "--json")
    assert rotated.code == 0 and rotated.json["secret"] != added.json["secret"]
    assert agentcron("triggers", "delete", added.json["id"]).code == 0
    assert agentcron("triggers", "list", task_id_text, "--json").json["items"] == []
