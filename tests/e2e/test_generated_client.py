"""A client generated from the served document works: what a user's tooling sees.

openapi-python-client generates a package from ``GET /v1/openapi.json`` of a
local stack (with the runner and the fake model), and a whole task's life goes
through it: create, run now (no body, as the generated signature allows),
poll the run to its end, list, delete, and the errors on the way. Every answer
must parse into the generated model its status documents; the client is
built with ``raise_on_unexpected_status``, so an undocumented status fails.
"""

from __future__ import annotations

import importlib
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests
from agentcron_local import tokens
from agentcron_local.stack import LocalStack, StackOptions

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "agentcron_client"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with pytest.MonkeyPatch.context() as env:
        for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_SECRET_ARN"):
            env.delenv(name, raising=False)
        state = tmp_path_factory.mktemp("generated-client") / "state"
        options = StackOptions(port=0, moto_port=0, state_dir=state, access_log=False, persist=False)
        with LocalStack(options, out=io.StringIO()) as running:
            yield running


@pytest.fixture(scope="module")
def generated(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    out = tmp_path_factory.mktemp("client")
    document = out / "openapi.json"
    document.write_bytes(requests.get(f"{stack.api_url}/v1/openapi.json", timeout=30).content)
    # The generator formats its output with ruff, found on PATH.
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(document), "--meta", "none", "--output-path", str(out / PACKAGE)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _endpoint(tag: str, operation: str) -> Any:
    """The generated module of one operation, e.g. ``api/tasks/create_task.py``."""
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{operation}")


def test_a_generated_client_drives_a_task_from_creation_to_deletion(generated: ModuleType, stack: LocalStack) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")
    client = generated.AuthenticatedClient(
        base_url=stack.api_url, token=tokens.issue_token("generated-client"), raise_on_unexpected_status=True
    )
    create_task, list_tasks = _endpoint("tasks", "create_task"), _endpoint("tasks", "list_tasks")
    get_task, delete_task = _endpoint("tasks", "get_task"), _endpoint("tasks", "delete_task")
    run_task_now, get_run = _endpoint("runs", "run_task_now"), _endpoint("runs", "get_run")
    list_task_runs = _endpoint("runs", "list_task_runs")

    body = models.TaskCreate.from_dict({"name": "generated", "prompt": "Say hi", "schedule": {"type": "manual"}})
    created = create_task.sync_detailed(client=client, body=body)
    assert created.status_code == 201 and isinstance(created.parsed, models.TaskView)
    task_id = created.parsed.id

    refused = create_task.sync_detailed(
        client=client,
        body=models.TaskCreate.from_dict(
            {"name": "bad", "prompt": "p", "schedule": {"type": "cron", "expression": "61 * * * *"}}
        ),
    )
    assert refused.status_code == 422 and isinstance(refused.parsed, models.Problem)
    assert refused.parsed.errors[0].field == "body.schedule.expression"

    started = run_task_now.sync_detailed(task_id, client=client)  # no body: it is optional
    assert started.status_code == 202 and isinstance(started.parsed, models.RunView)
    run_id = started.parsed.id

    deadline = time.monotonic() + 60
    run = get_run.sync(run_id, client=client)
    while isinstance(run, models.RunView) and run.status.value in ("QUEUED", "RUNNING"):
        assert time.monotonic() < deadline, f"run {run_id} still {run.status}"
        time.sleep(0.3)
        run = get_run.sync(run_id, client=client)
    assert isinstance(run, models.RunView) and run.status.value == "SUCCEEDED", run

    page = list_task_runs.sync_detailed(task_id, client=client)
    assert isinstance(page.parsed, models.RunPage) and [r.id for r in page.parsed.items] == [run_id]
    listed = list_tasks.sync_detailed(client=client)
    assert isinstance(listed.parsed, models.TaskPage) and task_id in [t.id for t in listed.parsed.items]

    deleted = delete_task.sync_detailed(task_id, client=client)
    assert deleted.status_code == 204 and deleted.parsed is None
    # Its owner is told it was deleted (410), not that it never existed.
    gone = get_task.sync_detailed(task_id, client=client)
    assert gone.status_code == 410 and isinstance(gone.parsed, models.Problem)
    missing = get_run.sync_detailed("run_00000000000000000000000000_0000000000", client=client)
    assert missing.status_code == 404 and isinstance(missing.parsed, models.Problem)
    assert missing.parsed.status == 404
