"""Webhooks tried locally: a task names the stack's own inbox, a run delivers
to it through the runner's guarded client, and the inbox shows the delivery
with its Standard Webhooks signature checked against the task's secret."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from agentcron_local import tokens
from agentcron_local.gateway import LocalRequest
from agentcron_local.inbox import WebhookInbox
from agentcron_local.stack import LocalStack, StackOptions


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with pytest.MonkeyPatch.context() as env:
        for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_SECRET_ARN"):
            env.delenv(name, raising=False)
        state: Path = tmp_path_factory.mktemp("inbox") / "state"
        options = StackOptions(port=0, moto_port=0, state_dir=state, access_log=False, persist=False)
        with LocalStack(options, out=io.StringIO()) as running:
            yield running


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.issue_token('alice')}"}


def wait_for(check: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.2)


def test_a_run_delivers_a_signed_event_to_the_local_inbox(stack: LocalStack) -> None:
    hook = f"{stack.api_url}/hooks/mine"
    created = requests.post(
        f"{stack.api_url}/v1/tasks",
        headers=auth(),
        json={"name": "hooked", "prompt": "say hi", "schedule": {"type": "manual"}, "notify": {"webhook_url": hook}},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    task = created.json()
    run = requests.post(f"{stack.api_url}/v1/tasks/{task['id']}/runs", headers=auth(), json={}, timeout=10).json()

    def delivered() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = requests.get(hook, timeout=10).json()["items"]
        return items

    [delivery] = wait_for(delivered)

    assert delivery["name"] == "mine"
    assert delivery["body"]["detail-type"] == "Run Succeeded"
    assert delivery["body"]["detail"]["run_id"] == run["id"]
    assert delivery["headers"]["webhook-id"] == delivery["body"]["id"]
    assert delivery["headers"]["webhook-signature"].startswith("v1,")
    assert delivery["signature"] == {"valid": True, "task_id": task["id"], "reason": "valid"}
    listed = requests.get(f"{stack.api_url}/hooks", timeout=10).json()["items"]
    assert delivery in listed


def test_a_forged_delivery_shows_as_invalid(stack: LocalStack) -> None:
    created = requests.post(
        f"{stack.api_url}/v1/tasks",
        headers=auth(),
        json={
            "name": "forged",
            "prompt": "p",
            "schedule": {"type": "manual"},
            "notify": {"webhook_url": f"{stack.api_url}/hooks/forged"},
        },
        timeout=10,
    ).json()
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(time.time())), "webhook-signature": "v1,AAAA"}
    body = {"detail-type": "Run Succeeded", "detail": {"task_id": created["id"]}}
    posted = requests.post(f"{stack.api_url}/hooks/forged", json=body, headers=headers, timeout=10)
    assert posted.status_code == 200
    [shown] = requests.get(f"{stack.api_url}/hooks/forged", timeout=10).json()["items"]
    assert shown["signature"]["valid"] is False
    assert shown["signature"]["reason"] == "no signature matches the secret"


@pytest.mark.parametrize("where", ["http://127.0.0.1:1/hooks/x", "http://hooks.example.com/x"])
def test_other_plain_http_webhooks_are_still_refused_locally(stack: LocalStack, where: str) -> None:
    refused = requests.post(
        f"{stack.api_url}/v1/tasks",
        headers=auth(),
        json={"name": "n", "prompt": "p", "schedule": {"type": "manual"}, "notify": {"webhook_url": where}},
        timeout=10,
    )
    assert refused.status_code == 422
    assert "notify.webhook_url" in refused.text and "https" in refused.text


def test_the_inbox_answers_loopback_clients_only() -> None:
    inbox = WebhookInbox(secret_for=lambda task_id: None)
    remote = LocalRequest("GET", "/hooks", "", {}, b"", client="10.0.0.5")
    assert inbox.answer(remote) is None, "left to API Gateway's routing, which answers 404"
    local = inbox.answer(LocalRequest("GET", "/hooks", "", {}, b"", client="127.0.0.1"))
    assert local is not None and local.status == 200
