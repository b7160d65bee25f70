"""Every sample event in events/ goes through its real handler and works:
the same files `agentcron invoke -e` and `sam local invoke -e` take."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agentcron import bootstrap
from agentcron.models import RunStatus
from agentcron_local.gateway import lambda_context, load_function_handler

from tests.integration.conftest import ApiClient, cron_task

EVENTS = sorted((Path(__file__).resolve().parents[2] / "events").glob("*.json"))


def function_of(path: Path) -> str:
    return path.name.split("-", 1)[0]


def test_there_is_an_event_for_every_entry_point() -> None:
    assert {function_of(p) for p in EVENTS} == {"api", "dispatcher", "runner"}


@pytest.mark.parametrize("path", EVENTS, ids=[p.name for p in EVENTS])
def test_sample_event_runs_through_its_handler(
    path: Path, api: ApiClient, aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    event: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    task = api.post("/v1/tasks", cron_task(), user="demo").json
    name = function_of(path)
    if name == "dispatcher" and "task_id" in event.get("detail", {}):
        event["detail"].update(task_id=task["id"], owner="demo")
    if name == "runner":
        from agentcron_local.fake_model import FakeModel

        model = FakeModel().start()
        monkeypatch.setenv("ANTHROPIC_BASE_URL", model.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        run = api.post(f"/v1/tasks/{task['id']}/runs", user="demo").json
        body = {"run_id": run["id"], "task_id": task["id"], "owner": "demo"}
        event["Records"][0]["body"] = json.dumps(body)
    bootstrap.reset()
    result = load_function_handler(name)(event, lambda_context(name))

    if name == "api":
        assert result["statusCode"] < 400, result
    elif name == "dispatcher":
        assert result["status"] in ("ticked", "queued"), result
    else:
        model.stop()
        assert result == {"batchItemFailures": []}
        assert api.get(f"/v1/runs/{run['id']}", user="demo").json["status"] == RunStatus.SUCCEEDED
