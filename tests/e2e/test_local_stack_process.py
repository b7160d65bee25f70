"""`agentcron local` as a user runs it: a process that serves the API until Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import RunningStack, agentcron, clean_env, free_port, wait_until_answering


def wait_for_banner(stack: RunningStack) -> str:
    # Requests may be served a moment before the banner is printed.
    deadline = time.monotonic() + 10
    while "Ctrl-C stops the stack." not in stack.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    return stack.output()


def test_serves_the_api_and_prints_how_to_use_it(stack: RunningStack) -> None:
    response = wait_until_answering(stack)
    assert response.status_code < 500, response.text
    output = wait_for_banner(stack)
    assert f"API:        {stack.url}" in output
    assert f'curl -H "Authorization: Bearer $TOKEN" {stack.url}/v1/tasks' in output
    match = re.search(r"export TOKEN=(\S+)", output)
    assert match, output
    # The printed token passes the gateway's authorizer; no token does not.
    assert requests.get(f"{stack.url}/v1/tasks", timeout=5).status_code == 401
    listed = requests.get(f"{stack.url}/v1/tasks", headers={"Authorization": f"Bearer {match[1]}"}, timeout=10)
    assert listed.status_code != 401, listed.text


def test_token_command_makes_tokens_the_stack_accepts(stack: RunningStack) -> None:
    result = subprocess.run(
        agentcron(stack.state_dir, "token", "bob", "--ttl", "5m"),
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=30,
        check=True,
    )
    token = result.stdout.strip()
    assert token.count(".") == 2 and "\n" not in token
    response = requests.get(f"{stack.url}/v1/tasks", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code != 401, response.text


def test_second_start_on_the_same_state_says_already_running(stack: RunningStack) -> None:
    result = subprocess.run(
        agentcron(stack.state_dir, "local", "--port", str(free_port()), "--moto-port", "0"),
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
    )
    assert result.returncode == 1
    assert f"already running (pid {stack.proc.pid})" in result.stderr


def test_busy_port_gives_the_clear_error(stack: RunningStack, tmp_path: Path) -> None:
    result = subprocess.run(
        agentcron(tmp_path / "other-state", "local", "--port", str(stack.port), "--moto-port", "0"),
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
    )
    assert result.returncode == 1
    assert (
        f"port {stack.port} is in use: is another agentcron local stack running? stop it or pass --port"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_sigint_stops_it_cleanly(stack: RunningStack) -> None:
    # Last in the module: it ends the shared stack.
    stack.proc.send_signal(signal.SIGINT)
    assert stack.proc.wait(15) == 0, stack.errors()
    assert "Traceback" not in stack.errors()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{stack.url}/v1/health", timeout=2)
    # The state is free again: the pid lock went with the process.
    assert (stack.state_dir / "local-stack.pid").read_text() == ""


# ---------------------------------------------------------------- in process


@dataclass
class FakeService:
    """What the dispatcher ticker and the queue poller will look like to the stack."""

    name: str
    log: list[str]
    seen_env: dict[str, str | None] | None = None

    def start(self) -> None:
        # Services start after the environment is set: they can build clients at once.
        self.seen_env = {name: os.environ.get(name) for name in ("AWS_ENDPOINT_URL", "TABLE_NAME")}
        self.log.append(f"start {self.name}")

    def stop(self) -> None:
        self.log.append(f"stop {self.name}")


def test_in_process_stack_runs_its_services_and_restores_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentcron_local.stack import LocalStack, StackOptions

    monkeypatch.setenv("AWS_PROFILE", "someones-real-account")
    monkeypatch.delenv("TABLE_NAME", raising=False)
    log: list[str] = []
    services: list[FakeService] = []

    def factory(name: str) -> Callable[[LocalStack], FakeService]:
        def make(stack: LocalStack) -> FakeService:
            assert stack.gateway is not None and stack.moto is not None
            service = FakeService(name, log)
            services.append(service)
            return service

        return make

    options = StackOptions(port=0, moto_port=0, state_dir=tmp_path / "state", access_log=False)
    with LocalStack(options, service_factories=[factory("ticker"), factory("poller")]) as stack:
        assert log == ["start ticker", "start poller"]
        assert services[0].seen_env == {
            "AWS_ENDPOINT_URL": stack.moto_endpoint,
            "TABLE_NAME": "agentcron-local-Table",
        }
        assert "AWS_PROFILE" not in os.environ
        assert requests.get(f"{stack.api_url}/v1/health", timeout=10).status_code < 500
    assert log == ["start ticker", "start poller", "stop poller", "stop ticker"]
    assert os.environ["AWS_PROFILE"] == "someones-real-account"
    assert "TABLE_NAME" not in os.environ
