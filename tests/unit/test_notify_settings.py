"""A webhook address is checked when it is written, not each time the task is read back."""

from __future__ import annotations

import pytest
from agentcron.models import Notify, NotifySettings, Task
from pydantic import ValidationError

TASK = {
    "id": "task_01M8SVBJ8P72BWP1X3S1DYZ9CH",
    "owner": "alice",
    "name": "hooked",
    "prompt": "hello",
    "schedule": {"type": "manual"},
    "created_at": "2026-12-01T09:00:00Z",
    "updated_at": "2026-12-01T09:00:00Z",
}


def test_a_request_may_not_name_a_plain_http_webhook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTCRON_LOCAL_LOOPBACK_PORTS", raising=False)
    with pytest.raises(ValidationError, match="https"):
        Notify(webhook_url="http://127.0.0.1:3000/hooks/mine")  # type: ignore[arg-type]


def test_a_stored_task_whose_webhook_was_allowed_then_reads_back_without_the_allowance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Written by a local stack whose inbox was on port 3000; read by one without that allowance.
    monkeypatch.delenv("AGENTCRON_LOCAL_LOOPBACK_PORTS", raising=False)
    task = Task.model_validate({**TASK, "notify": {"webhook_url": "http://127.0.0.1:3000/hooks/mine"}})
    assert isinstance(task.notify, NotifySettings)
    assert str(task.notify.webhook_url) == "http://127.0.0.1:3000/hooks/mine"
