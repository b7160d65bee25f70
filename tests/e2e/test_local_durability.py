"""The local stack keeps tasks, runs, memory and transcripts across restarts:
a clean stop loses nothing, a kill -9 loses at most the last second and
leaves no run stuck."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import requests
from agentcron_local import tokens
from agentcron_local.stack import LocalStack, StackOptions

from tests.e2e.conftest import agentcron, clean_env, free_port

FINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED", "SKIPPED", "MISSED"}


def wait_for_run(api: str, auth: dict[str, str], run_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run: dict[str, Any] = requests.get(f"{api}/v1/runs/{run_id}", headers=auth, timeout=10).json()
        if run["status"] in FINAL or time.monotonic() > deadline:
            return run
        time.sleep(0.3)


def create_and_run(api: str, auth: dict[str, str], prompt: str, tools: list[str] | None = None) -> tuple[str, str]:
    task = requests.post(
        f"{api}/v1/tasks",
        json={"name": "durable", "prompt": prompt, "schedule": {"type": "manual"}, "agent": {"tools": tools or []}},
        headers=auth,
        timeout=10,
    ).json()
    run = requests.post(f"{api}/v1/tasks/{task['id']}/runs", headers=auth, timeout=10).json()
    return task["id"], run["id"]


def test_clean_restart_keeps_everything(tmp_path: Path) -> None:
    options = StackOptions(port=0, moto_port=0, state_dir=tmp_path / "state", access_log=False)
    with LocalStack(options) as stack:
        api, auth = stack.api_url, {"Authorization": f"Bearer {tokens.issue_token('alice')}"}
        task_id, run_id = create_and_run(api, auth, "Note the colour\nremember: colour=blue", ["remember", "recall"])
        first = wait_for_run(api, auth, run_id)
        assert first["status"] == "SUCCEEDED", first
        before = {
            "task": requests.get(f"{api}/v1/tasks/{task_id}", headers=auth, timeout=10).json(),
            "runs": requests.get(f"{api}/v1/runs", headers=auth, timeout=10).json(),
            "transcript": requests.get(f"{api}/v1/runs/{run_id}/transcript", headers=auth, timeout=10).json(),
        }
    assert (tmp_path / "state" / "data" / "table.json").exists()

    with LocalStack(options) as stack:
        api = stack.api_url
        after = {
            "task": requests.get(f"{api}/v1/tasks/{task_id}", headers=auth, timeout=10).json(),
            "runs": requests.get(f"{api}/v1/runs", headers=auth, timeout=10).json(),
            "transcript": requests.get(f"{api}/v1/runs/{run_id}/transcript", headers=auth, timeout=10).json(),
        }
        assert after == before
        # Memory survived too: a new run of the same task recalls it.
        requests.patch(
            f"{api}/v1/tasks/{task_id}", json={"prompt": "What colour?\nrecall: colour"}, headers=auth, timeout=10
        )
        second = requests.post(f"{api}/v1/tasks/{task_id}/runs", headers=auth, timeout=10).json()
        recalled = wait_for_run(api, auth, second["id"])
        assert recalled["status"] == "SUCCEEDED" and "colour=blue" in recalled["output"], recalled


def test_kill_9_loses_nothing_saved_and_leaves_no_run_stuck(tmp_path: Path) -> None:
    state_dir, port = tmp_path / "state", free_port()
    env = {**clean_env(), "RETRY_BASE_SECONDS": "1"}

    def start() -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            agentcron(state_dir, "local", "--port", str(port), "--moto-port", "0"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=10)
                return proc
            except requests.RequestException:  # the port is bound before the stack serves
                time.sleep(0.2)
        proc.kill()
        raise AssertionError("the stack did not start")

    api = f"http://127.0.0.1:{port}"
    os.environ[tokens.STATE_DIR_ENV] = str(state_dir)
    proc = start()
    try:
        auth = {"Authorization": f"Bearer {tokens.issue_token('alice')}"}
        done_task, done_run = create_and_run(api, auth, "quick one")
        assert wait_for_run(api, auth, done_run)["status"] == "SUCCEEDED"
        slow_task, slow_run = create_and_run(api, auth, "slow one\nsleep: 4")
        deadline = time.monotonic() + 20
        while requests.get(f"{api}/v1/runs/{slow_run}", headers=auth, timeout=10).json()["status"] != "RUNNING":
            assert time.monotonic() < deadline, "the slow run never started"
            time.sleep(0.2)
        time.sleep(1.5)  # one snapshot interval, and a bit
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

        proc = start()
        assert requests.get(f"{api}/v1/tasks/{done_task}", headers=auth, timeout=10).status_code == 200
        assert requests.get(f"{api}/v1/runs/{done_run}", headers=auth, timeout=10).json()["status"] == "SUCCEEDED"
        # The run the kill cut off is queued again at start-up and finishes: not stuck in RUNNING.
        resumed = wait_for_run(api, auth, slow_run, timeout=40)
        assert resumed["status"] == "SUCCEEDED", resumed
        assert resumed["attempt"] == 2
        assert "restart" in (resumed["reason"] or ""), resumed
        assert requests.get(f"{api}/v1/tasks/{slow_task}", headers=auth, timeout=10).status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        os.environ.pop(tokens.STATE_DIR_ENV, None)
        if proc.poll() is None:
            proc.kill()
