"""Runs that use connectors, end to end on the local stack: the runner connects to the bundled
demo MCP server with the real ``mcp`` SDK, offers its granted tools as ``<connector>__<tool>``
to the real anthropic SDK (the fake model), calls them, pauses for the owner's confirmation and
goes on after the reply. The issue's email watcher, a denied tool, a narrowed grant, another
owner's connector, and connectors that cannot be used."""

from __future__ import annotations

import io
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from agentcron.guarded_http import LOCAL_LOOPBACK_PORTS_ENV
from agentcron_local import tokens
from agentcron_local.demo_mcp import DemoMcpServer
from agentcron_local.stack import LocalStack, StackOptions

SETTLED = {"SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED", "SKIPPED", "WAITING_INPUT"}

WATCHER_PROMPT = """Look for a flight receipt in my mailbox, draft an email to Rebecca with the times,
and ask me before sending it.
tool: mail__search_messages {"query": "flight receipt"}
tool: mail__draft_email {"to": "rebecca@example.com", "subject": "My flight to Berlin", "body": "LIS 09:40, BER 14:05"}
tool: ask_user {"question": "Send the draft to Rebecca?", "kind": "confirm"}
tool: mail__send_email {"draft_id": "{{step2.id}}"}"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with pytest.MonkeyPatch.context() as env:
        for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_SECRET_ARN"):
            env.delenv(name, raising=False)
        state: Path = tmp_path_factory.mktemp("connector-runs") / "state"
        options = StackOptions(port=0, moto_port=0, state_dir=state, access_log=False, persist=False)
        with LocalStack(options, out=io.StringIO()) as running:
            yield running


@pytest.fixture(scope="module")
def demo(stack: LocalStack) -> DemoMcpServer:
    assert stack.demo_mcp is not None
    return stack.demo_mcp


def call(stack: LocalStack, method: str, path: str, body: Any = None, user: str = "alice") -> requests.Response:
    headers = {"Authorization": f"Bearer {tokens.issue_token(user)}"}
    return requests.request(method, f"{stack.api_url}{path}", json=body, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def mail(stack: LocalStack, demo: DemoMcpServer) -> str:
    created = call(stack, "POST", "/v1/connectors", {"name": "mail", "url": demo.url})
    assert created.status_code == 201, created.text
    connector_id: str = created.json()["id"]
    return connector_id


def create_task(stack: LocalStack, prompt: str, agent: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"name": "email watcher", "prompt": prompt, "schedule": {"type": "manual"}, "agent": agent, **fields}
    created = call(stack, "POST", "/v1/tasks", body)
    assert created.status_code == 201, created.text
    task: dict[str, Any] = created.json()
    return task


def run_now(stack: LocalStack, task_id: str) -> str:
    started = call(stack, "POST", f"/v1/tasks/{task_id}/runs", {})
    assert started.status_code == 202, started.text
    run_id: str = started.json()["id"]
    return run_id


def settled(stack: LocalStack, run_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run: dict[str, Any] = call(stack, "GET", f"/v1/runs/{run_id}").json()
        if run["status"] in SETTLED:
            return run
        assert time.monotonic() < deadline, f"run {run_id} still {run['status']}: {run}"
        time.sleep(0.1)


def outbox(demo: DemoMcpServer) -> list[dict[str, str]]:
    sent: list[dict[str, str]] = requests.get(f"{demo.base_url}/outbox", timeout=10).json()["outbox"]
    return sent


def reply(stack: LocalStack, run_id: str, text: str) -> None:
    answered = call(stack, "POST", f"/v1/runs/{run_id}/reply", {"reply": text})
    assert answered.status_code == 202, answered.text


def test_the_email_watcher_drafts_asks_and_sends_on_yes(stack: LocalStack, demo: DemoMcpServer, mail: str) -> None:
    task = create_task(
        stack,
        WATCHER_PROMPT,
        {"tools": ["ask_user"], "connectors": [{"connector": mail}]},
        schedule={"type": "cron", "expression": "*/5 * * * *", "timezone": "Europe/Lisbon"},
    )
    assert task["agent"]["connectors"] == [{"connector": mail, "tools": None}]
    sent_before = len(outbox(demo))
    run_id = run_now(stack, task["id"])
    waiting = settled(stack, run_id)
    assert waiting["status"] == "WAITING_INPUT", waiting
    assert waiting["question"] == "Send the draft to Rebecca?" and waiting["question_kind"] == "confirm"
    assert len(outbox(demo)) == sent_before, "nothing is sent before the owner says yes"

    reply(stack, run_id, "yes")
    done = settled(stack, run_id)
    assert done["status"] == "SUCCEEDED", done
    assert "Answer received: yes" in done["output"] and "mail__send_email returned" in done["output"]
    sent = outbox(demo)[sent_before:]
    assert [(m["to"], m["subject"]) for m in sent] == [("rebecca@example.com", "My flight to Berlin")]
    # The transcript records every connected call and what it returned.
    transcript = call(stack, "GET", f"/v1/runs/{run_id}/transcript").json()
    calls = [
        block["name"]
        for message in transcript["messages"]
        if message["role"] == "assistant"
        for block in message["content"]
        if block.get("type") == "tool_use"
    ]
    assert calls == ["mail__search_messages", "mail__draft_email", "ask_user", "mail__send_email"]
    results = [
        block
        for message in transcript["messages"]
        if message["role"] == "user" and isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]
    assert "receipts@skyways.example" in str(results[0]["content"]), "the search found the receipt"


def test_a_no_sends_nothing(stack: LocalStack, demo: DemoMcpServer, mail: str) -> None:
    task = create_task(stack, WATCHER_PROMPT, {"tools": ["ask_user"], "connectors": [{"connector": mail}]})
    sent_before = len(outbox(demo))
    run_id = run_now(stack, task["id"])
    assert settled(stack, run_id)["status"] == "WAITING_INPUT"
    reply(stack, run_id, "no")
    done = settled(stack, run_id)
    assert done["status"] == "SUCCEEDED" and "Stopped: the owner declined" in done["output"], done
    assert len(outbox(demo)) == sent_before


def test_a_denied_tool_is_never_offered_nor_run(stack: LocalStack, demo: DemoMcpServer, mail: str) -> None:
    prompt = 'Send it.\ntool: mail__send_email {"draft_id": "draft_1"}'
    agent = {"connectors": [{"connector": mail}], "disallowed_tools": ["mail__send_email"]}
    run_id = run_now(stack, create_task(stack, prompt, agent)["id"])
    done = settled(stack, run_id)
    assert done["status"] == "SUCCEEDED", done
    # The fake model calls a tool only when the request offered it.
    assert "Tool mail__send_email is not available to this task" in done["output"]


def test_a_grant_offers_only_the_tools_it_names(stack: LocalStack, mail: str) -> None:
    prompt = 'Read.\ntool: mail__search_messages {"query": "bread"}\ntool: mail__read_message {"message_id": "msg_1"}'
    agent = {"connectors": [{"connector": mail, "tools": ["search_messages"]}]}
    done = settled(stack, run_now(stack, create_task(stack, prompt, agent)["id"]))
    assert done["status"] == "SUCCEEDED", done
    assert "mail__search_messages returned" in done["output"] and "bakery" in done["output"]
    assert "Tool mail__read_message is not available to this task" in done["output"]


@pytest.mark.parametrize("missing", ["alices", "conn_01J0000000000000000000000Z"])
def test_a_task_may_name_only_its_owners_connectors(stack: LocalStack, mail: str, missing: str) -> None:
    connector = mail if missing == "alices" else missing
    body = {
        "name": "bob's watcher",
        "prompt": "hello",
        "schedule": {"type": "manual"},
        "agent": {"connectors": [{"connector": connector}]},
    }
    refused = call(stack, "POST", "/v1/tasks", body, user="bob")
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["body.agent.connectors.0.connector"]
    # The same for an edit: Bob's own task cannot be pointed at it either.
    own = call(stack, "POST", "/v1/tasks", {**body, "agent": {}}, user="bob").json()
    patched = call(stack, "PATCH", f"/v1/tasks/{own['id']}", {"agent": body["agent"]}, user="bob")
    assert patched.status_code == 422, patched.text


def test_an_unusable_connector_fails_the_run_saying_why(stack: LocalStack) -> None:
    refused = call(stack, "POST", "/v1/connectors", {"name": "metadata", "url": "https://169.254.169.254/mcp"})
    agent = {"connectors": [{"connector": refused.json()["id"]}]}
    done = settled(stack, run_now(stack, create_task(stack, "hello", agent)["id"]))
    assert done["status"] == "FAILED" and done["error"]["type"] == "connector_refused_address", done
    assert "metadata" in done["error"]["message"]
    assert done["attempt"] == 1, "a refused address is not retried"


def test_an_unreachable_connector_is_a_retryable_failure(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    # A loopback port the stack is told to allow, with nothing listening on it.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv(LOCAL_LOOPBACK_PORTS_ENV, f"{os.environ[LOCAL_LOOPBACK_PORTS_ENV]},{port}")
    created = call(stack, "POST", "/v1/connectors", {"name": "gone", "url": f"http://127.0.0.1:{port}/mcp"})
    assert created.status_code == 201, created.text
    agent = {"connectors": [{"connector": created.json()["id"]}]}
    task = create_task(stack, "hello", agent, policies={"max_attempts": 1})
    done = settled(stack, run_now(stack, task["id"]))
    assert done["status"] == "FAILED" and done["error"]["type"] == "connector_unreachable", done
    # Only a transient failure is "given up" on: with attempts left, the queue would retry it.
    assert "gave up after 1 attempts" in done["error"]["message"]


def test_a_deleted_connector_fails_the_run_without_retries(stack: LocalStack, demo: DemoMcpServer) -> None:
    connector_id = call(stack, "POST", "/v1/connectors", {"name": "short-lived", "url": demo.url}).json()["id"]
    task = create_task(stack, "hello", {"connectors": [{"connector": connector_id}]})
    assert call(stack, "DELETE", f"/v1/connectors/{connector_id}").status_code == 204
    done = settled(stack, run_now(stack, task["id"]))
    assert done["status"] == "FAILED" and done["error"]["type"] == "connector_unavailable", done
    assert connector_id in done["error"]["message"] and done["attempt"] == 1
