"""The template's "Run Task" rule works locally: a PutEvents of that event on
the app bus (moto's EventBridge) reaches the real dispatcher handler, which
runs the task, as the rule does on AWS."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from agentcron_local import tokens
from agentcron_local.event_router import EventRouter, function_rules
from agentcron_local.resources import load_template
from agentcron_local.services import event_router_for
from agentcron_local.stack import LocalStack, StackOptions


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    state: Path = tmp_path_factory.mktemp("router") / "state"
    options = StackOptions(port=0, moto_port=0, state_dir=state, access_log=False, persist=False)
    # The router alone: runs are created QUEUED and stay so (no poller), which is all this looks at.
    with LocalStack(options, service_factories=[event_router_for], out=io.StringIO()) as running:
        yield running


def router(stack: LocalStack) -> EventRouter:
    [found] = [s for s in stack.services if isinstance(s, EventRouter)]
    return found


def api(stack: LocalStack, method: str, path: str, user: str = "alice", body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {tokens.issue_token(user)}"}
    response = requests.request(method, stack.api_url + path, json=body, headers=headers, timeout=10)
    assert response.status_code < 300, response.text
    return response.json()


def put_event(stack: LocalStack, detail_type: str, detail: dict[str, Any]) -> None:
    entry = {
        "Source": "console",
        "DetailType": detail_type,
        "Detail": json.dumps(detail),
        "EventBusName": stack.env["EVENT_BUS_NAME"],
    }
    assert boto3.client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0


def wait_for_deliveries(stack: LocalStack, count: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while router(stack).delivered < count:
        assert time.monotonic() < deadline, f"{router(stack).delivered} event(s) delivered, expected {count}"
        time.sleep(0.1)


def test_the_router_uses_the_templates_own_rule_pattern() -> None:
    dispatcher = load_template()["Resources"]["DispatcherFunction"]["Properties"]["Events"]["RunTaskEvent"]
    [rule] = function_rules()
    assert (rule.function, rule.event_name, rule.bus_logical_id) == ("dispatcher", "RunTaskEvent", "EventBus")
    assert rule.pattern == dispatcher["Properties"]["Pattern"]


def test_a_run_task_event_on_the_app_bus_runs_the_task(stack: LocalStack) -> None:
    task = api(stack, "POST", "/v1/tasks", body={"name": "by event", "prompt": "p", "schedule": {"type": "manual"}})
    before = router(stack).delivered

    put_event(stack, "Run Task", {"task_id": task["id"], "owner": "alice", "variables": {"team": "ops"}})
    wait_for_deliveries(stack, before + 1)

    [run] = api(stack, "GET", f"/v1/tasks/{task['id']}/runs")["items"]
    assert run["trigger"] == "console"
    assert run["variables"] == {"team": "ops"}


def test_an_event_naming_another_owner_runs_nothing(stack: LocalStack) -> None:
    task = api(stack, "POST", "/v1/tasks", body={"name": "mine", "prompt": "p", "schedule": {"type": "manual"}})
    before = router(stack).delivered

    put_event(stack, "Run Task", {"task_id": task["id"], "owner": "mallory"})
    wait_for_deliveries(stack, before + 1)  # delivered, and the dispatcher refused it

    assert api(stack, "GET", f"/v1/tasks/{task['id']}/runs")["items"] == []


def test_events_the_pattern_does_not_match_are_not_delivered(stack: LocalStack) -> None:
    task = api(stack, "POST", "/v1/tasks", body={"name": "other", "prompt": "p", "schedule": {"type": "manual"}})
    before = router(stack).delivered

    put_event(stack, "Run Succeeded", {"task_id": task["id"], "owner": "alice"})
    put_event(stack, "Run Task", {"task_id": task["id"], "owner": "alice"})  # a marker: it arrives after
    wait_for_deliveries(stack, before + 1)
    time.sleep(1.5)  # one more long poll: the unmatched event would have arrived by now

    assert router(stack).delivered == before + 1
    assert len(api(stack, "GET", f"/v1/tasks/{task['id']}/runs")["items"]) == 1
